#!/bin/bash
# Sandbox start-up cost and throughput, against bubblewrap measured in the same run.
#   - median and p90 wall time of `airlock sandbox -- /bin/true`, of bubblewrap with all
#     namespaces, and of plain /bin/true (hyperfine -N);
#   - the same for runs spaced 50 ms apart (hyperfine's prepare sleeps), as a gate's runs
#     are: kernel locks that are cheap when hot may be dear when idle;
#   - sandboxes per second at parallelism 1, 2 and 4 for airlock and bubblewrap;
#   - memory per idle sandbox (MemAvailable drop with K sandboxes sleeping).
# The latencies are taken in ROUNDS rounds that alternate a block of each command (each
# block warmed up first, its own runs back to back or spaced), and pooled: a shared host's
# speed drifts by tens of percent over a minute, and one long block per command would
# compare two different machines. The spread of the per-round ratios is printed too.
set -eu
cd "$(dirname "$0")/../.."
AIRLOCK=${AIRLOCK:-$PWD/airlock}
N=${N:-300}
TOTAL=${TOTAL:-400}
K=${K:-40}
NS=${NS:-90}
ROUNDS=${ROUNDS:-15}
export DEBIAN_FRONTEND=noninteractive
need=""
command -v bwrap >/dev/null || need="$need bubblewrap"
command -v hyperfine >/dev/null || need="$need hyperfine"
command -v jq >/dev/null || need="$need jq"
if [ -n "$need" ]; then
	apt-get update -qq && apt-get install -y -qq $need >/dev/null
fi
TMP=$(mktemp -d /tmp/airlock-bench-sandbox.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

BWRAP=(bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/lib /lib
	--symlink usr/lib64 /lib64 --symlink usr/bin /bin --proc /proc --dev /dev --tmpfs /tmp)
B=$(((N + ROUNDS - 1) / ROUNDS))
BS=$(((NS + ROUNDS - 1) / ROUNDS))

# block NAME ROUND RUNS [hyperfine options] -- CMD: one block's times, in NAME-ROUND.json
block() {
	local name=$1 round=$2 runs=$3
	shift 3
	local opts=()
	while [ "$1" != "--" ]; do
		opts+=("$1")
		shift
	done
	shift
	hyperfine -N -r "$runs" "${opts[@]}" --export-json "$TMP/$name-$round.json" "$*" \
		>/dev/null 2>&1
}
# cpu_times: the host's "cpu" line of /proc/stat, all its fields summed and its steal
cpu_times() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $9}' /proc/stat; }
read -r total0 steal0 < <(cpu_times)
for round in $(seq "$ROUNDS"); do
	block true "$round" "$B" -w 3 -- /bin/true
	block bwrap "$round" "$B" -w 3 -- "${BWRAP[@]}" /bin/true
	block airlock "$round" "$B" -w 3 -- "$AIRLOCK" sandbox -- /bin/true
	# spaced: hyperfine times only the command, not its prepare step
	block bwrap-spaced "$round" "$BS" -w 1 --prepare 'sleep 0.05' -- "${BWRAP[@]}" /bin/true
	block airlock-spaced "$round" "$BS" -w 1 --prepare 'sleep 0.05' -- \
		"$AIRLOCK" sandbox -- /bin/true
done

read -r total1 steal1 < <(cpu_times)
# the share of this machine's time its hypervisor gave to others while the rounds ran
steal_pct=$(awk -v t=$((total1 - total0)) -v s=$((steal1 - steal0)) \
	'BEGIN {printf "%.1f", (t > 0 ? 100 * s / t : 0)}')

# stats NAME: median and p90 in ms of every round's times
stats() {
	jq -s -r '[.[].results[0].times[]] | sort
		| [.[((length - 1) / 2 | floor)], .[((length * 0.9) | ceil) - 1]]
		| map(. * 1000) | "\(.[0]) \(.[1])"' "$TMP/$1"-[0-9]*.json
}
# spread A B: min, median and max over the rounds of median(A) / median(B)
spread() {
	local round ratios=()
	for round in $(seq "$ROUNDS"); do
		ratios+=("$(jq -s -r 'map(.results[0].median) | .[0] / .[1]' \
			"$TMP/$1-$round.json" "$TMP/$2-$round.json")")
	done
	printf '%s\n' "${ratios[@]}" | sort -g |
		awk '{r[NR] = $1} END {printf "%.2f / %.2f / %.2f", r[1], r[int((NR + 1) / 2)], r[NR]}'
}
read -r t_med t_p90 < <(stats true)
read -r b_med b_p90 < <(stats bwrap)
read -r a_med a_p90 < <(stats airlock)
read -r bs_med bs_p90 < <(stats bwrap-spaced)
read -r as_med as_p90 < <(stats airlock-spaced)

line() { printf '  %-40s median %7.2f ms   p90 %7.2f ms\n' "$@"; }
ratio() { # ratio WHAT AIRLOCK BWRAP SPREAD
	awk -v w="$1" -v a="$2" -v b="$3" -v s="$4" 'BEGIN {printf "  ratio airlock/bubblewrap, %s (median): %.2f  (target <= 0.80; per round min/median/max %s)\n", w, a/b, s}'
}
echo "bench sandbox: $(nproc) cores, $(uname -r), hyperfine, median and p90 of $ROUNDS alternating rounds"
echo "  back to back, $B runs a block, $((B * ROUNDS)) runs each:"
line "/bin/true" "$t_med" "$t_p90"
line "bubblewrap --unshare-all" "$b_med" "$b_p90"
line "airlock sandbox -- /bin/true" "$a_med" "$a_p90"
echo "  spaced 50 ms apart, $BS runs a block, $((BS * ROUNDS)) runs each:"
line "bubblewrap --unshare-all" "$bs_med" "$bs_p90"
line "airlock sandbox -- /bin/true" "$as_med" "$as_p90"
ratio "back to back" "$a_med" "$b_med" "$(spread airlock bwrap)"
ratio "spaced 50 ms" "$as_med" "$bs_med" "$(spread airlock-spaced bwrap-spaced)"
echo "  host: ${steal_pct}% of the CPU time stolen by the hypervisor during the rounds" \
	"(/bin/true's median shows how busy it was otherwise)"

# throughput: TOTAL sandboxes, P at a time
rate() { # rate P CMD...
	local p=$1 t0 t1
	shift
	t0=$(date +%s%N)
	seq "$TOTAL" | xargs -P "$p" -I{} "$@" >/dev/null 2>&1
	t1=$(date +%s%N)
	awk -v n="$TOTAL" -v ns=$((t1 - t0)) 'BEGIN {printf "%.0f", n / (ns / 1e9)}'
}
echo "  sandboxes per second ($TOTAL each):"
for p in 1 2 4; do
	b=$(rate "$p" "${BWRAP[@]}" /bin/true)
	a=$(rate "$p" "$AIRLOCK" sandbox -- /bin/true)
	awk -v p="$p" -v a="$a" -v b="$b" \
		'BEGIN {printf "    parallelism %d: airlock %5d/s   bubblewrap %5d/s   ratio %.2f\n", p, a, b, a/b}'
done

# memory per idle sandbox: K sandboxes sleeping, MemAvailable before and during
idle_kb() { # idle_kb CMD...: kB per sandbox
	local before during pids=()
	sync
	before=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
	for _ in $(seq "$K"); do
		"$@" sleep 5 >/dev/null 2>&1 &
		pids+=($!)
	done
	sleep 1.5
	during=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	echo $(((before - during) / K))
}
a_kb=$(idle_kb "$AIRLOCK" sandbox --timeout 30 --)
b_kb=$(idle_kb "${BWRAP[@]}")
echo "  memory per idle sandbox ($K sleeping, MemAvailable drop): airlock ${a_kb} kB, bubblewrap ${b_kb} kB"
