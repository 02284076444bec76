#!/bin/bash
# End-to-end: nothing lost, nothing granted twice.  20 proposals in flight, the server
# killed with SIGKILL mid-run and started again: every proposal ends in a terminal state,
# none twice granted, no runner outlives its server, and `airlock audit verify` walks an
# intact chain; then one audit row altered with sqlite3 is named.  Also a SIGTERM with a
# short grace: what still runs goes back to the queue and finishes after the restart.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-crash.XXXXXX)
cleanup() {
	[ -n "${SERVER_PID:-}" ] && kill -9 "$SERVER_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
EX="$ROOT/examples/calc"
TID=$(cat "$EX/TEST_ID")
DATA="$TMP/data"

make_example_repo "$TMP/repo"
# "slow": the same project whose reproduction waits 5 s, so that its jobs are surely still
# running when SIGTERM's 2 s grace ends
jq --arg path "$TMP/repo" '{max_parallel_runs: 2, limits: {shutdown_grace_s: 2},
	repos: {example: {path: $path, policy: .repos.example.policy},
		slow: {path: $path, policy: (.repos.example.policy |
			.reproduce.command = ["sh", "-c", "sleep 5; exec sh tests/run.sh \"$@\"", "sh"])}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
READER=$("$AIRLOCK" token add --data "$DATA" --name reader --role reviewer)
jq -n --rawfile p "$EX/fix.patch" --rawfile t "$EX/test.patch" --arg id "$TID" \
	'{repo: "example", base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id]}' \
	>"$TMP/body.json"

submit_n() { # submit_n N: N proposals, their ids appended to $TMP/ids
	local i
	for i in $(seq 1 "$1"); do
		http POST /v1/proposals "$AGENT" "$TMP/body.json" | sed 's/^202 //' | jq -r .id >>"$TMP/ids"
	done
}
count_state() { # count_state STATE...
	local s n=0
	for s in "$@"; do
		n=$((n + $(db "SELECT count(*) FROM proposals WHERE state = '$s'")))
	done
	echo "$n"
}
wait_terminal() { # wait_terminal N SECONDS: until N proposals are terminal
	local i
	for i in $(seq 1 $(($2 * 5))); do
		[ "$(count_state granted rejected error)" -ge "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
runners() { pgrep -f "runner --job $DATA/jobs/" | wc -l; }

# --- 20 in flight, SIGKILL ---------------------------------------------------------------
start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }
: >"$TMP/ids"
submit_n 20
expect "20 proposals accepted" "$(grep -cE '^[0-9a-f]{32}$' "$TMP/ids")" "20"
for _ in $(seq 1 600); do
	[ "$(count_state granted)" -ge 2 ] && [ "$(runners)" -ge 1 ] && break
	sleep 0.1
done
before=$(count_state granted)
expect_match "some are granted and a job is running when the server is killed" \
	"$before $(runners)" '^[2-9][0-9]* [1-9]'
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
gone=no
for _ in $(seq 1 100); do [ "$(runners)" -eq 0 ] && { gone=yes; break; }; sleep 0.1; done
expect "no runner outlives the killed server" "$gone" "yes"
expect_match "proposals were left running" "$(count_state running)" '^[1-9]'
expect_match "and queued" "$(count_state queued)" '^[1-9]'
mv "$DATA.log" "$TMP/first.log"
out=$("$AIRLOCK" runner --job "$TMP/none" --parent 1 2>&1)
expect "a runner whose server is not its parent refuses to start" "$? $out" \
	"1 airlock runner: the server that started this job is gone"

start_server "$TMP/config.json" "$DATA" || { not_ok "server restarts"; summary; exit 1; }
ok "the server restarts on the same data"
expect_match "it put the interrupted jobs back in the queue" "$(grep -m1 sched.requeued "$DATA.log")" 'count=[1-9]'
if wait_terminal 20 300; then ok "all 20 reach a terminal state"; else not_ok "all 20 reach a terminal state" "$(db "SELECT state, count(*) FROM proposals GROUP BY state")"; fi
expect "none is lost: 20 proposals, all granted" "$(count_state granted)" "20"
expect "each of the 20 has exactly one grant issued in the audit log" \
	"$(db "SELECT count(*) FROM (SELECT proposal FROM audit WHERE action = 'grant.issued' GROUP BY proposal HAVING count(*) = 1)")" "20"
expect "each was started again at most once more" \
	"$(db "SELECT max(attempts) <= 2 FROM proposals")" "1"
# a job's directory goes just after its verdict is stored: wait for the last one
for _ in $(seq 1 150); do
	left=$(find "$DATA/jobs" -mindepth 1 -maxdepth 1 2>/dev/null)
	[ -z "$left" ] && break
	sleep 0.2
done
expect "no workspace is left behind" "$(grep -c . <<<"$left")" "0"
[ -z "$left" ] || ls -laR $left | head -40
ID1=$(head -1 "$TMP/ids")
trace=$("$AIRLOCK" audit show --data "$DATA" "$ID1")
expect "audit show prints the whole trace, request to grant" \
	"$(awk '{print $4}' <<<"$trace" | grep -E '^(proposal|job|gates|grant)\.' | sort -u | tr '\n' ' ')" \
	"gates.granted grant.issued job.started proposal.submitted "
expect_match "it names the proposal first" "$(head -1 <<<"$trace")" "^proposal $ID1: granted, repository example, proposer agent-1"

# --- SIGTERM: the grace ends, what runs goes back to the queue ---------------------------
jq '.repo = "slow"' "$TMP/body.json" >"$TMP/slow.json"
cp "$TMP/slow.json" "$TMP/body.json"
submit_n 4
for _ in $(seq 1 300); do [ "$(runners)" -ge 2 ] && break; sleep 0.1; done
SLOW_ID=$(tail -1 "$TMP/ids")
t0=$(date +%s%N)
kill -TERM "$SERVER_PID"
for _ in $(seq 1 200); do
	[ "$(curl -sS -m 5 "$URL/healthz" 2>/dev/null)" = '{"status":"draining"}' ] && break
	sleep 0.01
done
# draining: reads answered, submissions refused with a time to come back, health says so
expect_match "while draining, a status read is answered" "$(http GET "/v1/proposals/$SLOW_ID" "$READER")" '^200 .*"state":"(queued|running)"'
code=$(curl -sS -D "$TMP/dh" -o "$TMP/dr" -w '%{http_code}' -H "Authorization: Bearer $AGENT" \
	-H 'Content-Type: application/json' --data-binary "@$TMP/body.json" "$URL/v1/proposals")
expect "while draining, a submission gets 503" "$code $(jq -r .error "$TMP/dr")" "503 unavailable"
expect_match "with Retry-After" "$(tr -d '\r' <"$TMP/dh" | grep -i '^retry-after:')" '^[Rr]etry-[Aa]fter: [1-9]'
jq '{patch, test_patch}' "$TMP/body.json" >"$TMP/rev.json"
expect_match "while draining, a revision gets 503" "$(http POST "/v1/proposals/$SLOW_ID/revisions" "$AGENT" "$TMP/rev.json")" '^503 .*"error":"unavailable"'
expect "while draining, /healthz says so" "$(http GET /healthz "")" '503 {"status":"draining"}'
rc=0
wait "$SERVER_PID" 2>/dev/null || rc=$?
SERVER_PID=
ms=$((($(date +%s%N) - t0) / 1000000))
expect "SIGTERM stops it cleanly" "$rc" "0"
expect_match "within the 2 s grace and a little" "$ms" '^([0-9]{1,3}|[1-5][0-9]{3})$'
expect_match "the unfinished jobs were put back in the queue" "$(grep sched.requeued_at_stop "$DATA.log")" 'count=[1-9]'
expect "none is left running in the database" "$(count_state running)" "0"
mv "$DATA.log" "$TMP/second.log"
start_server "$TMP/config.json" "$DATA" || { not_ok "server restarts"; summary; exit 1; }
if wait_terminal 24 300; then ok "after the restart all 24 are terminal"; else not_ok "after the restart all 24 are terminal"; fi
expect "all 24 granted, none twice" \
	"$(db "SELECT count(*) FROM (SELECT proposal FROM audit WHERE action = 'grant.issued' GROUP BY proposal HAVING count(*) = 1)") $(count_state granted)" "24 24"

# --- GET /metrics --------------------------------------------------------------------------
curl -sS -D "$TMP/mh" -o "$TMP/metrics" "$URL/metrics"
expect_match "GET /metrics answers Prometheus text" "$(tr -d '\r' <"$TMP/mh" | grep -i '^content-type')" 'text/plain; version=0.0.4'
M=$(cat "$TMP/metrics")
expect "proposals by state" "$(grep -E '^airlock_proposals\{state="(granted|queued)"\}' <<<"$M" | tr '\n' ' ')" \
	'airlock_proposals{state="queued"} 0 airlock_proposals{state="granted"} 24 '
expect "queue depth" "$(grep '^airlock_queue_depth ' <<<"$M")" "airlock_queue_depth 0"
expect_match "this run's gate jobs are in the gate histogram" "$(grep '^airlock_gate_seconds_count ' <<<"$M")" ' [1-9][0-9]*$'
expect_match "and their policy evaluations" "$(grep '^airlock_policy_eval_seconds_count ' <<<"$M")" ' [1-9][0-9]*$'
expect_match "and every sandboxed run" "$(grep '^airlock_sandbox_run_seconds_count ' <<<"$M")" ' [1-9][0-9]*$'
expect_match "and every sandbox's set-up" "$(grep '^airlock_sandbox_spawn_seconds_count ' <<<"$M")" ' [1-9][0-9]*$'
expect_match "HTTP requests by route and status" "$(grep 'airlock_http_requests_total{route="/healthz",status="200"}' <<<"$M")" ' [1-9][0-9]*$'
http GET "/v1/proposals/$ID1" "$READER" >/dev/null
first=$(cat "$TMP/resp")
http GET "/v1/proposals/$ID1" "$READER" >/dev/null
expect "a second read of an unchanged proposal gives the same view" "$(cat "$TMP/resp")" "$first"
http GET "/v1/proposals/$(printf '%032d' 0)" "$READER" >/dev/null
M=$(curl -sS "$URL/metrics")
expect_match "the second read came from the view cache" "$(grep 'airlock_view_cache_total{result="hit"}' <<<"$M")" ' [1-9][0-9]*$'
expect "an id in the path is one series, {id}" \
	"$(grep -cE 'route="/v1/proposals/\{id\}",status="(200|404)"' <<<"$M")" "2"
expect "no proposal id appears in the metrics" "$(grep -c "$ID1" <<<"$M")" "0"
expect_match "the seccomp denial series is declared" "$M" '# TYPE airlock_seccomp_denied_total counter'
stop_server

# --- the audit chain -----------------------------------------------------------------------
out=$("$AIRLOCK" audit verify --data "$DATA")
expect "audit verify passes" "$?" "0"
expect_match "and says how much it walked" "$out" '^audit: [0-9]+ entries, the chain is intact; head [0-9a-f]{64}$'
SEQ=$(db "SELECT seq FROM audit WHERE action = 'grant.issued' ORDER BY seq LIMIT 1 OFFSET 3")
db "DROP TRIGGER audit_no_update;
	UPDATE audit SET detail = replace(detail, 'tier 1', 'tier 2') WHERE seq = $SEQ;"
out=$("$AIRLOCK" audit verify --data "$DATA")
expect "after one row is altered, audit verify fails" "$?" "1"
expect_match "naming the altered entry" "$out" "^audit: entry $SEQ was modified"
"$AIRLOCK" audit verify --data "$TMP/nowhere" >/dev/null 2>&1
expect "audit verify on a missing data dir fails" "$?" "1"
summary
