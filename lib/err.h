/* Error detail that rides beside a -errno return value. */
#pragma once

#include <stddef.h>

#define AL_ERR_MSG_MAX 512

struct al_err {
	int code; /* -errno */
	char msg[AL_ERR_MSG_MAX];
};

/* Records code and message when err is non-NULL; returns code so callers can
 * `return al_err_set(err, -EINVAL, "...")`. Never overwrites an earlier message. */
int al_err_set(struct al_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like al_err_set but always replaces what is there. */
int al_err_reset(struct al_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "context: old". */
int al_err_prefix(struct al_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const char *al_err_msg(const struct al_err *err);
