// @ts-check
/**
 * Keeps circuit relay reservations for peers that are actually there.
 *
 * libp2p's relay server (circuit-relay-v2 4.2) keeps a reservation for its
 * whole TTL (2 h by default) after the holder has gone, and has no option to
 * drop it on disconnect: connecting, reserving and leaving 256 times used up
 * every slot for two hours. This guard
 *
 *  - releases a peer's reservation when its last connection closes
 *    (`peer:disconnect`), and stops the reservation's timer so it cannot later
 *    delete a fresh reservation of the same peer;
 *  - refuses a new reservation once the peers behind one client IP hold
 *    `maxPerIp` (the relay sees every connection from 127.0.0.1 through the
 *    HTTP front, so the front tells it which client IP a connection is);
 *  - counts the refusals, its own and the store's (`maxReservations` full).
 *
 * Per peer the store already holds at most one reservation (a second request
 * refreshes it), so one peer cannot take more than one slot.
 *
 * It wraps the server's reservation store in place: the store is not part of
 * the package's typed API, so its shape is checked at start and the relay
 * refuses to start, rather than run unguarded, if a release changes it.
 */

/** @typedef {import('@libp2p/interface').PeerId} PeerId */
/** @typedef {import('@multiformats/multiaddr').Multiaddr} Multiaddr */

/** circuit-relay-v2's protobuf status for a refused reservation (spec: RESERVATION_REFUSED = 200). */
const RESERVATION_REFUSED = 'RESERVATION_REFUSED';
const OK = 'OK';

/**
 * The parts of circuit-relay-v2's ReservationStore used here.
 *
 * @typedef {object} ReservationStore
 * @property {(peer: PeerId, addr: Multiaddr, limit?: unknown) => { status: string, expire?: number }} reserve
 * @property {(peer: PeerId) => void} removeReservation
 * @property {(peer: PeerId) => ({ signal: AbortSignal & { clear?: () => void } } | undefined)} get
 */

/**
 * @typedef {object} GuardNetwork
 * @property {(type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void) => void} addEventListener
 * @property {(type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void) => void} removeEventListener
 */

/**
 * @param {{ store: unknown, network: GuardNetwork, ipOf: (addr: Multiaddr) => string, maxPerIp: number,
 *   refuse: (limit: 'reservations' | 'reservations_per_ip') => void }} options
 *   `ipOf`: the client IP behind a connection's remote address
 * @returns {{ perIp: (ip: string) => number, stop: () => void }}
 */
export function guardReservations({ store: untypedStore, network, ipOf, maxPerIp, refuse }) {
	const store = /** @type {ReservationStore} */ (untypedStore);
	if (typeof store?.reserve !== 'function' || typeof store.removeReservation !== 'function' || typeof store.get !== 'function') {
		throw new Error('circuit relay reservation store has an unknown shape: cannot guard reservations');
	}
	const original = store.reserve;
	/** @type {Map<string, string>} peer id → client IP of its reservation */
	const holders = new Map();
	/** @type {Map<string, number>} client IP → reservations held */
	const perIp = new Map();
	let stopped = false;

	/** @param {string} peer */
	const forget = (peer) => {
		const ip = holders.get(peer);
		if (ip === undefined) return;
		holders.delete(peer);
		const left = (perIp.get(ip) ?? 1) - 1;
		if (left > 0) perIp.set(ip, left);
		else perIp.delete(ip);
	};

	store.reserve = (peerId, addr, limit) => {
		const peer = peerId.toString();
		if (holders.has(peer)) return original.call(store, peerId, addr, limit); // a refresh
		const ip = ipOf(addr);
		if ((perIp.get(ip) ?? 0) >= maxPerIp) {
			refuse('reservations_per_ip');
			return { status: RESERVATION_REFUSED };
		}
		const result = original.call(store, peerId, addr, limit);
		if (result.status !== OK) {
			refuse('reservations');
			return result;
		}
		holders.set(peer, ip);
		perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
		// The store drops it when its TTL ends without a refresh: follow suit.
		store.get(peerId)?.signal.addEventListener('abort', () => forget(peer), { once: true });
		return result;
	};

	/** @param {CustomEvent<PeerId>} event */
	const onPeerDisconnect = (event) => {
		const peerId = event.detail;
		const reservation = store.get(peerId);
		if (reservation) {
			reservation.signal.clear?.();
			store.removeReservation(peerId);
		}
		forget(peerId.toString());
	};
	network.addEventListener('peer:disconnect', onPeerDisconnect);

	return {
		perIp: (ip) => perIp.get(ip) ?? 0,
		stop() {
			if (stopped) return;
			stopped = true;
			network.removeEventListener('peer:disconnect', onPeerDisconnect);
			store.reserve = original;
		}
	};
}
