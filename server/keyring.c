/* The keyring: every signing key airlock has used, with its status.  active signs;
 * retired still verifies until its date; revoked never verifies.  DATA/keys.json holds
 * the public halves only; the one private key is DATA/signing.key (mode 0600), and a key
 * that is retired loses its private half at once, so it can sign nothing again. */
#include "server/keyring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "server/grant.h"

#define KEYRING_MAX_BYTES (1u << 20)
#define KEYRING_MAX_KEYS 256

static void
err_clear(struct al_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

void
al_keyring_free(struct al_keyring *kr)
{
	if (!kr)
		return;
	free(kr->keys);
	free(kr);
}

static int
status_valid(const char *s)
{
	return s && (!strcmp(s, "active") || !strcmp(s, "retired") || !strcmp(s, "revoked"));
}

static int
time_field(const json_t *v, time_t *ret)
{
	struct tm tm = {0};
	const char *s = json_string_value(v), *end;

	*ret = 0;
	if (!v || json_is_null(v))
		return 0;
	end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	if (!end || *end)
		return -EINVAL;
	*ret = timegm(&tm);
	return 0;
}

static int
key_parse(const json_t *k, size_t i, struct al_key *out, struct al_err *err)
{
	const char *b64 = json_string_value(json_object_get(k, "public_key"));
	const char *status = json_string_value(json_object_get(k, "status"));
	const char *keyid = json_string_value(json_object_get(k, "keyid"));

	if (!json_is_object(k) || !b64 || al_pubkey_parse(b64, out->pub, err) < 0)
		return al_err_set(err, -EINVAL, "keys[%zu].public_key: expected an Ed25519 key", i);
	if (!status_valid(status))
		return al_err_set(err, -EINVAL,
				  "keys[%zu].status: expected active, retired or revoked", i);
	al_keyid_of(out->pub, out->keyid);
	/* the id is derived, never taken on trust; a listed one must agree */
	if (keyid && strcmp(keyid, out->keyid))
		return al_err_set(err, -EINVAL, "keys[%zu].keyid: does not match its key", i);
	snprintf(out->status, sizeof(out->status), "%s", status);
	if (time_field(json_object_get(k, "verify_until"), &out->verify_until) < 0)
		return al_err_set(err, -EINVAL, "keys[%zu].verify_until: expected a UTC time", i);
	if (!strcmp(status, "retired") && !out->verify_until)
		return al_err_set(err, -EINVAL, "keys[%zu]: a retired key needs verify_until", i);
	return 0;
}

int
al_keyring_parse(const json_t *doc, struct al_keyring **ret, struct al_err *err)
{
	const json_t *keys = json_object_get(doc, "keys");
	struct al_keyring *kr;
	size_t i, active = 0;
	json_t *k;
	int r;

	if (!json_is_array(keys) || json_array_size(keys) == 0 ||
	    json_array_size(keys) > KEYRING_MAX_KEYS)
		return al_err_set(err, -EINVAL, "keys: expected an array of 1 to %d keys",
				  KEYRING_MAX_KEYS);
	kr = calloc(1, sizeof(*kr));
	if (kr)
		kr->keys = calloc(json_array_size(keys), sizeof(*kr->keys));
	if (!kr || !kr->keys) {
		al_keyring_free(kr);
		return al_err_set(err, -ENOMEM, "out of memory");
	}
	json_array_foreach (keys, i, k) {
		r = key_parse(k, i, &kr->keys[i], err);
		if (r < 0) {
			al_keyring_free(kr);
			return r;
		}
		active += !strcmp(kr->keys[i].status, "active");
		kr->n++;
	}
	if (active > 1) {
		al_keyring_free(kr);
		return al_err_set(err, -EINVAL, "keys: more than one active key");
	}
	*ret = kr;
	return 0;
}

json_t *
al_keyring_json(const struct al_keyring *kr)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < kr->n; i++) {
		const struct al_key *k = &kr->keys[i];
		_cleanup_free_ char *pem = al_pubkey_pem(k->pub), *b64 = al_pubkey_b64(k->pub);
		char until[32] = "";
		json_t *o;

		if (k->verify_until)
			al_grant_time_format(k->verify_until, until);
		o = pem && b64
			? json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "keyid", k->keyid,
				    "algorithm", "ed25519", "status", k->status, "public_key", b64,
				    "public_key_pem", pem, "verify_until", until[0] ? until : NULL)
			: NULL;
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr ? json_pack("{s:o}", "keys", arr) : NULL;
}

static char *
keyring_path(const char *data_dir)
{
	return al_path_join(data_dir, "keys.json");
}

int
al_keyring_save(const char *data_dir, const struct al_keyring *kr, struct al_err *err)
{
	_cleanup_free_ char *path = keyring_path(data_dir), *text = NULL;
	json_t *doc = al_keyring_json(kr);

	text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (!path || !text)
		return al_err_set(err, -ENOMEM, "out of memory");
	return al_file_write_atomic(path, text, strlen(text), 0644, err);
}

/* DATA/keys.json, or, the first time, a keyring of the one key there is. */
int
al_keyring_load(const char *data_dir, const struct al_signer *active, struct al_keyring **ret,
		struct al_err *err)
{
	_cleanup_free_ char *path = keyring_path(data_dir), *text = NULL;
	struct al_keyring *kr = NULL;
	json_error_t jerr;
	json_t *doc;
	size_t len;
	int r;

	if (!path)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_file_read(path, KEYRING_MAX_BYTES, &text, &len, err);
	if (r == -ENOENT) {
		err_clear(err);
		kr = calloc(1, sizeof(*kr));
		if (kr)
			kr->keys = calloc(1, sizeof(*kr->keys));
		if (!kr || !kr->keys) {
			al_keyring_free(kr);
			return al_err_set(err, -ENOMEM, "out of memory");
		}
		kr->n = 1;
		al_signer_pubkey(active, kr->keys[0].pub);
		al_keyid_of(kr->keys[0].pub, kr->keys[0].keyid);
		snprintf(kr->keys[0].status, sizeof(kr->keys[0].status), "active");
		r = al_keyring_save(data_dir, kr, err);
		if (r < 0) {
			al_keyring_free(kr);
			return r;
		}
		*ret = kr;
		return 0;
	}
	if (r < 0)
		return r;
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return al_err_set(err, -EINVAL, "%s: not JSON: %s", path, jerr.text);
	r = al_keyring_parse(doc, &kr, err);
	json_decref(doc);
	if (r < 0)
		return al_err_prefix(err, "%s", path);
	*ret = kr;
	return 0;
}

const struct al_key *
al_keyring_find(const struct al_keyring *kr, const char *keyid)
{
	for (size_t i = 0; i < kr->n; i++)
		if (!strcmp(kr->keys[i].keyid, keyid))
			return &kr->keys[i];
	return NULL;
}

/* Tries every key: an envelope's keyid is a hint, never trusted on its own. */
int
al_keyring_verify(const struct al_keyring *kr, const char *envelope, size_t len, time_t now,
		  char **ret_payload, size_t *ret_len, const struct al_key **ret_key,
		  struct al_err *err)
{
	char until[32];
	int r = -EPERM;
	size_t i;

	for (i = 0; i < kr->n; i++) {
		err_clear(err);
		r = al_dsse_verify(envelope, len, kr->keys[i].pub, ret_payload, ret_len, err);
		if (r != -EPERM)
			break;
	}
	if (r == -EPERM) {
		err_clear(err);
		return al_err_set(err, -EPERM, "signature does not verify with any known key");
	}
	if (r < 0)
		return r;
	*ret_key = &kr->keys[i];
	if (!strcmp(kr->keys[i].status, "revoked"))
		r = al_err_set(err, -EKEYREVOKED, "signed by key %.16s, which is revoked",
			       kr->keys[i].keyid);
	else if (!strcmp(kr->keys[i].status, "retired") && now > kr->keys[i].verify_until) {
		al_grant_time_format(kr->keys[i].verify_until, until);
		r = al_err_set(err, -EKEYEXPIRED,
			       "signed by key %.16s, retired and trusted only "
			       "until %s",
			       kr->keys[i].keyid, until);
	}
	if (r < 0) {
		free(*ret_payload);
		*ret_payload = NULL;
	}
	return r;
}

int
al_keys_rotate(const char *data_dir, long retire_s, char ret_keyid[AL_KEYID_HEX],
	       struct al_err *err)
{
	_cleanup_free_ char *key = al_path_join(data_dir, "signing.key");
	_cleanup_free_ char *next = al_path_join(data_dir, "signing.key.next");
	struct al_signer *old = NULL, *fresh = NULL;
	struct al_keyring *kr = NULL;
	struct al_key *grown;
	const char *id;
	int r;

	if (!key || !next)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_signer_open(data_dir, &old, err);
	if (r == 0)
		r = al_keyring_load(data_dir, old, &kr, err);
	if (r == 0 && !(id = al_signer_keyid(old), al_keyring_find(kr, id)))
		r = al_err_set(err, -EINVAL, "signing.key is not in keys.json");
	/* a half-done earlier rotation leaves next behind: start it again */
	if (r == 0)
		unlink(next);
	if (r == 0)
		r = al_signer_generate(next, &fresh, err);
	grown = r == 0 ? realloc(kr->keys, (kr->n + 1) * sizeof(*kr->keys)) : NULL;
	if (r == 0 && !grown)
		r = al_err_set(err, -ENOMEM, "out of memory");
	if (r == 0) {
		struct al_key *k;

		kr->keys = grown;
		for (size_t i = 0; i < kr->n; i++) {
			k = &kr->keys[i];
			if (strcmp(k->status, "active"))
				continue;
			snprintf(k->status, sizeof(k->status), "retired");
			k->verify_until = time(NULL) + retire_s;
		}
		k = &kr->keys[kr->n++];
		memset(k, 0, sizeof(*k));
		al_signer_pubkey(fresh, k->pub);
		al_keyid_of(k->pub, k->keyid);
		snprintf(k->status, sizeof(k->status), "active");
		snprintf(ret_keyid, AL_KEYID_HEX, "%s", k->keyid);
		/* the keyring first: a crash before the rename leaves a signing.key that the
		 * keyring calls retired, and the server refuses to sign with it */
		r = al_keyring_save(data_dir, kr, err);
	}
	if (r == 0 && rename(next, key) < 0)
		r = al_err_set(err, -errno, "%s: %s", key, strerror(errno));
	al_signer_free(old);
	al_signer_free(fresh);
	al_keyring_free(kr);
	return r;
}

int
al_keys_revoke(const char *data_dir, const char *keyid, struct al_err *err)
{
	struct al_signer *s = NULL;
	struct al_keyring *kr = NULL;
	struct al_key *k;
	int r;

	r = al_signer_open(data_dir, &s, err);
	if (r == 0)
		r = al_keyring_load(data_dir, s, &kr, err);
	al_signer_free(s);
	if (r < 0)
		return r;
	k = (struct al_key *)al_keyring_find(kr, keyid);
	if (!k)
		r = al_err_set(err, -ENOENT, "no key %s in keys.json", keyid);
	else if (!strcmp(k->status, "active"))
		r = al_err_set(err, -EBUSY, "key %s is the active key: run keygen first", keyid);
	if (r == 0) {
		snprintf(k->status, sizeof(k->status), "revoked");
		k->verify_until = 0;
		r = al_keyring_save(data_dir, kr, err);
	}
	al_keyring_free(kr);
	return r;
}
