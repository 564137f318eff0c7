// @ts-check
/**
 * Counts things held per client IP (sockets, unfinished requests,
 * reservations) against a cap. An IP with nothing held has no entry, so the
 * map's size is bounded by what is held, never by how many addresses ever came.
 */
export class PerIpCounter {
	/** @type {Map<string, number>} */
	#held = new Map();
	#max;

	/** @param {number} max how many one IP may hold at once */
	constructor(max) {
		this.#max = max;
	}

	/**
	 * Takes one for `ip` if it is under the cap.
	 *
	 * @param {string} ip
	 * @returns {boolean} false when the IP already holds `max`
	 */
	tryAcquire(ip) {
		const held = this.#held.get(ip) ?? 0;
		if (held >= this.#max) return false;
		this.#held.set(ip, held + 1);
		return true;
	}

	/**
	 * Gives one back; a release without an acquire is ignored.
	 *
	 * @param {string} ip
	 */
	release(ip) {
		const held = this.#held.get(ip) ?? 0;
		if (held > 1) this.#held.set(ip, held - 1);
		else this.#held.delete(ip);
	}

	/** @param {string} ip */
	held(ip) {
		return this.#held.get(ip) ?? 0;
	}

	/** Total held across every IP. */
	get total() {
		let sum = 0;
		for (const n of this.#held.values()) sum += n;
		return sum;
	}
}
