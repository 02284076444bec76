#!/bin/bash
# End-to-end: `airlock revise` and `airlock promote` against the real server.  A rejected
# proposal revised from the command line is judged again and granted; its grant promoted
# from the command line creates the ref.  Each refusal exits 2 with the server's reason in
# one line; each usage error exits 64 naming what is missing.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-cli.XXXXXX)
cleanup() { stop_server || true; rm -rf "$TMP"; }
trap cleanup EXIT
EX="$ROOT/examples/calc"
TID=$(cat "$EX/TEST_ID")
DATA="$TMP/data"

make_example_repo "$TMP/repo"
jq --arg path "$TMP/repo" '{repos: {example: {path: $path, policy: .repos.example.policy}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
OTHER=$("$AIRLOCK" token add --data "$DATA" --name agent-2 --role agent)
ADMIN=$("$AIRLOCK" token add --data "$DATA" --name admin-1 --role admin)
start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }

run() { # run NAME CMD...: the command's output in $TMP/NAME.out, its exit status echoed
	local name=$1
	shift
	(cd "$TMP" && "$AIRLOCK" "$@") >"$TMP/$name.out" 2>&1
	echo $?
}
out() { cat "$TMP/$1.out"; }

# --- a proposal that breaks a contract is rejected ---------------------------------------
rc=$(run submit submit --server "$URL" --token "$AGENT" --repo example --base main \
	--test-patch "$EX/test.patch" --patch "$EX/bad/breaks-contract.patch" --fail-to-pass "$TID" --wait)
expect "a contract-breaking proposal is rejected (exit 1)" "$rc" "1"
ID=$(sed -n 's/^proposal \([0-9a-f]*\)$/\1/p' "$TMP/submit.out")
expect_match "it has an id" "$ID" '^[0-9a-f]{32}$'

# --- revise: usage errors (64), refusals (2) ------------------------------------------------
rc=$(run r-nopatch revise --server "$URL" --token "$AGENT" "$ID")
expect "revise without --patch: exit 64" "$rc" "64"
expect_match "it names the missing flag" "$(out r-nopatch)" '^airlock: revise: missing --patch FILE$'
rc=$(run r-noid revise --server "$URL" --token "$AGENT" --patch "$EX/fix.patch")
expect "revise without an id: exit 64" "$rc" "64"
expect_match "it names what is missing" "$(out r-noid)" '^airlock: revise: missing PROPOSAL_ID$'
rc=$(env -u AIRLOCK_TOKEN "$AIRLOCK" revise --server "$URL" --patch "$EX/fix.patch" "$ID" 2>"$TMP/r-notoken.out"; echo $?)
expect "revise without a token: exit 64" "$rc" "64"
expect_match "it names the token flags" "$(out r-notoken)" '^airlock: revise: missing --token, --token-file or AIRLOCK_TOKEN$'
rc=$(run r-badid revise --server "$URL" --token "$AGENT" --patch "$EX/fix.patch" "../../admin/pause")
expect "revise with an id that is no id: exit 64" "$rc" "64"
expect_match "it says what an id is" "$(out r-badid)" 'PROPOSAL_ID: expected 32 hex digits'
rc=$(run r-wait revise --server "$URL" --token "$AGENT" --patch "$EX/fix.patch" --wait-timeout soon "$ID")
expect "revise with a bad --wait-timeout: exit 64" "$rc" "64"
rc=$(run r-help revise --help)
expect "revise --help: exit 0" "$rc" "0"
expect_match "revise --help prints its usage" "$(out r-help)" '^usage: airlock revise .*--patch FILE'
rc=$(run r-help2 help revise)
expect "airlock help revise: exit 0" "$rc" "0"
expect_match "it prints the usage too" "$(out r-help2)" '^usage: airlock revise '
rc=$(run r-other revise --server "$URL" --token "$OTHER" --patch "$EX/fix.patch" "$ID")
expect "another agent's revision is refused: exit 2" "$rc" "2"
expect_match "with the server's reason" "$(out r-other)" '^airlock: server answered 403: forbidden: only the proposer can revise a proposal$'
rc=$(run r-admin revise --server "$URL" --token "$ADMIN" --patch "$EX/fix.patch" "$ID")
expect "an admin's revision is refused too: exit 2" "$rc" "2"
rc=$(run r-none revise --server "$URL" --token "$AGENT" --patch "$EX/fix.patch" 0123456789abcdef0123456789abcdef)
expect "revising no proposal: exit 2" "$rc" "2"
expect_match "the server says so" "$(out r-none)" '^airlock: server answered 404: '
printf 'not a patch\n' >"$TMP/junk.patch"
rc=$(run r-missingfile revise --server "$URL" --token "$AGENT" --patch "$TMP/nope.patch" "$ID")
expect "a patch file that is not there: exit 1" "$rc" "1"
expect "nothing was revised by the refusals" \
	"$(http GET "/v1/proposals/$ID" "$AGENT" | sed 's/^200 //' | jq -c '[.state, .revision]')" '["rejected",1]'

# --- promote before a grant is refused ------------------------------------------------------
rc=$(run p-early promote --server "$URL" --token "$ADMIN" "$ID")
expect "promoting a rejected proposal: exit 2" "$rc" "2"
expect_match "the server says why" "$(out p-early)" '^airlock: server answered 409: .*proposal is rejected, not granted'

# --- revise: the fix, judged again and granted -----------------------------------------------
rc=$(run r-ok revise --server "$URL" --token "$AGENT" --patch "$EX/fix.patch" \
	--test-patch "$EX/test.patch" --fail-to-pass "$TID" --wait --out "$TMP/rev.grant" "$ID")
expect "revise --wait with the fix: exit 0 (granted)" "$rc" "0"
expect_match "it says the revision is queued" "$(out r-ok)" "proposal $ID revision 2 queued"
expect_match "then the verdict" "$(out r-ok)" '^verdict: granted'
expect "the grant is saved where --out says" "$(jq -r .payloadType "$TMP/rev.grant")" "application/vnd.in-toto+json"
expect "the proposal is at revision 2, granted" \
	"$(http GET "/v1/proposals/$ID" "$AGENT" | sed 's/^200 //' | jq -c '[.state, .revision]')" '["granted",2]'
rc=$(run r-granted revise --server "$URL" --token "$AGENT" --patch "$EX/fix.patch" "$ID")
expect "revising a granted proposal: exit 2" "$rc" "2"
expect_match "the server says why" "$(out r-granted)" '^airlock: server answered 409: conflict: proposal is granted: only a proposal awaiting approval, rejected or in error takes a revision$'

# --- promote: usage errors, refusals, then the promotion --------------------------------------
rc=$(run p-noid promote --server "$URL" --token "$ADMIN")
expect "promote without an id: exit 64" "$rc" "64"
expect_match "it names what is missing" "$(out p-noid)" '^airlock: promote: missing PROPOSAL_ID$'
rc=$(env -u AIRLOCK_TOKEN "$AIRLOCK" promote --server "$URL" "$ID" 2>"$TMP/p-notoken.out"; echo $?)
expect "promote without a token: exit 64" "$rc" "64"
expect_match "it names the token flags" "$(out p-notoken)" 'missing --token, --token-file or AIRLOCK_TOKEN'
rc=$(run p-patch promote --server "$URL" --token "$ADMIN" --patch "$EX/fix.patch" "$ID")
expect "promote with a patch: exit 64" "$rc" "64"
rc=$(run p-two promote --server "$URL" --token "$ADMIN" "$ID" "$ID")
expect "promote with two ids: exit 64" "$rc" "64"
rc=$(run p-help promote --help)
expect "promote --help: exit 0" "$rc" "0"
expect_match "promote --help prints its usage" "$(out p-help)" '^usage: airlock promote '
rc=$(run p-agent promote --server "$URL" --token "$AGENT" "$ID")
expect "an agent's promotion is refused: exit 2" "$rc" "2"
expect_match "the server says it needs an admin" "$(out p-agent)" '^airlock: server answered 403: '
expect "the ref is not there yet" "$(git -C "$TMP/repo" rev-parse -q --verify "refs/heads/airlock/$ID" || echo none)" "none"
rc=$(run p-ok promote --server "$URL" --token "$ADMIN" "$ID")
expect "promote with the admin token: exit 0" "$rc" "0"
commit=$(http GET "/v1/proposals/$ID" "$AGENT" | sed 's/^200 //' | jq -r .candidate.commit)
expect "it says what it did" "$(out p-ok)" \
	"promoted: refs/heads/airlock/$ID at $commit (a new ref), proposal $ID, by admin-1"
expect "the ref is there, at the candidate" "$(git -C "$TMP/repo" rev-parse "refs/heads/airlock/$ID")" "$commit"
expect "the grant is spent" "$(http GET "/v1/proposals/$ID" "$AGENT" | sed 's/^200 //' | jq -r .grant_state)" "spent"
rc=$(run p-again promote --server "$URL" --token "$ADMIN" "$ID")
expect "promoting again: exit 2" "$rc" "2"
expect_match "the server says the grant is used" "$(out p-again)" '^airlock: server answered 409: .*grant already used'
rc=$(run p-down promote --server "http://127.0.0.1:1" --token "$ADMIN" "$ID")
expect "no server to talk to: exit 1" "$rc" "1"
summary
