/* The keyring: active, retired and revoked signing keys (public halves) in DATA/keys.json. */
#pragma once

#include <jansson.h>
#include <time.h>

#include "lib/err.h"
#include "server/sign.h"

struct al_key {
	unsigned char pub[AL_PUBKEY_BYTES];
	char keyid[AL_KEYID_HEX];
	char status[12];     /* active, retired, revoked */
	time_t verify_until; /* retired: grants it signed verify until then; else 0 */
};

struct al_keyring {
	struct al_key *keys; /* owned */
	size_t n;
};

/* {"keys": [{"public_key", "status", "keyid"?, "verify_until"?}, ...]}: keys.json and the
 * answer of GET /v1/keys have this shape. */
int al_keyring_parse(const json_t *doc, struct al_keyring **ret, struct al_err *err);
json_t *al_keyring_json(const struct al_keyring *kr);
void al_keyring_free(struct al_keyring *kr);
const struct al_key *al_keyring_find(const struct al_keyring *kr, const char *keyid);
/* DATA/keys.json; the first time, a keyring holding active alone (and written). */
int al_keyring_load(const char *data_dir, const struct al_signer *active, struct al_keyring **ret,
		    struct al_err *err);
int al_keyring_save(const char *data_dir, const struct al_keyring *kr, struct al_err *err);
/* The envelope's signature checked against every key (0, or -EPERM when none verifies;
 * -EBADMSG malformed); then the key's status at now: -EKEYREVOKED for a revoked key,
 * -EKEYEXPIRED for a retired one past verify_until.  The payload only on 0. */
int al_keyring_verify(const struct al_keyring *kr, const char *envelope, size_t len, time_t now,
		      char **ret_payload, size_t *ret_len, const struct al_key **ret_key,
		      struct al_err *err);
/* `airlock keygen` on a data dir that has a key: a new active key; the old one retired,
 * verifying until now + retire_s, its private half deleted. */
int al_keys_rotate(const char *data_dir, long retire_s, char ret_keyid[AL_KEYID_HEX],
		   struct al_err *err);
/* Marks a retired key revoked; the active key cannot be (rotate first). */
int al_keys_revoke(const char *data_dir, const char *keyid, struct al_err *err);
