#!/usr/bin/env bash
# Self-test of the egress test upstream (not part of tests/run-all.sh): builds the fixtures
# with mkfixtures.sh in a temporary dir, starts upstream.py, and checks each endpoint with
# curl, the wheel with pip and the npm lockfile with npm (each only when installed).
# Prints ok/FAIL lines; exits non-zero on any failure. Takes a few seconds.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"

T=$(mktemp -d)
UP_PID=
cleanup() {
	[ -n "$UP_PID" ] && kill "$UP_PID" 2>/dev/null && wait "$UP_PID" 2>/dev/null
	[ -n "${ROGUE_PID:-}" ] && kill "$ROGUE_PID" 2>/dev/null && wait "$ROGUE_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
F=$T/fx

if "$HERE/mkfixtures.sh" "$F" >"$T/mk.log" 2>&1; then ok "mkfixtures builds the fixtures"; else
	not_ok "mkfixtures builds the fixtures" "$(tail -5 "$T/mk.log")"
	summary
	exit 1
fi
# shellcheck source=/dev/null
. "$F/fixtures.env"

# start_upstream CERT KEY PORTFILE [PLAINFILE]: prints the pid; waits for the port file
start_upstream() {
	local args=(--dir "$F" --cert "$1" --key "$2" --port-file "$3")
	[ -n "${4:-}" ] && args+=(--plain-port-file "$4")
	python3 "$HERE/upstream.py" "${args[@]}" --log "$T/up.log" &
	local pid=$!
	for _ in $(seq 1 100); do
		[ -s "$3" ] && { [ -z "${4:-}" ] || [ -s "$4" ]; } && break
		sleep 0.1
	done
	UP_STARTED=$pid
}
start_upstream server.pem server.key "$T/port" "$T/plainport"
UP_PID=$UP_STARTED
P=$(cat "$T/port" 2>/dev/null)
PP=$(cat "$T/plainport" 2>/dev/null)
expect_match "upstream writes its TLS port" "$P" '^[0-9]+$'
expect_match "upstream writes its plain port" "$PP" '^[0-9]+$'

C=(curl -sS --max-time 10 --cacert "$F/ca.pem")
for h in pypi.test files.pypi.test registry.npm.test up.test other.test pinned.test; do
	C+=(--resolve "$h:$P:127.0.0.1")
done

# ---- PEP 503 index and wheel -------------------------------------------------------------
out=$("${C[@]}" "https://pypi.test:$P/simple/")
expect_match "simple index lists airlockdemo" "$out" 'href="/simple/airlockdemo/"'
out=$("${C[@]}" "https://pypi.test:$P/simple/airlockdemo/")
expect_match "project page links the wheel with its sha256" "$out" \
	"href=\"https://files.pypi.test/packages/$WHEEL#sha256=$WHEEL_SHA256\""
"${C[@]}" -o "$T/$WHEEL" "https://files.pypi.test:$P/packages/$WHEEL"
expect "served wheel has the sha256 the index names" \
	"$(sha256sum "$T/$WHEEL" 2>/dev/null | cut -d' ' -f1)" "$WHEEL_SHA256"
if python3 -m pip --version >/dev/null 2>&1; then
	PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check \
		--no-cache-dir --no-index --target "$T/pyt" "$T/$WHEEL" >"$T/pip.log" 2>&1
	expect "pip installs the served wheel; VALUE is 42" \
		"$(PYTHONPATH=$T/pyt python3 -c 'import airlockdemo; print(airlockdemo.VALUE)' 2>&1)" 42
else
	echo "skip - pip not installed"
fi

# ---- npm registry -------------------------------------------------------------------------
out=$("${C[@]}" -D "$T/hdr" "https://registry.npm.test:$P/airlock-leftpad")
expect_match "packument is served as application/json" "$(cat "$T/hdr")" \
	'^[Cc]ontent-[Tt]ype: application/json'
expect "packument names the tarball" \
	"$(python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"]["1.0.0"]["dist"]["tarball"])' <<<"$out")" \
	"$NPM_TARBALL"
"${C[@]}" -o "$T/pkg.tgz" "${NPM_TARBALL/registry.npm.test/registry.npm.test:$P}"
served="sha512-$(openssl dgst -sha512 -binary "$T/pkg.tgz" | base64 -w0)"
lock=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"]["node_modules/airlock-leftpad"]["integrity"])' \
	"$F/npmproj/package-lock.json")
expect "lockfile integrity is the sha512 of the served tarball" "$lock" "$served"
expect "packument integrity is the sha512 of the served tarball" \
	"$(python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"]["1.0.0"]["dist"]["integrity"])' <<<"$out")" \
	"$served"
expect "packument shasum is the sha1 of the served tarball" \
	"$(python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"]["1.0.0"]["dist"]["shasum"])' <<<"$out")" \
	"$(sha1sum "$T/pkg.tgz" | cut -d' ' -f1)"
expect "tarball holds package/package.json and package/index.js" \
	"$(tar tzf "$T/pkg.tgz" | sort | tr '\n' ' ')" "package/ package/index.js package/package.json "
if command -v npm >/dev/null && command -v node >/dev/null; then
	# .test names do not resolve here: the plain listener stands in for the registry and
	# npm rewrites the host of the lockfile's resolved URL to it
	cp -a "$F/npmproj" "$T/npmproj"
	(cd "$T/npmproj" && timeout 20 npm ci --registry "http://127.0.0.1:$PP/" \
		--replace-registry-host=always --cache "$T/npm-cache" --no-audit --no-fund \
		--no-update-notifier) >"$T/npm.log" 2>&1
	expect "npm ci installs from the lockfile; leftpad works" \
		"$(cd "$T/npmproj" && node -e "console.log(require('airlock-leftpad')('7', 3, '0'))" 2>&1)" 007
else
	echo "skip - npm not installed"
fi

# ---- endpoints ----------------------------------------------------------------------------
out=$("${C[@]}" -H 'X-Secret-Probe: probe-123' -H 'Authorization: Bearer tok' \
	"https://up.test:$P/echo?a=1")
expect "echo reports the method, path and host" \
	"$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["method"], d["path"], d["host"])' <<<"$out")" \
	"GET /echo?a=1 up.test:$P"
expect "echo reports the headers as received" \
	"$(python3 -c 'import json,sys; d=json.load(sys.stdin)["headers"]; print(d["X-Secret-Probe"], d["Authorization"])' <<<"$out")" \
	"probe-123 Bearer tok"
out=$("${C[@]}" --data-binary 'hello' "https://up.test:$P/echo")
expect_match "echo takes a POST body" "$out" '"body_len": 5'
expect_match "log records the probe and Authorization headers" "$(cat "$T/up.log")" \
	'path="/echo\?a=1" status="200" tls=1 sni="up.test" x-secret-probe="probe-123" authorization="Bearer tok"'

out=$("${C[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' \
	"https://up.test:$P/redirect?to=https://other.test/x")
expect "redirect answers 302 with the Location asked" "$out" "302 https://other.test/x"

start=$(date +%s.%N)
out=$("${C[@]}" "https://up.test:$P/slow?s=1")
took=$(python3 -c "import sys; print(int(float(sys.argv[2]) - float(sys.argv[1]) >= 0.9))" "$start" "$(date +%s.%N)")
expect "slow sleeps, then answers" "$out $took" "slow 1"

out=$("${C[@]}" -o "$T/bytes" -w '%{http_code} %{size_download}' "https://up.test:$P/bytes?n=5000000")
expect "bytes streams n bytes" "$out" "200 5000000"
expect "bytes are all x" "$(tr -d x <"$T/bytes" | wc -c)" 0
out=$("${C[@]}" -I "https://up.test:$P/bytes?n=123456789")
expect_match "HEAD bytes gives the Content-Length and no body" "$out" '[Cc]ontent-[Ll]ength: 123456789'
out=$("${C[@]}" -o /dev/null -o /dev/null -w '%{http_code} %{size_download}\n' \
	"https://up.test:$P/bytes?n=0" "https://up.test:$P/bytes?n=-1")
expect "bytes: n=0 is empty, n=-1 is refused" "$(tr '\n' ' ' <<<"$out")" "200 0 400 8 "

for h in up.test pinned.test; do
	expect "sni reports $h" "$("${C[@]}" "https://$h:$P/sni")" "$h"
done
expect "sni is empty over plain HTTP" "$(curl -sS "http://127.0.0.1:$PP/sni")" ""

# one -o per URL: curl pairs them in order
out=$("${C[@]}" -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects} ' "https://up.test:$P/echo" "https://up.test:$P/sni" \
	"https://up.test:$P/files/1m.bin")
expect "keep-alive: three requests over one connection" "$out" "1 0 0 "

"${C[@]}" -o "$T/1m.bin" "https://up.test:$P/files/1m.bin"
expect "1 MiB file is served intact" "$(sha256sum "$T/1m.bin" | cut -d' ' -f1)" \
	"$(sed -n 's/ .*1m.bin$//p' "$F/www/files/SHA256SUMS")"
expect "missing file is 404" "$("${C[@]}" -o /dev/null -w '%{http_code}' "https://up.test:$P/nope")" 404
expect "dot-dot path is refused" \
	"$("${C[@]}" --path-as-is -o /dev/null -w '%{http_code}' "https://up.test:$P/simple/../../ca.key")" 400
expect "encoded dot-dot path is refused" \
	"$("${C[@]}" --path-as-is -o /dev/null -w '%{http_code}' "https://up.test:$P/simple/%2e%2e/%2e%2e/ca.key")" 400

# ---- certificates -------------------------------------------------------------------------
curl -sS --max-time 10 --cacert "$F/ca.pem" --resolve "nothere.test:$P:127.0.0.1" \
	-o /dev/null "https://nothere.test:$P/echo" 2>/dev/null
expect "a name outside the SANs fails verification" "$?" 60
start_upstream rogue.pem rogue.key "$T/rogueport"
ROGUE_PID=$UP_STARTED
RP=$(cat "$T/rogueport" 2>/dev/null)
curl -sS --max-time 10 --cacert "$F/ca.pem" --resolve "up.test:$RP:127.0.0.1" \
	-o /dev/null "https://up.test:$RP/echo" 2>/dev/null
expect "rogue upstream is refused against the test CA" "$?" 60
expect "rogue upstream verifies against its own CA" \
	"$(curl -sS --max-time 10 --cacert "$F/rogue-ca.pem" --resolve "up.test:$RP:127.0.0.1" \
		"https://up.test:$RP/sni")" "up.test"

# ---- shutdown -----------------------------------------------------------------------------
for v in UP_PID ROGUE_PID; do
	kill "${!v}"
	wait "${!v}"
	expect "SIGTERM stops the upstream with status 0 ($v)" "$?" 0
	printf -v "$v" ''
done
summary
