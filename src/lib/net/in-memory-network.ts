/**
 * An in-memory peer network for unit tests: the parts of a libp2p node that
 * the room's code uses (connections and their events, dial, protocol streams,
 * addresses, and gossipsub's subscribe, publish and events), so that the
 * shipping TopicMeeting and RoomSession run many members in one process.
 *
 * - Topic: a message published reaches every other node subscribed to its
 *   topic, whoever it is connected to (as the relays' mirror makes it);
 *   subscribing tells the nodes connected to the subscriber
 *   (`subscription-change`), as gossipsub does.
 * - Connections: `dial` makes a direct one (a WebRTC address, as the browsers
 *   hold); `dialProtocol` to addresses makes a relayed one (a circuit address
 *   without /webrtc, which the room's code tells apart).
 * - Streams: real libp2p streams (`streamPair` from @libp2p/utils) between a
 *   dialer and the remote's handler for that protocol.
 * - `stop()`: the node goes away, its connections close on both sides.
 * - `relays = false`: every relay is gone. The topic then reaches only the
 *   subscribers linked to the publisher by direct connections (gossip over
 *   the room's own overlay), and no new connection can be made (a browser
 *   needs a relay to set up WebRTC).
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Connection, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { streamPair } from '@libp2p/utils';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { isDirectConnection } from './connection-kind';
import type { StanzaNode } from './libp2p-node';

const TEST_RELAY = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq';

/** Where a browser is reached: a WebRTC address through the relay (a direct connection once dialed). */
export const webrtcAddr = (peerId: string) => `/ip4/127.0.0.1/tcp/9/ws/p2p/${TEST_RELAY}/p2p-circuit/webrtc/p2p/${peerId}`;
/** The same browser through the relay's circuit only (a relayed, limited connection). */
export const circuitAddr = (peerId: string) => `/ip4/127.0.0.1/tcp/9/ws/p2p/${TEST_RELAY}/p2p-circuit/p2p/${peerId}`;

export interface InMemoryConnection {
	remotePeer: PeerId;
	remoteAddr: Multiaddr;
	status: 'open' | 'closed';
	/** Streams open on it: none kept (a stream pair to a handler lives apart from its connection here). */
	streams: { protocol?: string }[];
	/** When it opened (Date.now()), as libp2p's `timeline.open`. */
	timeline: { open: number };
	/** Closes it at both ends. */
	close(): Promise<void>;
	/** The same, at once (libp2p's abort). */
	abort(err?: Error): void;
}

type Handler = (stream: Stream, connection: Connection) => void | Promise<void>;

const STREAM_ADDR = multiaddr('/ip4/127.0.0.1/tcp/9');

export class InMemoryNetwork {
	readonly nodes = new Map<string, InMemoryNode>();
	/** Messages published, by anyone, on any topic. */
	published = 0;
	/** Every dial asked for, as "from→to". */
	readonly dials: string[] = [];
	/** Topic bytes each node received, by PeerId (bench:sim: control traffic per member). */
	readonly bytesIn = new Map<string, number>();
	/** Topic bytes received by all nodes together, by topic. */
	readonly bytesByTopic = new Map<string, number>();
	/** Whether the relays are up (see above). */
	relays = true;
	/**
	 * PeerIds whose next direct dial completes but leaves no connection, as when libp2p's connection
	 * closes as it opens (both ends dialing at once through the relay): one dial each.
	 */
	readonly loseNextDial = new Set<string>();
	/**
	 * PeerIds whose next direct dials (as many as the count) join a relayed dial to them already under way
	 * (a sync through the relay, say) and resolve with that relayed connection, as libp2p's dial queue
	 * does with two dials to one peer.
	 */
	readonly joinRelayedDials = new Map<string, number>();
	/**
	 * PeerIds whose next direct dial fails as libp2p's does when the connection it returns closed as
	 * it opened ("Remote closed connection during opening", a ConnectionClosedError): one dial each.
	 * (Set with joinRelayedDials too, the join comes first.)
	 */
	readonly closeNextDialOpening = new Set<string>();
	/** Each connection's end at the other node. */
	readonly otherEnd = new WeakMap<InMemoryConnection, InMemoryConnection>();

	/** A new node: a fresh identity, or `privateKey`'s (a member coming back). */
	async node(privateKey?: PrivateKey): Promise<InMemoryNode> {
		const node = new InMemoryNode(this, peerIdFromPrivateKey(privateKey ?? (await generateKeyPair('Ed25519'))));
		const before = this.nodes.get(node.id);
		if (before && !before.stopped) throw new Error(`node ${node.id} is already running`);
		this.nodes.set(node.id, node);
		return node;
	}

	/** A connection between `a` and `b`; returns `a`'s end. */
	connect(a: InMemoryNode, b: InMemoryNode, kind: 'direct' | 'relayed' = 'direct'): InMemoryConnection {
		const ends: [InMemoryNode, InMemoryConnection][] = [];
		// Closing one end closes this connection's other end, not every connection between the two.
		const closePair = () => {
			for (const [node, connection] of ends) this.#closeEnd(node, connection);
		};
		for (const [from, to] of [
			[a, b],
			[b, a]
		]) {
			const addr = kind === 'direct' ? webrtcAddr(to.id) : circuitAddr(to.id);
			const connection: InMemoryConnection = {
				remotePeer: to.peerId,
				remoteAddr: multiaddr(addr),
				status: 'open',
				streams: [],
				timeline: { open: Date.now() },
				close: async () => closePair(),
				abort: () => closePair()
			};
			ends.push([from, connection]);
		}
		this.otherEnd.set(ends[0][1], ends[1][1]);
		this.otherEnd.set(ends[1][1], ends[0][1]);
		// Open at both ends before either hears of it, as a libp2p connection is once upgraded: a stream
		// opened from the first end's 'connection:open' must reach the other end's handler, not find no
		// connection there (a returning member's sync on connecting failed that way, its first chance gone).
		for (const [from, connection] of ends) from.connections.push(connection);
		for (const [from, connection] of ends) from.dispatchEvent(new CustomEvent('connection:open', { detail: connection }));
		return ends[0][1];
	}

	/** Whether `connection` still leads to `remote` (not an end left open after the remote vanished). */
	#reaches(connection: InMemoryConnection, remote: InMemoryNode): boolean {
		const theirEnd = this.otherEnd.get(connection);
		return theirEnd !== undefined && remote.connections.includes(theirEnd);
	}

	#closeEnd(node: InMemoryNode, connection: InMemoryConnection): void {
		const at = node.connections.indexOf(connection);
		if (at < 0) return;
		connection.status = 'closed';
		node.connections.splice(at, 1);
		node.dispatchEvent(new CustomEvent('connection:close', { detail: connection }));
	}

	/** Closes every connection between `a` and `b`, on both sides. */
	disconnect(a: InMemoryNode, b: InMemoryNode): void {
		for (const [from, to] of [
			[a, b],
			[b, a]
		]) {
			for (const connection of from.connections.filter((c) => c.remotePeer.equals(to.peerId))) {
				connection.status = 'closed';
				from.connections.splice(from.connections.indexOf(connection), 1);
				from.dispatchEvent(new CustomEvent('connection:close', { detail: connection }));
			}
		}
	}

	publish(from: InMemoryNode, topic: string, data: Uint8Array): { recipients: PeerId[] } {
		this.published++;
		const recipients = this.relays ? this.#live().filter((n) => n !== from && n.topics.has(topic)) : this.#overlayFrom(from, topic);
		this.bytesByTopic.set(topic, (this.bytesByTopic.get(topic) ?? 0) + data.length * recipients.length);
		for (const n of recipients) {
			this.bytesIn.set(n.id, (this.bytesIn.get(n.id) ?? 0) + data.length);
			n.pubsub.dispatchEvent(new CustomEvent('message', { detail: { type: 'signed', topic, data, from: from.peerId } }));
		}
		return { recipients: recipients.map((n) => n.peerId) };
	}

	/** Gossipsub tells a subscription to the peers connected to the subscriber (the relays' mirror hides it from others). */
	subscriptionChanged(from: InMemoryNode, topic: string, subscribe: boolean): void {
		for (const n of this.#live()) {
			if (n === from || !n.topics.has(topic) || !n.connections.some((c) => c.status === 'open' && c.remotePeer.equals(from.peerId) && this.#reaches(c, from))) continue;
			n.pubsub.dispatchEvent(new CustomEvent('subscription-change', { detail: { peerId: from.peerId, subscriptions: [{ topic, subscribe }] } }));
		}
	}

	/** The subscribers reached from `from` hop by hop over open direct connections between subscribers. */
	#overlayFrom(from: InMemoryNode, topic: string): InMemoryNode[] {
		const reached = new Set([from]);
		for (const n of reached) {
			for (const c of n.connections) {
				const next = this.nodes.get(c.remotePeer.toString());
				if (c.status === 'open' && next && !next.stopped && next.topics.has(topic) && isDirectConnection(c.remoteAddr.toString()) && this.#reaches(c, next)) reached.add(next);
			}
		}
		reached.delete(from);
		return [...reached];
	}

	#live(): InMemoryNode[] {
		return [...this.nodes.values()].filter((n) => !n.stopped);
	}
}

export class InMemoryNode extends EventTarget {
	readonly id: string;
	readonly connections: InMemoryConnection[] = [];
	readonly topics = new Set<string>();
	readonly handlers = new Map<string, Handler>();
	stopped = false;
	readonly pubsub: EventTarget & {
		subscribe(topic: string): void;
		unsubscribe(topic: string): void;
		publish(topic: string, data: Uint8Array): Promise<{ recipients: PeerId[] }>;
	};

	constructor(
		readonly network: InMemoryNetwork,
		readonly peerId: PeerId
	) {
		super();
		this.id = peerId.toString();
		this.pubsub = Object.assign(new EventTarget(), {
			subscribe: (topic: string) => {
				if (this.topics.has(topic)) return;
				this.topics.add(topic);
				network.subscriptionChanged(this, topic, true);
			},
			unsubscribe: (topic: string) => {
				if (this.topics.delete(topic)) network.subscriptionChanged(this, topic, false);
			},
			publish: async (topic: string, data: Uint8Array) => {
				if (this.stopped) throw new Error('node stopped');
				return network.publish(this, topic, data);
			}
		});
	}

	/** This node as the code under test takes it. */
	get asNode(): StanzaNode {
		return this as unknown as StanzaNode;
	}

	get services() {
		return { pubsub: this.pubsub, identify: this.#identify };
	}

	/**
	 * libp2p's identify on one connection: answered while the node at its other
	 * end runs and holds this connection's other end; on a connection left open after
	 * its remote `vanish()`ed, it hangs until `signal` aborts, as a stream on a
	 * dead WebRTC connection does.
	 */
	readonly #identify = {
		identify: (connection: InMemoryConnection, options: { signal?: AbortSignal } = {}): Promise<void> => {
			const remote = this.network.nodes.get(connection.remotePeer.toString());
			const theirEnd = this.network.otherEnd.get(connection);
			const answers = connection.status === 'open' && remote && !remote.stopped && theirEnd !== undefined && remote.connections.includes(theirEnd);
			if (answers) return Promise.resolve();
			return new Promise((_, reject) => {
				const signal = options.signal;
				if (!signal) return;
				if (signal.aborted) reject(signal.reason);
				else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
			});
		}
	};

	getConnections(): InMemoryConnection[] {
		return this.connections;
	}

	getMultiaddrs(): Multiaddr[] {
		return [multiaddr(webrtcAddr(this.id))];
	}

	async handle(protocol: string, handler: Handler): Promise<void> {
		this.handlers.set(protocol, handler);
	}

	/** The connection the dial resolved with (libp2p's does too), or, lost as it opened, a closed one. */
	async dial(addrs: Multiaddr[] | Multiaddr): Promise<InMemoryConnection> {
		const list = Array.isArray(addrs) ? addrs : [addrs];
		const remote = this.#remoteAt(list);
		this.network.dials.push(`${this.id}→${remote.id}`);
		if (!this.network.relays) throw new Error('no relay to reach the peer through');
		const kind = list.some((a) => isDirectConnection(a.toString())) ? 'direct' : 'relayed';
		const joins = this.network.joinRelayedDials.get(remote.id) ?? 0;
		if (kind === 'direct' && joins > 0) {
			if (joins === 1) this.network.joinRelayedDials.delete(remote.id);
			else this.network.joinRelayedDials.set(remote.id, joins - 1);
			return this.network.connect(this, remote, 'relayed');
		}
		if (kind === 'direct' && this.network.closeNextDialOpening.delete(remote.id)) {
			throw Object.assign(new Error('Remote closed connection during opening'), { name: 'ConnectionClosedError' });
		}
		if (kind === 'direct' && this.network.loseNextDial.delete(remote.id)) {
			// Closed before either end heard of it.
			const lost: InMemoryConnection = {
				remotePeer: remote.peerId,
				remoteAddr: multiaddr(webrtcAddr(remote.id)),
				status: 'closed',
				streams: [],
				timeline: { open: Date.now() },
				close: async () => {},
				abort: () => {}
			};
			return lost;
		}
		return this.network.connect(this, remote, kind);
	}

	/** A stream to `peer`'s handler for `protocol`: over a connection we hold, or (addresses) a relayed one made for it. */
	async dialProtocol(peer: PeerId | Multiaddr[], protocol: string, options: { signal?: AbortSignal } = {}): Promise<Stream> {
		options.signal?.throwIfAborted();
		if (this.stopped) throw new Error('node stopped');
		let remote: InMemoryNode;
		if (Array.isArray(peer)) {
			remote = this.#remoteAt(peer);
			if (!this.#openTo(remote)) {
				if (!this.network.relays) throw new Error('no relay to reach the peer through');
				this.network.connect(this, remote, 'relayed');
			}
		} else {
			const found = this.network.nodes.get(peer.toString());
			if (!found || found.stopped || !this.#openTo(found) || !found.#openTo(this)) throw new Error(`no connection to ${peer.toString()}`);
			remote = found;
		}
		const handler = remote.handlers.get(protocol);
		if (!handler) throw new Error(`protocol selection failed: ${protocol}`);
		// Addresses given: streamPair's own count them as TCP ports from a process-wide counter, which passes
		// 65,535 after some 32,000 pairs (a room of 200 with audio gets there in seconds) and then throws.
		const [outbound, inbound] = await streamPair({ protocol, outboundConnection: { remoteAddr: STREAM_ADDR }, inboundConnection: { remoteAddr: STREAM_ADDR } });
		const theirs = remote.#openTo(this)!;
		Promise.resolve(handler(inbound, theirs as unknown as Connection)).catch(() => inbound.abort(new Error('handler failed')));
		return outbound;
	}

	/** Goes away: every connection closes on both sides, and the node hears and sends nothing more. */
	stop(): void {
		this.stopped = true;
		for (const c of [...this.connections]) {
			const remote = this.network.nodes.get(c.remotePeer.toString());
			if (remote) this.network.disconnect(this, remote);
		}
		this.topics.clear();
	}

	/**
	 * Goes away as a reloaded page can: its own side is gone, but the nodes it
	 * was connected to keep their connections to it open (the close never
	 * reached them) until they notice. Its identity may come back with `network.node(key)`.
	 */
	vanish(): void {
		this.stopped = true;
		this.connections.splice(0);
		this.topics.clear();
	}

	#openTo(remote: InMemoryNode): InMemoryConnection | undefined {
		return this.connections.find((c) => c.status === 'open' && c.remotePeer.equals(remote.peerId));
	}

	#remoteAt(addrs: Multiaddr[]): InMemoryNode {
		const to = addrs[0]
			?.getComponents()
			.findLast((c) => c.name === 'p2p')
			?.value;
		const remote = to === undefined ? undefined : this.network.nodes.get(to);
		if (!remote || remote.stopped) throw new Error(`no peer at ${addrs[0]?.toString()}`);
		return remote;
	}
}
