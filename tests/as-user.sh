#!/bin/bash
# Sourced by tests/run-all.sh when it runs as root: the e2e suites then run as the
# unprivileged user deploy/user.sh made (AL_TEST_USER, default airlock-test), the way
# deploy/airlock.service runs the server, in control groups delegated to that user the
# way systemd's Delegate=yes (cgroup v2) or an operator (cgroup v1) hands them over.
#
#   as_user_setup    0 when the user, a tree it can read and its control groups are ready
#   as_user CMD...   runs CMD as that user, inside those groups
#   as_user_cleanup  removes the groups

AL_TEST_USER=${AL_TEST_USER:-airlock-test}
as_user_groups=()
as_user_home=
as_user_copy=
as_user_src=

# Controller hierarchies this process is in: "MOUNTPOINT OWN-PATH" per line (v1 memory,
# pids, cpu; or the v2 unified one).
as_user_hierarchies() {
	local c mnt own
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		echo "/sys/fs/cgroup $(sed -n 's/^0:://p' /proc/self/cgroup)"
		return
	fi
	for c in memory pids cpu; do
		mnt=$(awk -v c="$c" '$9 == "cgroup" && ("," $NF ",") ~ ("," c ",") { print $5; exit }' \
			/proc/self/mountinfo)
		own=$(awk -F: -v c="$c" '("," $2 ",") ~ ("," c ",") { print $3; exit }' /proc/self/cgroup)
		[ -n "$mnt" ] && echo "$mnt $own"
	done
}

as_user_setup() {
	local mnt own dir src
	[ "$(id -u)" -eq 0 ] || return 1
	id "$AL_TEST_USER" >/dev/null 2>&1 || { echo "as-user: no user $AL_TEST_USER (deploy/user.sh)"; return 1; }
	command -v newuidmap >/dev/null || { echo "as-user: newuidmap missing (uidmap)"; return 1; }
	as_user_home=$(mktemp -d /tmp/airlock-home.XXXXXX)
	# an identity for the suites' own commits and notes, as a developer's machine has
	printf '[user]\n\tname = airlock e2e\n\temail = e2e@airlock.test\n' >"$as_user_home/.gitconfig"
	chown -R "$AL_TEST_USER:" "$as_user_home"
	# the tree and the binaries must be readable by the user: a clone under /root is not
	if ! setpriv --reuid="$AL_TEST_USER" --regid="$AL_TEST_USER" --init-groups \
		test -r tests/e2e/lib.sh -a -x "$AIRLOCK"; then
		src=$PWD
		dir=$(mktemp -d /var/tmp/airlock-e2e.XXXXXX)
		as_user_src=$src
		as_user_copy=$dir
		echo "as-user: $AL_TEST_USER cannot read $src; the suites run from a copy in $dir"
		local skip=() b
		for b in build build-*; do
			[ "$b" = "${BUILD:-build}" ] || skip+=(--exclude="./$b")
		done
		tar -C "$src" --exclude=./.git "${skip[@]}" -cf - . | tar -C "$dir" -xf -
		chmod 755 "$dir"
		cd "$dir" || return 1
		AIRLOCK=$dir/${AIRLOCK#"$src"/}
		export AIRLOCK
		# the sanitizers' suppressions, read by the user's processes
		[ -n "${LSAN_OPTIONS:-}" ] && export LSAN_OPTIONS=${LSAN_OPTIONS//"$src"/"$dir"}
	fi
	# where the browser suite leaves its screenshots
	mkdir -p tests/e2e/out && chown -R "$AL_TEST_USER:" tests/e2e/out || return 1
	while read -r mnt own; do
		dir=$mnt${own%/}/airlock-e2e-$$
		mkdir -p "$dir" || return 1
		if [ "$mnt" = /sys/fs/cgroup ] && [ -f "$mnt/cgroup.controllers" ]; then
			# v2: the controllers must be on for the delegated group's children
			echo "+memory +pids +cpu" >"$mnt${own%/}/cgroup.subtree_control" 2>/dev/null
			echo "+memory +pids +cpu" >"$dir/cgroup.subtree_control" 2>/dev/null
		fi
		chown -R "$AL_TEST_USER:" "$dir" || return 1
		as_user_groups+=("$dir")
	done < <(as_user_hierarchies)
	[ ${#as_user_groups[@]} -gt 0 ] || { echo "as-user: no control group hierarchy"; return 1; }
	return 0
}

as_user() {
	local groups="${as_user_groups[*]}"
	# a subshell that moves itself into the delegated groups, then drops to the user
	bash -c 'for g in $1; do echo $$ >"$g/cgroup.procs" || exit 70; done; shift
		exec setpriv --reuid="$AL_TEST_USER" --regid="$AL_TEST_USER" --init-groups \
			env HOME="$AL_HOME" "$@"' as-user "$groups" "$@"
}

as_user_cleanup() {
	local g
	for g in "${as_user_groups[@]}"; do
		# what a suite left (none should be) goes first, then the groups, deepest first
		find "$g" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	[ -n "$as_user_home" ] && rm -rf "$as_user_home"
	if [ -n "$as_user_copy" ]; then
		cd "$as_user_src" && rm -rf "$as_user_copy"
		AIRLOCK=$as_user_src/${AIRLOCK#"$as_user_copy"/}
	fi
	return 0
}
