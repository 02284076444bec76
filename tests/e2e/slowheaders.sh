#!/bin/bash
# End-to-end: the header deadline and the per-address cap.  100 clients from 127.0.0.1
# trickle their headers a byte at a time, never finishing them: the address gets its share
# of the connections (max_connections_per_address) and the rest are refused at once; a
# client from 127.0.0.2 is answered meanwhile; the slow ones are cut at header_timeout_s
# although they are never silent for connection_timeout_s, counted in /metrics, and their
# address is served again.  A client whose headers are in may send its body slowly; a
# kept-alive connection has the deadline again for its next request's headers.
set -u
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/airlock-e2e-slowheaders.XXXXXX)
cleanup() {
	stop_server || true
	[ -n "${SLOW_PID:-}" ] && kill "$SLOW_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
DATA="$TMP/data"
DEADLINE=4
PER_ADDRESS=40

make_example_repo "$TMP/repo"
jq --arg path "$TMP/repo" --argjson d $DEADLINE --argjson p $PER_ADDRESS '{
	limits: {header_timeout_s: $d, connection_timeout_s: 60, max_connections: 200,
		max_connections_per_address: $p},
	repos: {example: {path: $path, policy: .repos.example.policy}}}' \
	"$ROOT/examples/airlock.json" >"$TMP/config.json"

# --- the configuration is checked ----------------------------------------------------------
jq '.limits.max_connections_per_address = 101' "$TMP/config.json" >"$TMP/bad.json"
out=$("$AIRLOCK" serve --config "$TMP/bad.json" --data "$TMP/bad-data" --listen 127.0.0.1:0 2>&1)
expect_match "one address may not be given more than half of the connections" \
	"$?: $out" '^[1-9][0-9]*: .*limits.max_connections_per_address: at most half of max_connections \(100\)'

start_server "$TMP/config.json" "$DATA" || { not_ok "server starts"; summary; exit 1; }

# slow.py PORT N DEADLINE: N connections from 127.0.0.1, each sends a request line and then
# one header byte every 0.5 s, never ending its headers.  "connected" on stderr once all are
# connected; on stdout, one line per connection: seconds from its connect to its end (EOF
# or reset), or "open" for those still open after 3 * DEADLINE + 15 s; then "done" on
# stderr, and it keeps its own ends of the sockets open until it is killed.
cat >"$TMP/slow.py" <<'PY'
import selectors, socket, sys, time
port, n, deadline = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
sel = selectors.DefaultSelector()
start, ended = {}, {}
for _ in range(n):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.connect(("127.0.0.1", port))
    start[s] = time.monotonic()
    try:
        s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    except OSError:
        ended[s] = time.monotonic() - start[s]
        continue
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("connected", file=sys.stderr, flush=True)
give_up = time.monotonic() + 3 * deadline + 15
while len(ended) < n and time.monotonic() < give_up:
    for key, _ in sel.select(timeout=0.5):
        s = key.fileobj
        try:
            if s.recv(4096):
                continue  # an answer would be a failure too: it shows as early
        except BlockingIOError:
            continue
        except OSError:
            pass
        ended[s] = time.monotonic() - start[s]
        sel.unregister(s)
    for key in list(sel.get_map().values()):
        try:
            key.fileobj.send(b"a")
        except BlockingIOError:
            pass
        except OSError:
            ended[key.fileobj] = time.monotonic() - start[key.fileobj]
            sel.unregister(key.fileobj)
for s in start:
    print("%.2f" % ended[s] if s in ended else "open")
sys.stdout.flush()
print("done", file=sys.stderr, flush=True)
time.sleep(600)
PY

# --- 100 slow clients from one address -----------------------------------------------------
python3 "$TMP/slow.py" "$PORT" 100 $DEADLINE >"$TMP/slow.out" 2>"$TMP/slow.err" &
SLOW_PID=$!
wait_file "$TMP/slow.err" '^connected$' 30 || not_ok "the slow clients connect" "$(cat "$TMP/slow.err")"
t0=$(date +%s%N)
code=$(curl -sS --interface 127.0.0.2 -o /dev/null -w '%{http_code}' --max-time 20 "$URL/healthz")
ms=$((($(date +%s%N) - t0) / 1000000))
# well within the deadline: the answer came while the slow clients held their connections
expect_match "while 100 slow clients from 127.0.0.1 trickle, 127.0.0.2 gets /healthz at once" \
	"$code $ms" '^200 ([0-9]{1,3}|1[0-9]{3})$'
wait_file "$TMP/slow.err" '^done$' 90 || not_ok "the slow clients finish" "$(cat "$TMP/slow.err")"
expect "every slow client's connection ended" "$(grep -c open "$TMP/slow.out")" "0"
held=$(awk -v d=$DEADLINE '$1 != "open" && $1 >= d / 2' "$TMP/slow.out" | wc -l)
expect "the address held its share of the connections, the rest were refused at once" \
	"$held" "$PER_ADDRESS"
# the reaper looks every second; 8 s of slack for a loaded machine, still far below the
# 60 s of silence connection_timeout_s would wait for (and the slow clients are never silent)
late=$(awk -v d=$DEADLINE '$1 != "open" && $1 >= d / 2 && ($1 < d - 0.5 || $1 > d + 8)' \
	"$TMP/slow.out" | wc -l)
expect "the held ones were cut at header_timeout_s ($DEADLINE s)" "$late" "0"
expect_match "/metrics counts them" "$(curl -sS "$URL/metrics")" \
	"^airlock_http_header_timeouts_total $PER_ADDRESS\$"
# the slow clients still hold their ends: only the server's cut freed the address's share
expect "127.0.0.1 is served again" \
	"$(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 "$URL/healthz" 2>&1)" "200"
kill "$SLOW_PID" 2>/dev/null
wait "$SLOW_PID" 2>/dev/null
SLOW_PID=

# --- the deadline is for headers only; it starts again between requests -------------------
# slow-body.py PORT: headers at once, then a 10-byte body over about 1.5 * DEADLINE s;
# prints the status line it got.  keep-alive.py PORT: one request, its answer, then the next
# request trickled; prints the seconds from the first answer to the connection's end.
cat >"$TMP/slow-body.py" <<'PY'
import socket, sys, time
port, deadline = int(sys.argv[1]), float(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /v1/proposals HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 10\r\n\r\n")
for c in b"{\"a\": 1}  ":
    time.sleep(1.5 * deadline / 10)
    s.sendall(bytes([c]))
s.settimeout(30)
print(s.recv(4096).split(b"\r\n")[0].decode())
PY
cat >"$TMP/keep-alive.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(30)
got = b""
while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
    got += s.recv(4096)
t0 = time.monotonic()
s.settimeout(0.5)
s.sendall(b"GET /healthz HTTP/1.1\r\n")
while time.monotonic() - t0 < 60:
    try:
        if not s.recv(4096):
            break
    except socket.timeout:
        pass
    except OSError:
        break
    try:
        s.sendall(b"X")
    except OSError:
        break
print("%.2f" % (time.monotonic() - t0))
PY
expect_match "a request whose headers are in may send its body slower than the deadline" \
	"$(python3 "$TMP/slow-body.py" "$PORT" $DEADLINE 2>&1)" '^HTTP/1\.1 401 '
ka=$(python3 "$TMP/keep-alive.py" "$PORT" 2>&1)
expect_match "a kept-alive connection trickling its next request is cut at the deadline" \
	"$ka" '^[0-9]+\.[0-9]+$'
expect "within header_timeout_s plus slack" \
	"$(awk -v d=$DEADLINE -v t="$ka" 'BEGIN { print (t >= d - 0.5 && t <= d + 8) ? "yes" : t }')" "yes"
stop_server
expect "the server, its connections and their watch stop cleanly" "$?" "0"
summary
