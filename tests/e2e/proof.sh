#!/bin/bash
# End-to-end: the proof cannot be gamed. A real server, real repositories (a Python project
# tested with pytest, unittest, a node project, a C suite with Check), real sandboxes;
# each case is an attack an agent could try, or the control that shows the gate still
# grants what it should.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e.XXXXXX)
cleanup() { stop_server || true; [ -n "${KEEP:-}" ] || rm -rf "$TMP"; }
trap cleanup EXIT
FIX="$ROOT/tests/e2e/proof"
PY=/usr/bin/python3

# mkrepo NAME SRC: a repository on branch main holding SRC's files.
mkrepo() {
	mkdir -p "$TMP/$1"
	cp -a "$2/." "$TMP/$1/"
	git -C "$TMP/$1" init -q -b main
	git -C "$TMP/$1" -c user.name=e2e -c user.email=e2e@localhost add -A
	git -C "$TMP/$1" -c user.name=e2e -c user.email=e2e@localhost commit -q -m initial
	git clone -q "$TMP/$1" "$TMP/$1.work"
}
# diff_of REPO CMD...: runs CMD in REPO's work tree, prints the change as a git diff and
# puts the work tree back.
diff_of() {
	local repo=$1
	shift
	(cd "$TMP/$repo.work" && "$@" && git add -A && git diff --cached --binary &&
		git reset -q --hard && git clean -qfdx)
}

mkrepo py "$FIX/pyproj"
mkrepo pyexit "$FIX/pyproj"
mkrepo uni "$FIX/uniproj"
mkrepo node "$FIX/nodeproj"
mkrepo c "$FIX/cproj"
PYTEST='exec python3 -m pytest -q -p no:cacheprovider --junitxml="$AIRLOCK_REPORT"'
XMLRUNNER='exec python3 -m xmlrunner --output-file "$AIRLOCK_REPORT"'
NODE='exec node --test --test-reporter=junit --test-reporter-destination="$AIRLOCK_REPORT"'
jq -n --arg py "$TMP/py" --arg pyexit "$TMP/pyexit" --arg pytest "$PYTEST" \
	--arg uni "$TMP/uni" --arg xmlrunner "$XMLRUNNER" --arg node "$TMP/node" --arg nodetest "$NODE" \
	--arg c "$TMP/c" '{
  repos: {
    uni: {path: $uni, policy: {
      reproduce: {command: ["sh", "-c", ($xmlrunner + " \"$@\""), "xmlrunner"], report: "junit"},
      contract: [{name: "suite", command: ["sh", "-c", ($xmlrunner + " discover -s tests -t .")], report: "junit"}],
      test_paths: ["tests/**"], timeout_s: 120}},
    node: {path: $node, policy: {
      reproduce: {command: ["sh", "-c", ($nodetest + " --test-name-pattern=\"$1\" test/"), "node"], report: "junit"},
      contract: [{name: "suite", command: ["sh", "-c", ($nodetest + " test/")], report: "junit"}],
      test_paths: ["test/**"], timeout_s: 120}},
    c: {path: $c, policy: {
      contract: [{name: "check", command: ["sh", "tests/run.sh"], report: "tap"}],
      test_paths: ["tests/**"], timeout_s: 120}},
    py: {path: $py, policy: {
      reproduce: {command: ["sh", "-c", ($pytest + " \"$@\""), "pytest"], report: "junit"},
      contract: [{name: "suite", command: ["sh", "-c", ($pytest + " tests")], report: "junit"}],
      test_paths: ["tests/**"], timeout_s: 120}},
    pyexit: {path: $pyexit, policy: {
      reproduce: {command: ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"]},
      contract: [{name: "suite", command: ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]},
                 {name: "lint", command: ["python3", "-m", "no_such_linter"]}],
      test_paths: ["tests/**"], timeout_s: 120}}
  }}' >"$TMP/config.json"
DATA="$TMP/data"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }
ok "server starts"

# propose NAME REPO BASE TEST_PATCH_FILE PATCH_FILE ID...: POST, then the body of the final
# proposal in $TMP/NAME.json; prints the HTTP status of the POST.
propose() {
	local name=$1 repo=$2 base=$3 tp=$4 p=$5 r id i state
	shift 5
	jq -n --arg repo "$repo" --arg base "$base" --rawfile p "$p" --rawfile t "${tp:-/dev/null}" \
		'{repo: $repo, base: $base, patch: $p, fail_to_pass: $ARGS.positional}
		 + (if $t == "" then {} else {test_patch: $t} end)' --args "$@" >"$TMP/$name.req"
	r=$(http POST /v1/proposals "$AGENT" "$TMP/$name.req")
	echo "${r#* }" >"$TMP/$name.json"
	if [ "${r%% *}" = 202 ]; then
		id=$(jq -r .id <<<"${r#* }")
		for i in $(seq 1 600); do
			r=$(http GET "/v1/proposals/$id" "$AGENT")
			state=$(jq -r .state <<<"${r#* }")
			case $state in queued | running) sleep 0.2 ;; *) break ;; esac
		done
		echo "${r#* }" >"$TMP/$name.json"
		echo 202
		return
	fi
	echo "${r%% *}"
}
state() { jq -r .state "$TMP/$1.json"; }
rule() { jq -c --arg r "$2" '.verdict.rules[] | select(.rule == $r)' "$TMP/$1.json"; }
reason() { jq -r .verdict.reason "$TMP/$1.json"; }

# --- the patches ---------------------------------------------------------------------------
add_high_test() {
	cat >>tests/test_clamp.py <<'EOF'


def test_clamp_high():
    assert clamp(15, 0, 10) == 10
EOF
}
fix_clamp() { "$PY" - <<'EOF'; }
import re
s = open("mathlib.py").read()
s = s.replace("        return lo\n    return x", "        return lo\n    if x > hi:\n        return hi\n    return x")
open("mathlib.py", "w").write(s)
EOF
break_add() { sed -i 's/return a + b/return a + abs(b)/' mathlib.py; }
sabotage_test() { # the new test, when run, rewrites another test file to pass
	cat >>tests/test_clamp.py <<'EOF'


def test_clamp_high():
    with open("tests/test_add.py", "w") as f:
        f.write("def test_add():\n    pass\n\n\ndef test_add_negative():\n    pass\n")
    assert clamp(15, 0, 10) == 10
EOF
}
empty_module() { printf 'import mathlib\n\n# no tests here\n' >tests/test_empty.py; }

diff_of py add_high_test >"$TMP/t_high.diff"
diff_of py fix_clamp >"$TMP/fix.diff"
fix_and_break() { fix_clamp && break_add; }
diff_of py fix_and_break >"$TMP/fix_breaks_add.diff"
diff_of py sabotage_test >"$TMP/t_sabotage.diff"
diff_of py empty_module >"$TMP/t_empty.diff"
HIGH="tests/test_clamp.py::test_clamp_high"

# --- control: a real fix, reproduced by name, judged test by test --------------------------
expect "good fix: accepted" "$(propose good py main "$TMP/t_high.diff" "$TMP/fix.diff" "$HIGH")" 202
expect "good fix: granted" "$(state good)" granted
expect "good fix: reproduce SATISFIED by the report" "$(rule good "reproduce:$HIGH" | jq -r .result)" SATISFIED
expect "good fix: the report's outcomes are in the evidence" \
	"$(rule good "reproduce:$HIGH" | jq -c .evidence.outcomes)" '{"base":"failed","candidate":"passed"}'
expect "good fix: contract SATISFIED" "$(rule good contract:suite | jq -r .result)" SATISFIED
expect "good fix: the pre-existing failure is listed by name" \
	"$(rule good contract:suite | jq -r '.evidence.preexisting[0]')" "tests.test_flaky_env.test_known_failure"
expect "good fix: the contract's base run is on the unmodified base" \
	"$(jq -r '.runs[] | select(.id == "contract:suite:base") | .tree' "$TMP/good.json")" base
expect "good fix: the new test ran on the candidate only" \
	"$(jq -r '[.runs[] | select(.id == "contract:suite:base") | .tests[].id] | index("tests.test_clamp.test_clamp_high")' "$TMP/good.json")" null
expect "good fix: per-test results recorded on the candidate" \
	"$(jq -r '.runs[] | select(.id == "contract:suite:candidate") | .tests[] | select(.id == "tests.test_clamp.test_clamp_high") | .outcome' "$TMP/good.json")" passed

predicate() { jq -r '.grant.payload' "$TMP/$1.json" | base64 -d | jq -c ".predicate$2"; }
expect "good fix: the grant carries the contract's per-test evidence" \
	"$(predicate good '.gates.rules[] | select(.rule == "contract:suite") | .evidence.preexisting')" \
	'["tests.test_flaky_env.test_known_failure"]'
expect "good fix: the grant carries the reproduction's outcomes" \
	"$(predicate good ".gates.rules[] | select(.rule == \"reproduce:$HIGH\") | .evidence.outcomes")" \
	'{"base":"failed","candidate":"passed"}'
expect "good fix: the grant counts and digests each run's test outcomes" \
	"$(predicate good '.gates.runs[] | select(.id == "contract:suite:candidate") | [.tree, .tests.passed, .tests.failed, (.tests.digest.sha256 | length)]')" \
	'["candidate",5,1,64]'
expect "good fix: the digest is that of the recorded outcomes" \
	"$(predicate good '.gates.runs[] | select(.id == "contract:suite:candidate") | .tests.digest.sha256' | tr -d '"')" \
	"$(jq -cj '.runs[] | select(.id == "contract:suite:candidate") | .tests' "$TMP/good.json" | sha256sum | cut -d' ' -f1)"

# --- a fix that breaks an existing test under a whole-suite contract -----------------------
expect "regression: accepted" "$(propose regress py main "$TMP/t_high.diff" "$TMP/fix_breaks_add.diff" "$HIGH")" 202
expect "regression: rejected" "$(state regress)" rejected
expect "regression: the reproduction alone would pass" "$(rule regress "reproduce:$HIGH" | jq -r .result)" SATISFIED
expect "regression: the contract is UNSATISFIED" "$(rule regress contract:suite | jq -r .result)" UNSATISFIED
expect_match "regression: the broken test is named in the reason" "$(rule regress contract:suite | jq -r .reason)" \
	'tests\.test_add\.test_add_negative.*|regression'
expect "regression: and in the evidence" "$(rule regress contract:suite | jq -r '.evidence.regressions[0]')" \
	"tests.test_add.test_add_negative"

# --- a new test that rewrites another test file while it runs ------------------------------
expect "sabotage: accepted" "$(propose sabotage py main "$TMP/t_sabotage.diff" "$TMP/fix_breaks_add.diff" "$HIGH")" 202
expect "sabotage: rejected" "$(state sabotage)" rejected
expect "sabotage: the regression is still seen" "$(rule sabotage contract:suite | jq -r '.evidence.regressions[0]')" \
	"tests.test_add.test_add_negative"
cand=$(jq -r .candidate.commit "$TMP/sabotage.json")
expect "sabotage: the candidate commit keeps the real test file" \
	"$(git -C "$TMP/py" show "$cand:tests/test_add.py" | grep -c 'add(-2, -3)')" 1

# --- a fail_to_pass id that names a module without tests ----------------------------------
expect "no tests: accepted" "$(propose notests py main "$TMP/t_empty.diff" "$TMP/fix.diff" tests/test_empty.py)" 202
expect "no tests: rejected" "$(state notests)" rejected
expect "no tests: the reproduction is ERROR" "$(rule notests reproduce:tests/test_empty.py | jq -r .result)" ERROR
expect_match "no tests: it says no test ran" "$(rule notests reproduce:tests/test_empty.py | jq -r .reason)" 'no test ran'

# --- one test named twice is refused at the door -------------------------------------------
expect "duplicate ids: 400" "$(propose dup py main "$TMP/t_high.diff" "$TMP/fix.diff" "$HIGH" "$HIGH")" 400
expect "duplicate ids: says so" "$(jq -r .detail "$TMP/dup.json")" "fail_to_pass: a test id is named twice"

# --- a test id the report does not have ----------------------------------------------------
expect "unknown id: accepted" "$(propose unknown py main "$TMP/t_high.diff" "$TMP/fix.diff" "tests/test_clamp.py::test_clamp_higher")" 202
expect "unknown id: rejected" "$(state unknown)" rejected
expect_match "unknown id: ERROR, not in the report" \
	"$(rule unknown reproduce:tests/test_clamp.py::test_clamp_higher | jq -r '.result + " " + .reason')" '^ERROR .*(not in the report|no test ran)'

# --- exit codes only: a contract failing on base cannot make a candidate failure harmless --
expect "exit codes: accepted" "$(propose exitonly pyexit main "$TMP/t_high.diff" "$TMP/fix_breaks_add.diff" "$HIGH")" 202
expect "exit codes: rejected" "$(state exitonly)" rejected
expect "exit codes: suite failing on both sides is ERROR, not allowed" "$(rule exitonly contract:suite | jq -r .result)" ERROR
expect "exit codes: a missing test runner is ERROR, not allowed" "$(rule exitonly contract:lint | jq -r .result)" ERROR
expect_match "exit codes: the reason says why" "$(rule exitonly contract:lint | jq -r .reason)" 'without a per-test report'

# --- attributes: a nested .gitattributes needs a human; one that changes checkout bytes is refused
nested_attr() { fix_clamp && mkdir -p docs && printf '*.md diff=markdown\n' >docs/.gitattributes; }
ident_attr() { fix_clamp && printf '*.py ident\n' >.gitattributes.tmp && mkdir -p pkg && mv .gitattributes.tmp pkg/.gitattributes; }
diff_of py nested_attr >"$TMP/nested_attr.diff"
macro_attr() { fix_clamp && mkdir -p lib && printf '[attr]plain ident\n*.py plain\n' >lib/.gitattributes; }
diff_of py ident_attr >"$TMP/ident_attr.diff"
diff_of py macro_attr >"$TMP/macro_attr.diff"
expect "nested .gitattributes: accepted" "$(propose nattr py main "$TMP/t_high.diff" "$TMP/nested_attr.diff" "$HIGH")" 202
expect "nested .gitattributes: waits for a human" "$(state nattr)" awaiting_approval
expect_match "nested .gitattributes: the approval rule names it" "$(rule nattr approval | jq -r .reason)" 'docs/\.gitattributes'
expect "an attribute that changes checkout bytes: accepted" "$(propose iattr py main "$TMP/t_high.diff" "$TMP/ident_attr.diff" "$HIGH")" 202
expect "an attribute that changes checkout bytes: rejected" "$(state iattr)" rejected
expect_match "an attribute that changes checkout bytes: the reason names file and attribute" \
	"$(reason iattr)" 'pkg/\.gitattributes sets ident'
expect "ident smuggled through a macro: accepted" "$(propose mattr py main "$TMP/t_high.diff" "$TMP/macro_attr.diff" "$HIGH")" 202
expect_match "ident smuggled through a macro: refused all the same" "$(state mattr) $(reason mattr)" \
	'^rejected .*lib/\.gitattributes sets ident'

# --- existing tests cannot be weakened without a human -------------------------------------
weaken() { add_high_test && sed -i 's/assert add(-2, -3) == -5/assert True/' tests/test_add.py; }
drop_test() { add_high_test && git rm -q tests/test_add.py; }
diff_of py weaken >"$TMP/t_weaken.diff"
diff_of py drop_test >"$TMP/t_drop.diff"
expect "weakened test: accepted" "$(propose weaken py main "$TMP/t_weaken.diff" "$TMP/fix.diff" "$HIGH")" 202
expect "weakened test: waits for a human" "$(state weaken)" awaiting_approval
expect_match "weakened test: the changed test is named" "$(rule weaken approval | jq -r .reason)" \
	'changes existing tests: tests/test_add\.py'
expect "weakened test: and listed in the evidence" "$(rule weaken approval | jq -r '.evidence.changed_tests[0].path')" \
	tests/test_add.py
expect "weakened test hiding a regression: accepted" "$(propose weaken2 py main "$TMP/t_weaken.diff" "$TMP/fix_breaks_add.diff" "$HIGH")" 202
expect "weakened test hiding a regression: never granted without a human" "$(state weaken2)" awaiting_approval
expect_match "weakened test hiding a regression: the human is told which test changed" \
	"$(rule weaken2 approval | jq -r .reason)" 'tests/test_add\.py \(1 line'

expect "deleted test: accepted" "$(propose droptest py main "$TMP/t_drop.diff" "$TMP/fix.diff" "$HIGH")" 202
expect "deleted test: rejected, its tests are missing on the candidate" \
	"$(rule droptest contract:suite | jq -r '.result + " " + .evidence.regressions[0]')" \
	"UNSATISFIED tests.test_add.test_add"

# --- true bases ----------------------------------------------------------------------------
git -C "$TMP/py.work" checkout -q -b feature
echo "# side" >>"$TMP/py.work/mathlib.py"
git -C "$TMP/py.work" -c user.name=e2e -c user.email=e2e@localhost commit -qam side
git -C "$TMP/py.work" push -q origin feature
side=$(git -C "$TMP/py.work" rev-parse HEAD)
git -C "$TMP/py.work" checkout -q main
expect "base on another branch: 400" "$(propose offbranch py feature "$TMP/t_high.diff" "$TMP/fix.diff" "$HIGH")" 400
expect "base on another branch: says why" "$(jq -r .error "$TMP/offbranch.json")" "base is not on a protected branch"
expect "base as a commit off every protected branch: 400" "$(propose offcommit py "$side" "$TMP/t_high.diff" "$TMP/fix.diff" "$HIGH")" 400
good_cand=$(jq -r .candidate.commit "$TMP/good.json")
expect "base as another proposal's candidate: 400" "$(propose oncand py "$good_cand" "$TMP/t_high.diff" "$TMP/fix.diff" "$HIGH")" 400
expect "base that does not resolve: 400" "$(propose nobase py no-such-branch "$TMP/t_high.diff" "$TMP/fix.diff" "$HIGH")" 400
main_parent=$(git -C "$TMP/py" rev-parse main)
expect "base as a commit on main: accepted" "$(propose oncommit py "$main_parent" "$TMP/t_high.diff" "$TMP/fix.diff" "$HIGH")" 202
expect "base as a commit on main: granted" "$(state oncommit)" granted

# --- the same proof from unittest (xmlrunner), node --test and a Check suite (TAP) ----------
uni_high() {
	cat >>tests/test_clamp.py <<'EOF'

    def test_high(self):
        self.assertEqual(clamp(15, 0, 10), 10)
EOF
}
uni_empty() { printf 'import unittest\n\nfrom mathlib import HIGH  # noqa: the patch adds it\n' >tests/test_empty.py; }
add_high_const() { fix_clamp && echo 'HIGH = True' >>mathlib.py; }
diff_of uni uni_high >"$TMP/u_high.diff"
diff_of uni fix_and_break >"$TMP/u_breaks.diff"
diff_of uni fix_clamp >"$TMP/u_fix.diff"
diff_of uni uni_empty >"$TMP/u_empty.diff"
diff_of uni add_high_const >"$TMP/u_fix_const.diff"
UHIGH=tests.test_clamp.TestClamp.test_high
expect "unittest: good fix accepted" "$(propose ugood uni main "$TMP/u_high.diff" "$TMP/u_fix.diff" "$UHIGH")" 202
expect "unittest: good fix granted" "$(state ugood)" granted
expect "unittest: per-test results from xmlrunner" \
	"$(jq -r '.runs[] | select(.id == "contract:suite:candidate") | .tests | length' "$TMP/ugood.json")" 4
expect "unittest: regression accepted" "$(propose ubad uni main "$TMP/u_high.diff" "$TMP/u_breaks.diff" "$UHIGH")" 202
expect "unittest: regression rejected, the test named" "$(rule ubad contract:suite | jq -r '.result + " " + .evidence.regressions[0]')" \
	"UNSATISFIED tests.test_add.TestAdd.test_add_negative"
expect "unittest: 'Ran 0 tests' accepted" "$(propose uempty uni main "$TMP/u_empty.diff" "$TMP/u_fix_const.diff" tests.test_empty)" 202
expect "unittest: 'Ran 0 tests' is no reproduction" "$(state uempty)" rejected
expect "unittest: 'Ran 0 tests' is ERROR" "$(rule uempty reproduce:tests.test_empty | jq -r .result)" ERROR

node_high() {
	cat >>test/lib.test.js <<'EOF'
test('clamp high', () => assert.strictEqual(clamp(15, 0, 10), 10));
EOF
}
node_fix() { sed -i 's/(x < lo ? lo : x)/(x < lo ? lo : x > hi ? hi : x)/' lib.js; }
node_fix_break() { node_fix && sed -i 's/a + b/a + Math.abs(b)/' lib.js; }
diff_of node node_high >"$TMP/n_high.diff"
diff_of node node_fix >"$TMP/n_fix.diff"
diff_of node node_fix_break >"$TMP/n_breaks.diff"
expect "node: good fix accepted" "$(propose ngood node main "$TMP/n_high.diff" "$TMP/n_fix.diff" "clamp high")" 202
expect "node: good fix granted" "$(state ngood)" granted
expect "node: regression accepted" "$(propose nbad node main "$TMP/n_high.diff" "$TMP/n_breaks.diff" "clamp high")" 202
expect "node: regression rejected, the test named" "$(rule nbad contract:suite | jq -r '.result + " " + .evidence.regressions[0]')" \
	"UNSATISFIED add negative"

c_fix() { sed -i 's/(void)hi;/if (x > hi)\n\t\treturn hi;/' src/calc.c; }
c_break() { sed -i 's/return a + b;/return a - b;/' src/calc.c; }
diff_of c c_fix >"$TMP/c_fix.diff"
diff_of c c_break >"$TMP/c_break.diff"
expect "check: a harmless fix accepted" "$(propose cgood c main "" "$TMP/c_fix.diff")" 202
expect "check: a harmless fix granted" "$(state cgood)" granted
expect "check: per-test results from Check's TAP" \
	"$(jq -r '[.runs[] | select(.id == "contract:check:candidate") | .tests[].id] | join(",")' "$TMP/cgood.json")" \
	"tests/check_calc.c:core:add,tests/check_calc.c:core:add_negative,tests/check_calc.c:core:clamp_low"
expect "check: a regression accepted" "$(propose cbad c main "" "$TMP/c_break.diff")" 202
expect "check: a regression rejected, the test named" "$(rule cbad contract:check | jq -r '.result + " " + .evidence.regressions[0]')" \
	"UNSATISFIED tests/check_calc.c:core:add"

stop_server
expect "the server stops cleanly" "$?" 0
summary
