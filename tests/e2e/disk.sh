#!/bin/bash
# End-to-end: a job's workspace goes after the job whatever its tests left in it.  A
# reproduction that builds a 10,000-level directory tree (far past the open-file limit and
# PATH_MAX) and makes part of it unreadable still gets its verdict, and nothing of the job
# is left under DATA/jobs, after the job and after a restart.
set -u
. "$(dirname "$0")/lib.sh"

# the soft open-file limit a service gets by default (systemd: 1024), well under the depth
ulimit -n 1024
TMP=$(mktemp -d /tmp/airlock-e2e-disk.XXXXXX)
cleanup() {
	[ -n "${SERVER_PID:-}" ] && kill -9 "$SERVER_PID" 2>/dev/null
	chmod -R u+rwx "$TMP" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
EX="$ROOT/examples/calc"
TID=$(cat "$EX/TEST_ID")
DATA="$TMP/data"

make_example_repo "$TMP/repo"
# every run of the reproduction first builds the deep tree in its workspace
DEEP='for (1..10000) { mkdir "d" or die "mkdir: $!"; chdir "d" or die "chdir: $!" } chmod 0, "." or die; chdir ".."; chmod 0, "d"'
jq --arg path "$TMP/repo" --arg deep "$DEEP" '{repos: {example: {path: $path,
	policy: (.repos.example.policy | .reproduce.command =
		["sh", "-c", "perl -e \"$0\" && exec sh tests/run.sh \"$@\"", $deep])}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
jq -n --rawfile p "$EX/fix.patch" --rawfile t "$EX/test.patch" --arg id "$TID" \
	'{repo: "example", base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id]}' \
	>"$TMP/body.json"
leftovers() { find "$DATA/jobs" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }
ID=$(http POST /v1/proposals "$AGENT" "$TMP/body.json" | sed 's/^202 //' | jq -r .id)
for i in $(seq 1 1800); do
	case "$(state "$ID")" in granted | rejected | error) break ;; esac
	sleep 0.1
done
expect "the job that built 10,000 levels is judged" "$(state "$ID")" "granted"
reason=$(http GET "/v1/proposals/$ID" "$AGENT" | sed 's/^200 //' | jq -r .verdict.reason)
expect "its verdict" "$reason" "all gates satisfied"
for i in $(seq 1 100); do [ "$(leftovers)" = 0 ] && break; sleep 0.1; done
expect "nothing of the job is left under jobs/" "$(leftovers)" "0"
stop_server && ok "the server stops cleanly" || not_ok "the server stops cleanly"
start_server "$TMP/config.json" "$DATA" || { not_ok "server starts again"; summary; exit 1; }
expect "nor after a restart" "$(leftovers)" "0"
stop_server && ok "it stops cleanly again" || not_ok "it stops cleanly again"
summary
