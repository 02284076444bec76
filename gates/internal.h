/* Shared by the files of gates/ only: the policy layout, caps and small helpers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gates/gates.h"

/* Caps on trusted policy input (config mistakes should fail loudly, not exhaust memory). */
#define AL_POLICY_MAX_ARGV 64
#define AL_POLICY_MAX_ARG_LEN 4096
#define AL_POLICY_MAX_CONTRACTS 64
#define AL_POLICY_MAX_NAME 64
#define AL_POLICY_MAX_GLOBS 256
#define AL_POLICY_MAX_GLOB_LEN 1024
#define AL_POLICY_TIMEOUT_DEFAULT 60
#define AL_POLICY_TIMEOUT_MAX 3600

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

struct al_policy {
	json_t *reproduce;  /* owned; argv array, NULL when the policy has no reproduce */
	json_t *contracts;  /* owned; array of {"name","command"}, empty when none */
	json_t *test_paths; /* owned; array of globs, empty when none */
	unsigned timeout_s;
};

/* 1 when path matches glob ("**" whole segments, "*" and "?" within one), else 0. */
int al_gates_glob_match(const char *glob, const char *path);
/* 1 when path matches any glob in the array. */
int al_gates_globs_match(const json_t *globs, const char *path);

/* Why a repository path is unsafe ("is absolute", ...), or NULL when it is fine. */
const char *al_gates_path_problem(const char *path);

/* 1 when the n bytes at s are valid UTF-8 (what jansson accepts). */
int al_gates_utf8_valid(const char *s, size_t n);
/* Copies n bytes of s into dst as one printable line: control bytes and invalid UTF-8
 * become '?', and an over-long text ends in "...". */
void al_gates_printable(char *dst, size_t dstsz, const char *s, size_t n);

/* Appends {"rule","result","reason"} to rules; the reason is made one printable line.
 * 0 or -ENOMEM. */
int al_gates_rule_add(json_t *rules, const char *rule, const char *result, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 1 when result is UNSATISFIED or ERROR (or anything unknown: fail closed). */
int al_gates_rule_failed(const json_t *rule);

/* What the static rules judge: file lists in the al_gates_patch_files shape. */
struct al_static_input {
	const struct al_policy *policy;
	const json_t *patch_files; /* array */
	const json_t *test_files;  /* array, or NULL when there is no test patch */
};

/* Runs every rule of the static table over in, appending results to rules. */
int al_gates_static_rules(const struct al_static_input *in, json_t *rules);
/* Appends every rule of the static table with one result and reason. */
int al_gates_static_all(json_t *rules, const char *result, const char *reason);
/* Checks that files is an array of objects with a string "path" (and "old_path" a string
 * when present); on failure writes the problem, prefixed by what, to msg. */
int al_gates_files_valid(const json_t *files, const char *what, char *msg, size_t msgsz);

/* Run ids shared by the plan and the verdict. */
int al_gates_run_id(char *buf, size_t bufsz, const char *rule, const char *name, const char *side);
