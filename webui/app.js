// The reviewers' page. Everything the API returns is rendered as text (textContent, text
// nodes, data-* attributes); no HTML is ever built from strings. See README.md.

import {
  $, ID_RE, age, api, arr, asText, coalesced, el, isObj, isoTime, mono, notice, num,
  parseJSON, setApiHooks, setHashLink, show, stateBadge, str, tierText, timeNode,
} from './dom.js';
import { scanDiff } from './diff.js';

const TREE_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const DIFF_LINE_CAP = 5000;
const COMMENT_MAX_BYTES = 1000;
const STATES = ['queued', 'running', 'awaiting_approval', 'rejected', 'granted', 'error', 'superseded', 'cancelled'];
const GRANT_STATES = {
  unused: 'unused (not promoted yet)',
  spent: 'spent (promoted)',
  invalidated: 'invalidated (can no longer be used)',
};

let session = null; // {name, role, csrf, expires}
let proposals = [];
const reposSeen = new Set();
let detail = { id: null, view: null, patchKey: null, focus: false };
let events = null;
let reconnectTimer = 0;
let queueScroll = 0;
let held = new Set(); // names quarantined, from the session

// ---- session ---------------------------------------------------------------------------

function showView(name) {
  $('boot').hidden = true;
  $('signin-view').hidden = name !== 'signin';
  $('queue-view').hidden = name !== 'queue';
  $('detail').hidden = name !== 'detail';
  $('session-bar').hidden = name === 'signin';
}

function setSession(s) {
  session = { name: str(s.name), role: str(s.role), csrf: str(s.csrf), expires: s.expires };
  $('whoami').textContent = `${session.name} (${session.role})`;
  const iso = isoTime(session.expires);
  if (iso) $('whoami').setAttribute('title', `session expires ${new Date(session.expires * 1000).toLocaleString()}`);
  // the kill switch: shown while pulled, as text
  const p = isObj(s.pause) && s.pause.paused === true ? s.pause : null;
  $('paused').textContent = p
    ? `Paused by ${str(p.by) || 'an admin'}: ${str(p.reason)}. No job starts and nothing is granted or promoted until an admin resumes.`
    : '';
  $('paused').hidden = !p;
  // automatic quarantine: the names held, as text (an agent sees only its own)
  held = new Set();
  const q = Array.isArray(s.quarantined) ? s.quarantined.filter((e) => isObj(e) && str(e.name)) : [];
  for (const e of q) held.add(str(e.name));
  $('quarantined').textContent = q.length
    ? `Quarantined (new proposals refused, queued ones held until an admin releases them): ${q.map((e) => `${str(e.name)}: ${str(e.reason)}`).join('; ')}.`
    : '';
  $('quarantined').hidden = !q.length;
}

function renderSignin(message) {
  showView('signin');
  $('signin-error').textContent = message || '';
  $('signin-submit').disabled = false;
  $('token').focus();
}

function startSignedIn() {
  notice('');
  connectEvents();
  route();
}

// Drops everything the page holds and shows the sign-in form.
function sessionEnded(message) {
  session = null;
  closeEvents();
  proposals = [];
  reposSeen.clear();
  detail = { id: null, view: null, patchKey: null, focus: false };
  for (const id of ['queue-body', 'facts', 'rules', 'files', 'diff', 'runs', 'provenance', 'approvals', 'audit'])
    $(id).replaceChildren();
  $('comment').value = '';
  $('whoami').textContent = '';
  $('whoami').removeAttribute('title');
  document.title = 'airlock';
  notice('');
  renderSignin(message);
}

// What the API client needs of the session: its CSRF token, and that a 401 ends it.
setApiHooks({
  csrf: () => (session ? session.csrf : ''),
  unauthorized: () => {
    if (session) sessionEnded('Your session ended; sign in again.');
  },
});

async function onSignin(ev) {
  ev.preventDefault();
  const input = $('token');
  const token = input.value.trim();
  if (!token) {
    $('signin-error').textContent = 'Enter a reviewer token.';
    return;
  }
  $('signin-submit').disabled = true;
  $('signin-error').textContent = '';
  try {
    const s = await api('POST', '/v1/session', { token }, { quiet401: true });
    input.value = '';
    setSession(s);
    startSignedIn();
  } catch (e) {
    let msg = `Sign-in failed: ${e.message}`;
    if (e.status === 401) msg = e.detail ? `Invalid token: ${e.detail}` : 'Invalid token.';
    else if (e.status === 403) msg = e.detail || 'This token cannot sign in.';
    $('signin-error').textContent = msg;
    input.select();
  } finally {
    $('signin-submit').disabled = false;
  }
}

async function onSignout() {
  $('signout').disabled = true;
  try {
    await api('DELETE', '/v1/session', {}, { quiet401: true });
  } catch (e) {
    if (e.status !== 401) {
      notice(`Sign-out failed: ${e.message}`);
      $('signout').disabled = false;
      return;
    }
  }
  $('signout').disabled = false;
  sessionEnded('Signed out.');
}

// ---- live updates ----------------------------------------------------------------------

function setLive(kind, text) {
  const live = $('live');
  live.className = `live live-${kind}`;
  live.textContent = text;
}

function closeEvents() {
  if (reconnectTimer) clearTimeout(reconnectTimer);
  reconnectTimer = 0;
  if (events) events.close();
  events = null;
}

function connectEvents() {
  closeEvents();
  const es = new EventSource('/v1/events');
  events = es;
  setLive('wait', 'connecting…');
  es.addEventListener('open', () => {
    if (events === es) setLive('ok', 'live');
  });
  // Sent on every (re)connect, also after a server restart: catch up on what was missed.
  es.addEventListener('hello', () => {
    if (events !== es) return;
    setLive('ok', 'live');
    refreshQueue();
    if (detail.id) refreshDetail();
  });
  es.addEventListener('proposal', (ev) => {
    if (events !== es) return;
    const d = parseJSON(ev.data);
    refreshQueue();
    if (isObj(d) && d.id === detail.id) refreshDetail();
  });
  es.addEventListener('error', () => {
    if (events !== es) return;
    setLive('wait', 'reconnecting…');
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (an HTTP error such as 401): check the session, then retry.
      es.close();
      events = null;
      reconnectTimer = setTimeout(reconnectEvents, 2000);
    }
  });
}

async function reconnectEvents() {
  reconnectTimer = 0;
  if (!session) return;
  try {
    const s = await api('GET', '/v1/session');
    if (session) setSession(s);
  } catch (e) {
    if (e.status === 401) return; // api() has shown the sign-in form
  }
  if (session && !events) connectEvents();
}

// ---- routing ---------------------------------------------------------------------------

function parseRoute() {
  const h = location.hash;
  if (h === '' || h === '#' || h === '#/') return { view: 'queue' };
  const m = /^#\/p\/([^/?#]*)$/.exec(h);
  if (m && ID_RE.test(m[1])) return { view: 'detail', id: m[1] };
  return { view: 'queue', bad: true };
}

function route() {
  if (!session) return;
  const r = parseRoute();
  notice(r.bad ? 'That address is not a proposal; showing the queue.' : '');
  if (r.view === 'detail') openDetail(r.id);
  else openQueue();
}

function openQueue() {
  const wasDetail = !$('detail').hidden;
  detail = { id: null, view: null, patchKey: null, focus: false };
  document.title = 'airlock';
  showView('queue');
  renderQueue();
  if (wasDetail) window.scrollTo(0, queueScroll);
  refreshQueue();
}

function openDetail(id) {
  if (!$('queue-view').hidden) queueScroll = window.scrollY;
  if (detail.id !== id) {
    detail = { id, view: null, patchKey: null, focus: true };
    for (const c of ['facts', 'rules', 'files', 'diff', 'runs', 'provenance', 'approvals', 'audit'])
      $(c).replaceChildren();
    $('comment').value = '';
    $('decision-error').textContent = '';
    $('detail-body').hidden = true;
    show($('detail-error'), '');
    window.scrollTo(0, 0);
  }
  showView('detail');
  refreshDetail();
}

// ---- queue -----------------------------------------------------------------------------

const refreshQueue = coalesced(async () => {
  if (!session) return;
  const st = $('filter-state').value;
  const q = STATES.includes(st) ? `?state=${st}` : '';
  try {
    const d = await api('GET', `/v1/proposals${q}`);
    if (!session) return;
    proposals = arr(d.proposals).filter((p) => isObj(p) && ID_RE.test(p.id));
    show($('queue-error'), '');
  } catch (e) {
    if (e.status === 401 || !session) return;
    show($('queue-error'), `Could not load the proposals: ${e.message}`);
  }
  renderQueue();
});

function syncRepoOptions() {
  const sel = $('filter-repo');
  const cur = sel.value;
  const repos = [...reposSeen].sort();
  const have = [...sel.options].slice(1).map((o) => o.value);
  if (have.join('\n') === repos.join('\n')) return;
  sel.replaceChildren(el('option', { value: '' }, 'All'), ...repos.map((r) => el('option', { value: r }, r)));
  sel.value = repos.includes(cur) ? cur : '';
}

function queueRow(p) {
  const title = str(p.title) || '(untitled)';
  return el('tr', { class: 'proposal', 'data-id': p.id, 'data-state': str(p.state) },
    el('td', { class: 'c-title', 'data-label': 'Title' },
      setHashLink(el('a', { class: str(p.title) ? null : 'untitled' }, title), p.id),
      el('span', { class: 'sub mono' }, p.id.slice(0, 12))),
    el('td', { 'data-label': 'Repository' }, str(p.repo)),
    el('td', { 'data-label': 'Proposer' }, held.has(str(p.proposer)) ? `${str(p.proposer)} (quarantined)` : str(p.proposer)),
    el('td', { 'data-label': 'State' }, stateBadge(p.state)),
    el('td', { 'data-label': 'Tier' }, tierText(p.tier)),
    el('td', { 'data-label': 'Age', title: isoTime(p.created) || null }, age(p.created)));
}

function renderQueue() {
  for (const p of proposals) if (str(p.repo)) reposSeen.add(p.repo);
  syncRepoOptions();
  const st = $('filter-state').value;
  const repo = $('filter-repo').value;
  const text = $('filter-text').value.trim().toLowerCase();
  const matches = (p) =>
    (!st || p.state === st) &&
    (!repo || p.repo === repo) &&
    (!text || [p.title, p.id, p.proposer, p.repo].some((v) => str(v).toLowerCase().includes(text)));
  const awaitingFirst = (p) => (p.state === 'awaiting_approval' ? 1 : 0);
  const rows = proposals.filter(matches).sort((a, b) => awaitingFirst(b) - awaitingFirst(a) || num(b.created) - num(a.created));
  $('queue-body').replaceChildren(...rows.map(queueRow));
  const empty = $('queue-empty');
  empty.textContent = proposals.length ? 'No proposals match the filters.' : 'No proposals.';
  empty.hidden = rows.length > 0;
  const awaiting = proposals.filter((p) => p.state === 'awaiting_approval').length;
  const shown = `${rows.length} shown`;
  $('queue-count').textContent = !st || st === 'awaiting_approval' ? `${awaiting} awaiting approval · ${shown}` : shown;
}

// ---- detail ----------------------------------------------------------------------------

const refreshDetail = coalesced(async () => {
  const id = detail.id;
  if (!session || !id) return;
  let view;
  try {
    view = await api('GET', `/v1/proposals/${id}`);
  } catch (e) {
    if (e.status === 401 || detail.id !== id) return;
    const msg = e.status === 404 ? `No proposal ${id}.` : `Could not load the proposal: ${e.message}`;
    show($('detail-error'), msg);
    if (!detail.view) $('detail-body').hidden = true;
    return;
  }
  if (detail.id !== id || !session) return;
  renderDetail(view);
  await Promise.all([loadPatch(id, view), loadAudit(id)]);
});

function renderDetail(v) {
  detail.view = v;
  show($('detail-error'), '');
  $('detail-body').hidden = false;
  const title = str(v.title) || '(untitled)';
  $('detail-title').textContent = title;
  document.title = `${title} · airlock`;
  renderFacts(v);
  renderProblem(v);
  renderApproval(v);
  renderVerdict(v);
  renderEgress(v);
  renderEnvironment(v);
  renderGrant(v);
  renderApprovals(v);
  renderRuns(v);
  renderProvenance(v);
  if (detail.focus) {
    detail.focus = false;
    $('detail-title').focus();
  }
}

function renderFacts(v) {
  const cand = isObj(v.candidate) ? v.candidate : {};
  const rows = [
    ['ID', mono(v.id)],
    ['Repository', str(v.repo) || '—'],
    ['Base', str(v.base) || '—'],
    ['Base commit', mono(v.base_commit)],
    ['Candidate commit', mono(cand.commit)],
    ['Candidate tree', mono(cand.tree)],
    ['Proposer', str(v.proposer) || '—'],
    ['Revision', str(v.revision) || '—'],
    ['State', stateBadge(v.state), 'detail-state'],
    ['Tier', tierText(v.tier)],
    ['Tests to fix', arr(v.fail_to_pass).map((t) => str(t)).join(', ') || '—'],
    ['Policy digest', mono(v.policy_digest)],
    ['Created', timeNode(v.created)],
    ['Updated', timeNode(v.updated)],
  ];
  $('facts').replaceChildren(...rows.flatMap(([k, val, id]) => [el('dt', {}, k), el('dd', { id }, val)]));
}

function renderProblem(v) {
  const parts = [];
  if (v.error) parts.push(`Error: ${asText(v.error)}`);
  const ae = v.apply_error;
  if (isObj(ae)) {
    const where = [str(ae.which), str(ae.file), Number.isInteger(ae.hunk) ? `hunk ${ae.hunk}` : ''].filter(Boolean);
    parts.push(`Did not apply: ${where.join(', ')}${where.length ? ': ' : ''}${str(ae.message)}`);
  } else if (ae) {
    parts.push(`Did not apply: ${asText(ae)}`);
  }
  show($('proposal-error'), parts.join('\n'));
}

function grantsText(g) {
  if (!isObj(g)) return 'The server did not say what approving grants.';
  const tier = Number.isInteger(g.tier) ? g.tier : 2;
  if (g.authority === 'write' || g.authority === 'merge') {
    const on = str(g.ref) ? ` on ${g.ref}` : '';
    const life = typeof g.lifetime_s === 'number' ? ` for ${g.lifetime_s} s` : '';
    return `Approving grants ${g.authority} authority${on}${life} (tier ${tier})`;
  }
  if (g.authority === 'none') return `Approving records tier ${tier} and grants no write authority`;
  return `Approving: ${str(g.summary) || 'unknown authority'}`;
}

const ruleId = (r) => str(r.rule) || str(r.id);
const rulesOf = (v) => (isObj(v.verdict) ? arr(v.verdict.rules).filter(isObj) : []);

function renderApproval(v) {
  const awaiting = v.state === 'awaiting_approval';
  $('approval').hidden = !awaiting;
  if (!awaiting) return;
  const rule = rulesOf(v).find((r) => ruleId(r) === 'approval');
  const notes = [rule ? str(rule.reason) : str(v.verdict && v.verdict.reason)];
  const me = session ? session.name : '';
  if (me && me === v.proposer) notes.push('You proposed this: the server will not accept your decision.');
  const mine = arr(v.approvals).find((a) => isObj(a) && a.reviewer === me && !a.stale && a.revision === v.revision);
  if (mine) notes.push(`You decided "${str(mine.decision)}" on this revision.`);
  $('approval-status').textContent = notes.filter(Boolean).join(' ');
  $('approval-grants').textContent = grantsText(v.approval_grants);
}

function setDeciding(busy) {
  $('approve').disabled = busy;
  $('reject').disabled = busy;
  $('comment').readOnly = busy;
}

async function decide(kind) {
  const id = detail.id;
  const v = detail.view;
  if (!id || !v) return;
  const comment = $('comment').value;
  const out = $('decision-error');
  out.textContent = '';
  const bytes = new TextEncoder().encode(comment).length;
  if (bytes > COMMENT_MAX_BYTES) {
    out.textContent = `The comment is ${bytes} bytes; at most ${COMMENT_MAX_BYTES} are allowed.`;
    return;
  }
  const body = {};
  if (comment.trim()) body.comment = comment;
  // The tree the reviewer looked at: the server refuses the decision if it has changed.
  if (isObj(v.candidate) && TREE_RE.test(str(v.candidate.tree))) body.tree = v.candidate.tree;
  setDeciding(true);
  try {
    const nv = await api('POST', `/v1/proposals/${id}/${kind}`, body);
    $('comment').value = '';
    if (detail.id === id && nv.id === id) {
      renderDetail(nv);
      await Promise.all([loadPatch(id, nv), loadAudit(id)]);
    }
    refreshQueue();
  } catch (e) {
    if (e.status !== 401 && detail.id === id) out.textContent = e.detail || e.message;
  } finally {
    setDeciding(false);
  }
}

function openSet(container, attr) {
  const keys = new Set();
  for (const d of container.querySelectorAll('details[open]')) {
    const holder = d.closest(`[${attr}]`);
    if (holder) keys.add(holder.getAttribute(attr));
  }
  return keys;
}

function renderVerdict(v) {
  const vd = isObj(v.verdict) ? v.verdict : null;
  let summary = 'No verdict.';
  if (vd) summary = `${str(vd.decision) || '—'}: ${str(vd.reason)}`;
  else if (v.state === 'queued' || v.state === 'running') summary = 'The gates have not finished yet.';
  $('verdict-summary').textContent = summary;
  const open = openSet($('rules'), 'data-rule');
  $('rules').replaceChildren(...rulesOf(v).map((r) => {
    const id = ruleId(r);
    const result = str(r.result) || 'UNKNOWN';
    const ev = r.evidence;
    const hasEvidence = (isObj(ev) && Object.keys(ev).length > 0) || (!isObj(ev) && ev !== undefined && ev !== null);
    return el('li', { class: 'rule', 'data-rule': id, 'data-result': result },
      el('span', { class: 'rule-result' }, result),
      el('span', { class: 'rule-id mono' }, id),
      el('span', { class: 'rule-reason' }, str(r.reason)),
      hasEvidence &&
        el('details', { class: 'evidence', open: open.has(id) },
          el('summary', {}, 'evidence'),
          el('pre', {}, JSON.stringify(ev, null, 2))));
  }));
}

// What the gate runs reached through the egress proxy, and what it denied: what to allow.
function renderEgress(v) {
  const eg = isObj(v.verdict) && isObj(v.verdict.egress) ? v.verdict.egress : null;
  $('egress').hidden = !eg;
  if (!eg) return;
  const n = Number.isInteger(eg.connections) ? eg.connections : 0;
  const d = Number.isInteger(eg.denied_count) ? eg.denied_count : 0;
  $('egress-summary').textContent =
    `${n} connection(s) through the egress proxy, ${d} denied${d ? ':' : '.'}`;
  $('egress-denied').replaceChildren(...arr(eg.denied).map((line) => el('li', {}, str(line))));
}

// Which image the runs saw, and the setup layer: reused (hit), built, or its own for a
// change to the key files it lists (which policy may send to a human).
function renderEnvironment(v) {
  const env = isObj(v.verdict) && isObj(v.verdict.environment) ? v.verdict.environment : null;
  $('environment').hidden = !env;
  if (!env) return;
  $('env-image').textContent = env.image
    ? `image ${str(env.image)} (${str(env.unpack)}${Number.isInteger(env.unpack_ms) ? `, ${env.unpack_ms} ms` : ''})`
    : "the host's system";
  const s = isObj(env.setup) ? env.setup : null;
  const ms = s && Number.isInteger(s.ms) ? `${s.ms} ms` : '? ms';
  let text = 'no setup';
  if (s && isObj(s.failed)) text = `setup failed on the ${str(s.failed.tree) || '?'} tree, in ${ms}`;
  else if (s) text = `setup layer ${str(s.layer)} in ${ms}, key ${str(s.key).slice(0, 12)}`;
  if (s && arr(s.own).length) text += `; a layer of its own for the ${arr(s.own).map(str).join(', ')} tree`;
  if (s && arr(s.changed).length) text += '; the change alters:';
  $('env-setup').textContent = text;
  $('env-changed').replaceChildren(...arr(s ? s.changed : []).map((p) => el('li', {}, str(p))));
}

// The statement inside a DSSE envelope, or null. Display only: the server verifies.
function decodeStatement(env) {
  try {
    const bin = atob(str(env.payload));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    const st = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return isObj(st) ? st : null;
  } catch {
    return null;
  }
}

function renderGrant(v) {
  const g = isObj(v.grant) ? v.grant : null;
  const verify = $('grant-verify');
  const dl = $('grant-download');
  const statement = g ? decodeStatement(g) : null;
  const pred = statement && isObj(statement.predicate) ? statement.predicate : null;
  $('grant-statement').hidden = !statement;
  $('grant-statement-body').textContent = statement ? JSON.stringify(statement, null, 2) : '';
  if (!g) {
    $('grant-state').textContent = 'No grant.';
    verify.hidden = true;
    dl.hidden = true;
    dl.removeAttribute('href');
    show($('grant-info'), '');
  } else {
    $('grant-state').textContent = GRANT_STATES[v.grant_state] || str(v.grant_state) || 'unknown';
    const gv = v.grant_verification;
    if (isObj(gv) && gv.ok === true) {
      verify.textContent = `signature verified, key ${str(gv.keyid)} (${str(gv.key_state) || 'unknown'})`;
      verify.className = 'verify ok';
    } else {
      const why = isObj(gv) ? str(gv.detail) || 'no detail' : 'the server sent no verification result';
      verify.textContent = `NOT VERIFIED: ${why}`;
      verify.className = 'verify bad';
    }
    verify.hidden = false;
    if (ID_RE.test(v.id)) {
      dl.setAttribute('href', `/v1/proposals/${v.id}/grant`);
      dl.hidden = false;
    }
    let info = '';
    if (pred) {
      const auth = isObj(pred.authority) ? pred.authority : {};
      const ref = str(auth.ref) ? ` on ${auth.ref}` : '';
      info = `Tier ${str(pred.tier) || '?'}, authority ${str(auth.kind) || '?'}${ref}; issued ${str(pred.issuedAt) || '?'}, not after ${str(pred.notAfter) || '?'}.`;
    }
    show($('grant-info'), info);
  }
  const pr = isObj(v.promotion) ? v.promotion : null;
  let ptext = '';
  if (pr) {
    const at = typeof pr.at === 'number' ? new Date(pr.at * 1000).toLocaleString() : str(pr.at);
    ptext = `Promoted by ${str(pr.by) || '?'} at ${at || '?'}: ${str(pr.ref)} → ${str(pr.commit)}` +
      (str(pr.previous) ? ` (was ${pr.previous})` : '');
  }
  show($('promotion'), ptext);
}

function renderApprovals(v) {
  const list = arr(v.approvals).filter(isObj);
  if (!list.length) {
    $('approvals').replaceChildren(el('li', { class: 'muted' }, 'No decisions yet.'));
    return;
  }
  $('approvals').replaceChildren(...list.map((a) =>
    el('li', { class: a.stale ? 'approval is-stale' : 'approval', 'data-decision': str(a.decision) },
      el('span', { class: 'decision', 'data-decision': str(a.decision) }, str(a.decision) || '?'),
      ' by ', el('strong', {}, str(a.reviewer) || '?'),
      ` on revision ${str(a.revision) || '?'}`,
      a.stale && el('span', { class: 'stale' }, 'stale: does not count'),
      el('div', { class: 'small muted' }, timeNode(a.created)),
      str(a.comment) && el('blockquote', { class: 'comment' }, a.comment))));
}

const mib = (kb) => (typeof kb === 'number' ? `${(kb / 1024).toFixed(1)} MiB` : '? MiB');

function deniedName(d) {
  if (typeof d === 'string') return d;
  if (!isObj(d)) return asText(d);
  const n = str(d.syscall) || str(d.name) || asText(d);
  return typeof d.count === 'number' ? `${n} (${d.count})` : n;
}

// argv for reading, quoted like a shell would need it; never executed.
const argvText = (argv) =>
  arr(argv).map((a) => {
    const s = asText(a);
    return /^[A-Za-z0-9_.,:/=+@%-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
  }).join(' ');

function stream(name, text, bytes, dropped) {
  const t = str(text);
  return [
    el('div', { class: 'stream-head' }, `${name} (${num(bytes)} bytes kept)`,
      num(dropped) > 0 && el('span', { class: 'dropped' }, ` · ${dropped} bytes dropped from the middle`)),
    t ? el('pre', { class: 'output' }, t) : el('p', { class: 'muted small' }, '(empty)'),
  ];
}

function renderRuns(v) {
  const runs = arr(v.runs).filter(isObj);
  const open = openSet($('runs'), 'data-run');
  if (!runs.length) {
    $('runs').replaceChildren(el('p', { class: 'muted' }, v.state === 'queued' || v.state === 'running' ? 'No runs yet.' : 'No runs.'));
    return;
  }
  $('runs').replaceChildren(...runs.map((r) => {
    const id = str(r.id);
    const denied = arr(r.denied).map(deniedName);
    const facts = [
      str(r.side) && `side ${r.side}`,
      str(r.rule) && `rule ${r.rule}`,
      str(r.test) && `test ${r.test}`,
      str(r.name) && `name ${r.name}`,
      typeof r.cpu_ms === 'number' && `cpu ${r.cpu_ms} ms`,
      typeof r.disk_bytes === 'number' && `disk ${mib(r.disk_bytes / 1024)}`,
      num(r.signal) > 0 && `signal ${r.signal}`,
      r.killed === true && 'killed',
    ].filter(Boolean);
    return el('details', { class: 'run', 'data-run': id, open: open.has(id) },
      el('summary', {},
        el('span', { class: 'run-id mono' }, id),
        el('span', { class: 'run-status', 'data-status': str(r.status) }, str(r.status) || '?'),
        el('span', { class: 'run-fact' }, `exit ${str(r.exit_code, '?')}`),
        el('span', { class: 'run-fact' }, `${str(r.wall_ms, '?')} ms`),
        el('span', { class: 'run-fact' }, mib(r.max_rss_kb)),
        el('span', { class: denied.length ? 'run-fact denied' : 'run-fact' },
          `denied ${denied.length}${denied.length ? `: ${denied.join(', ')}` : ''}`)),
      el('p', { class: 'small muted' }, facts.join(' · ')),
      el('div', { class: 'stream-head' }, 'argv'),
      el('pre', { class: 'output' }, argvText(r.argv) || '—'),
      stream('stdout', r.stdout, r.stdout_bytes, r.stdout_dropped),
      stream('stderr', r.stderr, r.stderr_bytes, r.stderr_dropped));
  }));
}

function renderProvenance(v) {
  const entries = isObj(v.provenance) ? Object.entries(v.provenance) : [];
  $('provenance').replaceChildren(entries.length
    ? el('dl', { class: 'facts' }, entries.flatMap(([k, val]) => [el('dt', {}, k), el('dd', { class: 'mono' }, asText(val))]))
    : el('p', { class: 'muted' }, 'None recorded.'));
}

async function loadAudit(id) {
  let entries;
  try {
    entries = arr((await api('GET', `/v1/audit?proposal=${id}`)).entries).filter(isObj);
  } catch (e) {
    if (e.status !== 401 && detail.id === id)
      $('audit').replaceChildren(el('li', { class: 'error' }, `The audit log is not available: ${e.message}`));
    return;
  }
  if (detail.id !== id) return;
  $('audit').replaceChildren(...(entries.length
    ? entries.map((a) => el('li', { class: 'audit-entry' },
        timeNode(a.at, false), ' ',
        el('strong', {}, str(a.actor) || '?'), ' ',
        el('span', { class: 'mono action' }, str(a.action) || '?'),
        asText(a.detail) && el('span', { class: 'audit-detail' }, ` — ${asText(a.detail)}`)))
    : [el('li', { class: 'muted' }, 'No entries.')]));
}

// ---- patch -----------------------------------------------------------------------------

async function loadPatch(id, v) {
  const key = `${id}:${str(v.revision)}`;
  if (detail.patchKey === key) return;
  detail.patchKey = key;
  $('files').replaceChildren(el('li', { class: 'muted' }, 'Loading…'));
  $('diff').replaceChildren();
  let d;
  try {
    d = await api('GET', `/v1/proposals/${id}/patch`);
  } catch (e) {
    if (e.status === 401 || detail.patchKey !== key) return;
    detail.patchKey = null; // try again on the next refresh
    $('files').replaceChildren(el('li', { class: 'error' }, `Could not load the patch: ${e.message}`));
    return;
  }
  if (detail.patchKey === key) renderPatch(d);
}

function renderPatch(d) {
  const parts = [
    { which: 'patch', label: 'Patch', text: d.patch },
    { which: 'test_patch', label: 'Test patch', text: d.test_patch },
  ];
  const fileItems = [];
  const diffs = [];
  for (const part of parts) {
    if (typeof part.text !== 'string' || part.text === '') {
      diffs.push(el('p', { class: 'muted' }, `No ${part.label.toLowerCase()}.`));
      continue;
    }
    const { lines, kinds, files } = scanDiff(part.text);
    for (const f of files)
      fileItems.push(el('li', { class: 'file', 'data-which': part.which },
        el('span', { class: 'which' }, part.which === 'patch' ? 'patch' : 'test patch'),
        el('span', { class: 'path mono' }, f.path),
        el('span', { class: 'count add' }, `+${f.add}`),
        el('span', { class: 'count del' }, `−${f.del}`),
        f.binary && el('span', { class: 'which' }, 'binary')));
    const body = document.createDocumentFragment();
    const n = Math.min(lines.length, DIFF_LINE_CAP);
    for (let i = 0; i < n; i++) body.append(el('div', { class: `line ${kinds[i]}` }, lines[i]));
    diffs.push(el('section', { class: 'diff-part', 'data-which': part.which },
      el('h4', {}, `${part.label} (${lines.length} lines)`),
      el('div', { class: 'diff-body' }, el('div', { class: 'diff-lines' }, body)),
      lines.length > n && el('p', { class: 'muted small' }, `${lines.length - n} more lines not shown.`)));
  }
  $('files').replaceChildren(...(fileItems.length ? fileItems : [el('li', { class: 'muted' }, 'No files.')]));
  $('diff').replaceChildren(...diffs);
}

// ---- start -----------------------------------------------------------------------------

async function boot() {
  $('signin').addEventListener('submit', onSignin);
  $('signout').addEventListener('click', onSignout);
  $('approve').addEventListener('click', () => decide('approve'));
  $('reject').addEventListener('click', () => decide('reject'));
  $('filter-state').addEventListener('change', () => { renderQueue(); refreshQueue(); });
  $('filter-repo').addEventListener('change', renderQueue);
  $('filter-text').addEventListener('input', renderQueue);
  window.addEventListener('hashchange', route);
  try {
    setSession(await api('GET', '/v1/session', null, { quiet401: true }));
  } catch (e) {
    renderSignin(e.status === 401 ? '' : `Could not check the session: ${e.message}`);
    return;
  }
  startSignedIn();
}

boot();
