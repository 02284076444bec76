#!/bin/bash
# End-to-end: GitHub webhooks in, commit statuses out.  Deliveries are the fixtures in
# tests/e2e/github/ (shaped after GitHub's documented payloads) with the test's commits
# written in, signed here with the repository's secret; pull requests are fetched from a
# local file:// "GitHub" remote; statuses go to tests/e2e/github/receiver.mjs standing in
# for GitHub's REST API.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-github.XXXXXX)
RECV_PID=
cleanup() {
	stop_server || true
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
EX="$ROOT/examples/calc"
FIX="$ROOT/tests/e2e/github"
DATA="$TMP/data"

# --- a "GitHub" remote holding main and pull request 7 (the fix and its test) ------------
make_example_repo "$TMP/calc"
git clone -q --bare "$TMP/calc" "$TMP/origin.git"
git clone -q "$TMP/origin.git" "$TMP/work"
(cd "$TMP/work" && git checkout -q -b fix-clamp && git apply "$EX/fix.patch" "$EX/test.patch" &&
	git add -A && git -c user.name=octo-agent -c user.email=agent@example.com commit -q -m fix &&
	git push -q origin HEAD:refs/pull/7/head)
HEAD7=$(git -C "$TMP/work" rev-parse HEAD)
BASE=$(git -C "$TMP/origin.git" rev-parse main)

SECRET=$(openssl rand -hex 20)
printf '%s\n' "$SECRET" >"$TMP/webhook.secret"
printf 'ghp_test_%s\n' "$(openssl rand -hex 8)" >"$TMP/github.token"
GH_TOKEN=$(cat "$TMP/github.token")
# receiver [FAIL_FIRST_N]: (re)starts the stand-in for GitHub's API; the first time on a port
# the kernel picks, which sets RPORT, then on RPORT again
RPORT=0
receiver() {
	[ -n "$RECV_PID" ] && { kill "$RECV_PID" 2>/dev/null; wait "$RECV_PID" 2>/dev/null; }
	: >"$TMP/receiver.out" # (the line of the one before must not be read for this one)
	node "$FIX/receiver.mjs" "$RPORT" "$TMP/statuses.log" "${1:-0}" >"$TMP/receiver.out" 2>&1 &
	RECV_PID=$!
	wait_file "$TMP/receiver.out" '^receiver listening on [0-9]+$' ||
		{ cat "$TMP/receiver.out" >&2; return 1; }
	RPORT=$(sed -n 's/^receiver listening on //p' "$TMP/receiver.out")
	curl -fsS "http://127.0.0.1:$RPORT/healthz" >/dev/null
}
receiver || { not_ok "the stand-in for GitHub's API starts"; summary; exit 1; }
jq -n --arg tmp "$TMP" --arg rport "$RPORT" '{
	github: {api_base_url: "http://127.0.0.1:\($rport)", token_file: "\($tmp)/github.token"},
	public_url: "https://airlock.example.com", limits: {max_fail_to_pass: 3},
	repos: {calc: {path: "\($tmp)/calc",
		github: {repo: "octo-org/calc", secret_file: "\($tmp)/webhook.secret",
			remote: "file://\($tmp)/origin.git"},
		policy: {reproduce: {command: ["sh", "tests/run.sh"]},
			contract: [{name: "make-check", command: ["make", "check"]}],
			test_paths: ["tests/**"], timeout_s: 60}}}}' >"$TMP/config.json"
READER=$("$AIRLOCK" token add --data "$DATA" --name reader --role reviewer)
ADMIN=$("$AIRLOCK" token add --data "$DATA" --name admin --role admin)

start_server "$TMP/config.json" "$DATA"

# deliver EVENT DELIVERY_ID FILE [SECRET]: prints "STATUS BODY"
deliver() {
	local sig
	sig=$(openssl dgst -sha256 -hmac "${4:-$SECRET}" -hex <"$3" | sed 's/.*= //')
	curl -sS -o "$TMP/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "X-GitHub-Event: $1" -H "X-GitHub-Delivery: $2" \
		-H "X-Hub-Signature-256: sha256=$sig" -H 'User-Agent: GitHub-Hookshot/abc123' \
		--data-binary "@$3" "$URL/v1/webhooks/github"
	echo " $(cat "$TMP/resp")"
}
# pr_payload ACTION NUMBER HEAD OUT
pr_payload() {
	jq --arg a "$1" --argjson n "$2" --arg head "$3" --arg base "$BASE" \
		'.action = $a | .number = $n | .pull_request.number = $n |
		 .pull_request.head.sha = $head | .pull_request.base.sha = $base' \
		"$FIX/pull_request.json" >"$4"
}
count() { http GET /v1/proposals "$READER" | sed 's/^200 //' | jq '.proposals | length'; }
wait_state() { # wait_state ID STATE
	local s i
	for i in $(seq 1 300); do
		s=$(http GET "/v1/proposals/$1" "$READER" | sed 's/^200 //' | jq -r .state)
		[ "$s" = "$2" ] && break
		sleep 0.2
	done
	echo "$s"
}
# statuses_for SHA: the status bodies the receiver answered 201, in order, one per line
statuses_for() {
	[ -f "$TMP/statuses.log" ] || return 0
	jq -c --arg sha "$1" 'select(.path == "/repos/octo-org/calc/statuses/\($sha)" and .answered == 201)' \
		"$TMP/statuses.log"
}
wait_status() { # wait_status SHA STATE [SECONDS]
	local i
	for i in $(seq 1 $((${3:-30} * 5))); do
		# (not jq -e: on no input at all it exits 0)
		[ -n "$(statuses_for "$1" | jq -c --arg s "$2" 'select(.body.state == $s)' 2>/dev/null)" ] &&
			return 0
		sleep 0.2
	done
	return 1
}

# --- ping, signatures -----------------------------------------------------------------
expect_match "ping answers pong" "$(deliver ping 11111111-0000-0000-0000-000000000001 "$FIX/ping.json")" \
	'^200 \{"status":"pong"\}'
pr_payload opened 7 "$HEAD7" "$TMP/pr7.json"
expect_match "a wrong signature is refused" \
	"$(deliver pull_request 22222222-0000-0000-0000-000000000001 "$TMP/pr7.json" wrong-secret)" \
	'^401 .*X-Hub-Signature-256'
expect_match "a missing signature is refused" \
	"$(curl -sS -w ' %{http_code}' -o /dev/null -H 'X-GitHub-Event: pull_request' \
		-H 'X-GitHub-Delivery: 22222222-0000-0000-0000-000000000002' \
		--data-binary "@$TMP/pr7.json" "$URL/v1/webhooks/github")" ' 401$'
cp "$TMP/pr7.json" "$TMP/pr7-tampered.json"
sig=$(openssl dgst -sha256 -hmac "$SECRET" -hex <"$TMP/pr7.json" | sed 's/.*= //')
jq '.pull_request.title = "tampered"' "$TMP/pr7.json" >"$TMP/pr7-tampered.json"
expect_match "a body changed after signing is refused" \
	"$(curl -sS -w ' %{http_code}' -o /dev/null -H 'X-GitHub-Event: pull_request' \
		-H 'X-GitHub-Delivery: 22222222-0000-0000-0000-000000000003' \
		-H "X-Hub-Signature-256: sha256=$sig" --data-binary "@$TMP/pr7-tampered.json" \
		"$URL/v1/webhooks/github")" ' 401$'
expect "nothing was stored for them" "$(count)" "0"

# --- an opened pull request: gated, then a success status -------------------------------
out=$(deliver pull_request 22222222-0000-0000-0000-000000000001 "$TMP/pr7.json")
expect_match "the refused delivery id, now signed, is taken: the PR is queued" "$out" \
	"^202 \\{\"status\":\"queued\",\"proposal\":\"[0-9a-f]{32}\",\"head\":\"$HEAD7\",\"superseded\":\\[\\],\"invalidated\":\\[\\]\\}"
ID=$(sed 's/^202 //' <<<"$out" | jq -r .proposal)
expect "the proposal is granted" "$(wait_state "$ID" granted)" "granted"
view=$(http GET "/v1/proposals/$ID" "$READER" | sed 's/^200 //')
expect "its proposer is the PR author, its title the PR's" \
	"$(jq -c '[.proposer, .title]' <<<"$view")" \
	'["octo-agent","calc: clamp keeps values above the range at the top"]'
expect "its provenance names the pull request and head" \
	"$(jq -c '.provenance' <<<"$view")" \
	"{\"agent\":\"github\",\"author\":\"octo-agent\",\"head\":\"$HEAD7\",\"pull_request\":\"octo-org/calc#7\"}"
expect "fail_to_pass came from the PR body's fenced block" "$(jq -c .fail_to_pass <<<"$view")" '["clamp_above"]'
expect "it was gated from the merge base" "$(jq -r .base <<<"$view")" "$BASE"
expect "the test file went to the test patch" \
	"$(http GET "/v1/proposals/$ID/patch" "$READER" | sed 's/^200 //' | jq -r '[(.patch | test("tests/")), (.test_patch | test("tests/test_calc.c"))] | @csv')" \
	"false,true"
if wait_status "$HEAD7" success 30; then ok "a success status reached the API"; else not_ok "a success status reached the API" "$(cat "$TMP/statuses.log" 2>/dev/null | tail -3)"; fi
st=$(statuses_for "$HEAD7" | tail -1)
expect "it was posted to /repos/octo-org/calc/statuses/<head> with the token" \
	"$(jq -r '[.method, .path, .headers.authorization] | @tsv' <<<"$st")" \
	"$(printf 'POST\t/repos/octo-org/calc/statuses/%s\tBearer %s' "$HEAD7" "$GH_TOKEN")"
expect "its body: state, context, target_url" \
	"$(jq -c '[.body.state, .body.context, .body.target_url]' <<<"$st")" \
	"[\"success\",\"airlock/gate\",\"https://airlock.example.com/#/p/$ID\"]"
expect_match "its description is the verdict, under 140 characters" \
	"$(jq -r '.body.description' <<<"$st")" '^granted at tier 1: .{1,120}$'
expect "a pending status came first" "$(statuses_for "$HEAD7" | head -1 | jq -r .body.state)" "pending"

# --- a push to main: the outstanding grant on the old base is invalidated ----------------
(cd "$TMP/work" && git checkout -q main && echo "a newer main" >>README.md &&
	git -c user.name=e2e -c user.email=e2e@localhost commit -q -am "newer main" &&
	git push -q origin main)
MAIN2=$(git -C "$TMP/origin.git" rev-parse main)
jq --arg b "$BASE" --arg a "$MAIN2" '.before = $b | .after = $a | .head_commit.id = $a' \
	"$FIX/push.json" >"$TMP/push-main.json"
expect "the grant is outstanding before the push" \
	"$(http GET "/v1/proposals/$ID" "$READER" | sed 's/^200 //' | jq -c '[.state, .grant_state]')" \
	'["granted","unused"]'
pushed=$(deliver push 55555555-0000-0000-0000-000000000001 "$TMP/push-main.json" | sed 's/^200 //')
expect "a push to main invalidates the grant on its old commit" \
	"$(jq -c '[.status, .before, .invalidated]' <<<"$pushed")" "[\"base moved\",\"$BASE\",[\"$ID\"]]"
expect "and gates the pull request again on the new main" "$(jq -r '.regated[0] | [.number, .was] | @tsv' <<<"$pushed")" \
	"$(printf '7\t%s' "$ID")"
REGATE7=$(jq -r '.regated[0].proposal' <<<"$pushed")
expect "the proposal stays granted, its grant invalidated" \
	"$(http GET "/v1/proposals/$ID" "$READER" | sed 's/^200 //' | jq -c '[.state, .grant_state]')" \
	'["granted","invalidated"]'
expect_match "promoting the invalidated grant is refused" \
	"$(http POST "/v1/proposals/$ID/promote" "$ADMIN")" '^409 .*invalidated'
expect "the pull request, gated on the new main, is granted again" "$(wait_state "$REGATE7" granted)" granted
expect "on the new main" "$(http GET "/v1/proposals/$REGATE7" "$READER" | sed 's/^200 //' | jq -r .base_commit)" "$MAIN2"
for _ in $(seq 1 150); do
	statuses_for "$HEAD7" | tail -1 | jq -e --arg id "$REGATE7" 'select(.body.state == "success" and (.body.target_url | endswith($id)))' >/dev/null 2>&1 && break
	sleep 0.2
done
expect "the head's status is the new verdict's success" \
	"$(statuses_for "$HEAD7" | tail -1 | jq -r '.body.state + " " + (.body.target_url | split("/") | last)')" "success $REGATE7"
expect "the audit log has the invalidation, by github" \
	"$(http GET "/v1/audit?proposal=$ID" "$READER" | sed 's/^200 //' | jq -r '.entries[-1] | [.actor, .action] | @tsv')" \
	"$(printf 'github\tgrant.invalidated')"
expect "a second push from the new commit invalidates the re-gated grant" \
	"$(jq --arg b "$MAIN2" '.before = $b | .after = "4444444444444444444444444444444444444444"' "$TMP/push-main.json" >"$TMP/push2.json" &&
		deliver push 55555555-0000-0000-0000-000000000002 "$TMP/push2.json" | sed 's/^200 //' | jq -c .invalidated)" "[\"$REGATE7\"]"

# --- redelivery, ignored events --------------------------------------------------------
before=$(count)
expect_match "a redelivered delivery id changes nothing" \
	"$(deliver pull_request 22222222-0000-0000-0000-000000000001 "$TMP/pr7.json")" \
	'^200 \{"status":"duplicate"'
expect "no second proposal" "$(count)" "$before"
jq --arg r refs/tags/v1.0.0 '.ref = $r' "$FIX/push_tag.json" >"$TMP/tag.json"
expect_match "a tag push is ignored, with the reason" \
	"$(deliver push 33333333-0000-0000-0000-000000000001 "$TMP/tag.json")" \
	'^202 \{"status":"ignored","reason":"push: a tag push'
jq '.action = "labeled"' "$TMP/pr7.json" >"$TMP/labeled.json"
expect_match "an action airlock does not gate is ignored" \
	"$(deliver pull_request 33333333-0000-0000-0000-000000000002 "$TMP/labeled.json")" \
	'^202 \{"status":"ignored"'
jq '.repository.full_name = "octo-org/other"' "$TMP/pr7.json" >"$TMP/other.json"
expect_match "a delivery naming another repository than its secret's is refused" \
	"$(deliver pull_request 33333333-0000-0000-0000-000000000003 "$TMP/other.json")" '^400 '
pr_payload opened 7 "$(printf '%040d' 9)" "$TMP/moved.json"
expect_match "a head that is not the fetched one is refused" \
	"$(deliver pull_request 33333333-0000-0000-0000-000000000004 "$TMP/moved.json")" '^409 .*head is now'
jq '.pull_request.body = "```airlock-fail-to-pass\n-rf\n```"' "$TMP/pr7.json" >"$TMP/badid.json"
expect_match "an invalid test id in the fenced block is refused" \
	"$(deliver pull_request 33333333-0000-0000-0000-000000000005 "$TMP/badid.json")" \
	'^400 .*fail_to_pass block: invalid test id'
jq '.pull_request.body = "```airlock-fail-to-pass\na\nb\nc\nd\n```"' "$TMP/pr7.json" >"$TMP/manyids.json"
expect_match "more test ids than limits.max_fail_to_pass in the fenced block is refused" \
	"$(deliver pull_request 33333333-0000-0000-0000-000000000008 "$TMP/manyids.json")" \
	'^400 .*fail_to_pass block: more than 3 test ids'
jq '.pull_request.base.ref = "main/../../x"' "$TMP/pr7.json" >"$TMP/badref.json"
expect_match "a base branch name that is not a safe ref is refused" \
	"$(deliver pull_request 33333333-0000-0000-0000-000000000006 "$TMP/badref.json")" '^400 '
head -c $((25 * 1024 * 1024 + 1)) /dev/zero >"$TMP/huge.json"
expect_match "a delivery over 25 MiB is refused before it is read" \
	"$(deliver pull_request 33333333-0000-0000-0000-000000000007 "$TMP/huge.json")" '^413 '
rm -f "$TMP/huge.json"
expect "none of them made a proposal" "$(count)" "$before"

# --- synchronize supersedes a running job; closed cancels --------------------------------
# pull request 8: the fix with a test run slowed down, so that its job is still running
(cd "$TMP/work" && git checkout -q -b slow "$BASE" && git apply "$EX/fix.patch" "$EX/test.patch" &&
	sed -i 's/^set -u$/set -u; sleep 20/' tests/run.sh && git add -A &&
	git -c user.name=octo-agent -c user.email=agent@example.com commit -q -m "slow fix" &&
	git push -q origin HEAD:refs/pull/8/head)
HEAD8A=$(git -C "$TMP/work" rev-parse HEAD)
pr_payload opened 8 "$HEAD8A" "$TMP/pr8a.json"
P8A=$(deliver pull_request 66666666-0000-0000-0000-000000000001 "$TMP/pr8a.json" | sed 's/^202 //' | jq -r .proposal)
expect "pull request 8 is running" "$(wait_state "$P8A" running)" "running"
for _ in $(seq 1 300); do pgrep -f "runner --job .*/jobs/$P8A" >/dev/null && break; sleep 0.1; done
expect_match "its runner is up" "$(pgrep -f "runner --job .*/jobs/$P8A" | head -1)" '^[0-9]+$'
(cd "$TMP/work" && sed -i 's/sleep 20/sleep 21/' tests/run.sh &&
	git -c user.name=octo-agent -c user.email=agent@example.com commit -q -am "slower" &&
	git push -q -f origin HEAD:refs/pull/8/head)
HEAD8B=$(git -C "$TMP/work" rev-parse HEAD)
pr_payload synchronize 8 "$HEAD8B" "$TMP/pr8b.json"
jq --arg b "$HEAD8A" --arg a "$HEAD8B" '.before = $b | .after = $a' "$TMP/pr8b.json" >"$TMP/pr8b2.json"
out=$(deliver pull_request 66666666-0000-0000-0000-000000000002 "$TMP/pr8b2.json")
P8B=$(sed 's/^202 //' <<<"$out" | jq -r .proposal)
expect "a synchronize queues the new head and names the proposal it supersedes" \
	"$(sed 's/^202 //' <<<"$out" | jq -c '[.status, .head, .superseded]')" \
	"[\"queued\",\"$HEAD8B\",[\"$P8A\"]]"
expect "the old proposal is superseded at once" \
	"$(http GET "/v1/proposals/$P8A" "$READER" | sed 's/^200 //' | jq -r .state)" "superseded"
gone=no
for _ in $(seq 1 50); do pgrep -f "runner --job .*/jobs/$P8A" >/dev/null || { gone=yes; break; }; sleep 0.1; done
expect "its running job was cancelled: the runner is gone within 5 s" "$gone" "yes"
expect_match "the server logged the cancel" "$(grep "job.cancelled id=$P8A" "$DATA.log" | head -1)" 'runner=[1-9]'
printf '{"tree":"%040d"}' 0 >"$TMP/approve.json"
expect_match "an approval of the superseded proposal is refused as stale" \
	"$(http POST "/v1/proposals/$P8A/approve" "$READER" "$TMP/approve.json")" '^409 .*proposal is superseded, not awaiting approval'
expect "the new head is running" "$(wait_state "$P8B" running)" "running"
jq '.action = "closed" | .pull_request.state = "closed" | .pull_request.closed_at = "2026-11-22T12:00:00Z"' \
	"$TMP/pr8b.json" >"$TMP/pr8-closed.json"
expect "closing the pull request cancels its open proposal" \
	"$(deliver pull_request 66666666-0000-0000-0000-000000000003 "$TMP/pr8-closed.json" | sed 's/^200 //' | jq -c '[.status, .cancelled]')" \
	"[\"closed\",[\"$P8B\"]]"
expect "the proposal is cancelled" "$(http GET "/v1/proposals/$P8B" "$READER" | sed 's/^200 //' | jq -r .state)" "cancelled"
gone=no
for _ in $(seq 1 50); do pgrep -f "runner --job .*/jobs/$P8B" >/dev/null || { gone=yes; break; }; sleep 0.1; done
expect "its runner is gone too" "$gone" "yes"
# their jobs end: each is discarded
for _ in $(seq 1 300); do
	[ "$(grep -cE "job.discarded id=($P8A|$P8B)" "$DATA.log")" -ge 2 ] && break
	sleep 0.1
done
expect "neither proposal of pull request 8 holds a grant, after their jobs ended" \
	"$(for p in "$P8A" "$P8B"; do http GET "/v1/proposals/$p" "$READER" | sed 's/^200 //' | jq -r '[.state, (.grant // "none")] | @tsv'; done | tr '\n' ' ')" \
	"$(printf 'superseded\tnone cancelled\tnone ')"
expect "the cancelled jobs were discarded, not written" "$(grep -cE "job.discarded id=($P8A|$P8B)" "$DATA.log")" "2"
if wait_status "$HEAD8A" error 30; then ok "the superseded head's status is an error"; else not_ok "the superseded head's status is an error" "$(tail -3 "$TMP/statuses.log")"; fi
expect "saying it was superseded" "$(statuses_for "$HEAD8A" | tail -1 | jq -r .body.description)" \
	"superseded: a newer push of the pull request is gated"
if wait_status "$HEAD8B" error 30; then ok "the closed head's status is an error"; else not_ok "the closed head's status is an error" "$(tail -3 "$TMP/statuses.log")"; fi
expect "saying the pull request was closed" "$(statuses_for "$HEAD8B" | tail -1 | jq -r .body.description)" \
	"cancelled: the pull request was closed"
expect "the filter lists the superseded one" \
	"$(http GET "/v1/proposals?state=superseded" "$READER" | sed 's/^200 //' | jq -r '[.proposals[].id] | join(",")')" "$P8A"

# --- GitHub down for a while: the status still arrives ----------------------------------
# every earlier status delivered first, so that the refused posts are this head's
for _ in $(seq 1 150); do
	[ "$(db "SELECT count(*) FROM status_outbox WHERE done = 0")" = 0 ] && break
	sleep 0.2
done
: >"$TMP/statuses.log"
receiver 3
pr_payload reopened 7 "$HEAD7" "$TMP/pr7b.json"
out=$(deliver pull_request 44444444-0000-0000-0000-000000000001 "$TMP/pr7b.json")
ID2=$(sed 's/^202 //' <<<"$out" | jq -r .proposal)
expect "a reopened PR is gated again" "$(wait_state "$ID2" granted)" "granted"
if wait_status "$HEAD7" success 40; then ok "after three refused posts the success status was delivered"; else not_ok "after three refused posts the success status was delivered" "$(tail -5 "$TMP/statuses.log")"; fi
# the log is read until the three refusals and a delivery are all in it
answers() { jq -r 'select(.path | startswith("/repos/")) | .answered' "$TMP/statuses.log" | head -4 | tr '\n' ' '; }
for _ in $(seq 1 150); do [ "$(answers)" = "503 503 503 201 " ] && break; sleep 0.2; done
expect "the API saw the three refused posts first, then the delivery" "$(answers)" "503 503 503 201 "
expect_match "the server logged the retries" "$(grep -c github.status_retry "$DATA.log")" '^[3-9]'

# --- a crash between a move and its status: the next start tells it ---------------------
# as if the server died after writing the grant and before queuing its status: the status
# row gone, the pull request last told "queued"
stop_server
db "DELETE FROM status_outbox WHERE proposal = '$ID2' AND state = 'success';
	UPDATE github_prs SET told = 'queued/' WHERE proposal = '$ID2';"
: >"$TMP/statuses.log"
receiver
start_server "$TMP/config.json" "$DATA"
if wait_status "$HEAD7" success 30; then ok "after the restart the missed success status is posted"; else not_ok "after the restart the missed success status is posted" "$(tail -3 "$TMP/statuses.log")"; fi
expect_match "the start logged it" "$(grep github.reconciled "$DATA.log")" 'statuses=1$'
expect "and nothing else was posted again" "$(jq -r 'select(.path | startswith("/repos/")) | .path' "$TMP/statuses.log" | sort -u)" \
	"/repos/octo-org/calc/statuses/$HEAD7"

stop_server
rc=$?
expect "the server stops cleanly" "$rc" "0"
[ "$rc" -eq 0 ] || grep -B2 -A24 -E 'ERROR: |leak of' "$DATA.log" | head -80
summary
