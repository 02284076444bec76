/* Automatic quarantine: each finished job's anomalies are counted against its proposer
 * (the token name that submitted it, never anything the patch says), and the proposer is
 * quarantined once its counts over the policy's window reach a limit.  The queue holds a
 * quarantined name's proposals (al_store_claim_next skips them); admission refuses new ones;
 * only another admin lifts it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gates/gates.h"
#include "lib/macros.h"
#include "server/metrics.h"
#include "server/quarantine.h"
#include "server/reply.h"
#include "server/server.h"

int
al_quarantine_observe(struct al_server *srv, const struct al_policy *policy, const char *proposer,
		      const char *proposal, const json_t *result, const json_t *verdict,
		      const char *state, char reason[AL_QUARANTINE_REASON_MAX], struct al_err *err)
{
	struct al_quarantine_rules rules;
	struct al_anomaly job, window;
	int r;

	al_gates_anomaly(result, verdict, state, &job);
	r = al_store_anomaly_add(srv->store, proposer, proposal, &job, err);
	if (r < 0)
		return r;
	al_policy_quarantine(policy, &rules);
	r = al_store_anomaly_sum(srv->store, proposer, (long long)time(NULL) - rules.window_s,
				 &window, err);
	if (r < 0)
		return r;
	if (al_gates_quarantine_due(&rules, &window, reason, AL_QUARANTINE_REASON_MAX) < 0)
		return 0;
	r = al_store_quarantine_set(srv->store, proposer, reason, "scheduler", proposal, err);
	if (r == -EALREADY)
		return 0;
	if (r < 0)
		return r;
	al_metrics_quarantine(false);
	return 1;
}

int
al_quarantine_refuse(struct al_server *srv, const char *name, struct al_http_resp *resp)
{
	char reason[AL_QUARANTINE_REASON_MAX], detail[AL_QUARANTINE_REASON_MAX + 16];
	int r = al_store_quarantine_get(srv->store, name, reason);

	if (r == 0)
		return 0;
	if (r < 0) {
		al_reply_error(resp, 500, "internal", "could not read the token's quarantine");
		return -EIO;
	}
	snprintf(detail, sizeof(detail), "quarantined: %s", reason);
	al_reply_error(resp, 403, "quarantined", detail);
	return -EPERM;
}

int
al_quarantine_release(struct al_server *srv, const char *name, const char *by, struct al_err *err)
{
	int r;

	/* an admin whose own jobs were quarantined needs another admin (or the operator's
	 * `airlock token release`) */
	if (!strcmp(name, by))
		return al_err_set(err, -EPERM, "%s cannot release its own quarantine", by);
	r = al_store_quarantine_release(srv->store, name, by, err);
	if (r == 0)
		al_metrics_quarantine(true);
	return r;
}

json_t *
al_quarantine_json(struct al_server *srv, const char *name, const char *role)
{
	bool all = role && (!strcmp(role, "reviewer") || !strcmp(role, "admin"));
	json_t *list = NULL;

	if (al_store_quarantine_list(srv->store, all ? NULL : name, &list, NULL) < 0)
		return NULL;
	return list;
}
