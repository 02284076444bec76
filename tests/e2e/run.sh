#!/bin/bash
# End-to-end: the real server, a real git repository, real sandboxes, real grants.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e.XXXXXX)
cleanup() { stop_server || true; rm -rf "$TMP"; }
trap cleanup EXIT
EX="$ROOT/examples/calc"
ID=$(cat "$EX/TEST_ID")

# --- set-up: a repository made here, a config registering it, tokens for each role -----
make_example_repo "$TMP/repo"
jq --arg path "$TMP/repo" '{repos: {example: {path: $path, policy: .repos.example.policy}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"
DATA="$TMP/data"
AGENT=$("$AIRLOCK" token add --data "$DATA" --name agent-1 --role agent)
REVIEWER=$("$AIRLOCK" token add --data "$DATA" --name rev-1 --role reviewer)
expect_match "token add prints a bearer token" "$AGENT" '^alk_[0-9a-f]{64}$'
expect "the data dir keeps no token in clear" "$(grep -rlF "$AGENT" "$DATA" | wc -l)" "0"
start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }
ok "server starts and answers /healthz"
refs_before=$(git -C "$TMP/repo" for-each-ref --format='%(refname) %(objectname)')

submit() { # submit NAME TEST_PATCH PATCH [extra args]: runs `airlock submit --wait`
	local name=$1 tp=$2 p=$3
	shift 3
	local targs=()
	[ -n "$tp" ] && targs=(--test-patch "$tp")
	(cd "$TMP" && "$AIRLOCK" submit --server "$URL" --token "$AGENT" --repo example --base main \
		"${targs[@]}" --patch "$p" --fail-to-pass "$ID" --wait --out "$TMP/$name.grant" "$@") \
		>"$TMP/$name.out" 2>&1
	echo $?
}
proposal_id() { sed -n 's/^proposal \([0-9a-f]*\)$/\1/p' "$TMP/$1.out"; }

# --- a correct fix gets a grant that `airlock verify` accepts ---------------------------
rc=$(submit good "$EX/test.patch" "$EX/fix.patch")
expect "correct fix: submit exits 0" "$rc" "0"
expect_match "correct fix: verdict printed" "$(cat "$TMP/good.out")" '^verdict: granted'
# the runner, confined, tried the signing key and the database and could read neither
expect_match "the runner confined itself and could not read the key or the database" \
	"$(grep 'event=runner.confined' "$DATA.log" | head -1)" 'hidden=[1-9][0-9]* secrets_unreadable=2 '
# a job that does not say what to hide is not run at all
mkdir -p "$TMP/bare-job"
printf 'diff --git a/x b/x\n' >"$TMP/bare-job/patch.diff"
printf '{"repo_path":"%s","base":"main","patch_file":"patch.diff","plan":[]}' "$TMP/repo" \
	>"$TMP/bare-job/job.json"
"$AIRLOCK" runner --job "$TMP/bare-job" 2>/dev/null
expect "a job without confinement: the runner refuses it" \
	"$(jq -r .error "$TMP/bare-job/result.json")" "job: no confinement (confine.hide)"
GOOD=$(proposal_id good)
out=$("$AIRLOCK" verify --key "$DATA/signing.pub" --repo example "$TMP/good.grant" 2>&1)
expect "verify accepts the grant" "$?" "0"
expect_match "verify prints a one-line summary" "$out" "^valid: write refs/heads/airlock/$GOOD in example"
r=$(http GET "/v1/proposals/$GOOD" "$AGENT")
body=${r#* }
expect "GET proposal: 200" "${r%% *}" "200"
expect "GET proposal: state granted" "$(jq -r .state <<<"$body")" "granted"
expect "GET proposal: base commit is main" "$(jq -r .base_commit <<<"$body")" \
	"$(git -C "$TMP/repo" rev-parse main)"
expect "reproduction fails on base" \
	"$(jq -r '.runs[] | select(.rule=="reproduce" and .side=="base") | .status' <<<"$body")" "RE"
expect "reproduction passes on candidate" \
	"$(jq -r '.runs[] | select(.rule=="reproduce" and .side=="candidate") | .status' <<<"$body")" "OK"
expect "contract passes on candidate" \
	"$(jq -r '.runs[] | select(.rule=="contract" and .side=="candidate") | .status' <<<"$body")" "OK"
expect_match "run records carry time and memory" \
	"$(jq -c '.runs[0] | [.wall_ms, .cpu_ms, .max_rss_kb] | map(type)' <<<"$body")" '^\["number","number","number"\]$'
commit=$(jq -r .candidate.commit <<<"$body")
expect "candidate commit exists in the repository" "$(git -C "$TMP/repo" cat-file -t "$commit")" "commit"
expect "candidate tree matches the commit" "$(git -C "$TMP/repo" rev-parse "$commit^{tree}")" \
	"$(jq -r .candidate.tree <<<"$body")"
expect "candidate's parent is the base" "$(git -C "$TMP/repo" rev-parse "$commit^")" \
	"$(git -C "$TMP/repo" rev-parse main)"
payload=$(jq -r .payload "$TMP/good.grant" | base64 -d)
expect "grant subject binds the candidate commit" \
	"$(jq -r '.subject[0].digest.gitCommit' <<<"$payload")" "$commit"
expect "grant subject binds the patch bytes" "$(jq -r '.subject[1].digest.sha256' <<<"$payload")" \
	"$(sha256sum <"$EX/fix.patch" | cut -d' ' -f1)"
expect "grant keyid is sha256 of the raw public key" "$(jq -r '.signatures[0].keyid' "$TMP/good.grant")" \
	"$(curl -s "$URL/v1/keys" | jq -r '.keys[0].public_key' | base64 -d | sha256sum | cut -d' ' -f1)"
r=$(http GET "/v1/proposals/$GOOD/grant" "$AGENT")
expect "GET grant returns the signed envelope" "$(jq -r .payloadType <<<"${r#* }")" \
	"application/vnd.in-toto+json"
curl -s "$URL/v1/keys" | jq -r '.keys[0].public_key_pem' >"$TMP/keys.pem"
"$AIRLOCK" verify --key "$TMP/keys.pem" --repo example "$TMP/good.grant" >/dev/null 2>&1
expect "verify accepts the key published at /v1/keys" "$?" "0"
"$AIRLOCK" verify --key "$DATA/signing.pub" --commit "$commit" --repo example \
	--ref "refs/heads/airlock/$GOOD" "$TMP/good.grant" >/dev/null 2>&1
expect "verify accepts matching bindings" "$?" "0"
"$AIRLOCK" verify --key "$DATA/signing.pub" --repo example \
	--commit 0000000000000000000000000000000000000000 "$TMP/good.grant" >/dev/null 2>&1
expect "verify refuses a grant for another commit (exit 4)" "$?" "4"

# --- a tampered grant fails ---------------------------------------------------------------
python_free_tamper() { # flips one byte of the payload and re-encodes it
	local p
	p=$(jq -r .payload "$1" | base64 -d | sed 's/"tier":1/"tier":2/' | base64 -w0)
	jq --arg p "$p" '.payload = $p' "$1" >"$2"
}
python_free_tamper "$TMP/good.grant" "$TMP/tampered.grant"
expect "tampered payload differs by one byte" \
	"$(cmp -l <(jq -r .payload "$TMP/good.grant" | base64 -d) <(jq -r .payload "$TMP/tampered.grant" | base64 -d) | wc -l)" "1"
out=$("$AIRLOCK" verify --key "$DATA/signing.pub" --repo example "$TMP/tampered.grant" 2>&1)
expect "verify rejects a tampered grant (exit 1)" "$?" "1"
expect_match "verify names the reason" "$out" 'signature does not verify'
"$AIRLOCK" keygen --data "$TMP/otherkey" >/dev/null
"$AIRLOCK" verify --key "$TMP/otherkey/signing.pub" --repo example "$TMP/good.grant" >/dev/null 2>&1
expect "verify rejects the grant under another key" "$?" "1"

# --- rejections, each with its reason -----------------------------------------------------
rc=$(submit already "$EX/bad/already-passes.patch" "$EX/fix.patch")
expect "already-passing reproduction: submit exits non-zero" "$rc" "1"
expect_match "already-passing reproduction: reason" "$(cat "$TMP/already.out")" \
	'^verdict: rejected: .*already passes on base'
[ -e "$TMP/already.grant" ] && not_ok "no grant file for a rejection" || ok "no grant file for a rejection"

rc=$(submit contract "$EX/test.patch" "$EX/bad/breaks-contract.patch")
expect "contract-breaking fix: submit exits non-zero" "$rc" "1"
expect_match "contract-breaking fix: reason" "$(cat "$TMP/contract.out")" \
	'^verdict: rejected: contract .* fails on candidate'

rc=$(submit noapply "$EX/test.patch" "$EX/bad/does-not-apply.patch")
expect "patch that does not apply: submit exits non-zero" "$rc" "1"
expect_match "patch that does not apply: names the file" "$(cat "$TMP/noapply.out")" \
	'^verdict: rejected: patch does not apply: src/'

rc=$(submit testpath "$EX/test.patch" "$EX/bad/touches-tests.patch")
expect "patch touching a test path: submit exits non-zero" "$rc" "1"
expect_match "patch touching a test path: reason" "$(cat "$TMP/testpath.out")" \
	'^verdict: rejected: patch touches test path tests/'

# patches made with real git in a clone: a symlink to /etc/passwd, and an AWS-key-shaped
# string; each is refused before anything runs, and the key never appears in the answer
git clone -q "$TMP/repo" "$TMP/scratch"
(cd "$TMP/scratch" && git apply "$EX/test.patch" && git apply "$EX/fix.patch" &&
	ln -s /etc/passwd src/passwd && git add -A && git diff --cached -- src >"$TMP/symlink.patch" &&
	git reset -q --hard && git apply "$EX/test.patch" && git apply "$EX/fix.patch" &&
	printf 'static const char *k = "AKIAIOSFODNN7EXAMPLE";\n' >>src/calc.c &&
	git diff -- src >"$TMP/secret.patch")
rc=$(submit symlink "$EX/test.patch" "$TMP/symlink.patch")
expect "patch adding a symlink to /etc/passwd: submit exits non-zero" "$rc" "1"
expect_match "patch adding a symlink: reason" "$(cat "$TMP/symlink.out")" \
	'^verdict: rejected: patch makes src/passwd a symlink'
rc=$(submit secret "$EX/test.patch" "$TMP/secret.patch")
expect "patch with an AWS key: submit exits non-zero" "$rc" "1"
expect_match "patch with an AWS key: names file and line" "$(cat "$TMP/secret.out")" \
	'^verdict: rejected: secret-like AWS access key id in added line: src/calc\.c:[0-9]+'
r=$(http GET "/v1/proposals/$(proposal_id secret)" "$AGENT")
expect "the key is in no verdict or record" "$(grep -c AKIAIOSFODNN7EXAMPLE <<<"$(jq -c '.verdict, .runs' <<<"${r#* }")")" "0"
expect "nothing ran for a statically rejected patch" "$(jq '.runs | length' <<<"${r#* }")" "0"

r=$(http GET "/v1/proposals/$(proposal_id already)/grant" "$AGENT")
expect "GET grant of a rejected proposal: 404" "${r%% *}" "404"
r=$(http GET "/v1/proposals?state=granted" "$AGENT")
expect "list by state shows the granted proposal" \
	"$(jq -r --arg id "$GOOD" '[.proposals[] | select(.id == $id)] | length' <<<"${r#* }")" "1"
expect "list by state shows only that state" \
	"$(jq -r '[.proposals[] | select(.state != "granted")] | length' <<<"${r#* }")" "0"
refs_after=$(git -C "$TMP/repo" for-each-ref --format='%(refname) %(objectname)' refs/heads refs/tags)
expect "no branch or tag in the repository moved" "$refs_after" "$refs_before"
expect "the grant is a note on the candidate commit" \
	"$(git -C "$TMP/repo" notes --ref=airlock show "$(http GET "/v1/proposals/$GOOD" "$AGENT" | cut -d" " -f2- | jq -r .candidate.commit)" | jq -cS .)" \
	"$(jq -cS . "$TMP/good.grant")"

# --- the CLI: no test patch, a title, a missing flag named --------------------------------
out=$(cd "$TMP" && "$AIRLOCK" submit --server "$URL" --token "$AGENT" --repo example --base main \
	--patch "$EX/fix.patch" --fail-to-pass "$ID" --title "fix add" 2>&1)
expect "submit without --test-patch is taken (exit 0)" "$?" "0"
cli_id=$(sed -n 's/^proposal \([0-9a-f]*\)$/\1/p' <<<"$out")
expect "its title is kept" "$(http GET "/v1/proposals/$cli_id" "$AGENT" | sed 's/^200 //' | jq -r .title)" "fix add"
expect "it carries no test patch" \
	"$(http GET "/v1/proposals/$cli_id/patch" "$AGENT" | sed 's/^200 //' | jq -r .test_patch)" "null"
out=$("$AIRLOCK" submit --server "$URL" --token "$AGENT" --base main --patch "$EX/fix.patch" 2>&1)
expect "a missing --repo: usage exit 64" "$?" "64"
expect_match "the error names the flag" "$out" "^airlock: submit: missing --repo NAME"
out=$("$AIRLOCK" submit --help)
expect "submit --help: exit 0" "$?" "0"
expect_match "submit --help prints the usage and --title" "$out" "--title TEXT"
for cmd in "help status" "token add --help" "key list --help" "audit --help" "sandbox --help" \
	"doctor --help" "verify --help" "approve --help"; do
	out=$("$AIRLOCK" $cmd 2>&1)
	rc=$?
	expect "airlock $cmd: exit 0" "$rc" "0"
	name=${cmd#help }
	expect_match "airlock $cmd: prints the usage" "$out" "^usage: airlock ${name%% *}"
done
"$AIRLOCK" frob >/dev/null 2>&1
expect "an unknown command: exit 64" "$?" "64"
"$AIRLOCK" serve --bogus >/dev/null 2>&1
expect "an unknown option: exit 64" "$?" "64"
"$AIRLOCK" token add --data "$TMP/x" --name n >/dev/null 2>&1
expect "token add without --role: exit 64" "$?" "64"

# --- every error status, with a JSON body naming the problem -------------------------------
jq -n --rawfile p "$EX/fix.patch" --arg id "$ID" \
	'{repo: "example", base: "main", patch: $p, fail_to_pass: [$id]}' >"$TMP/body.json"
printf '{"repo": "example", ' >"$TMP/malformed.json"
r=$(http POST /v1/proposals "$AGENT" "$TMP/malformed.json")
expect "malformed JSON: 400" "${r%% *}" "400"
expect "malformed JSON: error named" "$(jq -r .error <<<"${r#* }")" "malformed JSON"
# the parser's message quotes the input near the error, here cutting a character in two
printf '{"t\\u00\xc3\xaf"}' >"$TMP/cut.json"
r=$(http POST /v1/proposals "$AGENT" "$TMP/cut.json")
expect "malformed JSON whose error quotes half a character: 400, named" \
	"${r%% *} $(jq -r .error <<<"${r#* }")" "400 malformed JSON"
r=$(http POST "/v1/proposals/$GOOD/approve" "$REVIEWER" "$TMP/cut.json")
expect_match "the same body to approve: 400 malformed JSON, not a 500" \
	"${r%% *} $(jq -r .detail <<<"${r#* }")" '^400 malformed JSON: '
r=$(http POST /v1/proposals "" "$TMP/body.json")
expect "missing token: 401" "${r%% *}" "401"
r=$(http POST /v1/proposals "alk_0000" "$TMP/body.json")
expect "bad token: 401" "${r%% *}" "401"
r=$(http POST /v1/proposals "$REVIEWER" "$TMP/body.json")
expect "reviewer cannot propose: 403" "${r%% *}" "403"
jq '.repo = "nope"' "$TMP/body.json" >"$TMP/norepo.json"
r=$(http POST /v1/proposals "$AGENT" "$TMP/norepo.json")
expect "unknown repo: 404" "${r%% *}" "404"
r=$(http GET /v1/proposals/0123456789abcdef0123456789abcdef "$AGENT")
expect "unknown id: 404" "${r%% *}" "404"
expect_match "errors are JSON with error and detail" "${r#* }" '"error":.*"detail":'
head -c $((9 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$TMP/big.json"
r=$(http POST /v1/proposals "$AGENT" "$TMP/big.json")
expect "body over 8 MiB: 413" "${r%% *}" "413"
jq '.fail_to_pass = ["--help"]' "$TMP/body.json" >"$TMP/optid.json"
r=$(http POST /v1/proposals "$AGENT" "$TMP/optid.json")
expect "test id that looks like an option: 400" "${r%% *}" "400"
jq '.fail_to_pass = ["a;rm -rf /"]' "$TMP/body.json" >"$TMP/shellid.json"
r=$(http POST /v1/proposals "$AGENT" "$TMP/shellid.json")
expect "test id with shell characters: 400" "${r%% *}" "400"
jq '.base = "--upload-pack=touch /tmp/pwned"' "$TMP/body.json" >"$TMP/optbase.json"
r=$(http POST /v1/proposals "$AGENT" "$TMP/optbase.json")
expect "base that looks like an option: 400" "${r%% *}" "400"
expect_match "base that looks like an option: named" "${r#* }" '"detail":"base: '
jq '.provenance = {"agent": "a", "prompt_sha256": "not-hex"}' "$TMP/body.json" >"$TMP/badprov.json"
r=$(http POST /v1/proposals "$AGENT" "$TMP/badprov.json")
expect "provenance with a malformed digest: 400" "${r%% *}" "400"
jq '.approve_myself = true' "$TMP/body.json" >"$TMP/extra.json"
r=$(http POST /v1/proposals "$AGENT" "$TMP/extra.json")
expect "unknown body field: 400" "${r%% *}" "400"
expect "unknown body field: named" "$(jq -r .detail <<<"${r#* }")" "approve_myself: unknown field"
jq '.patch = 5' "$TMP/body.json" >"$TMP/badtype.json"
r=$(http POST /v1/proposals "$AGENT" "$TMP/badtype.json")
expect "patch of the wrong type: 400" "${r%% *}" "400"
r=$(http GET "/v1/proposals?state=bogus" "$AGENT")
expect "unknown state filter: 400" "${r%% *}" "400"
r=$(http DELETE /v1/proposals/$GOOD "$AGENT")
expect "wrong method: 405" "${r%% *}" "405"
r=$(http GET /v1/nothing "")
expect "unknown route: 404" "${r%% *}" "404"
# seven submitted by `submit --wait` above and the one without a test patch
count=$(curl -s -H "Authorization: Bearer $AGENT" "$URL/v1/proposals" | jq '.proposals | length')
expect "rejected requests left no proposal behind" "$count" "8"
expect "the data dir still keeps no token in clear" "$(grep -rlF -e "$AGENT" -e "$REVIEWER" "$DATA" | wc -l)" "0"

# --- a bad config is refused at start, naming the key ---------------------------------
jq '.repos.example.policy.reproduce.comand = ["x"]' "$TMP/config.json" >"$TMP/bad1.json"
out=$("$AIRLOCK" serve --config "$TMP/bad1.json" --data "$TMP/d1" --listen 127.0.0.1:1 2>&1)
expect "bad config: refused" "$?" "1"
expect_match "bad config: names the key" "$out" 'repos\.example\.policy\.reproduce\.comand'
jq '.listen = 8080' "$TMP/config.json" >"$TMP/bad2.json"
out=$("$AIRLOCK" serve --config "$TMP/bad2.json" --data "$TMP/d2" 2>&1)
expect_match "bad listen: names the key" "$out" '^airlock: config: .*listen'
jq '.repos.example.path = "/nonexistent"' "$TMP/config.json" >"$TMP/bad3.json"
out=$("$AIRLOCK" serve --config "$TMP/bad3.json" --data "$TMP/d3" 2>&1)
expect_match "missing repository path: named" "$out" 'repos\.example\.path'

# --- a token revoked while the server runs stops working at once --------------------------
TEMP=$("$AIRLOCK" token add --data "$DATA" --name temp-1 --role agent)
expect "a fresh token reads" "$(http GET /v1/proposals "$TEMP" | cut -c1-3)" "200"
expect_match "token list names it, never its secret" "$("$AIRLOCK" token list --data "$DATA")" \
	"^temp-1 +agent +[0-9a-f]{12}  [0-9-]+T"
expect "token list shows no secret" "$("$AIRLOCK" token list --data "$DATA" | grep -cF "${TEMP#alk_}")" "0"
expect "token revoke says what went" "$("$AIRLOCK" token revoke --data "$DATA" temp-1)" \
	"revoked 1 token named temp-1"
expect "the revoked token is refused: 401" "$(http GET /v1/proposals "$TEMP" | cut -c1-3)" "401"
"$AIRLOCK" token revoke --data "$DATA" temp-1 2>"$TMP/revoke.err"
expect "revoking it again: exit 1" "$?" "1"
expect "and says why" "$(cat "$TMP/revoke.err")" "airlock: token revoke: no token is named temp-1"
expect "both are in the audit chain" \
	"$(db "SELECT group_concat(action) FROM audit WHERE detail LIKE 'name=temp-1%'")" \
	"token.add,token.revoke"

# --- the signing key is private --------------------------------------------------------
expect "signing key has mode 0600" "$(stat -c %a "$DATA/signing.key")" "600"
[ -e "$DATA/airlock.db-wal" ] && ok "database is in WAL mode" || not_ok "database is in WAL mode" "no $DATA/airlock.db-wal"

stop_server
rc=$?
expect "server shuts down cleanly on SIGTERM (exit 0)" "$rc" "0"
[ "$rc" -eq 0 ] || grep -B2 -A14 -E 'ERROR: |leak of' "$DATA.log" | head -60
summary
