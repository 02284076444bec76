#!/bin/bash
# The probe suite: every program in tests/probes/ runs inside `airlock sandbox` (never bare
# on the host) and must report that its forbidden thing was blocked, and the run record
# must agree (status, signal, denied system calls, dropped output). The gate probe
# sandbox_up goes first: it runs once bare, where it must say "allowed" (the gate can
# fail), then in the sandbox, where it must say "blocked"; if not, nothing else runs.
# Every later run also starts with the gate inside, and only then execs its probe.
#
# Env: BUILD (default build) holds probes/; AIRLOCK (default ./airlock). Builds nothing.
# Output: "ok - NAME: ..." or "FAIL - NAME: ..." per probe, then
# "probes: N passed, M failed"; the exit status is non-zero on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
AIRLOCK=${AIRLOCK:-./airlock}
PROBES=$BUILD/probes
SANDBOX_UID=65534
IS_ROOT=
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
CAP_OUT=$((1 << 20)) # the sandbox's default per-stream output cap
ARCH=$(uname -m)

passed=0
failed=0
ok() {
	echo "ok - $1: $2"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL - $1: $2"
	failed=$((failed + 1))
}
die() {
	echo "probes: $*" >&2
	echo "probes: $passed passed, $((failed + 1)) failed"
	exit 1
}

[ -x "$AIRLOCK" ] || die "no airlock binary at $AIRLOCK (make airlock)"
[ -x "$PROBES/sandbox_up" ] || die "no probes in $PROBES (make probes)"
command -v jq >/dev/null || die "jq is needed to read run records"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/airlock-probes.XXXXXX") || die "mktemp failed"
# searchable by the sandbox user, so that only the sandbox keeps it from what lies below
chmod 0711 "$TMP"
LISTENER=
HOLDER=
cleanup() {
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- what the probes are compared against ----

# The host's namespaces, for sandbox_up.
NS_VARS=()
NS_ENV=()
for ns in user pid net mnt ipc uts cgroup; do
	ino=$(stat -Lc %i "/proc/self/ns/$ns") || die "cannot stat /proc/self/ns/$ns"
	NS_VARS+=("HOST_NS_${ns^^}=$ino")
	NS_ENV+=(--env "HOST_NS_${ns^^}=$ino")
done

# A secret every sandbox must miss: in airlock's environment, and as a file in a data dir
# that the sandbox user could read if it could see it (only the mount plan hides it).
SECRET=airlock-probe-$RANDOM$RANDOM$RANDOM
export AIRLOCK_PROBE_SECRET=$SECRET
if ! mkdir -p "$TMP/data" || ! echo "$SECRET" >"$TMP/data/signing.key" ||
	! chmod 0755 "$TMP/data" || ! chmod 0644 "$TMP/data/signing.key"; then
	die "cannot make the secret"
fi

# Listeners in the host's network namespace that log every connection and datagram:
# TCP and UDP on one port on loopback and the host's own addresses, and an abstract unix
# socket. perl-base is Essential on Debian; no netcat or socat needed.
HOST_IPS=$(hostname -I 2>/dev/null)
ABSTRACT=airlock-probe-$$-$RANDOM
# shellcheck disable=SC2016
LISTEN_PL='
use strict; use warnings; use Socket qw(:all); use IO::Handle;
my ($parent, $log, $abstract, @addrs) = @ARGV;
open(my $L, ">>", $log) or die "$log: $!"; $L->autoflush(1);
alarm 600;
my ($port, @socks) = (0);
sub listen_on {
	my ($type, $addr) = @_;
	my $v6 = $addr =~ /:/;
	my $a = inet_pton($v6 ? AF_INET6 : AF_INET, $addr) or return;
	socket(my $s, $v6 ? AF_INET6 : AF_INET, $type, 0) or return;
	setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
	setsockopt($s, IPPROTO_IPV6, IPV6_V6ONLY, 1) if $v6;
	bind($s, $v6 ? pack_sockaddr_in6($port, $a) : pack_sockaddr_in($port, $a)) or return;
	listen($s, 16) if $type == SOCK_STREAM;
	($port) = $v6 ? unpack_sockaddr_in6(getsockname($s)) : unpack_sockaddr_in(getsockname($s));
	my $what = ($type == SOCK_STREAM ? "tcp " : "udp ") . $addr;
	push @socks, [$s, $what];
	print $L "listen $what\n";
}
listen_on(SOCK_STREAM, "127.0.0.1") or die "tcp 127.0.0.1: $!";
listen_on(SOCK_STREAM, $_) for ("::1", @addrs);
listen_on(SOCK_DGRAM, $_) for ("127.0.0.1", "::1", @addrs);
socket(my $u, AF_UNIX, SOCK_STREAM, 0) or die "unix: $!";
bind($u, pack_sockaddr_un("\0$abstract")) or die "abstract: $!";
listen($u, 16);
push @socks, [$u, "unix \@$abstract"];
print $L "ready port=$port\n";
for (;;) {
	my $rin = "";
	vec($rin, fileno($_->[0]), 1) = 1 for @socks;
	# gone with the harness, even when it could not clean up
	exit 0 if getppid() != $parent;
	select(my $rout = $rin, undef, undef, 1) > 0 or next;
	for my $e (@socks) {
		next unless vec($rout, fileno($e->[0]), 1);
		if ($e->[1] =~ /^udp/) { recv($e->[0], my $buf, 2048, 0); }
		else { my $c; accept($c, $e->[0]) and close($c); }
		print $L "hit $e->[1]\n";
	}
}'
LOG=$TMP/listener.log
: >"$LOG"
# shellcheck disable=SC2086
perl -e "$LISTEN_PL" $$ "$LOG" "$ABSTRACT" $HOST_IPS 2>"$TMP/listener.err" &
LISTENER=$!
for _ in $(seq 100); do
	grep -q '^ready' "$LOG" && break
	kill -0 "$LISTENER" 2>/dev/null || break
	sleep 0.05
done
PORT=$(sed -n 's/^ready port=//p' "$LOG")
[ -n "$PORT" ] || die "host listener did not start: $(cat "$TMP/listener.err")"
# Host addresses with a TCP listener on them; the probes get exactly these.
BOUND_IPS=$(sed -n 's/^listen tcp //p' "$LOG" | grep -vxE '127\.0\.0\.1|::1' | tr '\n' ' ')
LOOP6=$(sed -n 's/^listen tcp \(::1\)$/\1/p' "$LOG")

hits() { grep -c '^hit' "$LOG"; }

# The controls: from the host, every listener is reachable and every hit is logged, so a
# probe's "blocked" cannot come from a listener that was never there.
listener_controls() {
	local ip want=0 have
	for ip in 127.0.0.1 $LOOP6 $BOUND_IPS; do
		(exec 3<>"/dev/tcp/$ip/$PORT") 2>/dev/null || return 1
		want=$((want + 1))
	done
	echo control >"/dev/udp/127.0.0.1/$PORT" || return 1
	perl -MSocket -e 'socket(my $s, AF_UNIX, SOCK_STREAM, 0) or exit 1;
		connect($s, pack_sockaddr_un("\0$ARGV[0]")) or exit 1' "$ABSTRACT" || return 1
	want=$((want + 2))
	for _ in $(seq 100); do
		have=$(hits)
		[ "$have" -ge "$want" ] && return 0
		sleep 0.02
	done
	return 1
}
if listener_controls; then
	msg="reachable from the host: tcp port $PORT on 127.0.0.1 ${LOOP6:+$LOOP6 }${BOUND_IPS}"
	ok listeners "${msg}udp 127.0.0.1, @$ABSTRACT"
else
	fail listeners "the host could not reach its own listeners: $(tr '\n' ' ' <"$LOG")"
fi

# Processes on the host whose argv[0] and argv[1] are exactly $1 and $2 (a probe and its
# forks). bash builtins only, so the scan never finds itself.
count_procs() {
	local f n=0 args
	for f in /proc/[0-9]*/cmdline; do
		mapfile -d '' -t args 2>/dev/null <"$f" || continue
		[ "${#args[@]}" -ge 2 ] && [ "${args[0]}" = "$1" ] && [ "${args[1]}" = "$2" ] &&
			n=$((n + 1))
	done
	echo "$n"
}

# ---- one run ----

# A fresh host-side directory for a probe: work/ (the workspace, owned by the sandbox
# user, holding only the gate and the probe) beside the files only the harness writes.
prepare() {
	local name=$1 dir=$TMP/$1
	mkdir -p "$dir/work" || return 1
	if [ "$name" = sandbox_up ]; then
		cp "$PROBES/sandbox_up" "$dir/work/" || return 1
	else
		cp "$PROBES/sandbox_up" "$PROBES/$name" "$dir/work/" || return 1
	fi
	if [ "$IS_ROOT" ]; then
		# a file host root owns, for rootuid
		echo root >"$dir/work/rootfile" || return 1
		chown "$SANDBOX_UID:$SANDBOX_UID" "$dir/work" "$dir/work/sandbox_up" "$dir/work/$name"
	fi
}

# Runs probe $1 in its prepared directory with extra sandbox options OPTS and probe
# arguments ARGS; fills RC, OUT (its stdout), ERR, REC (the record file). With $2 = bg it
# starts the run in the background and sets RUN_PID instead.
GATE='/work/sandbox_up >&2 || exit 3; exec "$@"'
sandbox() {
	local name=$1 dir=$TMP/$1 mode=${2:-}
	REC=$dir/rec.json
	set -- "$AIRLOCK" sandbox --record "$REC" --workdir "$dir/work" "${NS_ENV[@]}" "${OPTS[@]}" \
		-- /bin/sh -c "$GATE" sh "/work/$name" "${ARGS[@]}"
	# fd 9 on a host file tempts the sandbox to inherit it (fdleak)
	if [ "$mode" = bg ]; then
		"$@" </dev/null >"$dir/out" 2>"$dir/err" 9<"$TMP/data/signing.key" &
		RUN_PID=$!
		return
	fi
	"$@" </dev/null >"$dir/out" 2>"$dir/err" 9<"$TMP/data/signing.key"
	RC=$?
}
finish() { # after a run: OUT and ERR, the ends of what it printed, and its line
	local dir=$TMP/$1
	OUT=$(tail -c 4096 "$dir/out" | tr -d '\0')
	ERR=$(tail -c 1024 "$dir/err" | tr -d '\0')
	ERR=${ERR//$'\n'/ }
	line=
	[[ $OUT =~ (probe=$1 [^$'\n']*) ]] && line=${BASH_REMATCH[1]}
}
# The record, read once into R: top-level scalars by name, denials as R[denied.CALL].
load_record() {
	local k v
	R=()
	while IFS=$'\t' read -r k v; do
		R[$k]=$v
	done < <(jq -r '(to_entries[] | select(.value | type != "array" and type != "object")
		| "\(.key)\t\(.value)"), (.denied[]? | "denied.\(.syscall)\t\(.count)")' \
		"$REC" 2>/dev/null)
}
declare -A R

# ---- the gate ----

if out=$(env "${NS_VARS[@]}" "$PROBES/sandbox_up" 2>&1) ||
	! grep -q 'probe=sandbox_up result=allowed' <<<"$out"; then
	die "the gate probe does not fail on the host, so it proves nothing: $out"
fi
ok sandbox_up/host "bare on the host it fails as it should ($out)"
OPTS=() ARGS=()
prepare sandbox_up || die "cannot prepare the gate run"
set -- "$AIRLOCK" sandbox --record "$TMP/sandbox_up/rec.json" --workdir "$TMP/sandbox_up/work" \
	"${NS_ENV[@]}" -- /work/sandbox_up
"$@" >"$TMP/sandbox_up/out" 2>"$TMP/sandbox_up/err"
RC=$?
REC=$TMP/sandbox_up/rec.json
finish sandbox_up
load_record
if [ $RC -ne 0 ] || [[ $OUT != *"probe=sandbox_up result=blocked"* ]] ||
	[ "${R[status]:-}" != OK ]; then
	fail sandbox_up "the sandbox is not up (exit $RC, record ${R[status]:-}): $OUT $ERR"
	echo "probes: the sandbox check failed; no other probe runs"
	echo "probes: $passed passed, $failed failed"
	exit 1
fi
ok sandbox_up "$OUT"

# ---- what each probe needs and what its run must show ----

# Sets OPTS, ARGS, LINE (its stdout must contain it), STATUS and EXIT (the record's
# status and airlock's exit code), SIGNALS (allowed record signals, for SG), DENIED
# (calls the record's denied list must hold) and CHECK (a further check function).
plan() {
	OPTS=(--timeout 10)
	ARGS=()
	LINE="probe=$1 result=blocked"
	STATUS=OK EXIT=0 SIGNALS=0 CHECK=
	DENIED=()
	case $1 in
	keyctl) DENIED=(keyctl add_key) ;;
	io_uring) DENIED=(io_uring_setup) ;;
	bpf) DENIED=(bpf) ;;
	perf) DENIED=(perf_event_open) ;;
	mount) DENIED=(mount) ;;
	unshare) DENIED=(unshare) ;;
	ptrace | ptrace_sibling) DENIED=(ptrace process_vm_readv) ;;
	syscalls) DENIED=(ptrace keyctl bpf mount reboot kexec_load init_module) ;;
	netlink | packet | vsock) DENIED=(socket) ;;
	tiocsti) DENIED=(ioctl) ;;
	readhost) OPTS+=(--env "PROBE_SECRET_PATH=$TMP/data/signing.key") ;;
	hostpids | killhost) OPTS+=(--env "PROBE_HOST_PID=$$") ;;
	udp)
		OPTS+=(--env "PROBE_UDP_PORT=$PORT" --env "PROBE_HOST_IP=$BOUND_IPS")
		CHECK=check_no_hits
		;;
	tcp_host)
		OPTS+=(--env "PROBE_TCP_PORT=$PORT" --env "PROBE_HOST_IP=$BOUND_IPS")
		CHECK=check_no_hits
		;;
	abstract)
		OPTS+=(--env "PROBE_ABSTRACT=$ABSTRACT")
		CHECK=check_no_hits
		;;
	otherws) CHECK=check_otherws ;;
	forkbomb)
		OPTS=(--timeout 20 --pids 64)
		CHECK=check_forkbomb
		;;
	membomb)
		OPTS=(--timeout 20 --memory 64M)
		LINE="probe=membomb result=allocating" STATUS=OOM EXIT=137 SIGNALS=9
		;;
	tmpfill) OPTS+=(--tmp-size 8M --env PROBE_TMP_CAP=$((8 << 20))) ;;
	timeout)
		OPTS=(--timeout 1)
		LINE="probe=timeout result=sleeping" STATUS=TO EXIT=137 SIGNALS=9 CHECK=check_prompt
		;;
	flood)
		LINE="probe=flood result=flooded" CHECK=check_flood
		;;
	daemon)
		ARGS=("al-daemon-$$-$RANDOM")
		LINE="probe=daemon result=spawned" CHECK=check_survivors
		;;
	orphan)
		OPTS=(--timeout 1.5)
		ARGS=("al-orphan-$$-$RANDOM")
		LINE="probe=orphan result=spawned" STATUS=TO EXIT=137 SIGNALS=9 CHECK=check_survivors
		;;
	int80)
		# SIGSYS from the filter; SIGSEGV where the kernel has no i386 gate at all.
		# Elsewhere than x86_64 the probe has nothing to try and says "blocked".
		[ "$ARCH" = x86_64 ] &&
			LINE="probe=int80 result=calling" STATUS=SG EXIT="159|139" SIGNALS="31|11"
		;;
	x32) [ "$ARCH" = x86_64 ] && LINE="probe=x32 result=calling" STATUS=SG EXIT=159 SIGNALS=31 ;;
	esac
}

# ---- further checks, run in this shell; each sets WHY when it fails ----

check_no_hits() {
	local now
	now=$(hits)
	[ "$now" -eq "$HITS_BEFORE" ] && return
	WHY="the host listener was reached: "
	WHY+=$(grep '^hit' "$LOG" | tail -n $((now - HITS_BEFORE)) | tr '\n' ' ')
}

check_forkbomb() {
	local n
	n=$(sed -n 's/.*probe=forkbomb .*children=\([0-9]*\).*/\1/p' <<<"$OUT")
	[ -n "$n" ] && [ "$n" -lt 64 ] && return
	WHY="children=$n, the pids cap is 64"
}

check_prompt() {
	local wall killed
	wall=${R[wall_ms]:-} killed=${R[killed]:-}
	[ "$killed" = true ] && [ "$wall" -ge 1000 ] && [ "$wall" -lt 4000 ] && return
	WHY="killed=$killed wall_ms=$wall for a 1 s timeout"
}

check_flood() {
	local od ed ob eb wall size
	od=${R[stdout_dropped]:-} ed=${R[stderr_dropped]:-} ob=${R[stdout_bytes]:-}
	eb=${R[stderr_bytes]:-} wall=${R[wall_ms]:-}
	size=$(stat -c %s "$TMP/flood/out")
	if [ "$od" -gt 0 ] && [ "$ed" -gt 0 ] && [ "$ob" -le $((CAP_OUT + 64)) ] &&
		[ "$eb" -le $((CAP_OUT + 64)) ] && [ "$size" -le $((CAP_OUT + 64)) ] &&
		[ "$wall" -lt 10000 ]; then
		return
	fi
	WHY="stdout_dropped=$od stderr_dropped=$ed stdout_bytes=$ob stderr_bytes=$eb"
	WHY+=" printed=$size wall_ms=$wall"
}

# The probe's processes were seen on the host while it ran, and none is left after.
check_survivors() {
	local left
	left=$(count_procs "/work/$NAME" "${ARGS[0]}")
	if [ "$SEEN" -lt 2 ]; then
		WHY="the harness never saw the probe and its offspring running (seen=$SEEN)"
	elif [ "$left" -ne 0 ]; then
		WHY="$left process(es) with marker ${ARGS[0]} outlived the run"
	fi
}

# otherws runs while a second sandbox holds its own workspace and /tmp.
start_holder() {
	local marker=$1 w=$TMP/otherws-holder
	mkdir -p "$w/work" && cp "$PROBES/otherws" "$w/work/" && echo "$SECRET" >"$w/work/secret.txt" ||
		return 1
	chmod 0644 "$w/work/secret.txt"
	[ "$IS_ROOT" ] && chown -R "$SANDBOX_UID:$SANDBOX_UID" "$w/work"
	"$AIRLOCK" sandbox --timeout 30 --record "$w/rec.json" --workdir "$w/work" \
		-- /work/otherws hold "$marker" >"$w/out" 2>"$w/err" &
	HOLDER=$!
	for _ in $(seq 250); do
		[ -e "$w/work/ready" ] && return 0
		kill -0 "$HOLDER" 2>/dev/null || break
		sleep 0.02
	done
	return 1
}
check_otherws() {
	local w=$TMP/otherws-holder
	touch "$w/work/stop"
	wait "$HOLDER"
	local rc=$?
	HOLDER=
	if [ $rc -ne 0 ] || ! grep -q 'probe=otherws result=held' "$w/out"; then
		WHY="the holder sandbox did not run through (exit $rc): $(cat "$w/out" "$w/err")"
	fi
}

# ---- every probe ----

for src in tests/probes/*.c; do
	NAME=${src##*/}
	NAME=${NAME%.c}
	[ "$NAME" = sandbox_up ] && continue
	if [ ! -x "$PROBES/$NAME" ]; then
		fail "$NAME" "not built ($PROBES/$NAME): make probes"
		continue
	fi
	plan "$NAME"
	if ! prepare "$NAME"; then
		fail "$NAME" "cannot prepare its workspace"
		continue
	fi
	if [ "$NAME" = otherws ]; then
		marker=al-otherws-$$-$RANDOM
		if ! start_holder "$marker"; then
			fail "$NAME" "the holder sandbox did not come up: $(cat "$TMP/otherws-holder/err")"
			continue
		fi
		OPTS+=(--env "PROBE_OTHER_WS=$TMP/otherws-holder/work" --env "PROBE_OTHER_MARKER=$marker")
	fi
	[ "$CHECK" = check_no_hits ] && HITS_BEFORE=$(hits)
	SEEN=0
	if [ "$CHECK" = check_survivors ]; then
		# watch the host while it runs: the probe and its offspring must show up
		sandbox "$NAME" bg
		while kill -0 "$RUN_PID" 2>/dev/null; do
			n=$(count_procs "/work/$NAME" "${ARGS[0]}")
			[ "$n" -gt "$SEEN" ] && SEEN=$n
			sleep 0.02
		done
		wait "$RUN_PID"
		RC=$?
	else
		sandbox "$NAME"
	fi
	finish "$NAME"
	load_record
	WHY=
	if [ "$RC" -eq 3 ]; then
		WHY="the in-sandbox gate failed, the probe did not run: $ERR"
	elif [ -z "${R[status]:-}" ]; then
		WHY="no run record (exit $RC): $ERR"
	elif [[ $OUT != *"$LINE"* ]]; then
		WHY="wanted '$LINE', got '${line:-$(tail -c 200 <<<"$OUT")}' (exit $RC) $ERR"
	elif [ "${R[status]:-}" != "$STATUS" ]; then
		WHY="record status ${R[status]:-}, want $STATUS (exit $RC, signal ${R[signal]:-}) $ERR"
	elif ! [[ "$RC" =~ ^($EXIT)$ ]]; then
		WHY="airlock exited $RC, want $EXIT"
	elif ! [[ "${R[signal]:-}" =~ ^($SIGNALS)$ ]]; then
		WHY="record signal ${R[signal]:-}, want $SIGNALS"
	elif grep -qaF -- "$SECRET" "$TMP/$NAME/out" "$TMP/$NAME/err"; then
		WHY="the host's secret appeared in the probe's output"
	else
		for call in "${DENIED[@]}"; do
			if [ "${R[denied.$call]:-}" = "" ]; then
				WHY="the record's denied list lacks $call: $(jq -c .denied "$REC")"
				break
			fi
		done
	fi
	[ -n "$CHECK" ] && [ -z "$WHY" ] && $CHECK
	# the holder sandbox stops whatever happened; the first reason stays
	if [ -n "$HOLDER" ]; then
		first=$WHY
		check_otherws
		WHY=${first:-$WHY}
	fi
	if [ -n "$WHY" ]; then
		fail "$NAME" "$WHY"
	else
		ok "$NAME" "${line:-$LINE} [${R[status]} exit=$RC signal=${R[signal]:-} ${R[wall_ms]:-}ms]"
	fi
done

echo "probes: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
