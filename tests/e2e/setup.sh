#!/bin/bash
# End-to-end: setup layers. A repository's policy runs a setup command on the base tree,
# keyed by a lockfile; its additions are sealed into a cached layer that every run of every
# later proposal on that base stacks under its tree. The first proposal builds the layer,
# the second reuses it; a run cannot change it; a change to the lockfile never writes the
# shared cache (a layer of its own, then a human, or a rejection, as policy says); a setup
# that fails, or that changes or removes what the tree has, is its own rule.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-setup.XXXXXX)
cleanup() {
	[ -n "${SERVER_PID:-}" ] && kill -9 "$SERVER_PID" 2>/dev/null
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP" 2>/dev/null || "$AIRLOCK" runner --remove "$TMP" 2>/dev/null
}
trap cleanup EXIT
EX="$ROOT/examples/calc"
TID=$(cat "$EX/TEST_ID")
DATA="$TMP/data"

# the example project with a lockfile; setup "installs" it into .deps
mk_repo() {
	make_example_repo "$1"
	printf 'libfoo==1.0\n' >"$1/deps.lock"
	git -C "$1" add deps.lock
	git -C "$1" -c user.name=e2e -c user.email=e2e@localhost commit -q -m "lockfile"
}
for r in repo reject failing tracked removing later; do mk_repo "$TMP/$r"; done

INSTALL='mkdir -p .deps && cp deps.lock .deps/installed && date +%s%N >.deps/stamp'
# passes only when the installed dependencies are the lockfile's
DEPS='test "$(cat .deps/installed)" = "$(cat deps.lock)"'
# tries to poison the layer for the runs after it
POISON='echo poisoned >.deps/installed; echo poisoned >>deps.lock; true'
setup_policy() { # COMMAND [ON_CHANGE]
	jq -n --arg c "$1" --arg m "${2:-human}" \
		'{command: ["sh", "-c", $c], keys: ["deps.lock"], on_lockfile_change: $m}'
}
jq --arg repo "$TMP/repo" --arg reject "$TMP/reject" --arg failing "$TMP/failing" \
	--arg tracked "$TMP/tracked" --arg removing "$TMP/removing" --arg later "$TMP/later" \
	--arg deps "$DEPS" --arg poison "$POISON" \
	--argjson s "$(setup_policy "$INSTALL")" \
	--argjson sr "$(setup_policy "$INSTALL" reject)" \
	--argjson sf "$(setup_policy 'echo resolving; echo "no such package: libfoo" >&2; exit 3')" \
	--argjson st "$(setup_policy "$INSTALL; echo '# patched' >>Makefile")" \
	--argjson sd "$(setup_policy "$INSTALL; rm README.md")" '
	(.repos.example.policy + {approvals: {required: 0},
		contract: [{name: "poison", command: ["sh", "-c", $poison], judge: "exit_code"},
			   {name: "make-check", command: ["make", "check"]},
			   {name: "deps", command: ["sh", "-c", $deps], judge: "exit_code"}]}) as $p
	| {workers: 1, repos: {
		example: {path: $repo, policy: ($p + {setup: $s})},
		reject: {path: $reject, policy: ($p + {setup: $sr})},
		failing: {path: $failing, policy: ($p + {setup: $sf})},
		tracked: {path: $tracked, policy: ($p + {setup: $st})},
		removing: {path: $removing, policy: ($p + {setup: $sd})},
		later: {path: $later, policy: ($p + {setup: $s})}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
AGENT2=$("$AIRLOCK" token add --data "$DATA" --name agent-2 --role agent)
proposal() { # REPO [EXTRA PATCH]
	local p
	p=$(cat "$EX/fix.patch")
	[ -n "${2:-}" ] && p="$p
$2"
	jq -n --arg p "$p
" --rawfile t "$EX/test.patch" --arg id "$TID" --arg repo "$1" \
		'{repo: $repo, base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id]}'
}
LOCKPATCH='diff --git a/deps.lock b/deps.lock
--- a/deps.lock
+++ b/deps.lock
@@ -1 +1 @@
-libfoo==1.0
+libfoo==6.6.6'
SHADOWPATCH='diff --git a/.deps/installed b/.deps/installed
new file mode 100644
--- /dev/null
+++ b/.deps/installed
@@ -0,0 +1 @@
+libfoo==1.0'
proposal example >"$TMP/p.json"
proposal example "$SHADOWPATCH" >"$TMP/shadow.json"
proposal example "$LOCKPATCH" >"$TMP/lock.json"
proposal reject "$LOCKPATCH" >"$TMP/reject.json"
for r in failing tracked removing later; do proposal $r >"$TMP/$r.json"; done

col() { db "SELECT $2 FROM proposals WHERE id = '$1'"; }
submit() { http POST /v1/proposals "$1" "$2" | sed 's/^202 //' | jq -r .id; }
rule() { col "$1" verdict | jq -r --arg r "$2" '[.rules[] | select(.rule == $r) | "\(.result) \(.reason)"] | join(",")'; }
layers() { find "$DATA/cache/setup" -mindepth 1 -maxdepth 1 -not -name '.*' 2>/dev/null | wc -l; }

start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }

A=$(submit "$AGENT" "$TMP/p.json")
wait_state "$A" 240 granted rejected error awaiting_approval
expect "the first proposal is granted with the setup layer under its runs" "$(state "$A")" "granted"
[ "$(state "$A")" = granted ] || col "$A" verdict | jq -c '.rules[]' | head -20
VA=$(col "$A" verdict)
expect "verdict: the first proposal built the layer" "$(jq -r .environment.setup.layer <<<"$VA")" "built"
expect_match "the setup rule names the layer" "$(rule "$A" setup)" '^SATISFIED setup layer built \([0-9]+ ms\)$'
expect "one layer in the cache" "$(layers)" "1"
KEY=$(jq -r .environment.setup.key <<<"$VA")
expect_match "the layer is named by its key" "$KEY" '^[0-9a-f]{64}$'
expect "the layer holds what setup added" "$(cat "$DATA/cache/setup/$KEY/upper/.deps/installed")" "libfoo==1.0"
expect "...and nothing of the tree" "$(ls -A "$DATA/cache/setup/$KEY/upper" | tr '\n' ' ')" ".deps "
STAMP=$(cat "$DATA/cache/setup/$KEY/upper/.deps/stamp")
expect "a run that wrote over the layer's files left the layer as it was" \
	"$(cat "$DATA/cache/setup/$KEY/upper/.deps/installed")" "libfoo==1.0"
expect "...and the runs after it saw the layer's files, not the poison" \
	"$(rule "$A" "contract:deps")" "SATISFIED contract deps passed on candidate"
expect_match "the grant names the setup layer in the runner's identity" \
	"$(col "$A" grant_envelope | jq -r .payload | base64 -d | jq -r .predicate.runner.environment.setupLayer)" "^$KEY$"

B=$(submit "$AGENT2" "$TMP/p.json")
wait_state "$B" 240 granted rejected error awaiting_approval
expect "a second proposal on the same base is granted" "$(state "$B")" "granted"
expect "...reusing the layer" "$(col "$B" verdict | jq -r .environment.setup.layer)" "hit"
expect "...built no other" "$(layers)" "1"
expect "...and setup did not run again" "$(cat "$DATA/cache/setup/$KEY/upper/.deps/stamp")" "$STAMP"
expect "the same key" "$(col "$B" verdict | jq -r .environment.setup.key)" "$KEY"

L=$(submit "$AGENT" "$TMP/lock.json")
wait_state "$L" 240 granted rejected error awaiting_approval
expect "a candidate that changes the lockfile goes to a human" "$(state "$L")" "awaiting_approval"
VL=$(col "$L" verdict)
expect "...the verdict names the lockfile" "$(jq -r '.environment.setup.changed | join(",")' <<<"$VL")" "deps.lock"
expect "...its tests ran on a layer of its own" "$(jq -r '.environment.setup.own | join(",")' <<<"$VL")" "candidate"
expect "...whose dependencies were its lockfile's" "$(rule "$L" "contract:deps")" \
	"SATISFIED contract deps passed on candidate"
expect_match "...and the approval asked for names the lockfile" \
	"$(jq -c '[.rules[] | select(.rule == "approval")]' <<<"$VL")" 'deps\.lock'
expect "the shared cache did not get its layer" "$(layers)" "1"
expect "...and the job's own layer is gone with the job" \
	"$(find "$DATA/jobs" -path '*setup-candidate*' 2>/dev/null | wc -l)" "0"

# the reviewers' page, in Debian's Chromium: the layer, and the lockfile the change alters
REVIEWER=$("$AIRLOCK" token add --data "$DATA" --name alice --role reviewer)
if [ -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ -d "$ROOT/tests/e2e/browser/node_modules/playwright-core" ]; then
	PAGE=$(URL=$URL TOKEN=$REVIEWER ID=$L HOME=$TMP node "$ROOT/tests/e2e/browser/environment.mjs" 2>"$TMP/page.err")
	expect "the page says the runs saw the host's system" "$(jq -r .image <<<"$PAGE" 2>/dev/null)" "the host's system"
	expect_match "the page shows the layer and the change's own" "$(jq -r .setup <<<"$PAGE" 2>/dev/null)" \
		'^setup layer hit in [0-9]+ ms, key [0-9a-f]{12}; a layer of its own for the candidate tree; the change alters:$'
	expect "the page lists the lockfile" "$(jq -r '.changed | join(",")' <<<"$PAGE" 2>/dev/null)" "deps.lock"
else
	not_ok "the page check needs Chromium and playwright-core" "run ./deploy/deps.sh --test (make test does)"
fi

S=$(submit "$AGENT2" "$TMP/shadow.json")
wait_state "$S" 240 granted rejected error awaiting_approval
expect "a change that writes where the layer has a file is rejected: its runs would see the layer's" \
	"$(state "$S")" "rejected"
expect_match "...by the setup rule" "$(rule "$S" setup)" \
	'^UNSATISFIED setup refused on the tree candidate: the change writes .deps/installed, which setup.s layer has'

R=$(submit "$AGENT2" "$TMP/reject.json")
wait_state "$R" 240 granted rejected error awaiting_approval
expect "on_lockfile_change reject: the change is rejected" "$(state "$R")" "rejected"
expect_match "...by the setup rule" "$(rule "$R" setup)" '^UNSATISFIED setup refused: the change alters setup.s key files'
expect "...and no run ran" "$(col "$R" result | jq '.runs // [] | length')" "0"
expect "...while its base got a layer of its own policy's key" "$(layers)" "2"

N=$(layers)
F=$(submit "$AGENT" "$TMP/failing.json")
wait_state "$F" 240 granted rejected error awaiting_approval
expect "a setup that fails on the base tree rejects" "$(state "$F")" "rejected"
expect_match "...by its own rule, as the environment's failure, not the change's" "$(rule "$F" setup)" \
	'^ERROR setup failed on the base tree \(RE, exit 3\): the environment.s failure, not the change.s$'
expect_match "...with its output" "$(col "$F" verdict | jq -r '.rules[] | select(.rule == "setup") | .evidence.stderr')" \
	'no such package: libfoo'

T=$(submit "$AGENT2" "$TMP/tracked.json")
wait_state "$T" 240 granted rejected error awaiting_approval
expect_match "a setup that changes a file of the tree is refused" "$(rule "$T" setup)" \
	'^ERROR setup refused on the tree base: setup changed Makefile, which the tree has'
D=$(submit "$AGENT" "$TMP/removing.json")
wait_state "$D" 240 granted rejected error awaiting_approval
expect_match "a setup that removes a file of the tree is refused" "$(rule "$D" setup)" \
	'^ERROR setup refused on the tree base: setup removed README.md from the tree'
expect "refused layers never reach the cache" "$(layers)" "$N"

# another repository with the same policy and lockfile builds a layer of its own (the key
# names the repository); a later base of it with the same lockfile reuses its layer, unless
# that base now has a file the layer holds, which the layer would hide from the runs
Y=$(submit "$AGENT2" "$TMP/later.json")
wait_state "$Y" 240 granted rejected error awaiting_approval
expect "another repository with the same setup builds its own layer" \
	"$(col "$Y" verdict | jq -r '"\(.environment.setup.layer) \(.environment.setup.key != "'"$KEY"'")"')" "built true"
mkdir -p "$TMP/later/.deps" && printf 'vendored\n' >"$TMP/later/.deps/installed"
git -C "$TMP/later" add -f .deps/installed
git -C "$TMP/later" -c user.name=e2e -c user.email=e2e@localhost commit -q -m "vendor a dependency"
Z=$(submit "$AGENT" "$TMP/later.json")
wait_state "$Z" 240 granted rejected error awaiting_approval
expect "a later base whose tree has a file the cached layer holds is not tested under it" \
	"$(rule "$Z" setup)" \
	"ERROR setup refused on the tree base: the base tree has .deps/installed, which the cached setup layer has too: the runs would see the layer's, not the tree's"
expect "...nor do half-built ones" "$(find "$DATA/cache/setup" -maxdepth 1 -name '.tmp-*' | wc -l)" "0"

stop_server

# where overlay is not available in a user namespace (forced here), the same rules hold on
# copies: each run copies its tree and layer, setup runs on a copy and its additions are
# found by comparison
export AIRLOCK_OVERLAY=off
expect_match "airlock doctor says each run will copy its tree" "$("$AIRLOCK" doctor 2>&1)" \
	'overlay: not available \(each run copies its tree\)'
start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }
C=$(submit "$AGENT" "$TMP/lock.json")
wait_state "$C" 240 granted rejected error awaiting_approval
expect "copies: the lockfile change still gets a layer of its own and a human" "$(state "$C")" \
	"awaiting_approval"
expect "...its runs saw its own dependencies" "$(rule "$C" "contract:deps")" "SATISFIED contract deps passed on candidate"
expect "...and the poisoning run changed nothing the next run saw" "$(rule "$C" "contract:make-check")" \
	"$(rule "$A" "contract:make-check")"
rm -rf "$DATA/cache/setup" 2>/dev/null || "$AIRLOCK" runner --remove "$DATA/cache/setup"
T2=$(submit "$AGENT2" "$TMP/tracked.json")
wait_state "$T2" 240 granted rejected error awaiting_approval
expect_match "copies: a setup that changes a file of the tree is refused" "$(rule "$T2" setup)" \
	'^ERROR setup refused on the tree base: setup changed Makefile, which the tree has'
D2=$(submit "$AGENT" "$TMP/removing.json")
wait_state "$D2" 240 granted rejected error awaiting_approval
expect_match "copies: a setup that removes a file of the tree is refused" "$(rule "$D2" setup)" \
	'^ERROR setup refused on the tree base: setup removed README.md from the tree'
B2=$(submit "$AGENT2" "$TMP/p.json")
wait_state "$B2" 240 granted rejected error awaiting_approval
expect "copies: a proposal is granted on a layer built by comparison" "$(state "$B2")" "granted"
expect "...the layer holds only what setup added" "$(ls -A "$DATA/cache/setup/$KEY/upper" 2>/dev/null | tr '\n' ' ')" ".deps "
stop_server
summary
