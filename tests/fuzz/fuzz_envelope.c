/* Grant verification over arbitrary bytes: the DSSE envelope parser, then (for payloads
 * that verify) the statement checks. Verification must never succeed on input that was
 * not signed by the key, and must never crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/grant.h"
#include "server/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed key: inputs in the corpus may carry a real signature under it. */
static const unsigned char fuzz_pub[AL_PUBKEY_BYTES] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *payload = NULL;
	size_t n = 0;
	json_t *st = NULL;
	struct al_grant_binding b = {.repo = "example"};

	if (al_sign_init() < 0)
		abort();
	if (al_dsse_verify((const char *)data, size, fuzz_pub, &payload, &n, NULL) == 0) {
		if (al_grant_check(payload, n, time(NULL), &b, &st, NULL) == 0)
			json_decref(st);
		free(payload);
	}
	/* The statement checker alone, as if a signature had been forged. */
	if (al_grant_check((const char *)data, size, 0, &b, &st, NULL) == 0)
		json_decref(st);
	return 0;
}
