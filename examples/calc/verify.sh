#!/bin/sh
# Checks that the example behaves as the gate expects: each patch applies (or not) with
# `git apply`, and the reproduction test and the contract pass or fail where they should.
# The test commands run with the sandbox's environment (HOME=/tmp, the fixed PATH, nothing
# else). Exit status 0 when every expectation holds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
id=$(cat "$here/TEST_ID")
work=$(mktemp -d "${TMPDIR:-/tmp}/calc-verify.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0

cp -a "$here/repo/." "$work/"
cd "$work"
git init -q -b main
git -c user.name=verify -c user.email=verify@localhost add -A
git -c user.name=verify -c user.email=verify@localhost commit -qm initial

sandboxed() { env -i HOME=/tmp PATH=/usr/local/bin:/usr/bin:/bin "$@" >/dev/null 2>&1; echo $?; }
reproduce() { sandboxed sh tests/run.sh "$id"; }
contract() { sandboxed make check; }
expect() { # expect WHAT GOT WANT
	if [ "$2" = "$3" ]; then
		echo "ok   $1"
	else
		echo "FAIL $1: got $2, want $3"
		fails=$((fails + 1))
	fi
}
reset() { git reset -q --hard main && git clean -qfdx; }
apply() { # apply PATCH...: 0 when all apply, in order
	for p in "$@"; do git apply "$here/$p" 2>/dev/null || { echo 1; return; }; done
	echo 0
}
paths() { sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "$here/$1" | sort -u | tr '\n' ' '; }

expect "base: contract passes" "$(contract)" 0
expect "base: $id is not a test yet (unknown id)" "$(reproduce)" 2
expect "test.patch touches only tests/" "$(paths test.patch)" "tests/test_calc.c "
expect "fix.patch touches only src/" "$(paths fix.patch)" "src/calc.c "

expect "test.patch applies" "$(apply test.patch)" 0
expect "base + test.patch: $id fails" "$(reproduce)" 1
expect "base + test.patch: contract passes" "$(contract)" 0
expect "fix.patch applies on top" "$(apply fix.patch)" 0
expect "candidate: $id passes" "$(reproduce)" 0
expect "candidate: contract passes" "$(contract)" 0
reset

expect "fix.patch applies to base alone" "$(apply fix.patch)" 0
reset

expect "bad/already-passes.patch applies" "$(apply bad/already-passes.patch)" 0
expect "base + already-passes: $id already passes" "$(reproduce)" 0
reset

expect "bad/breaks-contract.patch applies" "$(apply test.patch bad/breaks-contract.patch)" 0
expect "breaks-contract: $id passes" "$(reproduce)" 0
expect "breaks-contract: contract fails" "$(contract)" 2
reset

expect "bad/does-not-apply.patch does not apply" \
	"$(apply test.patch bad/does-not-apply.patch)" 1
expect "bad/does-not-apply.patch names src/calc.c" "$(paths bad/does-not-apply.patch)" \
	"src/calc.c "
reset

expect "bad/touches-tests.patch applies" "$(apply test.patch bad/touches-tests.patch)" 0
expect "touches-tests: touches src/ and tests/" "$(paths bad/touches-tests.patch)" \
	"src/calc.c tests/test_calc.c "
expect "touches-tests: $id passes (only the path rule catches it)" "$(reproduce)" 0
expect "touches-tests: contract passes" "$(contract)" 0
reset

[ "$fails" -eq 0 ] && echo "all expectations hold" || echo "$fails expectation(s) failed"
[ "$fails" -eq 0 ]
