// @ts-check
/**
 * Starts and stops a whole relay: identity, HTTP front, libp2p node, topic
 * mirror. The order matters: the HTTP server binds first so that `--port 0`
 * resolves to a real port before the announce addresses are built from it.
 */
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { createHttpServer } from './http-server.js';
import { loadOrCreateKey } from './key.js';
import { createRelayNode } from './libp2p-node.js';
import { startTopicMirror } from './topic-mirror.js';

/** @typedef {import('./config.js').RelayConfig} RelayConfig */
/** @typedef {import('./log.js').Logger} Logger */

/**
 * @typedef {object} RunningRelay
 * @property {string} peerId
 * @property {string} httpUrl the app's URL on this machine (loopback when bound to all interfaces)
 * @property {string[]} appUrls every URL the app is reachable at: loopback first, then LAN addresses
 * @property {number} port the bound HTTP port
 * @property {string[]} multiaddrs advertised libp2p addresses, each ending in `/p2p/<peerId>`
 * @property {boolean} keyCreated true when this start created the key file (a new identity)
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

	const http = createHttpServer({
		host: config.host,
		port: config.port,
		staticDir: config.staticDir,
		maxConnections: config.maxConnections,
		maxConnectionsPerIp: config.maxConnectionsPerIp,
		trustProxy: config.trustProxy,
		log
	});
	const port = await http.listen();

	/** @type {Awaited<ReturnType<typeof createRelayNode>>['node'] | null} */
	let node = null;
	/** @type {ReturnType<typeof startTopicMirror> | null} */
	let mirror = null;
	try {
		const hosts = reachableHosts(config.host);
		const announce = config.announce.length > 0 ? config.announce : hosts.map((h) => wsMultiaddr(h, port));
		const started = await createRelayNode({
			privateKey,
			announce,
			limits: {
				maxReservations: config.maxReservations,
				reservationTtl: config.reservationTtl,
				circuitDataLimit: config.circuitDataLimit,
				circuitDurationLimit: config.circuitDurationLimit,
				maxConnections: config.maxConnections
			}
		});
		node = started.node;
		mirror = startTopicMirror({
			pubsub: node.services.pubsub,
			network: node,
			maxTopics: config.maxTopics,
			log
		});
		http.setUpgradeTarget(started.internalPort);

		const multiaddrs = node.getMultiaddrs().map((ma) => ma.toString());
		http.setRelayInfo({ version: 1, peerId, multiaddrs });

		const appUrls = hosts.map((h) => `http://${isIP(h) === 6 ? `[${h}]` : h}:${port}/`);
		let stopping = /** @type {Promise<void> | null} */ (null);
		const runningNode = node;
		const runningMirror = mirror;
		return {
			peerId,
			httpUrl: appUrls[0],
			appUrls,
			port,
			multiaddrs,
			keyCreated: created,
			stop() {
				stopping ??= (async () => {
					runningMirror.stop();
					await http.close();
					await runningNode.stop();
				})();
				return stopping;
			}
		};
	} catch (err) {
		mirror?.stop();
		await http.close();
		await Promise.resolve(node?.stop()).catch(() => {});
		throw err;
	}
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
