#!/bin/bash
# End-to-end: one writer per data directory.  While a server runs a job, a second
# `airlock serve` on the same data directory exits 1 with one line naming the first one's
# pid, before it touches anything: the job it would have re-queued still finishes in the
# first server, its workspace is left alone, and the first server's port still answers.
# Then a second server whose port is taken exits before any recovery: the proposal a crash
# left running stays running until a server that can serve takes it.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-writer.XXXXXX)
cleanup() {
	[ -n "${SERVER_PID:-}" ] && kill -9 "$SERVER_PID" 2>/dev/null
	[ -n "${SECOND:-}" ] && kill -9 "$SECOND" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
EX="$ROOT/examples/calc"
TID=$(cat "$EX/TEST_ID")
DATA="$TMP/data"

make_example_repo "$TMP/repo"
# the reproduction waits 4 s, so that the job is surely running when the second starts
jq --arg path "$TMP/repo" '{repos: {example: {path: $path, policy: (.repos.example.policy |
	.reproduce.command = ["sh", "-c", "sleep 4; exec sh tests/run.sh \"$@\"", "sh"])}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
jq -n --rawfile p "$EX/fix.patch" --rawfile t "$EX/test.patch" --arg id "$TID" \
	'{repo: "example", base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id]}' \
	>"$TMP/body.json"

start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }
FIRST=$SERVER_PID
ID=$(http POST /v1/proposals "$AGENT" "$TMP/body.json" | sed 's/^202 //' | jq -r .id)
for i in $(seq 1 100); do [ "$(state "$ID")" = running ] && break; sleep 0.1; done
expect "the job is running in the first server" "$(state "$ID")" "running"
# the workspace comes a moment after the claim
for i in $(seq 1 100); do [ -d "$DATA/jobs/$ID" ] && break; sleep 0.1; done
[ -d "$DATA/jobs/$ID" ] && ok "its workspace is there" || not_ok "its workspace is there"

# --- a second server on the same data directory ------------------------------------------
"$AIRLOCK" serve --config "$TMP/config.json" --data "$DATA" --listen 127.0.0.1:0 \
	>"$TMP/second.out" 2>"$TMP/second.err" &
SECOND=$!
# it must give up at once; one that serves instead is stopped after a minute
for i in $(seq 1 600); do kill -0 "$SECOND" 2>/dev/null || break; sleep 0.1; done
kill -9 "$SECOND" 2>/dev/null
wait "$SECOND"
rc=$?
SECOND=
expect "the second server exits 1" "$rc" "1"
expect "it says one line" "$(wc -l <"$TMP/second.err")" "1"
expect_match "the line names the data directory and the first server's pid" \
	"$(cat "$TMP/second.err")" "^airlock: serve: $DATA is in use by another airlock serve \\(pid $FIRST\\)"
expect "it printed no banner" "$(wc -c <"$TMP/second.out")" "0"
expect "the job is still running" "$(state "$ID")" "running"
[ -d "$DATA/jobs/$ID" ] && ok "its workspace was left alone" || not_ok "its workspace was left alone"
r=$(curl -fsS "$URL/healthz")
expect "the first server still answers" "$r" '{"status":"ok"}'
for i in $(seq 1 600); do
	case "$(state "$ID")" in granted | rejected | error) break ;; esac
	sleep 0.1
done
expect "the first server finishes the job" "$(state "$ID")" "granted"
expect "the lock file names the first server" "$(tr -d '\n' <"$DATA/airlock.lock")" "$FIRST"
stop_server && ok "the first server stops cleanly" || not_ok "the first server stops cleanly"

# --- a port already taken: no recovery runs -----------------------------------------------
# A crash (SIGKILL mid-job) leaves a proposal running; a server that cannot bind its port
# must not requeue it.
start_server "$TMP/config.json" "$DATA" || { not_ok "the server starts again"; summary; exit 1; }
ID=$(http POST /v1/proposals "$AGENT" "$TMP/body.json" | sed 's/^202 //' | jq -r .id)
for i in $(seq 1 100); do [ "$(state "$ID")" = running ] && break; sleep 0.1; done
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
expect "the crash left it running" "$(state "$ID")" "running"
python3 -c 'import socket,time,sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$TMP/port" &
HOLDER=$!
for i in $(seq 1 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
timeout -s KILL 60 "$AIRLOCK" serve --config "$TMP/config.json" --data "$DATA" \
	--listen "127.0.0.1:$(cat "$TMP/port")" >/dev/null 2>"$TMP/busy.err"
rc=$?
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
expect "a server whose port is taken exits 1" "$rc" "1"
expect "the crashed proposal was not touched" "$(state "$ID")" "running"
expect "nothing was audited as requeued" \
	"$(db "SELECT count(*) FROM audit WHERE proposal = '$ID' AND actor = 'recovery'")" "0"
# and the next server that can serve recovers it
start_server "$TMP/config.json" "$DATA" || { not_ok "a third server starts"; summary; exit 1; }
for i in $(seq 1 600); do
	case "$(state "$ID")" in granted | rejected | error) break ;; esac
	sleep 0.1
done
expect "a server that can serve recovers it" "$(state "$ID")" "granted"
stop_server && ok "it stops cleanly" || not_ok "it stops cleanly"
summary
