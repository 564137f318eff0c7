// @ts-check
/**
 * npm run bench:web — the home page as a phone meets it, against a real relay.
 *
 * - Lighthouse (from npm; its default mobile preset: a mid-range phone's CPU,
 *   slow 4G, a 412×823 screen) against Debian's Chromium, LIGHTHOUSE_RUNS
 *   times: the performance score, cumulative layout shift, largest and first
 *   contentful paint and total blocking time, medians.
 * - hallwayFirstRoomMs: a public room is live; a fresh profile opens the app
 *   (real Chromium, no throttling) and we read, on its timeline, when the
 *   first room shows under "Live now". HALLWAY_RUNS times, median.
 * - initialJsGzipBytes: the JavaScript the first route loads, gzip.
 *
 * Writes bench/results/web.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import { CHROMIUM_PATH, launchBrowser, newPeerPage } from '../tests/support/browser.js';
import { startRelay } from '../tests/support/relay-process.js';
import { initialJsGzipBytes, median } from './measure.js';

const LIGHTHOUSE_RUNS = Number(process.env.LIGHTHOUSE_RUNS ?? 5);
const HALLWAY_RUNS = Number(process.env.HALLWAY_RUNS ?? 5);
const GOALS = { lighthousePerformance: 90, cls: 0.05, hallwayFirstRoomMs: 1500, initialJsGzipBytes: 90 * 1024 };

const relay = await startRelay();
/** @type {{ performance: number[], cls: number[], lcpMs: number[], fcpMs: number[], tbtMs: number[], hallwayFirstRoomMs: number[] }} */
const samples = { performance: [], cls: [], lcpMs: [], fcpMs: [], tbtMs: [], hallwayFirstRoomMs: [] };
try {
	for (let run = 1; run <= LIGHTHOUSE_RUNS; run++) {
		// A fresh browser each run, as Lighthouse's own CLI does: nothing cached, no service worker yet.
		const chrome = await chromeLauncher.launch({ chromePath: CHROMIUM_PATH, chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu'] });
		try {
			const result = await lighthouse(relay.url, { port: chrome.port, onlyCategories: ['performance'], logLevel: 'error', output: 'json' });
			if (!result || result.lhr.runtimeError) throw new Error(`Lighthouse failed: ${result?.lhr.runtimeError?.message ?? 'no result'}`);
			const audits = result.lhr.audits;
			samples.performance.push(Math.round((result.lhr.categories.performance.score ?? 0) * 100));
			samples.cls.push(audits['cumulative-layout-shift'].numericValue ?? NaN);
			samples.lcpMs.push(audits['largest-contentful-paint'].numericValue ?? NaN);
			samples.fcpMs.push(audits['first-contentful-paint'].numericValue ?? NaN);
			samples.tbtMs.push(audits['total-blocking-time'].numericValue ?? NaN);
			console.log(`lighthouse ${run}/${LIGHTHOUSE_RUNS}: performance ${samples.performance.at(-1)}, CLS ${samples.cls.at(-1)?.toFixed(3)}, LCP ${Math.round(samples.lcpMs.at(-1) ?? 0)} ms, TBT ${Math.round(samples.tbtMs.at(-1) ?? 0)} ms`);
		} finally {
			await chrome.kill();
		}
	}

	// A public room, live, whose creator announces it on the hallway topic (the relay keeps the latest).
	const browser = await launchBrowser({ shell: false });
	try {
		const { page: creator } = await newPeerPage(browser);
		await creator.goto(relay.url);
		await creator.locator('#display-name').fill('Host');
		await creator.getByRole('button', { name: 'Save' }).click();
		await creator.locator('#room-title').fill('Bench hallway');
		await creator.locator('input[type=radio][value=public]').check();
		await creator.getByRole('button', { name: 'Start', exact: true }).click();
		await creator.waitForSelector('[data-testid=room][data-status=live]', { timeout: 30_000 });
		const listed = async () => ((await (await fetch(new URL('/v1/hallway', relay.url))).json()).length > 0);
		for (let waited = 0; !(await listed()); waited += 500) {
			if (waited > 60_000) throw new Error('the room never reached the relay’s hallway');
			// 2 a second: the relay answers one address's hallway reads at most that often (after a burst of 32).
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
		for (let run = 1; run <= HALLWAY_RUNS; run++) {
			const { page } = await newPeerPage(browser);
			await page.goto(relay.url);
			const at = await page.waitForFunction(() => document.querySelector('[data-testid=hallway-room]') && performance.now(), undefined, { timeout: 30_000, polling: 'raf' });
			samples.hallwayFirstRoomMs.push(Math.round(Number(await at.jsonValue())));
			console.log(`hallway ${run}/${HALLWAY_RUNS}: first room listed ${samples.hallwayFirstRoomMs.at(-1)} ms after navigation start`);
			await page.context().close();
		}
	} finally {
		await browser.close();
	}
} finally {
	await relay.stop();
}

const js = initialJsGzipBytes();
const results = {
	lighthouseRuns: LIGHTHOUSE_RUNS,
	hallwayRuns: HALLWAY_RUNS,
	initialJsGzipBytes: js.bytes,
	lighthousePerformance: median(samples.performance),
	cls: +median(samples.cls).toFixed(3),
	lcpMs: Math.round(median(samples.lcpMs)),
	fcpMs: Math.round(median(samples.fcpMs)),
	tbtMs: Math.round(median(samples.tbtMs)),
	hallwayFirstRoomMs: Math.round(median(samples.hallwayFirstRoomMs)),
	goals: GOALS,
	ratios: {
		initialJsToGoal: +(js.bytes / GOALS.initialJsGzipBytes).toFixed(2),
		performanceToGoal: +(median(samples.performance) / GOALS.lighthousePerformance).toFixed(2),
		clsToGoal: +(median(samples.cls) / GOALS.cls).toFixed(2),
		hallwayToGoal: +(median(samples.hallwayFirstRoomMs) / GOALS.hallwayFirstRoomMs).toFixed(2)
	},
	samples,
	lighthouse: 'mobile preset (default config), performance category only',
	measuredAt: new Date().toISOString(),
	node: process.version
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/web.json', JSON.stringify(results, null, 2) + '\n');
console.log(`
medians (Lighthouse: ${LIGHTHOUSE_RUNS} runs, mobile preset; hallway: ${HALLWAY_RUNS} runs, unthrottled):
  lighthousePerformance  ${results.lighthousePerformance}   (goal ≥ ${GOALS.lighthousePerformance}, ratio ${results.ratios.performanceToGoal})
  cls                    ${results.cls}   (goal ≤ ${GOALS.cls})
  lcpMs                  ${results.lcpMs}
  fcpMs                  ${results.fcpMs}
  tbtMs                  ${results.tbtMs}
  hallwayFirstRoomMs     ${results.hallwayFirstRoomMs}   (goal ≤ ${GOALS.hallwayFirstRoomMs}, ratio ${results.ratios.hallwayToGoal})
  initialJsGzipBytes     ${results.initialJsGzipBytes}  (${js.files} files; goal ≤ ${GOALS.initialJsGzipBytes}, ratio ${results.ratios.initialJsToGoal})
wrote bench/results/web.json`);
