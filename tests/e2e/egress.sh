#!/bin/bash
# End-to-end: the sandbox's only way out, `airlock sandbox --egress/--allow-host`, against a
# local TLS upstream on 127.0.0.1 (tests/e2e/egress/upstream.py) that serves a PEP 503 index,
# an npm registry and probes, under .test names mapped by the test-only resolve override.
# Every refusal the proxy makes is proven from both ends: the client fails and the proxy's
# record names the reason.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-egress.XXXXXX)
cleanup() {
	egress_upstreams_stop
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
# shellcheck source=tests/e2e/egress/start.sh
. "$ROOT/tests/e2e/egress/start.sh"
printf 'Bearer-value-%s\n' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$TMP/secret"
SECRET=$(head -1 "$TMP/secret")

export AIRLOCK_EGRESS_TEST=1 PIP_ROOT_USER_ACTION=ignore
# conf FILE EXTRA-JSON: the allowlist and the overrides every run uses, plus EXTRA
conf() {
	jq -n --arg p "127.0.0.1:$P" --arg pp "127.0.0.1:$PP" --arg rp "127.0.0.1:$RP" \
		--arg ca "$FX/ca.pem" --arg secret "$TMP/secret" "{
		allow: [\"up.test\", \"pypi.test\", \"*.pypi.test\", \"registry.npm.test\",
			\"pinned.test\", \"plain.test\", \"rogue.test\", \"loop.test\"],
		deny: [\"blocked.pypi.test\"],
		ports: [443, 80],
		tunnel: [\"pinned.test\"],
		secrets: [{name: \"UP_TOKEN\", host: \"up.test\", header: \"X-Secret-Probe\",
			   file: \$secret, format: \"Bearer {}\"}],
		test: {resolve: {\"up.test\": \$p, \"pypi.test\": \$p, \"files.pypi.test\": \$p,
				 \"registry.npm.test\": \$p, \"pinned.test\": \$p, \"plain.test\": \$pp,
				 \"rogue.test\": \$rp, \"blocked.pypi.test\": \$p},
		       hosts: {\"loop.test\": \"127.0.0.1\"},
		       upstream_ca: \$ca}} * ${2:-{\}}" >"$1"
}
conf "$TMP/eg.json"
SB=("$AIRLOCK" sandbox --egress "$TMP/eg.json")
# sb NAME CMD...: runs CMD with the path out; stdout in $TMP/NAME.out, stderr in .err,
# the record in .json; $? is the sandbox's
sb() {
	local name=$1
	shift
	"${SB[@]}" --record "$TMP/$name.json" -- "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
}
# rec NAME JQ: a jq query over the run's egress record
rec() { jq -r "$2" "$TMP/$1.json" 2>/dev/null; }

# ---- what works ----
sb echo curl -sS -H 'X-Test: 1' https://up.test/echo
expect "curl through the proxy" "$?" "0"
expect "the upstream saw the request's host" "$(jq -r .host "$TMP/echo.out")" "up.test"
expect "the upstream saw SNI up.test" "$(jq -r .sni "$TMP/echo.out")" "up.test"
expect "record: allowed, TLS ended at the proxy" \
	"$(rec echo '.egress[0] | [.host, .port, .decision, .mode, .requests] | join(" ")')" \
	"up.test 443 allowed tls 1"
expect_match "record: bytes both ways" "$(rec echo '.egress[0] | "\(.up) \(.down)"')" '^[1-9][0-9]* [1-9][0-9]*$'

sb pip sh -c 'python3 -m pip install -q --disable-pip-version-check --no-cache-dir \
	--target /tmp/site --index-url https://pypi.test/simple/ airlockdemo &&
	PYTHONPATH=/tmp/site python3 -c "import airlockdemo; print(airlockdemo.VALUE)"'
expect "pip install from a PEP 503 index through the proxy" "$?/$(cat "$TMP/pip.out")" "0/42"
expect "record: the index and the files host" \
	"$(rec pip '[.egress[] | select(.decision == "allowed") | .host] | unique | join(" ")')" \
	"files.pypi.test pypi.test"

mkdir -p "$TMP/npmproj" && cp -a "$FX/npmproj/." "$TMP/npmproj/"
"${SB[@]}" --workdir "$TMP/npmproj" --overlay --record "$TMP/npm.json" -- sh -c \
	'npm ci --registry https://registry.npm.test/ --no-audit --no-fund --loglevel=error >&2 &&
	node -e "console.log(require(\"airlock-leftpad\")(\"7\", 3, \"0\"))"' \
	>"$TMP/npm.out" 2>"$TMP/npm.err"
rc=$?
expect "npm ci of a lockfile's dependency through the proxy" "$rc" "0"
expect_match "the installed package runs" "$(cat "$TMP/npm.out")" '^(007|  7|7)$'
expect "record: the registry" "$(rec npm '[.egress[].host] | unique | join(" ")')" "registry.npm.test"

sb wild curl -sS -o /dev/null -w '%{http_code}' https://files.pypi.test/echo
expect "a *.suffix rule reaches a subdomain" "$(cat "$TMP/wild.out")" "200"

sb plain curl -sS http://plain.test/echo
expect "plain HTTP on a listed port 80" "$?/$(jq -r .host "$TMP/plain.out")" "0/plain.test"
expect "record: plain mode" "$(rec plain '.egress[0].mode')" "http"

"${SB[@]}" --ro-bind "$FX/ca.pem:/tmp/ca.pem" --record "$TMP/pinned.json" -- \
	curl -sS --cacert /tmp/ca.pem https://pinned.test/sni >"$TMP/pinned.out" 2>"$TMP/pinned.err"
expect "an opaque tunnel: the client checks the real certificate" "$?/$(cat "$TMP/pinned.out")" "0/pinned.test"
expect "record: tunnel mode, nothing added" "$(rec pinned '.egress[0] | "\(.mode) \(.secrets | length)"')" "tunnel 0"

# ---- secrets: added at the boundary, never inside ----
sb secret sh -c 'curl -sS -o /dev/null -w "%{http_code}\n" -H "X-Secret-Probe: from-the-sandbox" \
	https://up.test/status-probe; env; cat /proc/self/environ /proc/1/environ 2>/dev/null;
	cat /proc/*/cmdline 2>/dev/null; grep -r . /etc /tmp /work 2>/dev/null | head -c 4000000'
expect "the request with a secret went out" "$?" "0"
expect_match "the upstream got the secret, formatted" "$(grep -a x-secret-probe "$TMP/up.log")" "x-secret-probe=\"Bearer $SECRET\""
expect "the client's own copy was dropped" "$(grep -ac 'from-the-sandbox' "$TMP/up.log")" "0"
expect "record: the secret's name" "$(rec secret '.egress[0].secrets | join(" ")')" "UP_TOKEN"
expect "no trace in the sandbox's env, /proc, files or output" \
	"$(cat "$TMP/secret.out" "$TMP/secret.err" "$TMP/secret.json" | grep -c "$SECRET")" "0"
expect "no trace in any record" "$(cat "$TMP"/*.json | grep -c "$SECRET")" "0"
sb secret-plain curl -sS http://plain.test/echo
expect "no secret on plain HTTP (nothing verified)" "$(grep -c "$SECRET" "$TMP/secret-plain.out")" "0"

# ---- refusals ----
sb unlisted curl -sS https://unlisted.test/echo
expect "an unlisted host fails" "$?" "56"
expect "record: not listed" "$(rec unlisted '.egress[0] | "\(.host) \(.decision) \(.reason)"')" "unlisted.test denied not listed"
expect_match "stderr names it for the user" "$(cat "$TMP/unlisted.err")" 'airlock: egress: denied unlisted.test:443: not listed'

sb denywins curl -sS https://blocked.pypi.test/echo
expect "a deny rule wins over *.suffix" "$?/$(rec denywins '.egress[0].decision')" "56/denied"

# curl itself would skip the proxy for 127.0.0.1 (NO_PROXY) and fail to connect; --noproxy ''
# sends even those through it. The spellings curl rewrites go in raw.
i=0
for ip in "127.0.0.1:$P" "[::1]" "10.0.0.1" "169.254.169.254" "[::ffff:127.0.0.1]"; do
	i=$((i + 1))
	sb "ip$i" curl -sS --noproxy '' "https://$ip/echo"
	expect "IP literal $ip refused" "$?/$(rec "ip$i" '.egress[0].decision')" "56/denied"
	expect_match "IP literal $ip: reason" "$(rec "ip$i" '.egress[0].reason')" 'IP|address'
done
for target in 2130706433:443 0x7f000001:443 0177.0.0.1:443 127.1:443 1.2.3.4.:443; do
	i=$((i + 1))
	sb "ip$i" bash -c "exec 3<>/dev/tcp/127.0.0.1/3128; printf 'CONNECT $target HTTP/1.1\r\nHost: $target\r\n\r\n' >&3; head -1 <&3"
	expect_match "IP literal $target refused: 403" "$(cat "$TMP/ip$i.out")" '^HTTP/1.1 403'
	expect_match "IP literal $target: reason" "$(rec "ip$i" '.egress[0].reason')" 'IP|address'
done

sb loop curl -sS https://loop.test/echo
expect "a listed name resolving to 127.0.0.1 is refused" "$?" "56"
expect_match "record: resolves to loopback" "$(rec loop '.egress[0].reason')" '^resolves to 127\.0\.0\.1: .*loopback'

sb port curl -sS https://up.test:8443/echo
expect "an unlisted port" "$?/$(rec port '.egress[0].reason')" "56/port not allowed"

sb rogue curl -sSf https://rogue.test/echo
expect "an upstream whose certificate does not verify: 502" "$?" "22"
expect_match "record: the upstream's certificate" "$(rec rogue '.egress[0].reason')" 'certificate'

sb sni sh -c 'echo | openssl s_client -quiet -proxy 127.0.0.1:3128 -connect up.test:443 \
	-servername other.test -CAfile /etc/ssl/certs/ca-certificates.crt'
expect_match "SNI other than the CONNECT host: refused" "$(rec sni '.egress[0] | "\(.decision) \(.reason)"')" '^denied .*SNI'

sb hosthdr curl -sS -H 'Host: other.test' https://up.test/echo
expect_match "a Host header naming another host: refused" "$(cat "$TMP/hosthdr.out")" 'denied: Host header names another host'
expect "record: Host header" "$(rec hosthdr '.egress[0].reason')" "Host header names another host than the connection's"
expect_match "the upstream never saw it" "$(grep -ac 'host="other.test"' "$TMP/up.log")" '^0$'

sb redirect curl -sSL "https://up.test/redirect?to=https://unlisted.test/echo"
expect "a redirect to an unlisted host is not followed" "$?" "56"
expect "record: the redirect, then the refusal" \
	"$(rec redirect '[.egress[] | "\(.host):\(.decision)"] | sort | join(" ")')" "unlisted.test:denied up.test:allowed"

# raw bytes into the tunnel: smuggling forms the proxy refuses before the upstream
smuggle() { # NAME REQUEST-PRINTF-FORMAT
	sb "$1" sh -c "printf '$2' | openssl s_client -quiet -proxy 127.0.0.1:3128 \
		-connect up.test:443 -servername up.test -CAfile /etc/ssl/certs/ca-certificates.crt"
}
smuggle cl-te 'POST /echo HTTP/1.1\r\nHost: up.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
expect_match "Content-Length with Transfer-Encoding" "$(rec cl-te '.egress[0] | "\(.decision) \(.reason)"')" '^denied .*Transfer-Encoding'
smuggle fold 'GET /echo HTTP/1.1\r\nHost: up.test\r\nX-A: 1\r\n folded\r\n\r\n'
expect_match "obsolete header folding" "$(rec fold '.egress[0] | "\(.decision) \(.reason)"')" '^denied .*fold'
smuggle te 'POST /echo HTTP/1.1\r\nHost: up.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'
expect "a Transfer-Encoding other than chunked" "$(rec te '.egress[0].decision')" "denied"
smuggle ext 'POST /echo HTTP/1.1\r\nHost: up.test\r\nTransfer-Encoding: chunked\r\n\r\n4;x=1\r\nabcd\r\n0\r\n\r\n'
expect "a chunk extension" "$(rec ext '.egress[0].reason')" "chunk extension"
smuggle pipeline 'GET /echo HTTP/1.1\r\nHost: up.test\r\n\r\nGET /echo HTTP/1.1\r\nHost: other.test\r\n\r\n'
expect "a second request in the tunnel naming another host" "$(rec pipeline '.egress[0] | "\(.requests) \(.reason)"')" \
	"1 Host header names another host than the connection's"
sb connect-smuggle bash -c 'exec 3<>/dev/tcp/127.0.0.1/3128; printf "CONNECT up.test:443 HTTP/1.1\r\nHost: up.test:443\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" >&3; head -1 <&3'
expect_match "smuggling at the proxy: 400" "$(cat "$TMP/connect-smuggle.out")" '^HTTP/1.1 400'

# around the proxy
sb direct bash -c "exec 3<>/dev/tcp/127.0.0.1/$P && echo connected"
expect "a direct connect() to the upstream's port fails" "$?/$(cat "$TMP/direct.out")" "1/"
sb noproxy curl -sS --noproxy '*' --max-time 5 "https://up.test/echo"
expect "a tool that ignores the proxy fails" "$?" "6"
HOSTIP=$(hostname -I 2>/dev/null | awk '{print $1}')
if [ -n "$HOSTIP" ]; then
	sb direct-host bash -c "exec 3<>/dev/tcp/$HOSTIP/$P && echo connected"
	expect "a direct connect() to the host's address fails" "$?/$(cat "$TMP/direct-host.out")" "1/"
fi
"$AIRLOCK" sandbox -- bash -c "exec 3<>/dev/tcp/127.0.0.1/3128" 2>/dev/null
expect "without egress there is no proxy at all" "$?" "1"

# caps
conf "$TMP/caps.json" '{caps: {bytes: 1048576, seconds: 3, connections: 2}}'
"$AIRLOCK" sandbox --egress "$TMP/caps.json" --record "$TMP/bytes.json" -- \
	curl -sS -o /dev/null https://up.test/bytes?n=8388608 >/dev/null 2>&1
expect "the byte cap cuts a download" "$(rec bytes '.egress[0] | "\(.decision) \(.reason)"')" "denied byte cap reached"
expect_match "...near the cap" "$(rec bytes '.egress[0].down')" '^1[0-9]{6}$'
"$AIRLOCK" sandbox --egress "$TMP/caps.json" --record "$TMP/time.json" -- \
	curl -sS -o /dev/null https://up.test/slow?s=8 >/dev/null 2>&1
expect "the time cap cuts a slow response" "$(rec time '.egress[0] | "\(.decision) \(.reason)"')" "denied time cap reached"
"$AIRLOCK" sandbox --egress "$TMP/caps.json" --record "$TMP/conns.json" -- \
	sh -c 'for i in 1 2 3; do curl -sS -o /dev/null https://up.test/echo; done' >/dev/null 2>&1
expect "the connection cap refuses the third" "$(rec conns '[.egress[].reason] | last')" "connection cap reached"

# refused configurations
env -u AIRLOCK_EGRESS_TEST "$AIRLOCK" sandbox --egress "$TMP/eg.json" -- true 2>"$TMP/notest.err"
expect "the test override outside tests: refused" "$?" "125"
expect_match "...saying why" "$(cat "$TMP/notest.err")" 'test: only for tests'
conf "$TMP/badsecret.json" '{secrets: [{name: "X", host: "pinned.test", header: "Authorization", file: "/nonexistent"}]}'
"$AIRLOCK" sandbox --egress "$TMP/badsecret.json" -- true 2>"$TMP/badsecret.err"
expect_match "a secret on an opaque tunnel: refused" "$?/$(cat "$TMP/badsecret.err")" '^125/.*opaque tunnel'
"$AIRLOCK" sandbox --allow-host '*' -- true 2>"$TMP/star.err"
expect_match "--allow-host '*': refused" "$?/$(cat "$TMP/star.err")" '^125/.*every host'
"$AIRLOCK" sandbox --allow-host 127.0.0.1 -- true 2>"$TMP/ipallow.err"
expect_match "--allow-host with an address: refused" "$?/$(cat "$TMP/ipallow.err")" '^125/.*not a host name'

# --allow-host alone: the same path out (no override: the name does not resolve here)
"$AIRLOCK" sandbox --allow-host up.test --record "$TMP/allow.json" -- curl -sS https://up.test/ >/dev/null 2>&1
expect_match "--allow-host: the host is allowed, then not resolvable offline" \
	"$(rec allow '.egress[0] | "\(.decision) \(.reason)"')" '^denied cannot resolve'

summary
