// The environment section of a proposal's page in a real Chromium: prints what the page
// shows as one JSON line ({"image": "...", "setup": "...", "changed": [...]}). Used by
// tests/e2e/setup.sh.
import { readSection } from './proposal.mjs';

await readSection('environment', async (page) => ({
	image: (await page.textContent('#env-image')).trim(),
	setup: (await page.textContent('#env-setup')).trim(),
	changed: await page.$$eval('#env-changed li', (li) => li.map((x) => x.textContent)),
}));
