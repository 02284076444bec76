#!/bin/sh
# deploy/user.sh NAME: makes NAME an unprivileged system user for airlock (no login, no
# home) with 65536 subordinate user and group ids of its own in /etc/subuid and
# /etc/subgid, which newuidmap and newgidmap let it map into the runner's namespace: the
# sandbox runs as the first of them, an id that owns nothing on the host. Run as root;
# does nothing that is already done.
set -eu
name=${1:?usage: deploy/user.sh NAME}
[ "$(id -u)" -eq 0 ] || { echo "deploy/user.sh: run as root" >&2; exit 1; }
if ! id "$name" >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$name"
fi
# the first free block of 65536 ids at or above 2^31 in both files: far from any range
# useradd hands out to people
has() { grep -q "^$name:" "$1" 2>/dev/null; }
free_start() {
	start=2147483648
	while cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: -v s="$start" \
		'$2 <= s + 65535 && s <= $2 + $3 - 1 { hit = 1 } END { exit !hit }'; do
		start=$((start + 65536))
	done
	echo "$start"
}
if ! has /etc/subuid || ! has /etc/subgid; then
	start=$(free_start)
	touch /etc/subuid /etc/subgid
	has /etc/subuid || echo "$name:$start:65536" >>/etc/subuid
	has /etc/subgid || echo "$name:$start:65536" >>/etc/subgid
fi
