/* A proposal's states by name: the one list in store.h, read by the store's schema, the
 * API's filters and the metrics. */
#include <string.h>

#include "server/store.h"

#define STATE_NAME(id, name) [AL_PROPOSAL_##id] = name,
static const char *const state_names[AL_PROPOSAL_STATE_N] = {AL_PROPOSAL_STATES(STATE_NAME, )};

const char *
al_store_state_name(enum al_proposal_state st)
{
	if ((unsigned)st >= AL_PROPOSAL_STATE_N)
		return NULL;
	return state_names[st];
}

bool
al_store_state_valid(const char *name)
{
	for (size_t i = 0; name && i < AL_PROPOSAL_STATE_N; i++)
		if (!strcmp(name, state_names[i]))
			return true;
	return false;
}
