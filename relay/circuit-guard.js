// @ts-check
/**
 * Bounds the relayed connections (circuits) the peers behind one client IP
 * open through the relay.
 *
 * libp2p's relay server (circuit-relay-v2 4.2) bounds the circuits one
 * connection holds open at once (`maxInboundHopStreams`, 32 here) and nothing
 * else. Behind one IP, 32 WebSockets could hold 1,024 circuits, and open new
 * ones as fast as the old ended: each carries up to --circuit-data-limit each
 * way, so the relay would carry any amount for one address, and each circuit
 * makes the browser it reaches set up a connection. This guard, asked by the
 * relay server before each circuit (the connection gater's
 * `denyOutboundRelayedConnection`, after the destination's reservation is
 * found), refuses one
 *
 *  - when the peers behind its client IP already hold `maxPerIp` circuits
 *    (limit `circuits_per_ip`): counted from the relay's own connections, the
 *    circuit relay hop streams on those of that IP whose dialer has not closed
 *    its side, the new one's included, so nothing is counted that is not
 *    there. (The relay server never closes its side of a hop stream it
 *    answered without a circuit, a refusal or a reservation: such a stream
 *    stays listed until the dialer closes its own, and is not counted once
 *    it has.)
 *  - when that IP has opened circuits faster than `rate` a second, over bursts
 *    of `burstSeconds` (limit `circuit_rate`).
 *
 * Relays we federate with are never limited (they open no circuits through us;
 * the relay itself never dials through another). The dialer sees its circuit
 * refused (PERMISSION_DENIED) and the browser's dial fails like any other.
 */
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2';
import { PerIpRate } from './per-ip-rate.js';

/** @typedef {import('@libp2p/interface').PeerId} PeerId */

/**
 * The parts of a libp2p connection this guard reads.
 *
 * @typedef {object} GuardedConnection
 * @property {{ toString(): string }} remotePeer
 * @property {import('@multiformats/multiaddr').Multiaddr} remoteAddr
 * @property {ReadonlyArray<{ protocol?: string, remoteWriteStatus?: string }>} streams
 */

/**
 * @param {{ connections: (peer?: PeerId) => GuardedConnection[], ipOf: (addr: import('@multiformats/multiaddr').Multiaddr) => string,
 *   maxPerIp: number, rate: number, burstSeconds: number, exempt?: (peer: string) => boolean,
 *   refuse: (limit: 'circuits_per_ip' | 'circuit_rate', ip: string) => void, now?: () => number }} options
 *   `connections`: the relay's libp2p connections (all, or a peer's); `ipOf`: the client IP behind a
 *   connection's remote address; `exempt`: peers never limited (federated relays)
 * @returns {{ deny: (source: PeerId) => boolean, circuitsOf: (ip: string) => number }}
 */
export function guardCircuits({ connections, ipOf, maxPerIp, rate, burstSeconds, exempt = () => false, refuse, now = Date.now }) {
	const opened = new PerIpRate({ rate, burstSeconds });

	/** Circuit relay hop streams their dialers hold open on the connections of client IP `ip`. */
	const circuitsOf = (/** @type {string} */ ip) => {
		let n = 0;
		for (const c of connections()) {
			if (ipOf(c.remoteAddr) !== ip) continue;
			for (const s of c.streams) if (s.protocol === RELAY_V2_HOP_CODEC && s.remoteWriteStatus === 'writable') n++;
		}
		return n;
	};

	return {
		circuitsOf,
		deny(source) {
			if (exempt(source.toString())) return false;
			const own = connections(source)[0];
			// The request came over a connection of its own; gone already, there is nothing to relay to.
			if (!own) return true;
			const ip = ipOf(own.remoteAddr);
			// The count includes this circuit's own hop stream.
			if (circuitsOf(ip) > maxPerIp) {
				refuse('circuits_per_ip', ip);
				return true;
			}
			if (!opened.take(ip, now())) {
				refuse('circuit_rate', ip);
				return true;
			}
			return false;
		}
	};
}

