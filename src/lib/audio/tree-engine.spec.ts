import { describe, expect, it } from 'vitest';
import { advert } from './test-adverts';
import { admitChild, DISPLACE_EVERY_MS, LEFT_AGAIN_WITHIN_MS, LEFT_BRANCH_MAX_MS, LEFT_BRANCH_MS, PARENT_SILENCE_MS, RETRY_CANDIDATE_AFTER_MS, TreeEngine, UNCONFIRMED_FALLBACK_MS, type TreeView } from './tree-engine';
import { REBALANCE_COOLDOWN_MS, type TreeAdvert } from './tree-planner';

const node = advert;
const viewOf = (adverts: TreeAdvert[], unconfirmed?: TreeView['unconfirmed']): TreeView => {
	const byId = new Map(adverts.map((a) => [a.peerId, a]));
	return { candidates: adverts, lookup: (id) => byId.get(id), unconfirmed };
};
const IDLE = { standbyReady: false, dialing: false };

/** A listener at depth 2 under P (itself under G), with backup B chosen. */
function placed(): { engine: TreeEngine; adverts: TreeAdvert[] } {
	const engine = new TreeEngine('me', 3);
	const adverts = [node('S', 0, 2, 2), node('G', 1, 2, 2, 'S'), node('P', 1, 1, 1, 'S'), node('B', 1, 4, 1, 'S'), node('far', 3, 4, 0, 'x')];
	engine.attached('P', 1);
	expect(engine.step(0, viewOf(adverts), IDLE)).toEqual({ kind: 'stay' });
	expect(engine.backup).toBe('B');
	return { engine, adverts };
}

describe('tree engine: repair order', () => {
	it('asks the lost parent’s parent first, naming the lost one', () => {
		const { engine, adverts } = placed();
		engine.lost('P', 'G');
		expect(engine.parent).toBeNull();
		expect(engine.depth).toBe(2); // what it believed before the loss
		expect(engine.step(10, viewOf(adverts), IDLE)).toMatchObject({ kind: 'attach', parent: { peerId: 'G' }, lost: 'P', why: 'grandparent' });
	});

	it('then its backup, then the best free slot; a refused candidate is left alone for a while', () => {
		const { engine, adverts } = placed();
		engine.lost('P', 'G');
		engine.step(10, viewOf(adverts), IDLE); // the grandparent, asked once
		engine.avoid('G', 10, RETRY_CANDIDATE_AFTER_MS);
		expect(engine.step(20, viewOf(adverts), IDLE)).toMatchObject({ kind: 'attach', parent: { peerId: 'B' }, why: 'backup' });
		engine.avoid('B', 20, RETRY_CANDIDATE_AFTER_MS);
		expect(engine.step(30, viewOf(adverts), IDLE)).toMatchObject({ kind: 'attach', parent: { peerId: 'far' }, why: 'free slot' });
		engine.avoid('far', 30, RETRY_CANDIDATE_AFTER_MS);
		expect(engine.step(40, viewOf(adverts), IDLE)).toEqual({ kind: 'wait', since: 40 });
		// The waits run out: B is asked again.
		expect(engine.step(20 + RETRY_CANDIDATE_AFTER_MS + 1, viewOf(adverts), IDLE)).toMatchObject({ kind: 'attach', parent: { peerId: 'B' } });
	});

	it('switches to a live standby link before asking anyone', () => {
		const { engine, adverts } = placed();
		engine.lost('P', 'G');
		expect(engine.step(10, viewOf(adverts), { standbyReady: true, dialing: false })).toEqual({ kind: 'activate-standby' });
	});

	it('starts nothing while a dial is under way', () => {
		const { engine, adverts } = placed();
		engine.lost('P', 'G');
		expect(engine.step(10, viewOf(adverts), { standbyReady: false, dialing: true }).kind).toBe('wait');
		// The grandparent is still first once the dial is over.
		expect(engine.step(20, viewOf(adverts), IDLE)).toMatchObject({ parent: { peerId: 'G' } });
	});

	it('never takes a backup that has moved into its own subtree or deeper than itself', () => {
		const { engine, adverts } = placed();
		engine.lost('P', null);
		const moved = adverts.map((a) => (a.peerId === 'B' ? node('B', 3, 4, 1, 'me') : a));
		expect(engine.step(10, viewOf(moved), IDLE)).toMatchObject({ parent: { peerId: 'far' }, why: 'free slot' });
	});

	it('falls back to a slot only its holder vouches for after UNCONFIRMED_FALLBACK_MS without a confirmed one', () => {
		const engine = new TreeEngine('me', 0);
		const claimed = node('claims', 1, 2);
		const view = viewOf([node('S', 0, 2, 2)], () => claimed);
		expect(engine.step(0, view, IDLE)).toEqual({ kind: 'wait', since: 0 });
		expect(engine.step(UNCONFIRMED_FALLBACK_MS - 1, view, IDLE).kind).toBe('wait');
		expect(engine.step(UNCONFIRMED_FALLBACK_MS, view, IDLE)).toMatchObject({ kind: 'attach', parent: claimed, why: 'unconfirmed', waitedMs: UNCONFIRMED_FALLBACK_MS });
	});

	it('as a relay with no free slot anywhere, asks for the shallowest leaf’s place; a leaf just waits', () => {
		const full = [node('S', 0, 2, 2), node('phone1', 1, 0, 0, 'S'), node('phone2', 1, 0, 0, 'S'), node('deep', 2, 0, 0, 'phone1')];
		expect(new TreeEngine('laptop', 4).step(0, viewOf(full), IDLE)).toMatchObject({ kind: 'attach', parent: { peerId: 'S' }, why: 'a leaf’s place' });
		const step = new TreeEngine('laptop', 4).step(0, viewOf(full), IDLE);
		expect(step.kind === 'attach' && ['phone1', 'phone2'].includes(step.displace!)).toBe(true);
		expect(new TreeEngine('phone3', 0).step(0, viewOf(full), IDLE).kind).toBe('wait');
		// A free slot anywhere is taken instead, however deep.
		const withSlot = [...full, node('deepRelay', 2, 2, 0, 'phone2')];
		expect(new TreeEngine('laptop', 4).step(0, viewOf(withSlot), IDLE)).toMatchObject({ parent: { peerId: 'deepRelay' }, why: 'free slot' });
	});

	it('as a relay whose best free slot lies deeper than it was, takes the place of a leaf that puts it higher than that slot would; a leaf takes the slot', () => {
		const tree = [node('S', 0, 2, 2), node('G', 1, 1, 1, 'S'), node('phone', 2, 0, 0, 'G'), node('deepSlot', 5, 4, 0, 'x')];
		/** A member that was at depth 2 under P, which is gone (its parent unknown). */
		const orphan = (capacity: number) => {
			const engine = new TreeEngine('me', capacity);
			engine.attached('P', 1);
			engine.lost('P', null);
			return engine;
		};
		// Its subtree stays where it was instead of sinking three levels; the phone repairs (into its slots, likely).
		expect(orphan(3).step(10, viewOf(tree), IDLE)).toMatchObject({ kind: 'attach', parent: { peerId: 'G' }, why: 'a leaf’s place', displace: 'phone' });
		expect(orphan(0).step(10, viewOf(tree), IDLE)).toMatchObject({ parent: { peerId: 'deepSlot' }, why: 'free slot' });
		// A leaf deeper than it was still sinks it less than the slot at depth 6 would (a crashed relay's
		// orphans often find no leaf at their own depth); one at the slot's depth or below would not help.
		const leafAt = (depth: number) => tree.map((a) => (a.peerId === 'phone' ? node('phone', depth, 0, 0, 'G') : a));
		expect(orphan(3).step(10, viewOf(leafAt(5)), IDLE)).toMatchObject({ parent: { peerId: 'G' }, why: 'a leaf’s place', displace: 'phone' });
		expect(orphan(3).step(10, viewOf(leafAt(6)), IDLE)).toMatchObject({ parent: { peerId: 'deepSlot' }, why: 'free slot' });
		// A free slot no deeper than it was comes first.
		expect(orphan(3).step(10, viewOf([...tree, node('near', 1, 3, 1, 'S')]), IDLE)).toMatchObject({ parent: { peerId: 'near' }, why: 'free slot' });
	});

	it('after a leaf’s parent refused it, asks for another leaf’s place under another parent before it takes a deeper slot', () => {
		const tree = [node('S', 0, 2, 2), node('G', 1, 1, 1, 'S'), node('H', 1, 1, 1, 'S'), node('phone', 2, 0, 0, 'G'), node('tablet', 3, 0, 0, 'H'), node('deepSlot', 5, 4, 0, 'x')];
		const engine = new TreeEngine('me', 3);
		engine.attached('P', 1);
		engine.lost('P', null);
		expect(engine.step(10, viewOf(tree), IDLE)).toMatchObject({ parent: { peerId: 'G' }, displace: 'phone' });
		// G let a leaf go for another relay moments ago (admitChild: once per DISPLACE_EVERY_MS) and refused.
		engine.avoid('G', 20, RETRY_CANDIDATE_AFTER_MS);
		expect(engine.step(30, viewOf(tree), IDLE)).toMatchObject({ parent: { peerId: 'H' }, displace: 'tablet' });
		engine.avoid('H', 40, RETRY_CANDIDATE_AFTER_MS);
		expect(engine.step(50, viewOf(tree), IDLE)).toMatchObject({ parent: { peerId: 'deepSlot' }, why: 'free slot' });
	});

	it('keeps a forger away longer than a refusal would', () => {
		const engine = new TreeEngine('me', 0);
		engine.avoid('x', 0, 600_000);
		engine.avoid('x', 0, RETRY_CANDIDATE_AFTER_MS); // does not shorten it
		expect(engine.isAvoided('x', 100_000)).toBe(true);
		expect(engine.isAvoided('x', 600_001)).toBe(false);
	});
});

describe('tree engine: with a parent', () => {
	it('follows its parent’s depth when the parent moves', () => {
		const { engine, adverts } = placed();
		const lifted = adverts.map((a) => (a.peerId === 'P' ? node('P', 0, 2, 1, null) : a));
		engine.step(10, viewOf(lifted), IDLE);
		expect(engine.depth).toBe(1);
		// An unknown depth (its chain not confirmed yet) leaves ours alone.
		engine.step(20, viewOf(adverts.map((a) => (a.peerId === 'P' ? node('P', null, 2, 1, 'S') : a))), IDLE);
		expect(engine.depth).toBe(1);
	});

	it('moves up to a slot two levels shallower, once per cooldown', () => {
		const engine = new TreeEngine('me', 3);
		engine.attached('P', 3); // depth 4
		const adverts = [node('P', 3, 2, 1, 'Q'), node('slot', 2, 4, 1, 'R')];
		expect(engine.step(100_000, viewOf(adverts), IDLE)).toMatchObject({ kind: 'move', parent: { peerId: 'slot' } });
		expect(engine.step(100_001, viewOf(adverts), IDLE)).toEqual({ kind: 'stay' });
		expect(engine.step(100_000 + REBALANCE_COOLDOWN_MS, viewOf(adverts), IDLE).kind).toBe('move');
		// Not while a dial is under way.
		expect(engine.step(200_000, viewOf(adverts), { standbyReady: false, dialing: true })).toEqual({ kind: 'stay' });
	});

	it('never moves up to a member it keeps away from: a free slot offered by a relay that withheld or forged is the bait', () => {
		const engine = new TreeEngine('me', 3);
		engine.attached('P', 3); // depth 4
		const adverts = [node('P', 3, 2, 1, 'Q'), node('slot', 2, 4, 1, 'R')];
		engine.avoid('slot', 100_000, 600_000);
		expect(engine.step(100_000, viewOf(adverts), IDLE)).toEqual({ kind: 'stay' });
		expect(engine.step(100_000 + REBALANCE_COOLDOWN_MS, viewOf(adverts), IDLE)).toEqual({ kind: 'stay' });
		// Once that has run out, it is a slot like any other.
		expect(engine.step(700_001, viewOf(adverts), IDLE)).toMatchObject({ kind: 'move', parent: { peerId: 'slot' } });
	});
});

describe('tree engine: leaving a speaker’s branch', () => {
	// Two speakers, both full: A's branch (L1 under A with a free slot, L2 under L1 with two) and B's (M1 and M2 alike).
	const room = () => [node('A', 0, 1, 1), node('L1', 1, 2, 1, 'A'), node('L2', 2, 2, 0, 'L1'), node('B', 0, 1, 1), node('M1', 1, 2, 1, 'B'), node('M2', 2, 2, 0, 'M1')];

	it('moves to a free slot outside the branch, even a deeper one, and keeps out of it (rebalancing and repair included) for LEFT_BRANCH_MS', () => {
		const engine = new TreeEngine('me', 2);
		engine.attached('L1', 1); // depth 2, under A
		const adverts = room();
		expect(engine.step(0, viewOf(adverts), IDLE)).toEqual({ kind: 'stay' });
		engine.leaveBranch('A', 10);
		// Not L1 (a free slot a level up) or L2 (under L1, under A): M1, at the depth we are.
		expect(engine.step(20, viewOf(adverts), IDLE)).toEqual({ kind: 'move', parent: adverts[4], why: 'fuller branch' });
		// Nothing new while that dial is under way; then, moved, no backup or rebalance leads back into A's branch.
		expect(engine.step(30, viewOf(adverts), { standbyReady: false, dialing: true })).toEqual({ kind: 'stay' });
		engine.attached('M1', 1);
		const moved = [...adverts.map((a) => (a.peerId === 'M1' ? node('M1', 1, 2, 2, 'B') : a)), node('me', 2, 2, 0, 'M1')];
		expect(engine.step(40, viewOf(moved), IDLE)).toEqual({ kind: 'stay' });
		expect(engine.backup).toBe('M2');
		// M1 fails: the repair asks M1's parent B, then the backup M2, and once both refused, nobody: never
		// L1 or L2, though they have room.
		engine.lost('M1', 'B');
		const gone = moved.filter((a) => a.peerId !== 'M1');
		expect(engine.step(50, viewOf(gone), IDLE)).toMatchObject({ kind: 'attach', parent: { peerId: 'B' } });
		engine.avoid('B', 50, RETRY_CANDIDATE_AFTER_MS);
		expect(engine.step(60, viewOf(gone), IDLE)).toMatchObject({ kind: 'attach', parent: { peerId: 'M2' }, why: 'backup' });
		engine.avoid('M2', 60, RETRY_CANDIDATE_AFTER_MS);
		expect(engine.step(70, viewOf(gone), IDLE)).toMatchObject({ kind: 'wait' });
		// Once LEFT_BRANCH_MS has gone by, A's branch is a place like any other again.
		expect(engine.step(10 + LEFT_BRANCH_MS + 1, viewOf(moved.filter((a) => a.peerId !== 'M1')), IDLE)).toMatchObject({ kind: 'attach', parent: { peerId: 'L1' } });
	});

	it('keeps out of a branch it leaves again and again longer each time, and of other branches short now for LEFT_BRANCH_MS', () => {
		const engine = new TreeEngine('me', 2);
		expect(engine.leaveBranch('A', 0, ['A', 'C'])).toBe(LEFT_BRANCH_MS);
		expect(engine.leaveBranch('A', 40_000)).toBe(2 * LEFT_BRANCH_MS);
		expect(engine.leaveBranch('A', 110_000)).toBe(4 * LEFT_BRANCH_MS);
		expect(engine.leaveBranch('A', 240_000)).toBe(LEFT_BRANCH_MAX_MS);
		expect(engine.leaveBranch('A', 500_000)).toBe(LEFT_BRANCH_MAX_MS);
		// Short once more after a long while: a place like any other again, kept out of for the first time's span.
		expect(engine.leaveBranch('A', 500_000 + LEFT_AGAIN_WITHIN_MS + 1)).toBe(LEFT_BRANCH_MS);
		// C's branch, short when we left A's at 0, was not left itself: its first leave is a first.
		expect(engine.leaveBranch('C', 50_000)).toBe(LEFT_BRANCH_MS);
	});

	it('does not move from one short branch into another', () => {
		// A third speaker C whose branch (N1, a free slot at depth 1) is short as well: only B's M1 is a way out of A's.
		const adverts = [...room(), node('C', 0, 1, 1), node('N1', 1, 2, 0, 'C')];
		const engine = new TreeEngine('me', 2);
		engine.attached('L1', 1);
		engine.leaveBranch('A', 10, ['A', 'C']);
		expect(engine.step(20, viewOf(adverts), IDLE)).toEqual({ kind: 'move', parent: adverts[4], why: 'fuller branch' });
		// With M1 gone, a listener that knew only A's branch short goes to N1 (depth 1), in C's short branch;
		// one that left C's too goes to M2 (depth 2), in B's, the branch that carries every voice.
		const naive = new TreeEngine('me', 2);
		naive.attached('L1', 1);
		naive.leaveBranch('A', 10);
		expect(naive.step(20, viewOf(adverts.filter((a) => a.peerId !== 'M1')), IDLE)).toMatchObject({ kind: 'move', parent: { peerId: 'N1' } });
		expect(engine.step(30, viewOf(adverts.filter((a) => a.peerId !== 'M1')), IDLE)).toMatchObject({ kind: 'move', parent: { peerId: 'M2' } });
	});

	it('stays where it is when no free slot lies outside the branch: one voice less is better than none', () => {
		const engine = new TreeEngine('me', 0);
		engine.attached('A', 0);
		const full = room().map((a) => (a.peerId.startsWith('M') ? { ...a, children: a.capacity } : a));
		engine.leaveBranch('A', 0);
		expect(engine.step(10, viewOf(full), IDLE)).toEqual({ kind: 'stay' });
		expect(engine.parent).toBe('A');
	});
});

describe('admitting a child', () => {
	const slots = { depth: 1, capacity: 2, children: 1, standbys: 0 };

	it('takes a child into a free slot, and refuses when detached or full', () => {
		expect(admitChild(slots, 'child')).toEqual({ accept: true, releaseStandby: false, evict: null });
		expect(admitChild({ ...slots, depth: null }, 'child')).toEqual({ accept: false });
		expect(admitChild({ ...slots, children: 2 }, 'child')).toEqual({ accept: false });
	});

	it('lets a real child outrank a standby, and a standby only into a slot nobody holds', () => {
		expect(admitChild({ ...slots, standbys: 1 }, 'child')).toEqual({ accept: true, releaseStandby: true, evict: null });
		expect(admitChild({ ...slots, standbys: 1 }, 'standby')).toEqual({ accept: false });
		expect(admitChild(slots, 'standby')).toMatchObject({ accept: true });
	});

	it('lets a leaf child go for a relay with nowhere else to go, once per DISPLACE_EVERY_MS', () => {
		const full = { ...slots, children: 2 };
		const ask = { peerId: 'phone', leafIsOurs: true, askerRelays: true, sinceLastMs: DISPLACE_EVERY_MS };
		expect(admitChild(full, 'child', undefined, ask)).toEqual({ accept: true, releaseStandby: false, evict: 'phone' });
		expect(admitChild(full, 'child', undefined, { ...ask, sinceLastMs: DISPLACE_EVERY_MS - 1 })).toEqual({ accept: false });
		expect(admitChild(full, 'child', undefined, { ...ask, leafIsOurs: false })).toEqual({ accept: false });
		expect(admitChild(full, 'child', undefined, { ...ask, askerRelays: false })).toEqual({ accept: false });
		// With a free slot the leaf stays.
		expect(admitChild(slots, 'child', undefined, ask)).toEqual({ accept: true, releaseStandby: false, evict: null });
	});

	it('gives a full parent’s silent child’s slot to that child’s orphan, but not a moment’s stall', () => {
		const full = { ...slots, children: 2 };
		expect(admitChild(full, 'child', { peerId: 'dead', silentMs: PARENT_SILENCE_MS + 1 })).toEqual({ accept: true, releaseStandby: false, evict: 'dead' });
		expect(admitChild(full, 'child', { peerId: 'stalled', silentMs: PARENT_SILENCE_MS })).toEqual({ accept: false });
	});
});
