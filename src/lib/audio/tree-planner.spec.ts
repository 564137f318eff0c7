import { describe, expect, it } from 'vitest';
import { advert, lookupIn } from './test-adverts';
import {
	ceilLog,
	chainPassesThrough,
	chooseBackup,
	chooseLeafToDisplace,
	chooseParent,
	isUsableBackup,
	MAX_CHILDREN,
	planRebalance,
	REBALANCE_COOLDOWN_MS,
	uploadCapacity
} from './tree-planner';

const node = advert;
const NONE = new Set<string>();

describe('upload capacity', () => {
	it('spends half the upload, in whole 166 kbps streams', () => {
		expect(uploadCapacity(1_000)).toBe(3);
		expect(uploadCapacity(664)).toBe(2);
		expect(uploadCapacity(331)).toBe(0);
	});

	it('is capped, and zero for a missing or nonsensical budget', () => {
		expect(uploadCapacity(100_000)).toBe(MAX_CHILDREN);
		expect(uploadCapacity(0)).toBe(0);
		expect(uploadCapacity(-5)).toBe(0);
		expect(uploadCapacity(Number.NaN)).toBe(0);
		expect(uploadCapacity(1_000, 0)).toBe(0);
	});

	it('takes another stream cost, e.g. two speakers at once', () => {
		expect(uploadCapacity(1_000, 332)).toBe(1);
	});
});

describe('choosing a parent', () => {
	it('prefers the shallowest node, then the one with most free slots', () => {
		const adverts = [node('deep', 3, 8), node('shallow-busy', 1, 4, 3), node('shallow-free', 1, 4, 1), node('stage-full', 0, 2, 2)];
		expect(chooseParent('me', adverts, NONE)?.peerId).toBe('shallow-free');
	});

	it('skips full, detached, excluded and itself', () => {
		const adverts = [node('full', 1, 2, 2), node('detached', null, 8), node('refused', 1, 8), node('me', 1, 8), node('ok', 4, 1)];
		expect(chooseParent('me', adverts, new Set(['refused']))?.peerId).toBe('ok');
		expect(chooseParent('me', adverts.slice(0, 4), new Set(['refused']))).toBeNull();
	});

	it('respects a depth limit', () => {
		expect(chooseParent('me', [node('a', 3, 4)], NONE, { maxDepth: 2 })).toBeNull();
		expect(chooseParent('me', [node('a', 2, 4)], NONE, { maxDepth: 2 })?.peerId).toBe('a');
	});

	it('never picks a node whose parent chain passes through itself', () => {
		const adverts = [node('me', 1, 4, 1, 'S'), node('child', 2, 4, 1, 'me'), node('grandchild', 3, 4, 0, 'child'), node('other', 3, 4, 0, 'x')];
		const pick = chooseParent('me', adverts, NONE, { lookup: lookupIn(adverts) });
		expect(pick?.peerId).toBe('other');
	});

	it('spreads joiners over equal candidates, deterministically', () => {
		const candidates = Array.from({ length: 10 }, (_, i) => node(`P${i}`, 2, 4));
		const picks = Array.from({ length: 200 }, (_, i) => chooseParent(`joiner-${i}`, candidates, NONE)!.peerId);
		const perCandidate = new Map<string, number>();
		for (const pick of picks) perCandidate.set(pick, (perCandidate.get(pick) ?? 0) + 1);
		expect(perCandidate.size).toBe(10);
		expect(Math.max(...perCandidate.values())).toBeLessThan(35);
		expect(chooseParent('joiner-7', candidates, NONE)!.peerId).toBe(picks[7]);
	});
});

describe('choosing a backup', () => {
	it('is never its parent, deeper than itself, or in its own subtree', () => {
		const self = node('me', 2, 4, 1, 'P');
		const adverts = [
			node('P', 1, 4, 1, 'S'),
			node('deeper', 3, 4, 0, 'x'),
			node('my-child', 3, 4, 0, 'me'),
			node('stale-child', 2, 4, 0, 'me'),
			node('sibling', 2, 4, 1, 'Q'),
			self
		];
		expect(chooseBackup(self, adverts, lookupIn(adverts))?.peerId).toBe('sibling');
	});

	it('prefers the shallowest candidate', () => {
		const self = node('me', 3, 0, 0, 'P');
		expect(chooseBackup(self, [node('a', 3, 4), node('b', 1, 2, 1), node('c', 2, 8)])?.peerId).toBe('b');
	});

	it('has none while detached', () => {
		expect(chooseBackup(node('me', null, 4), [node('a', 1, 4)])).toBeNull();
	});

	it('is re-checked at repair time', () => {
		const self = node('me', 2, 4, 1, null);
		expect(isUsableBackup(self, node('b', 1, 4, 3))).toBe(true);
		expect(isUsableBackup(self, node('b', 1, 4, 4))).toBe(false);
		expect(isUsableBackup(self, node('b', 3, 4, 0))).toBe(false);
		expect(isUsableBackup(self, node('b', null, 4, 0))).toBe(false);
		const moved = node('b', 2, 4, 0, 'me');
		expect(isUsableBackup(self, moved, lookupIn([moved, self]))).toBe(false);
	});
});

describe('a leaf’s place, for a relay with nowhere else to go', () => {
	it('is the shallowest leaf’s, spread by hash, never a stage member’s, a relay’s, a detached one’s or one below us', () => {
		const leaves = [node('deep', 3, 0, 0, 'r'), node('shallow1', 1, 0, 0, 'S'), node('shallow2', 1, 0, 0, 'S')];
		expect(['shallow1', 'shallow2']).toContain(chooseLeafToDisplace('me', leaves, NONE)?.peerId);
		expect(chooseLeafToDisplace('me', [node('S', 0, 0), node('relay', 1, 2, 0, 'S'), node('gone', null, 0, 0, 'S')], NONE)).toBeNull();
		const below = node('below', 2, 0, 0, 'me');
		expect(chooseLeafToDisplace('me', [below, node('me', 1, 2, 1, 'S')], NONE, lookupIn([below, node('me', 1, 2, 1, 'S')]))).toBeNull();
		expect(chooseLeafToDisplace('me', leaves, new Set(['shallow1', 'shallow2']))?.peerId).toBe('deep');
	});
});

describe('rebalancing', () => {
	const timing = { nowMs: 100_000, lastMoveMs: 0 };

	it('moves a relay up to a free slot two levels shallower', () => {
		const self = node('me', 4, 4, 2, 'P');
		const plan = planRebalance(self, [node('slot', 2, 4, 3), node('near', 3, 4)], timing);
		expect(plan).toEqual({ kind: 'move', parent: node('slot', 2, 4, 3) });
	});

	it('never displaces a leaf: a shallower leaf is no place to move to', () => {
		expect(planRebalance(node('me', 4, 4, 2, 'P'), [node('leaf', 2, 0, 0, 'Q')], timing).kind).toBe('stay');
		const plan = planRebalance(node('me', 5, 4, 2, 'P'), [node('leaf', 1, 0, 0, 'Q'), node('slot', 2, 4)], timing);
		expect(plan).toEqual({ kind: 'move', parent: node('slot', 2, 4) });
	});

	it('stays for a gain of one level, during its cooldown, or when it relays nothing', () => {
		expect(planRebalance(node('me', 4, 4, 2, 'P'), [node('slot', 3, 4)], timing).kind).toBe('stay');
		const recent = { nowMs: 10_000, lastMoveMs: 10_000 - REBALANCE_COOLDOWN_MS + 1 };
		expect(planRebalance(node('me', 4, 4, 2, 'P'), [node('slot', 1, 4)], recent).kind).toBe('stay');
		expect(planRebalance(node('me', 4, 0, 0, 'P'), [node('slot', 1, 4)], timing).kind).toBe('stay');
	});
});

describe('depth arithmetic', () => {
	it('computes ⌈log⌉ exactly at powers', () => {
		expect(ceilLog(1, 4)).toBe(0);
		expect(ceilLog(16, 4)).toBe(2);
		expect(ceilLog(17, 4)).toBe(3);
		expect(ceilLog(100_000, 4)).toBe(9);
	});


	it('walks parent chains without looping forever on stale adverts', () => {
		const adverts = [node('a', 2, 1, 1, 'b'), node('b', 2, 1, 1, 'a')];
		expect(chainPassesThrough(adverts[0], 'zzz', lookupIn(adverts))).toBe(false);
		expect(chainPassesThrough(adverts[0], 'a', lookupIn(adverts))).toBe(true);
	});
});
