// @ts-check
/**
 * Test helper for the end-to-end tests, run as its own process: a crowd of
 * strangers, Node libp2p peers that hold no room key, each of which opens a
 * direct WebRTC connection to one browser through the relay, as any client
 * of the relay can once it has seen the browser's PeerId (a relay's gossip
 * shows the PeerIds that publish on every topic it carries). Each runs
 * gossipsub, so its connection carries streams that libp2p's connection
 * pruner never closes: without a defence, the browser sits at its most
 * connections and refuses everyone else.
 *
 *     node stranger-crowd.js <relay multiaddr> <victim PeerId> <n>
 *
 * Its WebSockets to the relay leave from ten loopback addresses in turn
 * (127.0.0.10 to .19), a crowd from many hosts as a botnet would be: each
 * stays within the relay's limits for one address.
 *
 * Prints one JSON line once every dial has ended ({"opened", "failed",
 * "error", "peak"}: the most it held open at once), then one ({"open"}) each
 * time the number of its connections still open changes; holds them until
 * its stdin closes, then exits.
 */
import '../../relay/polyfill.js';
import { WebSocket as Ws } from 'ws';

const SOURCES = Array.from({ length: 10 }, (_, i) => `127.0.0.${10 + i}`);
let nextSource = 0;
// libp2p's WebSocket transport dials with the global WebSocket: each connection leaves from the next address.
/** @type {any} */ (globalThis).WebSocket = class extends Ws {
	/**
	 * @param {string} url
	 * @param {string | string[]} [protocols]
	 */
	constructor(url, protocols) {
		super(url, protocols, { localAddress: SOURCES[nextSource++ % SOURCES.length] });
	}
};

const { createLibp2p } = await import('libp2p');
const { webSockets } = await import('@libp2p/websockets');
const { webRTC } = await import('@libp2p/webrtc');
const { noise } = await import('@libp2p/noise');
const { yamux } = await import('@libp2p/yamux');
const { identify } = await import('@libp2p/identify');
const { circuitRelayTransport } = await import('@libp2p/circuit-relay-v2');
const { gossipsub } = await import('@libp2p/gossipsub');
const { multiaddr } = await import('@multiformats/multiaddr');

const [relayArg, victim, countArg] = process.argv.slice(2);
const target = multiaddr(`${relayArg}/p2p-circuit/webrtc/p2p/${victim}`);
const count = Number(countArg);
// A few at a time: the browser takes 10 pending inbound connections at once (libp2p's default).
const AT_ONCE = 6;
const DIAL_TIMEOUT_MS = 20_000;

/** @param {Record<string, unknown>} fields */
const report = (fields) => process.stdout.write(JSON.stringify(fields) + '\n');

const makePeer = () =>
	createLibp2p({
		transports: [webSockets(), webRTC(), circuitRelayTransport()],
		connectionEncrypters: [noise()],
		streamMuxers: [yamux()],
		connectionGater: { denyDialMultiaddr: () => false },
		services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
	});

/** @type {Array<Awaited<ReturnType<typeof makePeer>>>} */
const peers = [];
/** @type {import('@libp2p/interface').Connection[]} */
const connections = [];
let opened = 0;
let failed = 0;
let peak = 0;
/** @type {string | null} */
let error = null;

/** One stranger: its own PeerId, one direct connection to the victim. */
async function dialOne() {
	const peer = await makePeer();
	peers.push(peer);
	try {
		const connection = await peer.dial(target, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) });
		// The dial through the relay ends on the WebRTC connection; the relayed one it was signaled over goes.
		for (const c of peer.getConnections()) if (c !== connection) await c.close().catch(() => {});
		connections.push(connection);
		opened++;
		peak = Math.max(peak, connections.filter((c) => c.status === 'open').length);
	} catch (err) {
		failed++;
		error ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
		await peer.stop().catch(() => {});
	}
}

let next = 0;
await Promise.all(
	Array.from({ length: AT_ONCE }, async () => {
		while (next < count) {
			next++;
			await dialOne();
		}
	})
);
report({ opened, failed, error, peak });

let lastOpen = -1;
const tell = () => {
	const open = connections.filter((c) => c.status === 'open').length;
	if (open === lastOpen) return;
	lastOpen = open;
	report({ open });
};
tell();
const watch = setInterval(tell, 100);

process.stdin.resume();
process.stdin.on('end', async () => {
	clearInterval(watch);
	await Promise.all(peers.map((p) => p.stop().catch(() => {})));
	process.exit(0);
});
