#!/usr/bin/env python3
"""Local test upstream for the egress proxy tests: stands in for pypi.test,
files.pypi.test, registry.npm.test, up.test and friends on 127.0.0.1.

    python3 upstream.py --dir DIR --cert server.pem --key server.key --port-file FILE
                        [--plain-port-file FILE2] [--log LOGFILE]

A threaded HTTPS server (HTTP/1.1, keep-alive) on 127.0.0.1, port picked by the kernel
and written to FILE once it listens; with --plain-port-file, a plain HTTP listener too.
DIR is a tree made by mkfixtures.sh; relative --cert/--key are looked up in DIR when
they are not found as given. Every host name is served the same content:

    GET|HEAD /<path>      a file under DIR/www; a directory serves its index.html, or its
                          index.json as application/json (so /airlock-leftpad is the
                          npm packument and /simple/airlockdemo/ the PEP 503 page)
    ANY /echo             JSON {"method","path","host","headers":{..},"body_len","tls","sni"}
    GET /redirect?to=URL  302 to URL
    GET /slow?s=N         sleeps N seconds (at most 600), then 200 "slow"
    GET|HEAD /bytes?n=N   N bytes of 'x' with Content-Length, in 64 KiB writes
    GET /sni              the server name the client sent in its TLS hello ("" if none)

Each request is logged as one line (stderr, or --log): method, host, path, status, sni,
and the X-Secret-Probe and Authorization headers when present. SIGTERM or SIGINT stop it
with exit status 0. Standard library only.
"""

import argparse
import http.server
import json
import mimetypes
import os
import posixpath
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

CHUNK = 64 * 1024
XBUF = b"x" * CHUNK
MAX_SLOW = 600
MAX_BODY = 64 * 1024 * 1024
HANDSHAKE_TIMEOUT = 30
IDLE_TIMEOUT = 120


class Logger:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.out = open(path, "a", buffering=1) if path else sys.stderr

    def line(self, text):
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()


def quoted(v):
    return json.dumps(v if v is not None else "")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "airlock-test-upstream/1"
    timeout = IDLE_TIMEOUT

    # ---- plumbing ----------------------------------------------------------------------
    def log_message(self, fmt, *args):
        pass  # one line per request is written by log_request below

    def log_request(self, code="-", size="-"):
        h = self.headers
        fields = [
            "upstream",
            "method=" + quoted(self.command),
            "host=" + quoted(h.get("Host") if h else ""),
            "path=" + quoted(self.path),
            "status=" + quoted(str(code)),
            "tls=" + ("1" if self.server.tls else "0"),
            "sni=" + quoted(self.sni()),
        ]
        if h is not None:
            for name in ("X-Secret-Probe", "Authorization"):
                if name in h:
                    fields.append(name.lower() + "=" + quoted(", ".join(h.get_all(name))))
        self.server.logger.line(" ".join(fields))

    def sni(self):
        return getattr(self.connection, "airlock_sni", None) or ""

    def read_body(self):
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True  # chunked request bodies are not needed here
            return b""
        try:
            n = int(self.headers.get("Content-Length", "0") or 0)
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            return b""
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", ctype="text/plain; charset=utf-8", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # ---- methods -----------------------------------------------------------------------
    def do_GET(self):
        self.route()

    def do_HEAD(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_PUT(self):
        self.route()

    def do_DELETE(self):
        self.route()

    def do_PATCH(self):
        self.route()

    def do_OPTIONS(self):
        self.route()

    def route(self):
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path
        if path == "/echo":
            return self.echo(body)
        if self.command not in ("GET", "HEAD"):
            return self.reply(405, b"method not allowed\n", extra=[("Allow", "GET, HEAD")])
        if path == "/redirect":
            to = query.get("to", [""])[0]
            if not to:
                return self.reply(400, b"missing ?to=\n")
            return self.reply(302, b"", extra=[("Location", to)])
        if path == "/slow":
            return self.slow(query)
        if path == "/bytes":
            return self.bytes(query)
        if path == "/sni":
            return self.reply(200, self.sni().encode())
        return self.static(path)

    # ---- endpoints ---------------------------------------------------------------------
    def echo(self, body):
        headers = {}
        for k, v in self.headers.items():
            headers[k] = headers[k] + ", " + v if k in headers else v
        doc = {
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host", ""),
            "headers": headers,
            "body_len": len(body),
            "tls": self.server.tls,
            "sni": self.sni(),
        }
        self.reply(200, (json.dumps(doc, indent=1) + "\n").encode(), "application/json")

    def slow(self, query):
        try:
            s = float(query.get("s", ["1"])[0])
        except ValueError:
            return self.reply(400, b"bad ?s=\n")
        time.sleep(min(max(s, 0.0), MAX_SLOW))
        self.reply(200, b"slow")

    def bytes(self, query):
        try:
            n = int(query.get("n", [""])[0])
        except ValueError:
            return self.reply(400, b"bad ?n=\n")
        if n < 0:
            return self.reply(400, b"bad ?n=\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command == "HEAD":
            return
        view = memoryview(XBUF)
        while n > 0:
            k = min(n, CHUNK)
            self.wfile.write(view[:k])
            n -= k

    def static(self, path):
        root = self.server.www
        rel = urllib.parse.unquote(path)
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        if ".." in parts or "\0" in rel:
            return self.reply(400, b"bad path\n")
        full = os.path.join(root, *parts)
        if os.path.isdir(full):
            for index in ("index.html", "index.json"):
                if os.path.isfile(os.path.join(full, index)):
                    full = os.path.join(full, index)
                    break
            else:
                return self.reply(404, b"not found\n")
        real = os.path.realpath(full)
        if not (real == root or real.startswith(root + os.sep)) or not os.path.isfile(real):
            return self.reply(404, b"not found\n")
        ctype = self.content_type(real)
        with open(real, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.command == "HEAD":
                return
            while True:
                buf = f.read(CHUNK * 4)
                if not buf:
                    break
                self.wfile.write(buf)

    @staticmethod
    def content_type(path):
        ext = posixpath.splitext(path)[1].lower()
        known = {
            ".html": "text/html; charset=utf-8",
            ".json": "application/json",
            ".whl": "application/octet-stream",
            ".tgz": "application/octet-stream",
        }
        if ext in known:
            return known[ext]
        return mimetypes.guess_type(path)[0] or "application/octet-stream"


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, www, logger, context=None):
        super().__init__(addr, Handler)
        self.www = www
        self.logger = logger
        self.context = context
        self.tls = context is not None

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, on the connection's own thread, so that a client
        # that stalls in its hello holds up nobody else.
        if self.context is None:
            return super().finish_request(request, client_address)
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.logger.line("upstream handshake_failed peer=%s error=%s"
                             % (quoted(client_address[0]), quoted(str(e))))
            return
        try:
            tls.settimeout(IDLE_TIMEOUT)
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError)):
            return  # a client that hangs up mid-reply is normal in these tests
        super().handle_error(request, client_address)


def make_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])

    def record_sni(sock, server_name, _ctx):
        sock.airlock_sni = server_name or ""

    ctx.sni_callback = record_sni
    return ctx


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def find(path, d):
    if os.path.isabs(path) or os.path.exists(path):
        return path
    return os.path.join(d, path)


def main():
    ap = argparse.ArgumentParser(description="local HTTPS upstream for the egress tests")
    ap.add_argument("--dir", required=True, help="fixture dir made by mkfixtures.sh")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--plain-port-file")
    ap.add_argument("--log", help="request log (default: stderr)")
    args = ap.parse_args()

    www = os.path.realpath(os.path.join(args.dir, "www"))
    if not os.path.isdir(www):
        print("upstream: no www/ in %s" % args.dir, file=sys.stderr)
        return 64
    try:
        ctx = make_context(find(args.cert, args.dir), find(args.key, args.dir))
    except (OSError, ssl.SSLError) as e:
        print("upstream: cannot load certificate: %s" % e, file=sys.stderr)
        return 64
    logger = Logger(args.log)
    servers = [(Server(("127.0.0.1", 0), www, logger, ctx), args.port_file)]
    if args.plain_port_file:
        servers.append((Server(("127.0.0.1", 0), www, logger), args.plain_port_file))

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = []
    for srv, _ in servers:
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                             daemon=True)
        t.start()
        threads.append(t)
    # the sockets listen since the constructor: the port files may be written now
    for srv, pf in servers:
        write_port(pf, srv.server_address[1])
    logger.line("upstream listening https=%d%s pid=%d" % (
        servers[0][0].server_address[1],
        " http=%d" % servers[1][0].server_address[1] if len(servers) > 1 else "",
        os.getpid()))
    while not stop.wait(1.0):
        pass
    for srv, _ in servers:
        srv.shutdown()
        srv.server_close()
    logger.line("upstream stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
