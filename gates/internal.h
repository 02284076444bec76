/* Shared by the files of gates/ only: the policy layout, caps and small helpers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gates/gates.h"
#include "gates/quarantine.h"

/* Caps on trusted policy input (config mistakes should fail loudly, not exhaust memory). */
#define AL_POLICY_MAX_ARGV 64
#define AL_POLICY_MAX_ARG_LEN 4096
#define AL_POLICY_MAX_CONTRACTS 64
#define AL_POLICY_MAX_NAME 64
#define AL_POLICY_MAX_GLOBS 256
#define AL_POLICY_MAX_GLOB_LEN 1024
#define AL_POLICY_TIMEOUT_DEFAULT 60
#define AL_POLICY_TIMEOUT_MAX 3600
#define AL_POLICY_MAX_PATCH_BYTES_DEFAULT 1048576
#define AL_POLICY_MAX_PATCH_BYTES_MAX 1073741824
#define AL_POLICY_MAX_FILES_DEFAULT 200
#define AL_POLICY_REPEAT_MAX 10
#define AL_POLICY_MEMORY_MB_DEFAULT 1024
#define AL_POLICY_MEMORY_MB_MAX 65536
/* below the memory default: the disk is tmpfs, charged to the run's memory */
#define AL_POLICY_DISK_MB_DEFAULT 512
#define AL_POLICY_DISK_MB_MAX 65536
#define AL_POLICY_PIDS_DEFAULT 256
#define AL_POLICY_PIDS_MAX 65536
#define AL_POLICY_OUTPUT_DEFAULT 1048576
#define AL_POLICY_OUTPUT_MAX 67108864
#define AL_POLICY_APPROVALS_MAX 10
#define AL_POLICY_REVIEWERS_MAX 256
#define AL_POLICY_LIFETIME_DEFAULT 86400
#define AL_POLICY_LIFETIME_MIN 60
#define AL_POLICY_LIFETIME_MAX (30 * 86400)
#define AL_POLICY_REF_MAX 200
#define AL_POLICY_MAX_BRANCHES 64

/* Caps on untrusted input. */
#define AL_TEST_ID_MAX 200
#define AL_GATES_MAX_TESTS 256
#define AL_PATCH_MAX_LINE 65536
#define AL_PATCH_MAX_FILES 10000
#define AL_PATCH_MAX_PATH 4096

/* Longest reason text a rule carries (longer ones are cut). */
#define AL_REASON_MAX 480

static inline void
al_gates_decrefp(json_t **j)
{
	json_decref(*j);
}

enum al_authority_kind { AL_AUTH_NONE, AL_AUTH_WRITE, AL_AUTH_MERGE };

/* What a grant at one tier carries. */
struct al_tier {
	enum al_authority_kind authority;
	json_t *refs; /* owned; write: one pattern whose '*' is the proposal id; merge: the
		       * ref globs the base ref must match; none: empty */
	unsigned lifetime_s;
};

struct al_policy {
	json_t *reproduce;	   /* owned; argv array, NULL when the policy has no reproduce */
	json_t *contracts;	   /* owned; array of {"name","command"}, empty when none */
	json_t *test_paths;	   /* owned; array of globs, empty when none */
	json_t *executable_paths;  /* owned; array of globs, empty when none */
	json_t *protected_paths;   /* owned; the default globs, then the operator's */
	json_t *reviewers;	   /* owned; names allowed to approve, empty: any reviewer */
	json_t *test_config_paths; /* owned; the default globs, then the operator's */
	json_t *branches;	   /* owned; ref globs a base must be on (refs/heads/...) */
	const char *report;	   /* static; the reproduce command's report format, or NULL */
	unsigned timeout_s;
	unsigned repeat; /* runs of each reproduce test on each side, 1..AL_POLICY_REPEAT_MAX */
	bool allow_binary;
	bool block_preexisting;	    /* a contract failing on base too still rejects */
	bool regate_on_base_change; /* a grant whose base moved sends the proposal round again */
	bool auto_promote;	    /* a grant is exercised as soon as it is issued */
	size_t max_patch_bytes, max_files;
	size_t memory_mb, disk_mb, pids, output_bytes;
	size_t approvals;	 /* required by policy (protected paths raise it to at least 1) */
	struct al_tier tiers[3]; /* [1] validated, [2] approved; [0] unused */
	struct al_quarantine_rules quarantine; /* not digested: it judges the proposer */
	json_t *egress_gate;  /* owned; the gate runs' path out (egress/proxy.h), NULL: none */
	json_t *egress_setup; /* owned; setup's path out, NULL: none */
	json_t *environment;  /* owned; {"image","digest"?} (gates/environment.c), NULL: none */
	json_t *setup;	      /* owned; {"command","keys","on_lockfile_change","timeout_s"} */
};

/* The policy's "environment" and "setup" objects (gates/environment.c). */
int al_gates_environment_parse(void *ctx, const json_t *v, const char *path, struct al_err *err);
int al_gates_setup_parse(void *ctx, const json_t *v, const char *path, struct al_err *err);
/* The "setup" rule (gates/environment.c); sets *blocked when setup kept the plan from
 * running. */
/* 1 when a change to setup's key files needs a human (on_lockfile_change "human"). */
bool al_gates_setup_needs_human(const struct al_policy *p);
/* Appends each string of paths not already in list; 0 or -ENOMEM. */
int al_gates_add_paths(json_t *list, const json_t *paths);
int al_gates_rule_setup(const struct al_policy *p, const json_t *result, json_t *rules,
			const char **blocked);

/* The policy's "quarantine" object (gates/quarantine.c), and its defaults. */
int al_gates_quarantine_parse(void *ctx, const json_t *v, const char *path, struct al_err *err);
void al_gates_quarantine_defaults(struct al_quarantine_rules *q);

/* 1 when path matches glob ("**" whole segments, "*" and "?" within one), else 0. */
int al_gates_glob_match(const char *glob, const char *path);
/* 1 when path matches any glob in the array. */
int al_gates_globs_match(const json_t *globs, const char *path);

/* 1 when s (n bytes) is a ref name, or ref glob, git would accept under refs/: printable
 * ASCII, no "..", "//", "/.", "@{", ".lock" component end, or any of ~^:\\[ . */
bool al_gates_ref_valid(const char *s, size_t n);

/* Why a repository path is unsafe ("is absolute", ...), or NULL when it is fine. */
const char *al_gates_path_problem(const char *path);

/* 1 when the n bytes at s are valid UTF-8 (what jansson accepts). */
int al_gates_utf8_valid(const char *s, size_t n);
/* Copies n bytes of s into dst as one printable line: control bytes and invalid UTF-8
 * become '?', and an over-long text ends in "...". */
void al_gates_printable(char *dst, size_t dstsz, const char *s, size_t n);

/* Appends {"rule","result","reason","evidence":{}} to rules; the reason is made one printable line.
 * 0 or -ENOMEM. */
int al_gates_rule_add(json_t *rules, const char *rule, const char *result, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with an evidence object (stolen; NULL gives an empty one): which run, which
 * patch, file and line. */
int al_gates_rule_add_ev(json_t *rules, const char *rule, const char *result, json_t *evidence,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* 1 when result is UNSATISFIED or ERROR (or anything unknown: fail closed). */
int al_gates_rule_failed(const json_t *rule);

/* The hunks of a patch, line by line, for the rules that read content.  A callback's
 * negative return (-ENOMEM) stops the parse. */
struct al_patch_visitor {
	void *ctx;
	/* kind is '+', '-' or ' '; s (n bytes, not NUL-terminated) excludes it; lineno is the
	 * line's number in the new file, 0 for '-'; file is the index the file will have in
	 * the file list. */
	int (*line)(void *ctx, size_t file, char kind, const char *s, size_t n,
		    unsigned long lineno);
	int (*hunk_end)(void *ctx, size_t file);
};

/* al_gates_patch_files, calling v (which may be NULL) for every hunk line. */
int al_gates_patch_parse(const char *patch, size_t len, const struct al_patch_visitor *v,
			 json_t **ret, struct al_err *err);

/* What the content rules need from one patch text, gathered in one parse. */
struct al_patch_text {
	size_t len;
	json_t *files; /* owned; the al_gates_patch_files list */
	size_t hunks;
	bool changes;		 /* some hunk changes more than whitespace */
	const char *secret_kind; /* static; NULL when no added line looks like a secret */
	size_t secret_file;	 /* index into files */
	unsigned long secret_line;
	unsigned char
	    *nonblank; /* owned; AL_PATCH_MAX_FILES flags: the file adds a non-blank line */
	unsigned *lines_removed; /* owned; AL_PATCH_MAX_FILES counts: lines the file's hunks remove
				  * (a changed line is removed, then added) */
	/* the current hunk's old and new sides, blank lines dropped */
	struct al_text_span *removed, *added; /* owned */
	size_t n_removed, n_added, cap_removed, cap_added;
};

/* Parses text into t (zeroed by the caller); on failure err says why, as
 * al_gates_patch_files does.  al_gates_patch_text_clear(t) afterwards either way. */
int al_gates_patch_scan(const char *text, size_t len, struct al_patch_text *t, struct al_err *err);
void al_gates_patch_text_clear(struct al_patch_text *t);

/* What the static rules judge: file lists in the al_gates_patch_files shape. */
struct al_static_input {
	const struct al_policy *policy;
	const json_t *patch_files; /* array */
	const json_t *test_files;  /* array, or NULL when there is no test patch */
	/* the texts behind them; NULL when judging the runner's file list, and then the rules
	 * that read content are skipped (the test one NULL when there is no test patch) */
	const struct al_patch_text *patch, *test;
};

/* Runs the rules of the static table over in, appending results to rules: all of them
 * with texts, only those that read file lists without. */
int al_gates_static_rules(const struct al_static_input *in, json_t *rules);
/* Appends the rules of the static table (only the file-list ones unless texts) with one
 * result and reason. */
int al_gates_static_all(json_t *rules, bool texts, const char *result, const char *reason);
/* Checks that files is an array of objects with a string "path" (and "old_path" a string
 * when present); on failure writes the problem, prefixed by what, to msg. */
int al_gates_files_valid(const json_t *files, const char *what, char *msg, size_t msgsz);

/* Run ids shared by the plan and the verdict. */
int al_gates_run_id(char *buf, size_t bufsz, const char *rule, const char *name, const char *side);
/* The id of the k-th (1-based) of repeated runs, "<rule>:<name>:<side>:<k>"; k == 0 is the
 * one run of an unrepeated test, with al_gates_run_id's id. */
int al_gates_run_id_k(char *buf, size_t bufsz, const char *rule, const char *name, const char *side,
		      unsigned k);

/* ---- per-test evidence (gates/tests.c) ---- */

/* Ordered from best to worst: of several tests under one id the worst stands. */
enum al_test_outcome {
	AL_TEST_SKIPPED,
	AL_TEST_PASSED,
	AL_TEST_FAILED,
	AL_TEST_ERROR,
	AL_TEST_UNKNOWN,
};
/* The longest test id a report carries (runner/report.h has the same cap). */
#define AL_REPORT_ID_MAX 1024
/* How many ids a rule's evidence lists of each kind. */
#define AL_TESTS_LISTED 50

enum al_test_outcome al_gates_outcome(const char *s);
const char *al_gates_outcome_name(enum al_test_outcome o);
/* Whether a user's test id (pytest's "tests/test_x.py::C::t", unittest's "tests.test_x.C.t",
 * a node or TAP name) names a reported one: equal, or equal to the user's id normalised
 * (see tests.c), or that followed by " (...)", unittest's name for a failed subTest. Never
 * a substring match. */
bool al_gates_test_id_match(const char *want, const char *id);
/* The run's reported tests: 0 with *ret, or -ENOENT (no report), -EBADMSG (malformed),
 * -ENODATA (no test ran) with why saying so. */
int al_gates_report_tests(const json_t *run, const json_t **ret, char *why, size_t whysz);
/* The outcome of the tests named want (the worst when several match); AL_TEST_UNKNOWN
 * with *ret_matches 0 when none does. */
enum al_test_outcome al_gates_report_find(const json_t *tests, const char *want,
					  size_t *ret_matches);

/* A contract's base and candidate compared test by test. */
struct al_test_diff {
	json_t *regressions; /* owned; passed on base, not on the candidate (first ids) */
	json_t *new_failing; /* owned; only on the candidate, failing there */
	json_t *preexisting; /* owned; failing on both */
	size_t n_regressions, n_new_failing, n_preexisting;
	size_t base_passed, cand_passed;
};
int al_gates_tests_compare(const json_t *base, const json_t *cand, struct al_test_diff *d);
void al_gates_test_diff_clear(struct al_test_diff *d);
