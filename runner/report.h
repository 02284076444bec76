/* Per-test outcomes from a report a test command wrote (untrusted bytes).  The only file
 * that includes libxml2's headers is runner/report.c. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"

enum al_report_format { AL_REPORT_JUNIT, AL_REPORT_TAP };

#define AL_REPORT_MAX_BYTES (8u << 20) /* larger report: refused */
#define AL_REPORT_MAX_TESTS 20000      /* test cases or test points, duplicates included */
#define AL_REPORT_MAX_ID 1024	       /* bytes of one test id */
#define AL_REPORT_MAX_DEPTH 64	       /* JUnit: elements nested deeper: refused */

/* "junit" or "tap" -> format; -EINVAL otherwise. */
int al_report_format_parse(const char *name, enum al_report_format *ret);

/* Parses len bytes into a JSON array of {"id": string, "outcome": "passed"|"failed"|"error"|
 * "skipped"}, one entry per distinct id in the order first met.  An id met more than once
 * keeps its worst outcome, in the order error > failed > passed > skipped: a failure can
 * never be hidden by a pass, and a skip never hides anything.  Ids are valid UTF-8 of 1 to
 * AL_REPORT_MAX_ID bytes with no control character.
 *
 * JUnit: the root is <testsuites> or <testsuite>; <testsuite> nests.  A <testcase> is
 * "error" with an <error> child, else "failed" with <failure>, else "skipped" with
 * <skipped>, else "passed".  Its id is, in this order:
 *   name                      when classname equals name (ctest);
 *   classname "." name        when classname is neither empty nor "test" (pytest, unittest,
 *                             go-junit-report, cargo-nextest, surefire);
 *   suites "." name           otherwise (node --test writes classname="test"): the names of
 *                             the enclosing <testsuite> elements below the root, outermost
 *                             first, joined with ".".
 * Refused: a DOCTYPE or any declaration (no entity is ever expanded), nesting deeper than
 * AL_REPORT_MAX_DEPTH, a <testcase> without a name, anything not well-formed.
 *
 * TAP (12, 13, 14): only top-level test points count; indented lines (subtests, YAML
 * blocks) are skipped.  "ok" is passed, "not ok" failed; "# SKIP" makes an "ok" skipped
 * (a "not ok # SKIP" stays failed); "# TODO" is skipped either way (not judged).  The id is
 * the description without its leading "- " ("\#" and "\\" unescaped), cut before ": " when
 * it has Check's shape FILE:TCASE:TEST: MESSAGE, or the test number when empty.  Refused:
 * no plan, more than one plan, a plan in the middle, a plan that does not match the tests
 * seen, a test number out of sequence, "Bail out!", an unfinished YAML block, a NUL byte.
 *
 * -EBADMSG with a one-line printable reason in err for a malformed, truncated or over-cap
 * report; -ENOMEM.  Never a partial result: *ret_tests is set only on success. */
int al_report_parse(enum al_report_format f, const char *data, size_t len, json_t **ret_tests,
		    struct al_err *err);
