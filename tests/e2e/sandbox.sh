#!/bin/bash
# End-to-end: `airlock sandbox` and `airlock doctor` as a user runs them, and `airlock
# serve` refusing to run gates where isolation cannot be set up.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-sandbox.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
SB=("$AIRLOCK" sandbox)
owner=65534
[ "$(id -u)" -eq 0 ] || owner=$(id -u)

out=$("${SB[@]}" -- sh -c 'echo hi; echo err >&2; exit 3' 2>"$TMP/err")
expect "exit status is the command's" "$?" "3"
expect "stdout passes through" "$out" "hi"
expect "stderr passes through" "$(cat "$TMP/err")" "err"
"${SB[@]}" -- sh -c 'kill -SEGV $$' >/dev/null 2>&1
expect "death by signal is 128+signal" "$?" "139"
"${SB[@]}" -- airlock-no-such-command >/dev/null 2>&1
expect "a missing command is 127" "$?" "127"

"${SB[@]}" --record "$TMP/ok.json" -- sh -c 'printf abc' >/dev/null
expect "record: status OK" "$(jq -r .status "$TMP/ok.json")" "OK"
expect "record: stdout bytes" "$(jq -r .stdout_bytes "$TMP/ok.json")" "3"
expect_match "record: times and memory" "$(jq -c '[.wall_ms, .cpu_ms, .max_rss_kb] | map(type)' "$TMP/ok.json")" \
	'^\["number","number","number"\]$'
expect "record: nothing denied" "$(jq -c .denied "$TMP/ok.json")" "[]"

# the sleepers' durations end in this script's pid: another run's sleepers are not counted
S=$$
t0=$(date +%s%3N)
"${SB[@]}" --timeout 0.5 --record "$TMP/to.json" -- \
	sh -c "sleep 30.$S & setsid sleep 31.$S & sleep 32.$S" >/dev/null 2>&1
rc=$?
t1=$(date +%s%3N)
expect "timeout: exit 137" "$rc" "137"
expect "timeout: record TO and killed" "$(jq -c '[.status, .killed]' "$TMP/to.json")" '["TO",true]'
[ $((t1 - t0)) -lt 3000 ] && ok "timeout: returns promptly ($((t1 - t0)) ms)" || not_ok "timeout: returns promptly" "$((t1 - t0)) ms"
expect "timeout: no sleeper survives" "$(pgrep -fc "^sleep 3[12]\\.$S\$" || true)" "0"

"${SB[@]}" --memory 32M --record "$TMP/oom.json" -- sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo ${#x}' >/dev/null 2>&1
expect "memory cap: exit 137" "$?" "137"
expect "memory cap: record OOM" "$(jq -r .status "$TMP/oom.json")" "OOM"
out=$("${SB[@]}" --pids 8 -- sh -c "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 3.$S & done; echo all-started" 2>&1)
rc=$?
[ $rc -ne 0 ] && ok "pids cap: twelve children are refused (exit $rc)" || not_ok "pids cap: twelve children are refused" "exit 0"
expect_match "pids cap: the shell could not fork" "$out" 'Cannot fork'
expect "pids cap: no sleeper survives" "$(pgrep -fc "^sleep 3\\.$S\$" || true)" "0"
# A group that will not take the sandbox fails the run before the command exists: here a
# real-time caller, which a fresh v1 cpu group (no real-time runtime) refuses.
if [ "$(id -u)" -eq 0 ] && command -v chrt >/dev/null && [ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ]; then
	mkdir -p "$TMP/rt"
	chown "$owner:$owner" "$TMP/rt"
	out=$(chrt -f 1 "${SB[@]}" --workdir "$TMP/rt" -- sh -c 'echo ran > ran' 2>&1)
	expect "refused cgroup: sandbox failure exit 125" "$?" "125"
	expect_match "refused cgroup: names the group" "$out" \
		'^airlock: sandbox: sandbox setup: joining cgroup /.*/airlock-run-[0-9-]*: Invalid argument$'
	expect "refused cgroup: the command never ran" "$(ls -A "$TMP/rt")" ""
fi
out=$("${SB[@]}" --tmp-size 1M -- sh -c 'head -c 2000000 /dev/zero > /tmp/f; echo $?' 2>/dev/null)
expect "tmp cap (--tmp-size, the old name): writing past it fails" "$out" "1"
out=$("${SB[@]}" --disk-size 2M --record "$TMP/disk.json" -- sh -c 'head -c 1500000 /dev/zero > /tmp/f; head -c 1500000 /dev/zero > /work/g' 2>&1)
expect "disk cap: /tmp and /work share it, past it ENOSPC (exit 1)" "$?" "1"
expect_match "disk cap: the command saw ENOSPC" "$out" 'No space left on device'
expect "disk cap: record DISK" "$(jq -r .status "$TMP/disk.json")" "DISK"

mkdir -p "$TMP/w" "$TMP/ro"
chown "$owner:$owner" "$TMP/w"
echo data >"$TMP/ro/f"
"${SB[@]}" --workdir "$TMP/w" -- sh -c 'pwd > where; echo made > made' >/dev/null
expect "workdir: is /work inside" "$(cat "$TMP/w/where")" "/work"
expect "workdir: writes reach the host" "$(cat "$TMP/w/made")" "made"
out=$("${SB[@]}" --workdir "$TMP/w" --overlay --disk-size 1M -- sh -c 'cat made; echo changed > made; rm where; echo new > new; ls; head -c 2000000 /dev/zero > big; echo $?' 2>/dev/null)
expect "workdir --overlay: the command sees its changes" "$out" "$(printf 'made\nmade\nnew\n1')"
expect "workdir --overlay: none reach the host" "$(cat "$TMP/w/made"; ls "$TMP/w")" "$(printf 'made\nmade\nwhere')"
out=$("${SB[@]}" --ro-bind "$TMP/ro:/data" -- sh -c 'cat /data/f; touch /data/g 2>/dev/null && echo wrote || echo refused')
expect "ro-bind: readable, not writable" "$out" "$(printf 'data\nrefused')"
[ -e "$TMP/ro/g" ] && not_ok "ro-bind: nothing written" || ok "ro-bind: nothing written"
out=$(AIRLOCK_E2E_SECRET=s3cret "${SB[@]}" --env FOO=bar -- sh -c 'echo "$FOO:${AIRLOCK_E2E_SECRET:-absent}"')
expect "env: --env passes, the caller's environment does not" "$out" "bar:absent"

"${SB[@]}" --env 1BAD=x -- true 2>/dev/null
expect "bad --env: usage error 64" "$?" "64"
"${SB[@]}" --memory lots -- true 2>/dev/null
expect "bad --memory: usage error 64" "$?" "64"
"${SB[@]}" --bind relative:/x -- true 2>/dev/null
expect "relative bind: usage error 64" "$?" "64"
"${SB[@]}" 2>/dev/null
expect "no command: usage error 64" "$?" "64"

# The front runs a plain sandbox itself and hands what needs JSON (--record, --egress,
# --allow-host) to airlock-core beside it: alone in a directory, it still runs the one
# and says it cannot run the other.
mkdir -p "$TMP/alone"
cp "$AIRLOCK" "$TMP/alone/airlock"
out=$("$TMP/alone/airlock" sandbox -- sh -c 'echo lean' 2>&1)
expect "front alone: a plain sandbox runs" "$?/$out" "0/lean"
out=$("$TMP/alone/airlock" sandbox --record "$TMP/alone.json" -- true 2>&1)
expect "front alone: --record needs airlock-core (127)" "$?" "127"
expect_match "front alone: says so" "$out" "cannot run $TMP/alone/airlock-core"
expect "front alone: no record written" "$(ls "$TMP/alone.json" 2>&1 >/dev/null | wc -l)" "1"
"$TMP/alone/airlock" sandbox --allow-host a.test -- true >/dev/null 2>&1
expect "front alone: --allow-host needs airlock-core (127)" "$?" "127"
out=$("${SB[@]}" --mem 2>&1)
expect_match "a missing value is named, whichever libc" "$out" "missing value for: --mem"
out=$("${SB[@]}" --nope -- true 2>&1)
expect_match "an unknown option is named" "$out" "unknown option: --nope"

out=$("$AIRLOCK" doctor)
expect "doctor: exit 0 on this host" "$?" "0"
expect_match "doctor: names the cgroup version" "$out" '^cgroups: v[12] \(.*memory.*\)'
expect_match "doctor: says ok" "$out" '^ok: '

# Inside a sandbox, seccomp forbids new namespaces: the doctor must say so and serve must
# refuse to run gates rather than run them unisolated.
bin=$(dirname "$AIRLOCK")
mkdir -p "$TMP/w2"
chown "$owner:$owner" "$TMP/w2"
# (a sanitized build cannot run its leak checker under the sandbox's ptrace ban)
out=$("${SB[@]}" --env ASAN_OPTIONS=detect_leaks=0 --ro-bind "$bin:/airlock" -- /airlock/airlock doctor 2>&1)
expect "doctor inside a sandbox: exit 1" "$?" "1"
expect_match "doctor inside a sandbox: says not ok" "$out" '^not ok: '
out=$("${SB[@]}" --env ASAN_OPTIONS=detect_leaks=0 --workdir "$TMP/w2" --ro-bind "$bin:/airlock" -- \
	/airlock/airlock serve --data /work/data --listen 127.0.0.1:0 2>&1)
expect "serve without isolation: refuses (exit 1)" "$?" "1"
expect_match "serve without isolation: says why" "$out" 'refusing to run gates'

summary
