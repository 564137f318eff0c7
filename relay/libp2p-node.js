// @ts-check
/**
 * The relay's libp2p node: WebSocket transport on a loopback port (the HTTP
 * front pipes public WebSocket upgrades to it), Noise, Yamux, identify, ping,
 * circuit relay v2 server (so browsers can reach each other to set up direct
 * WebRTC connections) and gossipsub (room messages in a star topology).
 *
 * Requires `Promise.withResolvers` (see polyfill.js) on Node 20.
 */
import { traceHopRequests } from './circuit-guard.js';
import { circuitRelayServer } from '@libp2p/circuit-relay-v2';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { ping } from '@libp2p/ping';
import { webSockets } from '@libp2p/websockets';
import { DIRECT_CONNECT_TICKS, FEDERATION_TAG, federatedPeers } from './federation.js';
import { yamux } from '@libp2p/yamux';
import { createLibp2p } from 'libp2p';
import { FEDERATED_OUTBOUND_BUFFER_MESSAGES, MAX_MESSAGES_PER_FRAME, MAX_SUBSCRIPTIONS_PER_FRAME, OUTBOUND_BUFFER_MESSAGES } from './config.js';
import { guardGossipStreams } from './gossip-streams.js';
import { sweepPeerStore } from './peer-store-sweep.js';
import { openGossipStreamsConcurrently } from '../src/lib/net/gossip-outbound.js';

/** @typedef {import('@libp2p/interface').PrivateKey} PrivateKey */
/** @typedef {import('@libp2p/gossipsub').GossipSub} GossipSub */
/** @typedef {import('@libp2p/circuit-relay-v2').CircuitRelayService} CircuitRelayService */
/** @typedef {import('libp2p').Libp2p<{ identify: unknown, ping: unknown, relay: CircuitRelayService, pubsub: GossipSub }>} RelayLibp2p */

/**
 * @typedef {object} RelayLimits
 * @property {number} maxReservations circuit relay reservations at once
 * @property {number} reservationTtl reservation lifetime, seconds
 * @property {number} circuitDataLimit bytes per relayed connection
 * @property {number} circuitDurationLimit lifetime of a relayed connection, seconds
 * @property {number} maxConnections libp2p connections at once
 * @property {number} maxGossipMessage largest gossipsub message accepted, bytes
 * @property {number} maxTopics topics the relay mirrors at once (a federated relay sends as many in one frame)
 */

/**
 * Internal listen address. Loopback only: the public side is the HTTP front,
 * which enforces per-IP limits that libp2p could not (it sees 127.0.0.1).
 */
export const INTERNAL_LISTEN_ADDR = '/ip4/127.0.0.1/tcp/0/ws';

/**
 * Concurrent relay hop streams per connection. A browser opens one to reserve
 * and one per outgoing relayed dial; 32 is generous and still bounded.
 */
const MAX_HOP_STREAMS_PER_CONNECTION = 32;

/**
 * Concurrent STOP streams to one destination, i.e. relayed dials arriving at
 * one browser at once (everyone joining a room dials its host). Matches the
 * libp2p client default `maxInboundStopStreams` of 300.
 */
const MAX_STOP_STREAMS_PER_CONNECTION = 300;

/**
 * Gossipsub mesh upper bound on the relay. Browsers connect only to the relay,
 * so every room member must stay in its mesh: at the default of 12 the relay
 * refuses further GRAFTs and the rest of a bigger room only gets messages by
 * lazy gossip, up to a heartbeat (1 s) later. 64 members per room is the
 * intended ceiling; beyond it latency degrades but nothing breaks.
 */
const MESH_DEGREE_HIGH = 64;

// How long a client's ping may take before its connection (and reservation) is dropped.
const PING_TIMEOUT_MS = 20_000;
const PING_INTERVAL_MS = 25_000;

/**
 * One gossipsub RPC may bundle several messages (answers to IWANT) and
 * control entries: four of the largest messages. Anything longer is cut
 * before it is decoded, instead of gossipsub's 4 MiB default.
 */
const RPC_MESSAGES_PER_FRAME = 4;

/** Topics the relay joins on its own besides the mirrored ones: the hallway (hallway.js). */
const PINNED_TOPICS = 1;

/**
 * gossipsub's limits on decoding one frame (RPC). The option replaces gossipsub's own
 * defaults as a whole, so the ones kept are written out (its defaultDecodeRpcLimits,
 * not exported).
 *
 * @param {RelayLimits} limits
 */
export function decodeRpcLimits(limits) {
	return {
		// A federated relay sends every topic it is on in one frame when it connects, and a
		// frame over a decode limit is dropped whole. Browsers are held to fewer after decoding
		// (gossip-limits.js: MAX_SUBSCRIPTIONS_PER_FRAME), which this never undercuts.
		maxSubscriptions: Math.max(limits.maxTopics, MAX_SUBSCRIPTIONS_PER_FRAME) + PINNED_TOPICS,
		maxMessages: MAX_MESSAGES_PER_FRAME,
		maxIhaveMessageIDs: 5000,
		maxIwantMessageIDs: 5000,
		maxControlMessages: 5000,
		maxIdontwantMessageIDs: 512,
		maxPeerInfos: 16
	};
}

/**
 * Bytes one gossip stream may queue for a peer that does not read it (config.js), by kind of peer.
 *
 * @param {RelayLimits} limits
 */
export function gossipStreamBounds(limits) {
	return {
		browser: OUTBOUND_BUFFER_MESSAGES * limits.maxGossipMessage,
		federated: FEDERATED_OUTBOUND_BUFFER_MESSAGES * limits.maxGossipMessage
	};
}

/**
 * Bytes any stream may queue, whatever its protocol: a backstop (gossip streams get their own,
 * smaller bound per peer). Never below --circuit-data-limit: a relayed circuit queues at most what
 * it may carry (its pipe waits for the reader to drain), and an honest one must never be cut.
 *
 * @param {RelayLimits} limits
 */
export function streamWriteBound(limits) {
	return Math.max(gossipStreamBounds(limits).browser, limits.circuitDataLimit);
}

/**
 * Creates and starts the relay's libp2p node.
 *
 * @param {{ privateKey: PrivateKey, announce: string[], limits: RelayLimits, federation?: ReturnType<typeof federatedPeers>,
 *   onHangUp?: (peer: string, reason: 'backlog' | 'lost' | 'unanswered' | 'superseded') => void, onKept?: (peer: string) => void,
 *   denyCircuit?: (source: import('@libp2p/interface').PeerId) => boolean }} options
 *   `announce`: public WebSocket multiaddrs without `/p2p/…`; `federation`: other relays (federation.js);
 *   `denyCircuit`: asked before each circuit a peer opens through the relay, after its destination's
 *   reservation is found (circuit-guard.js); true refuses it;
 *   `onHangUp`: told of each browser connection the relay closes because gossip with it broke, or
 *   because the browser opened a newer one and the older did not answer a ping (gossip-streams.js);
 *   `onKept`: told of an older connection that did answer (two live tabs with one identity)
 * @returns {Promise<{ node: RelayLibp2p, internalPort: number, gossipStreams: import('./gossip-streams.js').GossipStreams,
 *   peerStoreSweep: ReturnType<typeof sweepPeerStore> }>}
 *   `internalPort`: where the HTTP front pipes WebSocket upgrades; `gossipStreams` and `peerStoreSweep`: stop them before the node
 */
export async function createRelayNode({ privateKey, announce, limits, federation = federatedPeers([]), onHangUp = () => {}, onKept = () => {}, denyCircuit = () => false }) {
	const node = await createLibp2p({
		privateKey,
		start: false,
		addresses: {
			listen: [INTERNAL_LISTEN_ADDR],
			// Only these are advertised (identify, reservation vouchers): never the loopback port.
			announce
		},
		transports: [webSockets()],
		connectionEncrypters: [noise()],
		// yamux queues without bound by default (maxWriteBufferLength: Infinity) for a peer that reads
		// nothing. Gossip streams get their own bound, per peer (gossip-streams.js); this covers the rest.
		streamMuxers: [yamux({ streamOptions: { maxWriteBufferLength: streamWriteBound(limits) } })],
		// libp2p drops a connection whose ping takes over 5 s by default. A browser on a phone
		// that pauses the tab, or any busy machine, stalls longer: it lost its reservation, and
		// everyone dialing it through us failed with NO_RESERVATION. 20 s still clears dead peers.
		// The interval stays above the timeout: a second ping on a connection whose first is still
		// out is refused by the ping protocol (one stream at a time), and that too drops the connection.
		connectionMonitor: { pingInterval: PING_INTERVAL_MS, pingTimeout: { minTimeout: PING_TIMEOUT_MS } },
		// No gater that refuses private addresses: on a LAN or loopback, browsers
		// reach the relay over plain ws to private IPs, and that is intended. Only the
		// circuits peers open through the relay are judged (circuit-guard.js).
		connectionGater: { denyOutboundRelayedConnection: (source) => denyCircuit(source) },
		connectionManager: {
			maxConnections: limits.maxConnections,
			// Every inbound connection arrives from 127.0.0.1 through the pipe, so
			// these per-host limits would throttle all clients together (e.g. all
			// reconnecting after a restart). The HTTP front limits per real IP.
			inboundConnectionThreshold: limits.maxConnections,
			maxIncomingPendingConnections: limits.maxConnections
		},
		services: {
			identify: identify(),
			ping: ping(),
			relay: circuitRelayServer({
				maxInboundHopStreams: MAX_HOP_STREAMS_PER_CONNECTION,
				// The relay never dials through another relay.
				maxOutboundHopStreams: 1,
				maxOutboundStopStreams: MAX_STOP_STREAMS_PER_CONNECTION,
				reservations: {
					maxReservations: limits.maxReservations,
					reservationTtl: limits.reservationTtl * 1000,
					applyDefaultLimit: true,
					defaultDataLimit: BigInt(limits.circuitDataLimit),
					defaultDurationLimit: limits.circuitDurationLimit * 1000
				}
			}),
			pubsub: gossipsub({
				// Apps may publish before any other member has joined the room.
				allowPublishToZeroTopicPeers: true,
				maxInboundDataLength: limits.maxGossipMessage * RPC_MESSAGES_PER_FRAME,
				decodeRpcLimits: decodeRpcLimits(limits),
				// No maxOutboundBufferSize: gossipsub would set it on each outbound stream right after
				// the middleware of gossip-streams.js has set that peer's own bound, overwriting it.
				emitSelf: false,
				Dhi: MESH_DEGREE_HIGH,
				// Every peer reaches libp2p from 127.0.0.1 through the HTTP pipe (or
				// from the reverse proxy's address): the IP-colocation penalty would
				// push every browser past the eleventh below the gossip threshold.
				// Per-IP abuse is limited by the HTTP front instead.
				scoreParams: { IPColocationFactorWeight: 0 },
				directPeers: federation.directPeers,
				directConnectTicks: DIRECT_CONNECT_TICKS
			})
		}
	});

	/** @type {number | null} */
	let internalPort = null;
	node.addEventListener('transport:listening', (event) => {
		for (const addr of event.detail.getAddrs()) {
			const tcp = addr.getComponents().find((c) => c.name === 'tcp');
			if (tcp?.value) internalPort = Number(tcp.value);
		}
	});
	// Before start, when the relay server registers its hop handler: the gater's denyCircuit then knows
	// which stream and connection each request came on (circuit-guard.js).
	traceHopRequests(node.services.relay);
	// Before start, so that the streams of federated links opened at start are bounded too.
	const bounds = gossipStreamBounds(limits);
	const gossipStreams = guardGossipStreams({
		node,
		pubsub: node.services.pubsub,
		bound: bounds.browser,
		federatedBound: bounds.federated,
		isFederated: (peer) => federation.ids.has(peer),
		onHangUp,
		onKept
	});
	// gossipsub opens its stream to each new peer one at a time, each waiting up to 10 s for an answer:
	// a few peers that connect and answer nothing would hold every later peer's gossip for minutes.
	// One whose stream could not be opened at all (it never answered in 10 s) would hear nothing for as
	// long as it stays: gossipsub does not try again on the same connection. Hung up on, it redials.
	openGossipStreamsConcurrently(node.services.pubsub, {
		onUnopened: (_peerId, connection) => gossipStreams.hangUp(connection, 'unanswered')
	});
	try {
		await node.start();
		for (const { id } of federation.directPeers) await node.peerStore.merge(id, { tags: { [FEDERATION_TAG]: { value: 100 } } });
		if (internalPort === null) throw new Error(`libp2p did not report a port for ${INTERNAL_LISTEN_ADDR}`);
	} catch (err) {
		gossipStreams.stop();
		await Promise.resolve(node.stop()).catch(() => {});
		throw err;
	}
	// Browsers that left are forgotten: the peer store would keep each one's identify for ever.
	const peerStoreSweep = sweepPeerStore({ node, keep: (peer) => federation.ids.has(peer) });
	return { node: /** @type {RelayLibp2p} */ (/** @type {unknown} */ (node)), internalPort, gossipStreams, peerStoreSweep };
}
