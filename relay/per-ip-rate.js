// @ts-check
/**
 * How often each client IP may do one thing (open a WebSocket, read the hallway): a token bucket
 * per address, refilled at `rate` a second up to `rate × burstSeconds`. Addresses whose bucket is
 * full again are forgotten once more than `pruneAbove` are held, so memory follows the addresses
 * active lately, not every address that ever came.
 */
import { TokenBuckets } from './gossip-limits.js';

/** Rate state kept for at most about this many addresses between prunes. */
const PRUNE_ABOVE = 1_024;

export class PerIpRate {
	#buckets;
	#pruneAbove;

	/**
	 * @param {{ rate: number, burstSeconds: number, pruneAbove?: number }} options `rate` per second
	 */
	constructor({ rate, burstSeconds, pruneAbove = PRUNE_ABOVE }) {
		this.#buckets = new TokenBuckets({ messageRate: rate, byteRate: rate, maxMessageBytes: 1, burstSeconds });
		this.#pruneAbove = pruneAbove;
	}

	/**
	 * @param {string} ip
	 * @param {number} nowMs
	 * @returns {boolean} true if `ip` may (and it was counted); a refusal takes nothing
	 */
	take(ip, nowMs) {
		if (this.#buckets.size > this.#pruneAbove) this.#buckets.prune(nowMs);
		return this.#buckets.take(ip, 1, nowMs);
	}

	/** Addresses with rate state (tests: proves nothing accumulates). */
	get size() {
		return this.#buckets.size;
	}
}
