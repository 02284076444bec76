// The page's building blocks: small helpers that make elements and read untrusted values
// as text, and the API client. No state of the page lives here; see README.md.

export const ID_RE = /^[0-9a-f]{32}$/;

export const $ = (id) => document.getElementById(id);

// ---- small helpers ---------------------------------------------------------------------

const NO_ATTR = /^(?:on|href$|src$|style$|srcdoc$|action$|formaction$)/i;

// el('li', {class: 'x', 'data-id': id}, 'text', childNode, [more]) -> element.
// Strings become text nodes; null/undefined/false children and attributes are skipped.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (NO_ATTR.test(k)) throw new Error(`el: attribute ${k} is not allowed`);
    if (v === null || v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const str = (v, dflt = '') =>
  typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : dflt;
export const arr = (v) => (Array.isArray(v) ? v : []);
export const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
export const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
export const tierText = (t) => (Number.isInteger(t) ? `tier ${t}` : '—');
export const mono = (v) => el('span', { class: 'mono' }, str(v) || '—');
export const asText = (v) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v));

export function setHashLink(a, id) {
  if (ID_RE.test(id)) a.setAttribute('href', `#/p/${id}`);
  return a;
}

export function stateBadge(s) {
  return el('span', { class: 'state', 'data-state': str(s) }, str(s) || 'unknown');
}

export function age(sec) {
  if (typeof sec !== 'number' || !Number.isFinite(sec)) return '—';
  const d = Math.floor(Date.now() / 1000 - sec);
  if (d < 10) return 'just now';
  if (d < 60) return `${d}s ago`;
  if (d < 3600) return `${Math.floor(d / 60)}m ago`;
  if (d < 86400) return `${Math.floor(d / 3600)}h ago`;
  return `${Math.floor(d / 86400)}d ago`;
}

export function isoTime(sec) {
  if (typeof sec !== 'number' || !Number.isFinite(sec)) return '';
  const d = new Date(sec * 1000);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

// <time> with the local date and the relative age; the ISO time in its title.
export function timeNode(sec, withAge = true) {
  const iso = isoTime(sec);
  if (!iso) return el('span', { class: 'muted' }, '—');
  const local = new Date(sec * 1000).toLocaleString();
  return el('time', { datetime: iso, title: iso }, withAge ? `${local} (${age(sec)})` : local);
}

export function show(node, text) {
  node.textContent = text || '';
  node.hidden = !text;
}

export function notice(text) {
  show($('notice'), text);
}

// ---- API -------------------------------------------------------------------------------

// Set by app.js: the signed-in session's CSRF token ('' when signed out), and what a 401
// does (ends the session, if there is one).
const hooks = { csrf: () => '', unauthorized: () => {} };

export function setApiHooks(h) {
  Object.assign(hooks, h);
}

// api('GET', '/v1/proposals') -> parsed JSON. Throws Error with .status (0 when the
// server did not answer) and .detail. A 401 ends the session unless opts.quiet401.
export async function api(method, path, body, opts = {}) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
  if (method !== 'GET') {
    init.headers['Content-Type'] = 'application/json';
    const csrf = hooks.csrf();
    if (csrf) init.headers['X-CSRF-Token'] = csrf;
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(path, init).catch(() => null);
  if (!res) throw apiError('the server did not answer', 0, '');
  const data = parseJSON(await res.text().catch(() => ''));
  if (!res.ok) {
    const detailText = isObj(data) ? str(data.detail) : '';
    const err = apiError(detailText || (isObj(data) && str(data.error)) || `HTTP ${res.status}`, res.status, detailText);
    if (res.status === 401 && !opts.quiet401) hooks.unauthorized();
    throw err;
  }
  if (!isObj(data)) throw apiError('the server sent an answer that is not a JSON object', res.status, '');
  return data;
}

function apiError(message, status, detailText) {
  return Object.assign(new Error(message), { status, detail: detailText });
}

export function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// Runs fn at most once at a time; calls made meanwhile cause one more run afterwards.
export function coalesced(fn) {
  let busy = false;
  let again = false;
  return async function run() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        await fn();
      } while (again);
    } finally {
      busy = false;
    }
  };
}
