/**
 * npm run bench:tree — the room's audio tree at 1,000 / 10,000 / 100,000 /
 * 1,000,000 listeners under churn, each placed by the engine the app runs
 * (src/lib/audio/tree-engine.ts, in src/lib/audio/tree-simulation.ts).
 *
 * Per run: 4 stage speakers feeding 6 children each; the room fills over
 * 5 simulated minutes; then 20 % of it leaves (half crashing, half saying
 * goodbye) while as many newcomers join, interleaved, over 10 minutes.
 * Upload budgets (realisticCapacity): 30 % phones on cellular relay nothing,
 * 40 % feed 2–4 children, 30 % feed 5–6; mean relaying fan-out f ≈ 4.1.
 * Five seeds per size (one at 1,000,000: a run takes about a minute there);
 * prints medians and writes bench/results/tree.json.
 *
 * maxDepth and p95Depth describe the room at the end of the churn;
 * peakMaxDepth is the deepest any listener was after any single event
 * during the churn (an overflowing repair, before rebalancing lifts it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runChurnScenario, type ChurnScenario } from '../src/lib/audio/tree-simulation';

const SIZES = [1_000, 10_000, 100_000, 1_000_000];
const SEEDS = [1, 2, 3, 4, 5];
const seedsFor = (listeners: number) => (listeners >= 1_000_000 ? SEEDS.slice(0, 1) : SEEDS);
const SCENARIO: Omit<ChurnScenario, 'seed' | 'listeners'> = {
	churn: 0.2,
	crashShare: 0.5,
	speakers: 4,
	speakerCapacity: 6,
	fillMs: 5 * 60_000,
	churnMs: 10 * 60_000
};
const GOALS = { listeners: 100_000, averageFanOut: 4, maxDepth: 10, planMsPerJoin: 1, atMillion: { maxDepth: 12 } };
const RESULTS_FILE = 'bench/results/tree.json';

interface SizeResult {
	maxDepth: number;
	p95Depth: number;
	reattachPerLeave: number;
	planMsPerJoin: number;
	peakMaxDepth: number;
	/** Deepest listener once rebalancing has come to rest after the churn. */
	settledMaxDepth: number;
	/** ⌈log_f N⌉ + 2 with f the mean relaying capacity: what depth should stay within. */
	averageDepthBound: number;
	averageRelayCapacity: number;
	/** Rebalance moves (make-before-break, no audio gap) per churn event. */
	rebalanceMovesPerChurnEvent: number;
	/** Slot requests refused (the parent filled up meanwhile), per join. */
	refusalsPerJoin: number;
	/** Wall time of one run (fill + churn), milliseconds. */
	runMs: number;
}

const median = (xs: number[]) => {
	const sorted = [...xs].sort((a, b) => a - b);
	const mid = sorted.length >> 1;
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

function measure(listeners: number): { medians: SizeResult; invariantViolations: number } {
	const samples: SizeResult[] = [];
	let invariantViolations = 0;
	for (const seed of seedsFor(listeners)) {
		const started = performance.now();
		const { sim, filled } = runChurnScenario({ ...SCENARIO, seed, listeners });
		const runMs = performance.now() - started;
		const end = sim.metrics();
		sim.settle();
		invariantViolations += sim.invariantViolations(true).length;
		const churnEvents = (end.departures - filled.departures) + (end.joins - filled.joins);
		samples.push({
			maxDepth: end.maxDepth,
			p95Depth: end.p95Depth,
			reattachPerLeave: end.reattachPerLeave,
			planMsPerJoin: end.planMsPerJoin,
			peakMaxDepth: end.peakMaxDepth,
			settledMaxDepth: sim.metrics().maxDepth,
			averageDepthBound: end.averageDepthBound,
			averageRelayCapacity: end.averageRelayCapacity,
			rebalanceMovesPerChurnEvent: (end.rebalanceMoves - filled.rebalanceMoves) / churnEvents,
			refusalsPerJoin: end.refusals / end.joins,
			runMs
		});
	}
	const keys = Object.keys(samples[0]) as (keyof SizeResult)[];
	const medians = Object.fromEntries(keys.map((k) => [k, round(median(samples.map((s) => s[k])), k === 'planMsPerJoin' ? 5 : 3)]));
	return { medians: medians as unknown as SizeResult, invariantViolations };
}

function table(sizes: Record<string, SizeResult>): string {
	const columns: [string, keyof SizeResult][] = [
		['max depth', 'maxDepth'],
		['p95 depth', 'p95Depth'],
		['peak depth', 'peakMaxDepth'],
		['settled', 'settledMaxDepth'],
		['⌈log_f N⌉+2', 'averageDepthBound'],
		['reattach/leave', 'reattachPerLeave'],
		['plan ms/join', 'planMsPerJoin'],
		['moves/event', 'rebalanceMovesPerChurnEvent'],
		['run ms', 'runMs']
	];
	const rows = [['listeners', ...columns.map(([title]) => title)]];
	for (const [size, result] of Object.entries(sizes)) rows.push([size, ...columns.map(([, key]) => String(result[key]))]);
	const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
	return rows.map((row) => row.map((cell, i) => cell.padStart(widths[i])).join('  ')).join('\n');
}

describe('audio tree under churn', () => {
	it('measures depth, repair and planning cost at 1k / 10k / 100k listeners', () => {
		const sizes: Record<string, SizeResult> = {};
		let violations = 0;
		for (const listeners of SIZES) {
			const { medians, invariantViolations } = measure(listeners);
			sizes[String(listeners)] = medians;
			violations += invariantViolations;
		}
		const atGoal = sizes[String(GOALS.listeners)];
		const results = {
			runs: Object.fromEntries(SIZES.map((size) => [size, seedsFor(size).length])),
			scenario: { ...SCENARIO, capacities: '30 % → 0, 40 % → 2–4, 30 % → 5–6 children', sizes: SIZES },
			sizes,
			goals: GOALS,
			met: {
				maxDepth: atGoal.maxDepth <= GOALS.maxDepth,
				planMsPerJoin: atGoal.planMsPerJoin <= GOALS.planMsPerJoin,
				peakMaxDepth: atGoal.peakMaxDepth <= GOALS.maxDepth,
				maxDepthAtMillion: sizes['1000000'].maxDepth <= GOALS.atMillion.maxDepth
			}
		};
		mkdirSync('bench/results', { recursive: true });
		writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
		console.log(`\nAudio tree, medians of ${SEEDS.length} seeds (1 at 1,000,000)\n${table(sizes)}\n`);
		console.log(`goals at ${GOALS.listeners}: max depth ≤ ${GOALS.maxDepth} ${results.met.maxDepth ? 'met' : 'NOT met'}` +
			` (peak ${results.met.peakMaxDepth ? 'met' : 'NOT met'}), planning ≤ ${GOALS.planMsPerJoin} ms/join ${results.met.planMsPerJoin ? 'met' : 'NOT met'}`);
		console.log(`goal at 1,000,000: max depth ≤ ${GOALS.atMillion.maxDepth} ${results.met.maxDepthAtMillion ? 'met' : 'NOT met'}`);
		console.log(`wrote ${RESULTS_FILE}`);

		expect(violations).toBe(0);
		for (const size of SIZES) {
			const result = sizes[String(size)];
			for (const value of Object.values(result)) expect(Number.isFinite(value)).toBe(true);
			expect(result.maxDepth).toBeGreaterThan(0);
			expect(result.p95Depth).toBeLessThanOrEqual(result.maxDepth);
			expect(result.planMsPerJoin).toBeGreaterThan(0);
		}
		expect(typeof results.met.maxDepth).toBe('boolean');
		expect(typeof results.met.planMsPerJoin).toBe('boolean');
	});
});
