// @ts-check
/**
 * Federation: relays a community runs stay connected to each other, so that
 * room members on different relays meet, and a room outlives any one relay.
 *
 * Each relay lists others (`--federate`, on both sides), and federates too
 * with the relays those federate with (relay-exchange.js). They become
 * gossipsub *direct peers* (the gossipsub v1.1 mechanism made for this:
 * messages on a topic both subscribe to are always forwarded between them,
 * outside the mesh and its scoring, and gossipsub redials a direct peer that
 * went away every DIRECT_CONNECT_TICKS heartbeats). Each relay still
 * subscribes only to the topics its own clients are on (topic-mirror.js), and
 * ignores the subscriptions of the relays it federates with: otherwise two
 * relays would keep each other's topics alive after every client had left.
 * Their gossip passes the per-peer rate limits (a federated relay forwards
 * the traffic of all its clients, not one person's), never the size limit.
 *
 * A relay reached this way sees room topics and sealed messages only, as any
 * relay does: federation gives it nothing to read.
 */
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';

/** Heartbeats (1 s each) between redials of a federated relay that is not connected. */
export const DIRECT_CONNECT_TICKS = 5;

/** The connection manager's tag that keeps federation links from being pruned when the relay is full. */
export const FEDERATION_TAG = 'stanza-federation';

/**
 * @param {string[]} addrs multiaddrs ending in /p2p/<id> (config.js checked them)
 * @returns {{ directPeers: Array<{ id: import('@libp2p/interface').PeerId, addrs: import('@multiformats/multiaddr').Multiaddr[] }>, ids: Set<string>, addrs: string[] }}
 *   `ids` and `addrs` grow with the relays discovery learns (relay-exchange.js)
 */
export function federatedPeers(addrs) {
	/** @type {Map<string, import('@multiformats/multiaddr').Multiaddr[]>} */
	const byPeer = new Map();
	for (const addr of addrs) {
		const ma = multiaddr(addr);
		const id = ma.getComponents().findLast((c) => c.name === 'p2p')?.value;
		if (!id) throw new Error(`federated relay address without /p2p: ${addr}`);
		const list = byPeer.get(id) ?? [];
		list.push(ma);
		byPeer.set(id, list);
	}
	return {
		directPeers: [...byPeer].map(([id, list]) => ({ id: peerIdFromString(id), addrs: list })),
		ids: new Set(byPeer.keys()),
		addrs: [...addrs]
	};
}
