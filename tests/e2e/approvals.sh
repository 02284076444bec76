#!/bin/bash
# End-to-end: human approval and tiers, reviewer decisions, revisions, contracts that
# already fail on base, output caps and SIGHUP reloads -- through the real server, the
# real CLI and real sandboxes. One server serves every repository; proposals that do not
# depend on each other are submitted at once so the sandboxes overlap.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-approvals.XXXXXX)
cleanup() { stop_server || true; rm -rf "$TMP"; }
trap cleanup EXIT
EX="$ROOT/examples/calc"
ID=$(cat "$EX/TEST_ID")
DATA="$TMP/data"
CONFIG="$TMP/config.json"
ZERO=0000000000000000000000000000000000000000

# --- set-up: one repository per policy; "broken" branches that commit a file BROKEN -----
for r in gated pair open broken blocked capped; do make_example_repo "$TMP/$r"; done
for r in broken blocked; do
	git -C "$TMP/$r" checkout -q -b broken
	echo "this file breaks the contract" >"$TMP/$r/BROKEN"
	git -C "$TMP/$r" add BROKEN
	git -C "$TMP/$r" -c user.name=e2e -c user.email=e2e@localhost commit -q -m "break it"
	git -C "$TMP/$r" checkout -q main
done

# write_config [JQ_FILTER]: the config, optionally edited by a jq filter
write_config() {
	jq -n --arg tmp "$TMP" --arg noisy "head -c 20000 /dev/zero | tr '\\0' x" '
	def base: {reproduce: {command: ["sh", "tests/run.sh"]},
		contract: [{name: "make-check", command: ["make", "check"]}],
		test_paths: ["tests/**"], timeout_s: 60};
	def nobroken: [{name: "no-broken", command: ["sh", "-c", "! test -e BROKEN"],
		judge: "exit_code"}];
	def onbroken: {branches: ["refs/heads/main", "refs/heads/broken"]};
	{repos: {
		gated: {path: "\($tmp)/gated", policy: (base + {
			approvals: {required: 1, reviewers: ["rev-1", "alice"]},
			tiers: {"2": {authority: "merge", refs: ["refs/heads/main"]}}})},
		pair: {path: "\($tmp)/pair", policy: (base + {approvals: {required: 2}})},
		open: {path: "\($tmp)/open", policy: (base + {approvals: {required: 0},
			protected_paths: ["docs/**"]})},
		broken: {path: "\($tmp)/broken", policy: (base + onbroken + {contract: nobroken})},
		blocked: {path: "\($tmp)/blocked", policy: (base + onbroken + {contract: nobroken,
			contract_preexisting: "block"})},
		capped: {path: "\($tmp)/capped", policy: (base + {
			contract: [{name: "noisy", command: ["sh", "-c", $noisy]}],
			limits: {timeout_s: 30, memory_mb: 512, pids: 128, output_bytes: 1024,
				max_patch_bytes: 65536, max_files: 1}})}
	}}' | jq "${1:-.}" >"$CONFIG.new" && mv "$CONFIG.new" "$CONFIG"
}
write_config

tok() { "$AIRLOCK" token add --data "$DATA" --name "$1" --role "$2"; }
AGENT=$(tok agent-1 agent)
AGENT2=$(tok agent-2 agent)
SELF=$(tok agent-1 reviewer) # the proposer's own name, with the reviewer role
REV1=$(tok rev-1 reviewer)
ALICE=$(tok alice reviewer)
BOB=$(tok bob reviewer) # a reviewer, but not one "gated" names
ROOT_TOKEN=$(tok root admin)
expect_match "the same name can hold an agent and a reviewer token" "$SELF" '^alk_[0-9a-f]{64}$'
start_server "$CONFIG" "$DATA" || { not_ok "server starts"; summary; exit 1; }
ok "server starts with approvals, tiers, protected paths and limits in its policies"

# patches made with real git: the fix plus a file under a protected path
git clone -q "$TMP/gated" "$TMP/scratch"
(cd "$TMP/scratch" && git apply "$EX/fix.patch" && mkdir -p .github/workflows &&
	printf 'on: push\n' >.github/workflows/ci.yml && git add -A &&
	git diff --cached >"$TMP/github.patch" && git reset -q --hard &&
	git apply "$EX/fix.patch" && mkdir -p docs && printf 'notes\n' >docs/notes.md &&
	git add -A && git diff --cached >"$TMP/docs.patch")

# submit NAME REPO BASE [PATCH]: `airlock submit --wait` in the background; its output
# goes to NAME.out, its exit status to NAME.rc, its grant (if any) to NAME.grant.
PIDS=()
submit() {
	local name=$1 repo=$2 base=$3 patch=${4:-$EX/fix.patch}
	(
		cd "$TMP" && "$AIRLOCK" submit --server "$URL" --token "$AGENT" --repo "$repo" \
			--base "$base" --test-patch "$EX/test.patch" --patch "$patch" \
			--fail-to-pass "$ID" --wait --out "$TMP/$name.grant" >"$TMP/$name.out" 2>&1
		echo $? >"$TMP/$name.rc"
	) &
	PIDS+=($!)
}
wait_submits() { local p; for p in "${PIDS[@]}"; do wait "$p"; done; PIDS=(); }
rc_of() { cat "$TMP/$1.rc" 2>/dev/null || echo none; }
pid_of() { sed -n 's/^proposal \([0-9a-f]*\)$/\1/p' "$TMP/$1.out"; }
getp() { curl -s -H "Authorization: Bearer $AGENT" "$URL/v1/proposals/$1"; }
# settle ID: waits (at most 120 s) until the proposal is neither queued nor running
settle() {
	local s
	for _ in $(seq 1 1200); do
		s=$(getp "$1" | jq -r .state)
		[ "$s" != queued ] && [ "$s" != running ] && return 0
		sleep 0.1
	done
	return 1
}
payload_of() { jq -r .payload "$1" | base64 -d; }
status_of() { echo "${1%% *}"; }
body_of() { echo "${1#* }"; }

# --- every proposal that does not depend on another, at once -----------------------------
submit g1 gated main
submit g2 gated main
submit g3 gated main
submit p1 pair main
submit o1 open main
submit o2 open main "$TMP/github.patch"
submit o3 open main "$TMP/docs.patch"
submit b1 broken broken
submit k1 blocked broken
submit c1 capped main
submit c2 capped main "$TMP/github.patch"
wait_submits
G1=$(pid_of g1) G2=$(pid_of g2) G3=$(pid_of g3) P1=$(pid_of p1) O1=$(pid_of o1)
O2=$(pid_of o2) O3=$(pid_of o3) B1=$(pid_of b1) K1=$(pid_of k1) C1=$(pid_of c1)

# --- approvals required: the gates pass, and the proposal waits at tier 1 ------------------
expect "approvals required: submit --wait exits 3" "$(rc_of g1)" "3"
expect_match "approvals required: verdict printed" "$(cat "$TMP/g1.out")" '^verdict: awaiting_approval'
[ -e "$TMP/g1.grant" ] && not_ok "no grant file while awaiting approval" ||
	ok "no grant file while awaiting approval"
body=$(getp "$G1")
expect "awaiting: state" "$(jq -r .state <<<"$body")" "awaiting_approval"
expect "awaiting: tier 1" "$(jq -r .tier <<<"$body")" "1"
expect "awaiting: revision 1" "$(jq -r .revision <<<"$body")" "1"
expect "awaiting: no grant in the view" "$(jq -r .grant <<<"$body")" "null"
expect "awaiting: no approvals yet" "$(jq -c .approvals <<<"$body")" "[]"
expect "awaiting: approval_grants states tier 2 merge into main" \
	"$(jq -c '.approval_grants | [.tier, .authority, .ref]' <<<"$body")" '[2,"merge","refs/heads/main"]'
expect "awaiting: approval rule UNSATISFIED, 1 required" \
	"$(jq -c '.verdict.rules[] | select(.rule=="approval") | [.result, .evidence.required]' <<<"$body")" \
	'["UNSATISFIED",1]'
expect_match "awaiting: approval reason names the policy" \
	"$(jq -r '.verdict.rules[] | select(.rule=="approval") | .reason' <<<"$body")" '^0 of 1 approvals; policy requires 1'
expect "every verdict rule carries an evidence object" \
	"$(jq '[.verdict.rules[] | select((.evidence | type) != "object")] | length' <<<"$body")" "0"
expect "reproduce rule evidence names its runs" \
	"$(jq -c --arg r "reproduce:$ID" '.verdict.rules[] | select(.rule==$r) | .evidence.runs | length > 0' <<<"$body")" "true"
expect "contract also ran on base" \
	"$(jq -r '.runs[] | select(.rule=="contract" and .side=="base") | .status' <<<"$body")" "OK"
r=$(http GET "/v1/proposals/$G1/grant" "$AGENT")
expect "awaiting: GET grant answers 404" "$(status_of "$r")" "404"
r=$(http GET "/v1/proposals?state=awaiting_approval" "$AGENT")
expect "list by state awaiting_approval shows it" \
	"$(jq -r --arg id "$G1" '[.proposals[] | select(.id == $id)] | length' <<<"$(body_of "$r")")" "1"
out=$("$AIRLOCK" status --server "$URL" --token "$REV1" "$G1" 2>&1)
expect "airlock status exits 0" "$?" "0"
expect_match "airlock status prints a table header" "$out" 'RESULT +RULE +REASON'
expect_match "airlock status shows the state" "$out" '^verdict: awaiting_approval'
expect_match "airlock status lists the approval rule" "$out" 'UNSATISFIED +approval '
TREE1=$(jq -r .candidate.tree <<<"$body")

# --- who may decide ---------------------------------------------------------------------
r=$(http POST "/v1/proposals/$G1/approve" "$AGENT")
expect "agent approves: 403" "$(status_of "$r")" "403"
expect "agent approves: reason" "$(jq -r .detail <<<"$(body_of "$r")")" "this needs the reviewer role"
r=$(http POST "/v1/proposals/$G1/approve" "$SELF")
expect "proposer approves under a reviewer token: 403" "$(status_of "$r")" "403"
expect "proposer approves: reason" "$(jq -r .detail <<<"$(body_of "$r")")" \
	"the proposer cannot approve their own proposal"
r=$(http POST "/v1/proposals/$G1/approve" "$BOB")
expect "reviewer the policy does not name: 403" "$(status_of "$r")" "403"
out=$("$AIRLOCK" approve --server "$URL" --token "$BOB" "$G1" 2>&1)
rc=$?
expect "airlock approve by an unnamed reviewer fails" "$([ "$rc" -ne 0 ] && echo nonzero || echo "exit $rc")" "nonzero"
expect_match "airlock approve names the refusal" "$out" '403'
echo "{\"tree\": \"$ZERO\"}" >"$TMP/stale.json"
r=$(http POST "/v1/proposals/$G1/approve" "$ALICE" "$TMP/stale.json")
expect "approval for another tree: 409" "$(status_of "$r")" "409"
expect_match "approval for another tree: stale" "$(jq -r .detail <<<"$(body_of "$r")")" '^stale: '
echo '{"approve": true}' >"$TMP/unknown.json"
r=$(http POST "/v1/proposals/$G1/approve" "$ALICE" "$TMP/unknown.json")
expect "decision body with an unknown field: 400" "$(status_of "$r")" "400"
expect "refused decisions recorded nothing" "$(getp "$G1" | jq -c '[.state, (.approvals | length)]')" \
	'["awaiting_approval",0]'

# --- an approval: tier 2 with tier 2's authority ---------------------------------------------
out=$("$AIRLOCK" approve --server "$URL" --token "$ALICE" --comment "looks right" --tree "$TREE1" "$G1" 2>&1)
expect "airlock approve exits 0" "$?" "0"
expect_match "airlock approve prints the new state" "$out" '^verdict: granted'
body=$(getp "$G1")
expect "approved: state granted" "$(jq -r .state <<<"$body")" "granted"
expect "approved: tier 2" "$(jq -r .tier <<<"$body")" "2"
expect "approved: approval recorded, not stale" \
	"$(jq -c '[.approvals[] | [.reviewer, .decision, .stale]]' <<<"$body")" '[["alice","approve",false]]'
expect "approved: approval rule SATISFIED" \
	"$(jq -r '.verdict.rules[] | select(.rule=="approval") | .result' <<<"$body")" "SATISFIED"
expect "approved: approval_grants gone" "$(jq -r .approval_grants <<<"$body")" "null"
r=$(http GET "/v1/proposals/$G1/grant" "$AGENT")
expect "approved: GET grant 200" "$(status_of "$r")" "200"
body_of "$r" >"$TMP/g1.grant"
out=$("$AIRLOCK" verify --key "$DATA/signing.pub" --repo gated --ref refs/heads/main "$TMP/g1.grant" 2>&1)
expect "verify accepts the tier-2 grant for refs/heads/main" "$?" "0"
expect_match "verify names merge authority" "$out" '^valid: merge refs/heads/main in gated'
"$AIRLOCK" verify --key "$DATA/signing.pub" --repo gated --ref "refs/heads/airlock/$G1" "$TMP/g1.grant" >/dev/null 2>&1
expect "verify refuses the tier-2 grant for another ref (exit 4)" "$?" "4"
payload=$(payload_of "$TMP/g1.grant")
expect "grant payload: tier 2" "$(jq -r .predicate.tier <<<"$payload")" "2"
expect "grant payload: authority merge into main" \
	"$(jq -c '.predicate.authority | [.kind, .ref]' <<<"$payload")" '["merge","refs/heads/main"]'
expect "grant payload: approvals name alice" \
	"$(jq -c '[.predicate.approvals[].reviewer]' <<<"$payload")" '["alice"]'
expect "grant payload: approval bound to the tree" \
	"$(jq -r '.predicate.approvals[0].tree' <<<"$payload")" "$TREE1"
r=$(http POST "/v1/proposals/$G1/approve" "$REV1")
expect "deciding a granted proposal: 409" "$(status_of "$r")" "409"
expect_match "deciding a granted proposal: reason" "$(jq -r .detail <<<"$(body_of "$r")")" 'not awaiting approval'

# --- a rejection ----------------------------------------------------------------------------
out=$("$AIRLOCK" reject --server "$URL" --token "$REV1" --comment "wrong approach" "$G2" 2>&1)
expect "airlock reject exits 0" "$?" "0"
body=$(getp "$G2")
expect "rejected by a reviewer: state" "$(jq -r .state <<<"$body")" "rejected"
expect "rejected by a reviewer: reason" "$(jq -r .verdict.reason <<<"$body")" "rejected by rev-1: wrong approach"
r=$(http GET "/v1/proposals/$G2/grant" "$AGENT")
expect "rejected by a reviewer: GET grant 404" "$(status_of "$r")" "404"
r=$(http POST "/v1/proposals/$G2/approve" "$ALICE")
expect "approving a rejected proposal: 409" "$(status_of "$r")" "409"

# --- two approvals required; one reviewer decides once per revision --------------------------
expect "required 2: submit exits 3" "$(rc_of p1)" "3"
r=$(http POST "/v1/proposals/$P1/approve" "$ALICE")
expect "first of two approvals: 200" "$(status_of "$r")" "200"
expect "first of two approvals: still awaiting" "$(jq -r .state <<<"$(body_of "$r")")" "awaiting_approval"
expect_match "first of two approvals: 1 of 2" \
	"$(jq -r '.verdict.rules[] | select(.rule=="approval") | .reason' <<<"$(body_of "$r")")" '^1 of 2 approvals'
r=$(http POST "/v1/proposals/$P1/approve" "$ALICE")
expect "the same reviewer deciding twice: 409" "$(status_of "$r")" "409"
expect_match "the same reviewer deciding twice: reason" "$(jq -r .detail <<<"$(body_of "$r")")" '^alice already decided on revision 1'
r=$(http POST "/v1/proposals/$P1/reject" "$ALICE")
expect "the same reviewer rejecting after approving: 409" "$(status_of "$r")" "409"

# --- revisions --------------------------------------------------------------------------------
jq -n --rawfile p "$EX/fix.patch" --rawfile t "$EX/test.patch" '{patch: $p, test_patch: $t}' >"$TMP/rev.json"
r=$(http POST "/v1/proposals/$G1/revisions" "$AGENT" "$TMP/rev.json")
expect "revising a granted proposal: 409" "$(status_of "$r")" "409"
r=$(http POST "/v1/proposals/$G2/revisions" "$AGENT2" "$TMP/rev.json")
expect "another agent revises: 403" "$(status_of "$r")" "403"
r=$(http POST "/v1/proposals/$G2/revisions" "$REV1" "$TMP/rev.json")
expect "a reviewer revises: 403" "$(status_of "$r")" "403"
r=$(http POST "/v1/proposals/$G2/revisions" "$AGENT" "$TMP/rev.json")
expect "revising a rejected proposal: 202" "$(status_of "$r")" "202"
expect "revision answer" "$(jq -c '[.id, .state, .revision]' <<<"$(body_of "$r")")" "[\"$G2\",\"queued\",2]"
r=$(http POST "/v1/proposals/$P1/revisions" "$AGENT" "$TMP/rev.json")
expect "revising an awaiting proposal: 202" "$(status_of "$r")" "202"
expect "revision number 2" "$(jq -r .revision <<<"$(body_of "$r")")" "2"
r=$(http POST "/v1/proposals/$P1/revisions" "$AGENT" "$TMP/rev.json")
expect "revising a queued proposal: 409" "$(status_of "$r")" "409"
settle "$G2" && settle "$P1" && ok "revisions ran" || not_ok "revisions ran" "still queued or running"
body=$(getp "$G2")
expect "revised after rejection: awaiting approval again" "$(jq -c '[.state, .revision, .tier]' <<<"$body")" \
	'["awaiting_approval",2,1]'
expect "revised after rejection: the rejection is stale" \
	"$(jq -c '[.approvals[] | [.reviewer, .decision, .stale]]' <<<"$body")" '[["rev-1","reject",true]]'
body=$(getp "$P1")
expect "revised: state and revision" "$(jq -c '[.state, .revision]' <<<"$body")" '["awaiting_approval",2]'
expect "revised: the earlier approval is stale" \
	"$(jq -c '[.approvals[] | [.reviewer, .stale]]' <<<"$body")" '[["alice",true]]'
r=$(http POST "/v1/proposals/$P1/approve" "$REV1")
expect "a stale approval does not count: still awaiting" "$(jq -r .state <<<"$(body_of "$r")")" "awaiting_approval"
expect_match "a stale approval does not count: 1 of 2" \
	"$(jq -r '.verdict.rules[] | select(.rule=="approval") | .reason' <<<"$(body_of "$r")")" '^1 of 2 approvals'
expect_match "a stale approval is listed as ignored" \
	"$(jq -c '.verdict.rules[] | select(.rule=="approval") | .evidence.ignored' <<<"$(body_of "$r")")" '"alice".*stale'
r=$(http POST "/v1/proposals/$P1/approve" "$ALICE")
expect "the same reviewer approves the new revision: granted" "$(jq -r .state <<<"$(body_of "$r")")" "granted"
body=$(getp "$P1")
expect "revised and approved: stale flags" \
	"$(jq -c '[.approvals[] | [.reviewer, .revision, .stale]] | sort' <<<"$body")" \
	'[["alice",1,true],["alice",2,false],["rev-1",2,false]]'
curl -s -H "Authorization: Bearer $AGENT" "$URL/v1/proposals/$P1/grant" >"$TMP/p1.grant"
"$AIRLOCK" verify --key "$DATA/signing.pub" --repo pair --ref "refs/heads/airlock/$P1" "$TMP/p1.grant" >/dev/null 2>&1
expect "two-approval grant verifies for tier 2's default write ref" "$?" "0"
payload=$(payload_of "$TMP/p1.grant")
expect "two-approval grant: only this revision's approvals" \
	"$(jq -c '[.predicate.approvals[] | [.reviewer, .revision]] | sort' <<<"$payload")" '[["alice",2],["rev-1",2]]'
expect "two-approval grant: tier 2 write" \
	"$(jq -c '[.predicate.tier, .predicate.authority.kind]' <<<"$payload")" '[2,"write"]'

# --- no approval required: tier 1 at once -----------------------------------------------------
expect "no approval required: submit exits 0" "$(rc_of o1)" "0"
body=$(getp "$O1")
expect "no approval required: granted at tier 1" "$(jq -c '[.state, .tier]' <<<"$body")" '["granted",1]'
expect "no approval required: approval rule NOT_APPLICABLE" \
	"$(jq -r '.verdict.rules[] | select(.rule=="approval") | .result' <<<"$body")" "NOT_APPLICABLE"
"$AIRLOCK" verify --key "$DATA/signing.pub" --repo open --ref "refs/heads/airlock/$O1" "$TMP/o1.grant" >/dev/null 2>&1
expect "tier-1 grant verifies for refs/heads/airlock/<id>" "$?" "0"
"$AIRLOCK" verify --key "$DATA/signing.pub" --repo open --ref refs/heads/main "$TMP/o1.grant" >/dev/null 2>&1
expect "tier-1 grant refused for main (exit 4)" "$?" "4"
payload=$(payload_of "$TMP/o1.grant")
expect "tier-1 grant payload: tier, authority, no approvals" \
	"$(jq -c '[.predicate.tier, .predicate.authority.kind, .predicate.authority.ref, (.predicate.approvals | length)]' <<<"$payload")" \
	"[1,\"write\",\"refs/heads/airlock/$O1\",0]"
r=$(http POST "/v1/proposals/$O1/approve" "$REV1")
expect "approving a proposal granted at tier 1: 409" "$(status_of "$r")" "409"
r=$(http POST "/v1/proposals/$O1/revisions" "$AGENT" "$TMP/rev.json")
expect "revising a tier-1 grant: 409" "$(status_of "$r")" "409"

# --- protected paths force one approval ----------------------------------------------------------
expect "touching .github/** with required 0: submit exits 3" "$(rc_of o2)" "3"
body=$(getp "$O2")
expect "protected path: awaiting approval" "$(jq -r .state <<<"$body")" "awaiting_approval"
expect "protected path: named in the evidence" \
	"$(jq -c '.verdict.rules[] | select(.rule=="approval") | [.evidence.required, .evidence.protected_paths]' <<<"$body")" \
	'[1,[".github/workflows/ci.yml"]]'
expect_match "protected path: reason" \
	"$(jq -r '.verdict.rules[] | select(.rule=="approval") | .reason' <<<"$body")" 'touches protected path \.github/workflows/ci\.yml'
expect "protected path: approval_grants states tier 2 write" \
	"$(jq -c '.approval_grants | [.authority, .ref]' <<<"$body")" "[\"write\",\"refs/heads/airlock/$O2\"]"
r=$(http POST "/v1/proposals/$O2/approve" "$ROOT_TOKEN")
expect "an admin approves: granted" "$(jq -c '[.state, .tier]' <<<"$(body_of "$r")")" '["granted",2]'
expect "policy-added protected glob (docs/**): submit exits 3" "$(rc_of o3)" "3"
expect "policy-added protected glob: named" \
	"$(getp "$O3" | jq -c '.verdict.rules[] | select(.rule=="approval") | .evidence.protected_paths')" '["docs/notes.md"]'
r=$(http POST "/v1/proposals/$O3/approve" "$BOB")
expect "any reviewer counts where the policy names none" "$(jq -r .state <<<"$(body_of "$r")")" "granted"

# --- contracts on base: pre-existing failures ------------------------------------------------------
expect "contract failing on base and candidate, allowed: submit exits 0" "$(rc_of b1)" "0"
body=$(getp "$B1")
expect "pre-existing (allow): granted" "$(jq -r .state <<<"$body")" "granted"
expect "pre-existing (allow): contract run fails on base" \
	"$(jq -r '.runs[] | select(.rule=="contract" and .side=="base") | .status' <<<"$body")" "RE"
expect "pre-existing (allow): rule NOT_APPLICABLE" \
	"$(jq -r '.verdict.rules[] | select(.rule=="contract:no-broken") | .result' <<<"$body")" "NOT_APPLICABLE"
expect_match "pre-existing (allow): reason" \
	"$(jq -r '.verdict.rules[] | select(.rule=="contract:no-broken") | .reason' <<<"$body")" 'pre-existing, allowed by policy'
expect "pre-existing (block): submit exits 1" "$(rc_of k1)" "1"
body=$(getp "$K1")
expect "pre-existing (block): rejected" "$(jq -r .state <<<"$body")" "rejected"
expect "pre-existing (block): rule UNSATISFIED" \
	"$(jq -r '.verdict.rules[] | select(.rule=="contract:no-broken") | .result' <<<"$body")" "UNSATISFIED"
expect_match "pre-existing (block): reason" "$(cat "$TMP/k1.out")" '^verdict: rejected: .*pre-existing'

# --- limits ----------------------------------------------------------------------------------------
expect "output cap: proposal granted" "$(rc_of c1)" "0"
body=$(getp "$C1")
len=$(jq '[.runs[] | select(.rule=="contract" and .side=="candidate") | .stdout | length] | .[0] // -1' <<<"$body")
expect "output cap: contract stdout kept, at most 1024+64 characters" \
	"$([ "$len" -gt 0 ] && [ "$len" -le 1088 ] && echo capped || echo "length $len")" "capped"
expect "output cap: the rest counted as dropped" \
	"$(jq '[.runs[] | select(.rule=="contract" and .side=="candidate") | .stdout_dropped > 0] | .[0]' <<<"$body")" "true"
expect "limits.max_files 1: a two-file patch is refused" "$(rc_of c2)" "1"
expect_match "limits.max_files 1: reason" "$(cat "$TMP/c2.out")" '^verdict: rejected: .*(files|limit)'

# --- SIGHUP: a changed policy takes effect; a broken file is refused whole --------------------
reloads() { grep -c "$1" "$DATA.log"; }
hup() { # hup EVENT: SIGHUP, then waits for one more EVENT line in the log
	local before
	before=$(reloads "$1")
	kill -HUP "$SERVER_PID"
	for _ in $(seq 1 600); do
		[ "$(reloads "$1")" -gt "$before" ] && return 0
		sleep 0.1
	done
	return 1
}
expect "awaiting under the first policy" "$(rc_of g3)" "3"
digest_before=$(getp "$G3" | jq -r .policy_digest)
write_config '.repos.gated.policy.approvals.required = 0'
hup config.reloaded && ok "SIGHUP reloads the config" || not_ok "SIGHUP reloads the config" "no config.reloaded in the log"
submit g4 gated main
r=$(http POST "/v1/proposals/$G3/approve" "$ALICE")
expect "approval after the policy changed: 409" "$(status_of "$r")" "409"
expect_match "approval after the policy changed: reason" "$(jq -r .detail <<<"$(body_of "$r")")" \
	'^the policy changed since the gates ran'
r=$(http POST "/v1/proposals/$G3/revisions" "$AGENT" "$TMP/rev.json")
expect "a revision after the policy changed: 202" "$(status_of "$r")" "202"
wait_submits
settle "$G3"
expect "the new policy applies to new proposals: granted at tier 1" \
	"$(rc_of g4):$(getp "$(pid_of g4)" | jq -c '[.state, .tier]')" '0:["granted",1]'
[ "$(getp "$(pid_of g4)" | jq -r .policy_digest)" != "$digest_before" ] &&
	ok "the policy digest changed with the policy" || not_ok "the policy digest changed with the policy"
expect "a revision runs the gates again under the new policy" \
	"$(getp "$G3" | jq -c '[.state, .tier, .revision]')" '["granted",1,2]'

write_config '.repos.gated.policy.approvals.required = 1 | .repos.gated.policy.bogus = true'
hup config.reload_refused && ok "SIGHUP with a broken config: refused in the log" ||
	not_ok "SIGHUP with a broken config: refused in the log" "no config.reload_refused in $DATA.log"
expect_match "the refusal names the key" "$(grep config.reload_refused "$DATA.log" | tail -1)" 'repos\.gated\.policy\.bogus'
kill -0 "$SERVER_PID" 2>/dev/null && ok "the server survives a refused reload" ||
	not_ok "the server survives a refused reload"
expect "still serving /healthz" "$(curl -s "$URL/healthz" | jq -r .status)" "ok"
submit g5 gated main
wait_submits
expect "the old policy stays in force: granted at tier 1 without approval" \
	"$(rc_of g5):$(getp "$(pid_of g5)" | jq -c '[.state, .tier]')" '0:["granted",1]'

stop_server
rc=$?
expect "server shuts down cleanly on SIGTERM (exit 0)" "$rc" "0"
[ "$rc" -eq 0 ] || grep -B2 -A14 -E 'ERROR: |leak of' "$DATA.log" | head -60
summary
