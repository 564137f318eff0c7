// @ts-check
/**
 * The browser tests and benchmarks drive Debian's browsers: Chromium, and
 * Firefox ESR for the cross-browser test. On a fresh Debian machine where we
 * are root, install what is missing; anywhere else, say what to do. (Never a
 * downloaded browser build: only the distribution's packages.)
 *
 * Usage: node scripts/ensure-browsers.js [chromium] [chromium-headless-shell] [firefox-esr]  (default: all)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const KNOWN = {
	chromium: { path: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', variable: 'CHROMIUM_PATH', why: 'the browser tests' },
	'chromium-headless-shell': {
		path: process.env.CHROMIUM_SHELL_PATH ?? '/usr/bin/chromium-headless-shell',
		variable: 'CHROMIUM_SHELL_PATH',
		why: 'the real-time browser tests'
	},
	'firefox-esr': { path: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr', variable: 'FIREFOX_PATH', why: 'the Firefox test' }
};
/** @type {Array<keyof typeof KNOWN>} */
const wanted = process.argv.length > 2 ? /** @type {Array<keyof typeof KNOWN>} */ (process.argv.slice(2)) : ['chromium', 'chromium-headless-shell', 'firefox-esr'];
const unknown = wanted.filter((p) => !(p in KNOWN));
if (unknown.length > 0) {
	console.error(`ensure-browsers: unknown browser ${unknown.join(', ')} (known: ${Object.keys(KNOWN).join(', ')})`);
	process.exit(2);
}
const missing = wanted.filter((p) => !existsSync(KNOWN[p].path));
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const installable = missing.every((p) => KNOWN[p].path === `/usr/bin/${p}`);
if (!isRoot || !existsSync('/usr/bin/apt-get') || !installable) {
	for (const p of missing) {
		console.error(`${p} is needed for ${KNOWN[p].why} and was not found at ${KNOWN[p].path}.`);
		console.error(`Install Debian's package (sudo apt-get install ${p}) or set ${KNOWN[p].variable}.`);
	}
	process.exit(1);
}
console.log(`Installing Debian's ${missing.join(' and ')} for the browser tests…`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
