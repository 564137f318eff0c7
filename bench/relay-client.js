// @ts-check
/**
 * The Node libp2p client bench:relay runs by the thousand (real WebSockets,
 * Noise, Yamux): shared by the bench's main thread, which ramps the
 * population and runs the abuse, and its pinger thread (relay-pinger.js).
 */
import '../relay/polyfill.js';
import { WebSocket as Ws } from 'ws';

/**
 * Makes every WebSocket this thread opens leave from one of `sources` in turn
 * (loopback addresses, so that no per-IP limit binds), or from the address
 * `forced()` returns while it returns one (the abuser).
 *
 * @param {string[]} sources
 * @param {() => string | null} [forced]
 */
export function spreadSources(sources, forced = () => null) {
	let next = 0;
	/** @type {any} */ (globalThis).WebSocket = class extends Ws {
		/**
		 * @param {string} url
		 * @param {string | string[]} [protocols]
		 */
		constructor(url, protocols) {
			super(url, protocols, { localAddress: forced() ?? sources[next++ % sources.length] });
		}
	};
}

/** A client; only the gossip listeners and the flooder run gossipsub (the costliest service to start). */
export async function makePeer(withGossip = false) {
	const { createLibp2p } = await import('libp2p');
	const { webSockets } = await import('@libp2p/websockets');
	const { noise } = await import('@libp2p/noise');
	const { yamux } = await import('@libp2p/yamux');
	const { identify } = await import('@libp2p/identify');
	const { ping } = await import('@libp2p/ping');
	const { gossipsub } = await import('@libp2p/gossipsub');
	return createLibp2p({
		transports: [webSockets()],
		connectionEncrypters: [noise()],
		streamMuxers: [yamux()],
		connectionMonitor: { enabled: false },
		services: {
			identify: identify(),
			ping: ping(),
			...(withGossip ? { pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) } : {})
		}
	});
}
