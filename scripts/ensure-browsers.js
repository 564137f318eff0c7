// @ts-check
/**
 * The browser tests and benchmarks drive Debian's Chromium. On a fresh Debian
 * machine where we are root, install it; anywhere else, say what to do.
 * (Never a downloaded browser build: only the distribution's package.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(path)) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !existsSync('/usr/bin/apt-get') || path !== '/usr/bin/chromium') {
	console.error(`Chromium is needed for the browser tests and was not found at ${path}.`);
	console.error("Install Debian's package (sudo apt-get install chromium) or set CHROMIUM_PATH.");
	process.exit(1);
}
console.log("Installing Debian's chromium for the browser tests…");
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
