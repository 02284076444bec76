/* The runner's checkout (runner/checkout.c, apply.c, tree.c) and the base resolution of
 * runner/git.c against real repositories and patches made by the real git CLI. Where
 * both apply, the tree libgit2 produced must be the tree `git apply --cached` produces;
 * where airlock refuses, `git apply --check` must refuse too. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/checkout.h"
#include "runner/git.h"

#define OUT_CAP (16u << 20)
#define COMMIT_TIME 1700000000LL

static char root[256]; /* one repository for the whole suite */
static char repo[288];
static char calc_repo[288];	/* examples/calc/repo as a git repository */
static char calc_dir[PATH_MAX]; /* examples/calc */

/* ---- helpers ---- */

static int
sh_in(const char *dir, char **ret_out, const char *script)
{
	int p[2], st;
	char *out = NULL;
	size_t len;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		if (dir && chdir(dir) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	ck_assert_int_eq(al_fd_read_all(p[0], OUT_CAP, &out, &len), 0);
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (ret_out)
		*ret_out = out;
	else
		free(out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs a formatted script in the repository; returns its exit status. */
__attribute__((format(printf, 2, 3))) static int
sh(char **ret_out, const char *fmt, ...)
{
	_cleanup_free_ char *script = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&script, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(r, 0);
	return sh_in(repo, ret_out, script);
}

/* The first line a script prints, for rev-parse and friends. */
__attribute__((format(printf, 1, 2))) static char *
sh_line(const char *fmt, ...)
{
	_cleanup_free_ char *script = NULL;
	char *out = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&script, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(r, 0);
	ck_assert_msg(sh_in(repo, &out, script) == 0, "script failed: %s", script);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

static char *
patch_path(const char *name)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/patches/%s", root, name), 0);
	return p;
}

static char *
read_patch(const char *name, size_t *len)
{
	_cleanup_free_ char *p = patch_path(name);
	char *data;

	ck_assert_int_eq(al_file_read(p, OUT_CAP, &data, len, NULL), 0);
	return data;
}

static char *
read_text(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = al_path_join(dir, rel);
	char *data = NULL;
	size_t len;

	if (al_file_read(p, OUT_CAP, &data, &len, NULL) < 0)
		return NULL;
	return data;
}

static int
exists(const char *dir, const char *rel)
{
	_cleanup_free_ char *p = rel ? al_path_join(dir, rel) : strdup(dir);
	struct stat st;

	return lstat(p, &st) == 0;
}

struct run {
	char work[288];
	char base_dir[320];
	char cand_dir[320];
	struct al_checkout_result res;
	struct al_err err;
	int r;
};

static void
new_work(struct run *w)
{
	snprintf(w->work, sizeof(w->work), "%s/work-XXXXXX", root);
	ck_assert_ptr_nonnull(mkdtemp(w->work));
	snprintf(w->base_dir, sizeof(w->base_dir), "%s/base", w->work);
	snprintf(w->cand_dir, sizeof(w->cand_dir), "%s/candidate", w->work);
}

/* The trees a run tests, written where the tests look: base + test_patch and candidate. */
static void
write_trees(struct run *w, const char *repo_path)
{
	struct al_err err = {0};

	if (w->r != 0)
		return;
	ck_assert_msg(al_checkout_write(repo_path, w->res.tested_tree, w->base_dir, &err) == 0,
		      "%s", al_err_msg(&err));
	ck_assert_msg(al_checkout_write(repo_path, w->res.candidate_tree, w->cand_dir, &err) == 0,
		      "%s", al_err_msg(&err));
}

/* patch and test_patch are names under patches/ or, with a leading '<', literal text. */
static void
prepare_in(struct run *w, const char *repo_path, const char *base, const char *patch,
	   const char *test_patch)
{
	_cleanup_free_ char *pdata = NULL, *tdata = NULL;
	size_t plen = 0, tlen = 0;
	struct al_checkout_opts o = {0};

	if (patch && patch[0] == '<') {
		pdata = strdup(patch + 1);
		plen = strlen(pdata);
	} else if (patch) {
		pdata = read_patch(patch, &plen);
	}
	if (test_patch && test_patch[0] == '<') {
		tdata = strdup(test_patch + 1);
		tlen = strlen(tdata);
	} else if (test_patch) {
		tdata = read_patch(test_patch, &tlen);
	}
	new_work(w);
	o.repo_path = repo_path;
	o.base = base;
	o.patch = pdata;
	o.patch_len = plen;
	o.test_patch = tdata;
	o.test_patch_len = tlen;
	o.message = "candidate msg\n";
	o.commit_time = COMMIT_TIME;
	w->res.fail_hunk = 77; /* must survive failures other than -ENOEXEC */
	w->r = al_checkout_prepare(&o, &w->res, &w->err);
	write_trees(w, repo_path);
}

static void
prepare(struct run *w, const char *base, const char *patch, const char *test_patch)
{
	prepare_in(w, repo, base, patch, test_patch);
}

/* The tree git itself makes from base plus the patches, in a throwaway index. */
static char *
git_tree_after(const char *base, const char *test_patch, const char *patch)
{
	_cleanup_free_ char *tp = test_patch ? patch_path(test_patch) : strdup("/dev/null");
	_cleanup_free_ char *pp = patch ? patch_path(patch) : strdup("/dev/null");

	return sh_line(
	    "export GIT_INDEX_FILE=\"%s/tmp-index.$$\"; git read-tree '%s' && "
	    "git apply --cached --allow-empty '%s' && git apply --cached --allow-empty '%s' && "
	    "git write-tree; rc=$?; rm -f \"$GIT_INDEX_FILE\"; exit $rc",
	    root, base, tp, pp);
}

static int
git_apply_check(const char *base, const char *test_patch, const char *patch)
{
	_cleanup_free_ char *tp = test_patch ? patch_path(test_patch) : strdup("/dev/null");
	_cleanup_free_ char *pp = patch_path(patch);

	return sh(NULL,
		  "export GIT_INDEX_FILE=\"%s/tmp-index.$$\"; git read-tree '%s' && "
		  "git apply --cached --allow-empty '%s' 2>/dev/null && "
		  "git apply --cached '%s' 2>/dev/null; rc=$?; "
		  "rm -f \"$GIT_INDEX_FILE\"; exit $rc",
		  root, base, tp, pp);
}

static char *
repo_state(const char *path)
{
	char *out = NULL;
	_cleanup_free_ char *script = NULL;

	ck_assert_int_ge(asprintf(&script,
				  "git for-each-ref --format='%%(refname) %%(objectname)' && "
				  "git symbolic-ref HEAD && git rev-parse HEAD && "
				  "{ git ls-files -s 2>/dev/null || true; } && "
				  "{ git status --porcelain 2>/dev/null || true; }"),
			 0);
	ck_assert_int_eq(sh_in(path, &out, script), 0);
	return out;
}

/* The candidate directory holds exactly the candidate tree (content; modes checked apart). */
static void
assert_dir_is_tree(const char *dir, const char *tree)
{
	ck_assert_msg(sh(NULL,
			 "x=\"%s.expect\"; mkdir \"$x\" && git archive '%s' | tar -x -C \"$x\" && "
			 "diff -r --no-dereference \"$x\" '%s' >&2",
			 dir, tree, dir) == 0,
		      "%s differs from tree %s", dir, tree);
}

/* ---- the fixture: one repository with branches that each break one patch ---- */

static const char fixture_script[] =
    "set -e\n"
    "git init -q -b main repo && cd repo\n"
    "mkdir -p src tests docs\n"
    "i=1; while [ $i -le 40 ]; do echo \"int v$i = $i;\"; i=$((i+1)); done > src/calc.c\n"
    "printf 'test one\\n' > tests/t1.txt\n"
    "printf 'to be deleted\\n' > old.txt\n"
    "printf 'line one of a file\\nline two of a file\\nline three\\nline four\\n' > mv_me.txt\n"
    "printf '#!/bin/sh\\necho mode\\n' > mode_me.sh\n"
    "printf '#!/bin/sh\\necho run\\n' > run.sh && chmod 755 run.sh\n"
    "printf 'readme\\n' > README && printf 'docs\\n' > docs/index.txt\n"
    "ln -s \"$ROOT/outside\" escape\n"
    "git add -A && git commit -qm one && git tag -a v1 -m v1\n"
    "printf 'readme 2\\n' > README && git commit -qam two\n"
    "branch() { git checkout -q -b \"$1\" main && sh -c \"$2\" && git add -A && "
    "  git commit -qm \"$1\" && git checkout -q main; }\n"
    "branch drift5 \"sed -i 's/^int v5 = 5;/int v5 = -5;/' src/calc.c\"\n"
    "branch drift30 \"sed -i 's/^int v30 = 30;/int v30 = -30;/' src/calc.c\"\n"
    "branch nocalc 'rm src/calc.c'\n"
    "branch hasnew \"printf 'other\\n' > new.txt\"\n"
    "branch noold 'rm old.txt'\n"
    "branch oldchanged \"printf 'changed\\n' > old.txt\"\n"
    "branch t1changed \"printf 'test one changed\\n' > tests/t1.txt\"\n"
    "branch runmode 'chmod 644 run.sh'\n"
    "branch docsfile 'rm -r docs && echo file > docs'\n"
    "branch fp \"sed -i 's/^int v5 = 5;/int v5 = 500;/;s/^int v30 = 30;/int v30 = 3000;/' "
    "src/calc.c\"\n"
    "git checkout -q -b fp2 fp && sed -i 's/^int v5 = 500;/int v5 = 5000;/' src/calc.c && "
    "  git commit -qam fp2a && printf 'series\\n' > new.txt && git add new.txt && "
    "  git commit -qm fp2b && git checkout -q main\n"
    "git checkout -q -b s1 main && echo more >> old.txt && git commit -qam s1a && "
    "  git rm -q old.txt && git commit -qm s1b && git checkout -q main\n"
    "git checkout -q -b s2 main && echo y > y.txt && git add y.txt && git commit -qm s2a && "
    "  echo y2 >> y.txt && git commit -qam s2b && chmod +x y.txt && git commit -qam s2c && "
    "  git checkout -q main\n"
    "git checkout -q -b s3 main && git mv mv_me.txt m2.txt && git commit -qm s3a && "
    "  echo four >> m2.txt && git commit -qam s3b && git checkout -q main\n"
    "P=\"$ROOT/patches\"; mkdir -p \"$P\"\n"
    "restore() { git reset -q --hard main && git clean -qfdx; }\n"
    "sed -i 's/^int v5 = 5;/int v5 = 500;/;s/^int v30 = 30;/int v30 = 3000;/' src/calc.c\n"
    "git diff > \"$P/good.patch\"; restore\n"
    "printf 'test two\\n' > tests/t2.txt && git add -A && git diff --cached > \"$P/test.patch\"\n"
    "restore\n"
    "printf 'test one modified\\n' > tests/t1.txt && git diff > \"$P/test_mod.patch\"; restore\n"
    "printf 'new file\\n' > new.txt && git add -A && git diff --cached > \"$P/add_new.patch\"\n"
    "restore\n"
    "git rm -q old.txt && git diff --cached > \"$P/del_old.patch\"; restore\n"
    "echo 'echo more' >> run.sh && git diff > \"$P/run.patch\"; restore\n"
    "printf 'a\\n' > docs/a.txt && git add -A && git diff --cached > \"$P/docs_a.patch\"\n"
    "restore\n"
    "printf 'new file\\n' > new.txt && git rm -q old.txt && git mv mv_me.txt moved.txt && "
    "  chmod +x mode_me.sh && ln -s run.sh lnk && printf 'bin\\000ary\\000\\001' > bin.dat && "
    "  git add -A && git diff --cached -M --binary > \"$P/files.patch\"; restore\n"
    "git mv run.sh run2.sh && git diff --cached -M > \"$P/rename_exec.patch\"; restore\n"
    "git format-patch -1 --stdout fp > \"$P/fp.patch\"\n"
    "for b in fp2 s1 s2 s3; do git format-patch --stdout main..$b > \"$P/series-$b.patch\"; done\n"
    "printf 'diff --git a/escape/pwned b/escape/pwned\\nnew file mode 100644\\n"
    "--- /dev/null\\n+++ b/escape/pwned\\n@@ -0,0 +1 @@\\n+owned\\n' > \"$P/escape.patch\"\n"
    "printf 'diff --git a/lnk2 b/lnk2\\nnew file mode 120000\\n--- /dev/null\\n+++ b/lnk2\\n"
    "@@ -0,0 +1 @@\\n+/etc\\n\\\\ No newline at end of file\\n"
    "diff --git a/lnk2/evil b/lnk2/evil\\nnew file mode 100644\\n--- /dev/null\\n"
    "+++ b/lnk2/evil\\n@@ -0,0 +1 @@\\n+owned\\n' > \"$P/collide.patch\"\n"
    /* long.txt on branch long; its patches change line 30, or lines 20 and 50 */
    "git checkout -q -b long main && seq -f 'line %g' 1 60 > long.txt && git add long.txt && "
    "  git commit -qm long\n"
    "sed -i 's/^line 30$/line 30 changed/' long.txt && git diff > \"$P/long30.patch\"\n"
    "git checkout -q long.txt\n"
    "sed -i 's/^line 20$/line 20 changed/;s/^line 50$/line 50 changed/' long.txt && "
    "  git diff > \"$P/long2050.patch\" && git checkout -q long.txt\n"
    "sed 's/^index [0-9a-f]*\\.\\./index 0123abc../' \"$P/long30.patch\" > "
    "  \"$P/long30-noblob.patch\"\n"
    "lb() { git checkout -q -b \"$1\" long && sh -c \"$2\" && git commit -qam \"$1\" && "
    "  git checkout -q long; }\n"
    "lb down3 \"sed -i '5s/^/x1\\\\nx2\\\\nx3\\\\n/' long.txt\"\n"
    "lb up2 \"sed -i '3,4d' long.txt\"\n"
    "lb twoshift \"sed -i '5s/^/x1\\\\nx2\\\\nx3\\\\n/;40s/^/y1\\\\ny2\\\\n/' long.txt\"\n"
    "lb dupnear \"sed -n '27,33p' long.txt > ../blk && sed -i '21r ../blk' long.txt\"\n"
    "lb duptie \"sed -n '27,33p' long.txt > ../blk && sed -i '19r ../blk' long.txt\"\n"
    "lb mergeok \"sed -i 's/^line 27$/line 27 base/;3,4d' long.txt\"\n"
    "lb mergebad \"sed -i 's/^line 30$/line 30 base/' long.txt\"\n"
    /* big.txt: 400 unique lines, then 99,597 lines "a", then z1..z3 */
    "git checkout -q -b big long && { seq -f 'u%g' 1 400; yes a | head -n 99597; "
    "  printf 'z1\\nz2\\nz3\\n'; } > big.txt && git add big.txt && git commit -qm big\n"
    "git checkout -q main\n"
    "git status --porcelain | grep . && exit 1\n"
    "exit 0\n";

static void
fixture_up(void)
{
	_cleanup_free_ char *outside = NULL;

	snprintf(root, sizeof(root), "/tmp/al-check-checkout-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(repo, sizeof(repo), "%s/repo", root);
	setenv("ROOT", root, 1);
	/* the tests run from the source root, as `make unit` does */
	ck_assert_msg(realpath("examples/calc", calc_dir) != NULL,
		      "run from the source root: examples/calc not found");
	setenv("CALC", calc_dir, 1);
	setenv("HOME", root, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Tester", 1);
	setenv("GIT_AUTHOR_EMAIL", "tester@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Tester", 1);
	setenv("GIT_COMMITTER_EMAIL", "tester@example.com", 1);
	setenv("GIT_AUTHOR_DATE", "1600000000 +0000", 1);
	setenv("GIT_COMMITTER_DATE", "1600000000 +0000", 1);
	unsetenv("GIT_DIR");
	unsetenv("GIT_INDEX_FILE");
	ck_assert_msg(sh_in(root, NULL, fixture_script) == 0, "fixture script failed");
	snprintf(calc_repo, sizeof(calc_repo), "%s/calc", root);
	ck_assert_int_eq(sh_in(root, NULL,
			       "set -e; mkdir calc && cp -a \"$CALC/repo/.\" calc/ && cd calc && "
			       "git init -q -b main && git add -A && git commit -qm calc"),
			 0);
	outside = al_path_join(root, "outside");
	ck_assert_int_eq(mkdir(outside, 0755), 0);
}

static void
fixture_down(void)
{
	if (root[0] && !getenv("AL_KEEP_TMP"))
		al_rm_rf(root);
}

/* ---- tests ---- */

START_TEST(test_good_patch)
{
	struct run w = {0};
	_cleanup_free_ char *before = repo_state(repo), *after = NULL;
	_cleanup_free_ char *main_id = sh_line("git rev-parse main");
	_cleanup_free_ char *expect = git_tree_after("main", "test.patch", "good.patch");
	_cleanup_free_ char *type = NULL, *tree = NULL, *parent = NULL, *meta = NULL;
	_cleanup_free_ char *cand = NULL, *base = NULL, *t2 = NULL, *base_tree = NULL;

	prepare(&w, "main", "good.patch", "test.patch");
	ck_assert_msg(w.r == 0, "r=%d %s", w.r, al_err_msg(&w.err));
	ck_assert_str_eq(w.res.base_commit, main_id);
	ck_assert_str_eq(w.res.candidate_tree, expect);

	type = sh_line("git cat-file -t %s", w.res.candidate_commit);
	tree = sh_line("git rev-parse %s^{tree}", w.res.candidate_commit);
	parent = sh_line("git rev-parse %s^", w.res.candidate_commit);
	meta = sh_line("git log -1 --format='%%an <%%ae> %%at|%%cn <%%ce> %%ct|%%P|%%s' %s",
		       w.res.candidate_commit);
	ck_assert_str_eq(type, "commit");
	ck_assert_str_eq(tree, w.res.candidate_tree);
	ck_assert_str_eq(parent, main_id);
	ck_assert_msg(strstr(meta, "airlock <airlock@localhost> 1700000000|"
				   "airlock <airlock@localhost> 1700000000|") == meta,
		      "%s", meta);
	ck_assert_msg(strstr(meta, "|candidate msg"), "%s", meta);

	cand = read_text(w.cand_dir, "src/calc.c");
	base = read_text(w.base_dir, "src/calc.c");
	ck_assert_ptr_nonnull(strstr(cand, "int v5 = 500;\n"));
	ck_assert_ptr_nonnull(strstr(cand, "int v30 = 3000;\n"));
	ck_assert_ptr_nonnull(strstr(base, "int v5 = 5;\n"));
	ck_assert_ptr_nonnull(strstr(base, "int v30 = 30;\n"));
	t2 = read_text(w.base_dir, "tests/t2.txt");
	ck_assert_str_eq(t2, "test two\n");
	ck_assert(exists(w.cand_dir, "tests/t2.txt"));
	ck_assert(!exists(w.cand_dir, ".git"));
	assert_dir_is_tree(w.cand_dir, w.res.candidate_tree);
	base_tree = git_tree_after("main", "test.patch", NULL);
	assert_dir_is_tree(w.base_dir, base_tree);

	ck_assert_uint_eq(w.res.n_patch_files, 1);
	ck_assert_str_eq(w.res.patch_files[0].path, "src/calc.c");
	ck_assert_int_eq(w.res.patch_files[0].status, 'M');
	ck_assert_uint_eq(w.res.n_test_files, 1);
	ck_assert_str_eq(w.res.test_files[0].path, "tests/t2.txt");
	ck_assert_int_eq(w.res.test_files[0].status, 'A');

	after = repo_state(repo);
	ck_assert_str_eq(before, after);
	al_checkout_result_clear(&w.res);
	ck_assert_ptr_null(w.res.patch_files);
}
END_TEST

START_TEST(test_no_test_patch)
{
	struct run w = {0};
	_cleanup_free_ char *expect = git_tree_after("main", NULL, "good.patch");
	_cleanup_free_ char *t1 = NULL;

	prepare(&w, "main", "good.patch", NULL);
	ck_assert_msg(w.r == 0, "r=%d %s", w.r, al_err_msg(&w.err));
	ck_assert_str_eq(w.res.candidate_tree, expect);
	ck_assert_uint_eq(w.res.n_test_files, 0);
	t1 = read_text(w.base_dir, "tests/t1.txt");
	ck_assert_str_eq(t1, "test one\n");
	ck_assert(!exists(w.base_dir, "tests/t2.txt"));
	al_checkout_result_clear(&w.res);
}
END_TEST

/* clang-format off */
static const struct {
	const char *base;
	const char *commit; /* what git rev-parse makes of it; NULL: the same */
} base_cases[] = {
	{ "main",            NULL },
	{ "refs/heads/main", NULL },
	{ "@full",           "main" },	/* the full commit id of main */
	{ "@short",          "main" },	/* its first 10 hex digits */
	{ "v1",              "v1^{commit}" },
	{ "refs/tags/v1",    "v1^{commit}" },
	{ "main~1",          NULL },
	{ "drift5",          NULL },
};
/* clang-format on */

START_TEST(test_base_forms)
{
	struct run w = {0};
	const char *spec = base_cases[_i].base;
	_cleanup_free_ char *want =
	    sh_line("git rev-parse '%s'", base_cases[_i].commit ? base_cases[_i].commit : spec);
	_cleanup_free_ char *base = NULL, *tree = NULL;
	const char *patch = strcmp(spec, "drift5") ? "good.patch" : "add_new.patch";

	if (!strcmp(spec, "@full"))
		base = strdup(want);
	else if (!strcmp(spec, "@short"))
		base = strndup(want, 10);
	else
		base = strdup(spec);
	/* drift5 changes v5, where good.patch does not fit */
	prepare(&w, base, patch, "test.patch");
	ck_assert_msg(w.r == 0, "%s: r=%d %s", base, w.r, al_err_msg(&w.err));
	ck_assert_str_eq(w.res.base_commit, want);
	tree = git_tree_after(want, "test.patch", patch);
	ck_assert_str_eq(w.res.candidate_tree, tree);
	al_checkout_result_clear(&w.res);
}
END_TEST

#define LIT(s) ("<" s)

/* clang-format off */
static const struct {
	const char *base;
	const char *patch;
	const char *test_patch;
	int r;
	const char *msg; /* prefix of the error message */
} refuse_cases[] = {
	{ "nope", "good.patch", NULL, -ENOENT, "base 'nope' does not resolve to a commit" },
	{ "refs/heads/nope", "good.patch", NULL, -ENOENT, "base 'refs/heads/nope' does not" },
	{ "main^{tree}", "good.patch", NULL, -ENOENT, "base 'main^{tree}' does not resolve" },
	{ "main:README", "good.patch", NULL, -ENOENT, "base 'main:README' does not resolve" },
	{ "0123456789abcdef0123456789abcdef01234567", "good.patch", NULL, -ENOENT, "base '" },
	{ "-main", "good.patch", NULL, -EINVAL, "base '-main' starts with '-'" },
	{ "--output=/tmp/x", "good.patch", NULL, -EINVAL, "base '--output=/tmp/x' starts" },
	{ "main\n", "good.patch", NULL, -EINVAL, "base contains a control character" },
	{ "ma\033in", "good.patch", NULL, -EINVAL, "base contains a control character" },
	{ "", "good.patch", NULL, -EINVAL, "base is empty" },
	{ "main", LIT("hello world\n"), NULL, -EBADMSG, "patch: " },
	{ "main", LIT(""), NULL, -EBADMSG, "patch: no changes" },
	{ "main", NULL, NULL, -EBADMSG, "patch: no changes" },
	{ "main", LIT("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"), NULL, -EBADMSG, "patch: " },
	{ "main", LIT("diff --git a/x b/x\nindex zz..yy 100644\n--- a/x\n+++ b/x\n"), NULL,
	  -EBADMSG, "patch: " },
	{ "main", "good.patch", LIT("garbage\n"), -EBADMSG, "test_patch: " },
	{ "main",
	  LIT("diff --git a/../outside b/../outside\nnew file mode 100644\n--- /dev/null\n"
	      "+++ b/../outside\n@@ -0,0 +1 @@\n+x\n"),
	  NULL, -EBADMSG, "patch: unsafe path '../outside'" },
	{ "main",
	  LIT("diff --git a/.git/hooks/pre-commit b/.git/hooks/pre-commit\nnew file mode 100755\n"
	      "--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+x\n"),
	  NULL, -EBADMSG, "patch: unsafe path '.git/hooks/pre-commit'" },
	{ "main",
	  LIT("diff --git a/src/.GIT/x b/src/.GIT/x\nnew file mode 100644\n--- /dev/null\n"
	      "+++ b/src/.GIT/x\n@@ -0,0 +1 @@\n+x\n"),
	  NULL, -EBADMSG, "patch: unsafe path 'src/.GIT/x'" },
	{ "main", "good.patch",
	  LIT("diff --git a/tests/./x b/tests/./x\nnew file mode 100644\n--- /dev/null\n"
	      "+++ b/tests/./x\n@@ -0,0 +1 @@\n+x\n"),
	  -EBADMSG, "test_patch: unsafe path 'tests/./x'" },
};
/* clang-format on */

START_TEST(test_refused)
{
	struct run w = {0};

	prepare(&w, refuse_cases[_i].base, refuse_cases[_i].patch, refuse_cases[_i].test_patch);
	ck_assert_msg(w.r == refuse_cases[_i].r, "case %d: r=%d (%s), want %d", _i, w.r,
		      al_err_msg(&w.err), refuse_cases[_i].r);
	ck_assert_int_eq(w.err.code, w.r);
	ck_assert_msg(!strncmp(w.err.msg, refuse_cases[_i].msg, strlen(refuse_cases[_i].msg)),
		      "case %d: message '%s', want prefix '%s'", _i, w.err.msg,
		      refuse_cases[_i].msg);
	/* nothing created, result untouched */
	ck_assert(!exists(w.base_dir, NULL));
	ck_assert(!exists(w.cand_dir, NULL));
	ck_assert_int_eq(w.res.fail_hunk, 77);
	ck_assert_ptr_null(w.res.patch_files);
}
END_TEST

/* clang-format off */
static const struct {
	const char *base;
	const char *patch;
	const char *test_patch;
	const char *which;
	const char *file;
	int hunk;
	const char *msg;
	int git_applies; /* where airlock is deliberately stricter than git apply */
} noapply_cases[] = {
	{ "drift30", "good.patch", "test.patch", "patch", "src/calc.c", 2,
	  "patch does not apply: src/calc.c hunk 2: conflicts with the base (three-way merge)", 0 },
	{ "drift5", "good.patch", "test.patch", "patch", "src/calc.c", 1,
	  "patch does not apply: src/calc.c hunk 1: conflicts with the base (three-way merge)", 0 },
	{ "nocalc", "good.patch", NULL, "patch", "src/calc.c", 0,
	  "patch does not apply: src/calc.c: does not exist", 0 },
	{ "hasnew", "add_new.patch", NULL, "patch", "new.txt", 0,
	  "patch does not apply: new.txt: already exists", 0 },
	{ "noold", "del_old.patch", NULL, "patch", "old.txt", 0,
	  "patch does not apply: old.txt: does not exist", 0 },
	{ "oldchanged", "del_old.patch", NULL, "patch", "old.txt", 0,
	  "patch does not apply: old.txt: deleted file does not match the patch", 0 },
	{ "t1changed", "good.patch", "test_mod.patch", "test_patch", "tests/t1.txt", 1,
	  "test_patch does not apply: tests/t1.txt hunk 1: conflicts with the base (three-way "
	  "merge)", 0 },
	{ "runmode", "run.patch", NULL, "patch", "run.sh", 0,
	  "patch does not apply: run.sh: mode is 100644, the patch expects 100755", 1 },
	{ "docsfile", "docs_a.patch", NULL, "patch", "docs/a.txt", 0,
	  "patch does not apply: docs/a.txt: would also change 'docs'", 0 },
	{ "main", "escape.patch", NULL, "patch", "escape/pwned", 0,
	  "patch does not apply: escape/pwned: would also change 'escape'", 0 },
	{ "main", "collide.patch", NULL, "patch", "lnk2", 0,
	  "patch does not apply: lnk2: collides with another path in the patch", 0 },
};
/* clang-format on */

START_TEST(test_does_not_apply)
{
	struct run w = {0};
	_cleanup_free_ char *base_id = sh_line("git rev-parse %s", noapply_cases[_i].base);
	_cleanup_free_ char *outside = al_path_join(root, "outside");

	prepare(&w, noapply_cases[_i].base, noapply_cases[_i].patch, noapply_cases[_i].test_patch);
	ck_assert_msg(w.r == -ENOEXEC, "case %d: r=%d %s", _i, w.r, al_err_msg(&w.err));
	ck_assert_str_eq(w.res.fail_which, noapply_cases[_i].which);
	ck_assert_str_eq(w.res.fail_file, noapply_cases[_i].file);
	ck_assert_int_eq(w.res.fail_hunk, noapply_cases[_i].hunk);
	ck_assert_str_eq(w.err.msg, noapply_cases[_i].msg);
	ck_assert_str_eq(w.res.base_commit, base_id);
	ck_assert_str_eq(w.res.candidate_commit, "");
	ck_assert_uint_gt(w.res.n_patch_files, 0);
	ck_assert(!exists(w.base_dir, NULL));
	ck_assert(!exists(w.cand_dir, NULL));
	ck_assert(!exists(outside, "pwned"));
	/* git agrees that it does not apply, except where git only warns: a patch whose index
	 * line says 100755 for a 100644 file leaves git and libgit2 disagreeing on the result */
	ck_assert_int_eq(git_apply_check(noapply_cases[_i].base, noapply_cases[_i].test_patch,
					 noapply_cases[_i].patch) == 0,
			 noapply_cases[_i].git_applies);
	al_checkout_result_clear(&w.res);
}
END_TEST

START_TEST(test_format_patch)
{
	struct run w = {0}, v = {0};
	_cleanup_free_ char *fp_tree = sh_line("git rev-parse fp^{tree}");
	_cleanup_free_ char *raw = NULL;
	size_t len;

	raw = read_patch("fp.patch", &len);
	ck_assert_ptr_nonnull(strstr(raw, "Subject: [PATCH] fp"));
	ck_assert_ptr_nonnull(strstr(raw, "\n-- \n"));

	prepare(&w, "main", "fp.patch", "test.patch");
	ck_assert_msg(w.r == 0, "r=%d %s", w.r, al_err_msg(&w.err));
	prepare(&v, "main", "good.patch", "test.patch");
	ck_assert_int_eq(v.r, 0);
	ck_assert_str_eq(w.res.candidate_tree, v.res.candidate_tree);
	ck_assert_uint_eq(w.res.n_patch_files, 1);
	ck_assert_str_eq(w.res.patch_files[0].path, "src/calc.c");

	/* without the test patch the tree is exactly the commit's */
	al_checkout_result_clear(&w.res);
	prepare(&w, "main", "fp.patch", NULL);
	ck_assert_int_eq(w.r, 0);
	ck_assert_str_eq(w.res.candidate_tree, fp_tree);
	al_checkout_result_clear(&w.res);
	al_checkout_result_clear(&v.res);
}
END_TEST

/* clang-format off */
static const struct {
	const char *branch; /* series-<branch>.patch is `git format-patch main..<branch>` */
	size_t n_files;
	const char *file, *text; /* a file of the result and its content; NULL: absent */
} series_cases[] = {
	{ "fp2", 3, "src/calc.c", NULL },	/* calc.c twice, then a new file */
	{ "s1",  2, "old.txt",    NULL },	/* modified, then deleted */
	{ "s2",  3, "y.txt",      "y\ny2\n" },	/* added, modified, made executable */
	{ "s3",  2, "m2.txt",     NULL },	/* renamed, then modified */
};
/* clang-format on */

START_TEST(test_format_patch_series)
{
	struct run w = {0};
	_cleanup_free_ char *want = sh_line("git rev-parse %s^{tree}", series_cases[_i].branch);
	_cleanup_free_ char *name = NULL, *text = NULL;

	ck_assert_int_ge(asprintf(&name, "series-%s.patch", series_cases[_i].branch), 0);
	prepare(&w, "main", name, NULL);
	ck_assert_msg(w.r == 0, "%s: r=%d %s", name, w.r, al_err_msg(&w.err));
	ck_assert_str_eq(w.res.candidate_tree, want);
	assert_dir_is_tree(w.cand_dir, w.res.candidate_tree);
	ck_assert_uint_eq(w.res.n_patch_files, series_cases[_i].n_files);
	text = read_text(w.cand_dir, series_cases[_i].file);
	if (series_cases[_i].text)
		ck_assert_str_eq(text, series_cases[_i].text);
	else if (!strcmp(series_cases[_i].branch, "s1"))
		ck_assert_ptr_null(text);
	al_checkout_result_clear(&w.res);
}
END_TEST

/* clang-format off */
static const struct {
	const char *path;
	const char *old_path;
	char status;
	unsigned old_mode, new_mode;
	int binary;
} file_cases[] = {
	{ "new.txt",    "new.txt",    'A', 0,        0100644, 0 },
	{ "old.txt",    "old.txt",    'D', 0100644,  0,       0 },
	{ "moved.txt",  "mv_me.txt",  'R', 0100644,  0100644, 0 },
	{ "mode_me.sh", "mode_me.sh", 'M', 0100644,  0100755, 0 },
	{ "lnk",        "lnk",        'A', 0,        0120000, 0 },
	{ "bin.dat",    "bin.dat",    'A', 0,        0100644, 1 },
};
/* clang-format on */

START_TEST(test_file_list)
{
	struct run w = {0};
	const struct al_patch_file *f = NULL;
	_cleanup_free_ char *want = git_tree_after("main", NULL, "files.patch");

	prepare(&w, "main", "files.patch", NULL);
	ck_assert_msg(w.r == 0, "r=%d %s", w.r, al_err_msg(&w.err));
	ck_assert_uint_eq(w.res.n_patch_files, AL_ARRAY_SIZE(file_cases));
	ck_assert_str_eq(w.res.candidate_tree, want);
	for (size_t i = 0; i < w.res.n_patch_files; i++)
		if (!strcmp(w.res.patch_files[i].path, file_cases[_i].path))
			f = &w.res.patch_files[i];
	ck_assert_msg(f != NULL, "%s not listed", file_cases[_i].path);
	ck_assert_str_eq(f->old_path, file_cases[_i].old_path);
	ck_assert_int_eq(f->status, file_cases[_i].status);
	ck_assert_uint_eq(f->old_mode, file_cases[_i].old_mode);
	ck_assert_uint_eq(f->new_mode, file_cases[_i].new_mode);
	ck_assert_int_eq(f->binary, file_cases[_i].binary);
	al_checkout_result_clear(&w.res);
}
END_TEST

START_TEST(test_written_tree)
{
	struct run w = {0};
	_cleanup_free_ char *p_mode = NULL, *p_run = NULL, *p_lnk = NULL, *p_esc = NULL;
	_cleanup_free_ char *p_bin = NULL, *bin = NULL;
	char target[PATH_MAX];
	struct stat st;
	size_t len;
	ssize_t n;

	prepare(&w, "main", "files.patch", NULL);
	ck_assert_msg(w.r == 0, "r=%d %s", w.r, al_err_msg(&w.err));
	assert_dir_is_tree(w.cand_dir, w.res.candidate_tree);
	p_mode = al_path_join(w.cand_dir, "mode_me.sh");
	p_run = al_path_join(w.cand_dir, "run.sh");
	p_lnk = al_path_join(w.cand_dir, "lnk");
	p_esc = al_path_join(w.cand_dir, "escape");
	p_bin = al_path_join(w.cand_dir, "bin.dat");
	ck_assert_int_eq(stat(p_mode, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(stat(p_run, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(stat(w.cand_dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(lstat(p_lnk, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	n = readlink(p_lnk, target, sizeof(target) - 1);
	ck_assert_int_eq(n, 6);
	target[n] = '\0';
	ck_assert_str_eq(target, "run.sh");
	ck_assert_int_eq(lstat(p_esc, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(al_file_read(p_bin, 100, &bin, &len, NULL), 0);
	ck_assert_uint_eq(len, 9);
	ck_assert_int_eq(memcmp(bin, "bin\0ary\0\1", 9), 0);
	ck_assert(!exists(w.cand_dir, "old.txt"));
	ck_assert(!exists(w.cand_dir, "mv_me.txt"));
	ck_assert(exists(w.cand_dir, "moved.txt"));
	ck_assert(exists(w.base_dir, "old.txt"));
	ck_assert(exists(w.base_dir, "mv_me.txt"));
	ck_assert(!exists(w.base_dir, "lnk"));
	al_checkout_result_clear(&w.res);
}
END_TEST

START_TEST(test_rename_keeps_mode)
{
	struct run w = {0};
	_cleanup_free_ char *want = git_tree_after("main", NULL, "rename_exec.patch");
	_cleanup_free_ char *p = NULL;
	struct stat st;

	/* a 100% rename names no mode; libgit2 alone would make the script 100644 */
	prepare(&w, "main", "rename_exec.patch", NULL);
	ck_assert_msg(w.r == 0, "r=%d %s", w.r, al_err_msg(&w.err));
	ck_assert_str_eq(w.res.candidate_tree, want);
	ck_assert_uint_eq(w.res.n_patch_files, 1);
	ck_assert_int_eq(w.res.patch_files[0].status, 'R');
	ck_assert_uint_eq(w.res.patch_files[0].old_mode, 0100755);
	ck_assert_uint_eq(w.res.patch_files[0].new_mode, 0100755);
	p = al_path_join(w.cand_dir, "run2.sh");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	al_checkout_result_clear(&w.res);
}
END_TEST

START_TEST(test_existing_dir)
{
	struct run w = {0};
	struct al_err err = {0};
	_cleanup_free_ char *keep = NULL;
	int r;

	/* a directory the caller made is never filled or removed */
	prepare(&w, "main", "good.patch", NULL);
	ck_assert_int_eq(w.r, 0);
	keep = al_path_join(w.work, "other/keep");
	ck_assert_int_eq(al_mkdir_p(keep, 0755), 0);
	r = al_checkout_write(repo, w.res.candidate_tree, keep, &err);
	ck_assert_int_eq(r, -EEXIST);
	ck_assert(exists(keep, NULL));
	ck_assert_int_eq(rmdir(keep), 0);
	/* a tree the repository lacks: nothing left behind */
	r = al_checkout_write(repo, "0123456789abcdef0123456789abcdef01234567", keep, NULL);
	ck_assert_int_lt(r, 0);
	ck_assert(!exists(keep, NULL));
	al_checkout_result_clear(&w.res);
}
END_TEST

START_TEST(test_bare_repo)
{
	struct run w = {0};
	_cleanup_free_ char *bare = NULL, *before = NULL, *after = NULL, *calc = NULL;
	_cleanup_free_ char *expect = git_tree_after("main", "test.patch", "good.patch");
	_cleanup_free_ char *type = NULL;

	ck_assert_int_ge(asprintf(&bare, "%s/bare-%d.git", root, (int)getpid()), 0);
	ck_assert_int_eq(sh(NULL, "git clone -q --bare . '%s'", bare), 0);
	before = repo_state(bare);
	prepare_in(&w, bare, "main", "good.patch", "test.patch");
	ck_assert_msg(w.r == 0, "r=%d %s", w.r, al_err_msg(&w.err));
	ck_assert_str_eq(w.res.candidate_tree, expect);
	calc = read_text(w.cand_dir, "src/calc.c");
	ck_assert_ptr_nonnull(strstr(calc, "int v30 = 3000;\n"));
	type = sh_line("git --git-dir='%s' cat-file -t %s", bare, w.res.candidate_commit);
	ck_assert_str_eq(type, "commit");
	after = repo_state(bare);
	ck_assert_str_eq(before, after);
	al_checkout_result_clear(&w.res);
}
END_TEST

START_TEST(test_not_a_repo)
{
	struct run w = {0};
	_cleanup_free_ char *sub = al_path_join(repo, "src");

	/* a directory inside a repository is not the repository: no upward search */
	prepare_in(&w, sub, "main", "good.patch", NULL);
	ck_assert_int_eq(w.r, -ENOENT);
	ck_assert(!exists(w.cand_dir, NULL));
}
END_TEST

/* clang-format off */
static const struct {
	const char *test_patch, *patch; /* under examples/calc */
	int r;
	const char *fail_file;
	int fail_hunk;
} calc_cases[] = {
	{ "test.patch",               "fix.patch",                 0,        NULL,         0 },
	{ "bad/already-passes.patch", "fix.patch",                 0,        NULL,         0 },
	{ "test.patch",               "bad/breaks-contract.patch", 0,        NULL,         0 },
	{ "test.patch",               "bad/touches-tests.patch",   0,        NULL,         0 },
	{ "test.patch",               "bad/does-not-apply.patch",  -ENOEXEC, "src/calc.c", 1 },
};
/* clang-format on */

/* The example's patches go through libgit2 as they go through git (examples/calc/verify.sh),
 * and the written directories hold a project whose test fails before and passes after. */
START_TEST(test_example_calc)
{
	struct run w = {0};
	struct al_checkout_opts o = {0};
	_cleanup_free_ char *tp = NULL, *p = NULL, *tdata = NULL, *pdata = NULL;
	size_t tlen, plen;

	tp = al_path_join(calc_dir, calc_cases[_i].test_patch);
	p = al_path_join(calc_dir, calc_cases[_i].patch);
	ck_assert_int_eq(al_file_read(tp, OUT_CAP, &tdata, &tlen, NULL), 0);
	ck_assert_int_eq(al_file_read(p, OUT_CAP, &pdata, &plen, NULL), 0);
	new_work(&w);
	o.repo_path = calc_repo;
	o.base = "main";
	o.patch = pdata;
	o.patch_len = plen;
	o.test_patch = tdata;
	o.test_patch_len = tlen;
	o.commit_time = COMMIT_TIME;
	w.r = al_checkout_prepare(&o, &w.res, &w.err);
	write_trees(&w, calc_repo);
	ck_assert_msg(w.r == calc_cases[_i].r, "r=%d %s", w.r, al_err_msg(&w.err));
	if (w.r < 0) {
		ck_assert_str_eq(w.res.fail_file, calc_cases[_i].fail_file);
		ck_assert_int_eq(w.res.fail_hunk, calc_cases[_i].fail_hunk);
		ck_assert_str_eq(w.err.msg, "patch does not apply: src/calc.c hunk 1");
	} else if (_i == 0) {
		ck_assert_int_eq(sh_in(w.base_dir, NULL, "sh tests/run.sh clamp_above 2>/dev/null"),
				 1);
		ck_assert_int_eq(sh_in(w.cand_dir, NULL, "sh tests/run.sh clamp_above"), 0);
		ck_assert_int_eq(sh_in(w.base_dir, NULL, "make -s check"), 0);
		ck_assert_int_eq(sh_in(w.cand_dir, NULL, "make -s check"), 0);
	}
	al_checkout_result_clear(&w.res);
}
END_TEST

/* ---- hunks at shifted lines, three-way merges ---- */

/* The tree `git apply --3way --cached` makes. */
static char *
git_tree_after3(const char *base, const char *patch)
{
	_cleanup_free_ char *pp = patch_path(patch);

	return sh_line("export GIT_INDEX_FILE=\"%s/tmp-index.$$\"; git read-tree '%s' && "
		       "git apply --cached -3 '%s' 2>/dev/null && git write-tree; rc=$?; "
		       "rm -f \"$GIT_INDEX_FILE\"; exit $rc",
		       root, base, pp);
}

/* clang-format off */
static const struct {
	const char *base, *patch;
	size_t n;		/* hunks at shifted lines */
	int hunk[2];
	long offset[2];
} offset_cases[] = {
	{ "long",     "long30.patch",   0, {0},    {0} },
	{ "down3",    "long30.patch",   1, {1},    {3} },
	{ "up2",      "long30.patch",   1, {1},    {-2} },
	{ "twoshift", "long2050.patch", 2, {1, 2}, {3, 5} },
	{ "dupnear",  "long30.patch",   1, {1},    {-5} },	/* a copy 5 above, the original 7 below */
	{ "duptie",   "long30.patch",   1, {1},    {7} },	/* 7 above and 7 below: below wins */
};
/* clang-format on */

START_TEST(test_offsets)
{
	struct run w = {0};
	_cleanup_free_ char *want =
	    git_tree_after(offset_cases[_i].base, NULL, offset_cases[_i].patch);
	_cleanup_free_ char *text = NULL;

	prepare(&w, offset_cases[_i].base, offset_cases[_i].patch, NULL);
	ck_assert_msg(w.r == 0, "r=%d %s", w.r, al_err_msg(&w.err));
	/* git apply puts every hunk where this did */
	ck_assert_str_eq(w.res.candidate_tree, want);
	ck_assert_uint_eq(w.res.n_offsets, offset_cases[_i].n);
	for (size_t k = 0; k < w.res.n_offsets; k++) {
		ck_assert_str_eq(w.res.offsets[k].which, "patch");
		ck_assert_str_eq(w.res.offsets[k].file, "long.txt");
		ck_assert_int_eq(w.res.offsets[k].hunk, offset_cases[_i].hunk[k]);
		ck_assert_int_eq(w.res.offsets[k].offset, offset_cases[_i].offset[k]);
	}
	ck_assert_uint_eq(w.res.n_merged, 0);
	text = read_text(w.cand_dir, "long.txt");
	ck_assert_ptr_nonnull(strstr(text, "\nline 30 changed\n") ? text
								  : strstr(text, "20 changed"));
	al_checkout_result_clear(&w.res);
}
END_TEST

/* The same through the test patch: its offsets are its own. */
START_TEST(test_offsets_test_patch)
{
	struct run w = {0};

	prepare(&w, "down3", "good.patch", "long30.patch");
	ck_assert_msg(w.r == 0, "r=%d %s", w.r, al_err_msg(&w.err));
	ck_assert_uint_eq(w.res.n_offsets, 1);
	ck_assert_str_eq(w.res.offsets[0].which, "test_patch");
	ck_assert_int_eq(w.res.offsets[0].offset, 3);
	al_checkout_result_clear(&w.res);
}
END_TEST

START_TEST(test_merge_clean)
{
	struct run w = {0};
	_cleanup_free_ char *want = git_tree_after3("mergeok", "long30.patch");
	_cleanup_free_ char *text = NULL;

	/* the base changed line 27, inside the hunk's context, and dropped lines 3 and 4 */
	ck_assert_int_ne(git_apply_check("mergeok", NULL, "long30.patch"), 0);
	prepare(&w, "mergeok", "long30.patch", NULL);
	ck_assert_msg(w.r == 0, "r=%d %s", w.r, al_err_msg(&w.err));
	ck_assert_str_eq(w.res.candidate_tree, want);
	ck_assert_uint_eq(w.res.n_merged, 1);
	ck_assert_str_eq(w.res.merged[0].which, "patch");
	ck_assert_str_eq(w.res.merged[0].file, "long.txt");
	ck_assert_uint_eq(w.res.n_offsets, 0);
	text = read_text(w.cand_dir, "long.txt");
	ck_assert_ptr_nonnull(strstr(text, "\nline 27 base\nline 28\nline 29\nline 30 changed\n"));
	ck_assert_ptr_null(strstr(text, "\nline 3\n"));
	al_checkout_result_clear(&w.res);
}
END_TEST

/* clang-format off */
static const struct {
	const char *base, *patch, *msg;
} reject_cases[] = {
	{ "mergebad", "long30.patch",
	  "patch does not apply: long.txt hunk 1: conflicts with the base (three-way merge)" },
	/* the index line names a blob the repository lacks: no merge */
	{ "mergeok", "long30-noblob.patch", "patch does not apply: long.txt hunk 1" },
	{ "mergebad", "long30-noblob.patch", "patch does not apply: long.txt hunk 1" },
	/* no index line at all; the context matches nowhere */
	{ "mergeok", "<diff --git a/long.txt b/long.txt\n--- a/long.txt\n+++ b/long.txt\n"
	  "@@ -10,3 +10,3 @@\n line 10\n-line 11\n+eleven\n line 12\n"
	  "@@ -27,7 +27,7 @@\n line 27\n line 28\n line 29\n-line 30\n+thirty\n line 31\n"
	  " line 32\n line 33\n", "patch does not apply: long.txt hunk 2" },
};
/* clang-format on */

START_TEST(test_rejected)
{
	struct run w = {0};

	prepare(&w, reject_cases[_i].base, reject_cases[_i].patch, NULL);
	ck_assert_msg(w.r == -ENOEXEC, "r=%d %s", w.r, al_err_msg(&w.err));
	ck_assert_str_eq(w.err.msg, reject_cases[_i].msg);
	ck_assert_str_eq(w.res.fail_which, "patch");
	ck_assert_str_eq(w.res.fail_file, "long.txt");
	ck_assert_int_eq(w.res.fail_hunk, reject_cases[_i].patch[0] == '<' ? 2 : 1);
	ck_assert_str_eq(w.res.candidate_commit, "");
	al_checkout_result_clear(&w.res);
}
END_TEST

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A patch for big.txt (100,000 lines): hunks made by each(k, buf). */
static char *
big_patch(size_t n, void (*each)(size_t k, struct al_buf *b))
{
	struct al_buf b;

	al_buf_init(&b, OUT_CAP);
	ck_assert_int_eq(al_buf_puts(&b, "<diff --git a/big.txt b/big.txt\n--- a/big.txt\n"
					 "+++ b/big.txt\n"),
			 0);
	for (size_t k = 0; k < n; k++)
		each(k, &b);
	return al_buf_steal(&b, NULL);
}

static void
far_end(size_t k, struct al_buf *b)
{
	(void)k;
	/* z1..z3 are the last lines; the hunk says line 2 */
	ck_assert_int_eq(al_buf_puts(b, "@@ -2,3 +2,4 @@\n z1\n z2\n+new\n z3\n"), 0);
}

static void
nowhere(size_t k, struct al_buf *b)
{
	(void)k;
	/* 5,000 lines "a" and then one that is nowhere */
	ck_assert_int_eq(al_buf_puts(b, "@@ -500,5001 +500,5001 @@\n"), 0);
	for (int i = 0; i < 5000; i++)
		ck_assert_int_eq(al_buf_puts(b, " a\n"), 0);
	ck_assert_int_eq(al_buf_puts(b, "-b\n+c\n"), 0);
}

static void
far_top(size_t k, struct al_buf *b)
{
	/* each says line 99,000 and matches at the top */
	ck_assert_int_eq(al_buf_printf(b, "@@ -99000,1 +%zu,2 @@\n+new\n u%zu\n", 99000 + k, k + 1),
			 0);
}

/* clang-format off */
static const struct {
	const char *what;
	size_t n;
	void (*each)(size_t k, struct al_buf *b);
	int r;
	const char *msg;
} big_cases[] = {
	{ "one hunk 99,996 lines off", 1, far_end, 0, NULL },
	{ "a 5,001-line hunk that matches nowhere", 1, nowhere, -ENOEXEC,
	  "patch does not apply: big.txt hunk 1" },
	{ "400 hunks, each ~99,000 lines off", 400, far_top, -ENOEXEC,
	  "patch does not apply: big.txt hunk 337: no match within the search budget" },
};
/* clang-format on */

START_TEST(test_big_file)
{
	struct run w = {0};
	_cleanup_free_ char *patch = big_patch(big_cases[_i].n, big_cases[_i].each);
	double t0 = now_s(), dt;

	prepare(&w, "big", patch, NULL);
	dt = now_s() - t0;
	printf("checkout: 100,000-line file, %s: %.3f s\n", big_cases[_i].what, dt);
	fflush(stdout);
	ck_assert_msg(w.r == big_cases[_i].r, "r=%d %s", w.r, al_err_msg(&w.err));
	if (big_cases[_i].msg)
		ck_assert_str_eq(w.err.msg, big_cases[_i].msg);
	else
		ck_assert_int_eq(w.res.offsets[0].offset, 99996);
	/* bounded: well under the budget's worth of time on any machine this runs on */
	ck_assert_msg(dt < 5.0, "%.3f s", dt);
	al_checkout_result_clear(&w.res);
}
END_TEST

/* clang-format off */
static const struct {
	const char *patch;
	int r;
	long offset; /* when it applies */
} hostile_cases[] = {
	/* counts that claim more lines than the hunk has */
	{ "<diff --git a/long.txt b/long.txt\n--- a/long.txt\n+++ b/long.txt\n"
	  "@@ -30,9 +30,9 @@\n-line 30\n+line 30 changed\n", -EBADMSG, 0 },
	/* counts that claim fewer: what follows is not read as the hunk's (libgit2 and git
	 * both stop a hunk at its counts) */
	{ "<diff --git a/long.txt b/long.txt\n--- a/long.txt\n+++ b/long.txt\n"
	  "@@ -30,1 +30,1 @@\n-line 30\n+line 30 changed\n-line 31\n+x\n", 0, 0 },
	/* a line number past the end: searched from the end, as git does */
	{ "<diff --git a/long.txt b/long.txt\n--- a/long.txt\n+++ b/long.txt\n"
	  "@@ -2000000000,3 +2000000000,3 @@\n line 29\n-line 30\n+line 30 changed\n line 31\n",
	  0, 28 - 1999999999L },
	/* one that does not fit an int */
	{ "<diff --git a/long.txt b/long.txt\n--- a/long.txt\n+++ b/long.txt\n"
	  "@@ -99999999999,3 +99999999999,3 @@\n line 29\n-line 30\n+line 30 changed\n line 31\n",
	  -EBADMSG, 0 },
};
/* clang-format on */

START_TEST(test_hostile)
{
	struct run w = {0};

	prepare(&w, "long", hostile_cases[_i].patch, NULL);
	ck_assert_msg(w.r == hostile_cases[_i].r, "case %d: r=%d %s", _i, w.r, al_err_msg(&w.err));
	if (w.r == 0) {
		_cleanup_free_ char *text = read_text(w.cand_dir, "long.txt");

		ck_assert_uint_eq(w.res.n_offsets, hostile_cases[_i].offset != 0);
		if (hostile_cases[_i].offset)
			ck_assert_int_eq(w.res.offsets[0].offset, hostile_cases[_i].offset);
		ck_assert_ptr_nonnull(strstr(text, "\nline 30 changed\nline 31\n"));
	}
	al_checkout_result_clear(&w.res);
}
END_TEST

START_TEST(test_base_on)
{
	_cleanup_free_ char *main_id = sh_line("git rev-parse main");
	_cleanup_free_ char *parent = sh_line("git rev-parse main~1");
	_cleanup_free_ char *off = sh_line("git commit-tree -p main -m off main^{tree}");
	const char *tips[] = {main_id};
	struct al_err err = {0};
	char got[41];

	ck_assert_int_eq(al_git_base_on(repo, "main", tips, 1, got, NULL), 0);
	ck_assert_str_eq(got, main_id);
	ck_assert_int_eq(al_git_base_on(repo, "main~1", tips, 1, got, NULL), 0);
	ck_assert_str_eq(got, parent);
	/* a commit only in the object database, and a branch that is not a tip */
	ck_assert_int_eq(al_git_base_on(repo, off, tips, 1, got, &err), -EPERM);
	ck_assert_msg(strstr(err.msg, "is not on a protected branch"), "%s", err.msg);
	ck_assert_int_eq(al_git_base_on(repo, "drift5", tips, 1, got, NULL), -EPERM);
	ck_assert_int_eq(al_git_base_on(repo, "nope", tips, 1, got, NULL), -ENOENT);
	ck_assert_int_eq(al_git_base_on(repo, "-main", tips, 1, got, NULL), -EINVAL);
	ck_assert_int_eq(al_git_base_on(repo, "main", tips, 0, got, NULL), -EPERM);
}
END_TEST

START_TEST(test_clear)
{
	struct al_checkout_result r = {0};

	al_checkout_result_clear(&r);
	al_checkout_result_clear(&r);
	al_checkout_result_clear(NULL);
	ck_assert_ptr_null(r.fail_file);
	ck_assert_uint_eq(r.n_patch_files, 0);
}
END_TEST

static Suite *
checkout_suite(void)
{
	Suite *s = suite_create("checkout");
	TCase *tc = tcase_create("checkout");

	tcase_add_unchecked_fixture(tc, fixture_up, fixture_down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_good_patch);
	tcase_add_test(tc, test_no_test_patch);
	tcase_add_loop_test(tc, test_base_forms, 0, (int)AL_ARRAY_SIZE(base_cases));
	tcase_add_loop_test(tc, test_refused, 0, (int)AL_ARRAY_SIZE(refuse_cases));
	tcase_add_loop_test(tc, test_does_not_apply, 0, (int)AL_ARRAY_SIZE(noapply_cases));
	tcase_add_test(tc, test_format_patch);
	tcase_add_loop_test(tc, test_format_patch_series, 0, (int)AL_ARRAY_SIZE(series_cases));
	tcase_add_loop_test(tc, test_file_list, 0, (int)AL_ARRAY_SIZE(file_cases));
	tcase_add_test(tc, test_written_tree);
	tcase_add_test(tc, test_rename_keeps_mode);
	tcase_add_test(tc, test_existing_dir);
	tcase_add_test(tc, test_bare_repo);
	tcase_add_test(tc, test_not_a_repo);
	tcase_add_loop_test(tc, test_example_calc, 0, (int)AL_ARRAY_SIZE(calc_cases));
	tcase_add_loop_test(tc, test_offsets, 0, (int)AL_ARRAY_SIZE(offset_cases));
	tcase_add_test(tc, test_offsets_test_patch);
	tcase_add_test(tc, test_merge_clean);
	tcase_add_loop_test(tc, test_rejected, 0, (int)AL_ARRAY_SIZE(reject_cases));
	tcase_add_loop_test(tc, test_big_file, 0, (int)AL_ARRAY_SIZE(big_cases));
	tcase_add_loop_test(tc, test_hostile, 0, (int)AL_ARRAY_SIZE(hostile_cases));
	tcase_add_test(tc, test_base_on);
	tcase_add_test(tc, test_clear);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(checkout_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
