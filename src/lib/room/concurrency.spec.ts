import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reach } from './authority';
import { Concurrency } from './concurrency';
import type { SignedOp } from './room-op-codec';

const targetOf = (op: SignedOp) => (op.body.kind === 'ban' ? op.body.target : undefined);

const id = (i: number) => `o${String(i).padStart(4, '0')}`;

/** A room of unsigned ops (the class reads ids, authors, parents and targets only), in replay order. */
function room(shape: { author: number; target: number | null; parents: number[] }[]): Map<string, SignedOp> {
	const placed = new Map<string, SignedOp>();
	const all: SignedOp[] = [];
	shape.forEach(({ author, target, parents }, i) => {
		const ids = [...new Set(parents.map((p) => all[p % all.length].id))];
		const lamport = ids.length === 0 ? 1 : Math.max(...ids.map((id) => placed.get(id)!.body.lamport)) + 1;
		const body = target === null ? { kind: 'profile', name: 'n' } : { kind: 'ban', target: `p${target}` };
		const op = { id: id(i), bytes: new Uint8Array(0), body: { v: 2, room: 'r', author: `p${author}`, lamport, parents: ids, ts: 0, ...body } } as unknown as SignedOp;
		all.push(op);
		placed.set(op.id, op);
	});
	// Replay order: lamport first, as authority.ts sorts (every parent before its children).
	return new Map([...placed].sort(([, a], [, b]) => a.body.lamport - b.body.lamport || (a.id < b.id ? -1 : 1)));
}

/** The definition, walked from each revocation: what the class must answer. */
function naive(placed: Map<string, SignedOp>, revocations: SignedOp[], keep: number): Map<string, string[]> {
	const children = new Map<string, string[]>();
	for (const op of placed.values()) for (const p of op.body.parents) children.set(p, [...(children.get(p) ?? []), op.id]);
	const voided = new Map<string, string[]>();
	for (const r of revocations) {
		const before = reach(r.id, (id) => placed.get(id)!.body.parents);
		const after = reach(r.id, (id) => children.get(id) ?? []);
		for (const op of placed.values()) {
			if (op.body.author !== targetOf(r) || before.has(op.id) || after.has(op.id)) continue;
			const by = voided.get(op.id) ?? [];
			if (by.length < keep) voided.set(op.id, [...by, r.id]);
		}
	}
	return voided;
}

const sorted = (m: Map<string, string[]>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

describe('Concurrency', () => {
	it('finds exactly the ops concurrent with a revocation of their author, with the first revocations, on random rooms', () => {
		const op = (authors: number) =>
			fc.record({
				author: fc.integer({ min: 0, max: authors - 1 }),
				target: fc.option(fc.integer({ min: 0, max: authors - 1 }), { nil: null, freq: 2 }),
				parents: fc.array(fc.nat(), { minLength: 1, maxLength: 3 })
			});
		// Few authors and many ops: lines of more than one word, on both sides, one after another in the sets.
		const masks = fc.array(fc.boolean(), { minLength: 300, maxLength: 300 });
		const rooms = fc.oneof(fc.array(op(4), { minLength: 1, maxLength: 120 }), fc.array(op(2), { minLength: 60, maxLength: 300 }));
		fc.assert(
			fc.property(rooms, masks, masks, masks, fc.integer({ min: 1, max: 3 }), (shape, first, second, third, keep) => {
				shape[0] = { author: 0, target: null, parents: [] };
				// Nobody's revocation names itself (authority.ts: a moderator acts on others).
				for (const o of shape) if (o.target === o.author) o.target = o.author + 1;
				const placed = room(shape);
				const all = [...placed.values()].filter((o) => targetOf(o) !== undefined);
				const concurrency = new Concurrency(placed, targetOf);
				// The sets are built in the first round and read in the next ones, and built for the revocations a
				// round has in effect that no round before it had.
				for (const effect of [first, second, third, first]) {
					const revocations = all.filter((_, i) => effect[i]);
					expect(sorted(concurrency.voided(revocations, keep))).toEqual(sorted(naive(placed, revocations, keep)));
				}
			}),
			{ numRuns: 300 }
		);
	});

	it('reads bitsets across word boundaries, over the member’s ops and over the revocations naming it, after a line of 5 bits', () => {
		// p2 makes 5 records, banned 6 times beside them (its line first: 5 bits). Then p1 makes a chain of `ops`
		// records; p0 bans p1 on top of every `every`-th (concurrent with the later ones), and `extra` times more at
		// the start (concurrent with all): 70 ops against 107 bans (over the ops), 200 ops against 40 bans (over
		// the bans), 64 against 64 (whole words, from an offset inside one).
		for (const [ops, every, extra] of [
			[70, 10, 100],
			[200, 5, 0],
			[64, 2, 32]
		]) {
			const shape: { author: number; target: number | null; parents: number[] }[] = [{ author: 0, target: null, parents: [] }];
			for (let i = 0; i < 6; i++) shape.push({ author: 0, target: 2, parents: [0] });
			for (let i = 0; i < 5; i++) shape.push({ author: 2, target: null, parents: [0] });
			for (let i = 0; i < extra; i++) shape.push({ author: 0, target: 1, parents: [0] });
			const start = shape.length;
			let last = 0;
			let lastOp = 0;
			for (let i = 0; i < ops; i++) {
				shape.push({ author: 1, target: null, parents: [last] });
				last = lastOp = shape.length - 1;
				if (i % every === every - 1) shape.push({ author: 0, target: 1, parents: [last] });
			}
			const placed = room(shape);
			const revocations = [...placed.values()].filter((o) => targetOf(o) !== undefined);
			const concurrency = new Concurrency(placed, targetOf);
			const voided = concurrency.voided(revocations, 2);
			expect(sorted(voided)).toEqual(sorted(naive(placed, revocations, 2)));
			expect(concurrency.bitsBuilt).toBe(5 + Math.min(ops, extra + ops / every));
			// The last op is concurrent with every ban but the last on the chain; the first with those at the start only.
			expect(voided.get(id(lastOp))).toHaveLength(2);
			expect(voided.has(id(start))).toBe(extra > 0);
			// p2's records, each with the first two of its bans.
			expect(voided.get(id(7))).toEqual([id(1), id(2)]);
		}
	});

	it('builds bits in a later round for the revocations that take effect there alone', () => {
		// p1 makes 40 records in a chain; p0 bans it 40 times beside the first (concurrent with the rest).
		const shape: { author: number; target: number | null; parents: number[] }[] = [{ author: 0, target: null, parents: [] }];
		for (let i = 0; i < 40; i++) shape.push({ author: 1, target: null, parents: [i === 0 ? 0 : shape.length - 1] });
		for (let i = 0; i < 40; i++) shape.push({ author: 0, target: 1, parents: [1] });
		const placed = room(shape);
		const bans = [...placed.values()].filter((o) => targetOf(o) !== undefined);
		const concurrency = new Concurrency(placed, targetOf);
		concurrency.voided(bans.slice(1), 2);
		expect(concurrency.bitsBuilt).toBe(39);
		// A later round where the first ban took effect too (voiding let it): one bit more, not a build of all 40
		// anew; each op's voiders are still the first two in replay order, across the two builds.
		const voided = concurrency.voided(bans, 2);
		expect(concurrency.bitsBuilt).toBe(40);
		expect(sorted(voided)).toEqual(sorted(naive(placed, bans, 2)));
		expect(voided.get(id(40))).toEqual([bans[0].id, bans[1].id]);
	});
});
