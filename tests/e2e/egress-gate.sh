#!/bin/bash
# End-to-end: a repository whose policy gives its gate runs a path out (egress.gate). The
# server starts the job's proxy outside the runner; a contract fetches from a local HTTPS
# upstream and tries a host that is not listed; the job is granted, and the record of every
# connection is in the result, the verdict's evidence and /metrics. The secret the proxy
# adds reaches the upstream, and neither the database nor the server's log holds it; the
# runner cannot read its file. A repository without egress.gate has no network at all.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-egress-gate.XXXXXX)
cleanup() {
	[ -n "${SERVER_PID:-}" ] && kill -9 "$SERVER_PID" 2>/dev/null
	egress_upstreams_stop
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
# shellcheck source=tests/e2e/egress/start.sh
. "$ROOT/tests/e2e/egress/start.sh"
EX="$ROOT/examples/calc"
TID=$(cat "$EX/TEST_ID")
DATA="$TMP/data"
printf 'gate-secret-%s\n' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$TMP/secret"
SECRET=$(head -1 "$TMP/secret")
export AIRLOCK_EGRESS_TEST=1

make_example_repo "$TMP/repo"
make_example_repo "$TMP/repo2"
# the contract reaches the upstream (which must answer), sends a secret-carrying request, and
# tries a host nobody listed (which must fail); it passes only when all three hold
NET='curl -fsS -o /dev/null https://up.test/echo && curl -fsS -o /dev/null -H "X-Secret-Probe: agent-copy" https://up.test/secret-probe; code=$?; curl -sS -o /dev/null https://unlisted.test/ 2>/dev/null && exit 9; test $code -eq 22'
jq --arg repo "$TMP/repo" --arg repo2 "$TMP/repo2" --arg net "$NET" --arg p "127.0.0.1:$P" \
	--arg ca "$FX/ca.pem" --arg secret "$TMP/secret" '{workers: 1, repos: {
	example: {path: $repo, policy: (.repos.example.policy + {approvals: {required: 0},
		quarantine: {egress_jobs: 1},
		contract: [{name: "make-check", command: ["make", "check"]},
			   {name: "net", command: ["sh", "-c", $net], judge: "exit_code"}],
		egress: {gate: {allow: ["up.test"], caps: {connections: 64},
			secrets: [{name: "UP_TOKEN", host: "up.test", header: "X-Secret-Probe",
				   file: $secret, format: "token {}"}],
			test: {resolve: {"up.test": $p}, upstream_ca: $ca}}}})},
	closed: {path: $repo2, policy: (.repos.example.policy + {approvals: {required: 0},
		contract: [{name: "net", command: ["sh", "-c", "curl -sS https://up.test/echo"],
			    judge: "exit_code"}]})}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
AGENT2=$("$AIRLOCK" token add --data "$DATA" --name agent-2 --role agent)
ADMIN=$("$AIRLOCK" token add --data "$DATA" --name ops-1 --role admin)
REVIEWER=$("$AIRLOCK" token add --data "$DATA" --name alice --role reviewer)
jq -n --rawfile p "$EX/fix.patch" --rawfile t "$EX/test.patch" --arg id "$TID" \
	'{repo: "example", base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id]}' >"$TMP/p.json"
jq '.repo = "closed"' "$TMP/p.json" >"$TMP/closed.json"

col() { db "SELECT $2 FROM proposals WHERE id = '$1'"; }
submit() { http POST /v1/proposals "$1" "$2" | sed 's/^202 //' | jq -r .id; }

start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }
ID=$(submit "$AGENT" "$TMP/p.json")
wait_state "$ID" 240 granted rejected error
expect "a gate whose contract needs the network is granted through the proxy" "$(state "$ID")" "granted"
[ "$(state "$ID")" = granted ] || col "$ID" verdict | jq . | head -60
V=$(col "$ID" verdict)
R=$(col "$ID" result)
expect "verdict: the connections are counted" "$(jq '.egress.connections >= 6' <<<"$V")" "true"
expect "verdict: the denied host, with its reason" "$(jq -r '.egress.denied | unique | join(",")' <<<"$V")" \
	"unlisted.test:443: not listed"
expect "result: each connection names its run" \
	"$(jq -r '[.egress[].run | test("^run-[0-9]+$")] | all' <<<"$R")" "true"
expect "result: the secret's name, only on up.test" \
	"$(jq -r '[.egress[] | select(.secrets | length > 0) | .host] | unique | join(",")' <<<"$R")" "up.test"
expect_match "the upstream got the secret" "$(grep -a x-secret-probe "$TMP/up.log")" "x-secret-probe=\"token $SECRET\""
expect "...and never the agent's copy" "$(grep -ac agent-copy "$TMP/up.log")" "0"
expect_match "the runner could not read the secret file" "$(grep 'runner.confined' "$DATA.log" | head -1)" \
	'secrets_unreadable=3'
M=$(curl -sS -H "Authorization: Bearer $ADMIN" "$URL/metrics")
expect_match "/metrics: allowed connections by host" "$M" 'airlock_egress_connections_total\{host="up.test",decision="allowed"\} [1-9]'
expect_match "/metrics: denied connections by host" "$M" 'airlock_egress_connections_total\{host="unlisted.test",decision="denied"\} [1-9]'

# the reviewers' page, in Debian's Chromium: what was reached and what to allow
if [ -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ -d "$ROOT/tests/e2e/browser/node_modules/playwright-core" ]; then
	PAGE=$(URL=$URL TOKEN=$REVIEWER ID=$ID HOME=$TMP node "$ROOT/tests/e2e/browser/egress.mjs" 2>"$TMP/page.err")
	expect_match "the page shows the egress summary" "$(jq -r .summary <<<"$PAGE" 2>/dev/null)" \
		'^[0-9]+ connection\(s\) through the egress proxy, [1-9][0-9]* denied:$'
	expect "the page lists the denied host to allow" "$(jq -r '.denied | unique | join(",")' <<<"$PAGE" 2>/dev/null)" \
		"unlisted.test:443: not listed"
else
	not_ok "the page check needs Chromium and playwright-core" "run ./deploy/deps.sh --test (make test does)"
fi
expect_match "denied egress counts for quarantine (egress_jobs: 1): the agent is held" \
	"$(http POST /v1/proposals "$AGENT" "$TMP/p.json")" '^403 .*quarantined: 1 job\(s\) whose runs tried to reach a host egress denies'

C=$(submit "$AGENT2" "$TMP/closed.json")
wait_state "$C" 240 granted rejected error
expect_match "without egress.gate the same fetch fails on both sides: no network" \
	"$(col "$C" verdict | jq -r '[.rules[] | select(.rule | test("net")) | "\(.result) \(.reason)"] | join(",")')" \
	'^NOT_APPLICABLE .*pre-existing'
expect "...curl found no proxy and no resolver" \
	"$(col "$C" result | jq -r '[.runs[] | select(tostring | test("curl")) | .exit_code] | unique | join(",")')" "6"
expect "...and no proxy ran" "$(col "$C" result | jq -r '.egress // "none"')" "none"

stop_server
expect "no trace of the secret in the database" "$(db .dump | grep -c "$SECRET")" "0"
expect "no trace of the secret in the server's log" "$(grep -c "$SECRET" "$DATA.log")" "0"
expect "no trace of the secret in the data directory" "$(grep -rl "$SECRET" "$DATA" 2>/dev/null | wc -l)" "0"
summary
