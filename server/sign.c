#include "sign.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/hex.h"
#include "lib/macros.h"

/* DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the key follows. */
static const unsigned char spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
					      0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

struct al_signer {
	unsigned char *sk; /* owned, sodium_malloc'd, crypto_sign_SECRETKEYBYTES */
	unsigned char pk[AL_PUBKEY_BYTES];
	char keyid[AL_KEYID_HEX];
};

int
al_sign_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

void
al_sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char d[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(d, p, n);
	al_hex_encode(d, sizeof(d), out);
}

void
al_keyid_of(const unsigned char pub[AL_PUBKEY_BYTES], char out[AL_KEYID_HEX])
{
	al_sha256_hex(pub, AL_PUBKEY_BYTES, out);
}

void
al_random_hex(size_t n, char *out)
{
	unsigned char b[64];

	if (n > sizeof(b))
		n = sizeof(b);
	randombytes_buf(b, n);
	al_hex_encode(b, n, out);
}

static char *
b64_encode(const unsigned char *p, size_t n)
{
	size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(len);

	if (out)
		sodium_bin2base64(out, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* Strict standard base64 with padding, as DSSE writes it. */
static int
b64_decode(const char *s, unsigned char **ret, size_t *ret_len)
{
	size_t cap = strlen(s) / 4 * 3 + 3, n = 0;
	const char *end = NULL;
	unsigned char *out = malloc(cap + 1);

	if (!out)
		return -ENOMEM;
	if (sodium_base642bin(out, cap, s, strlen(s), NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) < 0 ||
	    (end && *end)) {
		free(out);
		return -EINVAL;
	}
	out[n] = '\0';
	*ret = out;
	*ret_len = n;
	return 0;
}

char *
al_pubkey_b64(const unsigned char pub[AL_PUBKEY_BYTES])
{
	return b64_encode(pub, AL_PUBKEY_BYTES);
}

char *
al_pubkey_pem(const unsigned char pub[AL_PUBKEY_BYTES])
{
	unsigned char der[sizeof(spki_prefix) + AL_PUBKEY_BYTES];
	_cleanup_free_ char *b = NULL;
	char *out;

	memcpy(der, spki_prefix, sizeof(spki_prefix));
	memcpy(der + sizeof(spki_prefix), pub, AL_PUBKEY_BYTES);
	b = b64_encode(der, sizeof(der));
	if (!b ||
	    asprintf(&out, "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n", b) < 0)
		return NULL;
	return out;
}

int
al_pubkey_parse(const char *text, unsigned char out[AL_PUBKEY_BYTES], struct al_err *err)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----",
			  end[] = "-----END PUBLIC KEY-----";
	char body[256];
	size_t o = 0, n = 0;
	_cleanup_free_ unsigned char *raw = NULL;
	const char *p = strstr(text, begin), *q;

	if (p) {
		p += sizeof(begin) - 1;
		q = strstr(p, end);
		if (!q)
			return al_err_set(err, -EINVAL, "public key: PEM has no END line");
	} else {
		p = text;
		q = text + strlen(text);
	}
	for (; p < q; p++) {
		if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
			continue;
		if (o + 1 >= sizeof(body))
			return al_err_set(err, -EINVAL, "public key: too long");
		body[o++] = *p;
	}
	body[o] = '\0';
	if (b64_decode(body, &raw, &n) < 0)
		return al_err_set(err, -EINVAL, "public key: not base64");
	if (n == AL_PUBKEY_BYTES) {
		memcpy(out, raw, n);
		return 0;
	}
	if (n == sizeof(spki_prefix) + AL_PUBKEY_BYTES &&
	    memcmp(raw, spki_prefix, sizeof(spki_prefix)) == 0) {
		memcpy(out, raw + sizeof(spki_prefix), AL_PUBKEY_BYTES);
		return 0;
	}
	return al_err_set(err, -EINVAL, "public key: not an Ed25519 key");
}

static int
seed_load(const char *path, unsigned char seed[crypto_sign_SEEDBYTES], struct al_err *err)
{
	char text[2 * crypto_sign_SEEDBYTES + 2];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	ssize_t n;
	int r;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return al_err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (st.st_mode & 077)
		return al_err_set(err, -EPERM, "%s: mode %04o, must not be readable by others",
				  path, (unsigned)(st.st_mode & 07777));
	n = read(fd, text, sizeof(text));
	if (n < 2 * crypto_sign_SEEDBYTES)
		return al_err_set(err, -EINVAL, "%s: not a signing key", path);
	text[2 * crypto_sign_SEEDBYTES] = '\0';
	r = al_hex_decode(text, seed, crypto_sign_SEEDBYTES);
	explicit_bzero(text, sizeof(text));
	if (r < 0)
		return al_err_set(err, -EINVAL, "%s: not a signing key", path);
	return 0;
}

static int
seed_create(const char *path, unsigned char seed[crypto_sign_SEEDBYTES], struct al_err *err)
{
	char text[2 * crypto_sign_SEEDBYTES + 2];
	_cleanup_close_ int fd = -1;
	int r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return al_err_set(err, -errno, "%s: %s", path, strerror(errno));
	randombytes_buf(seed, crypto_sign_SEEDBYTES);
	al_hex_encode(seed, crypto_sign_SEEDBYTES, text);
	text[2 * crypto_sign_SEEDBYTES] = '\n';
	r = al_fd_write_all(fd, text, 2 * crypto_sign_SEEDBYTES + 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	explicit_bzero(text, sizeof(text));
	if (r < 0) {
		unlink(path);
		return al_err_set(err, r, "%s: %s", path, strerror(-r));
	}
	return 0;
}

static int
signer_from_seed(unsigned char seed[crypto_sign_SEEDBYTES], struct al_signer **ret,
		 struct al_err *err)
{
	struct al_signer *s = calloc(1, sizeof(*s));

	if (s)
		s->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!s || !s->sk) {
		free(s);
		explicit_bzero(seed, crypto_sign_SEEDBYTES);
		return al_err_set(err, -ENOMEM, "out of memory");
	}
	crypto_sign_seed_keypair(s->pk, s->sk, seed);
	explicit_bzero(seed, crypto_sign_SEEDBYTES);
	sodium_mprotect_noaccess(s->sk);
	al_keyid_of(s->pk, s->keyid);
	*ret = s;
	return 0;
}

/* path, made (mode 0600) when create and it is missing. */
static int
signer_at(const char *path, bool create, struct al_signer **ret, struct al_err *err)
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	int r;

	if (!path)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = seed_load(path, seed, err);
	if (r == -ENOENT && create)
		r = seed_create(path, seed, err);
	else if (r < 0 && !(err && err->msg[0]))
		r = al_err_set(err, r, "%s: %s", path, strerror(-r));
	if (r < 0)
		return r;
	return signer_from_seed(seed, ret, err);
}

int
al_signer_open(const char *data_dir, struct al_signer **ret, struct al_err *err)
{
	_cleanup_free_ char *path = al_path_join(data_dir, "signing.key");

	return signer_at(path, true, ret, err);
}

int
al_signer_generate(const char *path, struct al_signer **ret, struct al_err *err)
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	int r = seed_create(path, seed, err);

	return r < 0 ? r : signer_from_seed(seed, ret, err);
}

void
al_signer_free(struct al_signer *s)
{
	if (!s)
		return;
	sodium_free(s->sk); /* zeroes before release */
	free(s);
}

const char *
al_signer_keyid(const struct al_signer *s)
{
	return s->keyid;
}

void
al_signer_pubkey(const struct al_signer *s, unsigned char out[AL_PUBKEY_BYTES])
{
	memcpy(out, s->pk, AL_PUBKEY_BYTES);
}

char *
al_dsse_pae(const char *type, const char *body, size_t len, size_t *ret_len)
{
	char head[128];
	size_t tl = strlen(type);
	int h = snprintf(head, sizeof(head), "DSSEv1 %zu ", tl);
	size_t total;
	char *out, *p;

	if (h < 0 || (size_t)h >= sizeof(head))
		return NULL;
	total = (size_t)h + tl + 1 + 24 + 1 + len;
	out = malloc(total + 1);
	if (!out)
		return NULL;
	p = out;
	memcpy(p, head, (size_t)h);
	p += h;
	memcpy(p, type, tl);
	p += tl;
	p += snprintf(p, 27, " %zu ", len);
	memcpy(p, body, len);
	p += len;
	*p = '\0';
	*ret_len = (size_t)(p - out);
	return out;
}

int
al_signer_envelope(const struct al_signer *s, const char *payload, size_t len, json_t **ret,
		   struct al_err *err)
{
	unsigned char sig[crypto_sign_BYTES];
	_cleanup_free_ char *pae = NULL, *b_payload = NULL, *b_sig = NULL;
	size_t pae_len;
	json_t *env;

	pae = al_dsse_pae(AL_DSSE_PAYLOAD_TYPE, payload, len, &pae_len);
	if (!pae)
		return al_err_set(err, -ENOMEM, "out of memory");
	sodium_mprotect_readonly(s->sk);
	crypto_sign_detached(sig, NULL, (const unsigned char *)pae, pae_len, s->sk);
	sodium_mprotect_noaccess(s->sk);
	b_payload = b64_encode((const unsigned char *)payload, len);
	b_sig = b64_encode(sig, sizeof(sig));
	if (!b_payload || !b_sig)
		return al_err_set(err, -ENOMEM, "out of memory");
	env = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "payloadType", AL_DSSE_PAYLOAD_TYPE,
			"payload", b_payload, "signatures", "keyid", s->keyid, "sig", b_sig);
	if (!env)
		return al_err_set(err, -ENOMEM, "out of memory");
	*ret = env;
	return 0;
}

static int
envelope_fields(const json_t *env, const char **type, const char **payload, const json_t **sigs,
		struct al_err *err)
{
	if (!json_is_object(env))
		return al_err_set(err, -EBADMSG, "envelope is not a JSON object");
	*type = json_string_value(json_object_get(env, "payloadType"));
	*payload = json_string_value(json_object_get(env, "payload"));
	*sigs = json_object_get(env, "signatures");
	if (!*type || !*payload)
		return al_err_set(err, -EBADMSG, "envelope lacks payloadType or payload");
	if (!json_is_array(*sigs) || json_array_size(*sigs) == 0 || json_array_size(*sigs) > 16)
		return al_err_set(err, -EBADMSG, "envelope has no signatures");
	return 0;
}

/* One signature verifies under pub: keyid is only a hint and is never trusted alone. */
static int
any_signature_valid(const json_t *sigs, const char *pae, size_t pae_len,
		    const unsigned char pub[AL_PUBKEY_BYTES])
{
	size_t i;
	json_t *sv;

	json_array_foreach (sigs, i, sv) {
		const char *b = json_string_value(json_object_get(sv, "sig"));
		_cleanup_free_ unsigned char *sig = NULL;
		size_t n;

		if (!b || b64_decode(b, &sig, &n) < 0 || n != crypto_sign_BYTES)
			continue;
		if (crypto_sign_verify_detached(sig, (const unsigned char *)pae, pae_len, pub) == 0)
			return 1;
	}
	return 0;
}

int
al_dsse_verify(const char *envelope, size_t len, const unsigned char pub[AL_PUBKEY_BYTES],
	       char **ret_payload, size_t *ret_payload_len, struct al_err *err)
{
	json_error_t jerr;
	json_t *env = json_loadb(envelope, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *type = NULL, *b_payload = NULL;
	const json_t *sigs = NULL;
	_cleanup_free_ unsigned char *payload = NULL;
	_cleanup_free_ char *pae = NULL;
	size_t n, pae_len;
	int r;

	if (!env)
		return al_err_set(err, -EBADMSG, "envelope is not JSON: %s", jerr.text);
	r = envelope_fields(env, &type, &b_payload, &sigs, err);
	if (r == 0 && b64_decode(b_payload, &payload, &n) < 0)
		r = al_err_set(err, -EBADMSG, "payload is not base64");
	if (r == 0 && !(pae = al_dsse_pae(type, (const char *)payload, n, &pae_len)))
		r = al_err_set(err, -ENOMEM, "out of memory");
	if (r == 0 && !any_signature_valid(sigs, pae, pae_len, pub))
		r = al_err_set(err, -EPERM, "signature does not verify with this key");
	if (r == 0 && strcmp(type, AL_DSSE_PAYLOAD_TYPE) != 0)
		r = al_err_set(err, -EBADMSG, "payloadType is %s, want %s", type,
			       AL_DSSE_PAYLOAD_TYPE);
	json_decref(env);
	if (r < 0)
		return r;
	*ret_payload = (char *)steal_pointer(&payload);
	*ret_payload_len = n;
	return 0;
}
