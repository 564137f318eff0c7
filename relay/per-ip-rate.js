// @ts-check
/**
 * How much each client IP may do of one thing (open WebSockets, download the hallway list): a token
 * bucket per address, refilled at `rate` a second up to `rate × burstSeconds`; each take costs 1 or
 * more (KiB sent, say). Addresses whose bucket is full again are forgotten once more than
 * `pruneAbove` are held, so memory follows the addresses active lately, not every address that ever came.
 */
import { TokenBuckets } from './gossip-limits.js';

/** Rate state kept for at most about this many addresses between prunes. */
const PRUNE_ABOVE = 1_024;

export class PerIpRate {
	#buckets;
	#pruneAbove;
	#burst;
	#nextPrune;

	/**
	 * @param {{ rate: number, burstSeconds: number, pruneAbove?: number }} options `rate` per second
	 */
	constructor({ rate, burstSeconds, pruneAbove = PRUNE_ABOVE }) {
		// Both of TokenBuckets' buckets at the same rate: one counts takes, the other their cost.
		this.#buckets = new TokenBuckets({ messageRate: rate, byteRate: rate, maxMessageBytes: 1, burstSeconds });
		this.#pruneAbove = pruneAbove;
		this.#nextPrune = pruneAbove;
		this.#burst = Math.max(1, rate * burstSeconds);
	}

	/**
	 * @param {string} ip
	 * @param {number} nowMs
	 * @param {number} [cost] what this take counts for (at most a whole burst, so any one can pass)
	 * @returns {boolean} true if `ip` may (and it was counted); a refusal takes nothing
	 */
	take(ip, nowMs, cost = 1) {
		if (this.#buckets.size > this.#nextPrune) {
			this.#buckets.prune(nowMs);
			// Many addresses busy at once: prune again only once they have doubled, so each take costs O(1) on average.
			this.#nextPrune = Math.max(this.#pruneAbove, 2 * this.#buckets.size);
		}
		return this.#buckets.take(ip, Math.min(Math.max(1, cost), this.#burst), nowMs);
	}

	/** Addresses with rate state (tests: proves nothing accumulates). */
	get size() {
		return this.#buckets.size;
	}
}
