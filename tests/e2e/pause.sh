#!/bin/bash
# End-to-end: the kill switch.  `airlock pause` with a job running: its runner is killed
# and the job goes back to the queue, a submission, a decision and a promotion are refused
# (503 "paused: REASON"), nothing is granted; the pause outlives a restart; `airlock resume`
# lets the job finish and the promotion happen.  Only an admin pulls it; each step is
# audited.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-pause.XXXXXX)
cleanup() {
	[ -n "${SERVER_PID:-}" ] && kill -9 "$SERVER_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
EX="$ROOT/examples/calc"
TID=$(cat "$EX/TEST_ID")
DATA="$TMP/data"

make_example_repo "$TMP/repo"
make_example_repo "$TMP/slow"
# "slow": the reproduction waits 5 s, so that its job is surely running when the switch
# is pulled
jq --arg fast "$TMP/repo" --arg slow "$TMP/slow" '{repos: {
	fast: {path: $fast, policy: (.repos.example.policy + {approvals: {required: 0}})},
	slow: {path: $slow, policy: (.repos.example.policy |
		.reproduce.command = ["sh", "-c", "sleep 5; exec sh tests/run.sh \"$@\"", "sh"])}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
ADMIN=$("$AIRLOCK" token add --data "$DATA" --name ops-1 --role admin)
REV=$("$AIRLOCK" token add --data "$DATA" --name rev-1 --role reviewer)
body() { # body REPO: the example's fix on that repository
	jq -n --rawfile p "$EX/fix.patch" --rawfile t "$EX/test.patch" --arg id "$TID" --arg r "$1" \
		'{repo: $r, base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id]}' >"$TMP/$1.json"
}
body fast
body slow
runners() { pgrep -f "runner --job $DATA/jobs/$1" | wc -l; }

start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }
FAST=$(http POST /v1/proposals "$AGENT" "$TMP/fast.json" | sed 's/^202 //' | jq -r .id)
wait_state "$FAST" 120 granted rejected error
expect "a proposal granted before the pause" "$(state "$FAST")" "granted"
SLOW=$(http POST /v1/proposals "$AGENT" "$TMP/slow.json" | sed 's/^202 //' | jq -r .id)
wait_state "$SLOW" 30 running
for i in $(seq 1 50); do [ "$(runners "$SLOW")" -gt 0 ] && break; sleep 0.1; done
# (the sandbox's own processes carry the runner's command line too: count any, not one)
expect "its job is running" "$(state "$SLOW")/$([ "$(runners "$SLOW")" -gt 0 ] && echo yes)" "running/yes"

# --- only an admin pulls it --------------------------------------------------------------
r=$("$AIRLOCK" pause --server "$URL" --token "$REV" --reason "not mine" 2>&1)
expect "a reviewer cannot pause: exit 2" "$?" "2"
expect_match "and is told why" "$r" "403"
r=$(http GET /v1/admin/pause "$AGENT")
expect "not paused yet" "$(sed 's/^200 //' <<<"$r" | jq -c .)" '{"paused":false}'

# --- pulled with a job running --------------------------------------------------------------
out=$("$AIRLOCK" pause --server "$URL" --token "$ADMIN" --reason "incident 42")
expect "airlock pause: exit 0" "$?" "0"
expect "it says what it stopped" "$out" \
	"paused: incident 42 (1 running job(s) stopped and queued again)"
wait_state "$SLOW" 30 queued
expect "the running job went back to the queue" "$(state "$SLOW")" "queued"
for i in $(seq 1 50); do [ "$(runners "$SLOW")" = 0 ] && break; sleep 0.1; done
expect "its runner is gone" "$(runners "$SLOW")" "0"
r=$(http GET /v1/admin/pause "$AGENT")
expect "the state says paused, why and by whom" "$(sed 's/^200 //' <<<"$r" | jq -c '[.paused, .reason, .by]')" \
	'[true,"incident 42","ops-1"]'
r=$(http POST /v1/proposals "$AGENT" "$TMP/fast.json")
expect "a submission while paused: 503" "${r%% *}" "503"
expect "naming the pause" "$(sed 's/^503 //' <<<"$r" | jq -c '[.error, .detail]')" \
	'["paused","paused: incident 42"]'
r=$(http POST "/v1/proposals/$FAST/promote" "$ADMIN")
expect "a promotion while paused: 503" "${r%% *}" "503"
expect "the ref did not move" \
	"$(git -C "$TMP/repo" rev-parse -q --verify "refs/heads/airlock/$FAST" || echo none)" "none"
r=$(http POST "/v1/proposals/$FAST/approve" "$REV")
expect "a decision while paused: 503" "${r%% *}" "503"
r=$(http POST /v1/admin/pause "$ADMIN" "$TMP/fast.json")
expect "a body that is not {reason}: 400" "${r%% *}" "400"
echo '{"reason": "again"}' >"$TMP/again.json"
r=$(http POST /v1/admin/pause "$ADMIN" "$TMP/again.json")
expect "pausing twice: 409" "${r%% *}" "409"
sleep 2
expect "nothing starts while paused" "$(state "$SLOW")/$(runners "$SLOW")" "queued/0"
expect "the page's session shows the pause" \
	"$(http GET /v1/session "$REV" | sed 's/^200 //' | jq -c '[.pause.paused, .pause.reason]')" \
	'[true,"incident 42"]'

# --- it outlives a restart ------------------------------------------------------------------
stop_server && ok "the server stops cleanly while paused" || not_ok "the server stops cleanly while paused"
start_server "$TMP/config.json" "$DATA" || { not_ok "server starts again"; summary; exit 1; }
r=$(http GET /v1/admin/pause "$AGENT")
expect "still paused after a restart" "$(sed 's/^200 //' <<<"$r" | jq -c '[.paused, .reason]')" \
	'[true,"incident 42"]'
sleep 2
expect "and still nothing starts" "$(state "$SLOW")/$(runners "$SLOW")" "queued/0"

# --- resumed: the job finishes, the promotion happens ----------------------------------------
out=$("$AIRLOCK" resume --server "$URL" --token "$ADMIN")
expect "airlock resume: exit 0" "$?" "0"
expect "it says so" "$out" "resumed"
r=$(http POST /v1/admin/resume "$ADMIN")
expect "resuming twice: 409" "${r%% *}" "409"
wait_state "$SLOW" 120 granted rejected error
expect "the stopped job runs again and is granted" "$(state "$SLOW")" "granted"
r=$(http POST "/v1/proposals/$FAST/promote" "$ADMIN")
expect "the promotion now happens: 200" "${r%% *}" "200"
expect "each step is audited by whom" \
	"$(db "SELECT group_concat(actor || ':' || action || ':' || coalesce(detail, ''), ',') FROM audit WHERE action LIKE 'server.%'")" \
	"ops-1:server.pause:incident 42,ops-1:server.resume:"
[ -e "$DATA/paused.json" ] && not_ok "paused.json is gone once resumed" || ok "paused.json is gone once resumed"
stop_server && ok "the server stops cleanly" || not_ok "the server stops cleanly"
summary
