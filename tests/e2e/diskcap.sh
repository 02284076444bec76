#!/bin/bash
# End-to-end: a run's writes are capped by limits.disk_mb and never reach the host's disk.
# A reproduction that writes to /tmp and then past the cap in its workspace gets ENOSPC (its
# output says so), its run record is DISK with what its disk held, the verdict says "disk
# full", the data dir's filesystem holds what it held before (the database and the cached
# checkouts aside), nothing is left under DATA/jobs, and /metrics shows the bytes under
# DATA/jobs.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-diskcap.XXXXXX)
cleanup() {
	stop_server || true
	[ -n "${FS_MOUNTED:-}" ] && umount "$TMP/fs"
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
EX="$ROOT/examples/calc"
TID=$(cat "$EX/TEST_ID")
CAP_MB=16

# The data dir on a filesystem of its own when we may mount one, so that other work on
# this machine does not move its numbers; else the tolerance has to absorb that.
mkdir -p "$TMP/fs"
TOLERANCE=$((1 << 20))
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=256m airlock-e2e "$TMP/fs" 2>/dev/null; then
	FS_MOUNTED=1
else
	TOLERANCE=$((CAP_MB << 19))
fi
DATA="$TMP/fs/data"
used() { df -B1 --output=used "$DATA" | tail -1 | tr -d ' '; }

make_example_repo "$TMP/repo"
# 4 MiB in /tmp, then 4 times the cap in the workspace: the second write fails
FILL='head -c 4M /dev/zero > /tmp/a && echo tmp-ok; head -c '$((CAP_MB * 4))'M /dev/zero > big; echo "write-exit=$?"; exit 1'
jq --arg path "$TMP/repo" --arg fill "$FILL" --argjson cap "$CAP_MB" \
	'{repos: {example: {path: $path, policy: (.repos.example.policy |
		.reproduce.command = ["sh", "-c", $fill] | .limits.disk_mb = $cap)}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
jq -n --rawfile p "$EX/fix.patch" --rawfile t "$EX/test.patch" --arg id "$TID" \
	'{repo: "example", base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id]}' \
	>"$TMP/body.json"
leftovers() { find "$DATA/jobs" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }
before=$(used)
ID=$(http POST /v1/proposals "$AGENT" "$TMP/body.json" | sed 's/^202 //' | jq -r .id)
for i in $(seq 1 1200); do
	case "$(state "$ID")" in granted | rejected | error) break ;; esac
	sleep 0.1
done
expect "the job that filled its disk is rejected" "$(state "$ID")" "rejected"
body=$(http GET "/v1/proposals/$ID" "$AGENT" | sed 's/^200 //')
cand=$(jq -c '.runs[] | select(.rule=="reproduce" and .side=="candidate")' <<<"$body")
expect "its run record says DISK" "$(jq -r .status <<<"$cand")" "DISK"
expect_match "the command saw /tmp count and then ENOSPC" "$(jq -r .stdout <<<"$cand")" '^tmp-ok
write-exit=1$'
expect_match "its output shows ENOSPC" "$(jq -r .stderr <<<"$cand")" 'No space left on device'
expect "the record holds what its disk held: the cap" \
	"$(jq --argjson cap "$CAP_MB" '.disk_bytes > ($cap * 1048576 - 65536) and .disk_bytes <= $cap * 1048576' <<<"$cand")" "true"
# a test that failed for want of disk proves nothing about the fix
expect_match "the verdict names it" "$(jq -r .verdict.reason <<<"$body")" 'on base: DISK, inconclusive'
for i in $(seq 1 100); do [ "$(leftovers)" = 0 ] && break; sleep 0.1; done
expect "nothing of the job is left under jobs/" "$(leftovers)" "0"
after=$(used)
delta=$((after - before))
[ "${delta#-}" -le "$TOLERANCE" ] && ok "the data dir's filesystem holds what it did (moved $delta bytes)" ||
	not_ok "the data dir's filesystem holds what it did: $before then $after bytes used"
metrics=$(curl -sS "$URL/metrics")
expect_match "/metrics shows the bytes under jobs/" "$metrics" $'# TYPE airlock_jobs_disk_bytes gauge\nairlock_jobs_disk_bytes 0'

# a job directory's bytes show up in the gauge (a runner's checkout, say)
mkdir -p "$DATA/jobs/probe" && head -c 1M /dev/zero >"$DATA/jobs/probe/f" && sync
n=$(curl -sS "$URL/metrics" | sed -n 's/^airlock_jobs_disk_bytes //p')
[ "${n:-0}" -ge $((1 << 20)) ] && ok "the gauge counts what is there ($n bytes)" ||
	not_ok "the gauge counts what is there: got '$n'"
rm -rf "$DATA/jobs/probe"
stop_server && ok "the server stops cleanly" || not_ok "the server stops cleanly"
summary
