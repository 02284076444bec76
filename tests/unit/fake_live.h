/* The live configuration faked for the unit tests of server modules (decide, promote,
 * webhook), which link neither server/live.c nor server/config.c: one configuration, its
 * takes and gives back counted so a test can show that none leaks.  Include it in the one
 * test file of a binary. */
#pragma once

#include <check.h>
#include <string.h>

#include "server/server.h"

static struct al_config cfg;
static struct {
	int configs, puts;
} live;

struct al_config *
al_live_config(struct al_server *s)
{
	(void)s;
	live.configs++;
	return &cfg;
}

void
al_live_config_put(struct al_server *s, struct al_config *c)
{
	(void)s;
	ck_assert_ptr_eq(c, &cfg);
	live.puts++;
}

const struct al_repo_conf *
al_config_repo(const struct al_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_repos; i++)
		if (!strcmp(c->repos[i].name, name))
			return &c->repos[i];
	return NULL;
}

/* Each configuration taken was given back exactly once. */
static void
live_balanced(void)
{
	ck_assert_int_eq(live.configs, 1);
	ck_assert_int_eq(live.puts, 1);
}
