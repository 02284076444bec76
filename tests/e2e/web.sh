#!/bin/bash
# End-to-end: what the reviewers' page stands on, through curl: the embedded page and its
# headers, sign-in and sessions, CSRF and origin checks, live events, the audit log,
# titles, patches and grant downloads, and HTTPS with a Secure cookie.  Each rule has the
# request it stops.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-web.XXXXXX)
cleanup() { stop_server || true; rm -rf "$TMP"; }
trap cleanup EXIT
EX="$ROOT/examples/calc"
DATA="$TMP/data"
make_example_repo "$TMP/gated"
write_config() { # write_config [JQ_FILTER]
	jq -n --arg tmp "$TMP" '{repos: {gated: {path: "\($tmp)/gated", policy: {
		reproduce: {command: ["sh", "tests/run.sh"]}, test_paths: ["tests/**"],
		timeout_s: 60, approvals: {required: 1},
		tiers: {"2": {authority: "merge", refs: ["refs/heads/main"]}}}}}}' |
		jq "${1:-.}" >"$TMP/config.json"
}
write_config
tok() { "$AIRLOCK" token add --data "$DATA" --name "$1" --role "$2"; }
AGENT=$(tok agent-1 agent)
ALICE=$(tok alice reviewer)
start_server "$TMP/config.json" "$DATA"

# hdr NAME: the named header of the last $TMP/h (headers of a curl -D)
hdr() { tr -d '\r' <"$TMP/h" | sed -n "s/^$1: //Ip" | tail -1; }

# --- the page -----------------------------------------------------------------------------
code=$(curl -sS -D "$TMP/h" -o "$TMP/page" -w '%{http_code}' "$URL/")
expect "GET / serves the page" "$code $(hdr Content-Type)" "200 text/html; charset=utf-8"
expect_match "the page loads its module script from this origin only" "$(cat "$TMP/page")" \
	'<script type="module" src="/app.js"></script>'
expect "no inline script in the page" "$(grep -c '<script>' "$TMP/page")" "0"
expect "the page: CSP" "$(hdr Content-Security-Policy)" \
	"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
expect "the page: nosniff, DENY, no-referrer" \
	"$(hdr X-Content-Type-Options) $(hdr X-Frame-Options) $(hdr Referrer-Policy)" \
	"nosniff DENY no-referrer"
code=$(curl -sS -D "$TMP/h" -o /dev/null -w '%{http_code}' "$URL/app.js")
expect "GET /app.js is JavaScript" "$code $(hdr Content-Type)" "200 text/javascript; charset=utf-8"
# the modules app.js imports: each served as JavaScript, under the same CSP, and each import
# relative, so the browser fetches it from this origin
for m in dom.js diff.js; do
	code=$(curl -sS -D "$TMP/h" -o "$TMP/module" -w '%{http_code}' "$URL/$m")
	expect "GET /$m is JavaScript" "$code $(hdr Content-Type)" "200 text/javascript; charset=utf-8"
	expect "GET /$m: the same CSP" "$(hdr Content-Security-Policy)" \
		"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	expect "GET /$m: the bytes of webui/$m" "$(sha256sum <"$TMP/module")" \
		"$(sha256sum <"$ROOT/webui/$m")"
	expect_match "app.js imports ./$m" "$(curl -sS "$URL/app.js")" "from '\./$m';"
done
code=$(curl -sS -D "$TMP/h" -o /dev/null -w '%{http_code}' "$URL/app.css")
expect "GET /app.css is CSS" "$code $(hdr Content-Type)" "200 text/css; charset=utf-8"
expect_match "an unknown path is a JSON 404" "$(http GET /app.js.map "")" '^404 .*"not found"'
expect_match "the page is GET only" "$(http POST / "")" '^405 '
curl -sS -D "$TMP/h" -o /dev/null -H "Authorization: Bearer $ALICE" "$URL/v1/proposals"
expect "API answers carry the same CSP" "$(hdr Content-Security-Policy | cut -d';' -f1)" \
	"default-src 'self'"

# --- sign-in ----------------------------------------------------------------------------------
# signin TOKEN_JSON [CURL_ARGS...]: POST /v1/session; prints "STATUS BODY", headers in $TMP/h
signin() {
	local body=$1
	shift
	curl -sS -D "$TMP/h" -o "$TMP/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
		"$@" --data-binary "$body" "$URL/v1/session"
	echo " $(cat "$TMP/resp")"
}
expect_match "an agent token cannot sign in" "$(signin "{\"token\":\"$AGENT\"}")" \
	'^403 .*agent tokens cannot sign in'
expect_match "an unknown token cannot sign in" "$(signin '{"token":"not-a-token"}')" \
	'^401 .*invalid token'
expect "a refused sign-in sets no cookie" "$(hdr Set-Cookie)" ""
expect_match "sign-in wants exactly {token}" "$(signin "{\"token\":\"$ALICE\",\"x\":1}")" \
	'^400 .*expected \{\\"token\\": TOKEN\}'
expect_match "sign-in refuses a form body" \
	"$(curl -sS -w ' %{http_code}' -o /dev/null -H 'Content-Type: text/plain' \
		--data-binary "{\"token\":\"$ALICE\"}" "$URL/v1/session")" ' 415$'
expect_match "sign-in refuses another origin" \
	"$(signin "{\"token\":\"$ALICE\"}" -H 'Origin: http://evil.example')" \
	'^403 .*cross-origin request refused'
out=$(signin "{\"token\":\"$ALICE\"}")
expect_match "a reviewer signs in" "$out" '^200 \{"name":"alice","role":"reviewer","csrf":"[0-9a-f]{64}","expires":[0-9]+,"pause":\{"paused":false\},"quarantined":\[\]\}'
CSRF=$(sed 's/^200 //' <<<"$out" | jq -r .csrf)
COOKIE_LINE=$(hdr Set-Cookie)
expect_match "the cookie is HttpOnly, SameSite=Strict, Path=/ and expires (8 h by default)" \
	"$COOKIE_LINE" '^airlock_session=[0-9a-f]{64}; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict$'
SID=$(sed 's/^airlock_session=\([0-9a-f]*\);.*/\1/' <<<"$COOKIE_LINE")
J=(-b "airlock_session=$SID")

# cookie METHOD PATH [BODY] [CURL_ARGS...]: a request with the session cookie
cookie() {
	local method=$1 path=$2 body=${3:-}
	shift 3 2>/dev/null || shift $#
	local args=("${J[@]}" "$@")
	[ -n "$body" ] && args+=(--data-binary "$body")
	curl -sS -D "$TMP/h" -o "$TMP/resp" -w '%{http_code}' -X "$method" "${args[@]}" "$URL$path"
	echo " $(cat "$TMP/resp")"
}
expect_match "the session reads back, with its CSRF token" "$(cookie GET /v1/session)" \
	"^200 .*\"csrf\":\"$CSRF\""
expect_match "a bearer caller has no CSRF token" \
	"$(http GET /v1/session "$ALICE")" '^200 \{"name":"alice","role":"reviewer","pause":\{"paused":false\},"quarantined":\[\]\}$'
expect_match "a made-up session cookie is refused" \
	"$(curl -sS -w ' %{http_code}' -b "airlock_session=$(printf '%064d' 0)" "$URL/v1/proposals")" \
	'sign in again.* 401$'

# --- live events: a listener from before the proposal on --------------------------------
curl -sSN -m 300 "${J[@]}" "$URL/v1/events" >"$TMP/events" 2>/dev/null &
EV=$!
expect_match "events need a session or token" "$(http GET /v1/events "")" '^401 '
# its greeting: from here on it is told every change
wait_file "$TMP/events" '^retry: 2000'

# --- a proposal to decide on, with a title ----------------------------------------------
mk_body() { # mk_body TITLE_JSON: a proposal body for gated
	jq -n --rawfile p "$EX/fix.patch" --rawfile t "$EX/test.patch" --arg id "$(cat "$EX/TEST_ID")" \
		--argjson title "$1" \
		'{repo: "gated", base: "main", patch: $p, test_patch: $t, fail_to_pass: [$id]} +
		 (if $title == null then {} else {title: $title} end)' >"$TMP/body.json"
}
mk_body '"calc: clamp \"above\" <b>fix</b>"'
out=$(http POST /v1/proposals "$AGENT" "$TMP/body.json")
expect_match "a proposal with a title is accepted" "$out" '^202 '
ID=$(sed 's/^202 //' <<<"$out" | jq -r .id)
mk_body '"two\nlines"'
expect_match "a title with a newline is refused" "$(http POST /v1/proposals "$AGENT" "$TMP/body.json")" \
	'^400 .*title: expected one line'
mk_body "\"$(head -c 201 /dev/zero | tr '\0' t)\""
expect_match "a title over 200 bytes is refused" "$(http POST /v1/proposals "$AGENT" "$TMP/body.json")" \
	'^400 .*title'
mk_body '42'
expect_match "a title that is not a string is refused" \
	"$(http POST /v1/proposals "$AGENT" "$TMP/body.json")" '^400 .*title'
for i in $(seq 1 300); do
	s=$(http GET "/v1/proposals/$ID" "$AGENT" | sed 's/^200 //' | jq -r .state)
	[ "$s" = awaiting_approval ] && break
	sleep 0.2
done
expect "the proposal awaits approval" "$s" "awaiting_approval"
out=$(http GET "/v1/proposals/$ID" "$ALICE" | sed 's/^200 //')
expect "the view carries the title as sent" "$(jq -r .title <<<"$out")" 'calc: clamp "above" <b>fix</b>'
expect "the list carries it too" \
	"$(http GET /v1/proposals "$ALICE" | sed 's/^200 //' | jq -r --arg id "$ID" '.proposals[] | select(.id == $id) | .title')" \
	'calc: clamp "above" <b>fix</b>'
out=$(http GET "/v1/proposals/$ID/patch" "$ALICE")
expect "GET .../patch gives the patch and test patch as sent" \
	"$(sed 's/^200 //' <<<"$out" | jq -j .patch | sha256sum | cut -c1-64) $(sed 's/^200 //' <<<"$out" | jq -j .test_patch | sha256sum | cut -c1-64)" \
	"$(sha256sum <"$EX/fix.patch" | cut -c1-64) $(sha256sum <"$EX/test.patch" | cut -c1-64)"
expect_match "GET .../patch of an unknown proposal is 404" \
	"$(http GET "/v1/proposals/$(printf '%032d' 0)/patch" "$ALICE")" '^404 '


# --- CSRF and origin on decisions -------------------------------------------------------------
expect_match "a decision without the CSRF token is refused" \
	"$(cookie POST "/v1/proposals/$ID/approve" '{}' -H 'Content-Type: application/json')" \
	'^403 .*missing or wrong X-CSRF-Token'
expect_match "a decision with a wrong CSRF token is refused" \
	"$(cookie POST "/v1/proposals/$ID/approve" '{}' -H 'Content-Type: application/json' \
		-H "X-CSRF-Token: $(printf '%064d' 0)")" '^403 .*missing or wrong X-CSRF-Token'
expect_match "a decision from another origin is refused, token or not" \
	"$(cookie POST "/v1/proposals/$ID/approve" '{}' -H 'Content-Type: application/json' \
		-H "X-CSRF-Token: $CSRF" -H 'Origin: http://evil.example')" '^403 .*cross-origin'
expect_match "a form-encoded decision is refused" \
	"$(cookie POST "/v1/proposals/$ID/approve" 'comment=x' \
		-H 'Content-Type: application/x-www-form-urlencoded' -H "X-CSRF-Token: $CSRF")" '^415 '
expect "none of them recorded a decision" \
	"$(http GET "/v1/proposals/$ID" "$ALICE" | sed 's/^200 //' | jq -c '[.state, (.approvals | length)]')" \
	'["awaiting_approval",0]'
out=$(cookie POST "/v1/proposals/$ID/approve" '{"comment":"looks right"}' \
	-H 'Content-Type: application/json' -H "X-CSRF-Token: $CSRF" -H "Origin: $URL")
expect_match "with the token, from this origin, the approval is taken" "$out" '^200 .*"state":"granted"'
expect "the view says the grant verifies" \
	"$(sed 's/^200 //' <<<"$out" | jq -c '[.grant_verification.ok, .grant_verification.key_state]')" \
	'[true,"active"]'
curl -sS -D "$TMP/h" -o "$TMP/grant.json" "${J[@]}" "$URL/v1/proposals/$ID/grant"
expect "the grant downloads as a named file" "$(hdr Content-Disposition)" \
	"attachment; filename=\"airlock-grant-$ID.json\""
wait_file "$TMP/events" "^data: \\{\"id\":\"$ID\",\"state\":\"granted\"\\}"
kill $EV 2>/dev/null
wait $EV 2>/dev/null
expect_match "the event stream greets, then tells each change" "$(head -c 2000 "$TMP/events")" \
	'^retry: 2000'
expect "the stream told of each change of the proposal, in order" \
	"$(grep -o "data: {\"id\":\"$ID\",\"state\":\"[a-z_]*\"}" "$TMP/events" |
		sed 's/.*"state":"\([a-z_]*\)"}/\1/' | tr '\n' ' ')" \
	"queued running awaiting_approval granted "

# --- the audit log ----------------------------------------------------------------------
out=$(http GET "/v1/audit?proposal=$ID" "$ALICE" | sed 's/^200 //')
expect "the proposal's trace: submitted, gated, approved by the reviewer, granted" \
	"$(jq -c '[.entries[] | [.actor, .action]]' <<<"$out")" \
	'[["agent-1","proposal.submitted"],["scheduler","job.started"],["scheduler","gates.awaiting_approval"],["alice","approve"],["alice","gates.granted"],["alice","grant.issued"]]'
expect_match "the approval carries the tree and the comment" \
	"$(jq -r '.entries[] | select(.action == "approve") | .detail' <<<"$out")" \
	'^revision 1, tree [0-9a-f]{40}, proposal now granted; comment: looks right$'
expect_match "sign-ins are audited" "$(http GET /v1/audit "$ALICE")" '"actor":"alice","action":"session.start"'
expect_match "agents cannot read the audit log" "$(http GET /v1/audit "$AGENT")" '^403 '
expect_match "a malformed proposal filter is refused" "$(http GET '/v1/audit?proposal=zz' "$ALICE")" '^400 '

# --- sign-out ---------------------------------------------------------------------------
expect_match "sign-out needs the CSRF token" "$(cookie DELETE /v1/session)" '^403 '
out=$(cookie DELETE /v1/session "" -H "X-CSRF-Token: $CSRF")
expect_match "sign-out with the token ends the session" "$out" '^200 \{"signed_out":true\}'
expect_match "and clears the cookie" "$(hdr Set-Cookie)" '^airlock_session=; Path=/; Max-Age=0'
expect_match "the old cookie no longer works" "$(cookie GET /v1/proposals)" '^401 '
expect_match "sign-out is audited" "$(http GET /v1/audit "$ALICE")" '"action":"session.end"'

# --- subscribers are capped -------------------------------------------------------------
listen_events() { # listen_events I: listener I, its stream in $TMP/evI
	curl -sSN -m 120 -H "Authorization: Bearer $ALICE" "$URL/v1/events" >"$TMP/ev$1" 2>&1 &
	pids[$1]=$!
}
pids=()
for i in $(seq 1 32); do listen_events "$i"; done
# until all 32 are greeted, so subscribed: one turned away while a listener closed earlier
# still held its place (until the next keep-alive finds it gone) asks again
for _ in $(seq 1 600); do
	n=0
	for i in $(seq 1 32); do
		grep -q '^retry: 2000' "$TMP/ev$i" && n=$((n + 1)) && continue
		if grep -q 'too many live listeners' "$TMP/ev$i"; then
			wait "${pids[$i]}"
			listen_events "$i"
		fi
	done
	[ "$n" -eq 32 ] && break
	sleep 0.1
done
expect "32 live listeners are taken" "$n" "32"
expect_match "the 33rd live listener is turned away" \
	"$(curl -sS -m 10 -o "$TMP/resp" -w '%{http_code}' -H "Authorization: Bearer $ALICE" \
		"$URL/v1/events") $(cat "$TMP/resp")" '^503 .*too many live listeners'
kill "${pids[@]}" 2>/dev/null
wait "${pids[@]}" 2>/dev/null
stop_server
expect "the server stops cleanly with listeners gone" "$?" "0"

# --- HTTPS: Secure, __Host- cookie, HSTS ----------------------------------------------------
openssl req -x509 -newkey ed25519 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" \
	-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
write_config ". + {tls: {cert: \"$TMP/cert.pem\", key: \"$TMP/key.pem\"}}"
start_server "$TMP/config.json" "$DATA" "$TMP/cert.pem"
out=$(curl -sS --cacert "$TMP/cert.pem" -D "$TMP/h" -H 'Content-Type: application/json' \
	--data-binary "{\"token\":\"$ALICE\"}" "$URL/v1/session")
expect_match "over HTTPS a reviewer signs in" "$out" '"name":"alice"'
expect_match "over HTTPS the cookie is __Host-, Secure, HttpOnly, SameSite=Strict" "$(hdr Set-Cookie)" \
	'^__Host-airlock_session=[0-9a-f]{64}; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict; Secure$'
expect "over HTTPS answers carry HSTS" "$(hdr Strict-Transport-Security)" "max-age=31536000"
expect_match "plain HTTP to the HTTPS port gets no page" \
	"$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/" 2>&1)" '^(000|400)'
stop_server
expect "the HTTPS server stops cleanly" "$?" "0"
write_config '. + {tls: {cert: "/nonexistent/cert.pem", key: "/nonexistent/key.pem"}}'
expect_match "a missing certificate stops the server at start" \
	"$("$AIRLOCK" serve --config "$TMP/config.json" --data "$DATA" --listen 127.0.0.1:0 2>&1)" \
	'tls.*nonexistent'
write_config '. + {tls: {cert: "x.pem"}}'
expect_match "a certificate without a key is a configuration error" \
	"$("$AIRLOCK" serve --config "$TMP/config.json" --data "$DATA" 2>&1)" 'tls: needs both cert and key'
summary
