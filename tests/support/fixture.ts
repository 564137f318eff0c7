/**
 * The one setup every end-to-end file shares: real Chromium browsers (one per
 * fake microphone), a real relay process on 127.0.0.1, fresh pages that
 * record page errors, clean-ups, and the rule that a test fails on any page
 * error or unhandled rejection. Call `e2eFixture()` at the top of a file (or
 * a describe block); it registers the hooks and hands back what tests use.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { launchBrowser, launchFirefox, newPeerPage } from './browser.js';
import { startRelay, type RelayProcess } from './relay-process.js';
import { RoomPage } from './room-page';

export interface FixtureOptions {
	/**
	 * Named browsers to launch: Chromium, each with its own fake microphone file (or none), or
	 * Firefox (`firefox`), whose fake microphone plays a sine of `fakeToneHz`. Chromium is Debian's
	 * headless shell unless `full` asks for the whole browser (its install report, its device labels).
	 */
	browsers?: Record<string, { fakeAudioFile?: string; full?: boolean; firefox?: { fakeToneHz?: number } }>;
	/**
	 * 'test': each test's relay, pages and clean-ups end with it.
	 * 'file': they live across the file's tests, which then form one story in order.
	 */
	scope?: 'test' | 'file';
}

export interface PageOptions {
	/** Which of the file's browsers (default: the first). */
	browser?: string;
	/** Where the page opens (default: the relay's app). */
	url?: string;
	/** Runs before the page loads, e.g. to stand in for a browser that refuses the microphone. */
	initScript?: () => void;
}

export interface Fixture {
	browser(name?: string): Browser;
	/** The running relay; started on first use (with `options`, when it starts now). */
	relay(options?: Parameters<typeof startRelay>[0]): Promise<RelayProcess>;
	/** Stops the relay (a scenario about the relay going away); resolves with its exit code. */
	stopRelay(): Promise<number | null>;
	/** A fresh profile's page, opened at `url` (default: the relay's app), its errors recorded. */
	page(options?: PageOptions): Promise<Page>;
	/** A fresh profile on the app's home page with a name set. */
	person(name: string, options?: PageOptions): Promise<RoomPage>;
	/** Records page errors of a page the fixture did not open (e.g. a persistent profile). */
	watchErrors(page: Page): void;
	/** Runs `cleanUp` when the test ends (or the file, with scope 'file'), before the relay stops. */
	defer(cleanUp: () => Promise<void>): void;
}

export function e2eFixture(options: FixtureOptions = {}): Fixture {
	const specs = options.browsers ?? { default: {} };
	const scope = options.scope ?? 'test';
	const browsers = new Map<string, Browser>();
	let relay: RelayProcess | null = null;
	const errors: string[][] = [];
	const cleanUps: Array<() => Promise<void>> = [];

	beforeAll(async () => {
		for (const [name, spec] of Object.entries(specs)) {
			browsers.set(name, spec.firefox ? await launchFirefox(spec.firefox) : await launchBrowser({ fakeAudioFile: spec.fakeAudioFile, shell: !spec.full }));
		}
	});

	async function cleanUp(): Promise<void> {
		for (const browser of browsers.values()) for (const context of browser.contexts()) await context.close().catch(() => {});
		for (const fn of cleanUps.splice(0).reverse()) await fn();
		await relay?.stop();
		relay = null;
	}

	afterEach(async () => {
		if (scope === 'test') await cleanUp();
		expect(errors.splice(0).flat(), 'no page errors or unhandled rejections').toEqual([]);
	});

	afterAll(async () => {
		await cleanUp();
		for (const browser of browsers.values()) await browser.close();
		browsers.clear();
	});

	const fixture: Fixture = {
		browser(name = Object.keys(specs)[0]) {
			const browser = browsers.get(name);
			if (!browser) throw new Error(`no browser named ${name} in this file's fixture`);
			return browser;
		},
		async relay(relayOptions) {
			relay ??= await startRelay(relayOptions);
			return relay;
		},
		async stopRelay() {
			const code = (await relay?.stop()) ?? null;
			relay = null;
			return code;
		},
		async page({ browser, url, initScript } = {}) {
			const { page, errors: pageErrors } = await newPeerPage(fixture.browser(browser));
			errors.push(pageErrors);
			if (initScript) await page.addInitScript(initScript);
			await page.goto(url ?? (await fixture.relay()).url);
			return page;
		},
		async person(name, pageOptions) {
			const person = new RoomPage(await fixture.page(pageOptions), name);
			await person.setName(name);
			return person;
		},
		watchErrors(page) {
			const pageErrors: string[] = [];
			errors.push(pageErrors);
			page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
		},
		defer(fn) {
			cleanUps.push(fn);
		}
	};
	return fixture;
}
