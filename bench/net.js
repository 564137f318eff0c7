// @ts-check
/**
 * npm run bench:net — how fast peers meet, in real Chromium on loopback.
 *
 * Per run: page A loads the app from a real relay and joins a topic; then
 * page B loads it and joins the same topic. On B's performance timeline
 * (milliseconds since navigation start) we read when it first had a relay
 * connection, a relay reservation, and a direct WebRTC connection to A.
 * Both pages open the app on Settings, where the meet-peers diagnostic lives,
 * and the harness clicks its way to the Meet button (three UI steps, each a
 * round trip to the browser, inside B's figure).
 *
 * Then the way a person gets there: page A starts a room, and page B, a fresh
 * profile, opens the room's link; nothing is clicked, and B's time to a direct
 * connection (to A, the room's only other member) is read the same way.
 * Also reports the gzip size of the JavaScript the first route needs before
 * libp2p is loaded. Writes bench/results/net.json.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { launchBrowser, newPeerPage } from '../tests/support/browser.js';
import { startRelay } from '../tests/support/relay-process.js';
import { initialJsGzipBytes, median } from './measure.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const GOALS = { pageLoadToDirectMs: 800, initialJsGzipBytes: 120 * 1024 };

/**
 * Loads the app on its Settings screen, whose Diagnostics hold the meet-peers panel, and meets on `topic`.
 * @param {import('playwright-core').Page} page
 * @param {string} topic
 */
async function meet(page, topic) {
	await page.goto(new URL('#/settings', relay.url).toString());
	await page.getByText('Diagnostics', { exact: true }).click();
	await page.locator('#meet-topic').fill(topic);
	await page.getByRole('button', { name: 'Meet', exact: true }).click();
}

/**
 * Starts a room on `page` (naming its person first) and returns the room's link.
 * @param {import('playwright-core').Page} page
 */
async function startRoom(page) {
	await page.goto(relay.url);
	await page.locator('#display-name').fill('Bench');
	await page.getByRole('button', { name: 'Save' }).click();
	await page.locator('#room-title').fill('Bench');
	await page.getByRole('button', { name: 'Start', exact: true }).click();
	await page.waitForSelector('[data-testid=room][data-status=live]', { timeout: 30_000 });
	return page.getByTestId('room-link').inputValue();
}

// Where a room link's time goes, in order (net-state.svelte.ts marks each once): the network starts
// (the room screen mounted), libp2p's code is loaded and the identity read, the node runs, the relay
// connection, its reservation, the room's first direct connection.
const STEPS = ['stanza:net-start', 'stanza:libp2p-loaded', 'stanza:node-started', 'stanza:relay', 'stanza:reserved', 'stanza:direct'];

/** @param {import('playwright-core').Page} page */
const marksOf = (page) =>
	page.evaluate((steps) => Object.fromEntries(steps.map((n) => [n, performance.getEntriesByName(n)[0]?.startTime])), STEPS);

const relay = await startRelay();
const browser = await launchBrowser();
/** @type {{ relay: number[], reservation: number[], direct: number[], roomLinkDirect: number[] }} */
const samples = { relay: [], reservation: [], direct: [], roomLinkDirect: [] };
/** @type {Record<string, number[]>} the room link's milestones, per step */
const roomLinkSteps = Object.fromEntries(STEPS.map((n) => [n, []]));
try {
	for (let run = 0; run < RUNS; run++) {
		const topic = `bench-${run}-${Date.now()}`;
		const a = await newPeerPage(browser);
		await meet(a.page, topic);
		await a.page.waitForSelector('[data-testid=net-status][data-reserved=true]');

		const b = await newPeerPage(browser);
		await meet(b.page, topic);
		await b.page.waitForSelector('[data-testid=direct-peer]', { timeout: 30_000 });
		const marks = await marksOf(b.page);
		samples.relay.push(marks['stanza:relay']);
		samples.reservation.push(marks['stanza:reserved']);
		samples.direct.push(marks['stanza:direct']);
		console.log(`run ${run + 1}/${RUNS}: relay ${marks['stanza:relay'].toFixed(0)} ms, reservation ${marks['stanza:reserved'].toFixed(0)} ms, direct ${marks['stanza:direct'].toFixed(0)} ms`);
		await a.context.close();
		await b.context.close();
	}
	for (let run = 0; run < RUNS; run++) {
		const a = await newPeerPage(browser);
		const link = await startRoom(a.page);
		await a.page.waitForSelector('[data-testid=net-status][data-reserved=true]');
		const b = await newPeerPage(browser);
		await b.page.goto(link);
		await b.page.waitForFunction(() => performance.getEntriesByName('stanza:direct').length > 0, null, { timeout: 30_000 });
		const marks = await marksOf(b.page);
		const direct = marks['stanza:direct'];
		samples.roomLinkDirect.push(direct);
		for (const n of STEPS) roomLinkSteps[n].push(marks[n]);
		console.log(`room link ${run + 1}/${RUNS}: relay ${marks['stanza:relay'].toFixed(0)} ms, reservation ${marks['stanza:reserved'].toFixed(0)} ms, direct ${direct.toFixed(0)} ms`);
		await a.context.close();
		await b.context.close();
	}
} finally {
	await browser.close();
	await relay.stop();
}

const js = initialJsGzipBytes();
const results = {
	runs: RUNS,
	pageLoadToRelayMs: Math.round(median(samples.relay)),
	pageLoadToReservationMs: Math.round(median(samples.reservation)),
	pageLoadToDirectMs: Math.round(median(samples.direct)),
	roomLinkToDirectMs: Math.round(median(samples.roomLinkDirect)),
	/** Medians of each milestone of a room link's page, ms since navigation start. */
	roomLinkStepsMs: Object.fromEntries(STEPS.map((n) => [n.replace('stanza:', ''), Math.round(median(roomLinkSteps[n]))])),
	initialJsGzipBytes: js.bytes,
	goals: GOALS,
	ratios: {
		directToGoal: +(median(samples.direct) / GOALS.pageLoadToDirectMs).toFixed(2),
		roomLinkDirectToGoal: +(median(samples.roomLinkDirect) / GOALS.pageLoadToDirectMs).toFixed(2),
		initialJsToGoal: +(js.bytes / GOALS.initialJsGzipBytes).toFixed(2)
	},
	samples,
	measuredAt: new Date().toISOString(),
	node: process.version
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/net.json', JSON.stringify(results, null, 2) + '\n');
console.log(`
median over ${RUNS} runs (page B, ms since navigation start):
  pageLoadToRelayMs        ${results.pageLoadToRelayMs}
  pageLoadToReservationMs  ${results.pageLoadToReservationMs}
  pageLoadToDirectMs       ${results.pageLoadToDirectMs}   (goal ≤ ${GOALS.pageLoadToDirectMs}, ratio ${results.ratios.directToGoal}; Meet clicked by the harness)
  roomLinkToDirectMs       ${results.roomLinkToDirectMs}   (goal ≤ ${GOALS.pageLoadToDirectMs}, ratio ${results.ratios.roomLinkDirectToGoal}; a room link opened, nothing clicked)
    its steps (medians)    ${Object.entries(results.roomLinkStepsMs).map(([n, ms]) => `${n} ${ms}`).join(' → ')}
  initialJsGzipBytes       ${results.initialJsGzipBytes}  (${js.files} files; goal ≤ ${GOALS.initialJsGzipBytes}, ratio ${results.ratios.initialJsToGoal})
wrote bench/results/net.json`);
