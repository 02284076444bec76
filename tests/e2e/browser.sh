#!/bin/bash
# End-to-end: the reviewers' page in Debian's Chromium, driven by playwright-core
# (tests/e2e/browser/ui.mjs).  This script prepares a repository, the configuration, the
# tokens and the patches (one of them hostile); the Node script starts the server itself,
# because it restarts it mid-run.  Screenshots go to tests/e2e/out/.
set -u
. "$(dirname "$0")/lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
NODE_DIR="$ROOT/tests/e2e/browser"
if [ ! -x "$CHROMIUM" ] || [ ! -d "$NODE_DIR/node_modules/playwright-core" ] ||
	! command -v node >/dev/null; then
	not_ok "the browser test needs $CHROMIUM, node and playwright-core" \
		"run ./deploy/deps.sh --test (make test does)"
	summary
	exit 1
fi

TMP=$(mktemp -d /tmp/airlock-e2e-browser.XXXXXX)
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
EX="$ROOT/examples/calc"

make_example_repo "$TMP/gated"
jq -n --arg tmp "$TMP" '{repos: {gated: {path: "\($tmp)/gated", policy: {
	reproduce: {command: ["sh", "tests/run.sh"]},
	contract: [{name: "make-check", command: ["make", "check"]}],
	test_paths: ["tests/**"], timeout_s: 60,
	approvals: {required: 1},
	tiers: {"2": {authority: "merge", refs: ["refs/heads/main"], lifetime_s: 3600}}}}}}' \
	>"$TMP/config.json"

tok() { "$AIRLOCK" token add --data "$TMP/data" --name "$1" --role "$2"; }
jq -n --arg a1 "$(tok agent-1 agent)" --arg a2 "$(tok agent-2 agent)" \
	--arg a1r "$(tok agent-1 reviewer)" --arg alice "$(tok alice reviewer)" \
	--arg bob "$(tok bob reviewer)" --arg ops "$(tok ops admin)" \
	'{"agent-1": $a1, "agent-2": $a2, "agent-1-reviewer": $a1r, alice: $alice, bob: $bob,
	  ops: $ops}' \
	>"$TMP/tokens.json"

# the hostile patch: the real fix, plus a file whose name and text are markup
git clone -q "$TMP/gated" "$TMP/scratch"
(cd "$TMP/scratch" && git apply "$EX/fix.patch" &&
	printf '%s\n' 'notes' '<script>alert(3)</script><img src=x onerror=alert(4)>' \
		>'<img src=x onerror=alert(document.domain)>.md' &&
	git add -A && git -c core.quotepath=false diff --cached) >"$TMP/xss.patch"
jq -n --rawfile fix "$EX/fix.patch" --rawfile test "$EX/test.patch" \
	--rawfile xss "$TMP/xss.patch" --arg id "$(cat "$EX/TEST_ID")" \
	'{fix: $fix, test: $test, xss: $xss, test_id: $id}' >"$TMP/patches.json"

export AIRLOCK TMP CHROMIUM OUT="$ROOT/tests/e2e/out"
node "$NODE_DIR/ui.mjs"
rc=$?
[ $rc -eq 0 ] || { echo "--- server log"; tail -n 40 "$TMP/server.log"; }
exit $rc
