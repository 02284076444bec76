#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "server/config.h"

#define POLICY "{\"reproduce\": {\"command\": [\"sh\", \"tests/run.sh\"]}}"
#define EGRESS_POLICY(allow)                                                                   \
	"{\"reproduce\": {\"command\": [\"t\"]}, \"egress\": {\"gate\": {\"allow\": [\"" allow \
	"\"]}}}"

static const struct {
	const char *json;
	const char *want; /* substring of the message: the key that is wrong */
} bad_cases[] = {
    {"[]", "(top level)"},
    {"{\"lsten\": \"127.0.0.1:1\"}", "lsten: unknown key"},
    {"{\"listen\": 8080}", "listen: expected"},
    {"{\"listen\": \"127.0.0.1\"}", "listen: expected"},
    {"{\"listen\": \"127.0.0.1:70000\"}", "listen: expected"},
    {"{\"data\": \"\"}", "data: expected"},
    {"{\"workers\": 0}", "workers: expected"},
    {"{\"max_parallel_runs\": 65}", "max_parallel_runs: expected an integer 1..64"},
    {"{\"limits\": []}", "limits: expected an object"},
    {"{\"limits\": {\"max_queue\": 5}}", "limits.max_queue: unknown key"},
    {"{\"limits\": {\"max_queued\": 0}}", "limits.max_queued: expected an integer 1..100000"},
    {"{\"limits\": {\"max_json_depth\": 1}}", "limits.max_json_depth: expected"},
    {"{\"limits\": {\"connection_timeout_s\": \"30\"}}", "limits.connection_timeout_s: expected"},
    {"{\"limits\": {\"max_header_bytes\": 1024}}", "limits.max_header_bytes: expected"},
    {"{\"limits\": {\"header_timeout_s\": 0}}",
     "limits.header_timeout_s: expected an integer 1..3600"},
    {"{\"limits\": {\"max_connections_per_address\": 0}}",
     "limits.max_connections_per_address: expected an integer 1..2048"},
    /* one address may not take the connections the others need */
    {"{\"limits\": {\"max_connections_per_address\": 129}}",
     "limits.max_connections_per_address: at most half of max_connections (128)"},
    {"{\"limits\": {\"max_connections\": 10, \"max_connections_per_address\": 6}}",
     "limits.max_connections_per_address: at most half of max_connections (5)"},
    {"{\"limits\": {\"max_patch_bytes\": 4194305}}",
     "limits.max_patch_bytes: expected an integer 1024..4194304"},
    {"{\"limits\": {\"max_fail_to_pass\": 65}}",
     "limits.max_fail_to_pass: expected an integer 1..64"},
    {"{\"max_body_bytes\": \"8M\"}", "max_body_bytes: expected"},
    {"{\"repos\": []}", "repos: expected an object"},
    {"{\"repos\": {\"../x\": {\"path\": \"/tmp\", \"policy\": " POLICY "}}}",
     "invalid repository name"},
    {"{\"repos\": {\"r\": {\"policy\": " POLICY "}}}", "repos.r.path: expected"},
    {"{\"repos\": {\"r\": {\"path\": \"/nonexistent/x\", \"policy\": " POLICY "}}}",
     "repos.r.path: /nonexistent/x is not a directory"},
    {"{\"repos\": {\"r\": {\"path\": \"/tmp\"}}}", "repos.r.policy: missing"},
    {"{\"repos\": {\"r\": {\"path\": \"/tmp\", \"polcy\": {}}}}", "repos.r.polcy: unknown key"},
    {"{\"repos\": {\"r\": {\"path\": \"/tmp\", \"policy\": {\"reproduce\": {\"comand\": []}}}}}",
     "repos.r.policy.reproduce.comand"},
    {"{\"repos\": {\"r\": {\"path\": \"/tmp\", \"policy\": {\"timeout_s\": \"60\"}}}}",
     "repos.r.policy.timeout_s"},
    {"{\"session_ttl_s\": 59}", "session_ttl_s: expected an integer 60..604800"},
    {"{\"session_ttl_s\": 604801}", "session_ttl_s: expected"},
    {"{\"session_ttl_s\": \"8h\"}", "session_ttl_s: expected"},
    {"{\"tls\": \"cert.pem\"}", "tls: expected"},
    {"{\"tls\": {\"cert\": \"c.pem\"}}", "tls: needs both cert and key"},
    {"{\"tls\": {\"cert\": \"c.pem\", \"key\": \"\"}}", "tls.key: expected a file path"},
    {"{\"tls\": {\"cert\": \"c.pem\", \"key\": \"k.pem\", \"ca\": \"x\"}}", "tls.ca: unknown key"},
    {"{\"github\": {\"api_base_url\": \"ftp://x\"}}", "github.api_base_url: expected"},
    {"{\"github\": {\"token\": \"x\"}}", "github.token: unknown key"},
    {"{\"public_url\": \"airlock.example\"}", "public_url: expected"},
    {"{\"repos\": {\"r\": {\"path\": \"/tmp\", \"policy\": " POLICY ", \"github\": {\"repo\":"
     " \"octo\", \"secret_file\": \"s\", \"remote\": \"file:///x\"}}}}",
     "repos.r.github.repo: expected"},
    {"{\"repos\": {\"r\": {\"path\": \"/tmp\", \"policy\": " POLICY ", \"github\": {\"repo\":"
     " \"o/r\", \"secret_file\": \"s\"}}}}",
     "repos.r.github.remote: missing"},
    {"{\"listen\": \"127.0.0.1:1\", \"listen\": \"127.0.0.1:2\"}", "duplicate"},
    /* egress bundles: checked like rules, unknown ones refused, one name in one place */
    {"{\"egress_bundles\": {\"py\": [\"10.0.0.1\"]}}", "egress_bundles: egress.bundles.py[0]"},
    {"{\"egress_bundles\": []}", "egress_bundles: egress.bundles"},
    {"{\"repos\": {\"r\": {\"path\": \"/tmp\", \"policy\": " EGRESS_POLICY("@npm") "}}}",
     "repos.r.policy.egress.gate: egress.allow[0]: no bundle named \"npm\""},
    {"{\"egress_bundles\": {\"py\": [\"a.test\"]}, \"repos\": {\"r\": {\"path\": \"/tmp\", "
     "\"policy\": {\"reproduce\": {\"command\": [\"t\"]}, \"egress\": {\"gate\": "
     "{\"allow\": [\"@py\"], \"bundles\": {\"py\": [\"b.test\"]}}}}}}}",
     "repos.r.policy.egress.gate.bundles.py: also in egress_bundles"},
    {"{\"listen\": ", "line 1"},
    /* the environment cache */
    {"{\"cache\": \"/var/cache/airlock\"}", "cache: expected"},
    {"{\"cache\": {\"dir\": \"\"}}", "cache.dir: expected a directory path"},
    {"{\"cache\": {\"dir\": 5}}", "cache.dir: expected a directory path"},
    {"{\"cache\": {\"max_mb\": -1}}", "cache.max_mb: expected an integer 0..1073741824"},
    {"{\"cache\": {\"max_mb\": \"10G\"}}", "cache.max_mb: expected"},
    {"{\"cache\": {\"max_mb\": 1073741825}}", "cache.max_mb: expected"},
    {"{\"cache\": {\"size\": 5}}", "cache.size: unknown key"},
};

START_TEST(bad_config_names_the_key)
{
	struct al_config *c = NULL;
	struct al_err e = {0};
	const char *j = bad_cases[_i].json;

	ck_assert_int_lt(al_config_parse(j, strlen(j), "/", &c, &e), 0);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(e.msg, bad_cases[_i].want), "message '%s' lacks '%s'", e.msg,
		      bad_cases[_i].want);
}
END_TEST

/* The operator's bundles reach every repository's egress, and its digest. */
START_TEST(egress_bundles_are_shared)
{
	static const char j[] =
	    "{\"egress_bundles\": {\"py\": [\"pypi.test\", \"files.pypi.test\"]}, \"repos\": "
	    "{\"a\": {\"path\": \".\", \"policy\": " EGRESS_POLICY(
		"@py") "},"
		       " \"b\": {\"path\": \".\", \"policy\": " POLICY "}}}";
	struct al_config *c = NULL;
	struct al_err e = {0};
	char *canon;

	ck_assert_int_eq(al_config_parse(j, strlen(j), "/tmp", &c, &e), 0);
	canon = al_policy_canonical(al_config_repo(c, "a")->policy);
	ck_assert_ptr_nonnull(
	    strstr(canon, "\"bundles\":{\"py\":[\"pypi.test\",\"files.pypi.test\"]}"));
	free(canon);
	ck_assert_ptr_null(al_policy_egress(al_config_repo(c, "b")->policy, "gate"));
	al_config_free(c);
}
END_TEST

START_TEST(good_config_and_defaults)
{
	static const char j[] = "{\"listen\": \"127.0.0.1:9999\", \"data\": \"d\", \"workers\": 3,"
				" \"repos\": {\"ex\": {\"path\": \".\", \"policy\": " POLICY "}}}";
	struct al_config *c = NULL;
	struct al_err e = {0};

	ck_assert_int_eq(al_config_parse(j, strlen(j), "/tmp", &c, &e), 0);
	ck_assert_str_eq(c->listen, "127.0.0.1:9999");
	ck_assert_str_eq(c->data, "/tmp/d"); /* relative to the file's directory */
	ck_assert_uint_eq(c->workers, 3);
	ck_assert_uint_eq(c->max_body, AL_DEFAULT_MAX_BODY);
	ck_assert_int_eq(c->session_ttl_s, AL_DEFAULT_SESSION_TTL_S);
	ck_assert_ptr_null(c->tls_cert);
	ck_assert_ptr_nonnull(al_config_repo(c, "ex"));
	ck_assert_str_eq(al_config_repo(c, "ex")->path, "/tmp/.");
	ck_assert_ptr_null(al_config_repo(c, "other"));
	ck_assert_int_eq(c->limits.max_queued, 256);
	ck_assert_int_eq(c->limits.max_patch_bytes, 4 << 20);
	ck_assert_int_eq(c->limits.max_fail_to_pass, 64);
	ck_assert_int_eq(c->limits.header_timeout_s, 10);
	ck_assert_int_eq(c->limits.max_per_address, 0); /* a quarter of max_connections */
	al_config_free(c);
}
END_TEST

START_TEST(limits_are_read)
{
	static const char j[] = "{\"limits\": {\"max_patch_bytes\": 2048, \"max_fail_to_pass\": 3,"
				" \"max_queued\": 9, \"header_timeout_s\": 5,"
				" \"max_connections_per_address\": 128}}";
	struct al_config *c = NULL;
	struct al_err e = {0};

	ck_assert_int_eq(al_config_parse(j, strlen(j), "/tmp", &c, &e), 0);
	ck_assert_int_eq(c->limits.max_patch_bytes, 2048);
	ck_assert_int_eq(c->limits.max_fail_to_pass, 3);
	ck_assert_int_eq(c->limits.max_queued, 9);
	ck_assert_int_eq(c->limits.header_timeout_s, 5);
	ck_assert_int_eq(c->limits.max_per_address, 128);
	ck_assert_int_eq(c->limits.max_json_depth, 16); /* the rest keep their defaults */
	al_config_free(c);
}
END_TEST

START_TEST(tls_and_sessions)
{
	static const char j[] = "{\"session_ttl_s\": 600, \"tls\": {\"cert\": \"c.pem\","
				" \"key\": \"/etc/k.pem\"}}";
	struct al_config *c = NULL;
	struct al_err e = {0};

	ck_assert_int_eq(al_config_parse(j, strlen(j), "/srv", &c, &e), 0);
	ck_assert_int_eq(c->session_ttl_s, 600);
	ck_assert_str_eq(c->tls_cert, "/srv/c.pem"); /* relative to the file's directory */
	ck_assert_str_eq(c->tls_key, "/etc/k.pem");
	al_config_free(c);
}
END_TEST

START_TEST(embedded_defaults_and_overrides)
{
	struct al_config *c = NULL;
	struct al_err e = {0};

	ck_assert_int_eq(al_config_load(NULL, NULL, NULL, &c, &e), 0);
	ck_assert_str_eq(c->listen, AL_DEFAULT_LISTEN);
	ck_assert_ptr_nonnull(strstr(c->data, "/airlock-data"));
	ck_assert_int_eq(c->data[0], '/');
	ck_assert_uint_eq(c->n_repos, 0);
	al_config_free(c);
	ck_assert_int_eq(al_config_load(NULL, "127.0.0.1:1234", "/srv/x", &c, &e), 0);
	ck_assert_str_eq(c->listen, "127.0.0.1:1234");
	ck_assert_str_eq(c->data, "/srv/x");
	al_config_free(c);
	/* port 0: the kernel picks one, and the server tells which */
	ck_assert_int_eq(al_config_load(NULL, "127.0.0.1:0", NULL, &c, &e), 0);
	ck_assert_str_eq(c->listen, "127.0.0.1:0");
	al_config_free(c);
	c = NULL;
	ck_assert_int_lt(al_config_load(NULL, "nope", NULL, &c, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "--listen"));
}
END_TEST

START_TEST(cache_dir_and_cap)
{
	static const char j[] = "{\"cache\": {\"dir\": \"c\", \"max_mb\": 7}}";
	struct al_config *c = NULL;
	struct al_err e = {0};

	ck_assert_int_eq(al_config_parse(j, strlen(j), "/srv", &c, &e), 0);
	ck_assert_str_eq(c->cache_dir, "/srv/c"); /* relative to the file's directory */
	ck_assert_int_eq(c->cache_max_mb, 7);
	al_config_free(c);
	/* defaults: DATA/cache, 10 GiB */
	ck_assert_int_eq(al_config_load(NULL, NULL, "/srv/x", &c, &e), 0);
	ck_assert_str_eq(c->cache_dir, "/srv/x/cache");
	ck_assert_int_eq(c->cache_max_mb, AL_DEFAULT_CACHE_MAX_MB);
	al_config_free(c);
}
END_TEST

/* Runners keep the cache writable over what they hide: a cache holding the data directory
 * (its signing key), the configuration or a repository is refused. */
START_TEST(cache_holding_secrets_refused)
{
	static const char *const bad[] = {"/", "DIR", "DIR/data/.."};
	char dir[] = "/tmp/airlock-config-XXXXXX", path[256], text[512];
	struct al_config *c = NULL;
	struct al_err e = {0};
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/airlock.json", dir);
	for (size_t i = 0; i < AL_ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text),
			 "{\"data\": \"%s/data\", \"cache\": {\"dir\": \"%s\"}}", dir,
			 strncmp(bad[i], "DIR", 3) ? bad[i] : dir);
		if (!strncmp(bad[i], "DIR/", 4))
			snprintf(text, sizeof(text),
				 "{\"data\": \"%s/data\", \"cache\": {\"dir\": \"%s/data\"}}", dir,
				 dir);
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fputs(text, f);
		fclose(f);
		memset(&e, 0, sizeof(e));
		ck_assert_int_eq(al_config_load(path, NULL, NULL, &c, &e), -EINVAL);
		ck_assert_msg(strstr(e.msg, "cache.dir:") && strstr(e.msg, "runners must not"),
			      "%s", e.msg);
	}
	/* a repository below the cache: refused too */
	snprintf(text, sizeof(text), "%s/r", dir);
	ck_assert_int_eq(mkdir(text, 0700), 0);
	snprintf(text, sizeof(text),
		 "{\"data\": \"%s/data\", \"cache\": {\"dir\": \"%s/r\"}, \"repos\": {\"r\": "
		 "{\"path\": \"%s/r\", \"policy\": " POLICY "}}}",
		 dir, dir, dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(al_config_load(path, NULL, NULL, &c, &e), -EINVAL);
	ck_assert_msg(strstr(e.msg, "repository r"), "%s", e.msg);
	/* beside them: fine */
	snprintf(text, sizeof(text), "{\"data\": \"%s/data\", \"cache\": {\"dir\": \"%s/cache\"}}",
		 dir, dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(al_config_load(path, NULL, NULL, &c, &e), 0);
	al_config_free(c);
	al_rm_rf(dir);
}
END_TEST

START_TEST(missing_file_named)
{
	struct al_config *c = NULL;
	struct al_err e = {0};

	ck_assert_int_eq(al_config_load("/nonexistent/airlock.json", NULL, NULL, &c, &e), -ENOENT);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/airlock.json"));
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *t = tcase_create("parse");

	tcase_add_loop_test(t, bad_config_names_the_key, 0, (int)AL_ARRAY_SIZE(bad_cases));
	tcase_add_test(t, good_config_and_defaults);
	tcase_add_test(t, egress_bundles_are_shared);
	tcase_add_test(t, limits_are_read);
	tcase_add_test(t, embedded_defaults_and_overrides);
	tcase_add_test(t, tls_and_sessions);
	tcase_add_test(t, missing_file_named);
	tcase_add_test(t, cache_dir_and_cap);
	tcase_add_test(t, cache_holding_secrets_refused);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
