// The environment section of a proposal's page in a real Chromium: signs in with a
// reviewer's token, opens the proposal, and prints what the page shows as one JSON line
// ({"image": "...", "setup": "...", "changed": [...]}). Used by tests/e2e/setup.sh.
import { chromium } from 'playwright-core';

const env = (k) => {
	if (!process.env[k]) throw new Error(`environment page: ${k} is not set`);
	return process.env[k];
};
const URL_ = env('URL');
const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
	const page = await browser.newPage();
	page.setDefaultTimeout(20000);
	await page.goto(URL_ + '/');
	await page.waitForSelector('#signin-view:not([hidden])');
	await page.fill('#token', env('TOKEN'));
	await page.click('#signin-submit');
	await page.waitForSelector('#queue-view:not([hidden])');
	await page.goto(`${URL_}/#/p/${env('ID')}`);
	await page.waitForSelector('#detail:not([hidden]) #environment:not([hidden])');
	const image = (await page.textContent('#env-image')).trim();
	const setup = (await page.textContent('#env-setup')).trim();
	const changed = await page.$$eval('#env-changed li', (li) => li.map((x) => x.textContent));
	console.log(JSON.stringify({ image, setup, changed }));
} finally {
	await browser.close();
}
