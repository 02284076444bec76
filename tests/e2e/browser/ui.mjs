// The reviewers' page in a real Chromium: sign-in, the queue, a proposal's detail, an
// approval and its grant arriving without a reload, live updates across a server restart,
// the proposer refused as reviewer, hostile titles, paths and diffs rendered as text, and
// cross-site requests refused.  tests/e2e/browser.sh prepares the repository, the
// configuration, the tokens and the patches; this file starts (and restarts) the server.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { chromium } from 'playwright-core';

const env = (k) => {
	if (!process.env[k]) throw new Error(`browser test: ${k} is not set`);
	return process.env[k];
};
const AIRLOCK = env('AIRLOCK');
const TMP = env('TMP');
const OUT = env('OUT');
const TOKENS = JSON.parse(readFileSync(`${TMP}/tokens.json`, 'utf8'));
// the kernel picks the server's port at its first start; a restart keeps it, so that the
// open page finds the server again
let PORT = 0;
let URL_ = '';
const XSS_TITLE = '<img src=x onerror=alert(5)><script>alert(6)</script> clamp, hostile title';
const XSS_FILE = '<img src=x onerror=alert(document.domain)>.md';
const XSS_LINE = '<script>alert(3)</script><img src=x onerror=alert(4)>';

let passed = 0;
let failed = 0;
const ok = (name) => {
	passed++;
	console.log(`ok   - ${name}`);
};
const notOk = (name, why) => {
	failed++;
	console.log(`FAIL - ${name}`);
	if (why) console.log(`       ${String(why).split('\n')[0].slice(0, 400)}`);
};
const expect = (name, cond, why) => (cond ? ok(name) : notOk(name, why));
// step NAME FN: one check that may throw; a throw is that check's failure, not the run's.
async function step(name, fn) {
	try {
		const r = await fn();
		if (r === false) notOk(name, 'condition false');
		else ok(name);
	} catch (e) {
		notOk(name, e && e.message ? e.message : e);
	}
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- the server ------------------------------------------------------------------------
let server = null;
let serverExit = null;
// bound: the port named in the server's banner, once it is printed (its stdout is copied
// to the log)
function bound(child) {
	return new Promise((resolve, reject) => {
		let text = '';
		child.stdout.on('data', (d) => {
			appendFileSync(`${TMP}/server.log`, d);
			if (text === null) return;
			text += d;
			const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
			if (m) {
				text = null;
				resolve(Number(m[1]));
			}
		});
		serverExit.then((e) => reject(new Error(`the server exited before listening: ${JSON.stringify(e)}`)));
	});
}
async function startServer() {
	const log = openSync(`${TMP}/server.log`, 'a');
	server = spawn(
		AIRLOCK,
		['serve', '--config', `${TMP}/config.json`, '--data', `${TMP}/data`, '--listen', `127.0.0.1:${PORT}`],
		{ stdio: ['ignore', 'pipe', log] },
	);
	serverExit = new Promise((resolve) => server.on('exit', (code, sig) => resolve({ code, sig })));
	try {
		PORT = await bound(server);
	} catch (e) {
		throw new Error(`${e.message}: ${readFileSync(`${TMP}/server.log`, 'utf8').slice(-2000)}`);
	}
	URL_ = `http://127.0.0.1:${PORT}`;
	// no clock to beat: a loaded machine gets a minute
	for (let i = 0; i < 600; i++) {
		try {
			const r = await fetch(`${URL_}/healthz`);
			if (r.ok) return;
		} catch {
			/* not up yet */
		}
		await sleep(100);
	}
	throw new Error('the server did not come up: ' + readFileSync(`${TMP}/server.log`, 'utf8').slice(-2000));
}
async function stopServer() {
	if (!server) return null;
	server.kill('SIGTERM');
	const r = await serverExit;
	server = null;
	return r;
}

async function api(method, path, token, body) {
	const headers = { Authorization: `Bearer ${token}` };
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	const r = await fetch(URL_ + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	const text = await r.text();
	let json = null;
	try {
		json = JSON.parse(text);
	} catch {
		/* not JSON */
	}
	return { status: r.status, json, text };
}

async function submit(token, fields) {
	const r = await api('POST', '/v1/proposals', token, { repo: 'gated', base: 'main', ...fields });
	if (r.status !== 202) throw new Error(`submit: ${r.status} ${r.text}`);
	return r.json.id;
}

async function waitState(id, want, ms = 60000) {
	let last = '';
	for (const end = Date.now() + ms; Date.now() < end; ) {
		const r = await api('GET', `/v1/proposals/${id}`, TOKENS.alice);
		last = r.json && r.json.state;
		if (last === want) return r.json;
		if (['error', 'rejected', 'granted'].includes(last) && last !== want)
			throw new Error(`${id} is ${last}, not ${want}: ${r.text.slice(0, 300)}`);
		await sleep(200);
	}
	throw new Error(`${id} did not reach ${want} (last: ${last})`);
}

// --- a page on another origin, for the cross-site requests --------------------------------
function evilServer(target) {
	const page = `<!doctype html><meta charset="utf-8"><title>elsewhere</title>
<form id="f" method="post" action="${target}" enctype="text/plain">
<input type="hidden" name='{"comment":"forged","x":"' value='"}'>
<button id="go" type="submit">win a prize</button></form>`;
	const s = http.createServer((req, res) => {
		res.writeHead(200, { 'Content-Type': 'text/html' });
		res.end(page);
	});
	// port 0: the kernel picks one; the page is then at s.address().port
	return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

// --- the run ---------------------------------------------------------------------------
const patches = JSON.parse(readFileSync(`${TMP}/patches.json`, 'utf8'));
mkdirSync(OUT, { recursive: true });
await startServer();

const fix = { patch: patches.fix, test_patch: patches.test, fail_to_pass: [patches.test_id] };
const p1 = await submit(TOKENS['agent-1'], { ...fix, title: 'calc: clamp keeps values above the range at the top' });
const p2 = await submit(TOKENS['agent-2'], { ...fix, title: 'calc: the same fix, approved elsewhere' });
const p3 = await submit(TOKENS['agent-1'], { ...fix, patch: patches.xss, title: XSS_TITLE });
const p5 = await submit(TOKENS['agent-1'], { ...fix, title: 'calc: one more, for the refusals' });
for (const id of [p1, p2, p5]) await waitState(id, 'awaiting_approval');
// libgit2 refuses to write a file named with '<' and '>': the gate rejects that one, and
// the page still shows it whole
await waitState(p3, 'rejected');
ok('three proposals await approval; the one with a hostile title, file name and diff is rejected');

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
context.setDefaultTimeout(20000);
// every page records CSP violations and dialogs: a script that ran would open one
await context.addInitScript(() => {
	window.__violations = [];
	document.addEventListener('securitypolicyviolation', (e) =>
		window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`),
	);
});
const dialogs = [];
const page = await context.newPage();
page.on('dialog', (d) => {
	dialogs.push(d.message());
	d.dismiss().catch(() => {});
});
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));

try {
	// sign-in, with the security headers on the page itself
	const first = await page.goto(URL_ + '/');
	const h = first.headers();
	expect('the page is served with CSP default-src \'self\' and frame-ancestors \'none\'',
		/default-src 'self'/.test(h['content-security-policy'] || '') &&
			/frame-ancestors 'none'/.test(h['content-security-policy'] || ''),
		h['content-security-policy']);
	expect('the page is served with nosniff and no-referrer',
		h['x-content-type-options'] === 'nosniff' && h['referrer-policy'] === 'no-referrer',
		JSON.stringify(h));
	await page.waitForSelector('#signin-view:not([hidden])');

	await step('an agent token cannot sign in', async () => {
		await page.fill('#token', TOKENS['agent-1']);
		await page.click('#signin-submit');
		await page.waitForFunction(() => (document.querySelector('#signin-error')?.textContent || '').length > 0);
		const t = await page.textContent('#signin-error');
		if (!/agent/i.test(t)) throw new Error(`error text: ${t}`);
	});

	await step('a reviewer signs in and sees the queue', async () => {
		await page.fill('#token', TOKENS.alice);
		await page.click('#signin-submit');
		await page.waitForSelector('#queue-view:not([hidden])');
		const who = await page.textContent('#whoami');
		if (!who.includes('alice')) throw new Error(`whoami: ${who}`);
	});

	await step('the session cookie is HttpOnly and SameSite=Strict, and expires', async () => {
		const c = (await context.cookies(URL_)).find((x) => x.name === 'airlock_session');
		if (!c) throw new Error('no airlock_session cookie');
		if (!c.httpOnly || c.sameSite !== 'Strict' || !(c.expires > Date.now() / 1000))
			throw new Error(JSON.stringify(c));
		const seen = await page.evaluate(() => document.cookie);
		if (seen.includes('airlock_session')) throw new Error('the page can read the cookie');
	});

	await step('the queue lists the awaiting proposals first, with repo, proposer and tier', async () => {
		await page.waitForSelector(`#queue tr.proposal[data-id="${p1}"]`);
		const rows = await page.$$eval('#queue tr.proposal', (trs) =>
			trs.map((tr) => ({ id: tr.dataset.id, state: tr.dataset.state, text: tr.textContent })),
		);
		const row = rows.find((r) => r.id === p1);
		if (rows[0].state !== 'awaiting_approval') throw new Error(`first row: ${rows[0].state}`);
		if (!/gated/.test(row.text) || !/agent-1/.test(row.text) || !/tier 1/.test(row.text))
			throw new Error(row.text);
	});
	await page.screenshot({ path: `${OUT}/queue.png`, fullPage: true });

	await step('the state filter narrows the queue', async () => {
		await page.selectOption('#filter-state', 'granted');
		await page.waitForFunction(() => document.querySelectorAll('#queue tr.proposal').length === 0);
		await page.selectOption('#filter-state', '');
		await page.waitForSelector(`#queue tr.proposal[data-id="${p1}"]`);
	});

	// the detail view
	await step('the detail shows the title, rule results and what approving grants', async () => {
		await page.click(`#queue tr.proposal[data-id="${p1}"] a`);
		await page.waitForSelector('#detail:not([hidden]) #rules li.rule');
		const title = await page.textContent('#detail-title');
		if (!title.includes('clamp keeps values')) throw new Error(`title: ${title}`);
		const rules = await page.$$eval('#rules li.rule', (lis) =>
			lis.map((li) => [li.dataset.rule, li.dataset.result, li.querySelector('.rule-reason').textContent]),
		);
		const rep = rules.find((r) => r[0].startsWith('reproduce:'));
		const appr = rules.find((r) => r[0] === 'approval');
		if (!rep || rep[1] !== 'SATISFIED' || !/fails on base/.test(rep[2])) throw new Error(JSON.stringify(rules));
		if (!appr || appr[1] !== 'UNSATISFIED') throw new Error(JSON.stringify(rules));
		const grants = await page.textContent('#approval-grants');
		if (!/merge/.test(grants) || !/refs\/heads\/main/.test(grants)) throw new Error(`grants: ${grants}`);
	});

	await step('the detail lists the changed files, the diff and each run with its output', async () => {
		await page.waitForSelector('#files li.file');
		const files = await page.$$eval('#files li.file', (lis) => lis.map((li) => li.textContent));
		if (!files.some((f) => f.includes('src/calc.c'))) throw new Error(JSON.stringify(files));
		const adds = await page.$$eval('#diff .line.add', (d) => d.length);
		if (adds < 1) throw new Error('no added lines in the diff');
		const runs = await page.$$eval('#runs details.run', (ds) => ds.map((d) => d.dataset.run));
		if (!runs.includes(`reproduce:${patches.test_id}:base`)) throw new Error(JSON.stringify(runs));
		const sel = `#runs details.run[data-run="reproduce:${patches.test_id}:base"]`;
		await page.click(`${sel} summary`);
		const out = await page.textContent(sel);
		if (!/FAIL/.test(out)) throw new Error(out.slice(0, 300));
	});
	await page.screenshot({ path: `${OUT}/detail.png`, fullPage: true });

	await step('approving shows the grant, verified, without reloading the page', async () => {
		await page.evaluate(() => {
			window.__notReloaded = 1;
		});
		await page.fill('#comment', 'read the diff and the runs; fine');
		await page.click('#approve');
		await page.waitForFunction(() => /granted/.test((document.querySelector('#detail-state')?.textContent || '')));
		await page.waitForFunction(() => /verified/i.test((document.querySelector('#grant-verify')?.textContent || '')));
		const v = await page.evaluate(() => window.__notReloaded);
		if (v !== 1) throw new Error('the page reloaded');
		const href = await page.getAttribute('#grant-download', 'href');
		if (href !== `/v1/proposals/${p1}/grant`) throw new Error(`download: ${href}`);
		const view = (await api('GET', `/v1/proposals/${p1}`, TOKENS.alice)).json;
		if (view.state !== 'granted' || view.approvals[0].reviewer !== 'alice') throw new Error(JSON.stringify(view.approvals));
	});

	await step('the approval is in the audit log under the reviewer\'s name', async () => {
		await page.waitForFunction(() => /approve/.test((document.querySelector('#audit')?.textContent || '')));
		const a = await page.textContent('#audit');
		if (!/alice/.test(a)) throw new Error(a);
	});

	await step('the grant downloads as a file', async () => {
		const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#grant-download')]);
		const name = dl.suggestedFilename();
		if (name !== `airlock-grant-${p1}.json`) throw new Error(name);
		const body = JSON.parse(readFileSync(await dl.path(), 'utf8'));
		if (body.payloadType !== 'application/vnd.in-toto+json') throw new Error(JSON.stringify(body).slice(0, 200));
	});

	await step('a decision made elsewhere reaches the open page live', async () => {
		await page.goto(`${URL_}/#/p/${p2}`);
		await page.waitForFunction(() => /awaiting_approval/.test((document.querySelector('#detail-state')?.textContent || '')));
		await page.waitForFunction(() => (document.querySelector('#live')?.textContent || '').trim() === 'live');
		await page.evaluate(() => {
			window.__notReloaded = 2;
		});
		const r = await api('POST', `/v1/proposals/${p2}/approve`, TOKENS.bob, { comment: 'from the API' });
		if (r.status !== 200) throw new Error(`approve: ${r.status} ${r.text}`);
		await page.waitForFunction(() => /verified/i.test((document.querySelector('#grant-verify')?.textContent || '')));
		if ((await page.evaluate(() => window.__notReloaded)) !== 2) throw new Error('the page reloaded');
	});

	// hostile content from the agent: text, never markup
	await step('a hostile title, file name and diff render as inert text', async () => {
		await page.goto(`${URL_}/#/`);
		await page.waitForSelector(`#queue tr.proposal[data-id="${p3}"]`);
		const rowText = await page.textContent(`#queue tr.proposal[data-id="${p3}"]`);
		if (!rowText.includes(XSS_TITLE)) throw new Error(`row: ${rowText}`);
		await page.click(`#queue tr.proposal[data-id="${p3}"] a`);
		await page.waitForFunction((t) => (document.querySelector('#detail-title')?.textContent || '').includes(t), XSS_TITLE);
		await page.waitForSelector('#files li.file');
		const files = await page.textContent('#files');
		if (!files.includes(XSS_FILE)) throw new Error(`files: ${files}`);
		await page.waitForFunction((l) => (document.querySelector('#diff')?.textContent || '').includes(l), XSS_LINE);
		await page.screenshot({ path: `${OUT}/hostile.png`, fullPage: true });
		const dom = await page.evaluate(() => ({
			imgs: document.querySelectorAll('img').length,
			scripts: [...document.querySelectorAll('script')].map((s) => s.getAttribute('src')),
			violations: window.__violations,
			handlers: [...document.querySelectorAll('*')].filter((e) =>
				[...e.attributes].some((a) => a.name.startsWith('on')),
			).length,
		}));
		if (dom.imgs !== 0) throw new Error(`${dom.imgs} <img> elements in the page`);
		if (dom.scripts.length !== 1 || dom.scripts[0] !== '/app.js') throw new Error(`scripts: ${dom.scripts}`);
		if (dom.handlers !== 0) throw new Error(`${dom.handlers} elements with on* attributes`);
		if (dom.violations.length) throw new Error(`CSP violations: ${dom.violations}`);
		if (dialogs.length) throw new Error(`a script ran: dialogs ${dialogs}`);
	});

	// cross-site and CSRF
	await step('a form POST from another origin, carrying the cookie, is refused', async () => {
		const evil = await evilServer(`${URL_}/v1/proposals/${p5}/approve`);
		try {
			const other = await context.newPage();
			await other.goto(`http://127.0.0.1:${evil.address().port}/`);
			const [resp] = await Promise.all([other.waitForNavigation(), other.click('#go')]);
			const status = resp.status();
			const text = await other.textContent('body');
			await other.close();
			if (status !== 403 || !/cross-origin/.test(text)) throw new Error(`${status} ${text}`);
		} finally {
			evil.close();
		}
		const v = (await api('GET', `/v1/proposals/${p5}`, TOKENS.alice)).json;
		if (v.state !== 'awaiting_approval' || v.approvals.length !== 0) throw new Error(JSON.stringify(v.approvals));
	});

	await step('a form POST from another site gets no cookie and is refused', async () => {
		const evil = await evilServer(`${URL_}/v1/proposals/${p5}/approve`);
		try {
			const other = await context.newPage();
			await other.goto(`http://localhost:${evil.address().port}/`);
			const [resp] = await Promise.all([other.waitForNavigation(), other.click('#go')]);
			const status = resp.status();
			await other.close();
			if (status !== 401) throw new Error(`status ${status}`);
		} finally {
			evil.close();
		}
	});

	await step('a same-origin request without the CSRF token is refused', async () => {
		const r = await page.evaluate(async (id) => {
			const x = await fetch(`/v1/proposals/${id}/approve`, {
				method: 'POST',
				credentials: 'same-origin',
				headers: { 'Content-Type': 'application/json' },
				body: '{}',
			});
			return [x.status, await x.text()];
		}, p5);
		if (r[0] !== 403 || !/CSRF/.test(r[1])) throw new Error(r.join(' '));
		const v = (await api('GET', `/v1/proposals/${p5}`, TOKENS.alice)).json;
		if (v.state !== 'awaiting_approval') throw new Error(v.state);
	});

	// the page follows the server across a restart
	await step('after a server restart the page reconnects and shows new proposals live', async () => {
		await page.goto(`${URL_}/#/`);
		await page.waitForFunction(() => (document.querySelector('#live')?.textContent || '').trim() === 'live');
		await page.evaluate(() => {
			window.__notReloaded = 3;
		});
		const exit = await stopServer();
		if (exit.code !== 0) throw new Error(`the server exited ${JSON.stringify(exit)}`);
		await page.waitForFunction(() => (document.querySelector('#live')?.textContent || '').trim() !== 'live');
		await startServer();
		const p4 = await submit(TOKENS['agent-2'], { ...fix, title: 'after the restart' });
		await page.waitForSelector(`#queue tr.proposal[data-id="${p4}"]`, { timeout: 30000 });
		await waitState(p4, 'awaiting_approval');
		await page.waitForSelector(`#queue tr.proposal[data-id="${p4}"][data-state="awaiting_approval"]`, { timeout: 30000 });
		if ((await page.evaluate(() => window.__notReloaded)) !== 3) throw new Error('the page reloaded');
	});

	// sign-out ends the session on the server
	await step('signing out ends the session on the server', async () => {
		const c = (await context.cookies(URL_)).find((x) => x.name === 'airlock_session');
		await page.click('#signout');
		await page.waitForSelector('#signin-view:not([hidden])');
		const r = await fetch(`${URL_}/v1/session`, { headers: { Cookie: `airlock_session=${c.value}` } });
		if (r.status !== 401) throw new Error(`the old cookie still works: ${r.status}`);
	});

	// the proposer as reviewer
	await step('a reviewer who proposed the change is refused approval', async () => {
		await page.fill('#token', TOKENS['agent-1-reviewer']);
		await page.click('#signin-submit');
		await page.waitForSelector('#queue-view:not([hidden])');
		await page.goto(`${URL_}/#/p/${p5}`);
		await page.waitForSelector('#approve');
		await page.click('#approve');
		await page.waitForFunction(() => (document.querySelector('#decision-error')?.textContent || '').length > 0);
		const t = await page.textContent('#decision-error');
		if (!/propos/.test(t)) throw new Error(`error text: ${t}`);
		const v = (await api('GET', `/v1/proposals/${p5}`, TOKENS.alice)).json;
		if (v.state !== 'awaiting_approval' || v.approvals.length !== 0) throw new Error(JSON.stringify(v));
	});

	await step('a pause shows as a banner, as text, and goes with resume', async () => {
		const p = await api('POST', '/v1/admin/pause', TOKENS.ops, { reason: 'incident <b>42</b>' });
		if (p.status !== 200) throw new Error(`pause: ${p.status} ${p.text}`);
		await page.reload();
		await page.waitForSelector('#paused:not([hidden])');
		const t = await page.textContent('#paused');
		if (!t.includes('Paused by ops: incident <b>42</b>')) throw new Error(`banner: ${t}`);
		if (await page.$('#paused b')) throw new Error('the reason was rendered as markup');
		const r = await api('POST', '/v1/admin/resume', TOKENS.ops);
		if (r.status !== 200) throw new Error(`resume: ${r.status} ${r.text}`);
		await page.reload();
		await page.waitForSelector('#whoami');
		await page.waitForFunction(() => document.querySelector('#paused')?.hidden === true);
	});

	await step('a quarantined token shows as a banner, as text, and on its proposals, and goes with release', async () => {
		// as the scheduler records one (tests/e2e/quarantine.sh makes a real one)
		execFileSync('sqlite3', [`${TMP}/data/airlock.db`,
			"INSERT INTO quarantines(name, reason, at, by) VALUES ('agent-2', 'probe <b>x</b>', strftime('%s', 'now'), 'scheduler')"]);
		await page.goto(`${URL_}/`);
		await page.reload();
		await page.waitForSelector('#quarantined:not([hidden])');
		const t = await page.textContent('#quarantined');
		if (!t.includes('agent-2: probe <b>x</b>')) throw new Error(`banner: ${t}`);
		if (await page.$('#quarantined b')) throw new Error('the reason was rendered as markup');
		await page.waitForSelector('#queue-view:not([hidden]) tr.proposal');
		await page.selectOption('#filter-state', '');
		const who = await page.$$eval('tr.proposal td[data-label="Proposer"]', (tds) => tds.map((td) => td.textContent));
		if (!who.includes('agent-2 (quarantined)') || who.some((w) => w.startsWith('agent-1 ')))
			throw new Error(`proposers: ${who.join(', ')}`);
		const r = await api('POST', '/v1/admin/tokens/agent-2/release', TOKENS.ops);
		if (r.status !== 200) throw new Error(`release: ${r.status} ${r.text}`);
		await page.reload();
		await page.waitForSelector('#whoami');
		await page.waitForFunction(() => document.querySelector('#quarantined')?.hidden === true);
	});

	expect('no script error on the page', pageErrors.length === 0, pageErrors.join('; '));
	expect('no dialog opened all along', dialogs.length === 0, dialogs.join('; '));

	// a phone-sized screen
	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(`${URL_}/#/p/${p1}`);
	await page.waitForSelector('#detail:not([hidden]) #rules li.rule');
	await page.screenshot({ path: `${OUT}/detail-phone.png`, fullPage: true });
	const wide = await page.evaluate(() => document.documentElement.scrollWidth);
	expect('on a phone-sized screen the page does not scroll sideways', wide <= 390, `scrollWidth ${wide}`);
} catch (e) {
	notOk('the run stopped', e && e.stack ? e.stack : e);
} finally {
	await browser.close();
	const exit = await stopServer();
	expect('the server stops cleanly', !exit || exit.code === 0, JSON.stringify(exit));
}

console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
