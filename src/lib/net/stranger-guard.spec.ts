import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RELAYED_MOST_MS, relaysCarrying, STRANGER_SWEEP_MS, StrangerGuard, strangersToClose, type GuardedConnection, type StrangerLimits } from './stranger-guard';

const LIMITS: StrangerLimits = { crowd: 3, graceMs: 5_000, slots: 2, mostMs: 30_000 };
const NOW = 1_000_000;
const DIRECT = (peer: string) => `/ip4/127.0.0.1/tcp/9/ws/p2p/RELAY/p2p-circuit/webrtc/p2p/${peer}`;

class FakeConnection implements GuardedConnection {
	status = 'open';
	readonly remotePeer: { toString(): string };
	readonly remoteAddr: { toString(): string };
	readonly timeline: { open: number };
	constructor(
		peer: string,
		openedAt: number,
		readonly direction: 'inbound' | 'outbound' = 'inbound',
		addr = DIRECT(peer)
	) {
		this.remotePeer = { toString: () => peer };
		this.remoteAddr = { toString: () => addr };
		this.timeline = { open: openedAt };
	}
	abort(): void {
		this.status = 'closed';
	}
}

/** Connections to `peers`, the first opened `ageMs[0]` before NOW and so on. */
const conns = (peers: string[], ageMs: number[]) => peers.map((p, i) => new FakeConnection(p, NOW - ageMs[i]));
const isMember = (peer: string) => peer.startsWith('member');
const peersOf = (cs: GuardedConnection[]) => cs.map((c) => c.remotePeer.toString());

describe('strangersToClose', () => {
	it('while strangers are fewer than a crowd, closes only those there for their most, however many members', () => {
		const members = Array.from({ length: 40 }, (_, i) => `member-${i}`);
		const connections = conns([...members, 's-1', 's-2'], [...members.map(() => 600_000), 30_000, 29_000]);
		const { close, lookAgainAt } = strangersToClose(connections, isMember, NOW, LIMITS);
		expect(peersOf(close)).toEqual(['s-1']);
		expect(lookAgainAt).toBe(NOW + 1_000);
		expect(strangersToClose(connections.slice(0, 1), isMember, NOW, LIMITS)).toEqual({ close: [], lookAgainAt: null });
	});

	it('once strangers are a crowd, closes those past their grace and never a peer vouched for, however old', () => {
		const connections = conns(['member-1', 'member-2', 's-old', 'member-3', 's-young', 's-older'], [600_000, 1, 5_000, 9_000, 1_000, 7_000]);
		const { close, lookAgainAt } = strangersToClose(connections, isMember, NOW, LIMITS);
		expect(peersOf(close).sort()).toEqual(['s-old', 's-older']);
		// The young stranger's grace ends 4 s from now.
		expect(lookAgainAt).toBe(NOW + 4_000);
	});

	it('keeps the youngest strangers up to its slots and closes the others at once, young or not', () => {
		const connections = conns(['member-1', 's-1', 's-2', 's-3', 's-4', 's-5'], [1, 100, 400, 300, 200, 500]);
		const { close, lookAgainAt } = strangersToClose(connections, isMember, NOW, LIMITS);
		expect(peersOf(close).sort()).toEqual(['s-2', 's-3', 's-5']);
		expect(lookAgainAt).toBe(NOW - 200 + 5_000);
	});

	it('keeps our WebSocket to a relay we dialed while a relayed connection of ours goes through it; a peer we dialed goes like any other, from when `since` says', () => {
		const connections = [
			new FakeConnection('relay-x', NOW - 600_000, 'outbound', '/ip4/192.0.2.7/tcp/443/tls/ws/p2p/relay-x'),
			new FakeConnection('member-1', NOW - 60_000, 'outbound', '/ip4/192.0.2.7/tcp/443/tls/ws/p2p/relay-x/p2p-circuit/p2p/member-1'),
			new FakeConnection('s-dialed', NOW - 60_000, 'outbound'),
			new FakeConnection('s-banned', NOW - 60_000)
		];
		// The banned member was vouched for until 10 s ago: a stranger since then.
		const since = (c: FakeConnection) => (c.remotePeer.toString() === 's-banned' ? NOW - 10_000 : c.timeline.open);
		const now = strangersToClose(connections, isMember, NOW, LIMITS, since);
		expect(peersOf(now.close)).toEqual(['s-dialed']);
		expect(now.lookAgainAt).toBe(NOW + 20_000);
		expect(peersOf(strangersToClose(connections, isMember, NOW + 20_000, LIMITS, since).close).sort()).toEqual(['s-banned', 's-dialed']);
	});

	it('lets a relay on our way go like any stranger once nothing of ours goes through it: a member reached directly, a relayed connection past its time, or one we did not make', () => {
		const relay = (name: string, ageMs: number) => new FakeConnection(name, NOW - ageMs, 'outbound', `/ip4/198.51.100.9/tcp/443/tls/ws/p2p/${name}`);
		const via = (relayName: string, peer: string, ageMs: number, direction: 'inbound' | 'outbound' = 'outbound', webrtc = false) =>
			new FakeConnection(peer, NOW - ageMs, direction, `/ip4/198.51.100.9/tcp/443/tls/ws/p2p/${relayName}/p2p-circuit/${webrtc ? 'webrtc/' : ''}p2p/${peer}`);
		const connections = [
			relay('relay-carrying', 600_000),
			via('relay-carrying', 'member-2', 60_000),
			// A WebRTC connection set up through it, and the relayed one its dial signalled over, which libp2p keeps.
			relay('relay-upgraded', 31_000),
			via('relay-upgraded', 'member-1', 30_000, 'outbound', true),
			via('relay-upgraded', 'member-1', 30_500),
			// A relayed connection its relay never ends (a relay the member runs): it carries for RELAYED_MOST_MS, no longer.
			relay('relay-forever', 600_000),
			via('relay-forever', 'member-3', RELAYED_MOST_MS),
			// A stranger's connection to us through it is not ours.
			relay('relay-inbound', 31_000),
			via('relay-inbound', 's-4', 10_000, 'inbound'),
			relay('relay-young', 1_000),
			via('relay-young', 'member-5', 1_000)
		];
		connections[10].status = 'closed';
		expect(relaysCarrying(connections, NOW)).toEqual(new Set(['relay-carrying']));
		// No crowd here: each goes at a stranger's most, the young relay later.
		const { close, lookAgainAt } = strangersToClose(connections, isMember, NOW, { ...LIMITS, crowd: 100 });
		expect(peersOf(close).sort()).toEqual(['relay-forever', 'relay-inbound', 'relay-upgraded']);
		expect(lookAgainAt).toBe(NOW + 20_000);
		// A crowd of such relays (an announce naming hosts of its sender's choosing) keeps only the youngest few, each briefly.
		const crowd = Array.from({ length: 5 }, (_, i) => relay(`relay-${i}`, 1_000 * (i + 1)));
		expect(peersOf(strangersToClose(crowd, isMember, NOW, LIMITS).close)).toEqual(['relay-2', 'relay-3', 'relay-4']);
	});

	it('counts only open connections, and closes none already closed', () => {
		const connections = conns(['s-1', 's-2', 's-3'], [40_000, 9_000, 9_000]);
		connections[0].status = 'closed';
		expect(strangersToClose(connections, isMember, NOW, LIMITS).close).toEqual([]);
		connections[0].status = 'open';
		expect(strangersToClose(connections, isMember, NOW, LIMITS).close).toHaveLength(3);
	});

	it('holds for any connections: nothing vouched for is closed; no stranger is left past its most, nor, in a crowd, past its grace or its slots', () => {
		const connection = fc.record({ member: fc.boolean(), peer: fc.integer({ min: 0, max: 20 }), ageMs: fc.integer({ min: 0, max: 40_000 }), open: fc.boolean() });
		fc.assert(
			fc.property(fc.array(connection, { maxLength: 40 }), (specs) => {
				const connections = specs.map((s) => Object.assign(new FakeConnection(`${s.member ? 'member' : 's'}-${s.peer}`, NOW - s.ageMs), { status: s.open ? 'open' : 'closed' }));
				const strangers = connections.filter((c) => c.status === 'open' && !isMember(c.remotePeer.toString()));
				const { close, lookAgainAt } = strangersToClose(connections, isMember, NOW, LIMITS);
				expect(close.every((c) => strangers.includes(c))).toBe(true);
				const kept = strangers.filter((c) => !close.includes(c));
				const crowded = strangers.length >= LIMITS.crowd;
				const stays = crowded ? LIMITS.graceMs : LIMITS.mostMs;
				// What is closed is exactly what overstayed, and, in a crowd, what had no slot.
				expect(close.every((c) => NOW - c.timeline.open >= stays || crowded)).toBe(true);
				expect(kept.every((c) => NOW - c.timeline.open < stays)).toBe(true);
				if (crowded) {
					expect(kept.length).toBeLessThanOrEqual(LIMITS.slots);
					// Any stranger kept is younger than every one closed for want of a slot.
					const closedYoung = close.filter((c) => NOW - c.timeline.open < stays);
					expect(kept.every((k) => closedYoung.every((c) => k.timeline.open >= c.timeline.open))).toBe(true);
				}
				expect(lookAgainAt).toBe(kept.length === 0 ? null : Math.min(...kept.map((c) => c.timeline.open + stays)));
				return true;
			})
		);
	});
});

/** A node as the guard sees it: connections, and an event when one opens. */
class FakeNode extends EventTarget {
	readonly connections: FakeConnection[] = [];
	getConnections(): FakeConnection[] {
		return this.connections;
	}
	open(peer: string, direction: 'inbound' | 'outbound' = 'inbound', addr = DIRECT(peer)): FakeConnection {
		const c = new FakeConnection(peer, Date.now(), direction, addr);
		this.connections.push(c);
		this.dispatchEvent(new Event('connection:open'));
		return c;
	}
}

describe('StrangerGuard', () => {
	afterEach(() => {
		vi.useRealTimers();
	});

	it('sends strangers away as they overstay and as a crowd forms, keeps members, and stops when told', () => {
		vi.useFakeTimers({ now: NOW });
		const node = new FakeNode();
		const sentAway: string[] = [];
		const guard = new StrangerGuard(node, isMember, LIMITS, (peer) => sentAway.push(peer));
		guard.start();
		guard.start(); // safe twice
		const members = ['member-1', 'member-2'].map((p) => node.open(p));
		const early = node.open('s-early');
		vi.advanceTimersByTime(10_000);
		const first = node.open('s-1');
		// Two strangers: no crowd, so the early one stays past its grace.
		expect(early.status).toBe('open');
		vi.advanceTimersByTime(100);
		const second = node.open('s-2');
		// Three, a crowd: the one past its grace goes at once; the two young ones keep the two slots.
		expect([early.status, first.status, second.status]).toEqual(['closed', 'open', 'open']);
		vi.advanceTimersByTime(1_000);
		const third = node.open('s-3');
		// A crowd again, and two slots: the oldest of the young goes.
		expect([first.status, second.status, third.status]).toEqual(['closed', 'open', 'open']);
		// Two strangers left, no crowd: each stays until its most (30 s), not its grace.
		vi.advanceTimersByTime(30_000 - 1_000 - 1);
		expect(second.status).toBe('open');
		vi.advanceTimersByTime(1);
		expect(second.status).toBe('closed');
		vi.advanceTimersByTime(999);
		expect(third.status).toBe('open');
		vi.advanceTimersByTime(1);
		expect(third.status).toBe('closed');
		expect(sentAway).toEqual(['s-early', 's-1', 's-2', 's-3']);
		guard.stop();
		guard.stop();
		const late = node.open('s-late');
		vi.advanceTimersByTime(60_000);
		expect(late.status).toBe('open');
		expect(members.every((m) => m.status === 'open')).toBe(true);
	});

	it('sends away a peer no longer vouched for (banned, its room left) a stranger’s most after it last saw it vouched for, with no connection opening', () => {
		vi.useFakeTimers({ now: NOW });
		const node = new FakeNode();
		const members = new Set(['member-1', 'member-2', 'member-3']);
		const guard = new StrangerGuard(node, (peer) => members.has(peer), LIMITS);
		guard.start();
		// member-1 is reached through relay-x, a relay on our way, which stays while it carries that connection.
		const kept = node.open('member-1', 'outbound', '/ip4/192.0.2.7/tcp/443/tls/ws/p2p/relay-x/p2p-circuit/p2p/member-1');
		const [banned, dialed] = [node.open('member-2'), node.open('member-3', 'outbound')];
		const relay = node.open('relay-x', 'outbound', '/ip4/192.0.2.7/tcp/443/tls/ws/p2p/relay-x');
		vi.advanceTimersByTime(60_000);
		members.delete('member-2');
		members.delete('member-3');
		// Last seen vouched for at the sweep before: gone 30 s after that (within a sweep), and not before,
		// whoever dialed.
		vi.advanceTimersByTime(30_000 - STRANGER_SWEEP_MS - 1);
		expect([banned.status, dialed.status]).toEqual(['open', 'open']);
		vi.advanceTimersByTime(STRANGER_SWEEP_MS + 1);
		expect([banned.status, dialed.status]).toEqual(['closed', 'closed']);
		// The relay carried member-1's relayed connection until that had lasted RELAYED_MOST_MS: a stranger's most after that, it goes.
		expect(relay.status).toBe('open');
		vi.advanceTimersByTime(RELAYED_MOST_MS - 90_000 + 30_000 - STRANGER_SWEEP_MS - 1);
		expect(relay.status).toBe('open');
		vi.advanceTimersByTime(2 * STRANGER_SWEEP_MS + 1);
		expect([kept.status, relay.status]).toEqual(['open', 'closed']);
		guard.stop();
	});
});
