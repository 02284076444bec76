// Stand-in for GitHub's REST API, used by the e2e tests.
//
//   node receiver.mjs PORT LOGFILE [FAIL_FIRST_N]
//
// Listens on 127.0.0.1:PORT (0: a port the kernel picks) and then prints
// "receiver listening on <port>" with the port it got. Every request except GET /healthz is appended to
// LOGFILE as one JSON line:
//   {"method","path","headers":{lower-cased name: value},"body":<JSON or raw string>,"answered":<status>}
//
//   POST /repos/{owner}/{repo}/statuses/{sha}  -> 201 + a GitHub-like status object,
//                                                except the first FAIL_FIRST_N such
//                                                requests, which get 503 (simulated outage)
//   GET  /healthz                              -> 200 "ok" (not logged)
//   anything else                              -> 404 {"message":"Not Found"}
//
// No dependencies; Node 20+. Exits cleanly on SIGTERM / SIGINT.

import http from 'node:http';
import { appendFileSync } from 'node:fs';

const [portArg, logFile, failArg] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !logFile) {
  process.stderr.write('usage: node receiver.mjs PORT LOGFILE [FAIL_FIRST_N]\n');
  process.exit(2);
}
let failRemaining = failArg === undefined ? 0 : Number(failArg);
if (!Number.isInteger(failRemaining) || failRemaining < 0) {
  process.stderr.write(`receiver: bad FAIL_FIRST_N: ${failArg}\n`);
  process.exit(2);
}

const STATUS_RE = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-fA-F]{1,64})$/;
let nextStatusId = 1;

function logLine(entry) {
  appendFileSync(logFile, JSON.stringify(entry) + '\n');
}

function send(res, code, payload, contentType = 'application/json; charset=utf-8') {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  res.writeHead(code, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'connection': 'close',
  });
  res.end(body);
}

function statusObject(owner, repo, sha, body) {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const id = nextStatusId++;
  const b = body && typeof body === 'object' ? body : {};
  return {
    url: `https://api.github.com/repos/${owner}/${repo}/statuses/${sha}`,
    avatar_url: 'https://avatars.githubusercontent.com/u/92000099?v=4',
    id,
    node_id: `SC_kwDOLnAUAc8AAAAB${String(id).padStart(8, '0')}`,
    state: b.state ?? null,
    description: b.description ?? null,
    target_url: b.target_url ?? null,
    context: b.context ?? 'default',
    created_at: now,
    updated_at: now,
    creator: {
      login: 'airlock-bot',
      id: 92000099,
      node_id: 'U_kgDOBXvKww',
      avatar_url: 'https://avatars.githubusercontent.com/u/92000099?v=4',
      gravatar_id: '',
      url: 'https://api.github.com/users/airlock-bot',
      html_url: 'https://github.com/airlock-bot',
      type: 'User',
      site_admin: false,
    },
  };
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('error', () => { /* client went away; nothing to answer */ });
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '/';
    const pathOnly = path.split('?')[0];

    if (req.method === 'GET' && pathOnly === '/healthz') {
      send(res, 200, 'ok', 'text/plain; charset=utf-8');
      return;
    }

    let body = raw;
    if (raw.length > 0) {
      try { body = JSON.parse(raw); } catch { body = raw; }
    }

    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;

    let code, payload;
    const m = req.method === 'POST' ? STATUS_RE.exec(pathOnly) : null;
    if (m) {
      if (failRemaining > 0) {
        failRemaining--;
        code = 503;
        payload = { message: 'Service Unavailable' };
      } else {
        code = 201;
        payload = statusObject(m[1], m[2], m[3], body);
      }
    } else {
      code = 404;
      payload = { message: 'Not Found' };
    }

    // Log before answering, so a client that saw the answer can rely on the line.
    logLine({ method: req.method, path, headers, body, answered: code });
    send(res, code, payload);
  });
});

server.on('error', (err) => {
  process.stderr.write(`receiver: ${err.message}\n`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`receiver listening on ${server.address().port}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
