#!/bin/bash
# Submit-to-verdict latency of the example proposal through the real server, 10 runs,
# against a bare baseline measured in the same run: the same checkout and the same three
# gate commands run directly (git worktree + sh), with no server, runner or sandbox.
# Prints median and p90 of each and their ratio.
set -eu
. "$(dirname "$0")/../e2e/lib.sh"
RUNS=${RUNS:-10}
TMP=$(mktemp -d /tmp/airlock-bench.XXXXXX)
cleanup() { stop_server || true; rm -rf "$TMP"; }
trap cleanup EXIT
EX="$ROOT/examples/calc"
ID=$(cat "$EX/TEST_ID")

now_ms() { date +%s%3N; }
stats() { # prints "median p90" of the numbers on stdin (nearest-rank)
	sort -n | awk '{a[NR]=$1} END {m=int((NR+1)/2); p=int(NR*0.9+0.999); if (p<1) p=1;
		printf "%d %d\n", a[m], a[p]}'
}

make_example_repo "$TMP/repo"
jq --arg path "$TMP/repo" '{repos: {example: {path: $path, policy: .repos.example.policy}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
TOKEN=$("$AIRLOCK" token add --data "$TMP/data" --name bench --role agent)
start_server "$TMP/config.json" "$TMP/data"

: >"$TMP/airlock.ms"
for i in $(seq 1 "$RUNS"); do
	t0=$(now_ms)
	"$AIRLOCK" submit --server "$URL" --token "$TOKEN" --repo example --base main \
		--test-patch "$EX/test.patch" --patch "$EX/fix.patch" --fail-to-pass "$ID" --wait \
		--out "$TMP/grant.$i" >"$TMP/submit.$i" 2>&1 || { cat "$TMP/submit.$i"; exit 1; }
	echo $(($(now_ms) - t0)) >>"$TMP/airlock.ms"
done

mapfile -t REPRO < <(jq -r '.repos.example.policy.reproduce.command[]' "$ROOT/examples/airlock.json")
mapfile -t CONTRACT < <(jq -r '.repos.example.policy.contract[0].command[]' "$ROOT/examples/airlock.json")
: >"$TMP/bare.ms"
for i in $(seq 1 "$RUNS"); do
	t0=$(now_ms)
	git -C "$TMP/repo" worktree add -q --detach "$TMP/b$i" main
	git -C "$TMP/b$i" apply "$EX/test.patch"
	cp -a "$TMP/b$i" "$TMP/c$i"
	git -C "$TMP/c$i" apply "$EX/fix.patch"
	(cd "$TMP/b$i" && ! "${REPRO[@]}" "$ID" >/dev/null 2>&1)
	(cd "$TMP/c$i" && "${REPRO[@]}" "$ID" >/dev/null 2>&1)
	(cd "$TMP/c$i" && "${CONTRACT[@]}" >/dev/null 2>&1)
	echo $(($(now_ms) - t0)) >>"$TMP/bare.ms"
done

read -r a_med a_p90 < <(stats <"$TMP/airlock.ms")
read -r b_med b_p90 < <(stats <"$TMP/bare.ms")
echo "bench e2e: submit-to-verdict of the example, $RUNS runs each, $(nproc) cores"
printf '  %-44s median %5d ms   p90 %5d ms\n' "airlock (server + runner + sandboxes + sign)" "$a_med" "$a_p90"
printf '  %-44s median %5d ms   p90 %5d ms\n' "baseline: bare checkout + same commands" "$b_med" "$b_p90"
awk -v a="$a_med" -v b="$b_med" -v c="$a_p90" -v d="$b_p90" \
	'BEGIN {printf "  ratio airlock/baseline: median %.2fx, p90 %.2fx\n", a/b, c/d}'
