#!/bin/bash
# End-to-end: the environment cache shared by jobs. Two proposals on one base: the base's
# checkout is written by the first job and found by the second (/metrics and `airlock cache
# list` say so); a cap of 0 MiB makes the server evict after a job, and the next job still
# runs; `airlock cache gc` evicts by hand and refuses, with exit 75, while a job holds the
# cache.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-cache.XXXXXX)
cleanup() {
	stop_server || true
	# what a failed check left: checkouts owned by the sandbox's ids, which only airlock removes
	[ -f "$TMP/config.json" ] && "$AIRLOCK" cache gc --config "$TMP/config.json" \
		--data "$TMP/data" --max-mb 0 >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
EX="$ROOT/examples/calc"
ID=$(cat "$EX/TEST_ID")

make_example_repo "$TMP/repo"
DATA="$TMP/data"
CACHE="$TMP/cache"
# config MAX_MB: the example's policy, the cache beside the data directory
config() {
	jq --arg path "$TMP/repo" --arg cache "$CACHE" --argjson max "$1" \
		'{repos: {example: {path: $path, policy: .repos.example.policy}},
		  cache: {dir: $cache, max_mb: $max}}' \
		"$ROOT/examples/airlock.json" >"$TMP/config.json"
}
config 1024
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }
ok "server starts with a cache of its own"

submit() { # submit NAME PATCH: `airlock submit --wait` with the example's test patch
	(cd "$TMP" && "$AIRLOCK" submit --server "$URL" --token "$AGENT" --repo example \
		--base main --test-patch "$EX/test.patch" --patch "$2" --fail-to-pass "$ID" \
		--wait) >"$TMP/$1.out" 2>&1
	echo $?
}
metric() { # metric NAME KIND: its value in /metrics, 0 when absent
	curl -sS "$URL/metrics" | awk -v n="$1{kind=\"$2\"}" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }'
}
wait_metric() { # wait_metric NAME KIND REGEX: until its value matches (the server measures
	# the cache just after a job is stored); prints the last value
	local i v
	for i in $(seq 1 100); do
		v=$(metric "$1" "$2")
		grep -qE -- "$3" <<<"$v" && break
		sleep 0.1
	done
	echo "$v"
}
cache_cli() { "$AIRLOCK" cache "$@" --config "$TMP/config.json" --data "$DATA"; }
BASE_TREE=$(git -C "$TMP/repo" rev-parse 'main^{tree}')

# --- the first job writes the base's checkout ---------------------------------------------
expect "first proposal: granted" "$(submit one "$EX/fix.patch")" "0"
written=$(metric airlock_cache_misses_total trees)
hits=$(metric airlock_cache_hits_total trees)
expect_match "first job: its checkouts were written (misses)" "$written" '^[1-9][0-9]*$'
expect "first job: no checkout was there to find" "$hits" "0"
list=$(cache_cli list --json)
expect "cache list: the base tree is an entry" \
	"$(jq -r --arg t "$BASE_TREE" '[.entries[] | select(.kind == "trees" and .name == $t)] | length' <<<"$list")" "1"
expect "cache list: the cache is the configured one" "$(jq -r .dir <<<"$list")" "$CACHE"
expect "cache list: the cap is max_mb" "$(jq -r .max_bytes <<<"$list")" "$((1024 << 20))"
used1=$(jq -r --arg t "$BASE_TREE" '.entries[] | select(.name == $t) | .last_use' <<<"$list")
expect_match "the job's directory holds no cache of its own" \
	"$(ls "$DATA/jobs" 2>/dev/null | wc -l)" '^0$'

# --- the second job on the same base finds it -----------------------------------------------
sleep 1.1 # a last use a second later
expect "second proposal (breaks the contract): rejected" "$(submit two "$EX/bad/breaks-contract.patch")" "1"
hits2=$(metric airlock_cache_hits_total trees)
written2=$(metric airlock_cache_misses_total trees)
expect_match "second job: the base's checkout was found (a hit)" "$hits2" '^[1-9][0-9]*$'
[ $((written2 - written)) -lt "$written" ] &&
	ok "second job: fewer checkouts written than the first ($((written2 - written)) < $written)" ||
	not_ok "second job: fewer checkouts written than the first" "$written then $written2"
list=$(cache_cli list --json)
expect "cache list: still one entry for the base tree" \
	"$(jq -r --arg t "$BASE_TREE" '[.entries[] | select(.name == $t)] | length' <<<"$list")" "1"
used2=$(jq -r --arg t "$BASE_TREE" '.entries[] | select(.name == $t) | .last_use' <<<"$list")
[ "$used2" -gt "$used1" ] && ok "the hit moved the base tree's last use ($used1 -> $used2)" ||
	not_ok "the hit moved the base tree's last use" "$used1 -> $used2"
entries=$(jq -r '.kinds.trees.entries' <<<"$list")
bytes=$(jq -r '.kinds.trees.bytes' <<<"$list")
expect "/metrics: airlock_cache_entries{kind=trees} matches the list" \
	"$(wait_metric airlock_cache_entries trees "^$entries\$")" "$entries"
expect "/metrics: airlock_cache_bytes{kind=trees} matches the list" \
	"$(wait_metric airlock_cache_bytes trees "^$bytes\$")" "$bytes"
expect "/metrics: nothing evicted under the cap" "$(metric airlock_cache_evictions_total trees)" "0"
text=$(cache_cli list)
expect_match "cache list (text): one line per entry, kind first" "$text" "^trees +$BASE_TREE +[0-9.]+ [KMG]?i?B +20[0-9-]+T"
expect_match "cache list (text): total and cap" "$text" '^total .* entries \(cap 1\.0 GiB\)'

# --- a busy cache: gc waits for no one unless told to ----------------------------------------
flock -s "$CACHE/.lock" sleep 3 &
holder=$!
sleep 0.3
out=$(cache_cli gc --max-mb 0 2>&1)
rc=$?
expect "cache gc while a job holds the cache: exit 75" "$rc" "75"
expect "cache gc while busy: one line" "$(wc -l <<<"$out")" "1"
expect_match "cache gc while busy: says so" "$out" 'in use by a running job: nothing was removed'
expect "cache gc while busy: nothing went" \
	"$(cache_cli list --json | jq '.entries | length')" "$(jq '.entries | length' <<<"$list")"
out=$(cache_cli gc --max-mb 0 --wait 2>&1)
expect "cache gc --wait: exit 0 once the holder let go" "$?" "0"
wait "$holder"
expect_match "cache gc names what it removed" "$out" "^removed trees/$BASE_TREE \("
expect_match "cache gc ends with a summary" "$out" '^removed [0-9]+ entries \(.*\) and 0 leftovers; 0 B left of 0 B'
expect "cache gc: the cache is empty" "$(cache_cli list --json | jq '.entries | length')" "0"
out=$(cache_cli gc 2>&1)
expect_match "cache gc on an empty cache: nothing to do" "$out" '^removed 0 entries'
out=$(cache_cli gc --max-mb lots 2>&1)
expect "cache gc --max-mb lots: usage, exit 64" "$?" "64"
expect_match "cache gc --max-mb lots: names the option" "$out" '^airlock: cache: --max-mb: expected'
out=$("$AIRLOCK" cache list --config "$TMP/nope.json" 2>&1)
expect "cache list with a missing config: exit 1" "$?" "1"
expect_match "cache list with a missing config: one line naming it" "$out" "^airlock: cache: .*nope.json"

# --- a cap of 0: the server evicts after each job, and jobs still run ------------------------
config 0
kill -HUP "$SERVER_PID"
wait_file "$DATA.log" 'event=config.reloaded' 30 || not_ok "the new cap is in force"
expect "with a cap of 0: a proposal still runs and is granted" \
	"$(submit three "$EX/fix.patch")" "0"
wait_file "$DATA.log" 'event=cache.evicted' 30 && ok "the server evicted after the job" ||
	not_ok "the server evicted after the job" "$(grep cache "$DATA.log" | tail -3)"
expect_match "/metrics: evictions counted" \
	"$(wait_metric airlock_cache_evictions_total trees '^[1-9]')" '^[1-9][0-9]*$'
expect "/metrics: no tree entries left" "$(wait_metric airlock_cache_entries trees '^0$')" "0"
expect "cache list: empty after the job" "$(cache_cli list --json | jq '.entries | length')" "0"
expect "nothing left half-removed" "$(find "$CACHE" -mindepth 2 -maxdepth 2 -name '.tmp-*' | wc -l)" "0"
expect "and the next job still runs (its checkouts written again)" \
	"$(submit four "$EX/bad/breaks-contract.patch")" "1"
expect_match "the next job's verdict is the contract's" "$(cat "$TMP/four.out")" \
	'^verdict: rejected: .*contract'

stop_server
expect "server stops cleanly" "$?" "0"
summary
