#!/bin/sh
# tests/run.sh ID...: builds the tests with cc and runs the named cases ("all": every case).
# Exit status: 0 passed, 1 failed, 2 unknown id or usage, 3 the build failed.
# Needs only sh and cc; builds in a temporary directory and leaves nothing behind.
set -u
[ $# -ge 1 ] || { echo "usage: tests/run.sh ID... | all" >&2; exit 2; }
cd "$(dirname "$0")/.." || exit 3
out=$(mktemp -d "${TMPDIR:-/tmp}/calc-tests.XXXXXX") || exit 3
trap 'rm -rf "$out"' EXIT
${CC:-cc} -std=c99 -Wall -Wextra -O1 -I src -o "$out/test_calc" tests/test_calc.c src/calc.c ||
	exit 3
if [ "$*" = all ]; then
	"$out/test_calc"
else
	"$out/test_calc" "$@"
fi
