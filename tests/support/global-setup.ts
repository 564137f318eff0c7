import { existsSync } from 'node:fs';
import { CHROMIUM_PATH, FIREFOX_PATH } from './browser.js';

/** Fails fast, with the fix, when the e2e prerequisites are missing. */
export default function setup(): void {
	if (!existsSync('build/index.html')) throw new Error('The app is not built: run `npm run build` (npm test does it).');
	if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run \`apt-get install chromium\`.`);
	if (!existsSync(FIREFOX_PATH)) throw new Error(`Firefox not found at ${FIREFOX_PATH}: run \`apt-get install firefox-esr\`.`);
}
