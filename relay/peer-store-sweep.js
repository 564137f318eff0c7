// @ts-check
/**
 * Forgets the peers that have gone.
 *
 * libp2p's peer store (peer-store 12) keeps a record of every peer that ever
 * connected: its addresses, protocols and agent, as its identify said, in an
 * in-memory datastore on a relay. A record expires only when something reads
 * it, and nothing on a relay reads the records of browsers that left. So one
 * IP that connects with a fresh identity, identifies with ~8 KiB of padding
 * and hangs up, four times a second (the front's rate), grew the relay's
 * memory by hundreds of MB a day, for ever.
 *
 * A relay needs no record of a browser once its last connection has closed:
 * circuits and reservations need a live connection, and a browser that comes
 * back identifies again. So:
 *
 *  - a peer's record is deleted when its last connection closes
 *    (`peer:disconnect`);
 *  - every `sweepMs`, the records of peers with no connection are deleted too
 *    (an identify answered just as the connection closed writes its record
 *    after the delete);
 *  - the peers `keep` names (relays we federate with: their addresses and
 *    tags live in the store) and the relay itself are never deleted.
 */

/** @typedef {import('@libp2p/interface').PeerId} PeerId */

/**
 * The parts of a libp2p node used here.
 *
 * @typedef {object} SweptNode
 * @property {PeerId} peerId
 * @property {(type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void) => void} addEventListener
 * @property {(type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void) => void} removeEventListener
 * @property {(peer?: PeerId) => unknown[]} getConnections
 * @property {{ all: () => Promise<Array<{ id: PeerId }>>, delete: (peer: PeerId) => Promise<void> }} peerStore
 */

export const PEER_STORE_SWEEP_MS = 60_000;

/**
 * @param {{ node: SweptNode, keep: (peer: string) => boolean, sweepMs?: number, onError?: (err: unknown) => void }} options
 *   `keep`: peers whose records stay (federated relays)
 * @returns {{ sweep: () => Promise<number>, stop: () => void }} `sweep` deletes now and says how many
 */
export function sweepPeerStore({ node, keep, sweepMs = PEER_STORE_SWEEP_MS, onError = () => {} }) {
	const self = node.peerId.toString();
	/** @param {PeerId} peer */
	const gone = (peer) => {
		const id = peer.toString();
		return id !== self && !keep(id) && node.getConnections(peer).length === 0;
	};
	/** @param {CustomEvent<PeerId>} event */
	const onDisconnect = (event) => {
		if (gone(event.detail)) node.peerStore.delete(event.detail).catch(onError);
	};
	const sweep = async () => {
		let deleted = 0;
		for (const { id } of await node.peerStore.all()) {
			if (!gone(id)) continue;
			await node.peerStore.delete(id);
			deleted++;
		}
		return deleted;
	};
	node.addEventListener('peer:disconnect', onDisconnect);
	const timer = setInterval(() => void sweep().catch(onError), sweepMs);
	timer.unref?.();
	return {
		sweep,
		stop() {
			clearInterval(timer);
			node.removeEventListener('peer:disconnect', onDisconnect);
		}
	};
}
