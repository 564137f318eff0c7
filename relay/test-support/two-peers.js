// @ts-check
/**
 * Test helper for cli.spec.js, run as its own process: two Node libp2p peers
 * that, like two browsers, connect only to the relay given as argv[2]. They
 * reserve a relay slot, exchange a gossipsub message (which only works if the
 * relay mirrors the topic) and open a relayed connection to each other. Each
 * step prints one JSON line; any failure exits 1.
 *
 * Needs a global WebSocket: on Node 20 run it with --experimental-websocket.
 */
import '../polyfill.js';

const { createLibp2p } = await import('libp2p');
const { webSockets } = await import('@libp2p/websockets');
const { noise } = await import('@libp2p/noise');
const { yamux } = await import('@libp2p/yamux');
const { identify } = await import('@libp2p/identify');
const { circuitRelayTransport } = await import('@libp2p/circuit-relay-v2');
const { gossipsub } = await import('@libp2p/gossipsub');
const { multiaddr } = await import('@multiformats/multiaddr');

const TOPIC = 'stanza/test-room/chat';
/** Polling interval while waiting for a reservation (libp2p's own event is debounced by 1 s). */
const POLL_MS = 20;
/** Gossip needs the relay to learn both subscriptions and graft both peers; republish until it arrives. */
const REPUBLISH_MS = 100;
/** Each step normally takes well under a second; fail clearly instead of hanging the test. */
const STEP_DEADLINE_MS = 10_000;

/** @param {string} step */
const deadline = (step) => {
	const ends = Date.now() + STEP_DEADLINE_MS;
	return () => {
		if (Date.now() > ends) throw new Error(`${step}: nothing after ${STEP_DEADLINE_MS} ms`);
	};
};

/** @param {Record<string, unknown>} fields */
const report = (fields) => process.stdout.write(JSON.stringify(fields) + '\n');

const relayAddr = multiaddr(process.argv[2]);

const makePeer = () =>
	createLibp2p({
		addresses: { listen: ['/p2p-circuit'] },
		transports: [webSockets(), circuitRelayTransport()],
		connectionEncrypters: [noise()],
		streamMuxers: [yamux()],
		services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
	});

/** @param {import('libp2p').Libp2p} peer */
async function circuitAddress(peer) {
	const check = deadline('reservation');
	for (;;) {
		check();
		const found = peer.getMultiaddrs().find((ma) => ma.toString().includes('/p2p-circuit'));
		if (found) return found;
		await new Promise((resolve) => setTimeout(resolve, POLL_MS));
	}
}

const a = await makePeer();
const b = await makePeer();
try {
	await a.dial(relayAddr);
	await b.dial(relayAddr);
	report({ step: 'dialed' });

	const [, bCircuit] = await Promise.all([circuitAddress(a), circuitAddress(b)]);
	report({ step: 'reserved', address: bCircuit.toString() });

	a.services.pubsub.subscribe(TOPIC);
	b.services.pubsub.subscribe(TOPIC);
	/** @type {string | null} */
	let received = null;
	b.services.pubsub.addEventListener('message', (event) => {
		received = new TextDecoder().decode(event.detail.data);
	});
	const check = deadline('gossip');
	while (received === null) {
		check();
		await a.services.pubsub.publish(TOPIC, new TextEncoder().encode('hello via relay'));
		await new Promise((resolve) => setTimeout(resolve, REPUBLISH_MS));
	}
	report({ step: 'gossip', received });

	const relayed = await a.dial(bCircuit);
	report({
		step: 'relayed',
		remoteAddr: relayed.remoteAddr.toString(),
		limitBytes: relayed.limits?.bytes?.toString() ?? null
	});
} finally {
	await Promise.all([a.stop(), b.stop()]);
}
process.exit(0);
