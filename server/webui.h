/* The reviewers' page, served by `airlock serve` at /. */
#pragma once

#include <stddef.h>

struct al_webui_file {
	const char *data; /* static */
	size_t len;
	const char *content_type;
};

/* 0 and the embedded file served at path ("/", "/app.js", "/app.css"), or -1. */
int al_webui_file(const char *path, struct al_webui_file *ret);
