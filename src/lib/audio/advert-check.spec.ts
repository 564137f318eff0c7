import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifiedDepths, type ClaimedPlace } from './advert-check';

const tag = (peerId: string) => [...peerId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
const place = (depth: number | null, parent: string | null, children: string[] = []): ClaimedPlace => ({ depth, parent, childTags: children.map(tag) });

/** S on stage; S → a → b (an honest chain); c free-standing. */
function room(extra: Record<string, ClaimedPlace> = {}) {
	return new Map<string, ClaimedPlace>(
		Object.entries({
			S: place(0, null, ['a']),
			a: place(1, 'S', ['b']),
			b: place(2, 'a'),
			...extra
		})
	);
}

describe('verified tree depths', () => {
	it('accept an honest chain up to the stage', () => {
		const depths = verifiedDepths(room(), new Set(['S']), tag);
		expect(Object.fromEntries(depths)).toEqual({ S: 0, a: 1, b: 2 });
	});

	it('refuse a member claiming a shallower depth under a parent that does not list it', () => {
		const depths = verifiedDepths(room({ liar: place(1, 'S') }), new Set(['S']), tag);
		expect(depths.get('liar')).toBeNull();
	});

	it('refuse a depth that does not follow from the parent’s', () => {
		const claims = room({ liar: place(1, 'a') });
		claims.set('a', place(1, 'S', ['b', 'liar']));
		expect(verifiedDepths(claims, new Set(['S']), tag).get('liar')).toBeNull();
	});

	it('refuse a chain of liars vouching for each other without a stage member at the top', () => {
		const claims = room({ x: place(1, 'y', ['y']), y: place(1, 'x', ['x']), z: place(2, 'x') });
		const depths = verifiedDepths(claims, new Set(['S']), tag);
		expect([depths.get('x'), depths.get('y'), depths.get('z')]).toEqual([null, null, null]);
	});

	it('treat a stage member as depth 0 whatever it claims, and nobody else', () => {
		const depths = verifiedDepths(room({ fake: place(0, null, []) }), new Set(['S']), tag);
		expect(depths.get('fake')).toBeNull();
		expect(verifiedDepths(new Map([['S', place(7, 'x')]]), new Set(['S']), tag).get('S')).toBe(0);
	});

	it('a member whose parent says nothing yet is unverified until it does', () => {
		const depths = verifiedDepths(room({ late: place(2, 'b') }), new Set(['S']), tag);
		expect(depths.get('late')).toBeNull();
	});

	it('never verifies a depth shallower than the member’s real one, whatever the liars claim (property)', () => {
		// A real chain S → m1 → … → mN; liars claim any place and list anyone as children.
		const liarClaim = fc.record({
			depth: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }),
			parent: fc.option(fc.constantFrom('S', 'm1', 'm2', 'm3', 'L1', 'L2', 'L3'), { nil: null }),
			children: fc.subarray(['m1', 'm2', 'm3', 'L1', 'L2', 'L3'])
		});
		fc.assert(
			fc.property(fc.tuple(liarClaim, liarClaim, liarClaim), ([l1, l2, l3]) => {
				const claims = new Map<string, ClaimedPlace>([
					['S', place(0, null, ['m1'])],
					['m1', place(1, 'S', ['m2'])],
					['m2', place(2, 'm1', ['m3'])],
					['m3', place(3, 'm2')]
				]);
				const real = new Map([['L1', 4], ['L2', 4], ['L3', 4]]); // the liars hang below m3 in reality: not listed by any honest member
				[l1, l2, l3].forEach((l, i) => claims.set(`L${i + 1}`, place(l.depth, l.parent, l.children)));
				const depths = verifiedDepths(claims, new Set(['S']), tag);
				for (const [liar] of real) expect(depths.get(liar)).toBeNull();
				expect([depths.get('m1'), depths.get('m2'), depths.get('m3')]).toEqual([1, 2, 3]);
			}),
			{ seed: 3, numRuns: 300 }
		);
	});
});
