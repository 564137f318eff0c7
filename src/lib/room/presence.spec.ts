import { describe, expect, it } from 'vitest';
import { handQueue, LISTENER_BEATS_PER_SEC, MAX_PRESENCE_BEAT_MS, PRESENCE_BEAT_MS, PRESENCE_TTL_MS, presenceBeatMs, PresenceTable, UNLISTED_AWAY_MS } from './presence';
import type { TreeWire } from './room-topic-protocol';

const state = (hand: number | null = null) => ({ name: 'n', hand, muted: false });

describe('PresenceTable', () => {
	it('shows a peer from its first message and drops it on leave', () => {
		const table = new PresenceTable();
		expect(table.present('a', 1, state(), 0)).toBe(true);
		expect(table.members.has('a')).toBe(true);
		expect(table.leave('a', 2, 10)).toBe(true);
		expect(table.members.has('a')).toBe(false);
	});

	it('refuses replayed or reordered messages, even after a leave', () => {
		const table = new PresenceTable();
		table.present('a', 5, state(), 0);
		expect(table.present('a', 5, state(100), 1)).toBe(false);
		expect(table.present('a', 4, state(100), 1)).toBe(false);
		expect(table.members.get('a')?.hand).toBeNull();
		table.leave('a', 6, 2);
		expect(table.present('a', 5, state(), 3)).toBe(false);
		expect(table.members.has('a')).toBe(false);
		expect(table.present('a', 7, state(), 4)).toBe(true);
	});

	it('tells a reload (seqs restarting from a later clock) from a page that keeps talking', () => {
		const table = new PresenceTable();
		const start = 1_700_000_000_000;
		expect(table.restarted('a', start)).toBe(false); // never heard: new, not restarted
		table.present('a', start, state(), 0);
		// A page that talks a lot: 100 messages, seqs going up in twos.
		for (let i = 1; i <= 100; i++) {
			expect(table.restarted('a', start + 2 * i)).toBe(false);
			table.present('a', start + 2 * i, state(), i);
		}
		// Reloaded 5 s after it first spoke: its new seqs start from the clock.
		expect(table.restarted('a', start + 5_000)).toBe(true);
		expect(table.present('a', start + 5_000, state(), 200)).toBe(false); // same name, hand, mute: nothing to redraw
	});

	it('expires a silent peer after the TTL and not before', () => {
		const table = new PresenceTable();
		table.present('a', 1, state(), 0);
		expect(table.expire(PRESENCE_TTL_MS)).toBe(false);
		expect(table.expire(PRESENCE_TTL_MS + 1)).toBe(true);
		expect(table.members.size).toBe(0);
	});

	it('expires a peer after three of the beats it declared, within the bounds', () => {
		const table = new PresenceTable();
		table.present('slow', 1, state(), 0, 60_000);
		table.present('liar-short', 1, state(), 0, 1);
		table.present('liar-long', 1, state(), 0, 10 * MAX_PRESENCE_BEAT_MS);
		expect(table.expire(PRESENCE_TTL_MS + 1)).toBe(true);
		expect([...table.members.keys()]).toEqual(['slow', 'liar-long']); // a beat under the floor counts as the floor
		expect(table.expire(180_000)).toBe(false);
		expect(table.expire(180_001)).toBe(true);
		expect([...table.members.keys()]).toEqual(['liar-long']);
		expect(table.expire(3 * MAX_PRESENCE_BEAT_MS + 1)).toBe(true); // a beat over the ceiling counts as the ceiling
		expect(table.members.size).toBe(0);
	});

	it('refuses a replay of a slow beater\'s old message for as long as it is shown', () => {
		const table = new PresenceTable();
		table.present('slow', 10, state(), 0, 600_000);
		table.present('slow', 12, state(5), 1, 600_000);
		expect(table.expire(20 * 60_000)).toBe(false); // past the 10 min seq memory, still shown
		expect(table.present('slow', 10, state(), 20 * 60_000)).toBe(false);
		expect(table.members.get('slow')?.hand).toBe(5);
	});

	it('drops a peer put out, and its old messages do not bring it back', () => {
		const table = new PresenceTable();
		table.present('out', 5, state(), 0);
		expect(table.drop('out')).toBe(true);
		expect(table.drop('out')).toBe(false);
		expect(table.present('out', 5, state(), 1)).toBe(false);
		expect(table.members.has('out')).toBe(false);
	});

	describe('a listener its parent in the audio tree no longer lists', () => {
		// Tags are the PeerIds' char codes here (the app uses audio/packet-codec.ts speakerTag).
		const tagOf = (peerId: string) => peerId.charCodeAt(0);
		const node = (d: number, p: string | null, children: string[]): TreeWire => ({ d, c: 2, k: children.length, p, t: children.map(tagOf) });
		const member = (tree: TreeWire) => ({ ...state(), tree });
		const HOUR = 3_600_000;

		/** Speaker s feeds P, P feeds x; everyone beats once an hour (a big room). */
		function room(): PresenceTable {
			const table = new PresenceTable(tagOf);
			table.present('s', 1, member(node(0, null, ['P'])), 0, HOUR);
			table.present('P', 1, member(node(1, 's', ['x'])), 0, HOUR);
			table.present('x', 1, member(node(2, 'P', [])), 10, HOUR);
			return table;
		}

		it('is counted away once its parent, speaking after it, has not listed it for a while', () => {
			const table = room();
			table.present('P', 3, member(node(1, 's', [])), 3_000, HOUR); // x crashed; P reclaimed its slot
			expect(table.expire(3_000)).toBe(false);
			expect(table.expire(3_000 + UNLISTED_AWAY_MS - 1)).toBe(false);
			expect(table.expire(3_000 + UNLISTED_AWAY_MS)).toBe(true);
			expect([...table.members.keys()].sort()).toEqual(['P', 's']);
		});

		it('stays while another member lists it (it moved, and its own word of it was lost)', () => {
			const table = room();
			table.present('P', 3, member(node(1, 's', [])), 3_000, HOUR);
			table.present('Q', 1, member(node(1, 's', ['x'])), 3_500, HOUR);
			expect(table.expire(3_000 + 2 * UNLISTED_AWAY_MS)).toBe(false);
			expect(table.members.has('x')).toBe(true);
		});

		it('stays when it spoke after its parent (it is joining it), and starts over when it speaks again', () => {
			const table = room();
			table.present('x', 2, member(node(2, 'P', [])), 3_000, HOUR); // P's last word came before
			expect(table.expire(3_000 + 2 * UNLISTED_AWAY_MS)).toBe(false);
			table.present('P', 3, member(node(1, 's', [])), 20_000, HOUR);
			expect(table.expire(20_000 + UNLISTED_AWAY_MS - 1_000)).toBe(false);
			table.present('x', 3, member(node(2, 'P', [])), 24_000, HOUR);
			expect(table.expire(24_000 + UNLISTED_AWAY_MS)).toBe(false);
			expect(table.members.has('x')).toBe(true);
		});

		it('is left to its beats when the table cannot tell tags', () => {
			const table = new PresenceTable();
			table.present('P', 1, member(node(1, 's', [])), 3_000, HOUR);
			table.present('x', 1, member(node(2, 'P', [])), 10, HOUR);
			expect(table.expire(3_000 + 2 * UNLISTED_AWAY_MS)).toBe(false);
		});
	});

	it('keeps the first-seen time across beats and reports only visible changes', () => {
		const table = new PresenceTable();
		table.present('a', 1, state(), 100);
		expect(table.present('a', 2, state(), 200)).toBe(false);
		expect(table.members.get('a')?.joinedAt).toBe(100);
		expect(table.members.get('a')?.lastSeen).toBe(200);
		expect(table.present('a', 3, state(150), 300)).toBe(true);
	});
});

describe('presenceBeatMs', () => {
	it('beats every few seconds on the stage, and shares a fixed budget among listeners', () => {
		expect(presenceBeatMs(100_000, true)).toBe(PRESENCE_BEAT_MS);
		expect(presenceBeatMs(1, false)).toBe(PRESENCE_BEAT_MS);
		expect(presenceBeatMs(24, false)).toBe(PRESENCE_BEAT_MS);
		// What the room receives from its listeners per second stays at the budget as it grows.
		for (const listeners of [100, 1_000, 10_000]) {
			expect(listeners / (presenceBeatMs(listeners, false) / 1000)).toBeCloseTo(LISTENER_BEATS_PER_SEC, 0);
		}
		expect(presenceBeatMs(1e9, false)).toBe(MAX_PRESENCE_BEAT_MS);
	});
});

describe('handQueue', () => {
	it('a speaker stream mark moving with each beat is not a visible change, but is kept', () => {
		const table = new PresenceTable();
		const tree = { d: 0, c: 2, k: 0, p: null };
		table.present('a', 1, { ...state(), tree: { ...tree, q: 10, r: 1 } }, 0);
		expect(table.present('a', 2, { ...state(), tree: { ...tree, q: 210, r: 1 } }, 4_000)).toBe(false);
		expect(table.members.get('a')?.tree?.q).toBe(210);
		expect(table.present('a', 3, { ...state(), tree: { ...tree, k: 1, q: 410, r: 1 } }, 8_000)).toBe(true);
	});

	it('orders by when hands went up, then PeerId, and skips excluded peers', () => {
		const table = new PresenceTable();
		table.present('c', 1, state(20), 0);
		table.present('b', 1, state(10), 0);
		table.present('a', 1, state(20), 0);
		table.present('d', 1, state(), 0);
		table.present('e', 1, state(5), 0);
		expect(handQueue(table.members.values(), (p) => p === 'e').map((e) => e.peerId)).toEqual(['b', 'a', 'c']);
	});
});
