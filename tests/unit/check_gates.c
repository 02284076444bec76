/* gates/: policy parsing, globs, test ids, the patch header parser, static rules, plans
 * and verdicts.  The patch samples are real `git diff`, `git format-patch` and `diff -u`
 * output. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gates/gates.h"
#include "gates/internal.h"
#include "gates/judge.h"
#include "gates/quarantine.h"

#define WHERE "repos.example.policy"

static json_t *
load(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);

	ck_assert_msg(j != NULL, "bad test JSON: %s: %s", e.text, s);
	return j;
}

static struct al_policy *
policy(const char *s)
{
	struct al_err err = {0};
	struct al_policy *p = NULL;
	json_t *j = load(s);

	ck_assert_msg(al_policy_parse(j, WHERE, &p, &err) == 0, "%s", err.msg);
	json_decref(j);
	return p;
}

static void
assert_json(const json_t *got, const char *want)
{
	json_t *w = load(want);
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);

	ck_assert_msg(json_equal((json_t *)got, w), "got %s\nwant %s", g, want);
	free(g);
	json_decref(w);
}

static const json_t *
rule_of(const json_t *rules, const char *name)
{
	size_t i;
	json_t *r;

	json_array_foreach (rules, i, r)
		if (strcmp(json_string_value(json_object_get(r, "rule")), name) == 0)
			return r;
	ck_abort_msg("no rule %s", name);
	return NULL;
}

static void
assert_rule(const json_t *rules, const char *name, const char *result, const char *reason)
{
	const json_t *r = rule_of(rules, name);

	ck_assert_str_eq(json_string_value(json_object_get(r, "result")), result);
	if (reason)
		ck_assert_str_eq(json_string_value(json_object_get(r, "reason")), reason);
}

/* Every rule carries an "evidence" object, empty when there is nothing to point at. */
static void
assert_rules_have_evidence(const json_t *rules)
{
	size_t i;
	json_t *r;

	ck_assert_uint_gt(json_array_size(rules), 0);
	json_array_foreach (rules, i, r)
		ck_assert_msg(json_is_object(json_object_get(r, "evidence")),
			      "rule %s has no evidence",
			      json_string_value(json_object_get(r, "rule")));
}

/* ---- policy ---- */

/* The canonical form spells out every setting; these are the defaults. */
#define C_APPROVALS "{\"required\":0,\"reviewers\":[]}"
#define C_PROTECTED                                                                  \
	"[\".github/**\",\".gitlab-ci.yml\",\".airlock/**\",\"**/CODEOWNERS\",\"**/" \
	".gitattributes\","                                                          \
	"\".gitmodules\",\".lfsconfig\""
/* the default test_config_paths, without the closing bracket */
#define C_TEST_CONFIG_OPEN                                                                     \
	"[\"**/conftest.py\",\"**/pytest.ini\",\"**/tox.ini\",\"**/setup.cfg\",\"**/"          \
	"pyproject.toml\","                                                                    \
	"\"**/noxfile.py\",\"**/package.json\",\"**/jest.config.*\",\"**/vitest.config.*\","   \
	"\"**/vitest.workspace.*\",\"**/vite.config.*\",\"**/karma.conf.*\",\"**/.mocharc*\"," \
	"\"**/playwright.config.*\",\"**/Makefile\",\"**/GNUmakefile\",\"**/makefile\","       \
	"\"**/CMakeLists.txt\",\"**/CTestTestfile.cmake\",\"**/meson.build\",\"**/pom.xml\","  \
	"\"**/build.gradle\",\"**/build.gradle.kts\",\"**/.cargo/config\",\"**/.cargo/"        \
	"config.toml\","                                                                       \
	"\"**/.rspec\",\"**/phpunit.xml\",\"**/phpunit.xml.dist\""
#define C_TEST_CONFIG C_TEST_CONFIG_OPEN "]"
#define C_LIMITS(files, bytes, mem, out, pids, t) C_LIMITS_D(512, files, bytes, mem, out, pids, t)
#define C_LIMITS_D(disk, files, bytes, mem, out, pids, t)                                        \
	"{\"disk_mb\":" #disk ",\"max_files\":" #files ",\"max_patch_bytes\":" #bytes            \
	",\"memory_mb\":" #mem ",\"output_bytes\":" #out ",\"pids\":" #pids ",\"timeout_s\":" #t \
	"}"
#define C_LIMITS_T(t) C_LIMITS(200, 1048576, 1024, 1048576, 256, t)
#define C_TIER(auth, life, refs) \
	"{\"authority\":\"" auth "\",\"lifetime_s\":" #life ",\"refs\":[" refs "]}"
#define C_TIER_DEFAULT C_TIER("write", 86400, "\"refs/heads/airlock/*\"")
#define C_TIERS "{\"1\":" C_TIER_DEFAULT ",\"2\":" C_TIER_DEFAULT "}"
#define C_BRANCHES "[\"refs/heads/main\",\"refs/heads/master\"]"
/* rest: the keys between protected_paths and tiers, each followed by a comma */
#define CANON(binary, approvals, contract, pre, exec, limits, protected, rest, tiers)    \
	"{\"allow_binary\":" binary ",\"approvals\":" approvals                          \
	",\"auto_promote\":false,\"branches\":" C_BRANCHES ",\"contract\":" contract     \
	",\"contract_preexisting\":\"" pre "\",\"egress\":{},\"executable_paths\":" exec \
	",\"limits\":" limits                                                            \
	",\"protected_paths\":" protected ",\"regate_on_base_change\":false," rest       \
					  "\"tiers\":" tiers "}"
#define CANON_D(contract, limits, rest) \
	CANON("false", C_APPROVALS, contract, "allow", "[]", limits, C_PROTECTED "]", rest, C_TIERS)
#define C_UNIT "[{\"command\":[\"make\",\"check\"],\"name\":\"unit\"}]"
#define C_REPRO_T                                                                               \
	"\"reproduce\":{\"command\":[\"t\"],\"repeat\":1},\"test_config_paths\":" C_TEST_CONFIG \
	",\"test_paths\":[],"
#define P_REPRO_T "\"reproduce\":{\"command\":[\"t\"]}"

static const struct {
	const char *in;
	const char *canonical;
} policy_ok[] = {
    {"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\",\"check\"]}]}",
     CANON_D(C_UNIT, C_LIMITS_T(60), "\"test_config_paths\":" C_TEST_CONFIG ",\"test_paths\":[],")},
    /* the top-level timeout_s is still read, and shows up as limits.timeout_s */
    {"{\"reproduce\": {\"command\": [\"pytest\", \"-q\"]}, \"contract\": [{\"name\": \"unit\", "
     "\"command\": [\"make\",\"check\"]}], \"test_paths\": [\"tests/**\", \"**/test_*.c\"], "
     "\"timeout_s\": 120}",
     CANON_D(C_UNIT, C_LIMITS_T(120),
	     "\"reproduce\":{\"command\":[\"pytest\",\"-q\"],\"repeat\":1},\"test_config_"
	     "paths\":" C_TEST_CONFIG ",\"test_paths\":["
	     "\"tests/**\",\"**/test_*.c\"],")},
    {"{\"timeout_s\": 1, \"reproduce\": {\"command\": [\"t\"]}}",
     CANON_D("[]", C_LIMITS_T(1), C_REPRO_T)},
    {"{\"timeout_s\": 3600, \"reproduce\": {\"command\": [\"t\"]}, \"contract\": []}",
     CANON_D("[]", C_LIMITS_T(3600), C_REPRO_T)},
    {"{\"contract\":[{\"name\":\"a.B_c-9\",\"command\":[\"x\"]},{\"command\":[\"y\"],\"name\":"
     "\"b\"}], \"test_paths\": []}",
     CANON_D("[{\"command\":[\"x\"],\"name\":\"a.B_c-9\"},{\"command\":[\"y\"],\"name\":\"b\"}]",
	     C_LIMITS_T(60), "\"test_config_paths\":" C_TEST_CONFIG ",\"test_paths\":[],")},
    {"{\"reproduce\":{\"command\":[\"t\"]},\"allow_binary\":true,\"executable_paths\":["
     "\"bin/*\",\"**/*.sh\"],\"limits\":{\"max_patch_bytes\":1,\"max_files\":10000}}",
     CANON("true", C_APPROVALS, "[]", "allow", "[\"bin/*\",\"**/*.sh\"]",
	   C_LIMITS(10000, 1, 1024, 1048576, 256, 60), C_PROTECTED "]", C_REPRO_T, C_TIERS)},
    {"{\"reproduce\":{\"command\":[\"t\"]},\"limits\":{\"max_patch_bytes\":1073741824}}",
     CANON_D("[]", C_LIMITS(200, 1073741824, 1024, 1048576, 256, 60), C_REPRO_T)},
    {"{\"reproduce\":{\"command\":[\"t\"]},\"limits\":{}}",
     CANON_D("[]", C_LIMITS_T(60), C_REPRO_T)},
    /* limits.timeout_s is the new home of timeout_s */
    {"{" P_REPRO_T ",\"limits\":{\"timeout_s\":3600}}", CANON_D("[]", C_LIMITS_T(3600), C_REPRO_T)},
    {"{" P_REPRO_T ",\"limits\":{\"timeout_s\":1}}", CANON_D("[]", C_LIMITS_T(1), C_REPRO_T)},
    /* the sandbox limits at both ends of their ranges */
    {"{" P_REPRO_T ",\"limits\":{\"memory_mb\":16,\"pids\":8,\"output_bytes\":1024}}",
     CANON_D("[]", C_LIMITS(200, 1048576, 16, 1024, 8, 60), C_REPRO_T)},
    {"{" P_REPRO_T ",\"limits\":{\"memory_mb\":65536,\"pids\":65536,\"output_bytes\":67108864}}",
     CANON_D("[]", C_LIMITS(200, 1048576, 65536, 67108864, 65536, 60), C_REPRO_T)},
    {"{" P_REPRO_T ",\"limits\":{\"disk_mb\":1}}",
     CANON_D("[]", C_LIMITS_D(1, 200, 1048576, 1024, 1048576, 256, 60), C_REPRO_T)},
    {"{" P_REPRO_T ",\"limits\":{\"disk_mb\":65536}}",
     CANON_D("[]", C_LIMITS_D(65536, 200, 1048576, 1024, 1048576, 256, 60), C_REPRO_T)},
    /* contract_preexisting */
    {"{" P_REPRO_T ",\"contract_preexisting\":\"block\"}",
     CANON("false", C_APPROVALS, "[]", "block", "[]", C_LIMITS_T(60), C_PROTECTED "]", C_REPRO_T,
	   C_TIERS)},
    {"{" P_REPRO_T ",\"contract_preexisting\":\"allow\"}",
     CANON_D("[]", C_LIMITS_T(60), C_REPRO_T)},
    /* protected_paths: the operator's come after the defaults, which cannot be removed */
    {"{" P_REPRO_T ",\"protected_paths\":[\"Makefile\",\"deploy/**\"]}",
     CANON("false", C_APPROVALS, "[]", "allow", "[]", C_LIMITS_T(60),
	   C_PROTECTED ",\"Makefile\",\"deploy/**\"]", C_REPRO_T, C_TIERS)},
    {"{" P_REPRO_T ",\"protected_paths\":[]}", CANON_D("[]", C_LIMITS_T(60), C_REPRO_T)},
    /* approvals */
    {"{" P_REPRO_T ",\"approvals\":{\"required\":10,\"reviewers\":[\"bob\",\"carol.b-2_x\"]}}",
     CANON("false", "{\"required\":10,\"reviewers\":[\"bob\",\"carol.b-2_x\"]}", "[]", "allow",
	   "[]", C_LIMITS_T(60), C_PROTECTED "]", C_REPRO_T, C_TIERS)},
    {"{" P_REPRO_T ",\"approvals\":{\"required\":0}}", CANON_D("[]", C_LIMITS_T(60), C_REPRO_T)},
    {"{" P_REPRO_T ",\"approvals\":{\"reviewers\":[\"bob\"]}}",
     CANON("false", "{\"required\":0,\"reviewers\":[\"bob\"]}", "[]", "allow", "[]", C_LIMITS_T(60),
	   C_PROTECTED "]", C_REPRO_T, C_TIERS)},
    {"{" P_REPRO_T ",\"approvals\":{}}", CANON_D("[]", C_LIMITS_T(60), C_REPRO_T)},
    /* tiers */
    {"{" P_REPRO_T ",\"tiers\":{}}", CANON_D("[]", C_LIMITS_T(60), C_REPRO_T)},
    {"{" P_REPRO_T ",\"tiers\":{\"1\":{\"authority\":\"none\"},\"2\":{\"authority\":\"merge\","
     "\"refs\":[\"refs/heads/main\",\"refs/heads/release/*\"],\"lifetime_s\":60}}}",
     CANON("false", C_APPROVALS, "[]", "allow", "[]", C_LIMITS_T(60), C_PROTECTED "]", C_REPRO_T,
	   "{\"1\":" C_TIER("none", 86400, "") ",\"2\":" C_TIER(
	       "merge", 60, "\"refs/heads/main\",\"refs/heads/release/*\"") "}")},
    {"{" P_REPRO_T ",\"tiers\":{\"1\":{\"authority\":\"write\",\"refs\":[\"refs/heads/bots/*\"],"
     "\"lifetime_s\":2592000},\"2\":{\"authority\":\"none\",\"refs\":[]}}}",
     CANON("false", C_APPROVALS, "[]", "allow", "[]", C_LIMITS_T(60), C_PROTECTED "]", C_REPRO_T,
	   "{\"1\":" C_TIER("write", 2592000,
			    "\"refs/heads/bots/*\"") ",\"2\":" C_TIER("none", 86400, "") "}")},
    {"{" P_REPRO_T ",\"tiers\":{\"2\":{\"authority\":\"write\"}}}",
     CANON_D("[]", C_LIMITS_T(60), C_REPRO_T)},
    /* reports and judges appear only when set, so older policies keep their digest */
    {"{\"reproduce\":{\"command\":[\"t\"],\"report\":\"junit\"}}",
     CANON_D("[]", C_LIMITS_T(60),
	     "\"reproduce\":{\"command\":[\"t\"],\"repeat\":1,\"report\":\"junit\"},"
	     "\"test_config_paths\":" C_TEST_CONFIG ",\"test_paths\":[],")},
    {"{\"reproduce\":{\"command\":[\"t\"],\"report\":\"tap\",\"repeat\":2}}",
     CANON_D("[]", C_LIMITS_T(60),
	     "\"reproduce\":{\"command\":[\"t\"],\"repeat\":2,\"report\":\"tap\"},"
	     "\"test_config_paths\":" C_TEST_CONFIG ",\"test_paths\":[],")},
    {"{\"contract\":[{\"name\":\"u\",\"command\":[\"m\"],\"report\":\"tap\",\"judge\":"
     "\"exit_code\"},{\"name\":\"v\",\"command\":[\"n\"],\"report\":\"junit\"}]}",
     CANON_D("[{\"command\":[\"m\"],\"judge\":\"exit_code\",\"name\":\"u\",\"report\":\"tap\"},"
	     "{\"command\":[\"n\"],\"name\":\"v\",\"report\":\"junit\"}]",
	     C_LIMITS_T(60), "\"test_config_paths\":" C_TEST_CONFIG ",\"test_paths\":[],")},
    /* "tests" is the default judge: spelt out or not, one canonical form */
    {"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\",\"check\"],\"judge\":\"tests\"}]}",
     CANON_D(C_UNIT, C_LIMITS_T(60), "\"test_config_paths\":" C_TEST_CONFIG ",\"test_paths\":[],")},
    /* test_config_paths: the operator's after the defaults, a default given again kept once */
    {"{" P_REPRO_T ",\"test_config_paths\":[\"ci/run-tests.sh\",\"**/conftest.py\"]}",
     CANON_D("[]", C_LIMITS_T(60),
	     "\"reproduce\":{\"command\":[\"t\"],\"repeat\":1},\"test_config_"
	     "paths\":" C_TEST_CONFIG_OPEN ",\"ci/run-tests.sh\"],\"test_paths\":[],")},
    {"{" P_REPRO_T ",\"test_config_paths\":[]}", CANON_D("[]", C_LIMITS_T(60), C_REPRO_T)},
    /* protected: every .gitattributes is already a default */
    {"{" P_REPRO_T ",\"protected_paths\":[\"**/.gitattributes\",\"Makefile\"]}",
     CANON("false", C_APPROVALS, "[]", "allow", "[]", C_LIMITS_T(60), C_PROTECTED ",\"Makefile\"]",
	   C_REPRO_T, C_TIERS)},
    /* the default branches, spelt out */
    {"{" P_REPRO_T ",\"branches\":[\"refs/heads/main\",\"refs/heads/master\"]}",
     CANON_D("[]", C_LIMITS_T(60), C_REPRO_T)},
};

START_TEST(test_policy_ok)
{
	struct al_policy *p = policy(policy_ok[_i].in);
	char *c = al_policy_canonical(p);

	ck_assert_str_eq(c, policy_ok[_i].canonical);
	free(c);
	al_policy_free(p);
}
END_TEST

/* The canonical form is itself a policy with the same canonical form (the fuzz target
 * checks the same), so a stored digest can be recomputed from the stored policy. */
START_TEST(test_policy_roundtrip)
{
	struct al_policy *p = policy(policy_ok[_i].in), *again;
	char *c = al_policy_canonical(p), *c2;

	again = policy(c);
	c2 = al_policy_canonical(again);
	ck_assert_str_eq(c2, c);
	free(c);
	free(c2);
	al_policy_free(p);
	al_policy_free(again);
}
END_TEST

#define CONTRACT "\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}]"

static const struct {
	const char *in;
	const char *msg;
} policy_bad[] = {
    {"[]", WHERE ": expected an object"},
    {"{}", WHERE ": at least one of reproduce or contract is required"},
    {"{\"contract\": []}", WHERE ": at least one of reproduce or contract is required"},
    {"{\"reproduce\": {\"comand\": [\"x\"]}}", WHERE ".reproduce.comand: unknown key"},
    {"{\"reproduce\": {}}", WHERE ".reproduce.command: required key is missing"},
    {"{\"reproduce\": [\"x\"]}", WHERE ".reproduce: expected an object"},
    {"{\"reproduce\": {\"command\": []}}", WHERE ".reproduce.command: expected a non-empty array"},
    {"{\"reproduce\": {\"command\": \"make\"}}", WHERE ".reproduce.command: expected an array"},
    {"{\"reproduce\": {\"command\": [\"make\", \"\"]}}",
     WHERE ".reproduce.command[1]: expected a non-empty string"},
    {"{\"reproduce\": {\"command\": [\"a\\u0000b\"]}}",
     WHERE ".reproduce.command[0]: expected a non-empty string"},
    {"{\"contract\": "
     "[{\"name\":\"unit\",\"command\":[\"make\"]},{\"name\":\"lint\",\"command\":[1]}]}",
     WHERE ".contract[1].command[0]: expected a non-empty string"},
    {"{\"contract\": "
     "[{\"name\":\"unit\",\"command\":[\"a\"]},{\"name\":\"unit\",\"command\":[\"b\"]}]}",
     WHERE ".contract[1].name: duplicate contract name \"unit\""},
    {"{\"contract\": [{\"name\":\"a b\",\"command\":[\"x\"]}]}",
     WHERE ".contract[0].name: expected 1 to 64 characters from [A-Za-z0-9_.-]"},
    {"{\"contract\": [{\"name\":\"\",\"command\":[\"x\"]}]}",
     WHERE ".contract[0].name: expected 1 to 64 characters from [A-Za-z0-9_.-]"},
    {"{\"contract\": [{\"name\":\"a:b\",\"command\":[\"x\"]}]}",
     WHERE ".contract[0].name: expected 1 to 64 characters from [A-Za-z0-9_.-]"},
    {"{\"contract\": [{\"name\":7,\"command\":[\"x\"]}]}",
     WHERE ".contract[0].name: expected a string"},
    {"{\"contract\": [{\"command\":[\"x\"]}]}", WHERE ".contract[0].name: required key is missing"},
    {"{\"contract\": [{\"name\":\"u\",\"command\":[\"x\"],\"env\":{}}]}",
     WHERE ".contract[0].env: unknown key"},
    {"{\"contract\": {\"name\":\"u\"}}", WHERE ".contract: expected an array"},
    {"{\"contract\": [\"x\"]}", WHERE ".contract[0]: expected an object"},
    {"{\"reproduce\": {\"command\": [\"t\"], \"repeat\": 0}}",
     WHERE ".reproduce.repeat: expected an integer from 1 to 10"},
    {"{\"reproduce\": {\"command\": [\"t\"], \"repeat\": 11}}",
     WHERE ".reproduce.repeat: expected an integer from 1 to 10"},
    {"{\"reproduce\": {\"command\": [\"t\"], \"repeat\": \"3\"}}",
     WHERE ".reproduce.repeat: expected an integer"},
    {"{\"reproduce\": {\"command\": [\"t\"], \"repeat\": -1}}",
     WHERE ".reproduce.repeat: expected an integer from 1 to 10"},
    {"{" CONTRACT ", \"timeout_s\": 0}", WHERE ".timeout_s: expected an integer from 1 to 3600"},
    {"{" CONTRACT ", \"timeout_s\": 3601}", WHERE ".timeout_s: expected an integer from 1 to 3600"},
    {"{" CONTRACT ", \"timeout_s\": -5}", WHERE ".timeout_s: expected an integer from 1 to 3600"},
    {"{" CONTRACT ", \"timeout_s\": \"60\"}", WHERE ".timeout_s: expected an integer"},
    {"{" CONTRACT ", \"timeout_s\": 1.5}", WHERE ".timeout_s: expected an integer"},
    {"{" CONTRACT ", \"test_paths\": \"tests/**\"}", WHERE ".test_paths: expected an array"},
    {"{" CONTRACT ", \"test_paths\": [\"tests/**\", \"\"]}",
     WHERE ".test_paths[1]: expected a non-empty string"},
    {"{" CONTRACT ", \"test_paths\": [null]}", WHERE ".test_paths[0]: expected a non-empty string"},
    {"{" CONTRACT ", \"extra\": 1}", WHERE ".extra: unknown key"},
    /* egress: each rule the proxy would refuse, refused when the policy is read */
    {"{" CONTRACT ", \"egress\": []}", WHERE ".egress: expected an object"},
    {"{" CONTRACT ", \"egress\": {\"build\": {}}}",
     WHERE ".egress.build: unknown phase (want gate or setup)"},
    {"{" CONTRACT ", \"egress\": {\"setup\": {\"allow\": [\"a.test\"]}}}",
     WHERE ".egress.setup: there is no setup"},
    /* environment and setup */
    {"{" CONTRACT ", \"environment\": {}}", WHERE ".environment.image: required key is missing"},
    {"{" CONTRACT ", \"environment\": {\"image\": \"img\"}}",
     WHERE ".environment.image: expected an absolute path"},
    {"{" CONTRACT ", \"environment\": {\"image\": \"/srv/../etc\"}}",
     WHERE ".environment.image: expected a path without . or .. parts"},
    {"{" CONTRACT ", \"environment\": {\"image\": \"/srv/img/..\"}}",
     WHERE ".environment.image: expected a path without . or .. parts"},
    {"{" CONTRACT ", \"environment\": {\"image\": \"/./img\"}}",
     WHERE ".environment.image: expected a path without . or .. parts"},
    {"{" CONTRACT ", \"environment\": {\"image\": \"/i\", \"digest\": \"sha256:AB\"}}",
     WHERE ".environment.digest: expected sha256: and 64 lowercase hex digits"},
    {"{" CONTRACT ", \"environment\": {\"image\": \"/i\", \"pull\": true}}",
     WHERE ".environment.pull: unknown key"},
    {"{" CONTRACT ", \"setup\": {\"command\": [], \"keys\": []}}",
     WHERE ".setup.command: expected a non-empty array"},
    {"{" CONTRACT ", \"setup\": {\"command\": [\"npm\", \"ci\"]}}",
     WHERE ".setup.keys: required key is missing"},
    {"{" CONTRACT ", \"setup\": {\"command\": [\"npm\"], \"keys\": [\"../lock\"]}}",
     WHERE ".setup.keys[0]: has a '..' segment"},
    {"{" CONTRACT ", \"setup\": {\"command\": [\"npm\"], \"keys\": [\"/etc/passwd\"]}}",
     WHERE ".setup.keys[0]: is absolute"},
    {"{" CONTRACT ", \"setup\": {\"command\": [\"npm\"], \"keys\": [\"a\", \"a\"]}}",
     WHERE ".setup.keys[1]: given twice"},
    {"{" CONTRACT ", \"setup\": {\"command\": [\"npm\"], \"keys\": [],"
     " \"on_lockfile_change\": \"ignore\"}}",
     WHERE ".setup.on_lockfile_change: expected human, throwaway or reject"},
    {"{" CONTRACT ", \"setup\": {\"command\": [\"npm\"], \"keys\": [], \"timeout_s\": 0}}",
     WHERE ".setup.timeout_s: expected an integer from 1 to 3600"},
    {"{" CONTRACT ", \"egress\": {\"gate\": {\"allow\": [\"*\"]}}}",
     WHERE ".egress.gate: egress.allow[0]: \"*\" alone would allow every host"},
    {"{" CONTRACT ", \"egress\": {\"gate\": {\"allow\": [\"10.0.0.1\"]}}}",
     WHERE ".egress.gate: egress.allow[0]: not a host name: IPv4 literal"},
    {"{" CONTRACT ", \"egress\": {\"gate\": {\"allow\": [\"a.test\"], \"proxy\": 1}}}",
     WHERE ".egress.gate: egress: unknown key (want allow, deny, ports, bundles, tunnel, secrets, "
	   "caps)"},
    {"{" CONTRACT ", \"egress\": {\"gate\": {\"allow\": [\"a.test\"], \"test\": {}}}}",
     WHERE ".egress.gate: test: only for tests (AIRLOCK_EGRESS_TEST=1 is not set)"},
    {"{" CONTRACT ", \"egress\": {\"gate\": {\"allow\": [\"a.test\"], \"caps\": {\"bytes\": 0}}}}",
     WHERE ".egress.gate: caps.bytes: want an integer of 1..68719476736"},
    {"{" CONTRACT ", \"egress\": {\"gate\": {\"allow\": [\"a.test\"], \"secrets\": [{\"name\": "
     "\"T\", \"host\": \"a.test\", \"header\": \"Host\", \"file\": \"/t\"}]}}}",
     WHERE ".egress.gate: secrets.T.header: Host may not be set"},
    {"{" CONTRACT ", \"egress\": {\"gate\": {\"allow\": [\"a.test\"], \"secrets\": [{\"name\": "
     "\"T\", \"host\": \"b.test\", \"header\": \"X-T\", \"file\": \"/t\"}]}}}",
     WHERE ".egress.gate: secrets.host: b.test is not allowed (not listed)"},
    {"{" CONTRACT ", \"egress\": {\"gate\": {\"allow\": [\"a.test\"], \"tunnel\": [\"a.test\"], "
     "\"secrets\": [{\"name\": \"T\", \"host\": \"a.test\", \"header\": \"X-T\", \"file\": "
     "\"/t\"}]}}}",
     WHERE ".egress.gate: secrets.T: a.test is an opaque tunnel, nothing can be added"},
    {"{" CONTRACT ", \"egress\": {\"gate\": {\"allow\": [\"a.test\"], \"secrets\": [{\"name\": "
     "\"T\", \"host\": \"a.test\", \"header\": \"X-T\", \"file\": \"t\"}]}}}",
     WHERE ".egress.gate: secrets.T.file: want an absolute path"},
    {"{" CONTRACT ", \"a\\nb\": 1}", WHERE ".a?b: unknown key"},
    {"{" CONTRACT ", \"allow_binary\": 1}", WHERE ".allow_binary: expected a boolean"},
    {"{" CONTRACT ", \"allow_binary\": \"true\"}", WHERE ".allow_binary: expected a boolean"},
    {"{" CONTRACT ", \"executable_paths\": \"bin/*\"}",
     WHERE ".executable_paths: expected an array"},
    {"{" CONTRACT ", \"executable_paths\": [\"bin/*\", 3]}",
     WHERE ".executable_paths[1]: expected a non-empty string"},
    {"{" CONTRACT ", \"executable_paths\": [\"\"]}",
     WHERE ".executable_paths[0]: expected a non-empty string"},
    {"{" CONTRACT ", \"limits\": []}", WHERE ".limits: expected an object"},
    {"{" CONTRACT ", \"limits\": {\"max_lines\": 5}}", WHERE ".limits.max_lines: unknown key"},
    {"{" CONTRACT ", \"limits\": {\"max_files\": \"5\"}}",
     WHERE ".limits.max_files: expected an integer"},
    {"{" CONTRACT ", \"limits\": {\"max_files\": 0}}",
     WHERE ".limits.max_files: expected an integer from 1 to 10000"},
    {"{" CONTRACT ", \"limits\": {\"max_files\": 10001}}",
     WHERE ".limits.max_files: expected an integer from 1 to 10000"},
    {"{" CONTRACT ", \"limits\": {\"max_patch_bytes\": -1}}",
     WHERE ".limits.max_patch_bytes: expected an integer from 1 to 1073741824"},
    {"{" CONTRACT ", \"limits\": {\"max_patch_bytes\": 1073741825}}",
     WHERE ".limits.max_patch_bytes: expected an integer from 1 to 1073741824"},
    {"{" CONTRACT ", \"limits\": {\"max_patch_bytes\": 2.5}}",
     WHERE ".limits.max_patch_bytes: expected an integer"},
    /* limits.timeout_s, memory_mb, pids, output_bytes */
    {"{" CONTRACT ", \"limits\": {\"timeout_s\": 0}}",
     WHERE ".limits.timeout_s: expected an integer from 1 to 3600"},
    {"{" CONTRACT ", \"limits\": {\"timeout_s\": 3601}}",
     WHERE ".limits.timeout_s: expected an integer from 1 to 3600"},
    {"{" CONTRACT ", \"limits\": {\"timeout_s\": \"60\"}}",
     WHERE ".limits.timeout_s: expected an integer"},
    {"{" CONTRACT ", \"limits\": {\"memory_mb\": 15}}",
     WHERE ".limits.memory_mb: expected an integer from 16 to 65536"},
    {"{" CONTRACT ", \"limits\": {\"memory_mb\": 65537}}",
     WHERE ".limits.memory_mb: expected an integer from 16 to 65536"},
    {"{" CONTRACT ", \"limits\": {\"memory_mb\": 1.5}}",
     WHERE ".limits.memory_mb: expected an integer"},
    {"{" CONTRACT ", \"limits\": {\"disk_mb\": 0}}",
     WHERE ".limits.disk_mb: expected an integer from 1 to 65536"},
    {"{" CONTRACT ", \"limits\": {\"disk_mb\": 65537}}",
     WHERE ".limits.disk_mb: expected an integer from 1 to 65536"},
    {"{" CONTRACT ", \"limits\": {\"disk_mb\": \"512\"}}",
     WHERE ".limits.disk_mb: expected an integer"},
    {"{" CONTRACT ", \"limits\": {\"pids\": 7}}",
     WHERE ".limits.pids: expected an integer from 8 to 65536"},
    {"{" CONTRACT ", \"limits\": {\"pids\": 65537}}",
     WHERE ".limits.pids: expected an integer from 8 to 65536"},
    {"{" CONTRACT ", \"limits\": {\"pids\": -1}}",
     WHERE ".limits.pids: expected an integer from 8 to 65536"},
    {"{" CONTRACT ", \"limits\": {\"output_bytes\": 1023}}",
     WHERE ".limits.output_bytes: expected an integer from 1024 to 67108864"},
    {"{" CONTRACT ", \"limits\": {\"output_bytes\": 67108865}}",
     WHERE ".limits.output_bytes: expected an integer from 1024 to 67108864"},
    {"{" CONTRACT ", \"limits\": {\"output_bytes\": null}}",
     WHERE ".limits.output_bytes: expected an integer"},
    /* contract_preexisting */
    {"{" CONTRACT ", \"contract_preexisting\": \"warn\"}",
     WHERE ".contract_preexisting: expected \"allow\" or \"block\""},
    {"{" CONTRACT ", \"contract_preexisting\": \"Block\"}",
     WHERE ".contract_preexisting: expected \"allow\" or \"block\""},
    {"{" CONTRACT ", \"contract_preexisting\": \"\"}",
     WHERE ".contract_preexisting: expected \"allow\" or \"block\""},
    {"{" CONTRACT ", \"contract_preexisting\": true}",
     WHERE ".contract_preexisting: expected a string"},
    /* protected_paths */
    {"{" CONTRACT ", \"protected_paths\": \"Makefile\"}",
     WHERE ".protected_paths: expected an array"},
    {"{" CONTRACT ", \"protected_paths\": [\"Makefile\", \"\"]}",
     WHERE ".protected_paths[1]: expected a non-empty string"},
    {"{" CONTRACT ", \"protected_paths\": [{}]}",
     WHERE ".protected_paths[0]: expected a non-empty string"},
    /* approvals */
    {"{" CONTRACT ", \"approvals\": 1}", WHERE ".approvals: expected an object"},
    {"{" CONTRACT ", \"approvals\": {\"min\": 1}}", WHERE ".approvals.min: unknown key"},
    {"{" CONTRACT ", \"approvals\": {\"required\": -1}}",
     WHERE ".approvals.required: expected an integer from 0 to 10"},
    {"{" CONTRACT ", \"approvals\": {\"required\": 11}}",
     WHERE ".approvals.required: expected an integer from 0 to 10"},
    {"{" CONTRACT ", \"approvals\": {\"required\": \"1\"}}",
     WHERE ".approvals.required: expected an integer"},
    {"{" CONTRACT ", \"approvals\": {\"reviewers\": \"bob\"}}",
     WHERE ".approvals.reviewers: expected an array"},
    {"{" CONTRACT ", \"approvals\": {\"reviewers\": [\"a b\"]}}",
     WHERE ".approvals.reviewers[0]: expected a token name of 1 to 64 characters from "
	   "[A-Za-z0-9_.-]"},
    {"{" CONTRACT ", \"approvals\": {\"reviewers\": [\"bob\", \"\"]}}",
     WHERE ".approvals.reviewers[1]: expected a token name of 1 to 64 characters from "
	   "[A-Za-z0-9_.-]"},
    {"{" CONTRACT ", \"approvals\": {\"reviewers\": [7]}}",
     WHERE ".approvals.reviewers[0]: expected a token name of 1 to 64 characters from "
	   "[A-Za-z0-9_.-]"},
    {"{" CONTRACT ", \"approvals\": {\"reviewers\": [\"bob\\u0000x\"]}}",
     WHERE ".approvals.reviewers[0]: expected a token name of 1 to 64 characters from "
	   "[A-Za-z0-9_.-]"},
    /* tiers */
    {"{" CONTRACT ", \"tiers\": []}", WHERE ".tiers: expected an object"},
    {"{" CONTRACT ", \"tiers\": {\"3\": {\"authority\": \"none\"}}}",
     WHERE ".tiers.3: unknown tier (tiers are \"1\" and \"2\")"},
    {"{" CONTRACT ", \"tiers\": {\"0\": {\"authority\": \"none\"}}}",
     WHERE ".tiers.0: unknown tier (tiers are \"1\" and \"2\")"},
    {"{" CONTRACT ", \"tiers\": {\"12\": {\"authority\": \"none\"}}}",
     WHERE ".tiers.12: unknown tier (tiers are \"1\" and \"2\")"},
    {"{" CONTRACT ", \"tiers\": {\"1\": \"write\"}}", WHERE ".tiers.1: expected an object"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {}}}", WHERE ".tiers.1.authority: required key is missing"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"admin\"}}}",
     WHERE ".tiers.1.authority: expected \"none\", \"write\" or \"merge\""},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": 2}}}",
     WHERE ".tiers.1.authority: expected a string"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"none\", \"ttl\": 5}}}",
     WHERE ".tiers.1.ttl: unknown key"},
    {"{" CONTRACT ", \"tiers\": {\"2\": {\"authority\": \"merge\"}}}",
     WHERE ".tiers.2.refs: merge needs the refs it may merge into"},
    {"{" CONTRACT ", \"tiers\": {\"2\": {\"authority\": \"merge\", \"refs\": []}}}",
     WHERE ".tiers.2.refs: merge needs the refs it may merge into"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"none\", \"refs\": "
     "[\"refs/heads/main\"]}}}",
     WHERE ".tiers.1.refs: authority none covers no ref"},
    {"{" CONTRACT ", \"tiers\": {\"2\": {\"authority\": \"merge\", \"refs\": [\"main\"]}}}",
     WHERE ".tiers.2.refs[0]: expected a ref name under refs/ (globs allowed)"},
    {"{" CONTRACT ", \"tiers\": {\"2\": {\"authority\": \"merge\", \"refs\": "
     "[\"refs/heads/main\", \"refs/heads/../tags/v1\"]}}}",
     WHERE ".tiers.2.refs[1]: expected a ref name under refs/ (globs allowed)"},
    {"{" CONTRACT ", \"tiers\": {\"2\": {\"authority\": \"merge\", \"refs\": "
     "[\"refs/heads/ma in\"]}}}",
     WHERE ".tiers.2.refs[0]: expected a ref name under refs/ (globs allowed)"},
    {"{" CONTRACT ", \"tiers\": {\"2\": {\"authority\": \"merge\", \"refs\": "
     "[\"refs/heads/main@{1}\"]}}}",
     WHERE ".tiers.2.refs[0]: expected a ref name under refs/ (globs allowed)"},
    {"{" CONTRACT ", \"tiers\": {\"2\": {\"authority\": \"merge\", \"refs\": [\"refs/heads/\"]}}}",
     WHERE ".tiers.2.refs[0]: expected a ref name under refs/ (globs allowed)"},
    {"{" CONTRACT ", \"tiers\": {\"2\": {\"authority\": \"merge\", \"refs\": [5]}}}",
     WHERE ".tiers.2.refs[0]: expected a ref name under refs/ (globs allowed)"},
    /* write: exactly one pattern whose only wildcard is a last "*" segment */
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"write\", \"refs\": "
     "[\"refs/heads/a/*\", \"refs/heads/b/*\"]}}}",
     WHERE ".tiers.1.refs: write takes one pattern ending in \"/*\" (the proposal id), such as "
	   "refs/heads/airlock/*"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"write\", \"refs\": []}}}",
     WHERE ".tiers.1.refs: write takes one pattern ending in \"/*\" (the proposal id), such as "
	   "refs/heads/airlock/*"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"write\", \"refs\": "
     "[\"refs/heads/main\"]}}}",
     WHERE ".tiers.1.refs: write takes one pattern ending in \"/*\" (the proposal id), such as "
	   "refs/heads/airlock/*"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"write\", \"refs\": "
     "[\"refs/heads/ai*\"]}}}",
     WHERE ".tiers.1.refs: write takes one pattern ending in \"/*\" (the proposal id), such as "
	   "refs/heads/airlock/*"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"write\", \"refs\": "
     "[\"refs/heads/*/x/*\"]}}}",
     WHERE ".tiers.1.refs: write takes one pattern ending in \"/*\" (the proposal id), such as "
	   "refs/heads/airlock/*"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"write\", \"refs\": "
     "[\"refs/heads/a?/*\"]}}}",
     WHERE ".tiers.1.refs: write takes one pattern ending in \"/*\" (the proposal id), such as "
	   "refs/heads/airlock/*"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"write\", \"refs\": "
     "[\"refs/heads/**\"]}}}",
     WHERE ".tiers.1.refs: write takes one pattern ending in \"/*\" (the proposal id), such as "
	   "refs/heads/airlock/*"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"write\", \"refs\": [\"refs/*\"]}}}",
     WHERE ".tiers.1.refs: write takes one pattern ending in \"/*\" (the proposal id), such as "
	   "refs/heads/airlock/*"},
    {"{" CONTRACT ", \"tiers\": {\"1\": {\"authority\": \"none\", \"lifetime_s\": 59}}}",
     WHERE ".tiers.1.lifetime_s: expected an integer from 60 to 2592000"},
    {"{" CONTRACT ", \"tiers\": {\"2\": {\"authority\": \"write\", \"lifetime_s\": 2592001}}}",
     WHERE ".tiers.2.lifetime_s: expected an integer from 60 to 2592000"},
    {"{" CONTRACT ", \"tiers\": {\"2\": {\"authority\": \"write\", \"lifetime_s\": \"1h\"}}}",
     WHERE ".tiers.2.lifetime_s: expected an integer"},
    /* test_config_paths */
    {"{" CONTRACT ", \"test_config_paths\": \"conftest.py\"}",
     WHERE ".test_config_paths: expected an array"},
    {"{" CONTRACT ", \"test_config_paths\": [\"ci/x\", \"\"]}",
     WHERE ".test_config_paths[1]: expected a non-empty string"},
    {"{" CONTRACT ", \"test_config_paths\": [false]}",
     WHERE ".test_config_paths[0]: expected a non-empty string"},
    /* reports and judges */
    {"{\"reproduce\": {\"command\": [\"t\"], \"report\": \"xml\"}}",
     WHERE ".reproduce.report: expected \"junit\" or \"tap\""},
    {"{\"reproduce\": {\"command\": [\"t\"], \"report\": \"JUnit\"}}",
     WHERE ".reproduce.report: expected \"junit\" or \"tap\""},
    {"{\"reproduce\": {\"command\": [\"t\"], \"report\": true}}",
     WHERE ".reproduce.report: expected a string"},
    {"{\"contract\": [{\"name\":\"u\",\"command\":[\"x\"],\"report\":\"\"}]}",
     WHERE ".contract[0].report: expected \"junit\" or \"tap\""},
    {"{\"contract\": [{\"name\":\"u\",\"command\":[\"x\"],\"judge\":\"exit\"}]}",
     WHERE ".contract[0].judge: expected \"tests\" or \"exit_code\""},
    {"{\"contract\": [{\"name\":\"u\",\"command\":[\"x\"],\"judge\":null}]}",
     WHERE ".contract[0].judge: expected a string"},
    /* branches */
    {"{" CONTRACT ", \"branches\": \"refs/heads/main\"}", WHERE ".branches: expected an array"},
    {"{" CONTRACT ", \"branches\": []}", WHERE ".branches: expected 1 to 64 ref globs"},
    {"{" CONTRACT ", \"branches\": [\"main\"]}",
     WHERE ".branches[0]: expected a branch ref or glob under refs/heads/"},
    {"{" CONTRACT ", \"branches\": [\"refs/heads/main\", \"refs/tags/v1\"]}",
     WHERE ".branches[1]: expected a branch ref or glob under refs/heads/"},
    {"{" CONTRACT ", \"branches\": [\"refs/heads/../tags/v1\"]}",
     WHERE ".branches[0]: expected a branch ref or glob under refs/heads/"},
    {"{" CONTRACT ", \"branches\": [\"refs/heads/\"]}",
     WHERE ".branches[0]: expected a branch ref or glob under refs/heads/"},
    {"{" CONTRACT ", \"branches\": [7]}",
     WHERE ".branches[0]: expected a branch ref or glob under refs/heads/"},
};

START_TEST(test_policy_bad)
{
	struct al_err err = {0};
	struct al_policy *p = NULL;
	json_t *j = json_loads(policy_bad[_i].in, JSON_ALLOW_NUL, NULL);

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(al_policy_parse(j, WHERE, &p, &err), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(err.code, -EINVAL);
	ck_assert_str_eq(err.msg, policy_bad[_i].msg);
	json_decref(j);
}
END_TEST

/* Caps and defaults that are easier to build than to spell out. */
START_TEST(test_policy_caps)
{
	struct al_err err = {0};
	struct al_policy *p = NULL;
	json_t *j = load("{\"reproduce\": {\"command\": []}, \"test_paths\": []}");
	json_t *cmd = json_object_get(json_object_get(j, "reproduce"), "command");
	json_t *globs = json_object_get(j, "test_paths");
	char *long_arg = calloc(1, AL_POLICY_MAX_ARG_LEN + 2);
	int i;

	for (i = 0; i < 64; i++)
		json_array_append_new(cmd, json_string("x"));
	for (i = 0; i < 256; i++)
		json_array_append_new(globs, json_string("tests/**"));
	ck_assert_int_eq(al_policy_parse(j, WHERE, &p, &err), 0);
	ck_assert_uint_eq(al_policy_timeout_s(p), 60);
	al_policy_free(p);
	p = NULL;

	json_array_append_new(cmd, json_string("x"));
	ck_assert_int_eq(al_policy_parse(j, WHERE, &p, &err), -EINVAL);
	ck_assert_str_eq(err.msg, WHERE ".reproduce.command: more than 64 elements");
	json_array_remove(cmd, 64);

	memset(long_arg, 'a', AL_POLICY_MAX_ARG_LEN + 1);
	json_array_set_new(cmd, 3, json_string(long_arg));
	err.msg[0] = '\0';
	ck_assert_int_eq(al_policy_parse(j, WHERE, &p, &err), -EINVAL);
	ck_assert_str_eq(err.msg, WHERE ".reproduce.command[3]: longer than 4096 bytes");
	json_array_set_new(cmd, 3, json_string("x"));

	json_array_append_new(globs, json_string("x"));
	err.msg[0] = '\0';
	ck_assert_int_eq(al_policy_parse(j, NULL, &p, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "policy.test_paths: more than 256 globs");
	ck_assert_ptr_null(p);

	/* with no `where` the paths start at "policy", as the brief error texts read */
	json_decref(j);
	j = load("{\"contract\":[{\"name\":\"u\",\"command\":[\"m\"]}],\"tiers\":{\"2\":{"
		 "\"authority\":\"merge\"}}}");
	err.msg[0] = '\0';
	ck_assert_int_eq(al_policy_parse(j, NULL, &p, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "policy.tiers.2.refs: merge needs the refs it may merge into");
	ck_assert_ptr_null(p);

	al_policy_free(NULL);
	ck_assert_ptr_null(al_policy_canonical(NULL));
	free(long_arg);
	json_decref(j);
}
END_TEST

/* Which branches a base may come from: refs/heads/main and master unless the policy says. */
static const struct {
	const char *policy, *ref;
	bool branch;
} branches[] = {
    {"{" CONTRACT "}", "refs/heads/main", true},
    {"{" CONTRACT "}", "refs/heads/master", true},
    {"{" CONTRACT "}", "refs/heads/dev", false},
    {"{" CONTRACT "}", "main", false},
    {"{" CONTRACT "}", "refs/heads/main2", false},
    {"{" CONTRACT "}", "refs/tags/main", false},
    {"{" CONTRACT ", \"branches\": [\"refs/heads/release/*\"]}", "refs/heads/release/2.0", true},
    {"{" CONTRACT ", \"branches\": [\"refs/heads/release/*\"]}", "refs/heads/release/2/x", false},
    /* the policy's list replaces the default one */
    {"{" CONTRACT ", \"branches\": [\"refs/heads/release/*\"]}", "refs/heads/main", false},
    {"{" CONTRACT ", \"branches\": [\"refs/heads/**\"]}", "refs/heads/a/b", true},
    {"{" CONTRACT ", \"branches\": [\"refs/heads/**\"]}", "refs/tags/a", false},
};

START_TEST(test_policy_branches)
{
	struct al_policy *p = policy(branches[_i].policy);

	ck_assert_msg(al_policy_is_branch(p, branches[_i].ref) == branches[_i].branch, "%s",
		      branches[_i].ref);
	al_policy_free(p);
}
END_TEST

START_TEST(test_policy_branches_cap)
{
	struct al_err err = {0};
	struct al_policy *p = NULL;
	json_t *j = load("{" CONTRACT ", \"branches\": []}");
	json_t *b = json_object_get(j, "branches");
	char ref[64], *c;
	int i;

	for (i = 0; i < 64; i++) {
		snprintf(ref, sizeof(ref), "refs/heads/b%d", i);
		json_array_append_new(b, json_string(ref));
	}
	ck_assert_int_eq(al_policy_parse(j, WHERE, &p, &err), 0);
	c = al_policy_canonical(p);
	ck_assert_ptr_nonnull(strstr(c, "\"branches\":[\"refs/heads/b0\",\"refs/heads/b1\","));
	ck_assert(al_policy_is_branch(p, "refs/heads/b63"));
	ck_assert(!al_policy_is_branch(p, "refs/heads/main"));
	free(c);
	al_policy_free(p);
	p = NULL;
	json_array_append_new(b, json_string("refs/heads/b64"));
	ck_assert_int_eq(al_policy_parse(j, WHERE, &p, &err), -EINVAL);
	ck_assert_str_eq(err.msg, WHERE ".branches: expected 1 to 64 ref globs");
	ck_assert_ptr_null(p);
	json_decref(j);
}
END_TEST

/* Lists that start with defaults cap only the operator's globs, so that the canonical
 * form, defaults included, parses back to itself at the cap. */
START_TEST(test_policy_default_lists_cap)
{
	static const char *const keys[] = {"protected_paths", "test_config_paths"};
	struct al_err err = {0};
	char glob[32], *c, *c2;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		json_t *j = load("{" CONTRACT "}"), *globs = json_array(), *again;
		struct al_policy *p = NULL, *p2 = NULL;

		for (int i = 0; i < 256; i++) {
			snprintf(glob, sizeof(glob), "dir%d/**", i);
			json_array_append_new(globs, json_string(glob));
		}
		json_object_set(j, keys[k], globs);
		ck_assert_msg(al_policy_parse(j, WHERE, &p, &err) == 0, "%s", err.msg);
		c = al_policy_canonical(p);
		again = load(c);
		ck_assert_msg(al_policy_parse(again, WHERE, &p2, &err) == 0, "%s", err.msg);
		c2 = al_policy_canonical(p2);
		ck_assert_str_eq(c2, c);
		/* one more of the operator's own is too many */
		json_array_append_new(json_object_get(again, keys[k]), json_string("one/more"));
		al_policy_free(p2);
		p2 = NULL;
		ck_assert_int_eq(al_policy_parse(again, WHERE, &p2, &err), -EINVAL);
		ck_assert_ptr_null(p2);
		json_array_append_new(globs, json_string("x"));
		ck_assert_int_eq(al_policy_parse(j, WHERE, &p2, &err), -EINVAL);
		free(c);
		free(c2);
		json_decref(again);
		json_decref(globs);
		json_decref(j);
		al_policy_free(p);
	}
}
END_TEST

/* What each sandboxed command may use: the limits in the units the sandbox wants. */
static const struct {
	const char *in;
	struct al_run_limits want;
} run_limits[] = {
    {"{" CONTRACT "}", {60, 1024UL << 20, 256, 1048576, 512UL << 20}},
    {"{" CONTRACT ", \"timeout_s\": 90}", {90, 1024UL << 20, 256, 1048576, 512UL << 20}},
    {"{" CONTRACT ", \"limits\": {\"timeout_s\": 5, \"memory_mb\": 16, \"pids\": 8, "
     "\"output_bytes\": 1024, \"disk_mb\": 1}}",
     {5, 16UL << 20, 8, 1024, 1UL << 20}},
    {"{" CONTRACT ", \"limits\": {\"memory_mb\": 65536, \"pids\": 65536, \"output_bytes\": "
     "67108864, \"disk_mb\": 65536}}",
     {60, (size_t)65536 << 20, 65536, 67108864, (size_t)65536 << 20}},
};

START_TEST(test_policy_limits)
{
	struct al_policy *p = policy(run_limits[_i].in);
	struct al_run_limits got;

	memset(&got, 0xff, sizeof(got));
	al_policy_limits(p, &got);
	ck_assert_uint_eq(got.timeout_s, run_limits[_i].want.timeout_s);
	ck_assert_uint_eq(got.memory_bytes, run_limits[_i].want.memory_bytes);
	ck_assert_uint_eq(got.pids, run_limits[_i].want.pids);
	ck_assert_uint_eq(got.output_bytes, run_limits[_i].want.output_bytes);
	ck_assert_uint_eq(got.disk_bytes, run_limits[_i].want.disk_bytes);
	ck_assert_uint_eq(al_policy_timeout_s(p), run_limits[_i].want.timeout_s);
	al_policy_free(p);
}
END_TEST

/* ---- globs ---- */

static const struct {
	const char *glob, *path;
	int match;
} globs[] = {
    {"tests/**", "tests/a/b.c", 1},
    {"tests/**", "tests/x", 1},
    {"tests/**", "tests", 1},
    {"tests/**", "src/tests/x", 0},
    {"tests/**", "testsuite/x", 0},
    {"**/test_*.c", "test_a.c", 1},
    {"**/test_*.c", "a/b/test_a.c", 1},
    {"**/test_*.c", "a/b/test_a.h", 0},
    {"**/test_*.c", "a/test_/x.c", 0},
    {"**/test_*.c", "a/mytest_a.c", 0},
    {"**", "anything/at/all", 1},
    {"*", "top", 1},
    {"*", "a/b", 0},
    {"src/*.c", "src/x.c", 1},
    {"src/*.c", "src/a/x.c", 0},
    {"src/**/*.c", "src/x.c", 1},
    {"src/**/*.c", "src/a/b/x.c", 1},
    {"a/**/b/**/c", "a/x/b/y/z/c", 1},
    {"a/**/b/**/c", "a/b/c", 1},
    {"a/**/b/**/c", "a/x/c", 0},
    {"?.c", "a.c", 1},
    {"?.c", "ab.c", 0},
    {"?.c", "/.c", 0},
    {"?", "\xc3\xa9", 1},
    {"t?st/*", "test/x", 1},
    {"*_test.go", "x_test.go", 1},
    {"*_test.go", "x_test.go.orig", 0},
    {"a*b*c", "aXXbYYc", 1},
    {"a*b*c", "aXXbYY", 0},
    {"[ab].c", "[ab].c", 1},
    {"[ab].c", "a.c", 0},
    {"tests", "tests", 1},
    {"tests", "tests/x", 0},
    {"docs/**/*.md", "docs/README.md", 1},
    {"**/fixtures/**", "a/fixtures/b/c", 1},
    {"**/fixtures/**", "fixtures", 1},
    {"**/fixtures/**", "a/fixturesx/b", 0},
};

START_TEST(test_glob)
{
	ck_assert_msg(al_gates_glob_match(globs[_i].glob, globs[_i].path) == globs[_i].match,
		      "glob %s path %s want %d", globs[_i].glob, globs[_i].path, globs[_i].match);
}
END_TEST

/* ---- test ids ---- */

static const struct {
	const char *id;
	int valid;
} test_ids[] = {
    {"tests/test_a.py::test_x", 1},
    {"test_foo[param-1]", 1},
    {"a", 1},
    {"pkg.mod:Class.test", 1},
    {"x=1,y@2+3", 1},
    {"TestSuite/TestCase", 1},
    {"a-b", 1},
    {"", 0},
    {"-rf", 0},
    {"--help", 0},
    {"-", 0},
    {"a;b", 0},
    /* an inner space names a node, Jest or Mocha test; it is one argv element */
    {"a b", 1},
    {"clamp high", 1},
    {" a", 0},
    {"a ", 0},
    {"a\tb", 0},
    {"../etc/passwd", 0},
    {"a..b", 0},
    {"a\nb", 0},
    {"$(x)", 0},
    {"`x`", 0},
    {"a|b", 0},
    {"a'b", 0},
    {"a\"b", 0},
    {"a*b", 0},
    {"~root", 0},
    {"a\\b", 0},
    {"\xc3\xa9", 0},
};

START_TEST(test_test_id)
{
	ck_assert_msg(al_gates_test_id_valid(test_ids[_i].id) == test_ids[_i].valid, "id %s",
		      test_ids[_i].id);
}
END_TEST

START_TEST(test_test_id_length)
{
	char id[AL_TEST_ID_MAX + 2];

	memset(id, 'a', sizeof(id));
	id[AL_TEST_ID_MAX] = '\0';
	ck_assert_int_eq(al_gates_test_id_valid(id), 1);
	id[AL_TEST_ID_MAX] = 'a';
	id[AL_TEST_ID_MAX + 1] = '\0';
	ck_assert_int_eq(al_gates_test_id_valid(id), 0);
	ck_assert_int_eq(al_gates_test_id_valid(NULL), 0);
}
END_TEST

/* ---- patch parser ---- */

#define GIT_ADD                                          \
	"diff --git a/tests/test_a.c b/tests/test_a.c\n" \
	"new file mode 100644\n"                         \
	"index 0000000..3e75765\n"                       \
	"--- /dev/null\n"                                \
	"+++ b/tests/test_a.c\n"                         \
	"@@ -0,0 +1 @@\n"                                \
	"+new\n"

#define GIT_MODIFY                         \
	"diff --git a/src/x.c b/src/x.c\n" \
	"index de98044..7be73ce 100644\n"  \
	"--- a/src/x.c\n"                  \
	"+++ b/src/x.c\n"                  \
	"@@ -1,3 +1,3 @@\n"                \
	" a\n"                             \
	"-b\n"                             \
	"+B\n"                             \
	" c\n"

#define FILE_JSON(path, old, status, om, nm, bin)                              \
	"{\"path\":\"" path "\",\"old_path\":\"" old "\",\"status\":\"" status \
	"\",\"old_mode\":" #om ",\"new_mode\":" #nm ",\"binary\":" bin "}"

static const struct {
	const char *name, *patch, *want;
} patches[] = {
    {"add", GIT_ADD, "[" FILE_JSON("tests/test_a.c", "tests/test_a.c", "A", 0, 33188, "false") "]"},
    {"modify", GIT_MODIFY, "[" FILE_JSON("src/x.c", "src/x.c", "M", 33188, 33188, "false") "]"},
    {"delete",
     "diff --git a/gone.txt b/gone.txt\n"
     "deleted file mode 100644\n"
     "index abaddc0..0000000\n"
     "--- a/gone.txt\n"
     "+++ /dev/null\n"
     "@@ -1 +0,0 @@\n"
     "-del\n",
     "[" FILE_JSON("gone.txt", "gone.txt", "D", 33188, 0, "false") "]"},
    {"delete empty file",
     "diff --git a/e b/e\n"
     "deleted file mode 100755\n"
     "index e69de29..0000000\n",
     "[" FILE_JSON("e", "e", "D", 33261, 0, "false") "]"},
    {"rename with change",
     "diff --git a/src/old.c b/src/new.c\n"
     "similarity index 80%\n"
     "rename from src/old.c\n"
     "rename to src/new.c\n"
     "index 861f13f..af396e9 100644\n"
     "--- a/src/old.c\n"
     "+++ b/src/new.c\n"
     "@@ -2,4 +2,4 @@ int x;\n"
     " int y;\n"
     " int z;\n"
     " int w;\n"
     "-int v;\n"
     "+int V;\n",
     "[" FILE_JSON("src/new.c", "src/old.c", "R", 33188, 33188, "false") "]"},
    {"pure rename with spaces",
     "diff --git a/old name.txt b/new name.txt\n"
     "similarity index 100%\n"
     "rename from old name.txt\n"
     "rename to new name.txt\n",
     "[" FILE_JSON("new name.txt", "old name.txt", "R", 0, 0, "false") "]"},
    {"copy",
     "diff --git a/a.c b/b.c\n"
     "similarity index 100%\n"
     "copy from a.c\n"
     "copy to b.c\n",
     "[" FILE_JSON("b.c", "a.c", "C", 0, 0, "false") "]"},
    {"mode change",
     "diff --git a/mode.sh b/mode.sh\n"
     "old mode 100644\n"
     "new mode 100755\n",
     "[" FILE_JSON("mode.sh", "mode.sh", "M", 33188, 33261, "false") "]"},
    {"binary without --binary",
     "diff --git a/bin.dat b/bin.dat\n"
     "index 8352675..1592e5c 100644\n"
     "Binary files a/bin.dat and b/bin.dat differ\n",
     "[" FILE_JSON("bin.dat", "bin.dat", "M", 33188, 33188, "true") "]"},
    {"git binary patch",
     "diff --git a/bin.dat b/bin.dat\n"
     "index 8352675d67aed6625ece79af41c27fdb4ee2e867..1592e5c60f1a460928916dc5681fee1a9bd10868 "
     "100644\n"
     "GIT binary patch\n"
     "literal 3\n"
     "KcmZQzWCj2L2ml2D\n"
     "\n"
     "literal 3\n"
     "KcmZQzWC8#H2LJ>B\n"
     "\n" GIT_MODIFY,
     "[" FILE_JSON("bin.dat", "bin.dat", "M", 33188, 33188,
		   "true") "," FILE_JSON("src/x.c", "src/x.c", "M", 33188, 33188, "false") "]"},
    {"quoted path",
     "diff --git \"a/tab\\tname.txt\" \"b/tab\\tname.txt\"\n"
     "index bca70f3..73c52c3 100644\n"
     "--- \"a/tab\\tname.txt\"\n"
     "+++ \"b/tab\\tname.txt\"\n"
     "@@ -1 +1 @@\n"
     "-q\n"
     "+Q\n",
     "[" FILE_JSON("tab\\tname.txt", "tab\\tname.txt", "M", 33188, 33188, "false") "]"},
    {"quoted utf-8 path",
     "diff --git \"a/\\303\\251.txt\" \"b/\\303\\251.txt\"\n"
     "new file mode 100644\n"
     "index 0000000..c600332\n"
     "--- /dev/null\n"
     "+++ \"b/\\303\\251.txt\"\n"
     "@@ -0,0 +1 @@\n"
     "+\xc3\xa9\n",
     "[" FILE_JSON("\xc3\xa9.txt", "\xc3\xa9.txt", "A", 0, 33188, "false") "]"},
    {"quoted rename target",
     "diff --git a/plain.txt \"b/with\\\"quote.txt\"\n"
     "similarity index 100%\n"
     "rename from plain.txt\n"
     "rename to \"with\\\"quote.txt\"\n",
     "[" FILE_JSON("with\\\"quote.txt", "plain.txt", "R", 0, 0, "false") "]"},
    {"space in name",
     "diff --git a/sp ace.txt b/sp ace.txt\n"
     "index ce01362..3b18e51 100644\n"
     "--- a/sp ace.txt\t\n"
     "+++ b/sp ace.txt\t\n"
     "@@ -1 +1 @@\n"
     "-hello\n"
     "+hello world\n",
     "[" FILE_JSON("sp ace.txt", "sp ace.txt", "M", 33188, 33188, "false") "]"},
    {"symlink",
     "diff --git a/link b/link\n"
     "new file mode 120000\n"
     "index 0000000..100b938\n"
     "--- /dev/null\n"
     "+++ b/link\n"
     "@@ -0,0 +1 @@\n"
     "+README\n"
     "\\ No newline at end of file\n",
     "[" FILE_JSON("link", "link", "A", 0, 40960, "false") "]"},
    {"plain diff -u",
     "--- a/f.c\t2026-11-22 18:59:17.929337442 +0000\n"
     "+++ b/f.c\t2026-11-22 18:59:17.929337442 +0000\n"
     "@@ -1,2 +1,2 @@\n"
     " one\n"
     "-two\n"
     "+2\n",
     "[" FILE_JSON("f.c", "f.c", "M", 0, 0, "false") "]"},
    {"plain diff -u new and deleted files",
     "diff -ruN a/new.c b/new.c\n"
     "--- a/new.c\t1970-01-01 00:00:00.000000000 +0000\n"
     "+++ b/new.c\t2026-11-22 18:59:17.929337442 +0000\n"
     "@@ -0,0 +1 @@\n"
     "+x\n"
     "--- a/old.c\n"
     "+++ /dev/null\n"
     "@@ -1 +0,0 @@\n"
     "-y\n"
     "--- /dev/null\n"
     "+++ b/added.c\n"
     "@@ -0,0 +1 @@\n"
     "+z\n",
     "[" FILE_JSON("new.c", "new.c", "M", 0, 0, "false") "," FILE_JSON(
	 "old.c", "old.c", "D", 0, 0, "false") "," FILE_JSON("added.c", "added.c", "A", 0, 0,
							     "false") "]"},
    {"format-patch",
     "From 213a7009e8d3a0b59062f001c8534b9520a8e671 Mon Sep 17 00:00:00 2001\n"
     "From: Dev <dev@example.com>\n"
     "Date: Sun, 22 Nov 2026 18:59:17 +0000\n"
     "Subject: [PATCH] Add more to README\n"
     "\n"
     "--- not a header\n"
     "body\n"
     "---\n"
     " README | 1 +\n"
     " 1 file changed, 1 insertion(+)\n"
     "\n"
     "diff --git a/README b/README\n"
     "index 2fa992c..fe5841d 100644\n"
     "--- a/README\n"
     "+++ b/README\n"
     "@@ -1 +1,2 @@\n"
     " keep\n"
     "+more\n"
     "-- \n"
     "2.39.5\n"
     "\n",
     "[" FILE_JSON("README", "README", "M", 33188, 33188, "false") "]"},
    {"removed lines that look like headers",
     "diff --git a/notes.md b/notes.md\n"
     "index 1111111..2222222 100644\n"
     "--- a/notes.md\n"
     "+++ b/notes.md\n"
     "@@ -1,3 +1,3 @@\n"
     "--- a/evil\n"
     "+++ b/evil\n"
     " diff --git a/x b/x\n"
     "-@@ -1 +1 @@\n"
     "+ok\n",
     "[" FILE_JSON("notes.md", "notes.md", "M", 33188, 33188, "false") "]"},
    {"two files, crlf-free empty context line", GIT_MODIFY GIT_ADD,
     "[" FILE_JSON("src/x.c", "src/x.c", "M", 33188, 33188, "false") "," FILE_JSON(
	 "tests/test_a.c", "tests/test_a.c", "A", 0, 33188, "false") "]"},
    {"absolute path kept whole",
     "diff --git a//etc/passwd b//etc/passwd\n"
     "index 1111111..2222222 100644\n"
     "--- a//etc/passwd\n"
     "+++ b//etc/passwd\n"
     "@@ -1 +1 @@\n"
     "-root\n"
     "+toor\n"
     "--- /etc/shadow\n"
     "+++ /etc/shadow\n"
     "@@ -1 +1 @@\n"
     "-x\n"
     "+y\n",
     "[" FILE_JSON("/etc/passwd", "/etc/passwd", "M", 33188, 33188,
		   "false") "," FILE_JSON("/etc/shadow", "/etc/shadow", "M", 0, 0, "false") "]"},
};

START_TEST(test_patch_ok)
{
	struct al_err err = {0};
	json_t *files = NULL;
	int r = al_gates_patch_files(patches[_i].patch, strlen(patches[_i].patch), &files, &err);

	ck_assert_msg(r == 0, "%s: %s", patches[_i].name, err.msg);
	assert_json(files, patches[_i].want);
	json_decref(files);
}
END_TEST

static const struct {
	const char *patch, *msg;
} patches_bad[] = {
    {"", "no file changes found"},
    {"hello\nworld\n", "no file changes found"},
    {"---\n+++\n", "no file changes found"},
    {"@@ -1 +1 @@\n-a\n+b\n", "line 1: hunk without a file header"},
    {"diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n",
     "line 6: patch ends inside a hunk"},
    {"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\nfoo\n",
     "line 6: hunk is shorter than its header says"},
    {"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n-b\n+c\n",
     "line 6: hunk has more old lines than its header says"},
    {"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n+a\n+b\n-c\n",
     "line 6: hunk has more new lines than its header says"},
    {"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -x +1 @@\n", "line 4: malformed hunk header"},
    {"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1\n", "line 4: malformed hunk header"},
    {"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,9999999999 +1 @@\n",
     "line 4: malformed hunk header"},
    {"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -0,0 +0,0 @@\n", "line 4: empty hunk"},
    {"diff --git a/x b/x\n--- a/x\nfoo\n", "line 3: \"---\" line without a \"+++\" line"},
    {"diff --git \"a/x b/x\n", "line 1: unterminated quoted file name"},
    {"diff --git \"a/x\\q\" \"b/x\"\n", "line 1: bad escape in quoted file name"},
    {"diff --git \"a/x\\000\" \"b/x\"\n", "line 1: quoted file name contains a NUL byte"},
    {"diff --git \"a/\\377\" \"b/\\377\"\nindex 1..2 100644\n",
     "line 2: file name of the diff at line 1 is not valid UTF-8"},
    {"diff --git a/x b/y\nindex 1..2 100644\n",
     "line 2: cannot tell the file name of the diff at line 1"},
    {"diff --git a/x b/x\nindex 1..2 100644\n--- a/y\n+++ b/x\n",
     "line 3: inconsistent old file name"},
    {"diff --git a/x b/x\nrename from z\nrename to x\n", "line 2: inconsistent old file name"},
    {"diff --git a/x b/x\nold mode 10064x\n", "line 2: malformed file mode"},
    {"diff --git a/x b/x\nnew file mode 100644\ndeleted file mode 100644\n",
     "line 3: contradictory headers for the file at line 1"},
    {"--- x\n+++ x\n@@ -1 +1 @@\n-a\n+b\n", "line 1: file name has no a/ or b/ prefix"},
    {"--- /dev/null\n+++ /dev/null\n@@ -1 +1 @@\n-a\n+b\n",
     "line 5: contradictory headers for the file at line 1"},
    {"diff --git a/x b/x\nrename from \n", "line 2: empty old file name"},
};

START_TEST(test_patch_bad)
{
	struct al_err err = {0};
	json_t *files = NULL;
	const char *p = patches_bad[_i].patch;

	ck_assert_int_eq(al_gates_patch_files(p, strlen(p), &files, &err), -EBADMSG);
	ck_assert_ptr_null(files);
	ck_assert_str_eq(err.msg, patches_bad[_i].msg);
}
END_TEST

START_TEST(test_patch_limits)
{
	struct al_err err = {0};
	json_t *files = NULL;
	size_t n = AL_PATCH_MAX_LINE + 100, i;
	char *buf = malloc(64 * (AL_PATCH_MAX_FILES + 2));
	size_t len = 0;

	/* a NUL byte anywhere */
	ck_assert_int_eq(
	    al_gates_patch_files(GIT_ADD "\0x", sizeof(GIT_ADD "\0x") - 1, &files, &err), -EBADMSG);
	ck_assert_str_eq(err.msg, "patch contains a NUL byte at offset 143");

	/* an over-long line */
	memset(buf, 'a', n);
	err.msg[0] = '\0';
	ck_assert_int_eq(al_gates_patch_files(buf, n, &files, &err), -EBADMSG);
	ck_assert_str_eq(err.msg, "line 1: line is longer than 65536 bytes");

	/* too many files */
	for (i = 0; i <= AL_PATCH_MAX_FILES; i++)
		len += (size_t)snprintf(buf + len, 64,
					"diff --git a/f%zu b/f%zu\nnew file mode 100644\n", i, i);
	err.msg[0] = '\0';
	ck_assert_int_eq(al_gates_patch_files(buf, len, &files, &err), -EBADMSG);
	ck_assert_str_eq(err.msg, "line 20002: more than 10000 files");
	ck_assert_ptr_null(files);

	/* exactly the cap is fine */
	len = 0;
	for (i = 0; i < AL_PATCH_MAX_FILES; i++)
		len += (size_t)snprintf(buf + len, 64,
					"diff --git a/f%zu b/f%zu\nnew file mode 100644\n", i, i);
	ck_assert_int_eq(al_gates_patch_files(buf, len, &files, &err), 0);
	ck_assert_uint_eq(json_array_size(files), AL_PATCH_MAX_FILES);
	json_decref(files);

	ck_assert_int_eq(al_gates_patch_files(NULL, 5, &files, &err), -EINVAL);
	free(buf);
}
END_TEST

/* ---- static rules ---- */

#define STATIC_POLICY \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"test_paths\":[\"tests/**\",\"**/test_*.c\"]}"
#define DIFF(path)                                                                         \
	"diff --git a/" path " b/" path "\nindex 1..2 100644\n--- a/" path "\n+++ b/" path \
	"\n@@ -1 +1 @@\n-a\n+b\n"

#define ALLOW_BINARY_POLICY                                                  \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"test_paths\":[\"tests/" \
	"**\"],\"allow_binary\":"                                            \
	"true}"
#define EXEC_POLICY                                                                \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"test_paths\":[\"tests/**\"]," \
	"\"executable_paths\":[\"bin/**\",\"**/*.sh\"]}"
#define LIMITS_POLICY                                                                         \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"test_paths\":[\"tests/**\"],\"limits\":" \
	"{\"max_files\":2,\"max_patch_bytes\":300}}"
/* real `git diff` output for a symlink to /etc/passwd */
#define SYMLINK_PASSWD                   \
	"diff --git a/passwd b/passwd\n" \
	"new file mode 120000\n"         \
	"index 0000000..3594e94\n"       \
	"--- /dev/null\n"                \
	"+++ b/passwd\n"                 \
	"@@ -0,0 +1 @@\n"                \
	"+/etc/passwd\n"                 \
	"\\ No newline at end of file\n"
#define SUBMODULE_ADD                            \
	"diff --git a/vendor/lib b/vendor/lib\n" \
	"new file mode 160000\n"                 \
	"index 0000000..4b825dc\n"               \
	"--- /dev/null\n"                        \
	"+++ b/vendor/lib\n"                     \
	"@@ -0,0 +1 @@\n"                        \
	"+Subproject commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
#define BINARY_ADD                         \
	"diff --git a/img.png b/img.png\n" \
	"new file mode 100644\n"           \
	"index 0000000..8352675\n"         \
	"Binary files /dev/null and b/img.png differ\n"
#define BINARY_PATCH(path)                                                                    \
	"diff --git a/" path " b/" path "\nindex 8352675..1592e5c 100644\nGIT binary patch\n" \
	"literal 3\nKcmZQzWCj2L2ml2D\n\nliteral 3\nKcmZQzWC8#H2LJ>B\n\n"
#define EXEC_ADD(path)                                                                     \
	"diff --git a/" path " b/" path "\nnew file mode 100755\nindex 0000000..1a2b3c4\n" \
	"--- /dev/null\n+++ b/" path "\n@@ -0,0 +1 @@\n+#!/bin/sh\n"
#define MODE_ONLY(path) "diff --git a/" path " b/" path "\nold mode 100644\nnew mode 100755\n"
#define HUNK(path, hunk) \
	"diff --git a/" path " b/" path "\nindex 1..2 100644\n--- a/" path "\n+++ b/" path "\n" hunk

static const struct {
	const char *policy, *patch, *test_patch, *rule, *result, *reason;
} statics[] = {
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.parse", "SATISFIED",
     "patch and test patch parse"},
    {STATIC_POLICY, DIFF("src/x.c"), NULL, "static.parse", "SATISFIED", "patch parses"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.paths", "SATISFIED", NULL},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.patch_test_paths", "SATISFIED",
     "patch touches no test path"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.test_patch_paths", "SATISFIED",
     "test patch touches only test paths"},
    {STATIC_POLICY, DIFF("tests/x.c"), NULL, "static.patch_test_paths", "UNSATISFIED",
     "patch touches test path tests/x.c"},
    {STATIC_POLICY, DIFF("lib/test_y.c"), NULL, "static.patch_test_paths", "UNSATISFIED",
     "patch touches test path lib/test_y.c"},
    {STATIC_POLICY,
     "diff --git a/tests/a.c b/src/a.c\nsimilarity index 100%\nrename from tests/a.c\nrename to "
     "src/a.c\n",
     NULL, "static.patch_test_paths", "UNSATISFIED", "patch touches test path tests/a.c"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/t.c") DIFF("src/y.c"), "static.test_patch_paths",
     "UNSATISFIED", "test patch touches non-test path src/y.c"},
    {STATIC_POLICY, DIFF("src/x.c"), NULL, "static.test_patch_paths", "NOT_APPLICABLE",
     "no test patch"},
    {"{\"reproduce\":{\"command\":[\"pytest\"]}}", DIFF("tests/x.c"), DIFF("src/y.c"),
     "static.patch_test_paths", "NOT_APPLICABLE", "policy has no test_paths"},
    {"{\"reproduce\":{\"command\":[\"pytest\"]}}", DIFF("tests/x.c"), DIFF("src/y.c"),
     "static.test_patch_paths", "NOT_APPLICABLE", "policy has no test_paths"},
    {STATIC_POLICY, DIFF("../x"), NULL, "static.paths", "UNSATISFIED",
     "patch path ../x has a '..' segment"},
    {STATIC_POLICY, DIFF("/etc/passwd"), NULL, "static.paths", "UNSATISFIED",
     "patch path /etc/passwd is absolute"},
    {STATIC_POLICY, "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", NULL, "static.paths",
     "UNSATISFIED", "patch path /etc/passwd is absolute"},
    {STATIC_POLICY, DIFF(".git/config"), NULL, "static.paths", "UNSATISFIED",
     "patch path .git/config is inside .git"},
    /* a patch writing a git hook, which would run outside the sandbox */
    {STATIC_POLICY, EXEC_ADD(".git/hooks/pre-commit"), NULL, "static.paths", "UNSATISFIED",
     "patch path .git/hooks/pre-commit is inside .git"},
    {STATIC_POLICY, DIFF("../../etc/passwd"), NULL, "static.paths", "UNSATISFIED",
     "patch path ../../etc/passwd has a '..' segment"},
    {STATIC_POLICY, DIFF("src/../../x"), NULL, "static.paths", "UNSATISFIED",
     "patch path src/../../x has a '..' segment"},
    {STATIC_POLICY, DIFF(".GIT/hooks/x"), NULL, "static.paths", "UNSATISFIED",
     "patch path .GIT/hooks/x is inside .git"},
    {STATIC_POLICY, DIFF("sub/.Git/HEAD"), NULL, "static.paths", "UNSATISFIED",
     "patch path sub/.Git/HEAD is inside .git"},
    {STATIC_POLICY, DIFF("a/./b"), NULL, "static.paths", "UNSATISFIED",
     "patch path a/./b has a '.' segment"},
    {STATIC_POLICY, DIFF("a//b"), NULL, "static.paths", "UNSATISFIED",
     "patch path a//b has an empty segment"},
    {STATIC_POLICY, DIFF("a\\b"), NULL, "static.paths", "UNSATISFIED",
     "patch path a\\b contains a backslash"},
    {STATIC_POLICY, "diff --git \"a/x\\ty\" \"b/x\\ty\"\nindex 1..2 100644\n", NULL, "static.paths",
     "UNSATISFIED", "patch path x?y contains a control character"},
    {STATIC_POLICY,
     "diff --git a/ok.c b/.git/hooks/pre-commit\nsimilarity index 100%\nrename from ok.c\n"
     "rename to .git/hooks/pre-commit\n",
     NULL, "static.paths", "UNSATISFIED", "patch path .git/hooks/pre-commit is inside .git"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/../../x"), "static.paths", "UNSATISFIED",
     "test patch path tests/../../x has a '..' segment"},
    {STATIC_POLICY, "garbage\n", NULL, "static.parse", "UNSATISFIED",
     "patch: no file changes found"},
    {STATIC_POLICY, "garbage\n", NULL, "static.paths", "NOT_APPLICABLE",
     "not checked: a patch does not parse"},
    {STATIC_POLICY, DIFF("src/x.c"), "@@ -1 +1 @@\n", "static.parse", "UNSATISFIED",
     "test patch: line 1: hunk without a file header"},
    {STATIC_POLICY, DIFF("src/x.c"), "@@ -1 +1 @@\n", "static.test_patch_paths", "NOT_APPLICABLE",
     "not checked: a patch does not parse"},
    /* ---- static.symlinks ---- */
    {STATIC_POLICY, SYMLINK_PASSWD, NULL, "static.symlinks", "UNSATISFIED",
     "patch makes passwd a symlink"},
    {STATIC_POLICY, DIFF("src/x.c"),
     "diff --git a/tests/l b/tests/l\nindex 100b938..3594e94 120000\n"
     "--- a/tests/l\n+++ b/tests/l\n@@ -1 +1 @@\n-README\n\\ No newline at end of file\n"
     "+/etc/passwd\n\\ No newline at end of file\n",
     "static.symlinks", "UNSATISFIED", "test patch makes tests/l a symlink"},
    {STATIC_POLICY,
     "diff --git a/l b/l\ndeleted file mode 120000\nindex 100b938..0000000\n"
     "--- a/l\n+++ /dev/null\n@@ -1 +0,0 @@\n-README\n\\ No newline at end of file\n",
     NULL, "static.symlinks", "SATISFIED", "no symlink is created or changed"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.symlinks", "SATISFIED",
     "no symlink is created or changed"},
    /* ---- static.submodules ---- */
    {STATIC_POLICY, SUBMODULE_ADD, NULL, "static.submodules", "UNSATISFIED",
     "patch touches submodule vendor/lib"},
    {STATIC_POLICY,
     "diff --git a/vendor/lib b/vendor/lib\nindex 4b825dc..5b825dc 160000\n"
     "--- a/vendor/lib\n+++ b/vendor/lib\n@@ -1 +1 @@\n-Subproject commit 4b825dc\n"
     "+Subproject commit 5b825dc\n",
     NULL, "static.submodules", "UNSATISFIED", "patch touches submodule vendor/lib"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.submodules", "SATISFIED",
     "no submodule is touched"},
    /* ---- static.binary ---- */
    {STATIC_POLICY, BINARY_ADD, NULL, "static.binary", "UNSATISFIED",
     "patch has a binary change to img.png"},
    {STATIC_POLICY, DIFF("src/x.c"), BINARY_PATCH("tests/data.bin"), "static.binary", "UNSATISFIED",
     "test patch has a binary change to tests/data.bin"},
    {ALLOW_BINARY_POLICY, BINARY_ADD, NULL, "static.binary", "SATISFIED",
     "binary changes are allowed by policy"},
    {ALLOW_BINARY_POLICY, DIFF("src/x.c"), BINARY_PATCH("tests/data.bin"), "static.binary",
     "SATISFIED", "binary changes are allowed by policy"},
    {STATIC_POLICY, DIFF("src/x.c"), NULL, "static.binary", "SATISFIED", "no binary change"},
    /* ---- static.exec_bits ---- */
    {STATIC_POLICY, EXEC_ADD("bin/run.sh"), NULL, "static.exec_bits", "UNSATISFIED",
     "patch makes bin/run.sh executable outside executable_paths"},
    {EXEC_POLICY, EXEC_ADD("bin/run.sh"), NULL, "static.exec_bits", "SATISFIED",
     "no file gains the executable bit outside executable_paths"},
    {EXEC_POLICY, EXEC_ADD("src/run"), NULL, "static.exec_bits", "UNSATISFIED",
     "patch makes src/run executable outside executable_paths"},
    {EXEC_POLICY, "diff --git a/src/x.c b/src/x.c\nold mode 100644\nnew mode 100755\n", NULL,
     "static.exec_bits", "UNSATISFIED", "patch makes src/x.c executable outside executable_paths"},
    {STATIC_POLICY, "diff --git a/bin/x b/bin/x\nold mode 100755\nnew mode 100644\n", NULL,
     "static.exec_bits", "SATISFIED", NULL},
    {STATIC_POLICY,
     "diff --git a/x.sh b/x.sh\nindex 1..2 100755\n--- a/x.sh\n+++ b/x.sh\n"
     "@@ -1 +1 @@\n-a\n+b\n",
     NULL, "static.exec_bits", "SATISFIED", NULL},
    /* ---- static.limits ---- */
    {LIMITS_POLICY, DIFF("a.c") DIFF("b.c") DIFF("c.c"), NULL, "static.limits", "UNSATISFIED",
     "patch touches 3 files, over max_files 2"},
    {LIMITS_POLICY, DIFF("a.c") DIFF("b.c"), NULL, "static.limits", "SATISFIED",
     "within max_patch_bytes 300 and max_files 2"},
    {LIMITS_POLICY,
     DIFF("src/a_long_name_to_go_over_the_byte_limit_of_the_policy_here.c") DIFF("src/b.c"), NULL,
     "static.limits", "UNSATISFIED", "patch is 410 bytes, over max_patch_bytes 300"},
    {LIMITS_POLICY, DIFF("src/x.c"),
     DIFF("src/a_long_name_to_go_over_the_byte_limit_of_the_policy_here.c"), "static.limits",
     "UNSATISFIED", "test patch is 315 bytes, over max_patch_bytes 300"},
    {LIMITS_POLICY, DIFF("src/x.c"), MODE_ONLY("tests/a") MODE_ONLY("tests/b") MODE_ONLY("tests/c"),
     "static.limits", "UNSATISFIED", "test patch touches 3 files, over max_files 2"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.limits", "SATISFIED",
     "within max_patch_bytes 1048576 and max_files 200"},
    /* ---- static.nonempty ---- */
    {STATIC_POLICY,
     HUNK("src/x.c", "@@ -1,3 +1,4 @@\n-int  x;\n-\tf();\n+int x;\n+    f( );\n+\n z\n"), NULL,
     "static.nonempty", "UNSATISFIED", "patch changes only whitespace"},
    {STATIC_POLICY, HUNK("src/x.c", "@@ -1,2 +1,3 @@\n a\n+ \t\n b\n"), NULL, "static.nonempty",
     "UNSATISFIED", "patch changes only whitespace"},
    {STATIC_POLICY, "diff --git a/src/x.c b/src/x.c\nindex 1..2 100644\n", NULL, "static.nonempty",
     "UNSATISFIED", "patch has no hunks and no mode or rename changes"},
    {STATIC_POLICY, "", NULL, "static.nonempty", "NOT_APPLICABLE",
     "not checked: a patch does not parse"},
    {STATIC_POLICY, DIFF("src/x.c"), HUNK("tests/t.c", "@@ -1 +1 @@\n-x = 1;\n+x=1;\n"),
     "static.nonempty", "UNSATISFIED", "test patch changes only whitespace"},
    /* a moved line changes the order, not only whitespace */
    {STATIC_POLICY, HUNK("src/x.c", "@@ -1,3 +1,3 @@\n-free(p);\n use(p);\n+free(p);\n z\n"), NULL,
     "static.nonempty", "SATISFIED", "patch changes more than whitespace"},
    {STATIC_POLICY, HUNK("src/x.c", "@@ -1,2 +1,2 @@\n-a b\n-c\n+a  b\n+C\n"), NULL,
     "static.nonempty", "SATISFIED", "patch changes more than whitespace"},
    {STATIC_POLICY, "diff --git a/x.sh b/x.sh\nold mode 100644\nnew mode 100755\n", NULL,
     "static.nonempty", "SATISFIED", NULL},
    {STATIC_POLICY, "diff --git a/a b/b\nsimilarity index 100%\nrename from a\nrename to b\n", NULL,
     "static.nonempty", "SATISFIED", NULL},
    {STATIC_POLICY, "diff --git a/e b/e\nnew file mode 100644\nindex 0000000..e69de29\n", NULL,
     "static.nonempty", "SATISFIED", NULL},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.nonempty", "SATISFIED",
     "both patches change more than whitespace"},
    /* ---- static.test_adds_test ---- */
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.test_adds_test", "SATISFIED",
     "test patch adds lines to tests/test_x.c"},
    {STATIC_POLICY, DIFF("src/x.c"), HUNK("tests/t.c", "@@ -1,3 +1,1 @@\n a\n-b\n-c\n"),
     "static.test_adds_test", "UNSATISFIED", "test patch adds no test"},
    {STATIC_POLICY, DIFF("src/x.c"), HUNK("tests/t.c", "@@ -1 +1,3 @@\n a\n+\n+  \t\n"),
     "static.test_adds_test", "UNSATISFIED", "test patch adds no test"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("src/y.c"), "static.test_adds_test", "UNSATISFIED",
     "test patch adds no test"},
    {STATIC_POLICY, DIFF("src/x.c"), NULL, "static.test_adds_test", "NOT_APPLICABLE",
     "no test patch"},
    {"{\"reproduce\":{\"command\":[\"pytest\"]}}", DIFF("src/x.c"), DIFF("tests/t.c"),
     "static.test_adds_test", "NOT_APPLICABLE", "policy has no test_paths"},
    /* ---- static.secrets (more in test_secrets) ---- */
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.secrets", "SATISFIED",
     "no added line looks like a secret"},
};

START_TEST(test_static)
{
	struct al_policy *p = policy(statics[_i].policy);
	const char *tp = statics[_i].test_patch;
	struct al_err err = {0};
	json_t *rules = NULL;

	ck_assert_int_eq(al_gates_static(p, statics[_i].patch, strlen(statics[_i].patch), tp,
					 tp ? strlen(tp) : 0, &rules, &err),
			 0);
	ck_assert_uint_eq(json_array_size(rules), 12);
	assert_rule(rules, statics[_i].rule, statics[_i].result, statics[_i].reason);
	assert_rules_have_evidence(rules);
	json_decref(rules);
	al_policy_free(p);
}
END_TEST

/* Each secret kind on new-file line 12 of src/x.c (the hunk starts at +10 with a context
 * line and a changed line before it); the reason names file:line, never the secret.
 * Key-shaped strings are written split at "<>" and joined at run time, so that this file
 * holds no literal that looks like a live key to a secret scanner. */
#define SECRET_PATCH(line)                                                                  \
	"diff --git a/src/x.c b/src/x.c\nindex 1..2 100644\n--- a/src/x.c\n+++ b/src/x.c\n" \
	"@@ -10,3 +10,4 @@\n a\n-b\n+B\n+" line "\n c\n"
#define AT_X12 "{\"patch\":\"patch\",\"file\":\"src/x.c\",\"line\":12}"

static const struct {
	const char *patch, *secret, *reason, *evidence;
} secrets[] = {
    {SECRET_PATCH("-----BEGIN RSA PRIVATE<> KEY-----"), "BEGIN RSA",
     "secret-like private key in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("key = \"-----BEGIN EC PRIVATE<> KEY-----\""), "BEGIN EC",
     "secret-like private key in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("-----BEGIN OPENSSH PRIVATE<> KEY-----"), "OPENSSH",
     "secret-like private key in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("-----BEGIN DSA PRIVATE<> KEY-----"), "DSA",
     "secret-like private key in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("-----BEGIN PGP PRIVATE<> KEY BLOCK-----"), "PGP",
     "secret-like private key in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("-----BEGIN PRIVATE<> KEY-----"), "BEGIN",
     "secret-like private key in added line: src/x.c:12", AT_X12},
    /* an AWS-key-shaped string */
    {SECRET_PATCH("aws_key_id = AK<>IAIOSFODNN7EXAMPLE"), "IOSFODNN7EXAMPLE",
     "secret-like AWS access key id in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("AS<>IAIOSFODNN7EXAMPLE"), "IOSFODNN7EXAMPLE",
     "secret-like AWS access key id in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("gh = ghp<>_FAKEfake0000000000000000000000000000;"), "FAKEfake",
     "secret-like GitHub token in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("ghs<>_FAKEfake00000000000000000000000000000"), "FAKEfake",
     "secret-like GitHub token in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("github<>_pat_11FAKE0000000000_fakefake"), "11FAKE",
     "secret-like GitHub token in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("SLACK=xo<>xb-0000000000-FAKE"), "0000000000-FAKE",
     "secret-like Slack token in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("xo<>xp-FAKE-FAKE-FAKE"), "FAKE-FAKE",
     "secret-like Slack token in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("db_password = \"correct-horse-battery\""), "correct-horse",
     "secret-like credential assignment in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("\"API_KEY\": 'fake-fake-fake-fake'"), "fake-fake",
     "secret-like credential assignment in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("Token:\"0123456789abcdef\""), "0123456789abcdef",
     "secret-like credential assignment in added line: src/x.c:12", AT_X12},
    {SECRET_PATCH("secret='0123456789abcdef'"), "0123456789abcdef",
     "secret-like credential assignment in added line: src/x.c:12", AT_X12},
    /* a secret in the test patch is as bad */
    {DIFF("tests/t.c") "diff --git a/tests/k b/tests/k\nnew file mode 100644\nindex 0..1\n"
		       "--- /dev/null\n+++ b/tests/k\n@@ -0,0 +1,2 "
		       "@@\n+x\n+AK<>IAIOSFODNN7EXAMPLE\n",
     "IOSFODNN7EXAMPLE", "secret-like AWS access key id in added line: tests/k:2",
     "{\"patch\":\"test_patch\",\"file\":\"tests/k\",\"line\":2}"},
    /* not secrets: the rule must stay quiet */
    {SECRET_PATCH("password = \"short\""), NULL, NULL, NULL},
    {SECRET_PATCH("password = get_password(\"0123456789abcdef\")"), NULL, NULL, NULL},
    {SECRET_PATCH("if (token == \"0123456789abcdef01\")"), NULL, NULL, NULL},
    {SECRET_PATCH("password = \"0123456789abcdef"), NULL, NULL, NULL},
    {SECRET_PATCH("-----BEGIN PUBLIC KEY-----"), NULL, NULL, NULL},
    {SECRET_PATCH("-----BEGIN PRIVATE<> KEY"), NULL, NULL, NULL},
    {SECRET_PATCH("AK<>IAIOSFODNN7EXAMP"), NULL, NULL, NULL},
    {SECRET_PATCH("ghp_short"), NULL, NULL, NULL},
    {SECRET_PATCH("github_pat_short"), NULL, NULL, NULL},
    {SECRET_PATCH("xoxb-short"), NULL, NULL, NULL},
    {SECRET_PATCH("xoxz-0000000000-FAKE"), NULL, NULL, NULL},
    /* only added lines count, and a key-shaped file name is not a secret */
    {"diff --git a/src/x.c b/src/x.c\nindex 1..2 100644\n--- a/src/x.c\n+++ b/src/x.c\n"
     "@@ -1,2 +1,2 @@\n AK<>IAIOSFODNN7EXAMPLE\n-ghp<>_FAKEfake0000000000000000000000000000\n+x\n",
     NULL, NULL, NULL},
    {DIFF("AK<>IAIOSFODNN7EXAMPLE.txt"), NULL, NULL, NULL},
};

/* s with every "<>" taken out (a copy to free). */
static char *
joined(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	ck_assert_ptr_nonnull(out);
	while (*s) {
		if (s[0] == '<' && s[1] == '>')
			s += 2;
		else
			*o++ = *s++;
	}
	*o = '\0';
	return out;
}

START_TEST(test_secrets)
{
	struct al_policy *p = policy(STATIC_POLICY);
	char *text = joined(secrets[_i].patch), *dump;
	const char *patch = text, *tp = DIFF("tests/test_x.c");
	const json_t *rule;
	struct al_err err = {0};
	json_t *rules = NULL;

	ck_assert_ptr_null(strstr(text, "<>"));
	/* the test-patch case carries both texts in one string: split at the second file */
	if (strncmp(patch, "diff --git a/tests/t.c", 22) == 0) {
		tp = patch;
		patch = DIFF("src/x.c");
	}
	ck_assert_int_eq(al_gates_static(p, patch, strlen(patch), tp, strlen(tp), &rules, &err), 0);
	rule = rule_of(rules, "static.secrets");
	if (secrets[_i].reason) {
		assert_rule(rules, "static.secrets", "UNSATISFIED", secrets[_i].reason);
		assert_json(json_object_get(rule, "evidence"), secrets[_i].evidence);
		/* neither the reason nor the evidence nor any other rule quotes the secret */
		dump = json_dumps(rules, JSON_COMPACT);
		ck_assert_msg(strstr(dump, secrets[_i].secret) == NULL, "rules leak: %s", dump);
		free(dump);
	} else {
		assert_rule(rules, "static.secrets", "SATISFIED",
			    "no added line looks like a secret");
		assert_json(json_object_get(rule, "evidence"), "{}");
	}
	json_decref(rules);
	al_policy_free(p);
	free(text);
}
END_TEST

/* ---- plan ---- */

#define PLAN_POLICY                                                                          \
	"{\"reproduce\":{\"command\":[\"pytest\",\"-q\"]},\"contract\":[{\"name\":\"unit\"," \
	"\"command\":[\"make\",\"check\"]},{\"name\":\"lint\",\"command\":[\"make\",\"lint\"]}]}"
#define CONTRACT_POLICY "{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\",\"check\"]}]}"

START_TEST(test_plan_contents)
{
	struct al_policy *p = policy(PLAN_POLICY);
	json_t *ids = load("[\"t1\", \"tests/a.py::b[x-1]\"]"), *plan = NULL;
	struct al_err err = {0};

	ck_assert_int_eq(al_gates_plan(p, ids, &plan, &err), 0);
	assert_json(plan,
		    "[{\"id\":\"reproduce:t1:base\",\"rule\":\"reproduce\",\"test\":\"t1\","
		    "\"side\":\"base\",\"tree\":\"tested\",\"argv\":[\"pytest\",\"-q\",\"t1\"]},"
		    "{\"id\":\"reproduce:t1:candidate\",\"rule\":\"reproduce\",\"test\":\"t1\","
		    "\"side\":\"candidate\",\"tree\":\"candidate\","
		    "\"argv\":[\"pytest\",\"-q\",\"t1\"]},"
		    "{\"id\":\"reproduce:tests/a.py::b[x-1]:base\",\"rule\":\"reproduce\","
		    "\"test\":\"tests/a.py::b[x-1]\",\"side\":\"base\",\"tree\":\"tested\","
		    "\"argv\":[\"pytest\",\"-q\",\"tests/a.py::b[x-1]\"]},"
		    "{\"id\":\"reproduce:tests/a.py::b[x-1]:candidate\",\"rule\":\"reproduce\","
		    "\"test\":\"tests/a.py::b[x-1]\",\"side\":\"candidate\",\"tree\":\"candidate\","
		    "\"argv\":[\"pytest\",\"-q\",\"tests/a.py::b[x-1]\"]},"
		    "{\"id\":\"contract:unit:candidate\",\"rule\":\"contract\",\"name\":\"unit\","
		    "\"side\":\"candidate\",\"tree\":\"candidate\",\"argv\":[\"make\",\"check\"]},"
		    "{\"id\":\"contract:unit:base\",\"rule\":\"contract\",\"name\":\"unit\","
		    "\"side\":\"base\",\"tree\":\"base\",\"argv\":[\"make\",\"check\"]},"
		    "{\"id\":\"contract:lint:candidate\",\"rule\":\"contract\",\"name\":\"lint\","
		    "\"side\":\"candidate\",\"tree\":\"candidate\",\"argv\":[\"make\",\"lint\"]},"
		    "{\"id\":\"contract:lint:base\",\"rule\":\"contract\",\"name\":\"lint\","
		    "\"side\":\"base\",\"tree\":\"base\",\"argv\":[\"make\",\"lint\"]}]");
	json_decref(plan);
	json_decref(ids);
	al_policy_free(p);

	p = policy(CONTRACT_POLICY);
	ck_assert_int_eq(al_gates_plan(p, NULL, &plan, &err), 0);
	assert_json(plan, "[{\"id\":\"contract:unit:candidate\",\"rule\":\"contract\","
			  "\"name\":\"unit\",\"side\":\"candidate\",\"tree\":\"candidate\","
			  "\"argv\":[\"make\",\"check\"]},"
			  "{\"id\":\"contract:unit:base\",\"rule\":\"contract\","
			  "\"name\":\"unit\",\"side\":\"base\",\"tree\":\"base\","
			  "\"argv\":[\"make\",\"check\"]}]");
	json_decref(plan);
	al_policy_free(p);
}
END_TEST

/* A report format rides on the runs of the command that writes it, and only on those:
 * the reproduction's on both sides, each contract's on both of its own. */
START_TEST(test_plan_reports)
{
	struct al_policy *p =
	    policy("{\"reproduce\":{\"command\":[\"pytest\"],\"report\":\"junit\"},\"contract\":["
		   "{\"name\":\"unit\",\"command\":[\"make\"],\"report\":\"tap\"},"
		   "{\"name\":\"lint\",\"command\":[\"lint\"],\"judge\":\"exit_code\"}]}");
	json_t *ids = load("[\"t1\"]"), *plan = NULL;
	struct al_err err = {0};

	ck_assert_int_eq(al_gates_plan(p, ids, &plan, &err), 0);
	assert_json(plan,
		    "[{\"id\":\"reproduce:t1:base\",\"rule\":\"reproduce\",\"test\":\"t1\","
		    "\"side\":\"base\",\"tree\":\"tested\",\"report\":\"junit\","
		    "\"argv\":[\"pytest\",\"t1\"]},"
		    "{\"id\":\"reproduce:t1:candidate\",\"rule\":\"reproduce\",\"test\":\"t1\","
		    "\"side\":\"candidate\",\"tree\":\"candidate\",\"report\":\"junit\","
		    "\"argv\":[\"pytest\",\"t1\"]},"
		    "{\"id\":\"contract:unit:candidate\",\"rule\":\"contract\",\"name\":\"unit\","
		    "\"side\":\"candidate\",\"tree\":\"candidate\",\"report\":\"tap\","
		    "\"argv\":[\"make\"]},"
		    "{\"id\":\"contract:unit:base\",\"rule\":\"contract\",\"name\":\"unit\","
		    "\"side\":\"base\",\"tree\":\"base\",\"report\":\"tap\",\"argv\":[\"make\"]},"
		    "{\"id\":\"contract:lint:candidate\",\"rule\":\"contract\",\"name\":\"lint\","
		    "\"side\":\"candidate\",\"tree\":\"candidate\",\"argv\":[\"lint\"]},"
		    "{\"id\":\"contract:lint:base\",\"rule\":\"contract\",\"name\":\"lint\","
		    "\"side\":\"base\",\"tree\":\"base\",\"argv\":[\"lint\"]}]");
	json_decref(plan);
	json_decref(ids);
	al_policy_free(p);
}
END_TEST

#define REPEAT_RUN(side, tree, k)                                                         \
	"{\"id\":\"reproduce:t1:" side ":" k "\",\"rule\":\"reproduce\",\"test\":\"t1\"," \
	"\"side\":\"" side "\",\"tree\":\"" tree "\",\"argv\":[\"pytest\",\"t1\"]}"

#define REPEAT_SIDE(side, tree) \
	REPEAT_RUN(side, tree, "1") "," REPEAT_RUN(side, tree, "2") "," REPEAT_RUN(side, tree, "3")
static const char repeat_plan[] =
    "[" REPEAT_SIDE("base", "tested") "," REPEAT_SIDE("candidate", "candidate") "]";

/* A repeated test runs k times on each side, each run with its own id; once is the
 * plain id. */
START_TEST(test_plan_repeat)
{
	struct al_policy *p = policy("{\"reproduce\":{\"command\":[\"pytest\"],\"repeat\":3}}");
	json_t *ids = load("[\"t1\"]"), *plan = NULL;
	struct al_err err = {0};

	ck_assert_int_eq(al_gates_plan(p, ids, &plan, &err), 0);
	assert_json(plan, repeat_plan);
	json_decref(plan);
	al_policy_free(p);

	p = policy("{\"reproduce\":{\"command\":[\"pytest\"],\"repeat\":1}}");
	ck_assert_int_eq(al_gates_plan(p, ids, &plan, &err), 0);
	assert_json(plan, "[{\"id\":\"reproduce:t1:base\",\"rule\":\"reproduce\",\"test\":\"t1\","
			  "\"side\":\"base\",\"tree\":\"tested\",\"argv\":[\"pytest\",\"t1\"]},"
			  "{\"id\":\"reproduce:t1:candidate\",\"rule\":\"reproduce\","
			  "\"test\":\"t1\",\"side\":\"candidate\",\"tree\":\"candidate\","
			  "\"argv\":[\"pytest\",\"t1\"]}]");
	json_decref(plan);
	json_decref(ids);
	al_policy_free(p);
}
END_TEST

static const struct {
	const char *policy, *ids, *msg;
} plans_bad[] = {
    {PLAN_POLICY, "[]", "fail_to_pass: at least one test id is required by this policy"},
    {PLAN_POLICY, "null", "fail_to_pass: at least one test id is required by this policy"},
    {CONTRACT_POLICY, "[\"t1\"]",
     "fail_to_pass: this policy has no reproduce command to run tests"},
    {PLAN_POLICY, "[\"ok\", \"-rf\"]", "fail_to_pass[1]: invalid test id \"-rf\""},
    {PLAN_POLICY, "[\"--help\"]", "fail_to_pass[0]: invalid test id \"--help\""},
    {PLAN_POLICY, "[\"a;b\"]", "fail_to_pass[0]: invalid test id \"a;b\""},
    {PLAN_POLICY, "[\"a\\nb\"]", "fail_to_pass[0]: invalid test id \"a?b\""},
    {PLAN_POLICY, "[1]", "fail_to_pass[0]: expected a string"},
    {PLAN_POLICY, "[\"t\", \"t\"]", "fail_to_pass[1]: duplicate test id \"t\""},
    {PLAN_POLICY, "\"t\"", "fail_to_pass: expected an array of test ids"},
};

START_TEST(test_plan_bad)
{
	struct al_policy *p = policy(plans_bad[_i].policy);
	json_t *ids = load(plans_bad[_i].ids), *plan = NULL;
	struct al_err err = {0};

	ck_assert_int_eq(al_gates_plan(p, json_is_null(ids) ? NULL : ids, &plan, &err), -EINVAL);
	ck_assert_ptr_null(plan);
	ck_assert_str_eq(err.msg, plans_bad[_i].msg);
	json_decref(ids);
	al_policy_free(p);
}
END_TEST

/* ---- evaluate ---- */

#define EVAL_POLICY                                                                   \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"contract\":[{\"name\":\"unit\"," \
	"\"command\":[\"make\",\"check\"]}],\"test_paths\":[\"tests/**\"]}"
#define T "tests/test_a.py::test_x"
#define RB "reproduce:" T ":base"
#define RC "reproduce:" T ":candidate"
#define CU "contract:unit:candidate"
#define CB "contract:unit:base"
#define HEX40 "0123456789abcdef0123456789abcdef01234567"
/* the rest of a run record (lib/runrec.h) */
#define RUN_TAIL                                                                           \
	"\"wall_ms\":10,\"cpu_ms\":5,\"max_rss_kb\":900,\"killed\":false,\"stdout\":\"\"," \
	"\"stdout_bytes\":0,\"stdout_dropped\":0,\"stderr_bytes\":0,\"stderr_dropped\":0," \
	"\"denied\":[]"

static const char good_result[] =
    "{\"base_commit\":\"" HEX40 "\",\"candidate_commit\":\"" HEX40 "\",\"candidate_tree\":\"" HEX40
    "\",\"files\":{\"patch\":[{\"path\":\"src/a.py\",\"old_path\":\"src/a.py\",\"status\":\"M\","
    "\"old_mode\":33188,\"new_mode\":33188,\"binary\":false}],\"test_patch\":[{\"path\":"
    "\"tests/test_a.py\",\"old_path\":\"tests/test_a.py\",\"status\":\"A\",\"old_mode\":0,"
    "\"new_mode\":33188,\"binary\":false}]},\"runs\":["
    "{\"id\":\"" RB "\",\"rule\":\"reproduce\",\"test\":\"" T "\",\"side\":\"base\","
    "\"tree\":\"tested\",\"argv\":["
    "\"pytest\",\"" T "\"],\"status\":\"RE\",\"exit_code\":1,\"signal\":0," RUN_TAIL "},"
    "{\"id\":\"" RC "\",\"rule\":\"reproduce\",\"side\":\"candidate\",\"tree\":\"candidate\","
    "\"argv\":["
    "\"pytest\",\"" T "\"],\"status\":\"OK\",\"exit_code\":0,\"signal\":0," RUN_TAIL "},"
    "{\"id\":\"" CU "\",\"rule\":\"contract\",\"side\":\"candidate\",\"tree\":\"candidate\","
    "\"argv\":[\"make\","
    "\"check\"],\"status\":\"OK\",\"exit_code\":0,\"signal\":0," RUN_TAIL "},"
    "{\"id\":\"" CB "\",\"rule\":\"contract\",\"name\":\"unit\",\"side\":\"base\","
    "\"tree\":\"base\",\"argv\":["
    "\"make\",\"check\"],\"status\":\"OK\",\"exit_code\":0,\"signal\":0," RUN_TAIL "}]}";

/* run, completed with RUN_TAIL's fields where it has none of its own */
static json_t *
with_tail(json_t *run)
{
	json_t *tail = load("{" RUN_TAIL "}");

	ck_assert_int_eq(json_object_update_missing(run, tail), 0);
	json_decref(tail);
	return run;
}

struct eval_case {
	const char *set;      /* merged into the result's top level */
	const char *drop;     /* a top-level key removed */
	const char *run_id;   /* a run to change */
	const char *run_set;  /* merged into that run; NULL removes the run */
	const char *run_drop; /* instead of run_set: a key removed from that run */
	const char *append;   /* a run added at the end */
	const char *decision, *reason;
};

static const struct eval_case evals[] = {
    {.decision = "granted", .reason = "all gates satisfied"},
    {.run_id = RB,
     .run_set = "{\"status\":\"SG\",\"exit_code\":-1,\"signal\":11}",
     .decision = "granted",
     .reason = "all gates satisfied"},
    {.set = "{\"files\":{\"patch\":[{\"path\":\"src/a.py\",\"old_path\":null}]}}",
     .decision = "granted",
     .reason = "all gates satisfied"},
    {.run_id = RB,
     .run_set = "{\"status\":\"OK\",\"exit_code\":0}",
     .decision = "rejected",
     .reason = T " already passes on base: reproduction proves nothing"},
    {.run_id = RB,
     .run_set = "{\"status\":\"TO\",\"killed\":true}",
     .decision = "rejected",
     .reason = T " on base: TO, inconclusive"},
    {.run_id = RB,
     .run_set = "{\"status\":\"XX\"}",
     .decision = "rejected",
     .reason = T " on base: XX, inconclusive"},
    {.run_id = RC,
     .run_set = "{\"status\":\"RE\",\"exit_code\":2}",
     .decision = "rejected",
     .reason = T " still fails on candidate (exit 2)"},
    {.run_id = RC,
     .run_set = "{\"status\":\"SG\",\"exit_code\":-1,\"signal\":9}",
     .decision = "rejected",
     .reason = T " still fails on candidate (signal 9)"},
    {.run_id = RC,
     .run_set = "{\"status\":\"TO\"}",
     .decision = "rejected",
     .reason = T " still fails on candidate (timeout)"},
    {.run_id = RC,
     .run_set = "{\"status\":\"OOM\"}",
     .decision = "rejected",
     .reason = T " still fails on candidate (out of memory)"},
    {.run_id = RC,
     .run_set = "{\"status\":\"DISK\",\"exit_code\":1}",
     .decision = "rejected",
     .reason = T " still fails on candidate (disk full)"},
    {.run_id = RC,
     .run_set = "{\"disk_bytes\":\"1\"}",
     .decision = "rejected",
     .reason = "run " RC ": run record: disk_bytes: expected an integer"},
    {.run_id = RC,
     .run_set = "{\"status\":\"RE\",\"exit_code\":\"2\"}",
     .decision = "rejected",
     .reason = "run " RC ": run record: exit_code: expected an integer"},
    {.run_id = RC,
     .run_set = "{\"status\":\"XX\"}",
     .decision = "rejected",
     .reason = T " on candidate: XX, inconclusive"},
    /* a run record the runner would never write fails closed (lib/runrec.h) */
    {.run_id = RC,
     .run_drop = "exit_code",
     .decision = "rejected",
     .reason = "run " RC ": run record: exit_code missing"},
    {.run_id = CU,
     .run_drop = "denied",
     .decision = "rejected",
     .reason = "run " CU ": run record: denied missing"},
    {.run_id = RB,
     .run_set = "{\"killed\":\"no\"}",
     .decision = "rejected",
     .reason = "run " RB ": run record: killed: expected a boolean"},
    {.run_id = CB,
     .run_set = "{\"denied\":[{\"syscall\":\"ptrace\",\"count\":\"1\"}]}",
     .decision = "rejected",
     .reason = "run " CB ": run record: denied[0]: expected an object with string syscall and "
	       "integer count"},
    {.run_id = CU,
     .run_set = "{\"status\":\"RE\",\"exit_code\":2}",
     .decision = "rejected",
     .reason = "contract unit passes on base but fails on candidate (exit 2): a regression"},
    {.run_id = CU,
     .run_set = "{\"status\":\"TO\"}",
     .decision = "rejected",
     .reason = "contract unit passes on base but fails on candidate (timeout): a regression"},
    {.run_id = CU,
     .run_set = "{\"status\":\"XX\"}",
     .decision = "rejected",
     .reason = "contract unit: sandbox failure on candidate, inconclusive"},
    {.run_id = CB,
     .run_set = "{\"status\":\"RE\",\"exit_code\":2}",
     .decision = "granted",
     .reason = "all gates satisfied"},
    {.run_id = CU, .decision = "rejected", .reason = "missing run " CU},
    {.run_id = CB, .decision = "rejected", .reason = "missing run " CB},
    {.run_id = CB,
     .run_set = "{\"side\":\"candidate\"}",
     .decision = "rejected",
     .reason = "run " CB " does not match the plan (side)"},
    {.run_id = CB,
     .run_set = "{\"name\":\"lint\"}",
     .decision = "rejected",
     .reason = "run " CB " does not match the plan (name)"},
    {.run_id = RB, .decision = "rejected", .reason = "missing run " RB},
    {.run_id = RC, .decision = "rejected", .reason = "missing run " RC},
    {.set = "{\"apply_error\":{\"which\":\"patch\",\"file\":\"src/a.py\",\"hunk\":2,"
	    "\"message\":\"does not match\"}}",
     .decision = "rejected",
     .reason = "patch does not apply: src/a.py hunk 2"},
    {.set = "{\"apply_error\":{\"which\":\"test_patch\",\"file\":\"tests/t.py\",\"hunk\":0,"
	    "\"message\":\"already exists\"}}",
     .drop = "runs",
     .decision = "rejected",
     .reason = "test_patch does not apply: tests/t.py: already exists"},
    {.set = "{\"apply_error\":{\"which\":\"other\"}}",
     .decision = "rejected",
     .reason = "result.apply_error: malformed"},
    {.set = "{\"error\":\"checkout: base ref not found\"}",
     .drop = "runs",
     .decision = "rejected",
     .reason = "runner failed: checkout: base ref not found"},
    {.set = "{\"error\":42}", .decision = "rejected", .reason = "runner failed: (malformed error)"},
    {.append = "{\"id\":\"reproduce:other:base\",\"status\":\"RE\"}",
     .decision = "rejected",
     .reason = "unexpected run reproduce:other:base"},
    {.append = "{\"id\":\"" CU "\",\"status\":\"OK\"}",
     .decision = "rejected",
     .reason = "duplicate run " CU},
    {.append = "{\"id\":\"x\"}",
     .decision = "rejected",
     .reason = "result.runs[4]: expected an object with string id and status"},
    {.append = "7",
     .decision = "rejected",
     .reason = "result.runs[4]: expected an object with string id and status"},
    {.run_id = RC,
     .run_set = "{\"argv\":[\"sh\",\"-c\",\"true\"]}",
     .decision = "rejected",
     .reason = "run " RC " does not match the plan (argv)"},
    {.run_id = RC,
     .run_set = "{\"side\":\"base\"}",
     .decision = "rejected",
     .reason = "run " RC " does not match the plan (side)"},
    /* each run on the tree the plan named: the contract's base is the unmodified base, the
     * reproduction's base has the test patch */
    {.run_id = CB,
     .run_set = "{\"tree\":\"tested\"}",
     .decision = "rejected",
     .reason = "run " CB " does not match the plan (tree)"},
    {.run_id = CB,
     .run_set = "{\"tree\":\"candidate\"}",
     .decision = "rejected",
     .reason = "run " CB " does not match the plan (tree)"},
    {.run_id = RB,
     .run_set = "{\"tree\":\"base\"}",
     .decision = "rejected",
     .reason = "run " RB " does not match the plan (tree)"},
    {.run_id = RC,
     .run_set = "{\"tree\":\"tested\"}",
     .decision = "rejected",
     .reason = "run " RC " does not match the plan (tree)"},
    {.run_id = CU,
     .run_set = "{\"tree\":null}",
     .decision = "rejected",
     .reason = "run " CU " does not match the plan (tree)"},
    /* a report the plan did not ask for */
    {.run_id = CU,
     .run_set = "{\"report\":\"junit\"}",
     .decision = "rejected",
     .reason = "run " CU " does not match the plan (report)"},
    {.run_id = RC,
     .run_set = "{\"status\":\"PASS\"}",
     .decision = "rejected",
     .reason = "run " RC " has an unknown status"},
    /* the patch edits the reproduction test itself so that it passes */
    {.set = "{\"files\":{\"patch\":[{\"path\":\"tests/test_a.py\",\"old_path\":"
	    "\"tests/test_a.py\"}]}}",
     .decision = "rejected",
     .reason = "patch touches test path tests/test_a.py"},
    {.set = "{\"files\":{\"patch\":[{\"path\":\"../x\",\"old_path\":\"../x\"}]}}",
     .decision = "rejected",
     .reason = "patch path ../x has a '..' segment"},
    {.set = "{\"files\":{\"patch\":[{\"path\":\"src/a.py\"}],\"test_patch\":[{\"path\":"
	    "\"src/b.py\"}]}}",
     .decision = "rejected",
     .reason = "test patch touches non-test path src/b.py"},
    {.set = "{\"files\":{\"patch\":[{\"path\":\"src/a.py\"}],\"test_patch\":[]}}",
     .decision = "granted",
     .reason = "all gates satisfied"},
    {.set = "{\"files\":{\"patch\":[{\"path\":\"src/l\",\"old_mode\":0,\"new_mode\":40960}]}}",
     .decision = "rejected",
     .reason = "patch makes src/l a symlink"},
    {.set = "{\"files\":{\"patch\":[{\"path\":\"src/a.py\"}],\"test_patch\":[{\"path\":"
	    "\"tests/sub\",\"old_mode\":57344,\"new_mode\":57344}]}}",
     .decision = "rejected",
     .reason = "test patch touches submodule tests/sub"},
    {.set = "{\"files\":{\"patch\":[{\"path\":\"src/a.bin\",\"binary\":true}]}}",
     .decision = "rejected",
     .reason = "patch has a binary change to src/a.bin"},
    {.set = "{\"files\":{\"patch\":[{\"path\":\"src/a.py\",\"old_mode\":33188,"
	    "\"new_mode\":33261}]}}",
     .decision = "rejected",
     .reason = "patch makes src/a.py executable outside executable_paths"},
    {.set = "{\"files\":{\"patch\":[{\"path\":\"src/a.py\",\"new_mode\":\"120000\"}]}}",
     .decision = "rejected",
     .reason = "result.files.patch[0]: expected integer modes and a boolean binary"},
    {.set = "{\"files\":{\"patch\":[{\"path\":\"src/a.py\",\"binary\":1}]}}",
     .decision = "rejected",
     .reason = "result.files.patch[0]: expected integer modes and a boolean binary"},
    {.set = "{\"files\":{\"patch\":[{\"path\":5}]}}",
     .decision = "rejected",
     .reason = "result.files.patch[0]: expected an object with a string path"},
    {.set = "{\"files\":{}}",
     .decision = "rejected",
     .reason = "result.files.patch: expected an array"},
    {.drop = "files", .decision = "rejected", .reason = "result.files: expected an object"},
    {.drop = "runs", .decision = "rejected", .reason = "result.runs: expected an array"},
    {.set = "{\"runs\":{}}", .decision = "rejected", .reason = "result.runs: expected an array"},
    {.set = "{\"base_commit\":\"HEAD\"}",
     .decision = "rejected",
     .reason = "result.base_commit: expected a commit id"},
    {.drop = "candidate_tree",
     .decision = "rejected",
     .reason = "result.candidate_tree: expected a tree id"},
};

static json_t *
eval_result(const struct eval_case *c)
{
	json_t *res = load(good_result), *runs = json_object_get(res, "runs"), *run;
	size_t i;

	if (c->set) {
		json_t *s = load(c->set);

		json_object_update(res, s);
		json_decref(s);
	}
	json_array_foreach (runs, i, run) {
		if (!c->run_id || strcmp(json_string_value(json_object_get(run, "id")), c->run_id))
			continue;
		if (c->run_drop) {
			json_object_del(run, c->run_drop);
		} else if (c->run_set) {
			json_t *s = load(c->run_set);

			json_object_update(run, s);
			json_decref(s);
		} else {
			json_array_remove(runs, i);
		}
		break;
	}
	if (c->append)
		json_array_append_new(runs, load(c->append));
	if (c->drop)
		json_object_del(res, c->drop);
	return res;
}

static json_t *
evaluate(const char *pol, const char *ids, const json_t *result)
{
	struct al_policy *p = policy(pol);
	json_t *ftp = load(ids), *verdict = NULL;
	struct al_err err = {0};

	ck_assert_int_eq(al_gates_evaluate(p, ftp, result, &verdict, &err), 0);
	json_decref(ftp);
	al_policy_free(p);
	return verdict;
}

START_TEST(test_evaluate)
{
	const struct eval_case *c = &evals[_i];
	json_t *res = eval_result(c), *v = evaluate(EVAL_POLICY, "[\"" T "\"]", res);

	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), c->decision);
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), c->reason);
	assert_rules_have_evidence(json_object_get(v, "rules"));
	json_decref(v);
	json_decref(res);
}
END_TEST

START_TEST(test_evaluate_rules)
{
	json_t *res = load(good_result), *v = evaluate(EVAL_POLICY, "[\"" T "\"]", res);
	const json_t *rules = json_object_get(v, "rules");
	static const struct eval_case blocked = {
	    .set = "{\"apply_error\":{\"which\":\"patch\",\"file\":\"a\",\"hunk\":1}}",
	    .drop = "runs"};

	assert_rule(rules, "result", "SATISFIED", "result is well-formed");
	assert_rule(rules, "runner", "SATISFIED", "runner completed");
	assert_rule(rules, "apply", "SATISFIED", "patch and test patch apply");
	assert_rule(rules, "static.paths", "SATISFIED", NULL);
	assert_rule(rules, "static.patch_test_paths", "SATISFIED", NULL);
	assert_rule(rules, "static.test_patch_paths", "SATISFIED", NULL);
	assert_rule(rules, "static.symlinks", "SATISFIED", NULL);
	assert_rule(rules, "static.submodules", "SATISFIED", NULL);
	assert_rule(rules, "static.binary", "SATISFIED", NULL);
	assert_rule(rules, "static.exec_bits", "SATISFIED", NULL);
	assert_rule(rules, "reproduce:" T, "SATISFIED",
		    T " fails on base (exit 1) and passes on candidate");
	assert_rule(rules, "contract:unit", "SATISFIED", "contract unit passed on candidate");
	/* the text rules (limits, secrets, nonempty, test_adds_test) are judged before the run */
	ck_assert_uint_eq(json_array_size(rules), 12);
	assert_rules_have_evidence(rules);
	/* the run rules name the runs they judged, base first for a reproduction */
	assert_json(json_object_get(rule_of(rules, "reproduce:" T), "evidence"),
		    "{\"runs\":[\"" RB "\",\"" RC "\"]}");
	assert_json(json_object_get(rule_of(rules, "contract:unit"), "evidence"),
		    "{\"runs\":[\"" CU "\",\"" CB "\"]}");
	assert_json(json_object_get(rule_of(rules, "static.symlinks"), "evidence"), "{}");
	assert_json(json_object_get(rule_of(rules, "result"), "evidence"), "{}");
	json_decref(v);
	json_decref(res);

	/* when a patch did not apply the runs are not missing, they were never due */
	res = eval_result(&blocked);
	json_object_del(res, "files");
	v = evaluate(EVAL_POLICY, "[\"" T "\"]", res);
	rules = json_object_get(v, "rules");
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "rejected");
	assert_rule(rules, "apply", "UNSATISFIED", "patch does not apply: a hunk 1");
	assert_rule(rules, "reproduce:" T, "NOT_APPLICABLE", "not run: a patch did not apply");
	assert_rule(rules, "static.paths", "NOT_APPLICABLE", "not checked: a patch did not apply");
	assert_rule(rules, "result", "SATISFIED", "result is well-formed");
	assert_rules_have_evidence(rules);
	json_decref(v);
	json_decref(res);

	/* the runner's own file list is judged too, and its evidence points at the file */
	res = load(good_result);
	json_object_set_new(res, "files",
			    load("{\"patch\":[{\"path\":\"src/a.py\"},{\"path\":\"passwd\","
				 "\"old_mode\":0,\"new_mode\":40960}]}"));
	v = evaluate(EVAL_POLICY, "[\"" T "\"]", res);
	rules = json_object_get(v, "rules");
	assert_rule(rules, "static.symlinks", "UNSATISFIED", "patch makes passwd a symlink");
	assert_json(json_object_get(rule_of(rules, "static.symlinks"), "evidence"),
		    "{\"patch\":\"patch\",\"file\":\"passwd\"}");
	json_decref(v);
	json_decref(res);
}
END_TEST

static const char *const malformed[] = {
    "null",
    "[]",
    "\"granted\"",
    "42",
    "{}",
    "{\"runs\":[1,2,3]}",
    "{\"runs\":[],\"files\":[]}",
    "{\"error\":null}",
    "{\"apply_error\":[]}",
    "{\"runs\":[{\"id\":\"" RB "\",\"status\":\"RE\"},{\"id\":\"" RC "\",\"status\":\"OK\"},"
    "{\"id\":\"" CU "\",\"status\":\"OK\"}]}",
};

START_TEST(test_evaluate_malformed)
{
	json_t *res = load(malformed[_i]), *v = evaluate(EVAL_POLICY, "[\"" T "\"]", res);
	const json_t *rules = json_object_get(v, "rules");
	size_t i, errors = 0;
	json_t *r;

	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "rejected");
	json_array_foreach (rules, i, r)
		errors += strcmp(json_string_value(json_object_get(r, "result")), "ERROR") == 0;
	ck_assert_uint_gt(errors, 0);
	json_decref(v);
	json_decref(res);
}
END_TEST

START_TEST(test_evaluate_edges)
{
	struct al_policy *p = policy(EVAL_POLICY);
	json_t *res = load(good_result), *ids = load("[\"-rf\"]"), *v = NULL;
	struct al_err err = {0};

	/* a NULL result is malformed, not a crash */
	ck_assert_int_eq(al_gates_evaluate(p, NULL, NULL, &v, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "rejected");
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")),
			 "result: expected an object");
	json_decref(v);

	/* test ids that could never have been planned */
	ck_assert_int_eq(al_gates_evaluate(p, ids, res, &v, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "rejected");
	assert_rule(json_object_get(v, "rules"), "plan", "ERROR",
		    "fail_to_pass[0]: invalid test id \"-rf\"");
	json_decref(v);

	ck_assert_int_eq(al_gates_evaluate(NULL, ids, res, &v, &err), -EINVAL);
	json_decref(ids);
	json_decref(res);
	al_policy_free(p);

	/* contract-only policy: no test ids needed, one contract run decides */
	res = load(good_result);
	json_array_remove(json_object_get(res, "runs"), 0);
	json_array_remove(json_object_get(res, "runs"), 0);
	v = evaluate(CONTRACT_POLICY, "[]", res);
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "granted");
	json_decref(v);
	json_decref(res);
}
END_TEST

/* ---- evaluate with reproduce.repeat ---- */

#define REPEAT_POLICY "{\"reproduce\":{\"command\":[\"pytest\"],\"repeat\":3}}"
#define REPEAT_IDS(side)                                                                        \
	"\"reproduce:" T ":" side ":1\",\"reproduce:" T ":" side ":2\",\"reproduce:" T ":" side \
	":3\""

static const struct {
	const char *base, *candidate; /* one status letter pair per run: OK, RE, SG, TO, XX */
	const char *missing;	      /* a run id left out */
	const char *result, *reason;  /* of the rule reproduce:T */
} repeats[] = {
    {"RE RE RE", "OK OK OK", NULL, "SATISFIED",
     T " fails on base (exit 1) and passes on candidate, 3 runs each"},
    {"SG RE SG", "OK OK OK", NULL, "SATISFIED",
     T " fails on base (signal 11) and passes on candidate, 3 runs each"},
    /* a flaky "fix": the test passes 1 of 3 times on base already */
    {"RE OK RE", "OK OK OK", NULL, "ERROR", T " is flaky on base: passed 1 of 3 runs"},
    {"OK OK RE", "OK OK OK", NULL, "ERROR", T " is flaky on base: passed 2 of 3 runs"},
    {"RE RE RE", "OK RE OK", NULL, "ERROR", T " is flaky on candidate: passed 2 of 3 runs"},
    {"RE RE RE", "OK TO OK", NULL, "ERROR", T " is flaky on candidate: passed 2 of 3 runs"},
    {"OK OK OK", "OK OK OK", NULL, "UNSATISFIED",
     T " already passes on base: reproduction proves nothing"},
    {"RE RE RE", "RE RE RE", NULL, "UNSATISFIED", T " still fails on candidate (exit 1)"},
    {"RE TO RE", "OK OK OK", NULL, "ERROR", T " on base: TO, inconclusive"},
    {"RE RE RE", "OK XX OK", NULL, "ERROR", T " on candidate: XX, inconclusive"},
    {"RE RE RE", "OK OK OK", "reproduce:" T ":candidate:2", "ERROR",
     "missing run reproduce:" T ":candidate:2"},
    {"RE RE RE", "OK OK OK", "reproduce:" T ":base:3", "ERROR",
     "missing run reproduce:" T ":base:3"},
};

static int
exit_of(const char *status)
{
	if (strcmp(status, "OK") == 0)
		return 0;
	return strcmp(status, "RE") == 0 ? 1 : -1;
}

static int
repeat_add_runs(json_t *runs, const char *side, const char *statuses, const char *missing)
{
	char id[AL_TEST_ID_MAX + 64];
	unsigned k;

	for (k = 1; k <= 3; k++) {
		char st[3] = {statuses[(k - 1) * 3], statuses[(k - 1) * 3 + 1], 0};
		json_t *run;

		snprintf(id, sizeof(id), "reproduce:%s:%s:%u", T, side, k);
		if (missing && strcmp(id, missing) == 0)
			continue;
		run = json_pack("{s:s, s:s, s:s, s:s, s:[s, s], s:s, s:i, s:i}", "id", id, "rule",
				"reproduce", "test", T, "side", side, "argv", "pytest", T, "status",
				st, "exit_code", exit_of(st), "signal",
				strcmp(st, "SG") == 0 ? 11 : 0);
		if (!run || json_array_append_new(runs, with_tail(run)) < 0)
			return -1;
	}
	return 0;
}

START_TEST(test_evaluate_repeat)
{
	json_t *res = load(good_result), *runs = json_array(), *v;

	ck_assert_int_eq(repeat_add_runs(runs, "base", repeats[_i].base, repeats[_i].missing), 0);
	ck_assert_int_eq(
	    repeat_add_runs(runs, "candidate", repeats[_i].candidate, repeats[_i].missing), 0);
	json_object_set_new(res, "runs", runs);
	v = evaluate(REPEAT_POLICY, "[\"" T "\"]", res);
	assert_rule(json_object_get(v, "rules"), "reproduce:" T, repeats[_i].result,
		    repeats[_i].reason);
	/* every run of both sides, base first; a missing run leaves nothing to cite */
	assert_json(
	    json_object_get(rule_of(json_object_get(v, "rules"), "reproduce:" T), "evidence"),
	    repeats[_i].missing
		? "{}"
		: "{\"runs\":[" REPEAT_IDS("base") "," REPEAT_IDS("candidate") "]}");
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")),
			 strcmp(repeats[_i].result, "SATISFIED") == 0 ? "granted" : "rejected");
	json_decref(v);
	json_decref(res);
}
END_TEST

/* With repeat > 1 the plain ids of one run are not planned, so they are unexpected. */
START_TEST(test_evaluate_repeat_ids)
{
	json_t *res = load(good_result), *v;

	json_array_remove(json_object_get(res, "runs"), 3);
	json_array_remove(json_object_get(res, "runs"), 2);
	v = evaluate(REPEAT_POLICY, "[\"" T "\"]", res);
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "rejected");
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), "unexpected run " RB);
	assert_rule(json_object_get(v, "rules"), "reproduce:" T, "ERROR",
		    "missing run reproduce:" T ":base:1");
	json_decref(v);
	json_decref(res);
}
END_TEST

/* ---- evaluate: contracts run on the candidate and on base ---- */

#define EVAL_POLICY_BLOCK                                                             \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"contract\":[{\"name\":\"unit\"," \
	"\"command\":[\"make\",\"check\"]}],\"test_paths\":[\"tests/**\"],"           \
	"\"contract_preexisting\":\"block\"}"
/* the same contract judged by exit codes alone */
#define EVAL_POLICY_EXIT                                                                      \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"contract\":[{\"name\":\"unit\","         \
	"\"command\":[\"make\",\"check\"],\"judge\":\"exit_code\"}],\"test_paths\":[\"tests/" \
	"**\"]}"
#define EVAL_POLICY_EXIT_BLOCK                                                                \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"contract\":[{\"name\":\"unit\","         \
	"\"command\":[\"make\",\"check\"],\"judge\":\"exit_code\"}],\"test_paths\":[\"tests/" \
	"**\"],"                                                                              \
	"\"contract_preexisting\":\"block\"}"
#define ST_OK "{\"status\":\"OK\",\"exit_code\":0,\"signal\":0}"
#define ST_RE1 "{\"status\":\"RE\",\"exit_code\":1,\"signal\":0}"
#define ST_RE2 "{\"status\":\"RE\",\"exit_code\":2,\"signal\":0}"
#define ST_SG9 "{\"status\":\"SG\",\"exit_code\":-1,\"signal\":9}"
#define ST_TO "{\"status\":\"TO\",\"killed\":true}"
#define ST_OOM "{\"status\":\"OOM\",\"killed\":true}"
#define ST_DISK "{\"status\":\"DISK\",\"exit_code\":1,\"disk_bytes\":1048576}"
#define ST_XX "{\"status\":\"XX\"}"

static const struct {
	const char *policy;
	const char *candidate, *base; /* merged into each run; NULL leaves the run out */
	const char *result, *reason;  /* of the rule contract:unit */
} contracts[] = {
    {EVAL_POLICY, ST_OK, ST_OK, "SATISFIED", "contract unit passed on candidate"},
    /* fixed on candidate: it failed on base and passes now */
    {EVAL_POLICY, ST_OK, ST_RE1, "SATISFIED",
     "contract unit passed on candidate (it failed on base)"},
    {EVAL_POLICY_BLOCK, ST_OK, ST_SG9, "SATISFIED",
     "contract unit passed on candidate (it failed on base)"},
    /* a base that did not run to its end is no yardstick, even for a passing candidate */
    {EVAL_POLICY, ST_OK, ST_TO, "ERROR", "contract unit on base: timeout, inconclusive"},
    {EVAL_POLICY, ST_OK, ST_OOM, "ERROR", "contract unit on base: out of memory, inconclusive"},
    {EVAL_POLICY, ST_OK, ST_DISK, "ERROR", "contract unit on base: disk full, inconclusive"},
    {EVAL_POLICY, ST_OK, ST_XX, "ERROR", "contract unit on base: sandbox failure, inconclusive"},
    /* regressions: passes on base, fails on candidate */
    {EVAL_POLICY, ST_RE2, ST_OK, "UNSATISFIED",
     "contract unit passes on base but fails on candidate (exit 2): a regression"},
    {EVAL_POLICY, ST_SG9, ST_OK, "UNSATISFIED",
     "contract unit passes on base but fails on candidate (signal 9): a regression"},
    {EVAL_POLICY, ST_TO, ST_OK, "UNSATISFIED",
     "contract unit passes on base but fails on candidate (timeout): a regression"},
    {EVAL_POLICY_BLOCK, ST_OOM, ST_OK, "UNSATISFIED",
     "contract unit passes on base but fails on candidate (out of memory): a regression"},
    {EVAL_POLICY, ST_DISK, ST_OK, "UNSATISFIED",
     "contract unit passes on base but fails on candidate (disk full): a regression"},
    {EVAL_POLICY_EXIT, ST_RE2, ST_OK, "UNSATISFIED",
     "contract unit passes on base but fails on candidate (exit 2): a regression"},
    /* failing on both sides: without a per-test report nothing tells a regression from a
     * pre-existing failure (a missing interpreter fails both), so it is no pass */
    {EVAL_POLICY, ST_RE2, ST_RE1, "ERROR",
     "contract unit fails on base (exit 1) and on candidate (exit 2): without a per-test "
     "report a regression cannot be told from a pre-existing failure"},
    {EVAL_POLICY, ST_TO, ST_SG9, "ERROR",
     "contract unit fails on base (signal 9) and on candidate (timeout): without a per-test "
     "report a regression cannot be told from a pre-existing failure"},
    {EVAL_POLICY_BLOCK, ST_RE2, ST_RE1, "ERROR",
     "contract unit fails on base (exit 1) and on candidate (exit 2): without a per-test "
     "report a regression cannot be told from a pre-existing failure"},
    /* ... unless the policy judges this contract by exit codes: then pre-existing is
     * allowed by default */
    {EVAL_POLICY_EXIT, ST_RE2, ST_RE1, "NOT_APPLICABLE",
     "contract unit fails on candidate (exit 2) and already on base (exit 1): pre-existing, "
     "allowed by policy (judge: exit_code)"},
    {EVAL_POLICY_EXIT, ST_TO, ST_SG9, "NOT_APPLICABLE",
     "contract unit fails on candidate (timeout) and already on base (signal 9): pre-existing, "
     "allowed by policy (judge: exit_code)"},
    /* ... and blocked with "contract_preexisting": "block" */
    {EVAL_POLICY_EXIT_BLOCK, ST_RE2, ST_RE1, "UNSATISFIED",
     "contract unit fails on candidate (exit 2) and already on base (exit 1): pre-existing, and "
     "policy blocks it"},
    {EVAL_POLICY_EXIT_BLOCK, ST_OOM, ST_SG9, "UNSATISFIED",
     "contract unit fails on candidate (out of memory) and already on base (signal 9): "
     "pre-existing, and policy blocks it"},
    {EVAL_POLICY_EXIT, ST_OK, ST_RE1, "SATISFIED",
     "contract unit passed on candidate (it failed on base)"},
    {EVAL_POLICY_EXIT, ST_RE1, ST_TO, "ERROR", "contract unit on base: timeout, inconclusive"},
    /* a sandbox failure where it matters proves nothing */
    {EVAL_POLICY, ST_XX, ST_OK, "ERROR",
     "contract unit: sandbox failure on candidate, inconclusive"},
    {EVAL_POLICY, ST_XX, ST_RE1, "ERROR",
     "contract unit: sandbox failure on candidate, inconclusive"},
    {EVAL_POLICY, ST_RE2, ST_XX, "ERROR", "contract unit on base: sandbox failure, inconclusive"},
    {EVAL_POLICY_BLOCK, ST_TO, ST_XX, "ERROR",
     "contract unit on base: sandbox failure, inconclusive"},
    {EVAL_POLICY_EXIT, ST_RE2, ST_XX, "ERROR",
     "contract unit on base: sandbox failure, inconclusive"},
    {EVAL_POLICY, ST_XX, ST_XX, "ERROR",
     "contract unit: sandbox failure on candidate, inconclusive"},
    /* both runs are due */
    {EVAL_POLICY, ST_OK, NULL, "ERROR", "missing run " CB},
    {EVAL_POLICY, ST_RE2, NULL, "ERROR", "missing run " CB},
    {EVAL_POLICY_BLOCK, ST_OK, NULL, "ERROR", "missing run " CB},
    {EVAL_POLICY, NULL, ST_OK, "ERROR", "missing run " CU},
    {EVAL_POLICY, NULL, NULL, "ERROR", "missing run " CU},
};

/* Merges set into the run with this id, or removes the run when set is NULL. */
static void
run_update(json_t *runs, const char *id, const char *set)
{
	size_t i;
	json_t *run;

	json_array_foreach (runs, i, run) {
		if (strcmp(json_string_value(json_object_get(run, "id")), id) != 0)
			continue;
		if (set) {
			json_t *s = load(set);

			json_object_update(run, s);
			json_decref(s);
		} else {
			json_array_remove(runs, i);
		}
		return;
	}
	ck_abort_msg("no run %s", id);
}

START_TEST(test_evaluate_contract)
{
	json_t *res = load(good_result), *runs = json_object_get(res, "runs"), *v;
	const json_t *rule;
	bool pass;

	run_update(runs, CU, contracts[_i].candidate);
	run_update(runs, CB, contracts[_i].base);
	v = evaluate(contracts[_i].policy, "[\"" T "\"]", res);
	rule = rule_of(json_object_get(v, "rules"), "contract:unit");
	assert_rule(json_object_get(v, "rules"), "contract:unit", contracts[_i].result,
		    contracts[_i].reason);
	/* the rule names both runs it judged; a missing run has nothing to point at */
	if (contracts[_i].candidate && contracts[_i].base)
		assert_json(json_object_get(rule, "evidence"),
			    "{\"runs\":[\"" CU "\",\"" CB "\"]}");
	else
		assert_json(json_object_get(rule, "evidence"), "{}");
	pass = strcmp(contracts[_i].result, "SATISFIED") == 0 ||
	       strcmp(contracts[_i].result, "NOT_APPLICABLE") == 0;
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")),
			 pass ? "granted" : "rejected");
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")),
			 pass ? "all gates satisfied" : contracts[_i].reason);
	json_decref(v);
	json_decref(res);
}
END_TEST

/* ---- per-test reports ---- */

/* How users name a test against how a report spells it: pytest node ids, unittest dotted
 * names and JUnit classname.name are one test; nothing matches a substring or a prefix. */
static const struct {
	const char *want, *id;
	bool match;
} id_matches[] = {
    {T, T, true},
    /* pytest's JUnit XML: classname "tests.test_a", name "test_x" */
    {T, "tests.test_a.test_x", true},
    {"tests/test_a.py::TestX::test_y", "tests.test_a.TestX.test_y", true},
    /* only the user's id is read in other spellings; the report's is taken as written */
    {"tests.test_a.TestX.test_y", "tests/test_a.py::TestX::test_y", false},
    {"./tests/test_a.py::test_x", "tests.test_a.test_x", true},
    /* unittest's failed subTest */
    {T, "tests.test_a.test_x (i=1)", true},
    {T, "tests.test_a.test_x (i=1", false},
    {T, "tests.test_a.test_x_extra (i=1)", false},
    {T, "tests.test_a.test_x ()", false},
    {"tests/test_a.py::test_x[1-a]", "tests.test_a.test_x[1-a]", true},
    {T, "tests/test_a::test_x", false},
    {"a/b::c", "a.b.c", true},
    /* JUnit from surefire, Go subtests */
    {"com.example.FooTest.testBar", "com.example.FooTest.testBar", true},
    {"TestSuite/TestCase", "TestSuite.TestCase", true},
    /* never a substring, a prefix or a suffix */
    {T, "tests/test_a.py::test_x_extra", false},
    {T, "tests/test_a.py::test_x[1]", false},
    {T, "tests/test_a.py::test_xy", false},
    {"tests/test_a.py", T, false},
    {"tests/test_a.py::test", T, false},
    {"test_x", "tests.test_a.test_x", false},
    {"test_a.test_x", "tests.test_a.test_x", false},
    {"com.example.FooTest", "com.example.FooTest.testBar", false},
    {"x", "", false},
    {"", "x", false},
    /* ".py" is dropped only where it ends a path segment followed by more */
    {"tests/test_a.pyx::test_x", "tests.test_a.test_x", false},
    {"tests/test_apy::test_x", "tests.test_a.test_x", false},
    {"tests/a.py.b::t", "tests.a.b.t", false},
    /* parameters are kept as written */
    {"tests/test_a.py::test_x[a/b.py::c]", "tests.test_a.test_x[a/b.py::c]", true},
    {"tests/test_a.py::test_x[a/b.py::c]", "tests.test_a.test_x[a.b.c]", false},
    /* a single colon is not a separator; case counts */
    {"pkg.mod:Class.test", "pkg.mod.Class.test", false},
    {"Tests/test_a.py::test_x", "tests.test_a.test_x", false},
    {NULL, T, false},
    {T, NULL, false},
};

START_TEST(test_id_match)
{
	ck_assert_msg(al_gates_test_id_match(id_matches[_i].want, id_matches[_i].id) ==
			  id_matches[_i].match,
		      "want %s id %s", id_matches[_i].want ? id_matches[_i].want : "(null)",
		      id_matches[_i].id ? id_matches[_i].id : "(null)");
}
END_TEST

/* Ids longer than the normalised form can hold are compared exactly, never cut short. */
START_TEST(test_id_match_long)
{
	size_t n = AL_REPORT_ID_MAX * 3;
	char *a = malloc(n + 1), *b = malloc(n + 1);

	memset(a, 'a', n);
	a[n] = '\0';
	memcpy(b, a, n + 1);
	ck_assert(al_gates_test_id_match(a, b));
	b[n - 1] = 'b';
	ck_assert(!al_gates_test_id_match(a, b));
	/* equal once normalised, but too long to normalise: no match rather than a guess */
	memcpy(b, a, n + 1);
	a[10] = '/';
	b[10] = '.';
	ck_assert(!al_gates_test_id_match(a, b));
	free(a);
	free(b);
}
END_TEST

#define REPRO_REPORT_POLICY                                                                       \
	"{\"reproduce\":{\"command\":[\"pytest\"],\"report\":\"junit\"},\"contract\":[{\"name\":" \
	"\"unit\",\"command\":[\"make\",\"check\"]}],\"test_paths\":[\"tests/**\"]}"
#define CONTRACT_REPORT_POLICY                                                                    \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"contract\":[{\"name\":\"unit\",\"command\":" \
	"[\"make\",\"check\"],\"report\":\"junit\"}],\"test_paths\":[\"tests/**\"]}"
#define CONTRACT_REPORT_BLOCK                                                                     \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"contract\":[{\"name\":\"unit\",\"command\":" \
	"[\"make\",\"check\"],\"report\":\"junit\"}],\"test_paths\":[\"tests/**\"],"              \
	"\"contract_preexisting\":\"block\"}"
#define S_OK "\"status\":\"OK\",\"exit_code\":0,\"signal\":0"
#define S_RE "\"status\":\"RE\",\"exit_code\":1,\"signal\":0"
#define S_SG "\"status\":\"SG\",\"exit_code\":-1,\"signal\":11"
#define S_TO "\"status\":\"TO\",\"killed\":true"
#define S_XX "\"status\":\"XX\""
/* a run's status and its report's tests */
#define WITH(st, tests) "{" st ",\"tests\":[" tests "]}"
#define NO_REPORT(st) "{" st "}"
#define REPORT_ERROR(st, why) "{" st ",\"report_error\":\"" why "\"}"
#define TP(id) "{\"id\":\"" id "\",\"outcome\":\"passed\"}"
#define TF(id) "{\"id\":\"" id "\",\"outcome\":\"failed\"}"
#define TE(id) "{\"id\":\"" id "\",\"outcome\":\"error\"}"
#define TS(id) "{\"id\":\"" id "\",\"outcome\":\"skipped\"}"
#define T_JUNIT "tests.test_a.test_x"
#define NOT_WRITTEN "no report was written (No such file or directory)"

static const struct {
	const char *base, *candidate; /* merged into RB and RC */
	const char *result, *reason;  /* of the rule reproduce:T */
	const char *outcomes;	      /* evidence.outcomes, NULL when absent */
} repro_reports[] = {
    {WITH(S_RE, TF(T)), WITH(S_OK, TP(T)), "SATISFIED",
     T " fails on base (exit 1) and passes on candidate",
     "{\"base\":\"failed\",\"candidate\":\"passed\"}"},
    {WITH(S_RE, TE(T)), WITH(S_OK, TP(T)), "SATISFIED",
     T " fails on base (exit 1) and passes on candidate",
     "{\"base\":\"error\",\"candidate\":\"passed\"}"},
    {WITH(S_SG, TE(T)), WITH(S_OK, TP(T)), "SATISFIED",
     T " fails on base (signal 11) and passes on candidate",
     "{\"base\":\"error\",\"candidate\":\"passed\"}"},
    /* the JUnit spelling of the same test, and other tests around it */
    {WITH(S_RE, TP("tests.test_a.test_w") "," TF(T_JUNIT)),
     WITH(S_OK, TP("tests.test_a.test_w") "," TP(T_JUNIT)), "SATISFIED",
     T " fails on base (exit 1) and passes on candidate",
     "{\"base\":\"failed\",\"candidate\":\"passed\"}"},
    /* the report says failed though the command exited 0: the report is the test's word */
    {WITH(S_OK, TF(T)), WITH(S_OK, TP(T)), "SATISFIED",
     T " fails on base (failed in the report, exit 0) and passes on candidate",
     "{\"base\":\"failed\",\"candidate\":\"passed\"}"},
    /* the test passes on base: proves nothing, even when something else failed the run */
    {WITH(S_OK, TP(T)), WITH(S_OK, TP(T)), "UNSATISFIED",
     T " already passes on base: reproduction proves nothing",
     "{\"base\":\"passed\",\"candidate\":\"passed\"}"},
    {WITH(S_RE, TP(T) "," TF("tests/test_a.py::test_other")), WITH(S_OK, TP(T)), "UNSATISFIED",
     T " already passes on base: reproduction proves nothing",
     "{\"base\":\"passed\",\"candidate\":\"passed\"}"},
    /* the test must be seen to run on base */
    {WITH(S_RE, TF("tests/test_a.py::test_other")), WITH(S_OK, TP(T)), "ERROR",
     T " on base: the test is not in the report (1 tests reported)", "{\"candidate\":\"passed\"}"},
    {WITH(S_RE, TS(T) "," TF("tests/test_a.py::test_other")), WITH(S_OK, TP(T)), "ERROR",
     T " on base: the test was skipped, it did not run", "{\"candidate\":\"passed\"}"},
    {WITH(S_RE, ""), WITH(S_OK, TP(T)), "ERROR",
     T " on base: no test ran (0 reported, all skipped or none)", "{\"candidate\":\"passed\"}"},
    {WITH(S_RE, TS(T)), WITH(S_OK, TP(T)), "ERROR",
     T " on base: no test ran (1 reported, all skipped or none)", "{\"candidate\":\"passed\"}"},
    {REPORT_ERROR(S_RE, NOT_WRITTEN), WITH(S_OK, TP(T)), "ERROR",
     T " on base: no usable report: " NOT_WRITTEN, "{\"candidate\":\"passed\"}"},
    {NO_REPORT(S_RE), WITH(S_OK, TP(T)), "ERROR", T " on base: no usable report: none was written",
     "{\"candidate\":\"passed\"}"},
    /* a prefix or a longer name is another test */
    {WITH(S_RE, TF(T "_extra") "," TF(T "[1]")), WITH(S_OK, TP(T)), "ERROR",
     T " on base: the test is not in the report (2 tests reported)", "{\"candidate\":\"passed\"}"},
    /* the candidate: passed in the report and a clean exit, both */
    {WITH(S_RE, TF(T)), WITH(S_OK, TF(T)), "UNSATISFIED",
     T " still fails on candidate (failed in the report, exit 0)",
     "{\"base\":\"failed\",\"candidate\":\"failed\"}"},
    {WITH(S_RE, TF(T)), WITH(S_OK, TE(T)), "UNSATISFIED",
     T " still fails on candidate (error in the report, exit 0)",
     "{\"base\":\"failed\",\"candidate\":\"error\"}"},
    {WITH(S_RE, TF(T)), WITH(S_RE, TP(T)), "UNSATISFIED", T " still fails on candidate (exit 1)",
     "{\"base\":\"failed\",\"candidate\":\"passed\"}"},
    {WITH(S_RE, TF(T)), WITH(S_OK, TP(T "_extra") "," TP("tests.test_a")), "ERROR",
     T " on candidate: the test is not in the report (2 tests reported)", "{\"base\":\"failed\"}"},
    {WITH(S_RE, TF(T)), WITH(S_OK, TS(T) "," TP("tests/test_a.py::test_other")), "ERROR",
     T " on candidate: the test was skipped, it did not run", "{\"base\":\"failed\"}"},
    {WITH(S_RE, TF(T)), NO_REPORT(S_OK), "ERROR",
     T " on candidate: no usable report: none was written", "{\"base\":\"failed\"}"},
    {WITH(S_RE, TF(T)), REPORT_ERROR(S_OK, "the report is not a regular file"), "ERROR",
     T " on candidate: no usable report: the report is not a regular file",
     "{\"base\":\"failed\"}"},
    /* one test under one name twice: the worst stands */
    {WITH(S_RE, TF(T)), WITH(S_OK, TP(T) "," TF(T_JUNIT)), "UNSATISFIED",
     T " still fails on candidate (failed in the report, exit 0)",
     "{\"base\":\"failed\",\"candidate\":\"failed\"}"},
    {WITH(S_RE, TF(T)), WITH(S_OK, TE(T) "," TP(T)), "UNSATISFIED",
     T " still fails on candidate (error in the report, exit 0)",
     "{\"base\":\"failed\",\"candidate\":\"error\"}"},
    {WITH(S_RE, TP(T) "," TF(T)), WITH(S_OK, TP(T) "," TP(T_JUNIT)), "SATISFIED",
     T " fails on base (exit 1) and passes on candidate",
     "{\"base\":\"failed\",\"candidate\":\"passed\"}"},
    /* runs that did not end by themselves are judged by their status, as before */
    {NO_REPORT(S_TO), WITH(S_OK, TP(T)), "ERROR", T " on base: TO, inconclusive",
     "{\"candidate\":\"passed\"}"},
    {WITH(S_RE, TF(T)), NO_REPORT(S_TO), "UNSATISFIED", T " still fails on candidate (timeout)",
     "{\"base\":\"failed\"}"},
    {WITH(S_RE, TF(T)), NO_REPORT(S_XX), "ERROR", T " on candidate: XX, inconclusive",
     "{\"base\":\"failed\"}"},
};

START_TEST(test_reproduce_report)
{
	json_t *res = load(good_result), *runs = json_object_get(res, "runs"), *v;
	const json_t *rules, *ev;

	run_update(runs, RB, repro_reports[_i].base);
	run_update(runs, RC, repro_reports[_i].candidate);
	v = evaluate(REPRO_REPORT_POLICY, "[\"" T "\"]", res);
	rules = json_object_get(v, "rules");
	assert_rule(rules, "reproduce:" T, repro_reports[_i].result, repro_reports[_i].reason);
	ev = json_object_get(rule_of(rules, "reproduce:" T), "evidence");
	assert_json(json_object_get(ev, "runs"), "[\"" RB "\",\"" RC "\"]");
	if (repro_reports[_i].outcomes)
		assert_json(json_object_get(ev, "outcomes"), repro_reports[_i].outcomes);
	else
		ck_assert_ptr_null(json_object_get(ev, "outcomes"));
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")),
			 strcmp(repro_reports[_i].result, "SATISFIED") ? "rejected" : "granted");
	json_decref(v);
	json_decref(res);
}
END_TEST

/* With a report and reproduce.repeat, every run's report must agree. */
START_TEST(test_reproduce_report_repeat)
{
	json_t *res = load(good_result), *runs = json_array(), *v;
	static const char *const base[] = {WITH(S_RE, TF(T)), WITH(S_RE, TP(T)), WITH(S_RE, TF(T))};
	char id[AL_TEST_ID_MAX + 64];
	unsigned k;

	for (k = 1; k <= 3; k++) {
		json_t *run;

		snprintf(id, sizeof(id), "reproduce:%s:base:%u", T, k);
		run = with_tail(load(base[k - 1]));
		json_object_set_new(run, "id", json_string(id));
		json_array_append_new(runs, run);
		snprintf(id, sizeof(id), "reproduce:%s:candidate:%u", T, k);
		run = with_tail(load(WITH(S_OK, TP(T))));
		json_object_set_new(run, "id", json_string(id));
		json_array_append_new(runs, run);
	}
	json_object_set_new(res, "runs", runs);
	v = evaluate("{\"reproduce\":{\"command\":[\"pytest\"],\"repeat\":3,\"report\":\"tap\"}}",
		     "[\"" T "\"]", res);
	assert_rule(json_object_get(v, "rules"), "reproduce:" T, "ERROR",
		    T " is flaky on base: passed 1 of 3 runs");
	json_decref(v);
	json_decref(res);
}
END_TEST

#define EV_RUNS "\"runs\":[\"" CU "\",\"" CB "\"]"

static const struct {
	const char *policy;
	const char *candidate, *base; /* merged into CU and CB */
	const char *result, *reason;  /* of the rule contract:unit */
	const char *lists;	      /* [regressions, new_failing, preexisting], or NULL */
} contract_reports[] = {
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a") "," TP("b")), WITH(S_OK, TP("a") "," TP("b")),
     "SATISFIED", "contract unit: 2 of 2 tests pass on candidate, none regressed", "[[],[],[]]"},
    /* a test that passed on base and fails, errors, is skipped or is gone on the candidate */
    {CONTRACT_REPORT_POLICY, WITH(S_RE, TP("a") "," TF("b")), WITH(S_OK, TP("a") "," TP("b")),
     "UNSATISFIED", "contract unit: 1 test passed on base and fails on candidate, a regression: b",
     "[[\"b\"],[],[]]"},
    {CONTRACT_REPORT_POLICY, WITH(S_RE, TE("a") "," TE("b")), WITH(S_OK, TP("a") "," TP("b")),
     "UNSATISFIED", "contract unit: 2 tests passed on base and fail on candidate, a regression: a",
     "[[\"a\",\"b\"],[],[]]"},
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a") "," TS("b")), WITH(S_OK, TP("a") "," TP("b")),
     "UNSATISFIED", "contract unit: 1 test passed on base and fails on candidate, a regression: b",
     "[[\"b\"],[],[]]"},
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a")), WITH(S_OK, TP("a") "," TP("b")), "UNSATISFIED",
     "contract unit: 1 test passed on base and fails on candidate, a regression: b",
     "[[\"b\"],[],[]]"},
    /* a renamed test is a missing one */
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a") "," TP("b2")), WITH(S_OK, TP("a") "," TP("b")),
     "UNSATISFIED", "contract unit: 1 test passed on base and fails on candidate, a regression: b",
     "[[\"b\"],[],[]]"},
    /* a test only the candidate has must not fail */
    {CONTRACT_REPORT_POLICY, WITH(S_RE, TP("a") "," TF("n")), WITH(S_OK, TP("a")), "UNSATISFIED",
     "contract unit: new test n fails on candidate (1 failing)", "[[],[\"n\"],[]]"},
    {CONTRACT_REPORT_POLICY, WITH(S_RE, TP("a") "," TE("n") "," TF("m")), WITH(S_OK, TP("a")),
     "UNSATISFIED", "contract unit: new test n fails on candidate (2 failing)",
     "[[],[\"n\",\"m\"],[]]"},
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a") "," TS("n")), WITH(S_OK, TP("a")), "SATISFIED",
     "contract unit: 1 of 2 tests pass on candidate, none regressed", "[[],[],[]]"},
    /* failing on both: pre-existing, listed by name, allowed or blocked by policy */
    {CONTRACT_REPORT_POLICY, WITH(S_RE, TP("a") "," TF("f")), WITH(S_RE, TP("a") "," TE("f")),
     "SATISFIED",
     "contract unit: no regression in 2 tests; 1 pre-existing failure allowed by policy (f)",
     "[[],[],[\"f\"]]"},
    {CONTRACT_REPORT_BLOCK, WITH(S_RE, TP("a") "," TF("f")), WITH(S_RE, TP("a") "," TF("f")),
     "UNSATISFIED",
     "contract unit: 1 test already fails on base (f), and policy blocks pre-existing failures",
     "[[],[],[\"f\"]]"},
    /* fixed on the candidate */
    {CONTRACT_REPORT_BLOCK, WITH(S_OK, TP("a") "," TP("f")), WITH(S_RE, TP("a") "," TF("f")),
     "SATISFIED", "contract unit: 2 of 2 tests pass on candidate, none regressed", "[[],[],[]]"},
    /* a regression is named first, whatever else failed */
    {CONTRACT_REPORT_POLICY, WITH(S_RE, TF("a") "," TF("f") "," TF("n")),
     WITH(S_RE, TP("a") "," TF("f")), "UNSATISFIED",
     "contract unit: 1 test passed on base and fails on candidate, a regression: a",
     "[[\"a\"],[\"n\"],[\"f\"]]"},
    /* base exited 0, the candidate did not, though no test regressed */
    {CONTRACT_REPORT_POLICY, WITH(S_RE, TP("a")), WITH(S_OK, TP("a")), "UNSATISFIED",
     "contract unit passes on base but fails on candidate (exit 1) although no test "
     "regressed: a regression",
     "[[],[],[]]"},
    /* a candidate killed before it wrote its report, or half way through */
    {CONTRACT_REPORT_POLICY, NO_REPORT(S_TO), WITH(S_OK, TP("a")), "UNSATISFIED",
     "contract unit passes on base but fails on candidate (timeout; no usable report: none "
     "was written): a regression",
     NULL},
    {CONTRACT_REPORT_POLICY, WITH(S_TO, TP("a")), WITH(S_OK, TP("a") "," TP("b")), "UNSATISFIED",
     "contract unit: 1 test passed on base and fails on candidate, a regression: b",
     "[[\"b\"],[],[]]"},
    /* no report, or no test run, on either side: nothing to judge by */
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a")), NO_REPORT(S_RE), "ERROR",
     "contract unit on base: no usable report: none was written", NULL},
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a")), REPORT_ERROR(S_OK, NOT_WRITTEN), "ERROR",
     "contract unit on base: no usable report: " NOT_WRITTEN, NULL},
    {CONTRACT_REPORT_POLICY, NO_REPORT(S_OK), WITH(S_OK, TP("a")), "ERROR",
     "contract unit on candidate: no usable report: none was written", NULL},
    {CONTRACT_REPORT_POLICY, REPORT_ERROR(S_RE, "the report is not a regular file"),
     WITH(S_RE, TF("a")), "ERROR",
     "contract unit on candidate: no usable report: the report is not a regular file", NULL},
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a")), WITH(S_OK, TS("a")), "ERROR",
     "contract unit on base: no test ran (1 reported, all skipped or none)", NULL},
    {CONTRACT_REPORT_POLICY, WITH(S_OK, ""), WITH(S_OK, TP("a")), "ERROR",
     "contract unit on candidate: no test ran (0 reported, all skipped or none)", NULL},
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TS("a") "," TS("b")), WITH(S_OK, TP("a")), "ERROR",
     "contract unit on candidate: no test ran (2 reported, all skipped or none)", NULL},
    /* one name reported twice: a passing twin cannot hide a failure */
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TF("a") "," TP("a")), WITH(S_OK, TP("a")), "UNSATISFIED",
     "contract unit: 1 test passed on base and fails on candidate, a regression: a",
     "[[\"a\"],[],[]]"},
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a") "," TF("a")), WITH(S_OK, TP("a")), "UNSATISFIED",
     "contract unit: 1 test passed on base and fails on candidate, a regression: a",
     "[[\"a\"],[],[]]"},
    {CONTRACT_REPORT_POLICY, WITH(S_RE, TF("a") "," TF("a")), WITH(S_RE, TP("a") "," TF("a")),
     "UNSATISFIED", "contract unit: 1 test passed on base and fails on candidate, a regression: a",
     "[[\"a\"],[],[]]"},
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a")), WITH(S_OK, TP("a") "," TP("a")), "UNSATISFIED",
     "contract unit: 1 test passed on base and fails on candidate, a regression: a",
     "[[\"a\"],[],[]]"},
    /* the same twins on both sides are what base already was */
    {CONTRACT_REPORT_POLICY, WITH(S_RE, TF("a") "," TP("a")), WITH(S_RE, TP("a") "," TF("a")),
     "SATISFIED",
     "contract unit: no regression in 2 tests; 1 pre-existing failure allowed by policy (a)",
     "[[],[],[\"a\"]]"},
    {CONTRACT_REPORT_POLICY, WITH(S_RE, TP("a") "," TF("n") "," TP("n")), WITH(S_OK, TP("a")),
     "UNSATISFIED", "contract unit: new test n fails on candidate (1 failing)", "[[],[\"n\"],[]]"},
    /* the runs' statuses come first */
    {CONTRACT_REPORT_POLICY, NO_REPORT(S_XX), WITH(S_OK, TP("a")), "ERROR",
     "contract unit: sandbox failure on candidate, inconclusive", NULL},
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a")), NO_REPORT(S_XX), "ERROR",
     "contract unit on base: sandbox failure, inconclusive", NULL},
    {CONTRACT_REPORT_POLICY, WITH(S_OK, TP("a")), WITH(S_TO, TP("a")), "ERROR",
     "contract unit on base: timeout, inconclusive", NULL},
};

START_TEST(test_contract_report)
{
	json_t *res = load(good_result), *runs = json_object_get(res, "runs"), *v, *lists;
	const json_t *rules, *ev;

	run_update(runs, CU, contract_reports[_i].candidate);
	run_update(runs, CB, contract_reports[_i].base);
	v = evaluate(contract_reports[_i].policy, "[\"" T "\"]", res);
	rules = json_object_get(v, "rules");
	assert_rule(rules, "contract:unit", contract_reports[_i].result,
		    contract_reports[_i].reason);
	ev = json_object_get(rule_of(rules, "contract:unit"), "evidence");
	assert_json(json_object_get(ev, "runs"), "[\"" CU "\",\"" CB "\"]");
	if (contract_reports[_i].lists) {
		lists = json_pack("[O, O, O]", json_object_get(ev, "regressions"),
				  json_object_get(ev, "new_failing"),
				  json_object_get(ev, "preexisting"));
		ck_assert_ptr_nonnull(lists);
		assert_json(lists, contract_reports[_i].lists);
		json_decref(lists);
	}
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")),
			 strcmp(contract_reports[_i].result, "SATISFIED") ? "rejected" : "granted");
	json_decref(v);
	json_decref(res);
}
END_TEST

/* A run's "tests" that is not a list of {"id": string, "outcome": one of four} is no
 * report at all, on either side and for either rule. */
static const char *const malformed_tests[] = {
    "{}",
    "\"a\"",
    "7",
    "[1]",
    "[null]",
    "[[]]",
    "[{\"id\":1,\"outcome\":\"passed\"}]",
    "[{\"id\":\"a\"}]",
    "[{\"outcome\":\"passed\"}]",
    "[{\"id\":\"a\",\"outcome\":\"PASSED\"}]",
    "[{\"id\":\"a\",\"outcome\":\"xfail\"}]",
    "[{\"id\":\"a\",\"outcome\":null}]",
    "[{\"id\":null,\"outcome\":\"passed\"}]",
    /* one bad record spoils the report */
    "[" TP(T) "," TP("a") ",{\"id\":\"b\",\"outcome\":\"flaky\"}]",
    /* "\u0000" is loaded below as a NUL inside the id */
    "[" TP(T) ",{\"id\":\"a\\u0000b\",\"outcome\":\"passed\"}]",
};

START_TEST(test_report_malformed)
{
	json_t *tests = json_loads(malformed_tests[_i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	json_t *res = load(good_result), *runs = json_object_get(res, "runs"), *v;
	const json_t *rules;

	ck_assert_ptr_nonnull(tests);
	/* the reproduction's candidate */
	run_update(runs, RB, WITH(S_RE, TF(T)));
	run_update(runs, RC, NO_REPORT(S_OK));
	json_object_set(json_array_get(runs, 1), "tests", tests);
	v = evaluate(REPRO_REPORT_POLICY, "[\"" T "\"]", res);
	assert_rule(json_object_get(v, "rules"), "reproduce:" T, "ERROR",
		    T " on candidate: malformed report record");
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "rejected");
	json_decref(v);
	json_decref(res);

	/* a contract's base, then its candidate */
	res = load(good_result);
	runs = json_object_get(res, "runs");
	run_update(runs, CU, WITH(S_OK, TP("a")));
	run_update(runs, CB, NO_REPORT(S_OK));
	json_object_set(json_array_get(runs, 3), "tests", tests);
	v = evaluate(CONTRACT_REPORT_POLICY, "[\"" T "\"]", res);
	rules = json_object_get(v, "rules");
	assert_rule(rules, "contract:unit", "ERROR",
		    "contract unit on base: malformed report record");
	json_decref(v);
	run_update(runs, CB, WITH(S_OK, TP("a")));
	json_object_set(json_array_get(runs, 2), "tests", tests);
	v = evaluate(CONTRACT_REPORT_POLICY, "[\"" T "\"]", res);
	assert_rule(json_object_get(v, "rules"), "contract:unit", "ERROR",
		    "contract unit on candidate: malformed report record");
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "rejected");
	json_decref(v);
	json_decref(res);
	json_decref(tests);
}
END_TEST

/* n tests named t00000.. with the given outcome, the first `fail` of them failed. */
static json_t *
many_tests(size_t n, size_t fail, bool reversed)
{
	json_t *a = json_array();
	char id[32];

	for (size_t k = 0; k < n; k++) {
		size_t i = reversed ? n - 1 - k : k;

		snprintf(id, sizeof(id), "tests.test_m.t%06zu", i);
		json_array_append_new(a, json_pack("{s:s, s:s}", "id", id, "outcome",
						   i < fail ? "failed" : "passed"));
	}
	return a;
}

/* Many regressions: all counted, the first 50 listed, the first named. */
START_TEST(test_contract_report_many)
{
	json_t *res = load(good_result), *runs = json_object_get(res, "runs"), *v;
	const json_t *ev;

	run_update(runs, CU, NO_REPORT(S_RE));
	run_update(runs, CB, NO_REPORT(S_OK));
	json_object_set_new(json_array_get(runs, 2), "tests", many_tests(200, 60, false));
	json_object_set_new(json_array_get(runs, 3), "tests", many_tests(200, 0, false));
	v = evaluate(CONTRACT_REPORT_POLICY, "[\"" T "\"]", res);
	assert_rule(json_object_get(v, "rules"), "contract:unit", "UNSATISFIED",
		    "contract unit: 60 tests passed on base and fail on candidate, a regression: "
		    "tests.test_m.t000000");
	ev = json_object_get(rule_of(json_object_get(v, "rules"), "contract:unit"), "evidence");
	ck_assert_uint_eq(json_array_size(json_object_get(ev, "regressions")), 50);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(ev, "regressions"), 49)),
			 "tests.test_m.t000049");
	assert_json(json_object_get(ev, "tests"), "{\"base\":200,\"candidate\":200}");
	json_decref(v);
	json_decref(res);
}
END_TEST

/* Reports as large as the runner records (AL_REPORT_MAX_TESTS, 20,000 tests), in different
 * orders, judged right; a quadratic comparison would take minutes here and trip the case's
 * generous hang timeout, which is no speed target (a loaded machine is far inside it). */
START_TEST(test_report_large)
{
	const size_t n = 20000;
	json_t *res = load(good_result), *runs = json_object_get(res, "runs"), *v, *big;
	char reason[128];

	run_update(runs, CU, NO_REPORT(S_RE));
	run_update(runs, CB, NO_REPORT(S_OK));
	json_object_set_new(json_array_get(runs, 2), "tests", many_tests(n, 1, true));
	json_object_set_new(json_array_get(runs, 3), "tests", many_tests(n, 0, false));
	/* the reproduction's test last of a big report, on both sides */
	big = many_tests(n, 0, false);
	json_array_append_new(big, load(TF(T)));
	run_update(runs, RB, NO_REPORT(S_RE));
	json_object_set_new(json_array_get(runs, 0), "tests", big);
	big = many_tests(n, 0, false);
	json_array_append_new(big, load(TP(T)));
	run_update(runs, RC, NO_REPORT(S_OK));
	json_object_set_new(json_array_get(runs, 1), "tests", big);
	v = evaluate("{\"reproduce\":{\"command\":[\"pytest\"],\"report\":\"junit\"},\"contract\":["
		     "{\"name\":\"unit\",\"command\":[\"make\",\"check\"],\"report\":\"junit\"}]}",
		     "[\"" T "\"]", res);
	assert_rule(json_object_get(v, "rules"), "reproduce:" T, "SATISFIED",
		    T " fails on base (exit 1) and passes on candidate");
	snprintf(reason, sizeof(reason),
		 "contract unit: 1 test passed on base and fails on candidate, a regression: "
		 "tests.test_m.t%06zu",
		 (size_t)0);
	assert_rule(json_object_get(v, "rules"), "contract:unit", "UNSATISFIED", reason);
	json_decref(v);
	json_decref(res);
}
END_TEST

/* al_gates_tests_compare on its own: counts and lists, and ids in base's order. */
START_TEST(test_tests_compare)
{
	json_t *b = load("[" TP("a") "," TF("f") "," TP("b") "," TS("s") "," TP("a") "]");
	json_t *c =
	    load("[" TP("n") "," TP("b") "," TF("f") "," TE("m") "," TP("a") "," TP("a") "]");
	struct al_test_diff d;

	ck_assert_int_eq(al_gates_tests_compare(b, c, &d), 0);
	ck_assert_uint_eq(d.n_regressions, 0);
	ck_assert_uint_eq(d.n_new_failing, 1);
	ck_assert_uint_eq(d.n_preexisting, 1);
	ck_assert_uint_eq(d.base_passed, 3);
	ck_assert_uint_eq(d.cand_passed, 4);
	assert_json(d.new_failing, "[\"m\"]");
	assert_json(d.preexisting, "[\"f\"]");
	al_gates_test_diff_clear(&d);
	ck_assert_ptr_null(d.regressions);
	al_gates_test_diff_clear(&d);
	json_decref(c);

	/* one of the two "a" gone: a regression, though "a" still passes once */
	c = load("[" TP("a") "," TP("b") "," TF("f") "]");
	ck_assert_int_eq(al_gates_tests_compare(b, c, &d), 0);
	ck_assert_uint_eq(d.n_regressions, 1);
	assert_json(d.regressions, "[\"a\"]");
	al_gates_test_diff_clear(&d);
	json_decref(c);
	json_decref(b);
}
END_TEST

/* ---- evidence ---- */

/* Where each static rule points: which patch, which file, and (secrets) which line. */
static const struct {
	const char *policy, *patch, *test_patch, *rule, *evidence;
} evidences[] = {
    {STATIC_POLICY, SYMLINK_PASSWD, NULL, "static.symlinks",
     "{\"patch\":\"patch\",\"file\":\"passwd\"}"},
    {STATIC_POLICY, DIFF("src/x.c"),
     "diff --git a/tests/l b/tests/l\nnew file mode 120000\nindex 0000000..3594e94\n"
     "--- /dev/null\n+++ b/tests/l\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n",
     "static.symlinks", "{\"patch\":\"test_patch\",\"file\":\"tests/l\"}"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.symlinks", "{}"},
    {STATIC_POLICY, DIFF("../../etc/passwd"), NULL, "static.paths",
     "{\"patch\":\"patch\",\"file\":\"../../etc/passwd\"}"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/../../x"), "static.paths",
     "{\"patch\":\"test_patch\",\"file\":\"tests/../../x\"}"},
    {STATIC_POLICY, DIFF("tests/test_a.py"), NULL, "static.patch_test_paths",
     "{\"patch\":\"patch\",\"file\":\"tests/test_a.py\"}"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/t.c") DIFF("src/y.c"), "static.test_patch_paths",
     "{\"patch\":\"test_patch\",\"file\":\"src/y.c\"}"},
    {STATIC_POLICY, SUBMODULE_ADD, NULL, "static.submodules",
     "{\"patch\":\"patch\",\"file\":\"vendor/lib\"}"},
    {STATIC_POLICY, BINARY_ADD, NULL, "static.binary",
     "{\"patch\":\"patch\",\"file\":\"img.png\"}"},
    {STATIC_POLICY, EXEC_ADD("bin/run.sh"), NULL, "static.exec_bits",
     "{\"patch\":\"patch\",\"file\":\"bin/run.sh\"}"},
    {LIMITS_POLICY, DIFF("a.c") DIFF("b.c") DIFF("c.c"), NULL, "static.limits",
     "{\"patch\":\"patch\"}"},
    {LIMITS_POLICY, DIFF("src/x.c"), MODE_ONLY("tests/a") MODE_ONLY("tests/b") MODE_ONLY("tests/c"),
     "static.limits", "{\"patch\":\"test_patch\"}"},
    {STATIC_POLICY, HUNK("src/x.c", "@@ -1,2 +1,3 @@\n a\n+ \t\n b\n"), NULL, "static.nonempty",
     "{\"patch\":\"patch\"}"},
    {STATIC_POLICY, DIFF("src/x.c"), DIFF("tests/test_x.c"), "static.test_adds_test",
     "{\"patch\":\"test_patch\",\"file\":\"tests/test_x.c\"}"},
    {STATIC_POLICY, DIFF("src/x.c"), HUNK("tests/t.c", "@@ -1,3 +1,1 @@\n a\n-b\n-c\n"),
     "static.test_adds_test", "{\"patch\":\"test_patch\"}"},
    {STATIC_POLICY, DIFF("src/x.c"), NULL, "static.parse", "{}"},
    {STATIC_POLICY, DIFF("src/x.c"), NULL, "static.secrets", "{}"},
};

START_TEST(test_static_evidence)
{
	struct al_policy *p = policy(evidences[_i].policy);
	const char *tp = evidences[_i].test_patch;
	struct al_err err = {0};
	json_t *rules = NULL;

	ck_assert_int_eq(al_gates_static(p, evidences[_i].patch, strlen(evidences[_i].patch), tp,
					 tp ? strlen(tp) : 0, &rules, &err),
			 0);
	assert_json(json_object_get(rule_of(rules, evidences[_i].rule), "evidence"),
		    evidences[_i].evidence);
	json_decref(rules);
	al_policy_free(p);
}
END_TEST

/* ---- protected paths ---- */

#define PROTECT_POLICY                                                                     \
	"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}],\"protected_paths\":[" \
	"\"Makefile\"]}"
#define F(path) "{\"path\":\"" path "\",\"old_path\":\"" path "\"}"

static const struct {
	const char *policy, *patch, *test; /* file lists; NULL is no list */
	const char *want;
} protecteds[] = {
    {CONTRACT_POLICY, "[" F(".github/workflows/ci.yml") "]", NULL,
     "[\".github/workflows/ci.yml\"]"},
    {CONTRACT_POLICY, "[" F("CODEOWNERS") "]", NULL, "[\"CODEOWNERS\"]"},
    {CONTRACT_POLICY, "[" F("docs/CODEOWNERS") "]", NULL, "[\"docs/CODEOWNERS\"]"},
    {CONTRACT_POLICY, "[" F(".airlock/policy.json") "]", NULL, "[\".airlock/policy.json\"]"},
    {CONTRACT_POLICY, "[" F(".gitlab-ci.yml") "," F(".gitattributes") "]", NULL,
     "[\".gitlab-ci.yml\",\".gitattributes\"]"},
    /* every .gitattributes, at any depth: each can set filters and drivers for its
     * subtree; and LFS's configuration */
    {CONTRACT_POLICY, "[" F("src/.gitattributes") "," F("a/b/c/.gitattributes") "]",
     "[" F("tests/.gitattributes") "]",
     "[\"src/.gitattributes\",\"a/b/c/.gitattributes\",\"tests/.gitattributes\"]"},
    {CONTRACT_POLICY,
     "[" F(".lfsconfig") "," F("src/.gitattributes.bak") "," F("x.gitattributes") "]", NULL,
     "[\".lfsconfig\"]"},
    /* the operator's globs come on top of the defaults */
    {PROTECT_POLICY, "[" F("Makefile") "]", NULL, "[\"Makefile\"]"},
    {PROTECT_POLICY, "[" F("src/Makefile") "]", NULL, "[]"},
    {CONTRACT_POLICY, "[" F("Makefile") "]", NULL, "[]"},
    {PROTECT_POLICY, "[" F(".github/CODEOWNERS") "]", NULL, "[\".github/CODEOWNERS\"]"},
    /* moving a protected file away touches it */
    {CONTRACT_POLICY, "[{\"path\":\"ci.yml\",\"old_path\":\".github/workflows/ci.yml\"}]", NULL,
     "[\".github/workflows/ci.yml\"]"},
    {CONTRACT_POLICY, "[{\"path\":\".github/x.yml\",\"old_path\":\"x.yml\"}]", NULL,
     "[\".github/x.yml\"]"},
    {CONTRACT_POLICY, "[" F("src/a.c") "," F(".githubx/a") "," F("github/x") "]",
     "[" F("tests/t.c") "]", "[]"},
    /* the test patch counts too; each path once, in the order met */
    {PROTECT_POLICY, "[" F("Makefile") "," F("src/a.c") "," F(".gitmodules") "]",
     "[" F(".gitmodules") "," F("Makefile") "," F("docs/CODEOWNERS") "]",
     "[\"Makefile\",\".gitmodules\",\"docs/CODEOWNERS\"]"},
    {PROTECT_POLICY, NULL, "[{\"path\":\"Makefile\"}]", "[\"Makefile\"]"},
    {PROTECT_POLICY, NULL, NULL, "[]"},
    {PROTECT_POLICY, "[]", "[]", "[]"},
};

START_TEST(test_protected)
{
	struct al_policy *p = policy(protecteds[_i].policy);
	json_t *lists[3] = {NULL, NULL, NULL}, *got = NULL;
	struct al_err err = {0};

	if (protecteds[_i].patch)
		lists[0] = load(protecteds[_i].patch);
	if (protecteds[_i].test)
		lists[2] = load(protecteds[_i].test);
	/* a NULL list in the middle is skipped */
	ck_assert_int_eq(al_gates_protected(p, (const json_t *const *)lists, 3, &got, &err), 0);
	assert_json(got, protecteds[_i].want);
	json_decref(got);
	json_decref(lists[0]);
	json_decref(lists[2]);
	al_policy_free(p);
}
END_TEST

/* From a real patch: a rename out of .github is found by its old path. */
START_TEST(test_protected_patch)
{
	static const char patch[] =
	    "diff --git a/.github/workflows/ci.yml b/ci.yml\nsimilarity index 100%\n"
	    "rename from .github/workflows/ci.yml\nrename to ci.yml\n" GIT_MODIFY;
	struct al_policy *p = policy(CONTRACT_POLICY);
	struct al_err err = {0};
	json_t *files = NULL, *got = NULL;
	const json_t *lists[1];

	ck_assert_int_eq(al_gates_patch_files(patch, strlen(patch), &files, &err), 0);
	lists[0] = files;
	ck_assert_int_eq(al_gates_protected(p, lists, 1, &got, &err), 0);
	assert_json(got, "[\".github/workflows/ci.yml\"]");
	json_decref(got);
	ck_assert_int_eq(al_gates_protected(NULL, lists, 1, &got, &err), -EINVAL);
	json_decref(files);
	al_policy_free(p);
}
END_TEST

/* ---- existing tests: what a change does to the tests it is judged by ---- */

#define CHANGED_POLICY                                                                 \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"test_paths\":[\"tests/**\",\"**/" \
	"test_*.py\"]}"
#define TX "tests/test_x.py"
#define CHG(path, why) "{\"path\":\"" path "\",\"why\":\"" why "\"}"
#define NEW_FILE(path)                                                                     \
	"diff --git a/" path " b/" path "\nnew file mode 100644\nindex 0000000..3e75765\n" \
	"--- /dev/null\n+++ b/" path "\n@@ -0,0 +1,2 @@\n+def test_new():\n+    assert f()\n"
#define DELETED(path)                                                                          \
	"diff --git a/" path " b/" path "\ndeleted file mode 100644\nindex 3e75765..0000000\n" \
	"--- a/" path "\n+++ /dev/null\n@@ -1 +0,0 @@\n-def test_old(): pass\n"
#define RENAMED(from, to)                                                          \
	"diff --git a/" from " b/" to "\nsimilarity index 100%\nrename from " from \
	"\nrename to " to "\n"

static const struct {
	const char *policy, *patch, *test_patch;
	const char *want;
} changed_tests[] = {
    /* pure additions to an existing test, and new test files, need nobody */
    {CHANGED_POLICY, DIFF("src/x.c"),
     HUNK(TX,
	  "@@ -1,2 +1,5 @@\n import x\n+\n+def test_new():\n+    assert x.f()\n def test_a():\n"),
     "[]"},
    {CHANGED_POLICY, DIFF("src/x.c"), NEW_FILE("tests/test_new.py"), "[]"},
    {CHANGED_POLICY, DIFF("src/x.c"), NEW_FILE("tests/deep/er/test_new.py"), "[]"},
    /* a copy is a new file; its source is untouched */
    {CHANGED_POLICY, DIFF("src/x.c"),
     "diff --git a/" TX " b/tests/test_y.py\nsimilarity index 90%\ncopy from " TX
     "\ncopy to tests/test_y.py\nindex 1..2 100644\n--- a/" TX "\n+++ b/tests/test_y.py\n"
     "@@ -1,2 +1,2 @@\n-def test_a():\n+def test_b():\n     pass\n",
     "[]"},
    {CHANGED_POLICY, DIFF("src/x.c"), NULL, "[]"},
    /* a line removed, a line changed, whitespace changed (Python reads indentation), a
     * blank line removed */
    {CHANGED_POLICY, DIFF("src/x.c"),
     HUNK(TX, "@@ -1,3 +1,2 @@\n def test_a():\n-    assert f() == 2\n     pass\n"),
     "[" CHG(TX, "1 line removed") "]"},
    {CHANGED_POLICY, DIFF("src/x.c"),
     HUNK(TX, "@@ -1,3 +1,3 @@\n def test_a():\n-    assert f() == 2\n+    assert f() >= 0\n "
	      "    pass\n"),
     "[" CHG(TX, "1 line removed") "]"},
    {CHANGED_POLICY, DIFF("src/x.c"),
     HUNK(TX, "@@ -1,4 +1,4 @@\n def test_a():\n-    assert f()\n-    assert g()\n+    assert "
	      "f()\n+    return\n"
	      "     pass\n"),
     "[" CHG(TX, "2 lines removed") "]"},
    {CHANGED_POLICY, DIFF("src/x.c"),
     HUNK(TX, "@@ -1,2 +1,2 @@\n if x:\n-    assert f()\n+assert f()\n"),
     "[" CHG(TX, "1 line removed") "]"},
    {CHANGED_POLICY, DIFF("src/x.c"), HUNK(TX, "@@ -1,3 +1,2 @@\n a\n-\n b\n"),
     "[" CHG(TX, "1 line removed") "]"},
    /* a test file deleted, renamed (within the tests or out of them), its mode changed, a
     * binary change to it */
    {CHANGED_POLICY, DIFF("src/x.c"), DELETED(TX), "[" CHG(TX, "deleted") "]"},
    {CHANGED_POLICY, DIFF("src/x.c"), RENAMED(TX, "tests/test_y.py"),
     "[" CHG(TX, "renamed to tests/test_y.py") "]"},
    {CHANGED_POLICY, RENAMED(TX, "attic/x.py"), NULL, "[" CHG(TX, "renamed to attic/x.py") "]"},
    {CHANGED_POLICY, DIFF("src/x.c"), MODE_ONLY(TX), "[" CHG(TX, "mode 100644 to 100755") "]"},
    {CHANGED_POLICY, DIFF("src/x.c"),
     "diff --git a/" TX " b/" TX "\nold mode 100755\nnew mode 100644\n",
     "[" CHG(TX, "mode 100755 to 100644") "]"},
    {CHANGED_POLICY, DIFF("src/x.c"), BINARY_PATCH("tests/data.bin"),
     "[" CHG("tests/data.bin", "binary change") "]"},
    /* the patch counts too (static.patch_test_paths rejects it besides) */
    {CHANGED_POLICY, HUNK("lib/test_y.py", "@@ -1,2 +1 @@\n a\n-b\n"), NULL,
     "[" CHG("lib/test_y.py", "1 line removed") "]"},
    /* test configuration: touched in any way, by either patch, even by an addition */
    {CHANGED_POLICY, DIFF("src/x.c"), HUNK("tests/conftest.py", "@@ -1 +1,2 @@\n a\n+b\n"),
     "[" CHG("tests/conftest.py", "test configuration changed") "]"},
    {CHANGED_POLICY, DIFF("src/x.c"), NEW_FILE("tests/sub/conftest.py"),
     "[" CHG("tests/sub/conftest.py", "test configuration added") "]"},
    {CHANGED_POLICY, DIFF("pytest.ini"), NULL,
     "[" CHG("pytest.ini", "test configuration changed") "]"},
    {CHANGED_POLICY,
     HUNK("pyproject.toml",
	  "@@ -1 +1,2 @@\n [tool.pytest.ini_options]\n+addopts = \"-k 'not slow'\"\n"),
     NULL, "[" CHG("pyproject.toml", "test configuration changed") "]"},
    {CHANGED_POLICY, DELETED("setup.cfg"), NULL,
     "[" CHG("setup.cfg", "test configuration deleted") "]"},
    {CHANGED_POLICY, RENAMED("tox.ini", "old/tox.ini.bak"), NULL,
     "[" CHG("tox.ini", "test configuration renamed") "]"},
    {CHANGED_POLICY, DIFF("web/package.json") DIFF("web/jest.config.js") DIFF("vite.config.ts"),
     NULL,
     "[" CHG("web/package.json", "test configuration changed") "," CHG(
	 "web/jest.config.js",
	 "test configuration changed") "," CHG("vite.config.ts", "test configuration changed") "]"},
    {CHANGED_POLICY, DIFF("src/Makefile") DIFF("CMakeLists.txt") DIFF(".cargo/config.toml"), NULL,
     "[" CHG("src/Makefile", "test configuration changed") "," CHG(
	 "CMakeLists.txt", "test configuration changed") "," CHG(".cargo/config.toml",
								 "test configuration changed") "]"},
    {CHANGED_POLICY, MODE_ONLY(".mocharc.yml"), NULL,
     "[" CHG(".mocharc.yml", "test configuration changed") "]"},
    /* moving a file onto a configuration path */
    {CHANGED_POLICY, RENAMED("src/helpers.py", "conftest.py"), NULL,
     "[" CHG("conftest.py", "test configuration renamed") "]"},
    /* the policy adds its own */
    {"{\"reproduce\":{\"command\":[\"pytest\"]},\"test_config_paths\":[\"ci/**\"]}",
     DIFF("ci/run-tests.sh"), NULL, "[" CHG("ci/run-tests.sh", "test configuration changed") "]"},
    {CHANGED_POLICY, DIFF("ci/run-tests.sh"), NULL, "[]"},
    /* not configuration: names that only look alike */
    {CHANGED_POLICY, DIFF("src/my_conftest.py") DIFF("docs/Makefile.md") DIFF("package.json.bak"),
     NULL, "[]"},
    /* without test_paths no file is a test, but configuration still is */
    {"{\"reproduce\":{\"command\":[\"pytest\"]}}", DIFF("src/x.c"),
     HUNK(TX, "@@ -1,2 +1 @@\n a\n-b\n") DIFF("conftest.py"),
     "[" CHG("conftest.py", "test configuration changed") "]"},
    /* each path once, in the order met: the patch, then the test patch */
    {CHANGED_POLICY, DIFF("tox.ini") DIFF("src/x.c"),
     DELETED("tests/test_b.py") HUNK(TX, "@@ -1,2 +1 @@\n a\n-b\n") DIFF("tests/test_c.py"),
     "[" CHG("tox.ini", "test configuration changed") "," CHG("tests/test_b.py", "deleted") "," CHG(
	 TX, "1 line removed") "," CHG("tests/test_c.py", "1 line removed") "]"},
};

START_TEST(test_changed_tests)
{
	struct al_policy *p = policy(changed_tests[_i].policy);
	const char *tp = changed_tests[_i].test_patch;
	struct al_change_input in = {.patch = changed_tests[_i].patch,
				     .patch_len = strlen(changed_tests[_i].patch),
				     .test_patch = tp,
				     .test_patch_len = tp ? strlen(tp) : 0};
	struct al_err err = {0};
	json_t *got = NULL;

	ck_assert_msg(al_gates_changed_tests(p, &in, &got, &err) == 0, "%s", err.msg);
	assert_json(got, changed_tests[_i].want);
	json_decref(got);
	al_policy_free(p);
}
END_TEST

/* The runner's file lists (libgit2's parse) are judged as well: a deletion, rename or
 * mode change the text parse did not see is still found, and named once. */
START_TEST(test_changed_tests_lists)
{
	struct al_policy *p = policy(CHANGED_POLICY);
	json_t *runner =
	    load("[{\"path\":\"" TX "\",\"old_path\":\"" TX "\",\"status\":\"D\","
		 "\"old_mode\":33188,\"new_mode\":0,\"binary\":false},"
		 "{\"path\":\"tests/b.py\",\"old_path\":\"tests/a.py\",\"status\":\"R\","
		 "\"old_mode\":33188,\"new_mode\":33188,\"binary\":false},"
		 "{\"path\":\"tests/c.py\",\"old_path\":\"tests/c.py\",\"status\":\"M\","
		 "\"old_mode\":33188,\"new_mode\":33261,\"binary\":false},"
		 "{\"path\":\"tests/d.py\",\"old_path\":\"tests/d.py\",\"status\":\"M\","
		 "\"old_mode\":33188,\"new_mode\":33188,\"binary\":false},"
		 "{\"path\":\"tests/new.py\",\"status\":\"A\",\"old_mode\":0,"
		 "\"new_mode\":33188,\"binary\":false},"
		 "{\"path\":\"tests/conftest.py\"},{\"old_path\":\"x\"},7]");
	const json_t *lists[] = {NULL, runner};
	struct al_change_input in = {.patch = DIFF("src/x.c"),
				     .patch_len = strlen(DIFF("src/x.c")),
				     .test_patch = HUNK(TX, "@@ -1,2 +1 @@\n a\n-b\n"),
				     .test_patch_len = strlen(HUNK(TX, "@@ -1,2 +1 @@\n a\n-b\n")),
				     .lists = lists,
				     .n_lists = 2};
	struct al_err err = {0};
	json_t *got = NULL;

	ck_assert_int_eq(al_gates_changed_tests(p, &in, &got, &err), 0);
	assert_json(
	    got,
	    "[" CHG(TX, "1 line removed") "," CHG("tests/a.py", "renamed to tests/b.py") "," CHG(
		"tests/c.py", "mode 100644 to 100755") "," CHG("tests/conftest.py",
							       "test configuration changed") "]");
	json_decref(got);

	/* a text that does not parse is an error, not an empty list */
	in.test_patch = "@@ -1 +1 @@\n";
	in.test_patch_len = strlen(in.test_patch);
	got = NULL;
	ck_assert_int_eq(al_gates_changed_tests(p, &in, &got, &err), -EBADMSG);
	ck_assert_ptr_null(got);
	ck_assert_str_eq(err.msg, "line 1: hunk without a file header");
	ck_assert_int_eq(al_gates_changed_tests(NULL, &in, &got, &err), -EINVAL);
	ck_assert_int_eq(al_gates_changed_tests(p, NULL, &got, &err), -EINVAL);
	json_decref(runner);
	al_policy_free(p);
}
END_TEST

/* ---- approvals ---- */

#define TREE HEX40
#define OTHER_TREE "fedcba9876543210fedcba9876543210fedcba98"
#define APPROVAL(who, tree, rev) \
	"{\"reviewer\":\"" who "\",\"tree\":\"" tree "\",\"revision\":" #rev "}"
#define OK_BY(who) APPROVAL(who, TREE, 2)
#define APPROVALS_POLICY(n)                                                          \
	"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}],\"approvals\":{" \
	"\"required\":" #n "}}"
#define REVIEWERS_POLICY                                                             \
	"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}],\"approvals\":{" \
	"\"required\":1,\"reviewers\":[\"bob\",\"carol\"]}}"
#define CI ".github/workflows/ci.yml"
#define IGNORED(who, why) "{\"reviewer\":\"" who "\",\"why\":\"" why "\"}"
#define OWN "the proposer cannot approve their own proposal"

static const struct {
	const char *policy;
	const char *protected; /* json array, or NULL */
	const char *approvals; /* json array, or NULL */
	const char *result, *reason;
	unsigned need, have;
	const char *approved_by, *ignored;
	const char *changed; /* json array of changed tests, or NULL */
} approvals[] = {
    {CONTRACT_POLICY, NULL, "[]", "NOT_APPLICABLE", "no approval required", 0, 0, "[]", "[]", NULL},
    {CONTRACT_POLICY, "[]", NULL, "NOT_APPLICABLE", "no approval required", 0, 0, "[]", "[]", NULL},
    {CONTRACT_POLICY, NULL, "[" OK_BY("bob") "]", "NOT_APPLICABLE", "no approval required", 0, 1,
     "[\"bob\"]", "[]", NULL},
    /* a protected path needs a human even when the policy asks for none */
    {CONTRACT_POLICY, "[\"" CI "\"]", "[]", "UNSATISFIED",
     "0 of 1 approvals; touches protected path " CI, 1, 0, "[]", "[]", NULL},
    {CONTRACT_POLICY, "[\"" CI "\",\"CODEOWNERS\"]", NULL, "UNSATISFIED",
     "0 of 1 approvals; touches protected path " CI " and more", 1, 0, "[]", "[]", NULL},
    {CONTRACT_POLICY, "[\"" CI "\"]", "[" OK_BY("bob") "]", "SATISFIED", "1 of 1 approvals: bob", 1,
     1, "[\"bob\"]", "[]", NULL},
    /* ... and never lowers what the policy asks for */
    {APPROVALS_POLICY(2), "[\"" CI "\"]", "[" OK_BY("bob") "]", "UNSATISFIED",
     "1 of 2 approvals; touches protected path " CI, 2, 1, "[\"bob\"]", "[]", NULL},
    {APPROVALS_POLICY(1), NULL, NULL, "UNSATISFIED", "0 of 1 approvals; policy requires 1", 1, 0,
     "[]", "[]", NULL},
    /* a proposer approving their own proposal does not count */
    {APPROVALS_POLICY(1), NULL, "[" OK_BY("alice") "]", "UNSATISFIED",
     "0 of 1 approvals; policy requires 1", 1, 0, "[]", "[" IGNORED("alice", OWN) "]", NULL},
    {REVIEWERS_POLICY, "[\"" CI "\"]", "[" OK_BY("alice") "]", "UNSATISFIED",
     "0 of 1 approvals; touches protected path " CI, 1, 0, "[]", "[" IGNORED("alice", OWN) "]",
     NULL},
    /* only the reviewers the policy names count, when it names any */
    {REVIEWERS_POLICY, NULL, "[" OK_BY("mallory") "]", "UNSATISFIED",
     "0 of 1 approvals; policy requires 1", 1, 0, "[]",
     "[" IGNORED("mallory", "not one of the reviewers this policy names") "]", NULL},
    {REVIEWERS_POLICY, NULL, "[" OK_BY("mallory") "," OK_BY("carol") "]", "SATISFIED",
     "1 of 1 approvals: carol", 1, 1, "[\"carol\"]",
     "[" IGNORED("mallory", "not one of the reviewers this policy names") "]", NULL},
    /* stale: for an earlier revision or another tree */
    {APPROVALS_POLICY(1), NULL, "[" APPROVAL("bob", TREE, 1) "]", "UNSATISFIED",
     "0 of 1 approvals; policy requires 1", 1, 0, "[]",
     "[" IGNORED("bob", "stale: given for an earlier revision") "]", NULL},
    {APPROVALS_POLICY(1), NULL, "[" APPROVAL("bob", OTHER_TREE, 2) "]", "UNSATISFIED",
     "0 of 1 approvals; policy requires 1", 1, 0, "[]",
     "[" IGNORED("bob", "stale: given for another candidate tree") "]", NULL},
    {APPROVALS_POLICY(1), NULL, "[{\"reviewer\":\"bob\",\"revision\":2}]", "UNSATISFIED",
     "0 of 1 approvals; policy requires 1", 1, 0, "[]",
     "[" IGNORED("bob", "stale: given for another candidate tree") "]", NULL},
    {APPROVALS_POLICY(1), NULL, "[" APPROVAL("bob", TREE, "2") "]", "UNSATISFIED",
     "0 of 1 approvals; policy requires 1", 1, 0, "[]",
     "[" IGNORED("bob", "stale: given for an earlier revision") "]", NULL},
    {APPROVALS_POLICY(1), NULL, "[" APPROVAL("bob", TREE, 1) "," OK_BY("bob") "]", "SATISFIED",
     "1 of 1 approvals: bob", 1, 1, "[\"bob\"]",
     "[" IGNORED("bob", "stale: given for an earlier revision") "]", NULL},
    {APPROVALS_POLICY(1), NULL, "[{\"tree\":\"" TREE "\",\"revision\":2}]", "UNSATISFIED",
     "0 of 1 approvals; policy requires 1", 1, 0, "[]",
     "[" IGNORED("?", "approval without a reviewer name") "]", NULL},
    /* one reviewer, one approval */
    {APPROVALS_POLICY(2), NULL, "[" OK_BY("bob") "," OK_BY("bob") "]", "UNSATISFIED",
     "1 of 2 approvals; policy requires 2", 2, 1, "[\"bob\"]", "[]", NULL},
    {APPROVALS_POLICY(2), NULL, "[" OK_BY("bob") "," OK_BY("carol") "]", "SATISFIED",
     "2 of 2 approvals: bob, carol", 2, 2, "[\"bob\",\"carol\"]", "[]", NULL},
    {APPROVALS_POLICY(2), "[\"Makefile\"]",
     "[" OK_BY("carol") "," OK_BY("alice") "," OK_BY("bob") "," OK_BY("carol") "]", "SATISFIED",
     "2 of 2 approvals: carol, bob", 2, 2, "[\"carol\",\"bob\"]", "[" IGNORED("alice", OWN) "]",
     NULL},
    /* a weakened existing test needs a human even when the policy asks for none */
    {CONTRACT_POLICY, NULL, "[]", "UNSATISFIED",
     "0 of 1 approvals; changes existing tests: " TX " (2 lines removed)", 1, 0, "[]", "[]",
     "[" CHG(TX, "2 lines removed") "]"},
    {CONTRACT_POLICY, NULL, NULL, "UNSATISFIED",
     "0 of 1 approvals; changes existing tests: " TX " (deleted) and 2 more", 1, 0, "[]", "[]",
     "[" CHG(TX, "deleted") "," CHG("conftest.py", "test configuration changed") "," CHG(
	 "tests/a.py", "renamed to tests/b.py") "]"},
    {CONTRACT_POLICY, "[\"" CI "\"]", "[]", "UNSATISFIED",
     "0 of 1 approvals; touches protected path " CI "; changes existing tests: pytest.ini (test "
     "configuration changed)",
     1, 0, "[]", "[]", "[" CHG("pytest.ini", "test configuration changed") "]"},
    {CONTRACT_POLICY, NULL, "[" OK_BY("bob") "]", "SATISFIED", "1 of 1 approvals: bob", 1, 1,
     "[\"bob\"]", "[]", "[" CHG(TX, "mode 100644 to 100755") "]"},
    /* the proposer cannot approve their own weakening */
    {CONTRACT_POLICY, NULL, "[" OK_BY("alice") "]", "UNSATISFIED",
     "0 of 1 approvals; changes existing tests: " TX " (1 line removed)", 1, 0, "[]",
     "[" IGNORED("alice", OWN) "]", "[" CHG(TX, "1 line removed") "]"},
    {APPROVALS_POLICY(2), NULL, "[" OK_BY("bob") "]", "UNSATISFIED",
     "1 of 2 approvals; changes existing tests: " TX " (1 line removed)", 2, 1, "[\"bob\"]", "[]",
     "[" CHG(TX, "1 line removed") "]"},
    /* an empty list needs nobody */
    {CONTRACT_POLICY, NULL, "[]", "NOT_APPLICABLE", "no approval required", 0, 0, "[]", "[]", "[]"},
};

START_TEST(test_approval)
{
	struct al_policy *p = policy(approvals[_i].policy);
	json_t *prot = approvals[_i].protected ? load(approvals[_i].protected) : NULL;
	json_t *recorded = approvals[_i].approvals ? load(approvals[_i].approvals) : NULL;
	json_t *changed = approvals[_i].changed ? load(approvals[_i].changed) : NULL;
	struct al_approval_input in = {.proposer = "alice",
				       .tree = TREE,
				       .revision = 2,
				       .protected = prot,
				       .changed_tests = changed,
				       .approvals = recorded};
	unsigned need = 99, have = 99;
	struct al_err err = {0};
	json_t *rule = NULL, *ev;

	ck_assert_int_eq(al_gates_approval(p, &in, &rule, &need, &have, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(rule, "rule")), "approval");
	ck_assert_str_eq(json_string_value(json_object_get(rule, "result")), approvals[_i].result);
	ck_assert_str_eq(json_string_value(json_object_get(rule, "reason")), approvals[_i].reason);
	ck_assert_uint_eq(need, approvals[_i].need);
	ck_assert_uint_eq(have, approvals[_i].have);
	ev = json_object_get(rule, "evidence");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "required")), approvals[_i].need);
	assert_json(json_object_get(ev, "approved_by"), approvals[_i].approved_by);
	assert_json(json_object_get(ev, "ignored"), approvals[_i].ignored);
	assert_json(json_object_get(ev, "protected_paths"),
		    approvals[_i].protected ? approvals[_i].protected : "[]");
	assert_json(json_object_get(ev, "changed_tests"),
		    approvals[_i].changed ? approvals[_i].changed : "[]");
	json_decref(changed);
	json_decref(rule);
	json_decref(prot);
	json_decref(recorded);
	al_policy_free(p);
}
END_TEST

START_TEST(test_approval_bad)
{
	struct al_policy *p = policy(CONTRACT_POLICY);
	json_t *recorded = load("{\"reviewer\":\"bob\"}"), *rule = NULL;
	struct al_approval_input in = {
	    .proposer = "alice", .tree = TREE, .revision = 1, .approvals = recorded};
	struct al_err err = {0};

	ck_assert_int_eq(al_gates_approval(p, &in, &rule, NULL, NULL, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "approval: approvals must be an array");
	ck_assert_ptr_null(rule);
	ck_assert_int_eq(al_gates_approval(NULL, &in, &rule, NULL, NULL, &err), -EINVAL);
	ck_assert_int_eq(al_gates_approval(p, NULL, &rule, NULL, NULL, &err), -EINVAL);
	json_decref(recorded);
	al_policy_free(p);
}
END_TEST

static const struct {
	const char *policy, *proposer, *reviewer, *problem;
} approvers[] = {
    {APPROVALS_POLICY(1), "alice", "alice", OWN},
    {APPROVALS_POLICY(1), "alice", "bob", NULL},
    {APPROVALS_POLICY(1), NULL, "bob", NULL},
    {APPROVALS_POLICY(1), "alice", "", "approval without a reviewer name"},
    {APPROVALS_POLICY(1), "alice", NULL, "approval without a reviewer name"},
    {REVIEWERS_POLICY, "alice", "bob", NULL},
    {REVIEWERS_POLICY, "alice", "mallory", "not one of the reviewers this policy names"},
    /* being a named reviewer does not let one approve one's own proposal */
    {REVIEWERS_POLICY, "bob", "bob", OWN},
    {REVIEWERS_POLICY, "alice", "Bob", "not one of the reviewers this policy names"},
};

START_TEST(test_approver_problem)
{
	struct al_policy *p = policy(approvers[_i].policy);
	const char *got =
	    al_gates_approver_problem(p, approvers[_i].proposer, approvers[_i].reviewer);

	if (approvers[_i].problem)
		ck_assert_str_eq(got ? got : "(null)", approvers[_i].problem);
	else
		ck_assert_msg(got == NULL, "unexpected problem: %s", got);
	al_policy_free(p);
}
END_TEST

/* ---- authority ---- */

#define AUTHORITY_POLICY                                                                       \
	"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}],\"tiers\":{\"1\":{"        \
	"\"authority\":\"write\",\"refs\":[\"refs/heads/bots/*\"],\"lifetime_s\":600},\"2\":{" \
	"\"authority\":\"merge\",\"refs\":[\"refs/heads/main\",\"refs/heads/release/*\"],"     \
	"\"lifetime_s\":3600}}}"
#define NONE_POLICY                                                                     \
	"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}],\"tiers\":{\"1\":{" \
	"\"authority\":\"none\"},\"2\":{\"authority\":\"none\",\"lifetime_s\":60}}}"

static const struct {
	const char *policy;
	int tier;
	const char *base;
	const char *authority, *ref;
	unsigned lifetime_s;
	const char *why;
} authorities[] = {
    /* by default both tiers may write the proposal's own branch for a day */
    {CONTRACT_POLICY, 1, "main", "write", "refs/heads/airlock/5b0c7e", 86400,
     "tier 1 grants write to refs/heads/airlock/5b0c7e"},
    {CONTRACT_POLICY, 2, "main", "write", "refs/heads/airlock/5b0c7e", 86400,
     "tier 2 grants write to refs/heads/airlock/5b0c7e"},
    {AUTHORITY_POLICY, 1, "main", "write", "refs/heads/bots/5b0c7e", 600,
     "tier 1 grants write to refs/heads/bots/5b0c7e"},
    /* merge covers the base only when its full name is one of the tier's refs */
    {AUTHORITY_POLICY, 2, "main", "merge", "refs/heads/main", 3600,
     "tier 2 grants merge into refs/heads/main"},
    {AUTHORITY_POLICY, 2, "refs/heads/main", "merge", "refs/heads/main", 3600,
     "tier 2 grants merge into refs/heads/main"},
    {AUTHORITY_POLICY, 2, "release/2.0", "merge", "refs/heads/release/2.0", 3600,
     "tier 2 grants merge into refs/heads/release/2.0"},
    {AUTHORITY_POLICY, 2, "dev", "none", "", 3600,
     "tier 2 merges only into its named refs, not refs/heads/dev"},
    {AUTHORITY_POLICY, 2, "refs/heads/main2", "none", "", 3600,
     "tier 2 merges only into its named refs, not refs/heads/main2"},
    {AUTHORITY_POLICY, 2, "release/2.0/hotfix", "none", "", 3600,
     "tier 2 merges only into its named refs, not refs/heads/release/2.0/hotfix"},
    {AUTHORITY_POLICY, 2, "refs/tags/main", "none", "", 3600,
     "tier 2 merges only into its named refs, not refs/tags/main"},
    {NONE_POLICY, 1, "main", "none", "", 86400, "tier 1 grants none"},
    {NONE_POLICY, 2, "main", "none", "", 60, "tier 2 grants none"},
};

START_TEST(test_authority)
{
	struct al_policy *p = policy(authorities[_i].policy);
	struct al_authority a;
	char why[256] = "";

	memset(&a, 0x55, sizeof(a));
	ck_assert_int_eq(al_gates_authority(p, authorities[_i].tier, "5b0c7e", authorities[_i].base,
					    &a, why, sizeof(why)),
			 0);
	ck_assert_str_eq(a.authority, authorities[_i].authority);
	ck_assert_str_eq(a.ref, authorities[_i].ref);
	ck_assert_uint_eq(a.lifetime_s, authorities[_i].lifetime_s);
	ck_assert_str_eq(why, authorities[_i].why);
	al_policy_free(p);
}
END_TEST

START_TEST(test_promotion_flags)
{
	struct al_policy *p = policy("{" CONTRACT ",\"auto_promote\":true,"
				     "\"regate_on_base_change\":true}");
	struct al_policy *d = policy("{" CONTRACT "}");
	char *c = al_policy_canonical(p);
	struct al_err e = {0};
	struct al_policy *bad = NULL;
	json_t *j = json_loads("{" CONTRACT ",\"auto_promote\":\"yes\"}", 0, NULL);

	ck_assert(al_policy_auto_promote(p));
	ck_assert(al_policy_regate_on_base_change(p));
	ck_assert(!al_policy_auto_promote(d));
	ck_assert(!al_policy_regate_on_base_change(d));
	ck_assert_ptr_nonnull(strstr(c, "\"auto_promote\":true"));
	ck_assert_ptr_nonnull(strstr(c, "\"regate_on_base_change\":true"));
	ck_assert_int_eq(al_policy_parse(j, NULL, &bad, &e), -EINVAL);
	ck_assert_str_eq(al_err_msg(&e), "policy.auto_promote: expected a boolean");
	json_decref(j);
	free(c);
	al_policy_free(p);
	al_policy_free(d);
}
END_TEST

START_TEST(test_authority_bad)
{
	struct al_policy *p = policy(AUTHORITY_POLICY);
	struct al_authority a;
	char why[64], base[300];

	ck_assert_int_eq(al_gates_authority(p, 0, "p", "main", &a, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(al_gates_authority(p, 3, "p", "main", &a, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(al_gates_authority(p, 1, NULL, "main", &a, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(al_gates_authority(p, 1, "p", NULL, &a, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(al_gates_authority(NULL, 1, "p", "main", &a, why, sizeof(why)), -EINVAL);
	/* a base too long to name is refused, not cut to something that might match */
	memset(base, 'a', sizeof(base) - 1);
	base[sizeof(base) - 1] = '\0';
	ck_assert_int_eq(al_gates_authority(p, 2, "p", base, &a, why, sizeof(why)), -ENAMETOOLONG);
	/* a proposal id is hex; anything else would steer the write ref */
	ck_assert_int_eq(al_gates_authority(p, 1, "../../tags/v1", "main", &a, why, sizeof(why)),
			 -EINVAL);
	/* a base that climbs out of refs/heads/ matches the release glob as text, yet names
	 * no ref: merge falls to none */
	ck_assert_int_eq(
	    al_gates_authority(p, 2, "5b0c", "release/../../tags/v1", &a, why, sizeof(why)), 0);
	ck_assert_str_eq(a.authority, "none");
	ck_assert_str_eq(a.ref, "");
	ck_assert_str_eq(why, "tier 2 merges only into a named ref");
	ck_assert_int_eq(al_gates_authority(p, 2, "5b0c", "release/v1.lock", &a, why, sizeof(why)),
			 0);
	ck_assert_str_eq(a.authority, "none");
	al_policy_free(p);
}
END_TEST

/* ---- judge: verdicts of a gate run and of a reviewer's decision ---- */

#define RULE(name, result, reason)                                              \
	"{\"rule\":\"" name "\",\"result\":\"" result "\",\"reason\":\"" reason \
	"\",\"evidence\":{}}"
#define OK_RULE(name) RULE(name, "SATISFIED", name " ok")
#define JUDGE_ID "5b0c7e"
#define PLAIN_PATCH DIFF("src/a.c")
#define RUNS(decision, rules) "{\"decision\":\"" decision "\",\"rules\":[" rules "]}"

static const struct {
	const char *rules, *more, *want;
} judge_merges[] = {
    /* a rule seen twice keeps the worse result, whichever side saw it fail */
    {"[" OK_RULE("binary") "]", "[" RULE("binary", "UNSATISFIED", "binary file") "]",
     "[" RULE("binary", "UNSATISFIED", "binary file") "]"},
    {"[" RULE("binary", "UNSATISFIED", "binary file") "]", "[" OK_RULE("binary") "]",
     "[" RULE("binary", "UNSATISFIED", "binary file") "]"},
    {"[" RULE("binary", "ERROR", "could not read") "]", "[" OK_RULE("binary") "]",
     "[" RULE("binary", "ERROR", "could not read") "]"},
    {"[" RULE("paths", "NOT_APPLICABLE", "none") "]", "[" RULE("paths", "ERROR", "broken") "]",
     "[" RULE("paths", "ERROR", "broken") "]"},
    {"[" OK_RULE("binary") "]", "[" RULE("binary", "NOT_APPLICABLE", "none") "]",
     "[" OK_RULE("binary") "]"},
    /* a rule seen once is added, in order */
    {"[" OK_RULE("binary") "]",
     "[" OK_RULE("reproduce") "," RULE("contract", "UNSATISFIED", "x") "]",
     "[" OK_RULE("binary") "," OK_RULE("reproduce") "," RULE("contract", "UNSATISFIED", "x") "]"},
    {"[]", "[" OK_RULE("binary") "]", "[" OK_RULE("binary") "]"},
    {"[" OK_RULE("binary") "]", "[]", "[" OK_RULE("binary") "]"},
};

START_TEST(test_judge_merge)
{
	json_t *rules = load(judge_merges[_i].rules), *more = load(judge_merges[_i].more);

	al_judge_merge(rules, more);
	assert_json(rules, judge_merges[_i].want);
	json_decref(rules);
	json_decref(more);
}
END_TEST

static const struct {
	const char *rules;
	const char *failure; /* the rule al_judge_first_failure names; NULL: none */
	const char *reason;  /* of the rejection */
} judge_failures[] = {
    {"[]", NULL, "rejected"},
    {"[" OK_RULE("binary") "," RULE("paths", "NOT_APPLICABLE", "none") "]", NULL, "rejected"},
    {"[" OK_RULE("binary") "," RULE("paths", "UNSATISFIED",
				    "touches x") "," RULE("contract", "ERROR", "broke") "]",
     "paths", "touches x"},
    {"[" RULE("contract", "ERROR", "runner crashed") "]", "contract", "runner crashed"},
    /* a result the gates do not know, or none at all, is a failure */
    {"[" RULE("contract", "MAYBE", "who knows") "]", "contract", "who knows"},
    {"[{\"rule\":\"contract\",\"reason\":\"no result\"}]", "contract", "no result"},
    {"[{\"rule\":\"contract\",\"result\":\"SATISFIED \",\"reason\":\"spaced\"}]", "contract",
     "spaced"},
    /* a failing rule without a reason still rejects */
    {"[{\"rule\":\"contract\",\"result\":\"UNSATISFIED\"}]", "contract", "rejected"},
};

START_TEST(test_judge_rejection)
{
	json_t *rules = load(judge_failures[_i].rules), *v;
	const json_t *f = al_judge_first_failure(rules);

	if (judge_failures[_i].failure)
		ck_assert_str_eq(json_string_value(json_object_get(f, "rule")),
				 judge_failures[_i].failure);
	else
		ck_assert_ptr_null(f);
	v = al_judge_rejection(rules);
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "rejected");
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")),
			 judge_failures[_i].reason);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "tier")), 0);
	ck_assert_ptr_null(json_object_get(v, "authority"));
	assert_json(json_object_get(v, "rules"), judge_failures[_i].rules);
	json_decref(v);
	json_decref(rules);
}
END_TEST

#define JUDGE_TIERS_POLICY                                                              \
	"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}],\"tiers\":{\"1\":{" \
	"\"authority\":\"none\"}}}"

static const struct {
	const char *policy;
	const char *patch;	  /* NULL: PLAIN_PATCH */
	const char *runner_files; /* NULL: none */
	const char *static_rules;
	const char *run_verdict; /* NULL: none */
	const char *decision, *reason;
	int tier;
	const char *authority, *ref; /* NULL: no authority in the verdict */
	const char *approval;	     /* the approval rule's result; NULL: none judged */
} judge_runs[] = {
    {CONTRACT_POLICY, NULL, NULL, "[" OK_RULE("binary") "]", RUNS("granted", OK_RULE("contract")),
     "granted", "all gates satisfied", 1, "write", "refs/heads/airlock/" JUDGE_ID,
     "NOT_APPLICABLE"},
    {JUDGE_TIERS_POLICY, NULL, NULL, "[" OK_RULE("binary") "]",
     RUNS("granted", OK_RULE("contract")), "granted", "all gates satisfied", 1, "none", NULL,
     "NOT_APPLICABLE"},
    /* a failing static rule is never rescued by passing runs */
    {CONTRACT_POLICY, NULL, NULL, "[" RULE("binary", "UNSATISFIED", "binary file bin/x") "]",
     RUNS("granted", OK_RULE("contract") "," OK_RULE("binary")), "rejected", "binary file bin/x", 0,
     NULL, NULL, NULL},
    /* a runs verdict that says granted with a failing rule inside */
    {CONTRACT_POLICY, NULL, NULL, "[" OK_RULE("binary") "]",
     RUNS("granted", RULE("contract", "UNSATISFIED", "unit failed on the candidate")), "rejected",
     "unit failed on the candidate", 0, NULL, NULL, NULL},
    {CONTRACT_POLICY, NULL, NULL, "[" OK_RULE("binary") "]",
     RUNS("granted", OK_RULE("contract") "," RULE("binary", "UNSATISFIED", "seen by libgit2")),
     "rejected", "seen by libgit2", 0, NULL, NULL, NULL},
    /* an ERROR rejects, from either side */
    {CONTRACT_POLICY, NULL, NULL, "[" OK_RULE("binary") "]",
     RUNS("granted", RULE("contract", "ERROR", "the runner crashed")), "rejected",
     "the runner crashed", 0, NULL, NULL, NULL},
    {CONTRACT_POLICY, NULL, NULL,
     "[" OK_RULE("binary") "," RULE("secrets", "ERROR", "scan failed") "]",
     RUNS("granted", OK_RULE("contract")), "rejected", "scan failed", 0, NULL, NULL, NULL},
    /* the runs' own rejection stands even with no failing rule to name */
    {CONTRACT_POLICY, NULL, NULL, "[" OK_RULE("binary") "]", RUNS("rejected", OK_RULE("contract")),
     "rejected", "rejected", 0, NULL, NULL, NULL},
    {CONTRACT_POLICY, NULL, NULL, "[" OK_RULE("binary") "]", "{\"rules\":[]}", "rejected",
     "rejected", 0, NULL, NULL, NULL},
    {CONTRACT_POLICY, NULL, NULL, "[" OK_RULE("binary") "]", NULL, "rejected", "rejected", 0, NULL,
     NULL, NULL},
    {CONTRACT_POLICY, NULL, NULL, "[" OK_RULE("binary") "]", RUNS("GRANTED", OK_RULE("contract")),
     "rejected", "rejected", 0, NULL, NULL, NULL},
    /* nothing satisfied (every rule not applicable): nothing shows the change works */
    {CONTRACT_POLICY, NULL, NULL, "[" RULE("binary", "NOT_APPLICABLE", "no binary") "]",
     RUNS("granted", RULE("contract", "NOT_APPLICABLE", "no contract ran")), "rejected",
     "no rule was satisfied: nothing shows the change works", 0, NULL, NULL, NULL},
    /* every gate satisfied: the approval rule decides between tier 1 and a wait */
    {APPROVALS_POLICY(1), NULL, NULL, "[" OK_RULE("binary") "]",
     RUNS("granted", OK_RULE("contract")), "awaiting_approval",
     "0 of 1 approvals; policy requires 1", 1, NULL, NULL, "UNSATISFIED"},
    {CONTRACT_POLICY, DIFF(CI), NULL, "[" OK_RULE("binary") "]",
     RUNS("granted", OK_RULE("contract")), "awaiting_approval",
     "0 of 1 approvals; touches protected path " CI, 1, NULL, NULL, "UNSATISFIED"},
    /* what libgit2 saw counts even when the patch text hides it */
    {CONTRACT_POLICY, NULL, "{\"patch\":[{\"path\":\"" CI "\"}],\"test_patch\":[]}",
     "[" OK_RULE("binary") "]", RUNS("granted", OK_RULE("contract")), "awaiting_approval",
     "0 of 1 approvals; touches protected path " CI, 1, NULL, NULL, "UNSATISFIED"},
    {CHANGED_POLICY, DELETED(TX), NULL, "[" OK_RULE("binary") "]",
     RUNS("granted", OK_RULE("contract")), "awaiting_approval",
     "0 of 1 approvals; changes existing tests: " TX " (deleted)", 1, NULL, NULL, "UNSATISFIED"},
};

START_TEST(test_judge_run)
{
	struct al_policy *p = policy(judge_runs[_i].policy);
	const char *patch = judge_runs[_i].patch ? judge_runs[_i].patch : PLAIN_PATCH;
	json_t *files = judge_runs[_i].runner_files ? load(judge_runs[_i].runner_files) : NULL;
	json_t *runs = judge_runs[_i].run_verdict ? load(judge_runs[_i].run_verdict) : NULL;
	json_t *rules = load(judge_runs[_i].static_rules), *v = NULL;
	struct al_judge_job job = {.id = JUDGE_ID,
				   .base = "main",
				   .proposer = "alice",
				   .patch = patch,
				   .patch_len = strlen(patch),
				   .runner_files = files};
	struct al_err err = {0};
	int tier = -1;

	ck_assert_msg(al_judge_run(p, &job, rules, runs, &v, &tier, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")),
			 judge_runs[_i].decision);
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), judge_runs[_i].reason);
	ck_assert_int_eq(tier, judge_runs[_i].tier);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "tier")), judge_runs[_i].tier);
	if (judge_runs[_i].authority)
		ck_assert_str_eq(json_string_value(json_object_get(v, "authority")),
				 judge_runs[_i].authority);
	else
		ck_assert_ptr_null(json_object_get(v, "authority"));
	/* no ref: none, or null */
	if (judge_runs[_i].ref)
		ck_assert_str_eq(json_string_value(json_object_get(v, "ref")), judge_runs[_i].ref);
	else
		ck_assert(!json_is_string(json_object_get(v, "ref")));
	/* the verdict shows every rule: the static ones, the runs' and the approval rule */
	assert_rules_have_evidence(json_object_get(v, "rules"));
	rule_of(json_object_get(v, "rules"), "binary");
	if (judge_runs[_i].approval)
		assert_rule(json_object_get(v, "rules"), "approval", judge_runs[_i].approval, NULL);
	json_decref(v);
	json_decref(runs);
	json_decref(files);
	al_policy_free(p);
}
END_TEST

/* A static rule that fails on either parse stays failed once the runs' rules are in. */
START_TEST(test_judge_run_static_twice)
{
	struct al_policy *p = policy(CONTRACT_POLICY);
	json_t *rules = load("[" OK_RULE("binary") "," RULE("binary", "UNSATISFIED", "hidden") "]");
	json_t *runs = load(RUNS("granted", OK_RULE("binary") "," OK_RULE("contract")));
	struct al_judge_job job = {.id = JUDGE_ID,
				   .base = "main",
				   .proposer = "alice",
				   .patch = PLAIN_PATCH,
				   .patch_len = strlen(PLAIN_PATCH)};
	struct al_err err = {0};
	json_t *v = NULL;
	int tier = -1;

	ck_assert_int_eq(al_judge_run(p, &job, rules, runs, &v, &tier, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "rejected");
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")), "hidden");
	ck_assert_int_eq(tier, 0);
	json_decref(v);
	json_decref(runs);
	al_policy_free(p);
}
END_TEST

#define DEC(who, tree, rev, what)                                              \
	"{\"reviewer\":\"" who "\",\"decision\":\"" what "\",\"tree\":\"" tree \
	"\",\"revision\":" #rev ",\"created\":1}"
#define YES(who) DEC(who, TREE, 2, "approve")
#define STORED_VERDICT(protected)                                                                  \
	"{\"decision\":\"awaiting_approval\",\"reason\":\"waiting\",\"tier\":1,\"rules\":"         \
	"[" OK_RULE(                                                                               \
	    "binary") ",{\"rule\":\"approval\",\"result\":\"UNSATISFIED\",\"reason\":\"waiting\"," \
		      "\"evidence\":{\"required\":1,\"approved_by\":[],\"ignored\":[],"            \
		      "\"protected_paths\":" protected ",\"changed_tests\":[]}}]}"

static const struct {
	const char *policy;
	const char *protected; /* the stored approval rule's protected paths */
	const char *approvals; /* every recorded decision, this one last */
	const char *reviewer, *decision, *comment;
	const char *state, *reason;
	int tier;
	const char *counted;	     /* NULL: no grant */
	const char *authority, *ref; /* of a grant */
} judge_decisions[] = {
    {APPROVALS_POLICY(1), "[]", "[" YES("bob") "]", "bob", "approve", NULL, "granted",
     "all gates satisfied and approved", 2, "[" YES("bob") "]", "write",
     "refs/heads/airlock/" JUDGE_ID},
    {APPROVALS_POLICY(2), "[]", "[" YES("bob") "]", "bob", "approve", NULL, "awaiting_approval",
     "1 of 2 approvals; policy requires 2", 1, NULL, NULL, NULL},
    {APPROVALS_POLICY(2), "[]", "[" YES("bob") "," YES("carol") "]", "carol", "approve", "lgtm",
     "granted", "all gates satisfied and approved", 2, "[" YES("bob") "," YES("carol") "]", "write",
     "refs/heads/airlock/" JUDGE_ID},
    /* a reject always rejects, however many approvals are in */
    {APPROVALS_POLICY(1), "[]", "[" YES("bob") "," DEC("carol", TREE, 2, "reject") "]", "carol",
     "reject", "breaks the build", "rejected", "rejected by carol: breaks the build", 0, NULL, NULL,
     NULL},
    {APPROVALS_POLICY(0), "[]", "[" DEC("carol", TREE, 2, "reject") "]", "carol", "reject", NULL,
     "rejected", "rejected by carol", 0, NULL, NULL, NULL},
    /* a word that is not "approve" never approves */
    {APPROVALS_POLICY(1), "[]", "[" DEC("bob", TREE, 2, "Approve") "]", "bob", "Approve", NULL,
     "rejected", "rejected by bob", 0, NULL, NULL, NULL},
    /* approvals for another revision or tree do not count */
    {APPROVALS_POLICY(2), "[]", "[" DEC("carol", TREE, 1, "approve") "," YES("bob") "]", "bob",
     "approve", NULL, "awaiting_approval", "1 of 2 approvals; policy requires 2", 1, NULL, NULL,
     NULL},
    {APPROVALS_POLICY(2), "[]", "[" DEC("carol", OTHER_TREE, 2, "approve") "," YES("bob") "]",
     "bob", "approve", NULL, "awaiting_approval", "1 of 2 approvals; policy requires 2", 1, NULL,
     NULL, NULL},
    /* the proposer's own approval does not count */
    {APPROVALS_POLICY(1), "[]", "[" YES("alice") "]", "alice", "approve", NULL, "awaiting_approval",
     "0 of 1 approvals; policy requires 1", 1, NULL, NULL, NULL},
    {REVIEWERS_POLICY, "[]", "[" YES("mallory") "]", "mallory", "approve", NULL,
     "awaiting_approval", "0 of 1 approvals; policy requires 1", 1, NULL, NULL, NULL},
    /* one reviewer, one approval */
    {APPROVALS_POLICY(2), "[]", "[" YES("bob") "," YES("bob") "]", "bob", "approve", NULL,
     "awaiting_approval", "1 of 2 approvals; policy requires 2", 1, NULL, NULL, NULL},
    /* a grant carries exactly the counted approvals: not the stale, own or other ones */
    {APPROVALS_POLICY(2), "[]",
     "[" DEC("bob", TREE, 1, "approve") "," YES("alice") "," DEC(
	 "dave", OTHER_TREE, 2, "approve") "," YES("bob") "," DEC("erin", TREE, 2,
								  "comment") "," YES("carol") "]",
     "carol", "approve", NULL, "granted", "all gates satisfied and approved", 2,
     "[" YES("bob") "," YES("carol") "]", "write", "refs/heads/airlock/" JUDGE_ID},
    /* a protected path the gates found needs a human even under a policy that asks none */
    {CONTRACT_POLICY, "[\"" CI "\"]", "[" YES("alice") "]", "alice", "approve", NULL,
     "awaiting_approval", "0 of 1 approvals; touches protected path " CI, 1, NULL, NULL, NULL},
    {CONTRACT_POLICY, "[\"" CI "\"]", "[" YES("bob") "]", "bob", "approve", NULL, "granted",
     "all gates satisfied and approved", 2, "[" YES("bob") "]", "write",
     "refs/heads/airlock/" JUDGE_ID},
    /* tier 2's own authority */
    {AUTHORITY_POLICY, "[\"" CI "\"]", "[" YES("bob") "]", "bob", "approve", NULL, "granted",
     "all gates satisfied and approved", 2, "[" YES("bob") "]", "merge", "refs/heads/main"},
};

START_TEST(test_judge_decision)
{
	struct al_policy *p = policy(judge_decisions[_i].policy);
	json_t *verdict, *recorded = load(judge_decisions[_i].approvals), *v = NULL,
			 *counted = NULL;
	struct al_judge_decision in = {.id = JUDGE_ID,
				       .base = "main",
				       .proposer = "alice",
				       .tree = TREE,
				       .revision = 2,
				       .approvals = recorded,
				       .reviewer = judge_decisions[_i].reviewer,
				       .decision = judge_decisions[_i].decision,
				       .comment = judge_decisions[_i].comment};
	const char *state = NULL;
	struct al_err err = {0};
	char text[1024];
	int tier = -1;

	/* the stored approval rule names what the gates found needs a human */
	snprintf(text, sizeof(text), STORED_VERDICT("%s"), judge_decisions[_i].protected);
	verdict = load(text);
	in.verdict = verdict;
	ck_assert_msg(al_judge_decision(p, &in, &v, &state, &tier, &counted, &err) == 0, "%s",
		      err.msg);
	ck_assert_str_eq(state, judge_decisions[_i].state);
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")),
			 judge_decisions[_i].state);
	ck_assert_str_eq(json_string_value(json_object_get(v, "reason")),
			 judge_decisions[_i].reason);
	ck_assert_int_eq(tier, judge_decisions[_i].tier);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "tier")), judge_decisions[_i].tier);
	if (judge_decisions[_i].counted)
		assert_json(counted, judge_decisions[_i].counted);
	else
		ck_assert_ptr_null(counted);
	if (judge_decisions[_i].authority) {
		ck_assert_str_eq(json_string_value(json_object_get(v, "authority")),
				 judge_decisions[_i].authority);
		ck_assert_str_eq(json_string_value(json_object_get(v, "ref")),
				 judge_decisions[_i].ref);
	} else {
		ck_assert_ptr_null(json_object_get(v, "authority"));
	}
	/* the approval rule is replaced, the others kept as they were */
	ck_assert_uint_eq(json_array_size(json_object_get(v, "rules")), 2);
	assert_rule(json_object_get(v, "rules"), "binary", "SATISFIED", "binary ok");
	assert_rule(json_object_get(v, "rules"), "approval",
		    !strcmp(judge_decisions[_i].state, "granted") ? "SATISFIED" : "UNSATISFIED",
		    NULL);
	/* the stored verdict is not changed */
	assert_rule(json_object_get(verdict, "rules"), "approval", "UNSATISFIED", "waiting");
	json_decref(counted);
	json_decref(v);
	json_decref(recorded);
	json_decref(verdict);
	al_policy_free(p);
}
END_TEST

/* ---- automatic quarantine (gates/quarantine.c) ---- */

static const struct {
	const char *name;
	bool escape;
} escape_names[] = {
    {"ptrace", true},
    {"mount", true},
    {"unshare", true},
    {"setns", true},
    {"bpf", true},
    {"keyctl", true},
    {"pivot_root", true},
    {"umount2", true},
    {"init_module", true},
    {"kexec_load", true},
    {"perf_event_open", true},
    {"process_vm_readv", true},
    {"clone", true},
    /* the record's overflow: filling its named slots first must not hide an escape */
    {"(other)", true},
    /* denied, but a runtime may probe them on its own */
    {"io_uring_setup", false},
    {"socket", false},
    {"personality", false},
    {"ioctl", false},
    {"clock_settime", false},
    {"syslog", false},
    /* near misses */
    {"", false},
    {"ptrace ", false},
    {"PTRACE", false},
    {"mount2", false},
};

START_TEST(test_escape_syscall)
{
	ck_assert_msg(al_gates_escape_syscall(escape_names[_i].name) == escape_names[_i].escape,
		      "%s", escape_names[_i].name);
	ck_assert(!al_gates_escape_syscall(NULL));
}
END_TEST

#define QRUN(status, denied)                                                                   \
	"{\"status\":\"" status "\",\"exit_code\":0,\"signal\":0,\"wall_ms\":10,\"cpu_ms\":5," \
	"\"max_rss_kb\":900,\"killed\":false,\"stdout_bytes\":0,\"stdout_dropped\":0,"         \
	"\"stderr_bytes\":0,\"stderr_dropped\":0,\"denied\":[" denied "]}"
#define QDENY(name, n) "{\"syscall\":\"" name "\",\"count\":" #n "}"
#define QRULE(rule, result) "{\"rule\":\"" rule "\",\"result\":\"" result "\",\"reason\":\"x\"}"

static const struct {
	const char *result, *verdict, *state;
	unsigned escape, stat, kill, rejected;
	const char *calls;
} anomalies[] = {
    /* a clean job counts for nothing */
    {"{\"runs\":[" QRUN("OK", "") "]}", "{\"rules\":[" QRULE("static.secrets", "SATISFIED") "]}",
     "granted", 0, 0, 0, 0, ""},
    /* escape-class calls, named once each whatever the runs */
    {"{\"runs\":[" QRUN("OK", QDENY("ptrace", 3) "," QDENY("mount", 1)) "," QRUN(
	 "RE", QDENY("unshare", 2) "," QDENY("ptrace", 1)) "]}",
     NULL, "granted", 1, 0, 0, 0, "ptrace,mount,unshare"},
    /* denied calls that are no escape */
    {"{\"runs\":[" QRUN("OK", QDENY("socket", 9) "," QDENY("io_uring_setup", 1)) "]}", NULL,
     "granted", 0, 0, 0, 0, ""},
    /* a count of 0 is no denial */
    {"{\"runs\":[" QRUN("OK", QDENY("ptrace", 0)) "]}", NULL, "granted", 0, 0, 0, 0, ""},
    {"{\"runs\":[" QRUN("OK", QDENY("(other)", 4)) "]}", NULL, "granted", 1, 0, 0, 0, "(other)"},
    /* killed at its time or memory cap; a plain failure or signal is not */
    {"{\"runs\":[" QRUN("TO", "") "]}", NULL, "rejected", 0, 0, 1, 1, ""},
    {"{\"runs\":[" QRUN("OOM", "") "]}", NULL, "rejected", 0, 0, 1, 1, ""},
    {"{\"runs\":[" QRUN("RE", "") "," QRUN("SG", "") "]}", NULL, "rejected", 0, 0, 0, 1, ""},
    /* a malformed run record counts for nothing here (the verdict rejects it) */
    {"{\"runs\":[{\"status\":\"OOM\",\"denied\":[" QDENY("ptrace", 1) "]}]}", NULL, "rejected", 0,
     0, 0, 1, ""},
    {"{\"runs\":{}}", NULL, "error", 0, 0, 0, 0, ""},
    /* the static rules that count: secrets, paths (.git/, .., absolute), symlinks */
    {NULL, "{\"rules\":[" QRULE("static.secrets", "UNSATISFIED") "]}", "rejected", 0, 1, 0, 1, ""},
    {NULL, "{\"rules\":[" QRULE("static.paths", "UNSATISFIED") "]}", "rejected", 0, 1, 0, 1, ""},
    {NULL, "{\"rules\":[" QRULE("static.symlinks", "UNSATISFIED") "]}", "rejected", 0, 1, 0, 1, ""},
    /* ones that do not: other rules, or these satisfied */
    {NULL,
     "{\"rules\":[" QRULE("static.limits", "UNSATISFIED") "," QRULE("static.paths",
								    "SATISFIED") "]}",
     "rejected", 0, 0, 0, 1, ""},
    {NULL, NULL, NULL, 0, 0, 0, 0, ""},
    {NULL, NULL, "awaiting_approval", 0, 0, 0, 0, ""},
};

START_TEST(test_anomaly)
{
	json_t *result = anomalies[_i].result ? load(anomalies[_i].result) : NULL;
	json_t *verdict = anomalies[_i].verdict ? load(anomalies[_i].verdict) : NULL;
	struct al_anomaly a;

	memset(&a, 0xa5, sizeof(a));
	al_gates_anomaly(result, verdict, anomalies[_i].state, &a);
	ck_assert_uint_eq(a.n[AL_ANOMALY_ESCAPE], anomalies[_i].escape);
	ck_assert_uint_eq(a.n[AL_ANOMALY_STATIC], anomalies[_i].stat);
	ck_assert_uint_eq(a.n[AL_ANOMALY_KILL], anomalies[_i].kill);
	ck_assert_uint_eq(a.n[AL_ANOMALY_REJECTED], anomalies[_i].rejected);
	ck_assert_str_eq(a.calls, anomalies[_i].calls);
	json_decref(result);
	json_decref(verdict);
}
END_TEST

/* Denied egress counts once per job, allowed connections never. */
START_TEST(test_anomaly_egress)
{
	json_t *allowed = load("{\"egress\":[{\"host\":\"a.test\",\"decision\":\"allowed\"}]}");
	json_t *denied = load("{\"egress\":[{\"host\":\"a.test\",\"decision\":\"allowed\"},"
			      "{\"host\":\"b.test\",\"decision\":\"denied\"},"
			      "{\"host\":\"c.test\",\"decision\":\"denied\"}]}");
	struct al_anomaly a;

	al_gates_anomaly(allowed, NULL, "granted", &a);
	ck_assert_uint_eq(a.n[AL_ANOMALY_EGRESS], 0);
	al_gates_anomaly(denied, NULL, "granted", &a);
	ck_assert_uint_eq(a.n[AL_ANOMALY_EGRESS], 1);
	ck_assert_uint_eq(a.n[AL_ANOMALY_REJECTED], 0);
	json_decref(allowed);
	json_decref(denied);
}
END_TEST

/* A record naming every escape call several times over: the list stays within its size. */
START_TEST(test_anomaly_calls_cap)
{
	static const char *const names[] = {
	    "ptrace",	    "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	    "keyctl",	    "add_key",		"request_key",	     "perf_event_open",
	    "userfaultfd",  "mount_setattr",	"kexec_file_load",   "open_by_handle_at",
	    "finit_module", "delete_module",	"move_mount",	     "open_tree"};
	json_t *runs = json_array(), *result = json_pack("{s:o}", "runs", runs);
	struct al_anomaly a;

	for (int k = 0; k < 4; k++) {
		json_t *run = load(QRUN("OK", "")), *denied = json_object_get(run, "denied");

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			json_array_append_new(
			    denied, json_pack("{s:s, s:i}", "syscall", names[i], "count", 1));
		json_array_append_new(runs, run);
	}
	al_gates_anomaly(result, NULL, "granted", &a);
	ck_assert_uint_eq(a.n[AL_ANOMALY_ESCAPE], 1);
	ck_assert_uint_lt(strlen(a.calls), sizeof(a.calls));
	ck_assert_str_eq(strstr(a.calls, "ptrace,process_vm_readv") == a.calls ? "first" : "",
			 "first");
	json_decref(result);
}
END_TEST

static const struct {
	const char *policy; /* the "quarantine" object, or NULL for none */
	int ok;
	unsigned window_s, escape, stat, kill, rejected;
} qpolicies[] = {
    {NULL, 0, 3600, 3, 3, 5, 20},
    {"{}", 0, 3600, 3, 3, 5, 20},
    {"{\"window_minutes\":10,\"escape_jobs\":2}", 0, 600, 2, 3, 5, 20},
    {"{\"static_hits\":0,\"kill_jobs\":1,\"rejected\":1000}", 0, 3600, 3, 0, 1, 1000},
    {"{\"window_minutes\":10080}", 0, 604800, 3, 3, 5, 20},
    {"{\"window_minutes\":0}", -EINVAL, 0, 0, 0, 0, 0},
    {"{\"window_minutes\":10081}", -EINVAL, 0, 0, 0, 0, 0},
    {"{\"escape_jobs\":-1}", -EINVAL, 0, 0, 0, 0, 0},
    {"{\"escape_jobs\":1001}", -EINVAL, 0, 0, 0, 0, 0},
    {"{\"escape_jobs\":\"2\"}", -EINVAL, 0, 0, 0, 0, 0},
    {"{\"escape_jobz\":2}", -EINVAL, 0, 0, 0, 0, 0},
    {"[]", -EINVAL, 0, 0, 0, 0, 0},
    {"true", -EINVAL, 0, 0, 0, 0, 0},
};

START_TEST(test_quarantine_policy)
{
	char text[512];
	struct al_err err = {0};
	struct al_policy *p = NULL;
	struct al_quarantine_rules q;
	json_t *j;

	snprintf(text, sizeof(text),
		 "{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\",\"check\"]}]%s%s}",
		 qpolicies[_i].policy ? ",\"quarantine\":" : "",
		 qpolicies[_i].policy ? qpolicies[_i].policy : "");
	j = load(text);
	ck_assert_int_eq(al_policy_parse(j, WHERE, &p, &err), qpolicies[_i].ok);
	json_decref(j);
	if (qpolicies[_i].ok < 0) {
		ck_assert_msg(strstr(err.msg, WHERE ".quarantine") != NULL, "%s", err.msg);
		return;
	}
	al_policy_quarantine(p, &q);
	ck_assert_uint_eq(q.window_s, qpolicies[_i].window_s);
	ck_assert_uint_eq(q.limit[AL_ANOMALY_ESCAPE], qpolicies[_i].escape);
	ck_assert_uint_eq(q.limit[AL_ANOMALY_STATIC], qpolicies[_i].stat);
	ck_assert_uint_eq(q.limit[AL_ANOMALY_KILL], qpolicies[_i].kill);
	ck_assert_uint_eq(q.limit[AL_ANOMALY_REJECTED], qpolicies[_i].rejected);
	al_policy_free(p);
}
END_TEST

/* The limits judge the proposer, not the patch: they leave the digest alone. */
START_TEST(test_quarantine_not_digested)
{
	struct al_policy *a = policy("{\"contract\":[{\"name\":\"u\",\"command\":[\"true\"]}]}");
	struct al_policy *b = policy("{\"contract\":[{\"name\":\"u\",\"command\":[\"true\"]}],"
				     "\"quarantine\":{\"escape_jobs\":1}}");
	char *ca = al_policy_canonical(a), *cb = al_policy_canonical(b);

	ck_assert_str_eq(ca, cb);
	free(ca);
	free(cb);
	al_policy_free(a);
	al_policy_free(b);
}
END_TEST

static const struct {
	unsigned window_min, limit[AL_ANOMALY_N], count[AL_ANOMALY_N];
	int due;
	const char *reason;
} dues[] = {
    /* under every limit */
    {60, {3, 3, 5, 20}, {2, 2, 4, 19}, -1, ""},
    /* a limit reached, not only passed */
    {60,
     {3, 3, 5, 20},
     {3, 0, 0, 0},
     AL_ANOMALY_ESCAPE,
     "3 job(s) whose sandbox denied an escape-class syscall in 60 min (ptrace,mount)"},
    {10,
     {3, 3, 5, 20},
     {0, 4, 0, 0},
     AL_ANOMALY_STATIC,
     "4 job(s) rejected by the secrets or path rules in 10 min"},
    {60,
     {3, 3, 5, 20},
     {0, 0, 5, 0},
     AL_ANOMALY_KILL,
     "5 job(s) with a run killed at its time or memory cap in 60 min"},
    {60,
     {3, 3, 5, 20},
     {0, 0, 0, 20},
     AL_ANOMALY_REJECTED,
     "20 proposal(s) rejected by the gates in 60 min"},
    /* a limit of 0 counts nothing, however many */
    {60, {0, 0, 0, 0}, {100, 100, 100, 100}, -1, ""},
    /* two reached: the first in the list speaks */
    {60,
     {1, 1, 0, 0},
     {0, 1, 0, 0},
     AL_ANOMALY_STATIC,
     "1 job(s) rejected by the secrets or path rules in 60 min"},
    {60,
     {1, 1, 0, 0},
     {1, 1, 0, 0},
     AL_ANOMALY_ESCAPE,
     "1 job(s) whose sandbox denied an escape-class syscall in 60 min (ptrace,mount)"},
};

START_TEST(test_quarantine_due)
{
	struct al_quarantine_rules q = {.window_s = dues[_i].window_min * 60};
	struct al_anomaly counts = {.calls = "ptrace,mount"};
	char reason[AL_QUARANTINE_REASON_MAX] = "";

	memcpy(q.limit, dues[_i].limit, sizeof(q.limit));
	memcpy(counts.n, dues[_i].count, sizeof(counts.n));
	ck_assert_int_eq(al_gates_quarantine_due(&q, &counts, reason, sizeof(reason)),
			 dues[_i].due);
	ck_assert_str_eq(reason, dues[_i].reason);
}
END_TEST

/* ---- environment and setup ---- */

#define ENV_CONTRACT "\"contract\":[{\"name\":\"u\",\"command\":[\"true\"]}]"
#define ENV_SETUP "\"setup\":{\"command\":[\"npm\",\"ci\"],\"keys\":[\"package-lock.json\"]}"

/* The image and setup are in the canonical form, so the grant's policy digest covers them;
 * a policy without them keeps the digest it had. */
START_TEST(test_environment_digested)
{
	struct al_policy *a = policy("{" ENV_CONTRACT "}");
	struct al_policy *b = policy("{" ENV_CONTRACT ",\"environment\":{\"image\":\"/srv/i\"}}");
	struct al_policy *c = policy("{" ENV_CONTRACT "," ENV_SETUP "}");
	struct al_policy *d = policy("{" ENV_CONTRACT ",\"setup\":{\"command\":[\"npm\",\"ci\"],"
				     "\"keys\":[\"package-lock.json\"],\"on_lockfile_change\":"
				     "\"throwaway\"}}");
	struct al_policy *e = policy("{" ENV_CONTRACT "," ENV_SETUP ",\"egress\":{\"setup\":"
				     "{\"allow\":[\"registry.npm.test\"]}}}");
	char *ca = al_policy_canonical(a), *cb = al_policy_canonical(b);
	char *cc = al_policy_canonical(c), *cd = al_policy_canonical(d);
	char *ce = al_policy_canonical(e);

	ck_assert_ptr_null(strstr(ca, "environment"));
	ck_assert_ptr_null(strstr(ca, "\"setup\""));
	ck_assert_ptr_nonnull(strstr(cb, "\"environment\":{\"image\":\"/srv/i\"}"));
	ck_assert_ptr_nonnull(strstr(cc, "\"on_lockfile_change\":\"human\""));
	ck_assert_ptr_nonnull(strstr(cc, "\"timeout_s\":300"));
	ck_assert_str_ne(ca, cb);
	ck_assert_str_ne(ca, cc);
	ck_assert_str_ne(cc, cd);
	ck_assert_str_ne(cc, ce);
	ck_assert_ptr_nonnull(al_policy_setup(c));
	ck_assert_ptr_null(al_policy_setup(a));
	ck_assert_ptr_nonnull(al_policy_egress(e, "setup"));
	ck_assert_ptr_null(al_policy_egress(e, "gate"));
	free(ca), free(cb), free(cc), free(cd), free(ce);
	al_policy_free(a), al_policy_free(b), al_policy_free(c), al_policy_free(d);
	al_policy_free(e);
}
END_TEST

#define SETUP_POLICY                                                                  \
	"{\"reproduce\":{\"command\":[\"pytest\"]},\"contract\":[{\"name\":\"unit\"," \
	"\"command\":[\"make\",\"check\"]}],\"test_paths\":[\"tests/**\"]," ENV_SETUP "}"

static const struct {
	const char *setup; /* result.setup, or NULL for none */
	bool drop_runs;	   /* setup kept the plan from running */
	const char *result, *reason;
} setup_cases[] = {
    {"{\"key\":\"ab\",\"layer\":\"hit\",\"ms\":3,\"changed\":[],\"own\":[]}", false,
     AL_RULE_SATISFIED, "setup layer hit (3 ms)"},
    {"{\"key\":\"ab\",\"layer\":\"built\",\"ms\":900,\"changed\":[\"package-lock.json\"],"
     "\"own\":[\"candidate\"]}",
     false, AL_RULE_SATISFIED,
     "setup layer built (900 ms); a layer of its own for the change's key files"},
    {"{\"key\":\"ab\",\"ms\":9,\"failed\":{\"tree\":\"base\",\"status\":\"RE\",\"exit_code\":3,"
     "\"stderr\":\"no such package\"}}",
     true, AL_RULE_ERROR,
     "setup failed on the base tree (RE, exit 3): the environment's failure, not the change's"},
    {"{\"key\":\"ab\",\"ms\":9,\"failed\":{\"tree\":\"candidate\",\"status\":\"TO\","
     "\"exit_code\":-1}}",
     true, AL_RULE_UNSATISFIED,
     "setup failed on the candidate tree (TO, exit -1): the change alters its key files"},
    {"{\"key\":\"ab\",\"ms\":9,\"failed\":{\"tree\":\"base\",\"refused\":\"setup removed "
     "README.md from the tree\"}}",
     true, AL_RULE_ERROR, "setup refused on the tree base: setup removed README.md from the tree"},
    {"{\"key\":\"ab\",\"ms\":9,\"failed\":{\"refused\":\"the change alters setup's key files, "
     "which policy refuses\"}}",
     true, AL_RULE_UNSATISFIED,
     "setup refused: the change alters setup's key files, which policy refuses"},
    /* a result without its setup record: fail closed */
    {NULL, false, AL_RULE_ERROR, "setup: no record of it"},
};

START_TEST(test_setup_rule)
{
	json_t *res = load(good_result), *v;
	const json_t *rule;

	if (setup_cases[_i].setup)
		json_object_set_new(res, "setup", load(setup_cases[_i].setup));
	if (setup_cases[_i].drop_runs)
		json_object_del(res, "runs");
	v = evaluate(SETUP_POLICY, "[\"" T "\"]", res);
	rule = rule_of(json_object_get(v, "rules"), "setup");
	ck_assert_str_eq(json_string_value(json_object_get(rule, "result")),
			 setup_cases[_i].result);
	ck_assert_str_eq(json_string_value(json_object_get(rule, "reason")),
			 setup_cases[_i].reason);
	/* a granted verdict needs the setup rule satisfied */
	if (strcmp(setup_cases[_i].result, AL_RULE_SATISFIED))
		ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "rejected");
	else
		ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "granted");
	if (setup_cases[_i].drop_runs)
		ck_assert_str_eq(json_string_value(json_object_get(v, "reason")),
				 setup_cases[_i].reason);
	assert_rules_have_evidence(json_object_get(v, "rules"));
	json_decref(v);
	json_decref(res);
}
END_TEST

/* Without setup in the policy there is no setup rule, whatever the result says. */
START_TEST(test_setup_rule_absent)
{
	json_t *res = load(good_result), *v;

	json_object_set_new(res, "setup", load("{\"failed\":{\"tree\":\"base\"}}"));
	v = evaluate(EVAL_POLICY, "[\"" T "\"]", res);
	ck_assert_str_eq(json_string_value(json_object_get(v, "decision")), "granted");
	for (size_t i = 0; i < json_array_size(json_object_get(v, "rules")); i++)
		ck_assert_str_ne(json_string_value(json_object_get(
				     json_array_get(json_object_get(v, "rules"), i), "rule")),
				 "setup");
	json_decref(v);
	json_decref(res);
}
END_TEST

/* A change to setup's key files needs a human under "human" (the default), not under
 * "throwaway". */
START_TEST(test_setup_lockfile_human)
{
	static const char *const pols[] = {
	    "{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\",\"check\"]}]," ENV_SETUP "}",
	    "{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\",\"check\"]}],\"setup\":{"
	    "\"command\":[\"npm\",\"ci\"],\"keys\":[\"package-lock.json\"],\"on_lockfile_change\":"
	    "\"throwaway\"}}"};
	json_t *changed = load("[\"package-lock.json\"]");

	for (size_t k = 0; k < 2; k++) {
		struct al_policy *p = policy(pols[k]);
		json_t *rules = load("[" OK_RULE("binary") "]"), *v = NULL;
		json_t *runs = load(RUNS("granted", OK_RULE("contract")));
		struct al_judge_job job = {.id = JUDGE_ID,
					   .base = "main",
					   .proposer = "alice",
					   .patch = PLAIN_PATCH,
					   .patch_len = strlen(PLAIN_PATCH),
					   .setup_changed = changed};
		struct al_err err = {0};
		int tier = -1;

		ck_assert_msg(al_judge_run(p, &job, rules, runs, &v, &tier, &err) == 0, "%s",
			      err.msg);
		if (k == 0) {
			ck_assert_str_eq(json_string_value(json_object_get(v, "decision")),
					 "awaiting_approval");
			ck_assert_ptr_nonnull(strstr(
			    json_string_value(json_object_get(v, "reason")), "package-lock.json"));
		} else {
			ck_assert_str_eq(json_string_value(json_object_get(v, "decision")),
					 "granted");
		}
		json_decref(v);
		json_decref(runs);
		al_policy_free(p);
	}
	json_decref(changed);
}
END_TEST

static Suite *
gates_suite(void)
{
	Suite *s = suite_create("gates");
	TCase *tc = tcase_create("policy");

	tcase_add_loop_test(tc, test_policy_ok, 0, sizeof(policy_ok) / sizeof(policy_ok[0]));
	tcase_add_loop_test(tc, test_policy_bad, 0, sizeof(policy_bad) / sizeof(policy_bad[0]));
	tcase_add_loop_test(tc, test_policy_roundtrip, 0, sizeof(policy_ok) / sizeof(policy_ok[0]));
	tcase_add_test(tc, test_policy_caps);
	tcase_add_loop_test(tc, test_policy_limits, 0, sizeof(run_limits) / sizeof(run_limits[0]));
	tcase_add_loop_test(tc, test_policy_branches, 0, sizeof(branches) / sizeof(branches[0]));
	tcase_add_test(tc, test_policy_branches_cap);
	tcase_add_test(tc, test_policy_default_lists_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, test_glob, 0, sizeof(globs) / sizeof(globs[0]));
	tcase_add_loop_test(tc, test_test_id, 0, sizeof(test_ids) / sizeof(test_ids[0]));
	tcase_add_test(tc, test_test_id_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("patch");
	tcase_add_loop_test(tc, test_patch_ok, 0, sizeof(patches) / sizeof(patches[0]));
	tcase_add_loop_test(tc, test_patch_bad, 0, sizeof(patches_bad) / sizeof(patches_bad[0]));
	tcase_add_test(tc, test_patch_limits);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("static");
	tcase_add_loop_test(tc, test_static, 0, sizeof(statics) / sizeof(statics[0]));
	tcase_add_loop_test(tc, test_secrets, 0, sizeof(secrets) / sizeof(secrets[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("plan");
	tcase_add_test(tc, test_plan_contents);
	tcase_add_test(tc, test_plan_repeat);
	tcase_add_test(tc, test_plan_reports);
	tcase_add_loop_test(tc, test_plan_bad, 0, sizeof(plans_bad) / sizeof(plans_bad[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("evaluate");
	tcase_add_loop_test(tc, test_evaluate, 0, sizeof(evals) / sizeof(evals[0]));
	tcase_add_test(tc, test_evaluate_rules);
	tcase_add_test(tc, test_environment_digested);
	tcase_add_loop_test(tc, test_setup_rule, 0, sizeof(setup_cases) / sizeof(setup_cases[0]));
	tcase_add_test(tc, test_setup_rule_absent);
	tcase_add_test(tc, test_setup_lockfile_human);
	tcase_add_loop_test(tc, test_evaluate_malformed, 0,
			    sizeof(malformed) / sizeof(malformed[0]));
	tcase_add_test(tc, test_evaluate_edges);
	tcase_add_loop_test(tc, test_evaluate_repeat, 0, sizeof(repeats) / sizeof(repeats[0]));
	tcase_add_test(tc, test_evaluate_repeat_ids);
	tcase_add_loop_test(tc, test_evaluate_contract, 0,
			    sizeof(contracts) / sizeof(contracts[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("reports");
	tcase_add_loop_test(tc, test_id_match, 0, sizeof(id_matches) / sizeof(id_matches[0]));
	tcase_add_test(tc, test_id_match_long);
	tcase_add_loop_test(tc, test_reproduce_report, 0,
			    sizeof(repro_reports) / sizeof(repro_reports[0]));
	tcase_add_test(tc, test_reproduce_report_repeat);
	tcase_add_loop_test(tc, test_contract_report, 0,
			    sizeof(contract_reports) / sizeof(contract_reports[0]));
	tcase_add_loop_test(tc, test_report_malformed, 0,
			    sizeof(malformed_tests) / sizeof(malformed_tests[0]));
	tcase_add_test(tc, test_contract_report_many);
	tcase_add_test(tc, test_report_large);
	tcase_add_test(tc, test_tests_compare);
	/* generous for a sanitizer build; a quadratic comparison needs far longer */
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("evidence");
	tcase_add_loop_test(tc, test_static_evidence, 0, sizeof(evidences) / sizeof(evidences[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("approval");
	tcase_add_loop_test(tc, test_protected, 0, sizeof(protecteds) / sizeof(protecteds[0]));
	tcase_add_test(tc, test_protected_patch);
	tcase_add_loop_test(tc, test_changed_tests, 0,
			    sizeof(changed_tests) / sizeof(changed_tests[0]));
	tcase_add_test(tc, test_changed_tests_lists);
	tcase_add_loop_test(tc, test_approval, 0, sizeof(approvals) / sizeof(approvals[0]));
	tcase_add_test(tc, test_approval_bad);
	tcase_add_loop_test(tc, test_approver_problem, 0, sizeof(approvers) / sizeof(approvers[0]));
	tcase_add_loop_test(tc, test_authority, 0, sizeof(authorities) / sizeof(authorities[0]));
	tcase_add_test(tc, test_authority_bad);
	tcase_add_test(tc, test_promotion_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("judge");
	tcase_add_loop_test(tc, test_judge_merge, 0,
			    sizeof(judge_merges) / sizeof(judge_merges[0]));
	tcase_add_loop_test(tc, test_judge_rejection, 0,
			    sizeof(judge_failures) / sizeof(judge_failures[0]));
	tcase_add_loop_test(tc, test_judge_run, 0, sizeof(judge_runs) / sizeof(judge_runs[0]));
	tcase_add_test(tc, test_judge_run_static_twice);
	tcase_add_loop_test(tc, test_judge_decision, 0,
			    sizeof(judge_decisions) / sizeof(judge_decisions[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("quarantine");
	tcase_add_loop_test(tc, test_escape_syscall, 0,
			    sizeof(escape_names) / sizeof(escape_names[0]));
	tcase_add_loop_test(tc, test_anomaly, 0, sizeof(anomalies) / sizeof(anomalies[0]));
	tcase_add_test(tc, test_anomaly_calls_cap);
	tcase_add_test(tc, test_anomaly_egress);
	tcase_add_loop_test(tc, test_quarantine_policy, 0,
			    sizeof(qpolicies) / sizeof(qpolicies[0]));
	tcase_add_test(tc, test_quarantine_not_digested);
	tcase_add_loop_test(tc, test_quarantine_due, 0, sizeof(dues) / sizeof(dues[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(gates_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
