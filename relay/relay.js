// @ts-check
/**
 * Starts and stops a whole relay: identity, HTTP front, libp2p node, topic
 * mirror. The order matters: the HTTP server binds first so that `--port 0`
 * resolves to a real port before the announce addresses are built from it.
 */
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { createGoodbyePost, GOODBYE_PER_IP_RATE, GOODBYE_TOTAL_RATE } from './goodbye.js';
import { createHttpServer } from './http-server.js';
import { loadOrCreateKey } from './key.js';
import { createRelayNode } from './libp2p-node.js';
import { startTopicMirror } from './topic-mirror.js';
import { federatedPeers } from './federation.js';
import { startRelayExchange } from './relay-exchange.js';
import { CIRCUIT_BURST_SECONDS, MAX_FEDERATED, OUTBOUND_BUFFER_MESSAGES, TOPIC_GRACE_MS } from './config.js';
import { RELAY_V2_STOP_CODEC } from '@libp2p/circuit-relay-v2';
import { limitGossip } from './gossip-limits.js';
import { HALLWAY_TOPIC, RELAY_SOURCE_PREFIX, startHallway } from './hallway.js';
import { createMetrics, RateMeter } from './metrics.js';
import { startMetricsServer } from './metrics-server.js';
import { guardReservations } from './reservation-guard.js';
import { guardCircuits } from './circuit-guard.js';
import { refusalWarner } from './log.js';

/** @typedef {import('./config.js').RelayConfig} RelayConfig */
/** @typedef {import('./log.js').Logger} Logger */

const GOSSIP_STREAMS_LOST_HELP = 'connections closed because a gossip stream ended while they stayed up (gossipsub would not reopen it; the peer redials)';
const CONNECTIONS_SUPERSEDED_HELP = 'older connections of a browser closed when it opened a newer one and the older answered no ping (its old network is gone; its gossip moves to the newer)';
const CONNECTIONS_KEPT_HELP = 'older connections of a browser kept when it opened a newer one, because the older answered a ping (two live tabs or devices with one identity)';

/**
 * @typedef {object} RunningRelay
 * @property {string} peerId
 * @property {string} httpUrl the app's URL on this machine (loopback when bound to all interfaces)
 * @property {string[]} appUrls every URL the app is reachable at: loopback first, then LAN addresses
 * @property {number} port the bound HTTP port
 * @property {string[]} multiaddrs advertised libp2p addresses, each ending in `/p2p/<peerId>`
 * @property {boolean} keyCreated true when this start created the key file (a new identity)
 * @property {string | null} metricsUrl the Prometheus endpoint, null unless --metrics-port was given
 * @property {import('./metrics.js').Metrics} metrics the relay's counters (embedding, tests)
 * @property {() => Promise<void>} stop closes HTTP, piped sockets and libp2p; safe to call twice
 */

/**
 * @param {RelayConfig} config
 * @param {{ log: Logger }} deps
 * @returns {Promise<RunningRelay>}
 */
export async function startRelay(config, { log }) {
	const { privateKey, created } = await loadOrCreateKey(config.keyFile);
	const peerId = peerIdFromPrivateKey(privateKey).toString();
	const metrics = createMetrics();

	const http = createHttpServer({
		host: config.host,
		port: config.port,
		staticDir: config.staticDir,
		maxConnections: config.maxConnections,
		maxConnectionsPerIp: config.maxConnectionsPerIp,
		connectionRate: config.connectionRate,
		trustProxy: config.trustProxy,
		maxSocketsPerIp: config.maxSocketsPerIp,
		maxPendingPerIp: config.maxPendingPerIp,
		headersTimeout: config.headersTimeout,
		requestTimeout: config.requestTimeout,
		idleTimeout: config.idleTimeout,
		maxWsFrame: config.maxWsFrame,
		metrics,
		log
	});
	const port = await http.listen();

	/** @type {Awaited<ReturnType<typeof createRelayNode>>['node'] | null} */
	let node = null;
	/** @type {ReturnType<typeof startTopicMirror> | null} */
	let mirror = null;
	/** @type {Array<{ stop: () => void }>} guards and limits, stopped before libp2p */
	const stoppers = [];
	/** @type {Awaited<ReturnType<typeof startMetricsServer>> | null} */
	let metricsServer = null;
	try {
		const hosts = reachableHosts(config.host);
		const announce = config.announce.length > 0 ? config.announce : hosts.map((h) => wsMultiaddr(h, port));
		const federation = federatedPeers(config.federate);
		const warn = refusalWarner(log);
		metrics.count('gossip_streams_lost_total', GOSSIP_STREAMS_LOST_HELP, 0);
		metrics.count('connections_superseded_total', CONNECTIONS_SUPERSEDED_HELP, 0);
		metrics.count('connections_kept_total', CONNECTIONS_KEPT_HELP, 0);
		/** @type {ReturnType<typeof guardCircuits> | null} made once the node exists; none is relayed before */
		let circuits = null;
		const started = await createRelayNode({
			privateKey,
			denyCircuit: (source) => circuits?.deny(source) ?? true,
			announce,
			limits: {
				maxReservations: config.maxReservations,
				reservationTtl: config.reservationTtl,
				circuitDataLimit: config.circuitDataLimit,
				circuitDurationLimit: config.circuitDurationLimit,
				maxConnections: config.maxConnections,
				maxGossipMessage: config.maxGossipMessage,
				maxTopics: config.maxTopics
			},
			federation,
			onKept() {
				metrics.count('connections_kept_total', CONNECTIONS_KEPT_HELP);
			},
			onHangUp(peer, reason) {
				if (reason === 'backlog') {
					metrics.refuse('gossip_backlog');
					warn('gossip_backlog', `hung up on ${peer}: it left more than ${OUTBOUND_BUFFER_MESSAGES} of the largest gossip messages unread; it redials`);
				} else if (reason === 'unanswered') {
					metrics.refuse('gossip_unanswered');
					warn('gossip_unanswered', `hung up on ${peer}: it did not answer the relay's gossip stream within 10 s; it redials`);
				} else if (reason === 'superseded') {
					// A phone that changed networks: normal, and as frequent as redials, so counted, not logged.
					metrics.count('connections_superseded_total', CONNECTIONS_SUPERSEDED_HELP);
				} else {
					metrics.count('gossip_streams_lost_total', GOSSIP_STREAMS_LOST_HELP);
					warn('gossip_streams_lost', `hung up on ${peer}: its gossip stream ended while its connection stayed up (gossipsub would not reopen it); it redials`);
				}
			}
		});
		stoppers.push(started.gossipStreams, started.peerStoreSweep);
		node = started.node;
		const running = node;
		const isFederated = (/** @type {string} */ peer) => federation.ids.has(peer);
		circuits = guardCircuits({
			ipOf: (addr) => clientIpOf(addr, http),
			maxPerIp: config.maxCircuitsPerIp,
			rate: config.circuitRate,
			burstSeconds: CIRCUIT_BURST_SECONDS,
			exempt: isFederated,
			refuse(limit, ip) {
				metrics.refuse(limit);
				warn(limit, limit === 'circuits_per_ip'
					? `relayed connection refused: the peers behind ${ip} hold --max-circuits-per-ip (${config.maxCircuitsPerIp}) open`
					: `relayed connection refused: the peers behind ${ip} opened more than --circuit-rate (${config.circuitRate}) a second`);
			}
		});
		mirror = startTopicMirror({
			pubsub: node.services.pubsub,
			network: node,
			maxTopics: config.maxTopics,
			maxTopicsPerPeer: config.maxTopicsPerPeer,
			maxTopicsPerIp: config.maxTopicsPerIp,
			ipOf: (peer) => {
				const connection = running.getConnections(peer)[0];
				return connection ? clientIpOf(connection.remoteAddr, http) : 'gone';
			},
			log,
			refuse: metrics.refuse,
			ignore: isFederated,
			pinned: new Set([HALLWAY_TOPIC])
		});
		const hallway = startHallway({
			pubsub: /** @type {import('./hallway.js').HallwayPubSub} */ (/** @type {unknown} */ (node.services.pubsub)),
			maxRooms: config.maxHallwayRooms,
			refuse: metrics.refuse,
			sourceOf: (peer) => {
				if (isFederated(peer.toString())) return `${RELAY_SOURCE_PREFIX}${peer}`;
				const connection = running.getConnections(peer)[0];
				return connection ? clientIpOf(connection.remoteAddr, http) : 'gone';
			}
		});
		stoppers.push(hallway);
		metrics.gauge('hallway_rooms', 'public rooms in the hallway list', () => hallway.cache.size);
		stoppers.push(
			guardReservations({
				store: /** @type {{ reservationStore?: unknown }} */ (node.services.relay).reservationStore,
				network: node,
				ipOf: (addr) => clientIpOf(addr, http),
				maxPerIp: config.maxReservationsPerIp,
				refuse: metrics.refuse
			})
		);
		const messageRate = new RateMeter();
		const byteRate = new RateMeter();
		stoppers.push(
			limitGossip({
				pubsub: node.services.pubsub,
				network: node,
				maxMessageBytes: config.maxGossipMessage,
				messageRate: config.gossipRate,
				byteRate: config.gossipByteRate,
				ipOf: (peer) => {
					const connection = running.getConnections(peer)[0];
					return connection ? clientIpOf(connection.remoteAddr, http) : null;
				},
				ipMessageRate: config.gossipRatePerIp,
				ipByteRate: config.gossipByteRatePerIp,
				refuse(limit, ip) {
					metrics.refuse(limit);
					if (limit === 'gossip_ip_rate') {
						warn(limit, `gossip dropped: the peers behind ${ip} sent more than --gossip-rate-per-ip (${config.gossipRatePerIp}/s) or --gossip-byte-rate-per-ip (${config.gossipByteRatePerIp} bytes/s) together`);
					}
				},
				unmetered: isFederated,
				accepted(bytes) {
					const now = Date.now();
					messageRate.record(1, now);
					byteRate.record(bytes, now);
					metrics.count('gossip_messages_total', 'gossip messages accepted for forwarding');
					metrics.count('gossip_bytes_total', 'payload bytes of gossip messages accepted for forwarding', bytes);
				}
			})
		);
		registerGauges(metrics, { http, node, mirror, messageRate, byteRate, gossipStreams: started.gossipStreams });
		if (config.metricsPort !== null) {
			metricsServer = await startMetricsServer({ host: config.metricsHost, port: config.metricsPort, metrics });
		}
		http.setUpgradeTarget(started.internalPort);
		http.setHallwaySource(hallway.json);
		const pubsub = node.services.pubsub;
		const carried = mirror;
		http.setGoodbyeTarget(
			createGoodbyePost({
				publish: (topic, data) => pubsub.publish(topic, data),
				carries: (topic) => carried.topics().includes(topic),
				perIpRate: GOODBYE_PER_IP_RATE,
				totalRate: GOODBYE_TOTAL_RATE,
				refuse: metrics.refuse
			}).post
		);

		const multiaddrs = node.getMultiaddrs().map((ma) => ma.toString());
		// Browsers that know the relays this one federates with keep a second relay and outlast the loss of this one.
		const tellBrowsers = () => {
			const shared = config.privateFederation || federation.addrs.length === 0 ? {} : { federation: [...federation.addrs] };
			http.setRelayInfo({ version: 1, peerId, multiaddrs, ...shared });
		};
		tellBrowsers();
		metrics.gauge('federated_relays', 'relays federated with, listed or discovered', () => federation.ids.size);
		if (!config.noRelayDiscovery && config.federate.length > 0) {
			stoppers.push(
				await startRelayExchange({
					node: /** @type {import('./relay-exchange.js').ExchangeNode} */ (/** @type {unknown} */ (node)),
					federation,
					direct: /** @type {{ direct: Set<string> }} */ (/** @type {unknown} */ (node.services.pubsub)).direct,
					maxRelays: MAX_FEDERATED,
					log,
					onLearned: tellBrowsers
				})
			);
		}

		const appUrls = hosts.map((h) => `http://${isIP(h) === 6 ? `[${h}]` : h}:${port}/`);
		let stopping = /** @type {Promise<void> | null} */ (null);
		const runningNode = node;
		const runningMirror = mirror;
		const runningMetricsServer = metricsServer;
		return {
			peerId,
			httpUrl: appUrls[0],
			appUrls,
			port,
			multiaddrs,
			keyCreated: created,
			metricsUrl: runningMetricsServer?.url ?? null,
			metrics,
			stop() {
				stopping ??= (async () => {
					runningMirror.stop();
					for (const s of stoppers) s.stop();
					await runningMetricsServer?.close();
					await http.close();
					await runningNode.stop();
				})();
				return stopping;
			}
		};
	} catch (err) {
		mirror?.stop();
		for (const s of stoppers) s.stop();
		await metricsServer?.close();
		await http.close();
		await Promise.resolve(node?.stop()).catch(() => {});
		throw err;
	}
}

/**
 * The client IP behind a libp2p connection: every one arrives through the
 * HTTP front's pipe from a loopback port the front remembers. A process on
 * this machine that dials libp2p's loopback port directly is 'local'.
 *
 * @param {import('@multiformats/multiaddr').Multiaddr} addr the connection's remote address
 * @param {{ ipOfUpstreamPort: (port: number) => string | null }} http
 */
function clientIpOf(addr, http) {
	const tcp = addr.getComponents().find((c) => c.name === 'tcp');
	return (tcp?.value ? http.ipOfUpstreamPort(Number(tcp.value)) : null) ?? 'local';
}

/**
 * The gauges of the metrics page, read when it is rendered.
 *
 * @param {import('./metrics.js').Metrics} metrics
 * @param {{ http: ReturnType<typeof createHttpServer>, node: Awaited<ReturnType<typeof createRelayNode>>['node'],
 *   mirror: ReturnType<typeof startTopicMirror>, messageRate: RateMeter, byteRate: RateMeter,
 *   gossipStreams: import('./gossip-streams.js').GossipStreams }} parts
 */
function registerGauges(metrics, { http, node, mirror, messageRate, byteRate, gossipStreams }) {
	metrics.gauge('websocket_connections', 'WebSocket connections piped to libp2p', () => http.pipedConnections);
	metrics.gauge('tcp_connections', 'TCP connections to the public port, of any kind (0 behind --trust-proxy)', () => http.openSockets);
	metrics.gauge('libp2p_connections', 'libp2p connections', () => node.getConnections().length);
	metrics.gauge('reservations', 'circuit relay reservations held', () => node.services.relay.reservations.size);
	metrics.gauge('circuits', 'relayed connections open through this relay', () =>
		node.getConnections().reduce((n, c) => n + c.streams.filter((s) => s.protocol === RELAY_V2_STOP_CODEC).length, 0)
	);
	metrics.gauge('topics', 'gossipsub topics mirrored for connected peers', () => mirror.topics().length - mirror.inGrace().length);
	metrics.gauge('topics_in_grace', `gossipsub topics the relay stays on for ${TOPIC_GRACE_MS / 1000} s after their last peer left`, () => mirror.inGrace().length);
	metrics.gauge('gossip_messages_per_second', 'gossip messages accepted per second, last 10 s', () => messageRate.perSecond(Date.now()));
	metrics.gauge('gossip_bytes_per_second', 'gossip payload bytes accepted per second, last 10 s', () => byteRate.perSecond(Date.now()));
	metrics.gauge('gossip_queued_bytes', 'bytes queued on gossip streams to peers that have not read them yet', gossipStreams.queuedBytes);
	metrics.gauge('resident_memory_bytes', 'resident set size of the relay process', () => process.memoryUsage.rss());
	metrics.gauge('cpu_seconds', 'CPU time the relay process has used, user plus system', () => {
		const { user, system } = process.cpuUsage();
		return (user + system) / 1e6;
	});
}

/**
 * Addresses this relay can be reached at, loopback first. Bound to all
 * interfaces (0.0.0.0 or ::), that is 127.0.0.1 plus every non-internal IPv4
 * address; bound to one address, just that one.
 *
 * @param {string} host
 * @param {ReturnType<typeof networkInterfaces>} [interfaces]
 * @returns {string[]}
 */
export function reachableHosts(host, interfaces = networkInterfaces()) {
	if (host !== '0.0.0.0' && host !== '::') return [host];
	const hosts = ['127.0.0.1'];
	for (const entries of Object.values(interfaces)) {
		for (const entry of entries ?? []) {
			// `family` was the number 4 in Node 18.0-18.3; accept both spellings.
			const v4 = entry.family === 'IPv4' || /** @type {unknown} */ (entry.family) === 4;
			if (v4 && !entry.internal && !hosts.includes(entry.address)) hosts.push(entry.address);
		}
	}
	return hosts;
}

/**
 * @param {string} host IPv4 or IPv6 address
 * @param {number} port
 */
export function wsMultiaddr(host, port) {
	return `/${isIP(host) === 6 ? 'ip6' : 'ip4'}/${host}/tcp/${port}/ws`;
}
