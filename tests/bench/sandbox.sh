#!/bin/bash
# Sandbox start-up cost and throughput, against bubblewrap measured in the same run.
#   - median and p90 wall time of `airlock sandbox -- /bin/true`, of bubblewrap with all
#     namespaces, and of plain /bin/true (hyperfine, N runs each, warm-up first);
#   - the same for runs spaced 50 ms apart (hyperfine's prepare sleeps; NS runs each), as
#     a gate's runs are: kernel locks that are cheap when hot may be dear when idle;
#   - sandboxes per second at parallelism 1, 2 and 4 for airlock and bubblewrap;
#   - memory per idle sandbox (MemAvailable drop with K sandboxes sleeping).
set -eu
cd "$(dirname "$0")/../.."
AIRLOCK=${AIRLOCK:-$PWD/airlock}
N=${N:-300}
TOTAL=${TOTAL:-400}
K=${K:-40}
NS=${NS:-100}
export DEBIAN_FRONTEND=noninteractive
need=""
command -v bwrap >/dev/null || need="$need bubblewrap"
command -v hyperfine >/dev/null || need="$need hyperfine"
if [ -n "$need" ]; then
	apt-get update -qq && apt-get install -y -qq $need >/dev/null
fi
TMP=$(mktemp -d /tmp/airlock-bench-sandbox.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

BWRAP=(bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/lib /lib
	--symlink usr/lib64 /lib64 --symlink usr/bin /bin --proc /proc --dev /dev --tmpfs /tmp)

# stats FILE: median and p90 in ms of hyperfine's JSON times
stats() {
	jq -r '.results[0].times | sort | [.[((length - 1) / 2 | floor)], .[((length * 0.9) | ceil) - 1]]
		| map(. * 1000) | "\(.[0]) \(.[1])"' "$1"
}

hyperfine -N -w 20 -r "$N" --export-json "$TMP/true.json" /bin/true >/dev/null 2>&1
hyperfine -N -w 20 -r "$N" --export-json "$TMP/bwrap.json" "${BWRAP[*]} /bin/true" >/dev/null 2>&1
hyperfine -N -w 20 -r "$N" --export-json "$TMP/airlock.json" "$AIRLOCK sandbox -- /bin/true" \
	>/dev/null 2>&1
# spaced: hyperfine times only the command, not its prepare step
spaced() { # spaced NAME CMD
	hyperfine -N -w 3 -r "$NS" --prepare 'sleep 0.05' --export-json "$TMP/$1-spaced.json" "$2" \
		>/dev/null 2>&1
}
spaced bwrap "${BWRAP[*]} /bin/true"
spaced airlock "$AIRLOCK sandbox -- /bin/true"
read -r t_med t_p90 < <(stats "$TMP/true.json")
read -r b_med b_p90 < <(stats "$TMP/bwrap.json")
read -r a_med a_p90 < <(stats "$TMP/airlock.json")
read -r bs_med bs_p90 < <(stats "$TMP/bwrap-spaced.json")
read -r as_med as_p90 < <(stats "$TMP/airlock-spaced.json")

line() { printf '  %-40s median %7.2f ms   p90 %7.2f ms\n' "$@"; }
ratio() { # ratio WHAT AIRLOCK BWRAP
	awk -v w="$1" -v a="$2" -v b="$3" \
		'BEGIN {printf "  ratio airlock/bubblewrap, %s (median): %.2f  (target <= 0.80)\n", w, a/b}'
}
echo "bench sandbox: $(nproc) cores, $(uname -r), hyperfine, median and p90"
echo "  back to back, $N runs each:"
line "/bin/true" "$t_med" "$t_p90"
line "bubblewrap --unshare-all" "$b_med" "$b_p90"
line "airlock sandbox -- /bin/true" "$a_med" "$a_p90"
echo "  spaced 50 ms apart, $NS runs each:"
line "bubblewrap --unshare-all" "$bs_med" "$bs_p90"
line "airlock sandbox -- /bin/true" "$as_med" "$as_p90"
ratio "back to back" "$a_med" "$b_med"
ratio "spaced 50 ms" "$as_med" "$bs_med"

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
