# Shared helpers for the end-to-end suites: a real `airlock serve` on 127.0.0.1 with a
# temporary data dir, driven over HTTP with curl.
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AIRLOCK=${AIRLOCK:-$ROOT/airlock}
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
not_ok() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "       $2"; return 0; }
# expect NAME ACTUAL WANTED
expect() { if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi; }
# expect_match NAME TEXT REGEX
expect_match() { if grep -qE -- "$3" <<<"$2"; then ok "$1"; else not_ok "$1" "'$(head -c 400 <<<"$2")' does not match /$3/"; fi; }

# wait_file FILE REGEX [SECONDS]: until a line of FILE matches REGEX (60 s at most);
# non-zero if none did.
wait_file() {
	local i
	for i in $(seq 1 $((${3:-60} * 10))); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# make_example_repo DIR: a real git repository holding the example project.
make_example_repo() {
	local dir=$1
	mkdir -p "$dir"
	cp -a "$ROOT/examples/calc/repo/." "$dir/"
	git -C "$dir" init -q -b main
	git -C "$dir" -c user.name=e2e -c user.email=e2e@localhost add -A
	git -C "$dir" -c user.name=e2e -c user.email=e2e@localhost commit -q -m "initial"
}

# db SQL...: sqlite3 on $DATA's database, waiting out the server's write locks
# rather than failing with "database is locked".
db() { sqlite3 -cmd ".timeout 20000" "$DATA/airlock.db" "$@"; }

# state ID: a proposal's state in $DATA's database.
state() { db "SELECT state FROM proposals WHERE id = '$1'"; }
# wait_state ID SECONDS STATE...: until the proposal is in one of the states; non-zero if
# it was not within SECONDS.
wait_state() {
	local id=$1 s=$2 i st
	shift 2
	for i in $(seq 1 $((s * 10))); do
		st=$(state "$id")
		for want in "$@"; do [ "$st" = "$want" ] && return 0; done
		sleep 0.1
	done
	return 1
}

# start_server CONFIG DATA [CACERT]: starts airlock on a port the kernel picks, reads the
# address it bound from its banner, waits for /healthz; sets SERVER_PID, PORT and URL
# (https, trusting CACERT, when given).
start_server() {
	local config=$1 data=$2 cacert=${3:-} i addr= scheme=http args=()
	[ -n "$cacert" ] && { scheme=https; args=(--cacert "$cacert"); }
	# emptied here, not by the child's redirection: the banner of the server before must
	# not be read for this one's
	: >"$data.log"
	SERVER_DATA=$data
	"$AIRLOCK" serve --config "$config" --data "$data" --listen 127.0.0.1:0 >"$data.log" 2>&1 &
	SERVER_PID=$!
	# no clock to beat: a loaded machine gets a minute
	for i in $(seq 1 600); do
		addr=$(sed -n 's|^airlock .* listening on [a-z]*://\([0-9.]*:[0-9]*\)/.*|\1|p' "$data.log")
		[ -n "$addr" ] && break
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -n "$addr" ]; then
		PORT=${addr##*:}
		URL="$scheme://$addr"
		for i in $(seq 1 600); do
			curl -fsS "${args[@]}" "$URL/healthz" >/dev/null 2>&1 && return 0
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
	fi
	echo "server did not come up:" >&2
	cat "$data.log" >&2
	return 1
}

# stop_server: SIGTERM, then the server's own exit status (0 for a clean shutdown; under
# the sanitizers a leak or an error makes it non-zero).
stop_server() {
	local rc=0
	[ -n "${SERVER_PID:-}" ] || return 0
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null || rc=$?
	SERVER_PID=
	cache_clear
	return $rc
}

# cache_clear: empties the environment cache the jobs left in DATA/cache (a checkout there
# belongs to the sandbox's ids, which an unprivileged test cannot remove with rm).
cache_clear() {
	[ -n "${SERVER_DATA:-}" ] && [ -d "$SERVER_DATA/cache" ] || return 0
	"$AIRLOCK" cache gc --data "$SERVER_DATA" --max-mb 0 >/dev/null 2>&1
}

# http METHOD PATH TOKEN [BODY_FILE]: prints "STATUS BODY".
http() {
	local method=$1 path=$2 token=$3 body=${4:-} args=()
	[ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
	[ -n "$body" ] && args+=(--data-binary "@$body" -H 'Content-Type: application/json')
	curl -sS -o "$TMP/resp" -w '%{http_code}' -X "$method" "${args[@]}" "$URL$path"
	echo " $(cat "$TMP/resp")"
}

summary() {
	echo "e2e: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
