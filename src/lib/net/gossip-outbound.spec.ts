import { describe, expect, it } from 'vitest';
import { openGossipStreamsConcurrently } from './gossip-outbound.js';

type Peer = { toString(): string };
type Conn = { status: string };

/** What gossipsub keeps per peer: the stream, here with the connection it was opened on. */
type Outbound = { connection: Conn; rawStream: EventTarget };

/** gossipsub's shape: one sequential queue that awaits createOutboundStream for each request in turn. */
class FakeGossip {
	readonly streamsOutbound = new Map<string, Outbound>();
	/** The peers gossipsub counts: added on connect, dropped by removePeer. */
	readonly peers = new Map<string, true>();
	readonly calls: string[] = [];
	readonly #stalled = new Map<string, PromiseWithResolvers<void>>();
	readonly #stall = new Set<string>();
	#queue: Promise<void> = Promise.resolve();

	stall(peer: string): void {
		this.#stall.add(peer);
	}

	/** The stalled peer answers at last (or its connection fails: `open` false). */
	release(peer: string, open = true, connection: Conn = { status: 'open' }): void {
		this.#stall.delete(peer);
		if (open) this.streamsOutbound.set(peer, { connection, rawStream: new EventTarget() });
		this.#stalled.get(peer)?.resolve();
	}

	async createOutboundStream(peerId: Peer, connection: Conn): Promise<void> {
		const id = peerId.toString();
		this.calls.push(id);
		if (this.streamsOutbound.has(id)) return;
		if (this.#stall.has(id)) {
			const wait = Promise.withResolvers<void>();
			this.#stalled.set(id, wait);
			await wait.promise;
			return;
		}
		this.streamsOutbound.set(id, { connection, rawStream: new EventTarget() });
	}

	/** The peer's stream closes; as gossipsub's own listener (added first) does, it leaves the map first. */
	closeStream(peer: string): void {
		const stream = this.streamsOutbound.get(peer);
		this.streamsOutbound.delete(peer);
		stream?.rawStream.dispatchEvent(new Event('close'));
	}

	/** What gossipsub's onPeerConnected does: queue the peer, in order, one at a time. */
	connect(peer: string, connection: Conn = { status: 'open' }): Promise<void> {
		const id = { toString: () => peer };
		this.peers.set(peer, true);
		this.#queue = this.#queue.then(() => this.createOutboundStream(id, connection));
		return this.#queue;
	}
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A patched gossipsub that records each move, and two connections of one peer: an old one and a newer one. */
function watchMoves() {
	const gossip = new FakeGossip();
	const moved: Array<{ status?: string }> = [];
	const unopened: string[] = [];
	openGossipStreamsConcurrently(gossip, {
		onMoved: (_peer, connection) => void moved.push(connection),
		onUnopened: (peer) => void unopened.push(peer.toString())
	});
	return { gossip, moved, unopened, old: { status: 'open' }, newer: { status: 'open' } };
}

describe('openGossipStreamsConcurrently', () => {
	it('opens a stream to a newcomer while an earlier peer does not answer', async () => {
		const gossip = new FakeGossip();
		const opener = openGossipStreamsConcurrently(gossip);
		gossip.stall('stalled');
		void gossip.connect('stalled');
		await gossip.connect('newcomer');
		expect(gossip.streamsOutbound.has('newcomer')).toBe(true);
		expect(opener.inFlight()).toBe(1);
		gossip.release('stalled');
		await turn();
		expect(opener.inFlight()).toBe(0);
	});

	it('shows the sequential queue it replaces would have held the newcomer', async () => {
		const gossip = new FakeGossip();
		gossip.stall('stalled');
		void gossip.connect('stalled');
		void gossip.connect('newcomer');
		await turn();
		expect(gossip.streamsOutbound.has('newcomer')).toBe(false);
		gossip.release('stalled');
		await turn();
		await turn();
		expect(gossip.streamsOutbound.has('newcomer')).toBe(true);
	});

	it('never opens two streams to one peer at once, and retries a request that came meanwhile if the first failed', async () => {
		const gossip = new FakeGossip();
		openGossipStreamsConcurrently(gossip);
		gossip.stall('peer');
		void gossip.connect('peer', { status: 'open' });
		void gossip.connect('peer', { status: 'open' }); // a second connection
		void gossip.connect('peer', { status: 'open' });
		await turn();
		expect(gossip.calls).toEqual(['peer']);
		gossip.release('peer', false); // the first connection closed before the peer answered
		await turn();
		expect(gossip.calls).toEqual(['peer', 'peer']);
		expect(gossip.streamsOutbound.has('peer')).toBe(true);
	});

	it('drops a waiting request once the first attempt opened the stream, or its connection closed', async () => {
		const gossip = new FakeGossip();
		openGossipStreamsConcurrently(gossip);
		gossip.stall('a');
		void gossip.connect('a');
		void gossip.connect('a');
		gossip.stall('b');
		void gossip.connect('b');
		void gossip.connect('b', { status: 'closed' });
		await turn();
		gossip.release('a', true);
		gossip.release('b', false);
		await turn();
		expect(gossip.calls).toEqual(['a', 'b']);
	});

	it('after a failed attempt, tries the latest request on a connection still open, not only the latest', async () => {
		const gossip = new FakeGossip();
		openGossipStreamsConcurrently(gossip);
		gossip.stall('peer');
		const first = { status: 'open' };
		const live = { status: 'open' };
		const closing = { status: 'open' };
		void gossip.connect('peer', first);
		void gossip.connect('peer', live);
		void gossip.connect('peer', closing);
		await turn();
		closing.status = 'closing';
		first.status = 'closed';
		gossip.release('peer', false);
		await turn();
		expect(gossip.calls).toEqual(['peer', 'peer']);
		expect(gossip.streamsOutbound.get('peer')?.connection).toBe(live);
	});

	it('tells of a peer whose stream could not be opened while its connection stays open, and of no other', async () => {
		const gossip = new FakeGossip();
		const unopened: string[] = [];
		openGossipStreamsConcurrently(gossip, { onUnopened: (peerId) => unopened.push(peerId.toString()) });
		for (const peer of ['silent', 'gone', 'retried', 'fine']) gossip.stall(peer);
		const gone = { status: 'open' };
		void gossip.connect('silent');
		void gossip.connect('gone', gone);
		void gossip.connect('retried');
		void gossip.connect('retried');
		void gossip.connect('fine');
		await turn();
		gone.status = 'closed';
		gossip.release('silent', false);
		gossip.release('gone', false);
		gossip.release('retried', false); // its second request then opens the stream
		gossip.release('fine', true);
		await turn();
		await turn();
		expect(unopened).toEqual(['silent']);
		expect(gossip.streamsOutbound.has('retried')).toBe(true);
	});

	it('tries a connection once, though gossipsub asks once per protocol the peer speaks', async () => {
		const gossip = new FakeGossip();
		const unopened: string[] = [];
		openGossipStreamsConcurrently(gossip, { onUnopened: (peerId) => unopened.push(peerId.toString()) });
		gossip.stall('peer');
		const connection = { status: 'open' };
		for (let i = 0; i < 4; i++) void gossip.connect('peer', connection); // meshsub 1.2, 1.1, 1.0, floodsub
		await turn();
		gossip.release('peer', false); // never answered: libp2p gave up after 10 s
		await turn();
		expect(gossip.calls).toEqual(['peer']);
		expect(unopened).toEqual(['peer']);
	});

	it("moves a peer's stream to its newer connection when the stream on the older one closes", async () => {
		const { gossip, moved, old, newer } = watchMoves();
		await gossip.connect('phone', old);
		// A redial while the old connection lingers: gossipsub keeps its stream on the old one.
		await gossip.connect('phone', newer);
		expect(gossip.streamsOutbound.get('phone')?.connection).toBe(old);
		old.status = 'closed';
		gossip.closeStream('phone');
		await turn();
		expect(gossip.streamsOutbound.get('phone')?.connection).toBe(newer);
		expect(moved).toEqual([newer]);

		// The newer one's own stream closing (a reset on a live connection) is not a move: the relay's guard judges that.
		gossip.closeStream('phone');
		await turn();
		expect(gossip.streamsOutbound.has('phone')).toBe(false);
		expect(moved).toEqual([newer]);
	});

	it('moves nothing when the newer connection has closed too, or the stream closed with the only one', async () => {
		const { gossip, moved, old, newer } = watchMoves();
		await gossip.connect('left', old);
		await gossip.connect('left', newer);
		old.status = newer.status = 'closed';
		gossip.closeStream('left');
		await gossip.connect('alone');
		gossip.closeStream('alone');
		await turn();
		expect(moved).toEqual([]);
		expect(gossip.streamsOutbound.size).toBe(0);
	});

	it('moves nothing for a peer gossipsub dropped, and a stale close changes nothing', async () => {
		const { gossip, moved, unopened, old, newer } = watchMoves();
		await gossip.connect('dropped', { status: 'open' });
		await gossip.connect('dropped', { status: 'open' });
		// removePeer (its inbound stream failed): out of the peer list, its stream closed, a newer connection still open.
		gossip.peers.delete('dropped');
		gossip.closeStream('dropped');
		await turn();
		expect(moved).toEqual([]);
		expect(unopened).toEqual([]);

		// A stream on the same connection as the peer's latest ask is not moved to itself, and a later
		// ask there does not hide the newer one.
		await gossip.connect('phone', old);
		await gossip.connect('phone', newer);
		await gossip.connect('phone', old);
		old.status = 'closed';
		gossip.closeStream('phone');
		await turn();
		expect(moved).toEqual([newer]);
	});

	it('a newer connection that asked while the stream was being opened is where it moves', async () => {
		const { gossip, old, newer } = watchMoves();
		gossip.stall('phone');
		void gossip.connect('phone', old);
		void gossip.connect('phone', newer);
		await turn();
		gossip.release('phone', true, old);
		await turn();
		expect(gossip.streamsOutbound.get('phone')?.connection).toBe(old);
		old.status = 'closed';
		gossip.closeStream('phone');
		await turn();
		expect(gossip.streamsOutbound.get('phone')?.connection).toBe(newer);
	});

	it('refuses a pubsub without the shape it patches', () => {
		expect(() => openGossipStreamsConcurrently({})).toThrow(/createOutboundStream/);
	});
});
