/* The live configuration and the kill switch faked for the unit tests of server modules
 * (decide, promote, webhook), which link neither server/live.c, server/config.c nor
 * server/pause.c: one configuration, its takes and gives back counted so a test can show
 * that none leaks.  Include it in the one test file of a binary. */
#pragma once

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/pause.h"
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

/* A proposal a fake of the store handed out: every owned field, as the store frees it. */
void
al_proposal_free(struct al_proposal *p)
{
	if (!p)
		return;
	char *owned[] = {
	    p->repo,	       p->base,		p->state,      p->proposer,    p->patch,
	    p->test_patch,     p->fail_to_pass, p->provenance, p->base_commit, p->candidate_commit,
	    p->candidate_tree, p->result,	p->verdict,    p->grant,       p->error,
	    p->policy_digest,  p->grant_state,	p->promotion,  p->title};

	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		free(owned[i]);
	free(p);
}

/* The kill switch, faked: pulled while paused_reason is set. */
static const char *paused_reason;

bool
al_pause_on(struct al_server *s, char reason[AL_PAUSE_REASON_MAX])
{
	(void)s;
	if (paused_reason && reason)
		snprintf(reason, AL_PAUSE_REASON_MAX, "%s", paused_reason);
	return paused_reason != NULL;
}

/* Each configuration taken was given back exactly once. */
static void
live_balanced(void)
{
	ck_assert_int_eq(live.configs, 1);
	ck_assert_int_eq(live.puts, 1);
}
