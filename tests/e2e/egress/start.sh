# Sourced by the egress suites: fixtures and two local HTTPS upstreams in $TMP (the test one,
# and one under a CA nobody trusts), with the plain-HTTP port of the first. Sets FX, P, PP,
# RP, UP_PID, ROGUE_PID; egress_upstreams_stop ends them.
FX=$TMP/fx
bash "$ROOT/tests/e2e/egress/mkfixtures.sh" "$FX" >"$TMP/mkfixtures.log" 2>&1 ||
	{ cat "$TMP/mkfixtures.log"; echo "FAIL - fixtures"; exit 1; }
egress_upstream() { # CERT KEY PORTFILE
	python3 "$ROOT/tests/e2e/egress/upstream.py" --dir "$FX" --cert "$1" --key "$2" \
		--port-file "$3" --plain-port-file "$3.plain" --log "$3.log" >/dev/null 2>>"$TMP/upstream.err" &
	echo $!
}
egress_upstreams_stop() {
	[ -n "${UP_PID:-}" ] && kill "$UP_PID" 2>/dev/null
	[ -n "${ROGUE_PID:-}" ] && kill "$ROGUE_PID" 2>/dev/null
	UP_PID= ROGUE_PID=
}
UP_PID=$(egress_upstream server.pem server.key "$TMP/up")
ROGUE_PID=$(egress_upstream rogue.pem rogue.key "$TMP/rogue")
for f in "$TMP/up" "$TMP/up.plain" "$TMP/rogue"; do
	for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.1; done
done
P=$(cat "$TMP/up")
PP=$(cat "$TMP/up.plain")
RP=$(cat "$TMP/rogue")
