// @ts-check
/**
 * gossipsub opens its outbound stream to each new peer one at a time.
 *
 * @libp2p/gossipsub (17.x) queues every connected peer's outbound stream in one sequential queue
 * (`outboundInflightQueue`, "This ensures that outbound stream creation happens sequentially"). Each
 * stream waits for the peer's protocol negotiation, up to libp2p's 10 s, with no signal of its own.
 * So one peer that connects and then does not answer (a modified client, or only a phone that locked
 * its screen) holds every peer that connects after it for 10 s: the relay, or a member, sends them
 * no gossip (no room messages, no presence) meanwhile. A few such connections from one address hold
 * the queue for minutes.
 *
 * `openGossipStreamsConcurrently` makes each peer's outbound stream open on its own: the queue
 * hands it over and goes on at once. Two attempts for the same peer never run together (gossipsub
 * asks once per protocol it speaks, and once per connection): requests that come while one is under
 * way are kept (one per other connection), and if gossipsub still has no stream to the peer when it ends
 * (its connection may have closed), the latest one on a connection still open runs next.
 *
 * It also moves a peer's stream to its newer connection. gossipsub keeps one outbound stream per
 * peer and, while it has one, ignores the asks that a second connection brings (the peer's new
 * inbound stream). A peer that redials while its old connection lingers (a phone that changed
 * networks: the old TCP connection stays up on this side until pings fail) kept its stream on the
 * dead connection, and when that closed at last, gossipsub opened none on the live one: the peer
 * heard nothing for as long as it stayed. Now, when a peer's stream closes while the latest
 * connection it was asked on is another one, still open, a stream opens there.
 *
 * Plain JavaScript so that the relay (relay/libp2p-node.js) and the app (libp2p-node.ts) use the
 * same code.
 */

/**
 * @typedef {{ toString(): string }} PeerIdLike
 * @typedef {{ status?: string }} ConnectionLike
 * @typedef {{
 *   createOutboundStream(peerId: PeerIdLike, connection: ConnectionLike): Promise<void>,
 *   streamsOutbound: Map<string, { rawStream?: ClosableStream } | unknown>,
 *   peers?: Map<string, unknown>
 * }} OutboundOpener
 * @typedef {{ addEventListener(type: 'close', listener: () => void, options?: { once?: boolean }): void }} ClosableStream
 */

/**
 * `onUnopened` is told of a peer whose stream could not be opened (it never answered, or gossipsub
 * dropped it meanwhile) while its connection stays open and no other request for it waits: gossipsub
 * will not try again on that connection, so gossip with the peer is over until it reconnects.
 *
 * `onMoved` is told of each stream opened again on a peer's newer connection (logs, tests).
 *
 * @param {unknown} pubsub a started or unstarted gossipsub instance
 * @param {{ onUnopened?: (peerId: PeerIdLike, connection: ConnectionLike) => void,
 *   onMoved?: (peerId: PeerIdLike, connection: ConnectionLike) => void }} [options]
 * @returns {{ inFlight: () => number }} how many outbound streams are being opened now (tests, metrics)
 */
export function openGossipStreamsConcurrently(pubsub, { onUnopened = () => {}, onMoved = () => {} } = {}) {
	const gossip = /** @type {OutboundOpener} */ (pubsub);
	if (typeof gossip?.createOutboundStream !== 'function' || !(gossip.streamsOutbound instanceof Map)) {
		throw new Error('gossipsub has no createOutboundStream or streamsOutbound: cannot open its streams concurrently');
	}
	const open = gossip.createOutboundStream.bind(gossip);
	/** The connection each peer's stream is being opened on. @type {Map<string, ConnectionLike>} */
	const opening = new Map();
	/** The requests that came while the peer's stream was being opened, one per connection, oldest first. @type {Map<string, Array<[PeerIdLike, ConnectionLike]>>} */
	const waiting = new Map();
	/** The latest other connection each peer with a stream was asked on. @type {Map<string, [PeerIdLike, ConnectionLike]>} */
	const latest = new Map();
	/** The connection each peer's current stream (opened here) is on. @type {Map<string, ConnectionLike>} */
	const streamOn = new Map();
	/** gossipsub still counts the peer (it drops one that disconnects, or whose inbound stream failed). @param {string} id */
	const known = (id) => !(gossip.peers instanceof Map) || gossip.peers.has(id);

	/**
	 * Watches the stream that an attempt on `connection` opened: when it closes while the peer's
	 * latest ask was on another connection that is still open, its stream opens there.
	 *
	 * @param {string} id @param {unknown} entry gossipsub's stream object @param {ConnectionLike} connection
	 */
	const watch = (id, entry, connection) => {
		const rawStream = /** @type {{ rawStream?: ClosableStream } | null} */ (entry)?.rawStream;
		if (rawStream == null || typeof rawStream.addEventListener !== 'function') return;
		streamOn.set(id, connection);
		rawStream.addEventListener(
			'close',
			() => {
				// gossipsub's own close listener, added first, has taken the stream off its map by now;
				// a stream that is no longer the peer's (another has opened, or is opening) changes nothing.
				if (gossip.streamsOutbound.has(id) || opening.has(id) || streamOn.get(id) !== connection) return;
				streamOn.delete(id);
				const next = latest.get(id);
				latest.delete(id);
				if (!next || !known(id)) return;
				const [peerId, newer] = next;
				if (newer === connection || newer.status !== 'open') return;
				onMoved(peerId, newer);
				start(peerId, newer);
			},
			{ once: true }
		);
	};

	/** @param {PeerIdLike} peerId @param {ConnectionLike} connection */
	const start = (peerId, connection) => {
		const id = peerId.toString();
		if (gossip.streamsOutbound.has(id)) {
			// gossipsub would not open a second stream; remember another connection in case this one closes.
			if (connection !== streamOn.get(id)) latest.set(id, [peerId, connection]);
			return;
		}
		if (opening.has(id)) {
			// gossipsub asks once per protocol the peer speaks: on the connection already being tried, that is no second try.
			if (opening.get(id) === connection) return;
			const queue = (waiting.get(id) ?? []).filter(([, c]) => c !== connection && c.status !== 'closed');
			queue.push([peerId, connection]);
			waiting.set(id, queue);
			return;
		}
		opening.set(id, connection);
		open(peerId, connection)
			.catch(() => {}) // gossipsub logs its own failures and never rejects; nothing to add
			.finally(() => {
				opening.delete(id);
				const queue = (waiting.get(id) ?? []).filter(([, c]) => c.status === 'open');
				waiting.delete(id);
				const opened = gossip.streamsOutbound.get(id);
				if (opened !== undefined) {
					watch(id, opened, connection);
					// A newer connection that asked meanwhile is where the stream goes if this one closes.
					const newest = queue.pop();
					if (newest) latest.set(id, newest);
					else if (latest.get(id)?.[1] === connection) latest.delete(id);
					return;
				}
				streamOn.delete(id);
				const next = queue.pop();
				if (!next) {
					latest.delete(id);
					if (connection.status === 'open') onUnopened(peerId, connection);
					return;
				}
				if (queue.length > 0) waiting.set(id, queue);
				start(...next);
			});
	};

	gossip.createOutboundStream = async (peerId, connection) => start(peerId, connection);
	return { inFlight: () => opening.size };
}
