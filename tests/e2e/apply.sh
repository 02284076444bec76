#!/bin/bash
# End-to-end: patches made against an older main apply as git applies them: hunks at
# shifted lines (the offset named in the apply rule's evidence), a three-way merge with the
# blob the index line names, and a conflict refused naming the file and hunk.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e.XXXXXX)
cleanup() { stop_server || true; rm -rf "$TMP"; }
trap cleanup EXIT
EX="$ROOT/examples/calc"
ID=$(cat "$EX/TEST_ID")

# the older state is main's first commit; fix.patch and test.patch were made against it
make_example_repo "$TMP/repo"
expect "fix.patch's index line names the first commit's calc.c" \
	"$(git -C "$TMP/repo" rev-parse --short=7 main:src/calc.c)" \
	"$(sed -n 's/^index \([0-9a-f]*\)\..*/\1/p' "$EX/fix.patch" | head -1)"
jq --arg path "$TMP/repo" '{repos: {example: {path: $path, policy: .repos.example.policy}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
DATA="$TMP/data"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }
ok "server starts and answers /healthz"

commit_on_main() { # commit_on_main MESSAGE SED-SCRIPT: edits src/calc.c on main
	sed -i "$2" "$TMP/repo/src/calc.c" &&
		git -C "$TMP/repo" -c user.name=e2e -c user.email=e2e@localhost commit -qam "$1"
}
submit() { # submit NAME: test.patch and fix.patch on base main, `airlock submit --wait`
	(cd "$TMP" && "$AIRLOCK" submit --server "$URL" --token "$AGENT" --repo example \
		--base main --test-patch "$EX/test.patch" --patch "$EX/fix.patch" \
		--fail-to-pass "$ID" --wait --out "$TMP/$1.grant") >"$TMP/$1.out" 2>&1
	echo $?
}
proposal() { # proposal NAME: GET /v1/proposals/{id} of the proposal NAME submitted
	local id r
	id=$(sed -n 's/^proposal \([0-9a-f]*\)$/\1/p' "$TMP/$1.out")
	r=$(http GET "/v1/proposals/$id" "$AGENT")
	echo "${r#* }"
}
apply_rule() { # apply_rule NAME JQ: JQ of that proposal's apply rule
	jq -c ".verdict.rules[] | select(.rule==\"apply\") | $2" <<<"$(proposal "$1")"
}

# --- two lines added above the fix's hunk: it applies 2 lines further down ---------------
commit_on_main "a header comment" '1a /* calc: small integer helpers */\n/* (clamp, sum, max) */'
expect "git apply agrees the patch applies" \
	"$(git -C "$TMP/repo" apply --check "$EX/fix.patch" 2>&1; echo $?)" "0"
rc=$(submit shifted)
expect "shifted: submit exits 0" "$rc" "0"
expect_match "shifted: granted" "$(cat "$TMP/shifted.out")" '^verdict: granted'
expect "shifted: the apply rule is satisfied" "$(apply_rule shifted .result)" '"SATISFIED"'
expect "shifted: its evidence names the offset" "$(apply_rule shifted .evidence)" \
	'{"offsets":[{"which":"patch","file":"src/calc.c","hunk":1,"offset":2}],"merged":[]}'
expect "shifted: its reason counts the hunk" "$(apply_rule shifted .reason)" \
	'"patch and test patch apply (1 hunk at a shifted line)"'

# --- a line of the hunk's context changed on main: merged three-way ------------------------
commit_on_main "say why" 's|^\tif (v < lo)$|\tif (v < lo) /* below the range */|'
expect "git apply without -3 refuses it" \
	"$(git -C "$TMP/repo" apply --check "$EX/fix.patch" >/dev/null 2>&1; echo $?)" "1"
rc=$(submit merged)
expect "three-way: submit exits 0" "$rc" "0"
expect_match "three-way: granted" "$(cat "$TMP/merged.out")" '^verdict: granted'
expect "three-way: the evidence names the merged file" "$(apply_rule merged .evidence.merged)" \
	'[{"which":"patch","file":"src/calc.c"}]'
expect "three-way: its reason says so" "$(apply_rule merged .reason)" \
	'"patch and test patch apply (1 file by three-way merge)"'
commit=$(jq -r .candidate.commit <<<"$(proposal merged)")
expect "three-way: the candidate keeps main's change and has the fix" \
	"$(git -C "$TMP/repo" show "$commit:src/calc.c" | grep -cE 'below the range|return hi;')" "2"

# --- the line the fix changes changed on main too: a conflict, refused ----------------------
commit_on_main "clamp above" 's|^\t\treturn lo;$|\t\treturn lo; /* sic */|'
rc=$(submit conflict)
expect "conflict: submit exits non-zero" "$rc" "1"
expect_match "conflict: names the file and hunk" "$(cat "$TMP/conflict.out")" \
	'^verdict: rejected: patch does not apply: src/calc\.c hunk 1: conflicts with the base \(three-way merge\)'
expect "conflict: the apply rule is unsatisfied" "$(apply_rule conflict .result)" '"UNSATISFIED"'

stop_server
expect "server shuts down cleanly on SIGTERM (exit 0)" "$?" "0"
summary
