#!/bin/bash
# End-to-end: automatic quarantine.  An agent whose test tries ptrace, mount and unshare in
# two jobs (the policy's escape_jobs limit) is quarantined: its next submission and
# revision get 403 "quarantined: REASON", its queued proposal is held while another agent's
# runs, the grant of the job that tipped it is not auto-promoted, an admin releases it, and its proposals run and are accepted again.  Attacks that
# must fail: the agent (or another agent, or a reviewer) releasing it, an admin releasing
# itself, one agent's escapes counted against another, a name that is no token.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-quarantine.XXXXXX)
cleanup() {
	[ -n "${SERVER_PID:-}" ] && kill -9 "$SERVER_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
EX="$ROOT/examples/calc"
TID=$(cat "$EX/TEST_ID")
DATA="$TMP/data"

make_example_repo "$TMP/repo"
# one worker: jobs run in the order they were queued, so the quarantine lands before the
# next of the agent's proposals is looked at
jq --arg repo "$TMP/repo" '{workers: 1, repos: {example: {path: $repo,
	policy: (.repos.example.policy + {approvals: {required: 0}, auto_promote: true,
		quarantine: {window_minutes: 10, escape_jobs: 2}})}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
EVIL=$("$AIRLOCK" token add --data "$DATA" --name agent-evil --role agent)
GOOD=$("$AIRLOCK" token add --data "$DATA" --name agent-good --role agent)
ADMIN=$("$AIRLOCK" token add --data "$DATA" --name ops-1 --role admin)
ADMIN2=$("$AIRLOCK" token add --data "$DATA" --name ops-2 --role admin)
REV=$("$AIRLOCK" token add --data "$DATA" --name rev-1 --role reviewer)

# the example's test patch, with its new test also trying to leave the sandbox
cp -a "$TMP/repo" "$TMP/gen"
git -C "$TMP/gen" apply "$EX/test.patch"
sed -i '1i #define _GNU_SOURCE\n#include <sys/syscall.h>\n#include <unistd.h>' \
	"$TMP/gen/tests/test_calc.c"
sed -i '/^clamp_above(void)$/,/^{$/ s/^{$/{\n\tfor (int i = 0; i < 3; i++) {\n\t\tsyscall(SYS_ptrace, 0, 0, 0, 0);\n\t\tsyscall(SYS_mount, "x", "\/tmp", "tmpfs", 0, 0);\n\t\tsyscall(SYS_unshare, 0x10000000);\n\t}/' \
	"$TMP/gen/tests/test_calc.c"
grep -q SYS_unshare "$TMP/gen/tests/test_calc.c" || { not_ok "the escaping test is made"; summary; exit 1; }
git -C "$TMP/gen" diff >"$TMP/escape.patch"
jq -n --rawfile p "$EX/fix.patch" --rawfile t "$TMP/escape.patch" --arg id "$TID" \
	'{repo: "example", base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id]}' >"$TMP/escape.json"
jq -n --rawfile p "$EX/fix.patch" --rawfile t "$EX/test.patch" --arg id "$TID" \
	'{repo: "example", base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id]}' >"$TMP/clean.json"

submit() { http POST /v1/proposals "$1" "$2" | sed 's/^202 //' | jq -r .id; }

start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }

# --- two escaping jobs, then a clean proposal of the same agent, then another agent's --------
E1=$(submit "$EVIL" "$TMP/escape.json")
E2=$(submit "$EVIL" "$TMP/escape.json")
HELD=$(submit "$EVIL" "$TMP/clean.json")
G1=$(submit "$GOOD" "$TMP/escape.json")
wait_state "$E2" 180 granted rejected error
expect "the escaping test's syscalls were denied and counted" \
	"$(db "SELECT result FROM proposals WHERE id = '$E1'" |
		jq -c '[.runs[].denied[].syscall] | unique | map(select(. == "ptrace" or . == "mount" or . == "unshare"))')" \
	'["mount","ptrace","unshare"]'
wait_state "$G1" 180 granted rejected error
expect "another agent's proposal queued after it still runs" "$(state "$G1")" "granted"
# (one worker: G1 ran after E2's job was done, auto-promotion included)
ref() { git -C "$TMP/repo" rev-parse -q --verify "refs/heads/airlock/$1" >/dev/null && echo moved || echo none; }
expect "a grant before the quarantine is auto-promoted; the one that tipped it is not" \
	"$(ref "$E1")/$(ref "$E2")/$(state "$E2")" "moved/none/granted"
expect "and the log says why" "$(grep -c "event=proposal.auto_promote_held id=$E2" "$DATA.log")" "1"
expect "the agent's queued proposal is held" "$(state "$HELD")" "queued"
expect "the other agent, with one escaping job, is not quarantined" \
	"$(db "SELECT count(*) FROM quarantines WHERE name = 'agent-good'")" "0"

# --- refused while quarantined -------------------------------------------------------------
r=$(http POST /v1/proposals "$EVIL" "$TMP/clean.json")
expect "a submission while quarantined: 403" "${r%% *}" "403"
expect_match "naming why" "$(sed 's/^403 //' <<<"$r" | jq -r .detail)" \
	'^quarantined: 2 job\(s\) whose sandbox denied an escape-class syscall in 10 min \(.*ptrace'
jq -n --rawfile p "$EX/fix.patch" '{patch: $p}' >"$TMP/rev.json"
r=$(http POST "/v1/proposals/$E1/revisions" "$EVIL" "$TMP/rev.json")
expect "a revision while quarantined: 403" "${r%% *}" "403"
r=$(http POST /v1/proposals "$GOOD" "$TMP/clean.json")
expect "another agent still submits: 202" "${r%% *}" "202"
G2=$(sed 's/^202 //' <<<"$r" | jq -r .id)
expect_match "token list shows it" "$("$AIRLOCK" token list --data "$DATA" | grep '^agent-evil')" \
	'quarantined: 2 job'
expect "the page's session shows it to a reviewer" \
	"$(http GET /v1/session "$REV" | sed 's/^200 //' | jq -c '[.quarantined[].name]')" '["agent-evil"]'
expect "an agent sees only its own" \
	"$(http GET /v1/session "$GOOD" | sed 's/^200 //' | jq -c '.quarantined')" '[]'
M=$(curl -sS "$URL/metrics")
expect_match "metrics count it" "$M" '^airlock_quarantined_tokens 1$'
expect_match "and the step" "$M" '^airlock_quarantine_events_total\{event="quarantine"\} 1$'
wait_state "$G2" 180 granted rejected error
sleep 2
expect "still held after other work and the scheduler's polls" "$(state "$HELD")" "queued"

# --- who may not release it ------------------------------------------------------------------
r=$(http POST /v1/admin/tokens/agent-evil/release "$EVIL")
expect "the quarantined agent cannot release itself: 403" "${r%% *}" "403"
r=$(http POST /v1/admin/tokens/agent-evil/release "$GOOD")
expect "another agent cannot release it: 403" "${r%% *}" "403"
r=$(http POST /v1/admin/tokens/agent-evil/release "$REV")
expect "a reviewer cannot release it: 403" "${r%% *}" "403"
r=$(http POST /v1/admin/tokens/agent-evil/release "")
expect "nor anyone unsigned: 401" "${r%% *}" "401"
r=$(http GET /v1/admin/tokens/agent-evil/release "$ADMIN")
expect "a GET changes nothing: 405" "${r%% *}" "405"
# an admin quarantined (as the scheduler records one) cannot lift it itself; another can
db "INSERT INTO quarantines(name, reason, at, by) VALUES ('ops-1', 'test', strftime('%s', 'now'), 'scheduler')"
r=$(http POST /v1/admin/tokens/ops-1/release "$ADMIN")
expect "a quarantined admin cannot release itself: 403" "${r%% *}" "403"
expect "and is told why" "$(sed 's/^403 //' <<<"$r" | jq -r .detail)" "ops-1 cannot release its own quarantine"
r=$(http POST /v1/admin/tokens/ops-1/release "$ADMIN2")
expect "another admin can: 200" "${r%% *}" "200"
r=$(http POST /v1/admin/tokens/agent-good/release "$ADMIN")
expect "a name not quarantined: 409" "${r%% *}" "409"
r=$(http POST /v1/admin/tokens/nobody/release "$ADMIN")
expect "a name that is no token: 404" "${r%% *}" "404"
r=$(http POST "/v1/admin/tokens/..%2Fx/release" "$ADMIN")
expect "a malformed name: 404" "${r%% *}" "404"
expect "still quarantined after all that" "$(state "$HELD")/$(db \
	"SELECT count(*) FROM quarantines WHERE name = 'agent-evil' AND released IS NULL")" "queued/1"

# --- an admin releases it: the held proposal runs, submissions are accepted -----------------
r=$(http POST /v1/admin/tokens/agent-evil/release "$ADMIN")
expect "an admin releases it: 200" "${r%% *}" "200"
r=$(http POST /v1/admin/tokens/agent-evil/release "$ADMIN2")
expect "releasing twice: 409" "${r%% *}" "409"
wait_state "$HELD" 180 granted rejected error
expect "the held proposal runs once released" "$(state "$HELD")" "granted"
r=$(http POST /v1/proposals "$EVIL" "$TMP/clean.json")
expect "its submissions are accepted again: 202" "${r%% *}" "202"
expect "the agent stays released (what was forgiven does not count again)" \
	"$(db "SELECT count(*) FROM quarantines WHERE released IS NULL")" "0"
expect_match "metrics count the releases (this one and the admin's)" "$(curl -sS "$URL/metrics")" \
	'^airlock_quarantine_events_total\{event="release"\} 2$'

# --- again, and released by the operator's CLI this time ------------------------------------
E3=$(submit "$EVIL" "$TMP/escape.json")
E4=$(submit "$EVIL" "$TMP/escape.json")
wait_state "$E4" 180 granted rejected error
r=$(http POST /v1/proposals "$EVIL" "$TMP/clean.json")
expect "two more escaping jobs: quarantined again (403)" "${r%% *}" "403"
"$AIRLOCK" token release --data "$DATA" >/dev/null 2>&1
expect "token release without a NAME: exit 64" "$?" "64"
out=$("$AIRLOCK" token release --data "$DATA" agent-evil)
expect "token release: exit 0" "$?" "0"
expect "it says so" "$out" "released agent-evil: its queued proposals run again"
"$AIRLOCK" token release --data "$DATA" agent-evil >/dev/null 2>&1
expect "token release of a name not quarantined: exit 1" "$?" "1"
r=$(http POST /v1/proposals "$EVIL" "$TMP/clean.json")
expect "accepted once the operator released it: 202" "${r%% *}" "202"
expect "each step is audited, by whom" \
	"$(db "SELECT group_concat(actor || ':' || action || ':' || substr(detail, 1, 15), ',') FROM audit WHERE action IN ('token.quarantine', 'token.release') AND detail LIKE 'name=agent-evil%'")" \
	"scheduler:token.quarantine:name=agent-evil,ops-1:token.release:name=agent-evil,scheduler:token.quarantine:name=agent-evil,cli:token.release:name=agent-evil"
stop_server && ok "the server stops cleanly" || not_ok "the server stops cleanly"
summary
