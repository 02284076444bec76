/* Signing key, digests and DSSE envelopes (the libsodium adapter). */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"

#define AL_PUBKEY_BYTES 32
#define AL_KEYID_HEX 65
#define AL_DSSE_PAYLOAD_TYPE "application/vnd.in-toto+json"

struct al_signer;

/* Exit codes of verification, also used by `airlock verify`. */
enum al_verify_result {
	AL_VERIFY_OK = 0,
	AL_VERIFY_BAD_SIGNATURE = 1,
	AL_VERIFY_MALFORMED = 2,
	AL_VERIFY_EXPIRED = 3,
	AL_VERIFY_WRONG_BINDING = 4,
};

int al_sign_init(void);
void al_sha256_hex(const void *p, size_t n, char out[65]);
/* Loads DIR/signing.key, or makes one (mode 0600) when there is none. */
int al_signer_open(const char *data_dir, struct al_signer **ret, struct al_err *err);
/* Makes a new key at path (which must not exist; mode 0600). */
int al_signer_generate(const char *path, struct al_signer **ret, struct al_err *err);
void al_signer_free(struct al_signer *s);
const char *al_signer_keyid(const struct al_signer *s);
void al_signer_pubkey(const struct al_signer *s, unsigned char out[AL_PUBKEY_BYTES]);
/* DSSE v1 pre-authentication encoding; caller frees. */
char *al_dsse_pae(const char *type, const char *body, size_t len, size_t *ret_len);
/* Signs a payload of AL_DSSE_PAYLOAD_TYPE and returns the DSSE envelope. */
int al_signer_envelope(const struct al_signer *s, const char *payload, size_t len, json_t **ret,
		       struct al_err *err);
/* Checks the envelope signature with pub before anything reads the payload; on success
 * returns the decoded payload bytes (caller frees). */
int al_dsse_verify(const char *envelope, size_t len, const unsigned char pub[AL_PUBKEY_BYTES],
		   char **ret_payload, size_t *ret_payload_len, struct al_err *err);
void al_keyid_of(const unsigned char pub[AL_PUBKEY_BYTES], char out[AL_KEYID_HEX]);
/* SubjectPublicKeyInfo PEM of an Ed25519 key; caller frees. */
char *al_pubkey_pem(const unsigned char pub[AL_PUBKEY_BYTES]);
char *al_pubkey_b64(const unsigned char pub[AL_PUBKEY_BYTES]);
/* Accepts PEM (SubjectPublicKeyInfo) or the raw key in base64. */
int al_pubkey_parse(const char *text, unsigned char out[AL_PUBKEY_BYTES], struct al_err *err);
/* Random bytes as hex: n bytes, out holds 2n+1. */
void al_random_hex(size_t n, char *out);
