// @ts-check
/**
 * Real headless browsers with fake media devices: Debian's Chromium, with the
 * flags WebRTC needs on a loopback-only network (docs/TESTING.md), and
 * Debian's Firefox ESR, driven over WebDriver BiDi.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, firefox } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/**
 * Debian's `chromium-headless-shell`: the same engine (Blink, WebRTC, Web Audio, WebCodecs,
 * IndexedDB, service workers) and version as `chromium`, without the browser's own UI: about a
 * third of a core less beside six real-time tabs (docs/TESTING.md), so the real-time stories run in it. It has no install report (`appId`) and
 * labels fake microphones differently, so the PWA and settings tests take the full browser.
 */
export const CHROMIUM_SHELL_PATH = process.env.CHROMIUM_SHELL_PATH ?? '/usr/bin/chromium-headless-shell';

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
 * @param {{ fakeAudioFile?: string, shell?: boolean }} [options] a WAV the fake microphone plays
 *   (looped); `shell`: Debian's headless shell instead of the full browser (see CHROMIUM_SHELL_PATH)
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchBrowser(options = {}) {
	const [path, pkg, variable] = options.shell ? [CHROMIUM_SHELL_PATH, 'chromium-headless-shell', 'CHROMIUM_SHELL_PATH'] : [CHROMIUM_PATH, 'chromium', 'CHROMIUM_PATH'];
	if (!existsSync(path)) throw new Error(`Chromium not found at ${path}: run 'apt-get install ${pkg}' or set ${variable}`);
	// The shell is headless by nature (it takes no --headless=new).
	const base = options.shell ? CHROMIUM_ARGS.filter((a) => !a.startsWith('--headless')) : CHROMIUM_ARGS;
	const args = options.fakeAudioFile ? [...base, `--use-file-for-fake-audio-capture=${options.fakeAudioFile}`] : base;
	return chromium.launch({ executablePath: path, args });
}

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/**
 * Firefox's test switches (docs/TESTING.md): a fake microphone playing a sine
 * (1 kHz at amplitude 0.1 unless told otherwise), no permission prompt,
 * autoplay allowed, a mock audio backend (a machine with no sound device
 * otherwise never starts an AudioContext: resume() never settles), and host
 * ICE candidates on loopback.
 */
export const FIREFOX_PREFS = {
	'media.navigator.streams.fake': true,
	'media.navigator.permission.disabled': true,
	'permissions.default.microphone': 1,
	'media.autoplay.default': 0,
	'media.autoplay.block-webaudio': false,
	'media.autoplay.blocking_policy': 0,
	'media.cubeb.force_mock_context': true,
	'media.peerconnection.ice.loopback': true,
	'media.peerconnection.ice.obfuscate_host_addresses': false
};

/**
 * Debian's Firefox ESR over WebDriver BiDi (playwright-core's 'moz-firefox'
 * channel; patches/playwright-core+*.patch lets it run without one emulation
 * command ESR 153 lacks).
 *
 * @param {{ fakeToneHz?: number }} [options] the frequency of the fake microphone's sine
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchFirefox(options = {}) {
	if (!existsSync(FIREFOX_PATH)) {
		throw new Error(`Firefox not found at ${FIREFOX_PATH}: run 'apt-get install firefox-esr' or set FIREFOX_PATH`);
	}
	// Firefox hangs at start without a HOME it owns.
	const home = process.env.HOME;
	const usableHome = home !== undefined && existsSync(home) && statSync(home).uid === process.getuid?.();
	const env = usableHome ? process.env : { ...process.env, HOME: mkdtempSync(join(tmpdir(), 'stanza-firefox-home-')) };
	const prefs = options.fakeToneHz ? { ...FIREFOX_PREFS, 'media.navigator.audio.fake_frequency': options.fakeToneHz } : FIREFOX_PREFS;
	try {
		return await firefox.launch({ channel: 'moz-firefox', executablePath: FIREFOX_PATH, headless: true, firefoxUserPrefs: prefs, env });
	} catch (err) {
		// An older Firefox than Debian's current ESR lacks WebDriver BiDi commands playwright-core sends at
		// launch: 140.12 ESR (what an install from stale package lists gets) answers network.addDataCollector
		// with "unknown command". Say which Firefox, and what to do, instead of the protocol's words alone.
		if (!/unknown command/.test(String(err))) throw err;
		let version = 'an unknown version';
		try {
			version = execFileSync(FIREFOX_PATH, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
		} catch {
			// the version is only for the message
		}
		throw new Error(`${version} at ${FIREFOX_PATH} lacks a WebDriver BiDi command that playwright-core sends (tested with Firefox 153.8 ESR): run 'apt-get update && apt-get install firefox-esr' for Debian's current ESR, or set FIREFOX_PATH. ${String(err).split('\n')[0]}`, { cause: err });
	}
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
