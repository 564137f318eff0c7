// @ts-check
/**
 * Real headless Chromium (Debian's) with fake media devices and the flags
 * WebRTC needs on a loopback-only network (see shared/PLATFORM.md).
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
	'--headless=new',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--use-fake-ui-for-media-stream',
	'--use-fake-device-for-media-stream',
	'--autoplay-policy=no-user-gesture-required',
	// Without it Chromium gathers no ICE candidates on a loopback-only network.
	'--allow-loopback-in-peer-connection'
];

/**
 * @param {{ fakeAudioFile?: string }} [options] a WAV the fake microphone plays (looped)
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchBrowser(options = {}) {
	if (!existsSync(CHROMIUM_PATH)) {
		throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run 'apt-get install chromium' or set CHROMIUM_PATH`);
	}
	const args = options.fakeAudioFile ? [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${options.fakeAudioFile}`] : CHROMIUM_ARGS;
	return chromium.launch({ executablePath: CHROMIUM_PATH, args });
}

/**
 * A fresh profile (its own IndexedDB) with a page that records page errors and
 * unhandled promise rejections: the tests fail on any.
 * @param {import('playwright-core').Browser} browser
 */
export async function newPeerPage(browser) {
	const context = await browser.newContext();
	const page = await context.newPage();
	/** @type {string[]} */
	const errors = [];
	page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
	page.on('console', (msg) => {
		if (process.env.STANZA_E2E_CONSOLE) console.log(`[page] ${msg.type()}: ${msg.text()}`);
		if (msg.type() === 'error' && /Uncaught|unhandled/i.test(msg.text())) errors.push(`console: ${msg.text()}`);
	});
	await page.addInitScript(() => {
		window.addEventListener('unhandledrejection', (event) => {
			console.error(`unhandled rejection: ${String(event.reason?.stack ?? event.reason)}`);
		});
	});
	return { context, page, errors };
}
