#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int
vset(struct al_err *err, int code, const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return code;
}

int
al_err_set(struct al_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && err->msg[0])
		return code;
	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int
al_err_reset(struct al_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int
al_err_prefix(struct al_err *err, const char *fmt, ...)
{
	char head[AL_ERR_MSG_MAX];
	size_t hl, ol;
	va_list ap;
	int n;

	if (!err)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(head, sizeof(head) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err->code;
	hl = strlen(head);
	memcpy(head + hl, ": ", 2);
	hl += 2;
	ol = strnlen(err->msg, sizeof(err->msg) - 1);
	if (hl + ol > sizeof(err->msg) - 1)
		ol = sizeof(err->msg) - 1 - hl;
	memmove(err->msg + hl, err->msg, ol);
	memcpy(err->msg, head, hl);
	err->msg[hl + ol] = '\0';
	return err->code;
}

const char *
al_err_msg(const struct al_err *err)
{
	if (!err || !err->msg[0])
		return "unknown error";
	return err->msg;
}
