#!/bin/bash
# End-to-end: environments. Real projects whose tests need a toolchain the host does not
# have, gated in a Debian 12 image the tests build with mmdebstrap (tests/image/
# mkdebian.sh: python3, python3-pytest, nodejs, npm):
#   - a Python project whose tests need pytest: the honest fix is granted, a regression is
#     rejected, and the same policy without the image is rejected for want of pytest;
#   - a Node project with a package-lock'ed devDependency: `npm ci` in setup through the
#     egress proxy from a local registry; the first proposal builds the layer, the second
#     reuses it (setup near zero), and a candidate that changes the lockfile goes to a human.
# The image's digest is in the verdict and in the grant's runner identity.
set -u
. "$(dirname "$0")/lib.sh"

IMG=${AL_DEBIAN_IMAGE:-}
if [ -z "$IMG" ] && [ "$(id -u)" = 0 ]; then
	IMG=$("$ROOT/tests/image/mkdebian.sh") || IMG=
fi
if [ -z "$IMG" ] || [ ! -f "$IMG/index.json" ]; then
	not_ok "the Debian image" "AL_DEBIAN_IMAGE is unset and it cannot be built here (tests/image/mkdebian.sh needs root)"
	summary
	exit 1
fi

TMP=$(mktemp -d /tmp/airlock-e2e-environment.XXXXXX)
cleanup() {
	[ -n "${SERVER_PID:-}" ] && kill -9 "$SERVER_PID" 2>/dev/null
	egress_upstreams_stop
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP" 2>/dev/null || "$AIRLOCK" runner --remove "$TMP" 2>/dev/null
}
trap cleanup EXIT
# shellcheck source=tests/e2e/egress/start.sh
. "$ROOT/tests/e2e/egress/start.sh"
export AIRLOCK_EGRESS_TEST=1
DATA="$TMP/data"
G=(-c user.name=e2e -c user.email=e2e@localhost)

# ---- a Python project whose tests need pytest --------------------------------------------
PY="$TMP/py"
mkdir -p "$PY/stats" "$PY/tests"
cat >"$PY/stats/__init__.py" <<'X'
"""Small statistics helpers."""


def mean(xs):
    return sum(xs) / len(xs)


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]
X
cat >"$PY/tests/test_stats.py" <<'X'
import pytest

from stats import mean, median


def test_mean():
    assert mean([1, 2, 3, 4]) == 2.5


def test_median_odd():
    assert median([3, 1, 2]) == 2


@pytest.mark.parametrize("xs", [[1], [5, 5, 5]])
def test_median_same(xs):
    assert median(xs) == xs[0]
X
git -C "$PY" init -q -b main && git -C "$PY" "${G[@]}" add -A && git -C "$PY" "${G[@]}" commit -qm initial
git clone -q "$PY" "$TMP/pywork"
cat >>"$TMP/pywork/tests/test_stats.py" <<'X'


def test_median_even():
    assert median([4, 1, 3, 2]) == 2.5
X
git -C "$TMP/pywork" diff >"$TMP/py-test.patch"
git -C "$TMP/pywork" checkout -q -- .
python3 - "$TMP/pywork/stats/__init__.py" <<'X'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("    return s[len(s) // 2]\n",
              "    n = len(s)\n    if n % 2:\n        return s[n // 2]\n"
              "    return (s[n // 2 - 1] + s[n // 2]) / 2\n")
open(p, "w").write(s)
X
git -C "$TMP/pywork" diff >"$TMP/py-fix.patch"
git -C "$TMP/pywork" checkout -q -- .
# a "fix" that breaks what worked: the even case right, every odd one wrong
python3 - "$TMP/pywork/stats/__init__.py" <<'X'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("    return s[len(s) // 2]\n",
              "    n = len(s)\n    return (s[n // 2 - 1] + s[n // 2]) / 2\n")
open(p, "w").write(s)
X
git -C "$TMP/pywork" diff >"$TMP/py-bad.patch"

# ---- a Node project with a package-lock'ed devDependency -----------------------------------
NODE="$TMP/node"
mkdir -p "$NODE/src" "$NODE/test"
cp "$FX/npmproj/package.json" "$FX/npmproj/package-lock.json" "$NODE/"
cat >"$NODE/src/label.js" <<'X'
'use strict';
const leftpad = require('airlock-leftpad');
// An invoice label: the number padded to six digits.
module.exports = (n) => 'INV-' + leftpad(n, 5, '0');
X
cat >"$NODE/test/label.test.js" <<'X'
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const label = require('../src/label.js');

test('pads short numbers', () => assert.strictEqual(label(42), 'INV-000042'));
X
git -C "$NODE" init -q -b main && git -C "$NODE" "${G[@]}" add -A && git -C "$NODE" "${G[@]}" commit -qm initial
git clone -q "$NODE" "$TMP/nodework"
sed -i "s/leftpad(n, 5, '0')/leftpad(n, 6, '0')/" "$TMP/nodework/src/label.js"
git -C "$TMP/nodework" diff >"$TMP/node-fix.patch"
# the same fix, and a bumped lockfile
jq '.version = "1.0.1" | .packages[""].version = "1.0.1"' "$TMP/nodework/package-lock.json" >"$TMP/l" &&
	mv "$TMP/l" "$TMP/nodework/package-lock.json"
jq '.version = "1.0.1"' "$TMP/nodework/package.json" >"$TMP/l" && mv "$TMP/l" "$TMP/nodework/package.json"
git -C "$TMP/nodework" diff >"$TMP/node-lock.patch"

printf 'npm-secret-%s\n' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$TMP/npm-token"
SECRET=$(head -1 "$TMP/npm-token")
PYTEST='exec python3 -m pytest -q -p no:cacheprovider --junitxml="$AIRLOCK_REPORT" "$@"'
jq -n --arg py "$PY" --arg node "$NODE" --arg img "$IMG" --arg pytest "$PYTEST" \
	--arg p "127.0.0.1:$P" --arg ca "$FX/ca.pem" --arg secret "$TMP/npm-token" '
	{reproduce: {command: ["sh", "-c", $pytest, "pytest"], report: "junit"},
	 contract: [{name: "suite", report: "junit", command: ["sh", "-c", $pytest, "pytest", "tests"]}],
	 test_paths: ["tests/**"], approvals: {required: 0}} as $pyp
	| {workers: 1, repos: {
	  py: {path: $py, policy: ($pyp + {environment: {image: $img}})},
	  node: {path: $node, policy: {
		environment: {image: $img},
		reproduce: {command: ["node", "--test"]},
		contract: [{name: "suite", command: ["node", "--test", "test/"], judge: "exit_code"},
			   {name: "toolchain", command: ["node", "--version"], judge: "exit_code"}],
		test_paths: ["test/**"], approvals: {required: 0},
		setup: {command: ["npm", "ci", "--registry", "https://registry.npm.test/",
				  "--no-audit", "--no-fund", "--loglevel=error"],
			keys: ["package-lock.json"]},
		egress: {setup: {allow: ["registry.npm.test"],
				 secrets: [{name: "NPM_TOKEN", host: "registry.npm.test",
					    header: "Authorization", file: $secret, format: "Bearer {}"}],
				 test: {resolve: {"registry.npm.test": $p}, upstream_ca: $ca}}}}}}}' \
	>"$TMP/config.json"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
AGENT2=$("$AIRLOCK" token add --data "$DATA" --name agent-2 --role agent)
proposal() { # REPO PATCH TEST_PATCH ID
	jq -n --arg repo "$1" --rawfile p "$2" --arg id "$4" --arg t "$3" \
		'{repo: $repo, base: "main", patch: $p, fail_to_pass: [$id]}
		 + (if $t == "" then {} else {test_patch: ($t | @text)} end)'
}
proposal py "$TMP/py-fix.patch" "$(cat "$TMP/py-test.patch")
" "tests/test_stats.py::test_median_even" >"$TMP/py.json"
proposal py "$TMP/py-bad.patch" "$(cat "$TMP/py-test.patch")
" "tests/test_stats.py::test_median_even" >"$TMP/py-bad.json"
# the node test is new in neither patch: the fix makes the existing test file pass
proposal node "$TMP/node-fix.patch" "" "test/label.test.js" >"$TMP/node.json"
proposal node "$TMP/node-lock.patch" "" "test/label.test.js" >"$TMP/node-lock.json"

col() { db "SELECT $2 FROM proposals WHERE id = '$1'"; }
submit() { http POST /v1/proposals "$1" "$2" | sed 's/^202 //' | jq -r .id; }
rule() { col "$1" verdict | jq -r --arg r "$2" '[.rules[] | select(.rule == $r) | "\(.result) \(.reason)"] | join(",")'; }
DIGEST="sha256:$(sha256sum "$IMG/blobs/sha256/$(jq -r '.manifests[0].digest | ltrimstr("sha256:")' "$IMG/index.json")" | cut -d' ' -f1)"

start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }

A=$(submit "$AGENT" "$TMP/py.json")
wait_state "$A" 900 granted rejected error awaiting_approval
expect "python: the honest fix is granted, its tests run by the image's pytest" "$(state "$A")" "granted"
[ "$(state "$A")" = granted ] || col "$A" verdict | jq -c '.rules[] | select(.result != "SATISFIED")' | head -10
VA=$(col "$A" verdict)
expect "the verdict names the image" "$(jq -r .environment.image <<<"$VA")" "$DIGEST"
expect "...unpacked for the first time" "$(jq -r .environment.unpack <<<"$VA")" "built"
expect "the grant's runner identity names the image" \
	"$(col "$A" grant_envelope | jq -r .payload | base64 -d | jq -r .predicate.runner.environment.image)" "$DIGEST"
expect "the test that failed before passes after" "$(rule "$A" "reproduce:tests/test_stats.py::test_median_even")" \
	"SATISFIED tests/test_stats.py::test_median_even fails on base (exit 1) and passes on candidate"

B=$(submit "$AGENT2" "$TMP/py-bad.json")
wait_state "$B" 600 granted rejected error awaiting_approval
expect "python: a fix that breaks what worked is rejected" "$(state "$B")" "rejected"
expect_match "...by the suite, test by test" "$(rule "$B" "contract:suite")" '^UNSATISFIED .*test_median_odd'
expect "...in the image, now cached" "$(col "$B" verdict | jq -r .environment.unpack)" "hit"


N1=$(submit "$AGENT" "$TMP/node.json")
wait_state "$N1" 900 granted rejected error awaiting_approval
expect "node: npm ci in setup, through the proxy, then the fix is granted" "$(state "$N1")" "granted"
[ "$(state "$N1")" = granted ] || col "$N1" verdict | jq -c '.rules[] | select(.result != "SATISFIED")' | head -10
V1=$(col "$N1" verdict)
expect "...the first proposal built the layer" "$(jq -r .environment.setup.layer <<<"$V1")" "built"
expect_match "...setup reached only the registry" \
	"$(col "$N1" result | jq -r '[.setup_egress[] | "\(.host) \(.decision) \(.run)"] | unique | join(",")')" \
	'^registry.npm.test allowed setup-base$'
expect "...the gate runs had no path out" "$(col "$N1" result | jq -r '.egress // "none"')" "none"
expect_match "...and ran on the image's node (Debian 12's 18), not the host's ($(node --version 2>/dev/null))" \
	"$(col "$N1" result | jq -r '.runs[] | select(.id == "contract:toolchain:candidate") | .stdout')" '^v18[.]'
expect_match "...the python runs too (the image's pytest)" \
	"$(col "$A" result | jq -r '[.runs[].stdout] | join(" ")')" 'passed'

N2=$(submit "$AGENT2" "$TMP/node.json")
wait_state "$N2" 600 granted rejected error awaiting_approval
V2=$(col "$N2" verdict)
expect "node: the second proposal is granted" "$(state "$N2")" "granted"
expect "...reusing the layer" "$(jq -r .environment.setup.layer <<<"$V2")" "hit"
S1=$(jq -r .environment.setup.ms <<<"$V1")
S2=$(jq -r .environment.setup.ms <<<"$V2")
echo "# setup: built in $S1 ms, reused in $S2 ms"
expect "...its setup time near zero (under a tenth of the first's)" "$([ "$S2" -lt $((S1 / 10 + 50)) ] && echo yes)" "yes"
expect "...and no connection" "$(col "$N2" result | jq -r '.setup_egress // [] | length')" "0"
N3=$(submit "$AGENT" "$TMP/node-lock.json")
wait_state "$N3" 900 granted rejected error awaiting_approval
expect "node: a candidate that changes the lockfile is sent to a human" "$(state "$N3")" "awaiting_approval"
expect "...naming it" "$(col "$N3" verdict | jq -r '.environment.setup.changed | join(",")')" "package-lock.json"
expect "...after its own setup, never the shared layer's" "$(col "$N3" verdict | jq -r '.environment.setup.own | join(",")')" \
	"candidate"

expect_match "setup's secret is the proxy's: the runner could not read its file" \
	"$(grep 'runner.confined' "$DATA.log" | tail -1)" 'secrets_unreadable=3'
expect_match "...and the registry got it" "$(grep -a -i 'authorization' "$TMP/up.log" | head -1)" "Bearer $SECRET"
stop_server
expect "no trace of setup's secret in the database" "$(db .dump | grep -c "$SECRET")" "0"
expect "...nor in the server's log or the data directory" \
	"$(cat <(grep -c "$SECRET" "$DATA.log") <(grep -rl "$SECRET" "$DATA" 2>/dev/null | wc -l) | tr '\n' ' ')" "0 0 "
summary
