// A proposal's page in a real Chromium, for the suites that check one section of it: signs
// in with a reviewer's token (env TOKEN) at URL, opens proposal ID, waits for the section
// to show, and hands the page to read, whose answer it prints as one JSON line.
import { chromium } from 'playwright-core';

const env = (k) => {
	if (!process.env[k]) throw new Error(`proposal page: ${k} is not set`);
	return process.env[k];
};

export async function readSection(section, read) {
	const url = env('URL');
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-dev-shm-usage'],
	});
	try {
		const page = await browser.newPage();
		page.setDefaultTimeout(20000);
		await page.goto(url + '/');
		await page.waitForSelector('#signin-view:not([hidden])');
		await page.fill('#token', env('TOKEN'));
		await page.click('#signin-submit');
		await page.waitForSelector('#queue-view:not([hidden])');
		await page.goto(`${url}/#/p/${env('ID')}`);
		await page.waitForSelector(`#detail:not([hidden]) #${section}:not([hidden])`);
		console.log(JSON.stringify(await read(page)));
	} finally {
		await browser.close();
	}
}
