// @ts-check
/**
 * Bounds the relayed connections (circuits) the peers behind one client IP
 * open through the relay.
 *
 * libp2p's relay server (circuit-relay-v2 4.2) bounds the circuits one
 * connection holds open at once (`maxInboundHopStreams`, 32 here) and nothing
 * else. Behind one IP, 32 WebSockets could hold 1,024 circuits, and open new
 * ones as fast as the old ended: each carries up to --circuit-data-limit, so
 * the relay would carry any amount for one address, and each circuit makes
 * the browser it reaches set up a connection. This guard, asked by the relay
 * server before each circuit (the connection gater's
 * `denyOutboundRelayedConnection`, after the destination's reservation is
 * found), refuses one
 *
 *  - when the peers behind the client IP of the connection the request came
 *    on already hold `maxPerIp` circuits (limit `circuits_per_ip`): the hop
 *    streams it let through, counted until they close or are reset, a
 *    dialer's half-close included (the circuit still carries the other way);
 *  - when that IP has opened circuits faster than `rate` a second, over bursts
 *    of `burstSeconds` (limit `circuit_rate`).
 *
 * The gater is told only the two PeerIds, so `traceHopRequests` wraps the
 * server's hop handler before the node starts: each request then runs with
 * its stream and connection at hand (AsyncLocalStorage), which the guard
 * reads. A request it cannot place is refused.
 *
 * Relays we federate with are never limited (they open no circuits through us;
 * the relay itself never dials through another). The dialer is answered
 * PERMISSION_DENIED; libp2p's client then resets the hop stream and its dial
 * fails like any other.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { PerIpRate } from './per-ip-rate.js';

/** @typedef {import('@libp2p/interface').PeerId} PeerId */
/** @typedef {{ status: string }} HopStream the part of a stream the guard reads */
/** @typedef {{ remoteAddr: import('@multiformats/multiaddr').Multiaddr }} HopConnection */

/** After this many circuits let through, every IP's list is swept of closed ones (each IP's is swept as it dials). */
const SWEEP_EVERY = 256;

/** @type {AsyncLocalStorage<{ stream: HopStream, connection: HopConnection }>} the hop request being handled */
const hopRequest = new AsyncLocalStorage();

/**
 * Runs each hop request of the relay server with its stream and connection known to the guard.
 * Call before the node starts: the server registers its handler at start.
 *
 * @param {unknown} server the node's circuit relay server (`node.services.relay`)
 */
export function traceHopRequests(server) {
	const relay = /** @type {{ onHop?: (stream: HopStream, connection: HopConnection) => unknown }} */ (server);
	const original = relay?.onHop;
	if (typeof original !== 'function') throw new Error('circuit relay server has an unknown shape: cannot guard circuits');
	relay.onHop = (stream, connection) => hopRequest.run({ stream, connection }, () => original.call(relay, stream, connection));
}

/** A stream not yet closed or reset at both ends. */
const open = (/** @type {HopStream} */ s) => s.status === 'open' || s.status === 'closing';

/**
 * @param {{ ipOf: (addr: import('@multiformats/multiaddr').Multiaddr) => string, maxPerIp: number, rate: number, burstSeconds: number,
 *   exempt?: (peer: string) => boolean, refuse: (limit: 'circuits_per_ip' | 'circuit_rate', ip: string) => void, now?: () => number }} options
 *   `ipOf`: the client IP behind a connection's remote address; `exempt`: peers never limited (federated relays)
 * @returns {{ deny: (source: PeerId) => boolean, circuitsOf: (ip: string) => number }}
 */
export function guardCircuits({ ipOf, maxPerIp, rate, burstSeconds, exempt = () => false, refuse, now = Date.now }) {
	const opened = new PerIpRate({ rate, burstSeconds });
	/** @type {Map<string, Set<HopStream>>} client IP → the hop streams let through, while open */
	const granted = new Map();
	let sinceSweep = 0;

	/** Circuits the peers behind `ip` hold: its list, swept of closed ones. */
	const circuitsOf = (/** @type {string} */ ip) => {
		const held = granted.get(ip);
		if (!held) return 0;
		for (const s of held) if (!open(s)) held.delete(s);
		if (held.size === 0) granted.delete(ip);
		return held.size;
	};

	return {
		circuitsOf,
		deny(source) {
			if (exempt(source.toString())) return false;
			const request = hopRequest.getStore();
			if (!request) return true;
			const ip = ipOf(request.connection.remoteAddr);
			if (circuitsOf(ip) >= maxPerIp) {
				refuse('circuits_per_ip', ip);
				return true;
			}
			if (!opened.take(ip, now())) {
				refuse('circuit_rate', ip);
				return true;
			}
			const held = granted.get(ip) ?? new Set();
			granted.set(ip, held.add(request.stream));
			if (++sinceSweep >= SWEEP_EVERY) {
				sinceSweep = 0;
				for (const other of [...granted.keys()]) circuitsOf(other);
			}
			return false;
		}
	};
}
