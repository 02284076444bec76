// The egress section of a proposal's page in a real Chromium: prints what the page shows
// as one JSON line ({"summary": "...", "denied": ["host:port: reason", ...]}). Used by
// tests/e2e/egress-gate.sh.
import { readSection } from './proposal.mjs';

await readSection('egress', async (page) => ({
	summary: (await page.textContent('#egress-summary')).trim(),
	denied: await page.$$eval('#egress-denied li', (li) => li.map((x) => x.textContent)),
}));
