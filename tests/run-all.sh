#!/bin/bash
# Runs every suite (unit, fuzz replay, e2e) and ends with one line of totals.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
passed=0
failed=0
suites_failed=()

count_check() { # sums "Checks: N, Failures: F, Errors: E" from a Check binary's output
	local out=$1 n f e
	n=$(sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' <<<"$out" | tail -1)
	[ -n "$n" ] || return 1
	read -r n f e <<<"$n"
	passed=$((passed + n - f - e))
	failed=$((failed + f + e))
}

# check_image also unpacks a real Debian image when AL_DEBIAN_IMAGE names one: built once
# from Debian's mirror and cached outside the clone (tests/image/mkdebian.sh).
if [ -z "${AL_DEBIAN_IMAGE:-}" ]; then
	echo "== image: tests/image/mkdebian.sh"
	if AL_DEBIAN_IMAGE=$(tests/image/mkdebian.sh); then
		export AL_DEBIAN_IMAGE
	else
		failed=$((failed + 1))
		suites_failed+=("mkdebian")
	fi
fi

for t in "$BUILD"/check_*; do
	[ -x "$t" ] || continue
	echo "== unit: $(basename "$t")"
	out=$(CK_FORK=yes "$t" 2>&1)
	rc=$?
	echo "$out" | grep -vE '^Running suite' | tail -n 25
	if ! count_check "$out" || [ $rc -ne 0 ]; then
		[ $rc -ne 0 ] && { suites_failed+=("$(basename "$t")"); grep -q 'Checks:' <<<"$out" || failed=$((failed + 1)); }
	fi
done

for f in "$BUILD"/fuzz_*; do
	[ -x "$f" ] || continue
	name=${f##*/fuzz_}
	echo "== fuzz replay: $name"
	if "$f" "tests/fuzz/corpus/$name"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		suites_failed+=("fuzz_$name")
	fi
done

# suite NAME CMD...: runs a script whose last counting line is "<word>: N passed, M failed"
suite() {
	local name=$1 out rc line p q
	shift
	echo "== $name"
	out=$("$@" 2>&1)
	rc=$?
	echo "$out" | tail -n 80
	line=$(grep -E '^[a-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -1)
	if [ -n "$line" ]; then
		p=$(sed 's/^[^:]*: \([0-9]*\) passed.*/\1/' <<<"$line")
		q=$(sed 's/.* \([0-9]*\) failed.*/\1/' <<<"$line")
		passed=$((passed + p))
		failed=$((failed + q))
	fi
	if [ $rc -ne 0 ]; then
		suites_failed+=("$name")
		[ -n "$line" ] || failed=$((failed + 1))
	fi
}

# As root, the e2e suites run the server as an unprivileged user (tests/as-user.sh).
export AIRLOCK BUILD
runas=()
# shellcheck source=tests/as-user.sh
. tests/as-user.sh
if as_user_setup; then
	export AL_TEST_USER AL_HOME=$as_user_home
	runas=(as_user)
	echo "== e2e suites run as $AL_TEST_USER"
elif [ "$(id -u)" -eq 0 ]; then
	echo "as-user: cannot run the e2e suites unprivileged"
	failed=$((failed + 1))
	suites_failed+=("as-user")
fi
for t in tests/e2e/*.sh; do
	[ "$(basename "$t")" = lib.sh ] && continue
	suite "e2e: $(basename "$t" .sh)" "${runas[@]}" "$t"
done
as_user_cleanup
[ -x tests/probes/run.sh ] && suite "probes" tests/probes/run.sh

echo
[ ${#suites_failed[@]} -eq 0 ] || echo "failing suites: ${suites_failed[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#suites_failed[@]} -eq 0 ]
