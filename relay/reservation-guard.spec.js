// @ts-check
import { describe, expect, it } from 'vitest';
import { guardReservations } from './reservation-guard.js';

/** @param {string} id */
const peer = (id) => /** @type {import('@libp2p/interface').PeerId} */ (/** @type {unknown} */ ({ toString: () => id }));
/** @param {string} ip the fake address is just the client IP */
const addr = (ip) => /** @type {import('@multiformats/multiaddr').Multiaddr} */ (/** @type {unknown} */ ({ ip }));

/**
 * In-memory stand-in for circuit-relay-v2's ReservationStore: one entry per
 * peer, a global cap, an abort signal per reservation (its TTL).
 *
 * @param {number} max
 */
function fakeStore(max) {
	/** @type {Map<string, { signal: AbortSignal & { clear?: () => void }, controller: AbortController, cleared: boolean }>} */
	const reservations = new Map();
	return {
		reservations,
		/**
		 * @param {import('@libp2p/interface').PeerId} p
		 * @param {import('@multiformats/multiaddr').Multiaddr} a the real store keeps it; the fake has no use for it
		 */
		reserve(p, a) {
			void a;
			const key = p.toString();
			if (reservations.size >= max && !reservations.has(key)) return { status: 'RESERVATION_REFUSED' };
			if (!reservations.has(key)) {
				const controller = new AbortController();
				const entry = { signal: /** @type {AbortSignal & { clear?: () => void }} */ (controller.signal), controller, cleared: false };
				entry.signal.clear = () => void (entry.cleared = true);
				controller.signal.addEventListener('abort', () => reservations.delete(key));
				reservations.set(key, entry);
			}
			return { status: 'OK', expire: 1 };
		},
		/** @param {import('@libp2p/interface').PeerId} p */
		removeReservation: (p) => void reservations.delete(p.toString()),
		/** @param {import('@libp2p/interface').PeerId} p */
		get: (p) => reservations.get(p.toString())
	};
}

function setup({ max = 10, maxPerIp = 2 } = {}) {
	const store = fakeStore(max);
	const events = new EventTarget();
	const network = { addEventListener: events.addEventListener.bind(events), removeEventListener: events.removeEventListener.bind(events) };
	/** @type {string[]} */
	const refused = [];
	const guard = guardReservations({
		store,
		network: /** @type {import('./reservation-guard.js').GuardNetwork} */ (/** @type {unknown} */ (network)),
		ipOf: (a) => /** @type {{ ip: string }} */ (/** @type {unknown} */ (a)).ip,
		maxPerIp,
		refuse: (limit) => void refused.push(limit)
	});
	/** @param {string} id */
	const disconnect = (id) => events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer(id) }));
	return { store, guard, refused, disconnect };
}

describe('guardReservations', () => {
	it('caps reservations per client IP; a refresh is not a new one', () => {
		const { store, guard, refused } = setup();
		expect(store.reserve(peer('a'), addr('1.1.1.1')).status).toBe('OK');
		expect(store.reserve(peer('b'), addr('1.1.1.1')).status).toBe('OK');
		expect(store.reserve(peer('a'), addr('1.1.1.1')).status).toBe('OK');
		expect(store.reserve(peer('c'), addr('1.1.1.1')).status).toBe('RESERVATION_REFUSED');
		expect(store.reserve(peer('d'), addr('2.2.2.2')).status).toBe('OK');
		expect(guard.perIp('1.1.1.1')).toBe(2);
		expect(refused).toEqual(['reservations_per_ip']);
	});

	it('releases the reservation and the IP slot when the holder disconnects, and stops its timer', () => {
		const { store, guard, disconnect } = setup();
		store.reserve(peer('a'), addr('1.1.1.1'));
		const entry = store.get(peer('a'));
		disconnect('a');
		expect(store.reservations.size).toBe(0);
		expect(entry?.cleared).toBe(true);
		expect(guard.perIp('1.1.1.1')).toBe(0);
		disconnect('nobody'); // a peer without a reservation: nothing happens
	});

	it('frees the IP slot when a reservation expires, and counts the store refusing when full', () => {
		const { store, guard, refused } = setup({ max: 1 });
		store.reserve(peer('a'), addr('1.1.1.1'));
		expect(store.reserve(peer('b'), addr('2.2.2.2')).status).toBe('RESERVATION_REFUSED');
		expect(refused).toEqual(['reservations']);
		store.get(peer('a'))?.controller.abort();
		expect(guard.perIp('1.1.1.1')).toBe(0);
		expect(store.reserve(peer('b'), addr('2.2.2.2')).status).toBe('OK');
	});

	it('refuses to start on a store of unknown shape; stop() restores it and is safe twice', () => {
		expect(() => guardReservations({ store: {}, network: /** @type {any} */ ({}), ipOf: () => '', maxPerIp: 1, refuse: () => {} })).toThrow(/unknown shape/);
		const { store, guard, disconnect } = setup({ maxPerIp: 1 });
		guard.stop();
		guard.stop();
		store.reserve(peer('a'), addr('1.1.1.1'));
		expect(store.reserve(peer('b'), addr('1.1.1.1')).status).toBe('OK');
		disconnect('a');
		expect(store.reservations.size).toBe(2);
	});
});
