#!/bin/sh
# Regenerates the example's patches with real git from a scratch repository made from repo/.
# Run after changing repo/, then run ./verify.sh. Needs git, python3 and sed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/calc-patches.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export GIT_AUTHOR_NAME=example GIT_AUTHOR_EMAIL=example@localhost
export GIT_COMMITTER_NAME=example GIT_COMMITTER_EMAIL=example@localhost
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

cp -a "$here/repo/." "$scratch/"
cd "$scratch"
git init -q -b main
git add -A
git commit -qm initial

# add_clamp_above A B C D: a test case clamp_above checking clamp(A, 0, 10) == B and
# clamp(C, -5, 5) == D, inserted after clamp_at_bounds.
add_clamp_above() {
	python3 - "$@" <<'EOF'
import sys
a, b, c, d = sys.argv[1:5]
p = 'tests/test_calc.c'
s = open(p).read()
fn = ('static int\nclamp_above(void)\n{\n'
      f'\tEXPECT_EQ(calc_clamp({a}, 0, 10), {b});\n'
      f'\tEXPECT_EQ(calc_clamp({c}, -5, 5), {d});\n'
      '\treturn 0;\n}\n\n')
anchor = 'static int\nsum_empty(void)'
row = '\t{ "clamp_at_bounds", clamp_at_bounds },\n'
assert s.count(anchor) == 1 and s.count(row) == 1
s = s.replace(anchor, fn + anchor).replace(row, row + '\t{ "clamp_above", clamp_above },\n')
open(p, 'w').write(s)
EOF
}
# the fix: the upper bound returns hi, not lo (the second "return lo;" in calc_clamp)
fix_clamp() { sed -i '0,/\t\treturn lo;/! {0,/\t\treturn lo;/ s/\t\treturn lo;/\t\treturn hi;/}' src/calc.c; }

# test.patch: exposes the bug (committed on a branch: main stays the base)
git checkout -q -b with-test
add_clamp_above 15 10 INT_MAX 5
git diff >"$here/test.patch"
git commit -qam "tests: clamp above the range"

# fix.patch: made on top of the test, touches only src/
fix_clamp
git diff >"$here/fix.patch"
git checkout -q .

# bad/breaks-contract.patch: clamp_above passes, but clamp_below (in make check) fails
python3 - <<'EOF'
p = 'src/calc.c'
s = open(p).read()
old = '\tif (v < lo)\n\t\treturn lo;\n\tif (v > hi)\n\t\treturn lo;\n\treturn v;\n'
assert s.count(old) == 1
open(p, 'w').write(s.replace(old, '\treturn v > hi ? hi : v;\n'))
EOF
git diff >"$here/bad/breaks-contract.patch"
git checkout -q .

# bad/touches-tests.patch: the fix, plus weakening the new test
fix_clamp
sed -i '/EXPECT_EQ(calc_clamp(INT_MAX, -5, 5), 5);/d' tests/test_calc.c
git diff >"$here/bad/touches-tests.patch"
git checkout -q .

# bad/already-passes.patch: a clamp_above that never leaves the range, against main
git checkout -q main
add_clamp_above 10 10 5 5
git diff >"$here/bad/already-passes.patch"
git checkout -q .

# bad/does-not-apply.patch: the fix made against a calc.c whose clamp was since reworded
git checkout -q -b drifted main
sed -i 's/^calc_clamp(int v, int lo, int hi)$/calc_clamp(int value, int lo, int hi)/;
	s/\tif (v < lo)/\tif (value < lo)/; s/\tif (v > hi)/\tif (value > hi)/;
	s/\treturn v;$/\treturn value;/' src/calc.c
git commit -qam "calc: reword clamp"
fix_clamp
git diff >"$here/bad/does-not-apply.patch"
git checkout -q .
echo "patches written under $here"
