import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PARENT_SILENCE_MS, TICK_MS } from './tree-engine';
import { realisticCapacity, runChurnScenario, seededRandom, TreeSimulation } from './tree-simulation';

type Op =
	| { kind: 'join'; capacity: number }
	| { kind: 'leave' | 'crash'; pick: number }
	| { kind: 'advance'; ms: number }
	| { kind: 'rebalance' };

/** 30 % phones relaying nothing, 40 % feeding 2–4, 30 % feeding 5–8. */
const realisticCapacityArb = fc.oneof(
	{ weight: 3, arbitrary: fc.constant(0) },
	{ weight: 4, arbitrary: fc.integer({ min: 2, max: 4 }) },
	{ weight: 3, arbitrary: fc.integer({ min: 5, max: 8 }) }
);

function opsArb(capacity: fc.Arbitrary<number>): fc.Arbitrary<Op[]> {
	const op: fc.Arbitrary<Op> = fc.oneof(
		{ weight: 6, arbitrary: capacity.map((c) => ({ kind: 'join' as const, capacity: c })) },
		{ weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: 'leave' as const, pick })) },
		{ weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: 'crash' as const, pick })) },
		{ weight: 2, arbitrary: fc.integer({ min: 0, max: 2 * PARENT_SILENCE_MS }).map((ms) => ({ kind: 'advance' as const, ms })) },
		{ weight: 1, arbitrary: fc.constant({ kind: 'rebalance' as const }) }
	);
	return fc.array(op, { minLength: 10, maxLength: 300, size: 'max' });
}

/** Applies ops, checking the always-true invariants after each; then settles and checks the resting ones. */
function playOut(sim: TreeSimulation, ops: Op[]): void {
	const present: string[] = [];
	for (const op of ops) {
		if (op.kind === 'join') present.push(sim.join(op.capacity));
		else if (op.kind === 'advance') sim.advance(op.ms);
		else if (op.kind === 'rebalance') sim.rebalance();
		else if (present.length > 0) {
			const [peerId] = present.splice(op.pick % present.length, 1);
			if (op.kind === 'leave') sim.leave(peerId);
			else sim.crash(peerId);
		}
		expect(sim.invariantViolations(false)).toEqual([]);
	}
	sim.settle();
	expect(sim.invariantViolations(true)).toEqual([]);
	expect(sim.metrics().listeners).toBe(present.length);
}

describe('tree simulation: invariants under any sequence of events', () => {
	it('keeps fan-out within capacity, everyone reachable, engines in step with the tree, backups outside their subtree', () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 1, max: 4 }),
				fc.integer({ min: 2, max: 6 }),
				fc.nat(),
				opsArb(realisticCapacityArb),
				(speakers, speakerCapacity, seed, ops) => {
					playOut(new TreeSimulation({ seed, speakers, speakerCapacity, viewSize: 8 }), ops);
				}
			),
			{ numRuns: 150 }
		);
	}, 60_000);

	it('keeps the structural invariants with chains and scarce capacity (capacity 1, a stage of one slot)', () => {
		fc.assert(
			fc.property(fc.nat(), opsArb(fc.integer({ min: 0, max: 2 })), (seed, ops) => {
				playOut(new TreeSimulation({ seed, speakers: 1, speakerCapacity: 1, viewSize: 4 }), ops);
			}),
			{ numRuns: 100 }
		);
	}, 60_000);

	it('checks what it claims: a chain is as deep as it is long, a full room makes a newcomer wait', () => {
		const sim = new TreeSimulation({ seed: 1, speakers: 1, speakerCapacity: 1 });
		for (let i = 0; i < 6; i++) sim.join(1); // a chain: capacity 1 everywhere
		sim.settle();
		expect(sim.metrics().maxDepth).toBe(6);
		expect(sim.invariantViolations(true)).toEqual([]);
		const phones = new TreeSimulation({ seed: 1, speakers: 1, speakerCapacity: 2 });
		for (let i = 0; i < 3; i++) phones.join(0);
		phones.settle();
		// Two phones fit on the stage; the third waits, justified because nothing is free.
		expect(phones.metrics()).toMatchObject({ attached: 2, waiting: 1 });
		expect(phones.invariantViolations(true)).toEqual([]);
		// A laptop that relays gets in, in a phone's place, and the phone it displaced goes under it;
		// the waiting phone follows into its second slot.
		const laptop = phones.join(2);
		phones.settle();
		expect(phones.advert(laptop)).toMatchObject({ depth: 1, children: 2 });
		expect(phones.metrics()).toMatchObject({ attached: 4, waiting: 0, displacements: 1 });
		expect(phones.invariantViolations(true)).toEqual([]);
	});
});

describe('tree simulation: repair', () => {
	/** A settled room, one of its relays that has children, and those children. */
	function roomWithParent(): { sim: TreeSimulation; parent: string; children: string[] } {
		const sim = new TreeSimulation({ seed: 5, speakers: 2, speakerCapacity: 4 });
		const random = seededRandom(9);
		const ids = Array.from({ length: 300 }, () => sim.join(realisticCapacity(random)));
		sim.settle();
		const parent = ids.find((id) => (sim.advert(id)?.depth ?? 0) >= 2 && (sim.advert(id)?.children ?? 0) >= 2)!;
		return { sim, parent, children: ids.filter((id) => sim.advert(id)?.parent === parent) };
	}

	it('moves the children of a leaving parent at once', () => {
		const { sim, parent } = roomWithParent();
		const before = sim.metrics();
		sim.leave(parent);
		const after = sim.metrics();
		expect(after.attached).toBe(before.attached - 1);
		expect(after.reattachments - before.reattachments).toBeGreaterThanOrEqual(2);
		expect(sim.invariantViolations(false)).toEqual([]);
	});

	it('cuts off the subtree of a crashed parent until its silence is noticed', () => {
		const { sim, parent } = roomWithParent();
		const before = sim.metrics();
		sim.crash(parent);
		expect(sim.metrics().attached).toBeLessThan(before.attached - 2);
		// Noticed at the first tick after PARENT_SILENCE_MS of silence.
		sim.advance(PARENT_SILENCE_MS + TICK_MS - 1);
		expect(sim.metrics().attached).toBeLessThan(before.attached - 2);
		sim.advance(1);
		expect(sim.metrics().attached).toBe(before.attached - 1);
	});

	it('gives the lost parent’s slot to the first of its children to ask the grandparent, for a goodbye and for a crash', () => {
		for (const depart of ['leave', 'crash'] as const) {
			const { sim, parent, children } = roomWithParent();
			const lost = sim.advert(parent)!;
			sim[depart](parent);
			sim.advance(PARENT_SILENCE_MS + TICK_MS);
			// The grandparent was full; one orphan named the lost parent and took its slot (admitChild), the rest went elsewhere.
			const heirs = children.filter((id) => sim.advert(id)!.parent === lost.parent);
			expect(heirs).toHaveLength(1);
			expect(sim.advert(heirs[0])!.depth).toBe(lost.depth);
			for (const id of children) expect(sim.advert(id)!.depth).not.toBeNull();
			expect(sim.invariantViolations(false)).toEqual([]);
		}
	});
});

describe('tree simulation: a churning room', () => {
	const scenario = { seed: 11, listeners: 3_000, churn: 0.2, crashShare: 0.5, speakers: 4, speakerCapacity: 6, fillMs: 60_000, churnMs: 120_000 };

	it('stays shallow, reattaches about one node per departure, plans fast', () => {
		const { sim, filled } = runChurnScenario(scenario);
		const m = sim.metrics();
		expect(filled.listeners).toBe(3_000);
		expect(m.departures).toBe(600);
		expect(m.joins).toBe(3_600);
		expect(m.reattachPerLeave).toBeGreaterThan(0.5);
		expect(m.reattachPerLeave).toBeLessThan(2);
		expect(m.maxDepth).toBeLessThanOrEqual(m.averageDepthBound);
		expect(m.planMsPerJoin).toBeLessThan(1);
		expect(m.waiting).toBe(0);
		sim.settle();
		expect(sim.invariantViolations(true)).toEqual([]);
	});

	it('is deterministic for a seed', () => {
		const strip = ({ planMsPerJoin: _ignored, ...rest }: ReturnType<TreeSimulation['metrics']>) => rest;
		expect(strip(runChurnScenario(scenario).sim.metrics())).toEqual(strip(runChurnScenario(scenario).sim.metrics()));
	});
});
