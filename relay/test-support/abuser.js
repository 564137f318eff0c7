// @ts-check
/**
 * Test helper for abuse.spec.js, run as its own process: one abusive client
 * whose every WebSocket leaves from a given loopback address (default
 * 127.0.0.2), so the relay sees it as another IP than the honest clients in
 * the test process. It does one bounded abuse, prints one JSON line with what
 * happened, then holds its connections until its stdin closes and exits.
 *
 *     node abuser.js <relay multiaddr> reserve <n>     n peers each ask for a reservation
 *     node abuser.js <relay multiaddr> topics <n>      one peer subscribes to n junk stanza/ topics
 *     node abuser.js <relay multiaddr> flood <n> <bytes> <topic>   one peer publishes n messages
 *     node abuser.js <relay multiaddr> stall <n>       n peers connect, then leave every stream the relay
 *                                                      opens to them after identify unanswered
 *     node abuser.js <relay multiaddr> circuits <n> <peer id> <hold>   one peer asks for n circuits to the
 *                                                      peer, one after another; hold 1 keeps each granted one
 *                                                      open, 0 resets it at once
 */
import '../polyfill.js';
import { WebSocket as Ws } from 'ws';
import { hopConnect, hopReserve } from './hop-reserve.js';

const SOURCE = process.env.ABUSER_SOURCE_IP ?? '127.0.0.2';

// libp2p's WebSocket transport dials with the global WebSocket: make it leave from SOURCE.
/** @type {any} */ (globalThis).WebSocket = class extends Ws {
	/**
	 * @param {string} url
	 * @param {string | string[]} [protocols]
	 */
	constructor(url, protocols) {
		super(url, protocols, { localAddress: SOURCE });
	}
};

const { createLibp2p } = await import('libp2p');
const { webSockets } = await import('@libp2p/websockets');
const { noise } = await import('@libp2p/noise');
const { yamux } = await import('@libp2p/yamux');
const { identify } = await import('@libp2p/identify');
const { gossipsub } = await import('@libp2p/gossipsub');
const { multiaddr } = await import('@multiformats/multiaddr');
const { peerIdFromString } = await import('@libp2p/peer-id');

const [relayArg, mode, countArg, sizeArg, topicArg] = process.argv.slice(2);
const relayAddr = multiaddr(relayArg);
const count = Number(countArg);

const makePeer = () =>
	createLibp2p({
		transports: [webSockets()],
		connectionEncrypters: [noise()],
		streamMuxers: [yamux()],
		services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
	});

/** @type {Array<Awaited<ReturnType<typeof makePeer>>>} */
const peers = [];
/** @type {Record<string, unknown>} */
let result;
try {
	if (mode === 'reserve') {
		let ok = 0;
		let refused = 0;
		for (let i = 0; i < count; i++) {
			const peer = await makePeer();
			peers.push(peer);
			const status = await hopReserve(peer, relayAddr);
			if (status === 'OK') ok++;
			else if (status === 'RESERVATION_REFUSED') refused++;
			else throw new Error(`reservation answered ${status}`);
		}
		result = { ok, refused };
	} else if (mode === 'topics') {
		const peer = await makePeer();
		peers.push(peer);
		await peer.dial(relayAddr);
		// Once its gossip stream is open each subscription leaves in a frame of its own; before, all would
		// leave in one frame, which the relay cuts to MAX_SUBSCRIPTIONS_PER_FRAME (or drops whole, past
		// gossipsub's decode limit) before the mirror's caps are reached.
		const streams = /** @type {{ streamsOutbound: Map<string, unknown> }} */ (/** @type {unknown} */ (peer.services.pubsub)).streamsOutbound;
		const deadline = Date.now() + 10_000;
		while (streams.size === 0) {
			if (Date.now() > deadline) throw new Error('no gossip stream to the relay');
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		for (let i = 0; i < count; i++) peer.services.pubsub.subscribe(`stanza/junk/${i}`);
		result = { subscribed: count };
	} else if (mode === 'flood') {
		const peer = await makePeer();
		peers.push(peer);
		await peer.dial(relayAddr);
		peer.services.pubsub.subscribe(topicArg);
		// Publish only once the relay is known to carry the topic, or nothing would leave.
		const deadline = Date.now() + 10_000;
		while (peer.services.pubsub.getSubscribers(topicArg).length === 0) {
			if (Date.now() > deadline) throw new Error(`the relay never subscribed to ${topicArg}`);
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		const data = new Uint8Array(Number(sizeArg)).fill(7);
		const started = Date.now();
		for (let i = 0; i < count; i++) {
			data[0] = i & 0xff;
			data[1] = i >> 8;
			await peer.services.pubsub.publish(topicArg, data);
		}
		result = { sent: count, ms: Date.now() - started };
	} else if (mode === 'stall') {
		// Each peer answers the relay's identify (so the relay's gossipsub learns it speaks gossip and
		// queues a stream to it), then never answers the protocol negotiation of any stream the relay
		// opens after it: libp2p's own handler is taken off the peer's connections, so those streams sit
		// unread. Reported once the relay has identified every peer and opened at least one such stream.
		let swallowed = 0;
		/** @param {() => boolean} condition @param {string} what */
		const until = async (condition, what) => {
			const deadline = Date.now() + 10_000;
			while (!condition()) {
				if (Date.now() > deadline) throw new Error(what);
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
		};
		for (let i = 0; i < count; i++) {
			const peer = await makePeer();
			peers.push(peer);
			let identified = false;
			peer.use('/ipfs/id/1.0.0', (stream, connection, next) => {
				identified = true;
				next(stream, connection);
			});
			peer.addEventListener('connection:open', (event) => {
				const connection = /** @type {any} */ (event.detail);
				const muxer = connection.muxer;
				muxer.removeEventListener('stream', connection.onIncomingStream);
				muxer.addEventListener('stream', (/** @type {any} */ e) => {
					if (!identified) return connection.onIncomingStream(e);
					swallowed++;
				});
			});
			await peer.dial(relayAddr);
			await until(() => identified, 'the relay never identified the peer');
		}
		await until(() => swallowed > 0, 'the relay opened no stream after identify');
		result = { stalled: count, swallowed };
	} else if (mode === 'circuits') {
		const peer = await makePeer();
		peers.push(peer);
		const target = peerIdFromString(sizeArg);
		const hold = topicArg === '1';
		/** @type {Record<string, number>} status → how many */
		const statuses = {};
		for (let i = 0; i < count; i++) {
			const { status, stream } = await hopConnect(peer, relayAddr, target);
			statuses[status] = (statuses[status] ?? 0) + 1;
			if (status === 'OK' && !hold) stream.abort(new Error('done with it'));
		}
		result = statuses;
	} else {
		throw new Error(`unknown mode ${mode}`);
	}
	process.stdout.write(JSON.stringify(result) + '\n');
	// Hold every connection until told to go (stdin closes), so the test decides when it disconnects.
	process.stdin.resume();
	await new Promise((resolve) => process.stdin.once('end', resolve));
} catch (err) {
	process.stdout.write(JSON.stringify({ error: err instanceof Error ? `${err.name}: ${err.message}` : JSON.stringify(err) }) + '\n');
	process.exitCode = 1;
} finally {
	await Promise.all(peers.map((p) => p.stop()));
}
process.exit();
