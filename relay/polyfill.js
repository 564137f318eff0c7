// @ts-check
/**
 * Node 20 lacks `Promise.withResolvers` (added in Node 22), and libp2p 3 and
 * its dependencies call it. Node 20 also has no global `WebSocket` (without
 * --experimental-websocket), which @libp2p/websockets dials with: a relay
 * dialing the relays it federates with gets `ws`'s, the implementation the
 * same transport already uses for the connections it accepts. This module
 * must be evaluated before any libp2p module, which is why `main.js` imports
 * it first and loads the rest with a dynamic `import()`.
 */
import { WebSocket as WsWebSocket } from 'ws';

if (typeof globalThis.WebSocket === 'undefined') {
	Object.defineProperty(globalThis, 'WebSocket', { configurable: true, writable: true, enumerable: false, value: WsWebSocket });
}

/**
 * @typedef {{
 *   promise: Promise<unknown>,
 *   resolve: (value: unknown) => void,
 *   reject: (reason?: unknown) => void
 * }} Resolvers
 */

const PromiseWithResolvers = /** @type {PromiseConstructor & { withResolvers?: () => Resolvers }} */ (Promise);

if (typeof PromiseWithResolvers.withResolvers !== 'function') {
	Object.defineProperty(Promise, 'withResolvers', {
		// Same shape as the built-in: writable, configurable, not enumerable.
		configurable: true,
		writable: true,
		enumerable: false,
		/** @returns {Resolvers} */
		value: function withResolvers() {
			/** @type {(value: unknown) => void} */
			let resolve = () => {};
			/** @type {(reason?: unknown) => void} */
			let reject = () => {};
			// `this` keeps subclass support, as the spec does.
			const Ctor = /** @type {PromiseConstructor} */ (this ?? Promise);
			const promise = new Ctor((res, rej) => {
				resolve = res;
				reject = rej;
			});
			return { promise, resolve, reject };
		}
	});
}
