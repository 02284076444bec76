#!/bin/bash
# Egress proxy cost, against direct curl to the same upstream on loopback, measured in the
# same run (tests/e2e/egress/upstream.py on 127.0.0.1, its own fixtures, nothing leaves the
# machine):
#   - throughput: REPS downloads of a 100 MiB body each way, interleaved, curl inside
#     `airlock sandbox --egress` (through the proxy, which ends and re-makes TLS) and curl
#     on the host; medians of curl's speed_download and their ratio (target >= 0.5);
#   - added latency per new TLS connection: N sequential requests, each on a new
#     connection (Connection: close), from ONE curl process in ONE sandbox run, so that
#     neither curl's start nor the sandbox's and the proxy's start (once per run) is in the
#     figure; ROUNDS such runs alternated with the same loop on the host; back to back and
#     spaced (curl --rate); medians of time_total each way and the difference (target
#     <= 5 ms).
# Both sides trust exactly one CA: the host curl the fixtures' test CA, the sandboxed curl
# the run CA, taken from the sandbox's bundle. Loading a whole system bundle costs curl
# tens of ms per connection whether a proxy is in the way or not; one line shows it.
# Misses are printed, not failed: the machine is shared and the figures are noisy.
# The scripts run in the sandbox are single-quoted on purpose: they expand there.
# shellcheck disable=SC2016
set -eu
cd "$(dirname "$0")/../.."
AIRLOCK=${AIRLOCK:-$PWD/${BIN:-airlock}}
REPS=${REPS:-5}
N=${N:-31}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-104857600}
RATE=${RATE:-20/s}
HERE=$PWD/tests/e2e/egress

if ! [ -x "$AIRLOCK" ] || ! [ -x "$(dirname "$AIRLOCK")/airlock-core" ]; then
	echo "bench egress: no $AIRLOCK and airlock-core beside it (make bench)" >&2
	exit 1
fi
TMP=$(mktemp -d /tmp/airlock-bench-egress.XXXXXX)
UP_PID=
cleanup() {
	[ -n "$UP_PID" ] && kill "$UP_PID" 2>/dev/null && wait "$UP_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
die() {
	echo "bench egress: $*" >&2
	exit 1
}

"$HERE/mkfixtures.sh" "$TMP/fx" >"$TMP/mk.log" 2>&1 || die "mkfixtures: $(tail -3 "$TMP/mk.log")"
python3 "$HERE/upstream.py" --dir "$TMP/fx" --cert server.pem --key server.key \
	--port-file "$TMP/port" --log "$TMP/up.log" &
UP_PID=$!
for _ in $(seq 1 100); do
	[ -s "$TMP/port" ] && break
	sleep 0.1
done
PORT=$(cat "$TMP/port" 2>/dev/null) || die "the upstream did not start"
jq -n --arg port "127.0.0.1:$PORT" --arg ca "$TMP/fx/ca.pem" \
	'{allow: ["up.test"], caps: {bytes: 68719476736, seconds: 600},
	  test: {resolve: {"up.test": $port}, upstream_ca: $ca}}' >"$TMP/egress.json"
cat /etc/ssl/certs/ca-certificates.crt "$TMP/fx/ca.pem" >"$TMP/bundle.pem"

# in_sandbox SCRIPT [ARG]...: runs sh -c SCRIPT through the proxy, with RUNCA holding the
# run CA alone (the last certificate of the sandbox's bundle)
in_sandbox() {
	local script=$1
	shift
	AIRLOCK_EGRESS_TEST=1 "$AIRLOCK" sandbox --egress "$TMP/egress.json" -- sh -c '
		RUNCA=/tmp/run-ca.pem
		awk "/BEGIN CERT/ {s = \"\"} {s = s \$0 \"\n\"} /END CERT/ {c = s} END {printf \"%s\", c}" \
			/etc/ssl/certs/ca-certificates.crt >"$RUNCA"
		'"$script" sh "$@"
}
direct() { curl -sS --resolve "up.test:$PORT:127.0.0.1" "$@"; }
median() { sort -g | awk '{a[NR] = $1} END {if (NR) print (a[int((NR + 1) / 2)] + a[int(NR / 2) + 1]) / 2}'; }

# ---- throughput ------------------------------------------------------------------------
URL_BIG="https://up.test/bytes?n=$SIZE"
: >"$TMP/tp.proxied"
: >"$TMP/tp.direct"
for _ in $(seq 1 "$REPS"); do
	in_sandbox 'curl -sS --cacert "$RUNCA" -o /dev/null -w "%{speed_download}\n" "$1"' \
		"$URL_BIG" >>"$TMP/tp.proxied" 2>"$TMP/err" || die "proxied download: $(cat "$TMP/err")"
	direct --cacert "$TMP/fx/ca.pem" -o /dev/null -w '%{speed_download}\n' \
		"https://up.test:$PORT/bytes?n=$SIZE" >>"$TMP/tp.direct" || die "direct download failed"
done
tp_p=$(median <"$TMP/tp.proxied")
tp_d=$(median <"$TMP/tp.direct")

# ---- latency per new connection --------------------------------------------------------
# one line per request: connections opened, time_appconnect, time_total
W='\nT %{num_connects} %{time_appconnect} %{time_total}\n'
LOOP='w=$1 ca=$2
	shift 2
	[ "$ca" = run ] && ca=$RUNCA
	curl -sS -H "Connection: close" --cacert "$ca" -w "$w" "$@" | sed -n "s/^T //p"'
lat() { # lat NAME ROUNDS CACERT_PROXIED CACERT_DIRECT [CURL_ARG]...: "run": the run CA alone
	local name=$1 rounds=$2 cap=$3 cad=$4 f
	shift 4
	: >"$TMP/$name.proxied"
	: >"$TMP/$name.direct"
	for _ in $(seq 1 "$rounds"); do # alternated, so that a change in load hits both
		in_sandbox "$LOOP" "$W" "$cap" "$@" "https://up.test/echo?i=[1-$N]" \
			>>"$TMP/$name.proxied" 2>"$TMP/err" || die "proxied requests: $(cat "$TMP/err")"
		direct -H 'Connection: close' -w "$W" --cacert "$cad" "$@" \
			"https://up.test:$PORT/echo?i=[1-$N]" | sed -n 's/^T //p' >>"$TMP/$name.direct"
	done
	for f in "$TMP/$name.proxied" "$TMP/$name.direct"; do
		[ "$(wc -l <"$f")" -eq $((N * rounds)) ] || die "$f: $(wc -l <"$f") answers"
		awk '$1 != 1 {exit 1}' "$f" || die "$f: a request reused a connection"
	done
}
lat b2b "$ROUNDS" run "$TMP/fx/ca.pem"
lat spaced "$ROUNDS" run "$TMP/fx/ca.pem" --rate "$RATE"
lat bundle 1 /etc/ssl/certs/ca-certificates.crt "$TMP/bundle.pem"
ms() { awk -v c="$2" '{print $c * 1000}' "$1" | median; }

echo "bench egress: baseline: direct curl to the same upstream on loopback, in the same run;"
echo "  $(nproc) cores, $(uname -r); re-run: make bench, or AIRLOCK=path/to/airlock $0"
echo "  (REPS=$REPS downloads each way; ROUNDS=$ROUNDS x N=$N connections each way)"
awk -v p="$tp_p" -v d="$tp_d" -v size="$SIZE" 'BEGIN {
	r = p / d
	printf "  throughput, %d MiB body, median of speed_download:\n", size / 1048576
	printf "    proxied %7.1f MiB/s   direct %7.1f MiB/s   ratio %.2f  (target >= 0.50: %s)\n",
		p / 1048576, d / 1048576, r, (r >= 0.5 ? "PASS" : "MISS")
}'
echo "  new TLS connection, one curl, median time_total (time_appconnect):"
for name in b2b spaced bundle; do
	case $name in
	b2b) label="back to back" ;;
	spaced) label="spaced $RATE" ;;
	bundle) label="system trust bundle" ;;
	esac
	awk -v l="$label" -v pt="$(ms "$TMP/$name.proxied" 3)" -v dt="$(ms "$TMP/$name.direct" 3)" \
		-v pa="$(ms "$TMP/$name.proxied" 2)" -v da="$(ms "$TMP/$name.direct" 2)" \
		-v judge="$([ "$name" = bundle ] && echo 0 || echo 1)" 'BEGIN {
		printf "    %-20s proxied %6.2f ms (%5.2f)   direct %6.2f ms (%5.2f)   added %5.2f ms",
			l, pt, pa, dt, da, pt - dt
		if (judge)
			printf "  (target <= 5: %s)", (pt - dt <= 5 ? "PASS" : "MISS")
		printf "\n"
	}'
done
