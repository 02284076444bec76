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

/* ---- policy ---- */

static const struct {
	const char *in;
	const char *canonical;
} policy_ok[] = {
#define NEW_DEFAULTS \
	"\"executable_paths\":[],\"limits\":{\"max_files\":200,\"max_patch_bytes\":1048576},"
    {"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\",\"check\"]}]}",
     "{\"allow_binary\":false,\"contract\":[{\"command\":[\"make\",\"check\"],\"name\":\"unit\"}]"
     "," NEW_DEFAULTS "\"test_paths\":[],\"timeout_s\":60}"},
    {"{\"reproduce\": {\"command\": [\"pytest\", \"-q\"]}, \"contract\": [{\"name\": \"unit\", "
     "\"command\": [\"make\",\"check\"]}], \"test_paths\": [\"tests/**\", \"**/test_*.c\"], "
     "\"timeout_s\": 120}",
     "{\"allow_binary\":false,\"contract\":[{\"command\":[\"make\",\"check\"],\"name\":\"unit\"}]"
     "," NEW_DEFAULTS "\"reproduce\":{"
     "\"command\":[\"pytest\",\"-q\"],\"repeat\":1},\"test_paths\":[\"tests/**\",\"**/test_*.c\"],"
     "\"timeout_s\":120}"},
    {"{\"timeout_s\": 1, \"reproduce\": {\"command\": [\"t\"]}}",
     "{\"allow_binary\":false,\"contract\":[]," NEW_DEFAULTS
     "\"reproduce\":{\"command\":[\"t\"],\"repeat\":1},\"test_paths\":[],\"timeout_s\":1}"},
    {"{\"timeout_s\": 3600, \"reproduce\": {\"command\": [\"t\"]}, \"contract\": []}",
     "{\"allow_binary\":false,\"contract\":[]," NEW_DEFAULTS
     "\"reproduce\":{\"command\":[\"t\"],\"repeat\":1},\"test_paths\":[],\"timeout_s\":3600}"},
    {"{\"contract\":[{\"name\":\"a.B_c-9\",\"command\":[\"x\"]},{\"command\":[\"y\"],\"name\":"
     "\"b\"}], \"test_paths\": []}",
     "{\"allow_binary\":false,\"contract\":[{\"command\":[\"x\"],\"name\":\"a.B_c-9\"},{"
     "\"command\":[\"y\"],\"name\":\"b\"}]," NEW_DEFAULTS "\"test_paths\":[],\"timeout_s\":60}"},
    {"{\"reproduce\":{\"command\":[\"t\"]},\"allow_binary\":true,\"executable_paths\":["
     "\"bin/*\",\"**/*.sh\"],\"limits\":{\"max_patch_bytes\":1,\"max_files\":10000}}",
     "{\"allow_binary\":true,\"contract\":[],\"executable_paths\":[\"bin/*\",\"**/*.sh\"],"
     "\"limits\":{\"max_files\":10000,\"max_patch_bytes\":1},\"reproduce\":{\"command\":["
     "\"t\"],\"repeat\":1},\"test_paths\":[],\"timeout_s\":60}"},
    {"{\"reproduce\":{\"command\":[\"t\"]},\"limits\":{\"max_patch_bytes\":1073741824}}",
     "{\"allow_binary\":false,\"contract\":[],\"executable_paths\":[],\"limits\":{"
     "\"max_files\":200,\"max_patch_bytes\":1073741824},\"reproduce\":{\"command\":[\"t\"],"
     "\"repeat\":1},"
     "\"test_paths\":[],\"timeout_s\":60}"},
    {"{\"reproduce\":{\"command\":[\"t\"]},\"limits\":{}}",
     "{\"allow_binary\":false,\"contract\":[]," NEW_DEFAULTS
     "\"reproduce\":{\"command\":[\"t\"],\"repeat\":1},\"test_paths\":[],\"timeout_s\":60}"},
};

START_TEST(test_policy_ok)
{
	struct al_policy *p = policy(policy_ok[_i].in), *again;
	char *c = al_policy_canonical(p), *c2;

	ck_assert_str_eq(c, policy_ok[_i].canonical);
	/* the canonical form is itself a policy with the same canonical form */
	again = policy(c);
	c2 = al_policy_canonical(again);
	ck_assert_str_eq(c, c2);
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

	al_policy_free(NULL);
	ck_assert_ptr_null(al_policy_canonical(NULL));
	free(long_arg);
	json_decref(j);
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
    {"a b", 0},
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
    {STATIC_POLICY, DIFF("AKIAIOSFODNN7EXAMPLE.txt"), NULL, "static.secrets", "SATISFIED",
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
	json_decref(rules);
	al_policy_free(p);
}
END_TEST

/* Each secret kind on new-file line 12 of src/x.c (the hunk starts at +10 with a context
 * line and a changed line before it); the reason names file:line, never the secret. */
#define SECRET_PATCH(line)                                                                  \
	"diff --git a/src/x.c b/src/x.c\nindex 1..2 100644\n--- a/src/x.c\n+++ b/src/x.c\n" \
	"@@ -10,3 +10,4 @@\n a\n-b\n+B\n+" line "\n c\n"

static const struct {
	const char *patch, *secret, *reason;
} secrets[] = {
    {SECRET_PATCH("-----BEGIN RSA PRIVATE KEY-----"), "BEGIN RSA",
     "secret-like private key in added line: src/x.c:12"},
    {SECRET_PATCH("key = \"-----BEGIN EC PRIVATE KEY-----\""), "BEGIN EC",
     "secret-like private key in added line: src/x.c:12"},
    {SECRET_PATCH("-----BEGIN OPENSSH PRIVATE KEY-----"), "OPENSSH",
     "secret-like private key in added line: src/x.c:12"},
    {SECRET_PATCH("-----BEGIN DSA PRIVATE KEY-----"), "DSA",
     "secret-like private key in added line: src/x.c:12"},
    {SECRET_PATCH("-----BEGIN PGP PRIVATE KEY BLOCK-----"), "PGP",
     "secret-like private key in added line: src/x.c:12"},
    {SECRET_PATCH("-----BEGIN PRIVATE KEY-----"), "BEGIN",
     "secret-like private key in added line: src/x.c:12"},
    {SECRET_PATCH("aws_key_id = AKIAIOSFODNN7EXAMPLE"), "IOSFODNN7EXAMPLE",
     "secret-like AWS access key id in added line: src/x.c:12"},
    {SECRET_PATCH("ASIAIOSFODNN7EXAMPLE"), "IOSFODNN7EXAMPLE",
     "secret-like AWS access key id in added line: src/x.c:12"},
    {SECRET_PATCH("gh = ghp_FAKEfake0000000000000000000000000000;"), "FAKEfake",
     "secret-like GitHub token in added line: src/x.c:12"},
    {SECRET_PATCH("ghs_FAKEfake00000000000000000000000000000"), "FAKEfake",
     "secret-like GitHub token in added line: src/x.c:12"},
    {SECRET_PATCH("github_pat_11FAKE0000000000_fakefake"), "11FAKE",
     "secret-like GitHub token in added line: src/x.c:12"},
    {SECRET_PATCH("SLACK=xoxb-0000000000-FAKE"), "0000000000-FAKE",
     "secret-like Slack token in added line: src/x.c:12"},
    {SECRET_PATCH("xoxp-FAKE-FAKE-FAKE"), "FAKE-FAKE",
     "secret-like Slack token in added line: src/x.c:12"},
    {SECRET_PATCH("db_password = \"correct-horse-battery\""), "correct-horse",
     "secret-like credential assignment in added line: src/x.c:12"},
    {SECRET_PATCH("\"API_KEY\": 'fake-fake-fake-fake'"), "fake-fake",
     "secret-like credential assignment in added line: src/x.c:12"},
    {SECRET_PATCH("Token:\"0123456789abcdef\""), "0123456789abcdef",
     "secret-like credential assignment in added line: src/x.c:12"},
    {SECRET_PATCH("secret='0123456789abcdef'"), "0123456789abcdef",
     "secret-like credential assignment in added line: src/x.c:12"},
    /* a secret in the test patch is as bad */
    {DIFF("tests/t.c") "diff --git a/tests/k b/tests/k\nnew file mode 100644\nindex 0..1\n"
		       "--- /dev/null\n+++ b/tests/k\n@@ -0,0 +1,2 @@\n+x\n+AKIAIOSFODNN7EXAMPLE\n",
     "IOSFODNN7EXAMPLE", "secret-like AWS access key id in added line: tests/k:2"},
    /* not secrets: the rule must stay quiet */
    {SECRET_PATCH("password = \"short\""), NULL, NULL},
    {SECRET_PATCH("password = get_password(\"0123456789abcdef\")"), NULL, NULL},
    {SECRET_PATCH("if (token == \"0123456789abcdef01\")"), NULL, NULL},
    {SECRET_PATCH("password = \"0123456789abcdef"), NULL, NULL},
    {SECRET_PATCH("-----BEGIN PUBLIC KEY-----"), NULL, NULL},
    {SECRET_PATCH("-----BEGIN PRIVATE KEY"), NULL, NULL},
    {SECRET_PATCH("AKIAIOSFODNN7EXAMP"), NULL, NULL},
    {SECRET_PATCH("ghp_short"), NULL, NULL},
    {SECRET_PATCH("github_pat_short"), NULL, NULL},
    {SECRET_PATCH("xoxb-short"), NULL, NULL},
    {SECRET_PATCH("xoxz-0000000000-FAKE"), NULL, NULL},
    {"diff --git a/src/x.c b/src/x.c\nindex 1..2 100644\n--- a/src/x.c\n+++ b/src/x.c\n"
     "@@ -1,2 +1,2 @@\n AKIAIOSFODNN7EXAMPLE\n-ghp_FAKEfake0000000000000000000000000000\n+x\n",
     NULL, NULL},
};

START_TEST(test_secrets)
{
	struct al_policy *p = policy(STATIC_POLICY);
	const char *patch = secrets[_i].patch, *tp = DIFF("tests/test_x.c");
	const json_t *rule;
	const char *reason;
	struct al_err err = {0};
	json_t *rules = NULL;

	/* the last test-patch case carries both texts in one string: split at the second file */
	if (strncmp(patch, "diff --git a/tests/t.c", 22) == 0) {
		tp = patch;
		patch = DIFF("src/x.c");
	}
	ck_assert_int_eq(al_gates_static(p, patch, strlen(patch), tp, strlen(tp), &rules, &err), 0);
	rule = rule_of(rules, "static.secrets");
	reason = json_string_value(json_object_get(rule, "reason"));
	if (secrets[_i].reason) {
		assert_rule(rules, "static.secrets", "UNSATISFIED", secrets[_i].reason);
		ck_assert_msg(strstr(reason, secrets[_i].secret) == NULL, "reason leaks: %s",
			      reason);
	} else {
		assert_rule(rules, "static.secrets", "SATISFIED",
			    "no added line looks like a secret");
	}
	json_decref(rules);
	al_policy_free(p);
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
		    "\"side\":\"base\",\"argv\":[\"pytest\",\"-q\",\"t1\"]},"
		    "{\"id\":\"reproduce:t1:candidate\",\"rule\":\"reproduce\",\"test\":\"t1\","
		    "\"side\":\"candidate\",\"argv\":[\"pytest\",\"-q\",\"t1\"]},"
		    "{\"id\":\"reproduce:tests/a.py::b[x-1]:base\",\"rule\":\"reproduce\","
		    "\"test\":\"tests/a.py::b[x-1]\",\"side\":\"base\","
		    "\"argv\":[\"pytest\",\"-q\",\"tests/a.py::b[x-1]\"]},"
		    "{\"id\":\"reproduce:tests/a.py::b[x-1]:candidate\",\"rule\":\"reproduce\","
		    "\"test\":\"tests/a.py::b[x-1]\",\"side\":\"candidate\","
		    "\"argv\":[\"pytest\",\"-q\",\"tests/a.py::b[x-1]\"]},"
		    "{\"id\":\"contract:unit:candidate\",\"rule\":\"contract\",\"name\":\"unit\","
		    "\"side\":\"candidate\",\"argv\":[\"make\",\"check\"]},"
		    "{\"id\":\"contract:lint:candidate\",\"rule\":\"contract\",\"name\":\"lint\","
		    "\"side\":\"candidate\",\"argv\":[\"make\",\"lint\"]}]");
	json_decref(plan);
	json_decref(ids);
	al_policy_free(p);

	p = policy(CONTRACT_POLICY);
	ck_assert_int_eq(al_gates_plan(p, NULL, &plan, &err), 0);
	assert_json(plan,
		    "[{\"id\":\"contract:unit:candidate\",\"rule\":\"contract\","
		    "\"name\":\"unit\",\"side\":\"candidate\",\"argv\":[\"make\",\"check\"]}]");
	json_decref(plan);
	al_policy_free(p);
}
END_TEST

#define REPEAT_RUN(side, k)                                                               \
	"{\"id\":\"reproduce:t1:" side ":" k "\",\"rule\":\"reproduce\",\"test\":\"t1\"," \
	"\"side\":\"" side "\",\"argv\":[\"pytest\",\"t1\"]}"

#define REPEAT_SIDE(side) REPEAT_RUN(side, "1") "," REPEAT_RUN(side, "2") "," REPEAT_RUN(side, "3")
static const char repeat_plan[] = "[" REPEAT_SIDE("base") "," REPEAT_SIDE("candidate") "]";

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
			  "\"side\":\"base\",\"argv\":[\"pytest\",\"t1\"]},"
			  "{\"id\":\"reproduce:t1:candidate\",\"rule\":\"reproduce\","
			  "\"test\":\"t1\",\"side\":\"candidate\",\"argv\":[\"pytest\",\"t1\"]}]");
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
#define HEX40 "0123456789abcdef0123456789abcdef01234567"
#define RUN_TAIL "\"wall_ms\":10,\"cpu_ms\":5,\"max_rss_kb\":900,\"killed\":false,\"stdout\":\"\""

static const char good_result[] =
    "{\"base_commit\":\"" HEX40 "\",\"candidate_commit\":\"" HEX40 "\",\"candidate_tree\":\"" HEX40
    "\",\"files\":{\"patch\":[{\"path\":\"src/a.py\",\"old_path\":\"src/a.py\",\"status\":\"M\","
    "\"old_mode\":33188,\"new_mode\":33188,\"binary\":false}],\"test_patch\":[{\"path\":"
    "\"tests/test_a.py\",\"old_path\":\"tests/test_a.py\",\"status\":\"A\",\"old_mode\":0,"
    "\"new_mode\":33188,\"binary\":false}]},\"runs\":["
    "{\"id\":\"" RB "\",\"rule\":\"reproduce\",\"test\":\"" T "\",\"side\":\"base\",\"argv\":["
    "\"pytest\",\"" T "\"],\"status\":\"RE\",\"exit_code\":1,\"signal\":0," RUN_TAIL "},"
    "{\"id\":\"" RC "\",\"rule\":\"reproduce\",\"side\":\"candidate\",\"argv\":["
    "\"pytest\",\"" T "\"],\"status\":\"OK\",\"exit_code\":0,\"signal\":0," RUN_TAIL "},"
    "{\"id\":\"" CU "\",\"rule\":\"contract\",\"side\":\"candidate\",\"argv\":[\"make\","
    "\"check\"],\"status\":\"OK\",\"exit_code\":0,\"signal\":0," RUN_TAIL "}]}";

struct eval_case {
	const char *set;     /* merged into the result's top level */
	const char *drop;    /* a top-level key removed */
	const char *run_id;  /* a run to change */
	const char *run_set; /* merged into that run; NULL removes the run */
	const char *append;  /* a run added at the end */
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
     .run_set = "{\"status\":\"RE\",\"exit_code\":\"2\"}",
     .decision = "rejected",
     .reason = T " still fails on candidate (exit status unknown)"},
    {.run_id = RC,
     .run_set = "{\"status\":\"XX\"}",
     .decision = "rejected",
     .reason = T " on candidate: XX, inconclusive"},
    {.run_id = CU,
     .run_set = "{\"status\":\"RE\",\"exit_code\":2}",
     .decision = "rejected",
     .reason = "contract unit failed on candidate (exit 2)"},
    {.run_id = CU,
     .run_set = "{\"status\":\"TO\"}",
     .decision = "rejected",
     .reason = "contract unit failed on candidate (timeout)"},
    {.run_id = CU,
     .run_set = "{\"status\":\"XX\"}",
     .decision = "rejected",
     .reason = "contract unit on candidate: XX, inconclusive"},
    {.run_id = CU, .decision = "rejected", .reason = "missing run " CU},
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
     .reason = "result.runs[3]: expected an object with string id and status"},
    {.append = "7",
     .decision = "rejected",
     .reason = "result.runs[3]: expected an object with string id and status"},
    {.run_id = RC,
     .run_set = "{\"argv\":[\"sh\",\"-c\",\"true\"]}",
     .decision = "rejected",
     .reason = "run " RC " does not match the plan (argv)"},
    {.run_id = RC,
     .run_set = "{\"side\":\"base\"}",
     .decision = "rejected",
     .reason = "run " RC " does not match the plan (side)"},
    {.run_id = RC,
     .run_set = "{\"status\":\"PASS\"}",
     .decision = "rejected",
     .reason = "run " RC " has an unknown status"},
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
		if (c->run_set) {
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

static const struct {
	const char *base, *candidate; /* one status letter pair per run: OK, RE, SG, TO, XX */
	const char *missing;	      /* a run id left out */
	const char *result, *reason;  /* of the rule reproduce:T */
} repeats[] = {
    {"RE RE RE", "OK OK OK", NULL, "SATISFIED",
     T " fails on base (exit 1) and passes on candidate, 3 runs each"},
    {"SG RE SG", "OK OK OK", NULL, "SATISFIED",
     T " fails on base (signal 11) and passes on candidate, 3 runs each"},
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
		if (!run || json_array_append_new(runs, run) < 0)
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

static Suite *
gates_suite(void)
{
	Suite *s = suite_create("gates");
	TCase *tc = tcase_create("policy");

	tcase_add_loop_test(tc, test_policy_ok, 0, sizeof(policy_ok) / sizeof(policy_ok[0]));
	tcase_add_loop_test(tc, test_policy_bad, 0, sizeof(policy_bad) / sizeof(policy_bad[0]));
	tcase_add_test(tc, test_policy_caps);
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
	tcase_add_loop_test(tc, test_plan_bad, 0, sizeof(plans_bad) / sizeof(plans_bad[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("evaluate");
	tcase_add_loop_test(tc, test_evaluate, 0, sizeof(evals) / sizeof(evals[0]));
	tcase_add_test(tc, test_evaluate_rules);
	tcase_add_loop_test(tc, test_evaluate_malformed, 0,
			    sizeof(malformed) / sizeof(malformed[0]));
	tcase_add_test(tc, test_evaluate_edges);
	tcase_add_loop_test(tc, test_evaluate_repeat, 0, sizeof(repeats) / sizeof(repeats[0]));
	tcase_add_test(tc, test_evaluate_repeat_ids);
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
