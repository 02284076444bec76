/* Issuing a grant: the tier's authority from policy, bound to the tested tree. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/macros.h"
#include "runner/git.h"
#include "server/grant.h"
#include "server/pause.h"
#include "server/server.h"

/* Only what a verifier needs of each approval: who, for which revision and tree, when. */
static json_t *
approvals_json(const json_t *approvals)
{
	json_t *out = json_array(), *a;
	size_t i;

	json_array_foreach (approvals, i, a) {
		json_t *o =
		    json_pack("{s:O, s:O, s:O, s:O}", "reviewer", json_object_get(a, "reviewer"),
			      "revision", json_object_get(a, "revision"), "tree",
			      json_object_get(a, "tree"), "created", json_object_get(a, "created"));

		if (!o || json_array_append_new(out, o) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

int
al_issue_grant(struct al_server *srv, const struct al_repo_conf *repo, const struct al_proposal *p,
	       const json_t *result, const json_t *verdict, int tier, const json_t *approvals,
	       char **ret_envelope, struct al_err *err)
{
	const json_t *runner = json_object_get(result, "runner");
	const char *profile = json_string_value(json_object_get(runner, "sandbox_profile"));
	char patch_sha[65], tpatch_sha[65], profile_sha[65], nonce[33], why[256];
	_cleanup_free_ char *payload = NULL, *text = NULL;
	json_t *prov = json_loads(p->provenance, 0, NULL), *env = NULL;
	json_t *appr = approvals_json(approvals);
	struct al_authority auth;
	struct al_grant_input in = {0};
	char paused[AL_PAUSE_REASON_MAX];
	int r;

	if (al_pause_on(srv, paused)) {
		json_decref(prov);
		json_decref(appr);
		return al_err_set(err, -ECANCELED, "paused: %s: no grant is signed", paused);
	}
	al_sha256_hex(p->patch, p->patch_len, patch_sha);
	if (p->test_patch)
		al_sha256_hex(p->test_patch, p->test_patch_len, tpatch_sha);
	al_sha256_hex(profile ? profile : "", profile ? strlen(profile) : 0, profile_sha);
	al_random_hex(16, nonce);
	r = al_gates_authority(repo->policy, tier, p->id, p->base, &auth, why, sizeof(why));
	in = (struct al_grant_input){
	    .proposal_id = p->id,
	    .repo = p->repo,
	    .base = p->base,
	    .base_commit = json_string_value(json_object_get(result, "base_commit")),
	    .candidate_commit = json_string_value(json_object_get(result, "candidate_commit")),
	    .candidate_tree = json_string_value(json_object_get(result, "candidate_tree")),
	    .patch_sha256 = patch_sha,
	    .test_patch_sha256 = p->test_patch ? tpatch_sha : NULL,
	    .policy_sha256 = repo->policy_digest,
	    .verdict = verdict,
	    .result = result,
	    .provenance = prov,
	    .binary_sha256 = srv->binary_sha256,
	    .sandbox_profile_sha256 = profile_sha,
	    .kernel = srv->kernel,
	    .image_digest =
		json_string_value(json_object_get(json_object_get(result, "environment"), "image")),
	    .setup_key =
		json_string_value(json_object_get(json_object_get(result, "setup"), "key")),
	    .authority = auth.authority,
	    .authority_ref = auth.ref,
	    .approvals = appr,
	    .tier = tier,
	    .issued_at = time(NULL),
	    .lifetime_s = auth.lifetime_s,
	    .nonce = nonce,
	    .verifier_version = AL_VERSION,
	};
	if (r < 0)
		r = al_err_set(err, r, "grant: no authority for tier %d", tier);
	else if (!prov || !appr || !in.base_commit || !in.candidate_commit || !in.candidate_tree ||
		 !repo->policy_digest[0])
		r = al_err_set(err, -EINVAL, "grant: incomplete result, refusing to sign");
	else
		r = al_grant_statement(&in, &payload, err);
	if (r == 0) {
		pthread_mutex_lock(&srv->mu);
		r = al_signer_envelope(srv->signer, payload, strlen(payload), &env, err);
		pthread_mutex_unlock(&srv->mu);
	}
	if (r == 0 && !(text = json_dumps(env, JSON_COMPACT)))
		r = al_err_set(err, -ENOMEM, "out of memory");
	json_decref(prov);
	json_decref(appr);
	json_decref(env);
	if (r == 0)
		*ret_envelope = steal_pointer(&text);
	return r;
}

void
al_issue_note(const struct al_repo_conf *repo, const char *id, const char *commit,
	      const char *envelope)
{
	struct al_err err = {0};

	/* the grant stands without its note; a missing note is logged, never a grant lost */
	if (!repo || !commit || !envelope ||
	    al_git_note_set(repo->path, "refs/notes/airlock", commit, envelope, &err) < 0)
		al_log("error", "grant.note_failed", "id=%s error=%s", id,
		       al_log_q(err.msg[0] ? err.msg : "missing commit or grant"));
}
