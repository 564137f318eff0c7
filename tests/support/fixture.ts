/**
 * The one setup every end-to-end file shares: real Chromium browsers (one per
 * fake microphone), a real relay process on 127.0.0.1, fresh pages that
 * record page errors, and the rule that a test fails on any page error or
 * unhandled rejection. Call `e2eFixture()` at the top of a file; it registers
 * the hooks and hands back what the tests use.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { launchBrowser, newPeerPage } from './browser.js';
import { startRelay, type RelayProcess } from './relay-process.js';
import { RoomPage } from './room-page';

export interface FixtureOptions {
	/** Named browsers to launch, each with its own fake microphone file (or none). */
	browsers?: Record<string, { fakeAudioFile?: string }>;
	/**
	 * 'test': each test starts its own relay (stopped after it) and its pages are closed after it.
	 * 'file': the relay and pages live across the file's tests, which then form one story in order.
	 */
	scope?: 'test' | 'file';
}

export interface PersonOptions {
	/** Which of the file's browsers (default: the first). */
	browser?: string;
	/** Where the page opens (default: the relay's app). */
	url?: string;
	/** Runs before the page loads, e.g. to stand in for a browser that refuses the microphone. */
	initScript?: () => void;
}

export interface Fixture {
	browser(name?: string): Browser;
	/** The running relay; started on first use. */
	relay(): Promise<RelayProcess>;
	/** Stops the relay (a scenario about the relay going away). */
	stopRelay(): Promise<void>;
	/** A fresh profile on the app's home page with a name set. */
	person(name: string, options?: PersonOptions): Promise<RoomPage>;
	/** Page errors recorded so far (and not yet checked). */
	takeErrors(): string[];
}

export function e2eFixture(options: FixtureOptions = {}): Fixture {
	const specs = options.browsers ?? { default: {} };
	const scope = options.scope ?? 'test';
	const browsers = new Map<string, Browser>();
	let relay: RelayProcess | null = null;
	const errors: string[][] = [];

	beforeAll(async () => {
		for (const [name, spec] of Object.entries(specs)) browsers.set(name, await launchBrowser(spec));
	});

	async function cleanUp(): Promise<void> {
		for (const browser of browsers.values()) for (const context of browser.contexts()) await context.close().catch(() => {});
		await relay?.stop();
		relay = null;
	}

	if (scope === 'test') {
		afterEach(async () => {
			await cleanUp();
			expect(errors.splice(0).flat(), 'no page errors or unhandled rejections').toEqual([]);
		});
	} else {
		afterEach(() => {
			expect(errors.splice(0).flat(), 'no page errors or unhandled rejections').toEqual([]);
		});
	}

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
		async relay() {
			relay ??= await startRelay();
			return relay;
		},
		async stopRelay() {
			await relay?.stop();
			relay = null;
		},
		async person(name, { browser, url, initScript } = {}) {
			const { page, errors: pageErrors } = await newPeerPage(fixture.browser(browser));
			errors.push(pageErrors);
			if (initScript) await page.addInitScript(initScript);
			await page.goto(url ?? (await fixture.relay()).url);
			const person = new RoomPage(page, name);
			await person.setName(name);
			return person;
		},
		takeErrors() {
			return errors.splice(0).flat();
		}
	};
	return fixture;
}
