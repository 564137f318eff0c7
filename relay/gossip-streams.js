// @ts-check
/**
 * The relay's gossip streams with each peer: a bound on what one may queue, and a hang-up when
 * gossip with a browser breaks while its connection stays up.
 *
 * gossipsub (17.x) writes to its outbound stream without heeding backpressure, and it never opens a
 * second one to a peer that stays connected (only on a new connection's identify, a new stream from
 * the peer, or every few heartbeats for a direct peer). When a stream is reset (past its bound, or by
 * the peer), the relay keeps the peer in its mesh and sends it nothing, and the browser's gossipsub
 * drops the relay (its read fails) and sends nothing either. The member neither hears nor is heard,
 * while the connection, its reservation and pings carry on. So:
 *
 *  - every gossip stream the relay opens gets `maxWriteBufferLength`: `bound` for a browser,
 *    `federatedBound` for a federated relay (set here, per peer, by a libp2p stream middleware that
 *    runs before gossipsub writes a byte; gossipsub's own `maxOutboundBufferSize` would overwrite it
 *    right after, so that option stays unset);
 *  - when a browser's gossip stream overflows, the relay closes the connection at once; when one of
 *    its gossip streams ends otherwise while the connection stays open, the relay waits `graceMs`
 *    (a closing connection's streams end first) and closes it unless gossipsub again has two working
 *    streams with the peer. The browser redials (0.5–1.5 s) and both sides rebuild.
 *  - a browser that opens a newer connection while an older one is open has usually lost the
 *    older (a phone that changed networks: the old TCP connection stays up here until pings fail,
 *    45 s at worst, and gossipsub keeps sending the peer's gossip into it). So the relay pings the
 *    older one on that very connection, and closes it if no answer comes within `probeMs`; the
 *    peer's stream then moves to the newer (src/lib/net/gossip-outbound.js). One that answers is
 *    kept: two tabs of one device, or two devices with one identity, are two live nodes with one
 *    PeerId, and closing either would have them take turns knocking each other off.
 *  - federated relays are never hung up on: gossipsub reopens a direct peer's stream itself.
 */

/** Longer than libp2p's 1 s connection close timeout: by then a closing connection is no longer 'open'. */
export const LOSS_GRACE_MS = 2_000;

/**
 * How long a browser's older connection has to answer a ping once it opens a newer one. A live tab
 * answers in well under a second, even loaded; a phone's lost network never does.
 */
export const PROBE_MS = 5_000;

/** libp2p's ping protocol: 32 bytes echoed back. */
const PING_PROTOCOL = '/ipfs/ping/1.0.0';
const PING_LENGTH = 32;

/**
 * Whether `connection` itself answers a ping within `ms` (libp2p's ping service picks a connection
 * of its own choosing, so this opens the stream on the one given).
 *
 * @param {any} connection a libp2p Connection
 * @param {number} ms
 * @returns {Promise<boolean>}
 */
export async function answersPing(connection, ms) {
	const signal = AbortSignal.timeout(ms);
	/** @type {any} */
	let stream = null;
	try {
		// Beside the connection monitor's own ping, if one is out (the ping service allows one outbound
		// stream per connection; the far end takes two inbound).
		stream = await connection.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true, maxOutboundStreams: 2 });
		const sent = crypto.getRandomValues(new Uint8Array(PING_LENGTH));
		const echoed = new Promise((resolve, reject) => {
			let received = 0;
			stream.addEventListener('message', (/** @type {{ data: { byteLength: number } }} */ event) => {
				received += event.data.byteLength;
				if (received >= PING_LENGTH) resolve(true);
			});
			stream.addEventListener('close', () => reject(new Error('ping stream closed')), { once: true });
			signal.addEventListener('abort', () => reject(signal.reason), { once: true });
		});
		stream.send(sent);
		return await echoed.then(() => true);
	} catch {
		return false;
	} finally {
		stream?.abort(new Error('ping done'));
	}
}

/**
 * The part of a libp2p stream the guard uses (a fake in unit tests).
 *
 * @typedef {object} GossipRawStream
 * @property {string} status 'open' until it closes, resets or aborts
 * @property {string} direction 'inbound' | 'outbound'
 * @property {string} remoteWriteStatus 'closed' once the peer has ended its side
 * @property {number | undefined} maxWriteBufferLength bytes it may queue; past it the stream aborts with a StreamBufferError
 * @property {number} writeBufferLength bytes queued now
 * @property {(type: 'close' | 'remoteCloseWrite', listener: (event: Event & { error?: Error }) => void, options?: { once?: boolean }) => void} addEventListener
 */

/**
 * The part of a libp2p connection the guard uses.
 *
 * @typedef {object} GossipConnection
 * @property {string} status 'open' | 'closing' | 'closed'
 * @property {{ toString(): string }} remotePeer
 * @property {() => Promise<void>} close
 * @property {(err: Error) => void} abort
 */

/**
 * The part of gossipsub the guard reads.
 *
 * @typedef {object} GuardedPubSub
 * @property {string[]} protocols
 * @property {Map<string, { rawStream: GossipRawStream }>} streamsOutbound
 * @property {Map<string, { rawStream: GossipRawStream }>} streamsInbound
 * @property {() => boolean} isStarted
 */

/**
 * A libp2p stream middleware: it must call `next` (or the stream never reaches its handler or caller).
 *
 * @typedef {(stream: any, connection: any, next: (stream: any, connection: any) => void) => void | Promise<void>} Middleware
 */

/**
 * @typedef {object} GossipStreams
 * @property {() => number} queuedBytes bytes queued now on the relay's gossip streams to peers that have not read them
 * @property {() => void} stop removes the middleware and pending checks; safe to call twice
 * @property {(connection: any, reason: 'unanswered') => void} hangUp closes a browser's connection
 *   whose gossip stream could not be opened (src/lib/net/gossip-outbound.js), as the guard closes its own
 */

/**
 * The part of the libp2p node the guard uses.
 *
 * @typedef {object} GuardedNode
 * @property {(protocol: string, middleware: Middleware[]) => void} use
 * @property {(protocol: string) => void} unuse
 * @property {(peer: any) => GossipConnection[]} getConnections
 * @property {(type: 'connection:open', listener: (event: CustomEvent<GossipConnection>) => void) => void} addEventListener
 * @property {(type: 'connection:open', listener: (event: CustomEvent<GossipConnection>) => void) => void} removeEventListener
 */

/**
 * @param {{ node: GuardedNode,
 *   pubsub: unknown, bound: number, federatedBound: number, isFederated: (peer: string) => boolean,
 *   onHangUp?: (peer: string, reason: 'backlog' | 'lost' | 'unanswered' | 'superseded') => void, graceMs?: number,
 *   onKept?: (peer: string) => void, answers?: (connection: GossipConnection) => Promise<boolean> }} options
 *   `bound`/`federatedBound`: bytes one outbound gossip stream may queue for a browser / a federated
 *   relay; `onHangUp` is told of each connection the guard closes and why: 'backlog' (the stream
 *   overflowed), 'lost' (a gossip stream ended and gossipsub did not replace it within `graceMs`) or
 *   'superseded' (the browser opened a newer connection, and the older did not answer a ping);
 *   `onKept` of an older connection that answered; `answers` pings one connection (answersPing)
 * @returns {GossipStreams}
 */
export function guardGossipStreams({
	node,
	pubsub,
	bound,
	federatedBound,
	isFederated,
	onHangUp = () => {},
	graceMs = LOSS_GRACE_MS,
	onKept = () => {},
	answers = (connection) => answersPing(connection, PROBE_MS)
}) {
	const gossip = /** @type {GuardedPubSub} */ (pubsub);
	if (!Array.isArray(gossip.protocols) || !(gossip.streamsOutbound instanceof Map) || !(gossip.streamsInbound instanceof Map)) {
		throw new Error('gossipsub has no protocols or stream maps: cannot guard its streams');
	}
	const protocols = [...gossip.protocols];
	let stopped = false;
	/** @type {Set<ReturnType<typeof setTimeout>>} */
	const timers = new Set();
	/** @type {Set<ReturnType<typeof setImmediate>>} */
	const immediates = new Set();
	/** @type {WeakSet<GossipConnection>} connections this guard has begun to close */
	const closing = new WeakSet();

	/** @param {GossipRawStream | undefined} stream */
	const working = (stream) => stream?.status === 'open' && stream.remoteWriteStatus !== 'closed';
	/** @param {string} key gossipsub has a working stream each way with the peer */
	const intact = (key) => working(gossip.streamsOutbound.get(key)?.rawStream) && working(gossip.streamsInbound.get(key)?.rawStream);

	/** @param {GossipConnection} connection @param {'backlog' | 'lost' | 'unanswered' | 'superseded'} reason */
	const hangUp = (connection, reason) => {
		if (stopped || connection.status !== 'open' || closing.has(connection) || !gossip.isStarted()) return;
		const key = connection.remotePeer.toString();
		if (isFederated(key)) return;
		if (reason === 'lost' && intact(key)) return;
		closing.add(connection);
		onHangUp(key, reason);
		connection.close().catch((err) => connection.abort(err instanceof Error ? err : new Error(String(err))));
	};

	/** @param {GossipRawStream} stream @param {GossipConnection} connection */
	const watch = (stream, connection) => {
		const key = connection.remotePeer.toString();
		if (stream.direction === 'outbound') stream.maxWriteBufferLength = isFederated(key) ? federatedBound : bound;
		/** @param {{ error?: Error }} event */
		const ended = (event) => {
			if (stopped || connection.status !== 'open') return;
			// An overflow is decided here and its buffer is already freed (abort): no reason to wait.
			if (stream.direction === 'outbound' && event?.error?.name === 'StreamBufferError') {
				const immediate = setImmediate(() => {
					immediates.delete(immediate);
					hangUp(connection, 'backlog');
				});
				immediates.add(immediate);
				return;
			}
			const timer = setTimeout(() => {
				timers.delete(timer);
				hangUp(connection, 'lost');
			}, graceMs);
			timer.unref?.();
			timers.add(timer);
		};
		stream.addEventListener('close', ended, { once: true });
		stream.addEventListener('remoteCloseWrite', ended, { once: true });
	};

	/**
	 * Runs middleware the way libp2p's Connection.runMiddlewareChain does: each in turn, the next
	 * once it has called `next`, rejecting if one throws or rejects.
	 *
	 * @param {Middleware[]} chain @param {unknown} stream @param {unknown} connection
	 * @returns {Promise<[unknown, unknown]>}
	 */
	const runChain = async (chain, stream, connection) => {
		for (const mw of chain) {
			await new Promise((resolve, reject) => {
				try {
					const result = mw(stream, connection, (s, c) => {
						stream = s;
						connection = c;
						resolve(undefined);
					});
					if (result instanceof Promise) result.catch(reject);
				} catch (err) {
					reject(err);
				}
			});
		}
		return [stream, connection];
	};

	/** Older connections being pinged now. @type {WeakSet<GossipConnection>} */
	const probing = new WeakSet();
	/** @param {CustomEvent<GossipConnection>} event */
	const onConnectionOpen = (event) => {
		const newer = event.detail;
		if (stopped || newer?.status !== 'open' || isFederated(newer.remotePeer.toString())) return;
		for (const older of node.getConnections(newer.remotePeer)) {
			if (older === newer || older.status !== 'open' || probing.has(older) || closing.has(older)) continue;
			probing.add(older);
			answers(older)
				.catch(() => false)
				.then((alive) => {
					probing.delete(older);
					if (alive) onKept(older.remotePeer.toString());
					else if (newer.status === 'open') hangUp(older, 'superseded');
				});
		}
	};
	node.addEventListener('connection:open', onConnectionOpen);

	for (const protocol of protocols) {
		/** @type {Middleware[]} */
		const chain = [];
		chain.push((stream, connection, next) => {
			// libp2p 3.3 appends the protocol's handler to the registered chain itself for every inbound
			// stream (connection.js onIncomingStream: getMiddleware(...).push(...); the open js-libp2p
			// PR #3534 fixes it), just before running it: left there, handlers pile up, each new inbound
			// stream is handed to gossipsub once per earlier one, and every outbound stream to gossipsub's
			// inbound handler too. So what was appended comes off at once (nothing else runs in between)
			// and runs for this stream alone. Where libp2p copies the chain instead, there is nothing to take off.
			const appended = chain.length > 1 ? chain.splice(1) : [];
			try {
				watch(stream, connection);
			} catch {
				// not a stream shape this guard knows: gossip goes on unguarded rather than not at all
			}
			if (appended.length === 0) return next(stream, connection);
			return runChain(appended, stream, connection).then(([s, c]) => next(s, c));
		});
		node.use(protocol, chain);
	}

	return {
		hangUp,
		queuedBytes: () => {
			let total = 0;
			for (const { rawStream } of gossip.streamsOutbound.values()) total += rawStream?.writeBufferLength ?? 0;
			return total;
		},
		stop() {
			if (stopped) return;
			stopped = true;
			for (const timer of timers) clearTimeout(timer);
			timers.clear();
			for (const immediate of immediates) clearImmediate(immediate);
			immediates.clear();
			for (const protocol of protocols) node.unuse(protocol);
			node.removeEventListener('connection:open', onConnectionOpen);
		}
	};
}
