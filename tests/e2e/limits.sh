#!/bin/bash
# End-to-end: the configured caps.  A full queue and a principal over its rate get 429 with
# Retry-After; JSON nested too deep, an array or a string over its cap get 400 (the patch is
# exempt from the string cap); a slow client trickling its headers from another address is
# cut off after connection_timeout_s while others are served.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-limits.XXXXXX)
cleanup() { stop_server || true; [ -n "${SLOW_PID:-}" ] && kill "$SLOW_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
EX="$ROOT/examples/calc"
TID=$(cat "$EX/TEST_ID")
DATA="$TMP/data"

make_example_repo "$TMP/repo"
jq --arg path "$TMP/repo" '{max_parallel_runs: 1,
	limits: {max_queued: 2, submit_per_minute: 6, submit_burst: 8, max_json_depth: 3,
		max_json_array: 3, max_json_string_bytes: 100, connection_timeout_s: 2,
		shutdown_grace_s: 0, max_fail_to_pass: 2, max_patch_bytes: 4096},
	repos: {example: {path: $path, policy: .repos.example.policy}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-q --role agent)
OTHER=$("$AIRLOCK" token add --data "$DATA" --name agent-r --role agent)
jq -n --rawfile p "$EX/fix.patch" --rawfile t "$EX/test.patch" --arg id "$TID" \
	'{repo: "example", base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id]}' \
	>"$TMP/body.json"
start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }

# --- JSON caps -----------------------------------------------------------------------------
jq '.provenance = {a: [[["x"]]]}' "$TMP/body.json" >"$TMP/deep.json"
expect_match "a body nested deeper than max_json_depth is refused" \
	"$(http POST /v1/proposals "$AGENT" "$TMP/deep.json")" '^400 .*nested deeper than 3'
jq '.fail_to_pass = ["a", "b", "c", "d"]' "$TMP/body.json" >"$TMP/long.json"
expect_match "an array over max_json_array is refused" \
	"$(http POST /v1/proposals "$AGENT" "$TMP/long.json")" '^400 .*fail_to_pass: more than 3 elements'
jq '.fail_to_pass = ["a", "b", "c"]' "$TMP/body.json" >"$TMP/ids.json"
expect_match "more test ids than max_fail_to_pass is refused" \
	"$(http POST /v1/proposals "$AGENT" "$TMP/ids.json")" '^400 .*fail_to_pass: more than 2 test ids \(limits.max_fail_to_pass\)'
jq --arg pad "$(head -c 4096 /dev/zero | tr '\0' ' ')" '.test_patch += $pad' "$TMP/body.json" >"$TMP/big.json"
expect_match "a test patch over max_patch_bytes is refused" \
	"$(http POST /v1/proposals "$AGENT" "$TMP/big.json")" '^400 .*test_patch: larger than 4096 bytes \(limits.max_patch_bytes\)'
jq --arg t "$(printf 'x%.0s' $(seq 1 101))" '.title = $t' "$TMP/body.json" >"$TMP/title.json"
expect_match "a string over max_json_string_bytes is refused" \
	"$(http POST /v1/proposals "$AGENT" "$TMP/title.json")" '^400 .*title: a string longer than 100 bytes'
expect "nothing was stored for them" "$(http GET /v1/proposals "$AGENT" | sed 's/^200 //' | jq '.proposals | length')" "0"

# --- a full queue ----------------------------------------------------------------------------
for i in 1 2 3 4 5; do
	curl -sS -o /dev/null -D "$TMP/h$i" -w '%{http_code}\n' -H "Authorization: Bearer $AGENT" \
		-H 'Content-Type: application/json' --data-binary "@$TMP/body.json" "$URL/v1/proposals"
done >"$TMP/codes"
expect_match "with one runner and max_queued 2, a burst of 5 gets 429s" "$(sort "$TMP/codes" | uniq -c | tr -s ' ' | tr '\n' ' ')" ' 429 $'
first429=$(grep -n 429 "$TMP/codes" | head -1 | cut -d: -f1)
expect_match "saying the queue is full, with Retry-After" \
	"$(tr -d '\r' <"$TMP/h$first429" | grep -i '^retry-after:')" '^[Rr]etry-[Aa]fter: 30$'
expect "no more than one running and two queued were taken" "$(grep -c 202 "$TMP/codes")" "3"

# --- a principal over its rate -------------------------------------------------------------
for _ in $(seq 1 300); do
	[ "$(http GET '/v1/proposals?state=queued' "$AGENT" | sed 's/^200 //' | jq '.proposals | length')" = 0 ] && break
	sleep 0.2
done
printf '{}' >"$TMP/empty.json"
for i in $(seq 1 9); do
	http POST /v1/proposals "$OTHER" "$TMP/empty.json" | cut -d' ' -f1
done >"$TMP/rate"
expect "agent-r: 8 requests (the burst) are read, the 9th is 429" \
	"$(head -8 "$TMP/rate" | sort -u | tr '\n' ' ')$(tail -1 "$TMP/rate")" "400 429"
expect_match "and the 429 names the rate" "$(http POST /v1/proposals "$OTHER" "$TMP/empty.json")" \
	'^429 .*agent-r: more than 6 submissions a minute'

# --- a slow client is cut off; others are served -------------------------------------------
cat >"$TMP/slow.mjs" <<'JS'
import net from 'node:net';
const [port, n] = [Number(process.argv[2]), Number(process.argv[3])];
const t0 = Date.now();
let closed = 0, sent = 0;
for (let i = 0; i < n; i++) {
  const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
  // never ends its headers; once all have sent theirs, says so on stderr
  s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n', () => {
    if (++sent === n) console.error('connected');
  }));
  s.on('error', () => {});
  s.on('close', () => { if (++closed === n) { console.log(Date.now() - t0); process.exit(0); } });
}
setTimeout(() => { console.log('still-open'); process.exit(1); }, 15000);
JS
node "$TMP/slow.mjs" "$PORT" 10 >"$TMP/slow.out" 2>"$TMP/slow.err" &
SLOW_PID=$!
wait_file "$TMP/slow.err" '^connected$' 10
t0=$(date +%s%N)
code=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/healthz")
ms=$((($(date +%s%N) - t0) / 1000000))
expect_match "while 10 slow clients hold connections, /healthz answers at once" "$code $ms" '^200 [0-9]{1,3}$'
wait "$SLOW_PID"
SLOW_PID=
expect_match "the slow clients are cut off after connection_timeout_s (2 s)" "$(cat "$TMP/slow.out")" '^(1[5-9][0-9]{2}|[2-5][0-9]{3})$'
summary
