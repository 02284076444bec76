#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/hex.h"
#include "lib/macros.h"
#include "server/grant.h"
#include "server/keyring.h"
#include "server/sign.h"

/* RFC 8032 section 7.1, test 1. */
static const char rfc_seed[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc_pub[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

static char dir[64];
static struct al_signer *signer;

static void
setup(void)
{
	char seed[80];
	_cleanup_free_ char *path = NULL;
	struct al_err e = {0};

	ck_assert_int_eq(al_sign_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/check_sign.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = al_path_join(dir, "signing.key");
	snprintf(seed, sizeof(seed), "%s\n", rfc_seed);
	ck_assert_int_eq(al_file_write_atomic(path, seed, strlen(seed), 0600, &e), 0);
	ck_assert_int_eq(al_signer_open(dir, &signer, &e), 0);
}

static void
teardown(void)
{
	al_signer_free(signer);
	signer = NULL;
	al_rm_rf(dir);
}

START_TEST(rfc8032_key_and_keyid)
{
	unsigned char pub[AL_PUBKEY_BYTES];
	char hex[65], keyid[65];

	al_signer_pubkey(signer, pub);
	al_hex_encode(pub, sizeof(pub), hex);
	ck_assert_str_eq(hex, rfc_pub);
	al_sha256_hex(pub, sizeof(pub), keyid);
	ck_assert_str_eq(al_signer_keyid(signer), keyid);
}
END_TEST

START_TEST(pae_matches_dsse_spec)
{
	size_t n;
	char *pae = al_dsse_pae("http://example.com/HelloWorld", "hello world", 11, &n);

	ck_assert_str_eq(pae, "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
	ck_assert_uint_eq(n, strlen(pae));
	free(pae);
}
END_TEST

static char *
envelope_text(const char *payload)
{
	json_t *env = NULL;
	char *text;

	ck_assert_int_eq(al_signer_envelope(signer, payload, strlen(payload), &env, NULL), 0);
	text = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	return text;
}

START_TEST(envelope_roundtrip)
{
	unsigned char pub[AL_PUBKEY_BYTES];
	_cleanup_free_ char *env = envelope_text("{\"a\":1}"), *payload = NULL;
	size_t n;

	al_signer_pubkey(signer, pub);
	ck_assert_int_eq(al_dsse_verify(env, strlen(env), pub, &payload, &n, NULL), 0);
	ck_assert_str_eq(payload, "{\"a\":1}");
}
END_TEST

/* Each mutation of a valid envelope, and the error it must produce. */
static const struct {
	const char *from, *to;
	int want;
} tamper_cases[] = {
    {"eyJhIjoxfQ==", "eyJhIjoyfQ==", -EPERM}, /* payload {"a":2} */
    {"application/vnd.in-toto+json", "application/json", -EPERM},
    {"\"signatures\":[", "\"signatures\":[{\"sig\":\"AAAA\"},",
     0}, /* extra junk sig, good one still there */
    {"\"signatures\":[{", "\"signatures\":[], \"x\":[{", -EBADMSG},
    {"\"payload\":", "\"payload_\":", -EBADMSG},
    {"{", "[", -EBADMSG},
    {"eyJhIjoxfQ==", "eyJhIjoxfQ", -EBADMSG}, /* unpadded base64 is not DSSE's */
};

static char *
replace_once(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out;

	ck_assert_ptr_nonnull(at);
	ck_assert_int_ge(asprintf(&out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from)), 0);
	return out;
}

START_TEST(tampered_envelopes_fail)
{
	unsigned char pub[AL_PUBKEY_BYTES];
	_cleanup_free_ char *env = envelope_text("{\"a\":1}"), *bad = NULL, *payload = NULL;
	size_t n;
	int r;

	al_signer_pubkey(signer, pub);
	bad = replace_once(env, tamper_cases[_i].from, tamper_cases[_i].to);
	r = al_dsse_verify(bad, strlen(bad), pub, &payload, &n, NULL);
	ck_assert_int_eq(r, tamper_cases[_i].want);
}
END_TEST

START_TEST(other_key_fails)
{
	unsigned char pub[AL_PUBKEY_BYTES];
	_cleanup_free_ char *env = envelope_text("{}"), *payload = NULL;
	size_t n;

	al_signer_pubkey(signer, pub);
	pub[0] ^= 1;
	ck_assert_int_eq(al_dsse_verify(env, strlen(env), pub, &payload, &n, NULL), -EPERM);
}
END_TEST

START_TEST(pubkey_formats)
{
	unsigned char pub[AL_PUBKEY_BYTES], got[AL_PUBKEY_BYTES];
	_cleanup_free_ char *pem = NULL, *b64 = NULL;
	struct al_err e = {0};

	al_signer_pubkey(signer, pub);
	pem = al_pubkey_pem(pub);
	b64 = al_pubkey_b64(pub);
	ck_assert_ptr_nonnull(strstr(pem, "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
	ck_assert_int_eq(al_pubkey_parse(pem, got, &e), 0);
	ck_assert_mem_eq(got, pub, sizeof(pub));
	ck_assert_int_eq(al_pubkey_parse(b64, got, &e), 0);
	ck_assert_mem_eq(got, pub, sizeof(pub));
	ck_assert_int_eq(al_pubkey_parse("not a key", got, &e), -EINVAL);
	/* An RSA-shaped SPKI is not accepted as Ed25519. */
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(
	    al_pubkey_parse("MCwwBQYDK2VxAyMAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", got,
			    &e),
	    -EINVAL);
}
END_TEST

START_TEST(key_file_must_be_private)
{
	_cleanup_free_ char *path = al_path_join(dir, "signing.key");
	struct al_signer *s = NULL;
	struct al_err e = {0};

	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(al_signer_open(dir, &s, &e), -EPERM);
	ck_assert_ptr_nonnull(strstr(e.msg, "must not be readable by others"));
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(new_key_is_created_0600)
{
	char d[] = "/tmp/check_sign_new.XXXXXX";
	_cleanup_free_ char *path = NULL;
	struct al_signer *a = NULL, *b = NULL;
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(d));
	ck_assert_int_eq(al_signer_open(d, &a, NULL), 0);
	path = al_path_join(d, "signing.key");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(al_signer_open(d, &b, NULL), 0); /* the same key comes back */
	ck_assert_str_eq(al_signer_keyid(a), al_signer_keyid(b));
	al_signer_free(a);
	al_signer_free(b);
	al_rm_rf(d);
}
END_TEST

static char *
statement(time_t issued, long lifetime)
{
	json_t *verdict = json_pack("{s:[{s:s, s:s, s:s}]}", "rules", "rule", "apply", "result",
				    "SATISFIED", "reason", "ok");
	json_t *result = json_pack("{s:[]}", "runs"), *prov = json_object();
	struct al_grant_input in = {
	    .proposal_id = "0123456789abcdef0123456789abcdef",
	    .repo = "example",
	    .base = "main",
	    .base_commit = "1111111111111111111111111111111111111111",
	    .candidate_commit = "2222222222222222222222222222222222222222",
	    .candidate_tree = "3333333333333333333333333333333333333333",
	    .patch_sha256 = "44",
	    .policy_sha256 = "55",
	    .verdict = verdict,
	    .result = result,
	    .provenance = prov,
	    .binary_sha256 = "66",
	    .sandbox_profile_sha256 = "77",
	    .kernel = "6.1",
	    .authority = "write",
	    .authority_ref = "refs/heads/airlock/x",
	    .tier = 1,
	    .issued_at = issued,
	    .lifetime_s = lifetime,
	    .nonce = "00112233445566778899aabbccddeeff",
	    .verifier_version = "test",
	};
	char *text = NULL;

	ck_assert_int_eq(al_grant_statement(&in, &text, NULL), 0);
	json_decref(verdict);
	json_decref(result);
	json_decref(prov);
	return text;
}

static const struct {
	struct al_grant_binding b;
	long lifetime;
	int want;
} check_cases[] = {
    {{NULL, NULL, NULL, NULL}, 3600, AL_VERIFY_OK},
    {{"example", "refs/heads/airlock/x", "2222222222222222222222222222222222222222", NULL},
     3600,
     AL_VERIFY_OK},
    {{"other", NULL, NULL, NULL}, 3600, AL_VERIFY_WRONG_BINDING},
    {{NULL, "refs/heads/main", NULL, NULL}, 3600, AL_VERIFY_WRONG_BINDING},
    {{NULL, NULL, "2222222222222222222222222222222222222223", NULL}, 3600, AL_VERIFY_WRONG_BINDING},
    {{NULL, NULL, NULL, NULL}, -10, AL_VERIFY_EXPIRED},
    /* a write grant makes a new ref: the ref must be nowhere yet */
    {{NULL, NULL, NULL, "0000000000000000000000000000000000000000"}, 3600, AL_VERIFY_OK},
    {{NULL, NULL, NULL, "1111111111111111111111111111111111111111"}, 3600, AL_VERIFY_WRONG_BINDING},
};

START_TEST(grant_check_bindings_and_expiry)
{
	time_t now = time(NULL);
	_cleanup_free_ char *st = statement(now, check_cases[_i].lifetime);
	json_t *parsed = NULL;
	int r = al_grant_check(st, strlen(st), now, &check_cases[_i].b, &parsed, NULL);

	ck_assert_int_eq(r, check_cases[_i].want);
	ck_assert_int_eq(parsed != NULL, r == AL_VERIFY_OK);
	json_decref(parsed);
}
END_TEST

START_TEST(grant_check_refuses_foreign_statements)
{
	static const char *const bad[] = {
	    "not json",
	    "{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"predicateType\":\"https://"
	    "airlock.dev/grant/v1\"}",
	    "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"https://slsa.dev/"
	    "provenance/v1\"}",
	    "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"https://"
	    "airlock.dev/grant/v1\",\"predicate\":{}}",
	};
	json_t *parsed = NULL;

	for (size_t i = 0; i < AL_ARRAY_SIZE(bad); i++)
		ck_assert_int_eq(al_grant_check(bad[i], strlen(bad[i]), 0, NULL, &parsed, NULL),
				 AL_VERIFY_MALFORMED);
}
END_TEST

/* The keyring as the data dir has it after n rotations. */
static struct al_keyring *
keyring_now(void)
{
	struct al_signer *s = NULL;
	struct al_keyring *kr = NULL;

	ck_assert_int_eq(al_signer_open(dir, &s, NULL), 0);
	ck_assert_int_eq(al_keyring_load(dir, s, &kr, NULL), 0);
	al_signer_free(s);
	return kr;
}

START_TEST(keyring_rotation_retire_and_revoke)
{
	_cleanup_free_ char *old_env = envelope_text("{\"a\":1}"), *payload = NULL;
	_cleanup_free_ char *next = al_path_join(dir, "signing.key");
	const struct al_key *used = NULL;
	struct al_keyring *kr = keyring_now();
	char old_id[AL_KEYID_HEX], new_id[AL_KEYID_HEX];
	struct al_err e = {0};
	size_t n;

	/* the first load writes a keyring of the one key there is */
	ck_assert_uint_eq(kr->n, 1);
	ck_assert_str_eq(kr->keys[0].status, "active");
	snprintf(old_id, sizeof(old_id), "%s", kr->keys[0].keyid);
	al_keyring_free(kr);
	ck_assert_int_eq(al_keys_revoke(dir, old_id, &e), -EBUSY); /* the active key */
	ck_assert_int_eq(al_keys_rotate(dir, 3600, new_id, NULL), 0);
	ck_assert_str_ne(new_id, old_id);
	kr = keyring_now();
	ck_assert_uint_eq(kr->n, 2);
	ck_assert_str_eq(al_keyring_find(kr, old_id)->status, "retired");
	ck_assert_str_eq(al_keyring_find(kr, new_id)->status, "active");
	/* retired: verifies until its date, and not after */
	ck_assert_int_eq(
	    al_keyring_verify(kr, old_env, strlen(old_env), time(NULL), &payload, &n, &used, NULL),
	    0);
	ck_assert_str_eq(used->keyid, old_id);
	free(steal_pointer(&payload));
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(al_keyring_verify(kr, old_env, strlen(old_env), time(NULL) + 7200,
					   &payload, &n, &used, &e),
			 -EKEYEXPIRED);
	ck_assert_ptr_null(payload);
	al_keyring_free(kr);
	/* revoked: never again */
	ck_assert_int_eq(al_keys_revoke(dir, old_id, NULL), 0);
	kr = keyring_now();
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(
	    al_keyring_verify(kr, old_env, strlen(old_env), time(NULL), &payload, &n, &used, &e),
	    -EKEYREVOKED);
	ck_assert_ptr_nonnull(strstr(al_err_msg(&e), "revoked"));
	al_keyring_free(kr);
	/* the retired key's private half is gone: signing.key is the new key */
	ck_assert_int_eq(access(next, F_OK), 0);
	al_signer_free(signer);
	ck_assert_int_eq(al_signer_open(dir, &signer, NULL), 0);
	ck_assert_str_eq(al_signer_keyid(signer), new_id);
}
END_TEST

/* A keys document is checked whole: a keyid that is not its key's, two active keys, a
 * retired key without a date, an unknown status. */
static const char *const bad_keyrings[] = {
    "{\"keys\":[{\"public_key\":\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\","
    "\"status\":\"active\",\"keyid\":\"00\"}]}",
    "{\"keys\":[{\"public_key\":\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\","
    "\"status\":\"active\"},{\"public_key\":\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\","
    "\"status\":\"active\"}]}",
    "{\"keys\":[{\"public_key\":\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\","
    "\"status\":\"retired\"}]}",
    "{\"keys\":[{\"public_key\":\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\","
    "\"status\":\"trusted\"}]}",
    "{\"keys\":[]}",
    "{\"keys\":[{\"public_key\":\"AAAA\",\"status\":\"active\"}]}",
};

START_TEST(keyring_documents_refused)
{
	json_t *doc = json_loads(bad_keyrings[_i], 0, NULL);
	struct al_keyring *kr = NULL;
	struct al_err e = {0};

	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(al_keyring_parse(doc, &kr, &e), -EINVAL);
	ck_assert_ptr_null(kr);
	ck_assert_str_ne(al_err_msg(&e), "");
	json_decref(doc);
}
END_TEST

static Suite *
sign_suite(void)
{
	Suite *s = suite_create("sign");
	TCase *t = tcase_create("dsse");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, rfc8032_key_and_keyid);
	tcase_add_test(t, pae_matches_dsse_spec);
	tcase_add_test(t, envelope_roundtrip);
	tcase_add_loop_test(t, tampered_envelopes_fail, 0, (int)AL_ARRAY_SIZE(tamper_cases));
	tcase_add_test(t, other_key_fails);
	tcase_add_test(t, pubkey_formats);
	tcase_add_test(t, key_file_must_be_private);
	tcase_add_test(t, new_key_is_created_0600);
	tcase_add_loop_test(t, grant_check_bindings_and_expiry, 0, (int)AL_ARRAY_SIZE(check_cases));
	tcase_add_test(t, grant_check_refuses_foreign_statements);
	tcase_add_test(t, keyring_rotation_retire_and_revoke);
	tcase_add_loop_test(t, keyring_documents_refused, 0, (int)AL_ARRAY_SIZE(bad_keyrings));
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sign_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
