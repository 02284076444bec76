#!/bin/bash
# Load on the real server, against a baseline measured in the same run:
#   - requests/s and p99 of GET /v1/proposals/{id} (a reviewer's status read of a judged
#     proposal) and of GET /healthz under wrk, median of ROUNDS runs; baseline: the same
#     wrk against tests/bench/load/baseline.c, a fixed-200 epoll server, one thread per core;
#   - a burst of BURST concurrent POST /v1/proposals: 202 accepted, 429 refused, anything
#     else, then the time until the queue drains and the drain rate;
#   - the server's RSS (airlock-core's VmRSS) before the load, after the reads, after the drain.
# Ends with the targets, met or not; only a server that does not start or fails is an error.
# Needs ./airlock and ./airlock-core (`make bench` builds them), wrk (deploy/deps.sh --test),
# cc, curl and jq. Everything listens on 127.0.0.1 only.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
BURST=${BURST:-200}
PARALLEL=${PARALLEL:-50}
WORKERS=${WORKERS:-2}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-900}
TARGET_RPS=20000
TARGET_RSS_MB=30

die() {
	echo "bench load: $*" >&2
	exit 1
}

for cmd in wrk cc curl jq git; do
	command -v "$cmd" >/dev/null || die "$cmd is missing (deploy/deps.sh --test installs wrk)"
done
if [ ! -x "$AIRLOCK" ] || [ ! -x "$(dirname "$AIRLOCK")/airlock-core" ]; then
	die "$AIRLOCK or airlock-core beside it is missing: run make first"
fi

TMP=$(mktemp -d /tmp/airlock-bench-load.XXXXXX)
BASE_PID=
cleanup() {
	if [ -n "$BASE_PID" ]; then
		kill "$BASE_PID" 2>/dev/null
		wait "$BASE_PID" 2>/dev/null
	fi
	stop_server || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
EX="$ROOT/examples/calc"
DATA="$TMP/data"
# Run a snapshot of the binaries: a rebuild elsewhere during the run would otherwise swap
# the runner the server spawns for each job (or catch it half-written).
mkdir "$TMP/bin"
cp "$AIRLOCK" "$(dirname "$AIRLOCK")/airlock-core" "$TMP/bin/" || die "cannot copy the binaries"
AIRLOCK=$TMP/bin/airlock

now_ms() { date +%s%3N; }
server_log() { echo "its log:"; tail -n 20 "$DATA.log"; }
alive() { kill -0 "$SERVER_PID" 2>/dev/null || die "the server died; $(server_log)"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
# get PATH: the body of a reviewer's GET, or nothing
get() { curl -sf --max-time 10 -H "Authorization: Bearer $REVIEWER" "$URL$1"; }

# --- set-up: the example repository, a config, an agent and a reviewer, the server -------
make_example_repo "$TMP/repo" || die "cannot make the example repository"
jq --arg path "$TMP/repo" --argjson w "$WORKERS" \
	'{workers: $w, repos: {example: {path: $path, policy: .repos.example.policy}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json" || die "cannot write the config"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name bench-agent --role agent) || die "token add"
REVIEWER=$("$AIRLOCK" token add --data "$DATA" --name bench-reviewer --role reviewer) ||
	die "token add"
start_server "$TMP/config.json" "$DATA" || die "the server did not start"
# `airlock serve` execs airlock-core in place: the pid started is the server's
SERVER_EXE=$(basename "$(readlink "/proc/$SERVER_PID/exe")")
[ "$SERVER_EXE" = airlock-core ] || echo "bench load: note: pid $SERVER_PID runs $SERVER_EXE" >&2

# --- one proposal to read, judged first so the read is the full view --------------------
jq -n --rawfile p "$EX/fix.patch" --rawfile t "$EX/test.patch" --arg id "$(cat "$EX/TEST_ID")" \
	'{repo: "example", base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id],
	  title: "calc: clamp values above the range to the top"}' >"$TMP/body.json"
code=$(curl -sS --max-time 30 -o "$TMP/post" -w '%{http_code}' -H "Authorization: Bearer $AGENT" \
	-H 'Content-Type: application/json' --data-binary "@$TMP/body.json" "$URL/v1/proposals")
[ "$code" = 202 ] || die "POST /v1/proposals answered $code: $(cat "$TMP/post")"
READ_ID=$(jq -r .id "$TMP/post")
state=queued
for _ in $(seq 1 240); do
	state=$(get "/v1/proposals/$READ_ID" | jq -r .state)
	case $state in queued | running | "") sleep 0.5 ;; *) break ;; esac
	alive
done
get "/v1/proposals/$READ_ID" >"$TMP/view.json" || die "GET /v1/proposals/$READ_ID failed"
VIEW_BYTES=$(wc -c <"$TMP/view.json")
RSS_BEFORE=$(rss_kb)

# --- the baseline ---------------------------------------------------------------------------
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -pthread -o "$TMP/baseline" \
	"$ROOT/tests/bench/load/baseline.c" || die "cannot build the baseline"
# port 0: the kernel picks one, and the baseline prints it once it listens
"$TMP/baseline" 0 >"$TMP/baseline.port" &
BASE_PID=$!
wait_file "$TMP/baseline.port" '^[0-9]+$' || die "the baseline did not start"
BPORT=$(cat "$TMP/baseline.port")
curl -sf "http://127.0.0.1:$BPORT/healthz" >/dev/null 2>&1 || die "the baseline does not answer"

# --- reads: wrk, ROUNDS rounds, the three targets interleaved ----------------------------
# run_wrk NAME URL [WRK ARGS]: one run; appends "req/s p99_ms non2xx socket_errors" to
# $TMP/NAME.runs
run_wrk() {
	local name=$1 url=$2 out
	shift 2
	out=$(timeout $((DURATION + 30)) wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" \
		--timeout 5s --latency "$@" "$url" 2>&1) || die "wrk failed on $url: $out"
	awk '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /m$/) return v * 60000
			if (v ~ /s$/) return v * 1000
			return v + 0
		}
		/^Requests\/sec:/ { rps = $2 }
		/^ +99%/ { p99 = ms($2) }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		/Socket errors:/ { gsub(/[^0-9 ]/, ""); for (i = 1; i <= NF; i++) sock += $i }
		END {
			if (rps == "" || p99 == "") exit 1
			printf "%.0f %.2f %d %d\n", rps, p99, bad, sock
		}' <<<"$out" >>"$TMP/$name.runs" || die "cannot read wrk's output: $out"
	alive
}
for _ in $(seq 1 "$ROUNDS"); do
	run_wrk read "$URL/v1/proposals/$READ_ID" -H "Authorization: Bearer $REVIEWER"
	run_wrk health "$URL/healthz"
	run_wrk base "http://127.0.0.1:$BPORT/healthz"
done
RSS_READS=$(rss_kb)
kill "$BASE_PID" 2>/dev/null
wait "$BASE_PID" 2>/dev/null
BASE_PID=

# median NAME COLUMN: the median (lower middle) of a column of $TMP/NAME.runs
median() {
	cut -d' ' -f"$2" "$TMP/$1.runs" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
# column NAME COLUMN: every run's figure, space-separated
column() { cut -d' ' -f"$2" "$TMP/$1.runs" | paste -sd' '; }
# total NAME COLUMN
total() { awk -v c="$2" '{s += $c} END {print s + 0}' "$TMP/$1.runs"; }

# --- burst: BURST submissions, PARALLEL at a time ------------------------------------------
log_before=$(wc -l <"$DATA.log")
t0=$(now_ms)
seq "$BURST" | xargs -P "$PARALLEL" -I{} curl -sS -o /dev/null --max-time 60 \
	-w '%{http_code} %header{retry-after}\n' -H "Authorization: Bearer $AGENT" \
	-H 'Content-Type: application/json' --data-binary "@$TMP/body.json" \
	"$URL/v1/proposals" >"$TMP/burst" 2>"$TMP/burst.err"
t_sent=$(($(now_ms) - t0))
alive
accepted=$(awk '$1 == 202' "$TMP/burst" | wc -l)
refused=$(awk '$1 == 429' "$TMP/burst" | wc -l)
retry_after=$(awk '$1 == 429 && $2 != ""' "$TMP/burst" | wc -l)
other=$(awk '$1 != 202 && $1 != 429' "$TMP/burst" | wc -l)
other_list=$(awk '$1 != 202 && $1 != 429 {print $1}' "$TMP/burst" | sort | uniq -c |
	awk '{printf "%s%s x%s", sep, $2, $1; sep = ", "}')

# the queue drains: nothing queued, nothing running
left=-1
drained=0
deadline=$((SECONDS + DRAIN_TIMEOUT))
while [ "$SECONDS" -lt "$deadline" ]; do
	q=$(get "/v1/proposals?state=queued" | jq '.proposals | length')
	r=$(get "/v1/proposals?state=running" | jq '.proposals | length')
	if [ -n "$q" ] && [ -n "$r" ]; then
		left=$((q + r))
		[ "$left" -eq 0 ] && drained=1 && break
	fi
	alive
	sleep 0.5
done
t_drain=$(($(now_ms) - t0))
RSS_DRAIN=$(rss_kb)
HWM=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status")
tail -n +$((log_before + 1)) "$DATA.log" | grep 'event=job.finished' >"$TMP/finished"
finished=$(wc -l <"$TMP/finished")
outcomes=$(sed -n 's/.* state=\([a-z_]*\).*/\1/p' "$TMP/finished" | sort | uniq -c |
	awk '{printf "%s%s %s", sep, $2, $1; sep = ", "}')
# why any did not get a grant, each distinct reason once
why_not=$(grep -v 'state=granted' "$TMP/finished" | sed -n 's/.* state=\([a-z_]*\) reason=/\1: /p' |
	sort | uniq -c | sort -rn | head -n 5 | sed 's/^ */      /')

# --- the report -----------------------------------------------------------------------------
read_rps=$(median read 1)
read_p99=$(median read 2)
health_rps=$(median health 1)
health_p99=$(median health 2)
base_rps=$(median base 1)
base_p99=$(median base 2)
echo "bench load: $(nproc) cores, wrk $THREADS threads x $CONNS connections, ${DURATION} s a run," \
	"median of $ROUNDS runs"
echo "  status read: proposal $READ_ID ($state), $VIEW_BYTES-byte body, reviewer bearer token"
row() { # row LABEL NAME
	printf '  %-34s %7d req/s   p99 %8.2f ms   runs: %s req/s' "$1" "$(median "$2" 1)" \
		"$(median "$2" 2)" "$(column "$2" 1)"
	[ "$(total "$2" 3)" -eq 0 ] || printf '   NON-2xx: %d' "$(total "$2" 3)"
	[ "$(total "$2" 4)" -eq 0 ] || printf '   socket errors: %d' "$(total "$2" 4)"
	echo
}
row "GET /v1/proposals/{id}" read
row "GET /healthz" health
row "baseline: epoll fixed 200 ($(nproc) thr)" base
awk -v r="$read_rps" -v h="$health_rps" -v b="$base_rps" -v rp="$read_p99" -v hp="$health_p99" \
	-v bp="$base_p99" 'BEGIN {
		f = "  ratio airlock/baseline: status read %.3fx req/s (p99 %.1fx),"
		printf f " healthz %.3fx req/s (p99 %.1fx)\n", r / b, rp / bp, h / b, hp / bp
	}'
printf '  burst: %d x POST /v1/proposals, %d at a time, all answered in %.1f s:\n' "$BURST" \
	"$PARALLEL" "$(awk -v t="$t_sent" 'BEGIN {print t / 1000}')"
printf '    %d accepted (202), %d refused (429, %d with Retry-After), %d other%s\n' "$accepted" \
	"$refused" "$retry_after" "$other" "${other_list:+ ($other_list)}"
[ -s "$TMP/burst.err" ] && sed 's/^/    curl: /' "$TMP/burst.err" | sort | uniq -c | head -n 5
if [ "$drained" -eq 1 ]; then
	awk -v t="$t_drain" -v n="$accepted" -v w="$WORKERS" 'BEGIN {
		f = "  drain: queue empty %.1f s after the burst began: %.2f proposals/s with %d workers\n"
		printf f, t / 1000, n / (t / 1000), w
	}'
else
	awk -v t="$t_drain" -v n="$finished" -v l="$left" -v w="$WORKERS" 'BEGIN {
		f = "  drain: NOT drained after %.0f s (%d queued or running left): %.2f proposals/s"
		printf f " with %d workers\n", t / 1000, l, n / (t / 1000), w
	}'
fi
echo "    outcomes of the burst: ${outcomes:-none finished}"
[ -n "$why_not" ] && echo "$why_not"
printf '  server RSS (%s, pid %d): before %s MB, after reads %s MB, after drain %s MB' \
	"$SERVER_EXE" "$SERVER_PID" "$(mb "$RSS_BEFORE")" "$(mb "$RSS_READS")" "$(mb "$RSS_DRAIN")"
printf ' (peak VmHWM %s MB)\n' "$(mb "$HWM")"
rss_max=$(printf '%s\n' "$RSS_BEFORE" "$RSS_READS" "$RSS_DRAIN" | sort -n | tail -n 1)
met() { if [ "$1" -eq 1 ]; then echo "met"; else echo "NOT MET"; fi; }
echo "  targets:"
printf '    status reads >= %d req/s: %d req/s (median): %s\n' "$TARGET_RPS" "$read_rps" \
	"$(met $((read_rps >= TARGET_RPS)))"
printf '    server RSS < %d MB: %s MB (highest of the three): %s\n' "$TARGET_RSS_MB" \
	"$(mb "$rss_max")" "$(met $((rss_max < TARGET_RSS_MB * 1024)))"

# a clean shutdown is part of the run: the server's own exit status on SIGTERM
stop_server || die "the server exited with status $? on SIGTERM; $(server_log)"
