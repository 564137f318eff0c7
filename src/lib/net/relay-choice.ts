/**
 * How many relays a browser stays on. One relay is one point of failure (a
 * block, a seizure, a restart): the app keeps connections and reservations on
 * up to MAX_RELAYS of those it knows, the first to answer (the fastest), and
 * replaces one that goes away. More would cost every relay a connection and a
 * reservation per member for little gain.
 */
export const MAX_RELAYS = 2;

/** The relay PeerId a relay multiaddr names (its last /p2p/ part), or the address itself when it names none. */
export function relayKey(addr: string): string {
	const parts = addr.split('/');
	const at = parts.lastIndexOf('p2p');
	return at >= 0 && parts[at + 1] ? parts[at + 1] : addr;
}

/** How many distinct relays a list of addresses names (several addresses may reach one relay). */
export function distinctRelays(addrs: readonly string[]): number {
	return new Set(addrs.map(relayKey)).size;
}

/**
 * Bookkeeping for one round of relay dials raced against each other: each
 * relay that answers is kept while fewer than `max` are; the rest are told
 * to hang up. Relays already connected count first.
 */
export class RelayRace {
	readonly kept = new Set<string>();
	readonly #max: number;

	constructor(alreadyConnected: Iterable<string>, max = MAX_RELAYS) {
		this.#max = max;
		for (const peer of alreadyConnected) if (this.kept.size < max) this.kept.add(peer);
	}

	/** Called as each dial succeeds, in the order they do: whether to keep that relay. */
	answered(peer: string): boolean {
		if (this.kept.has(peer)) return true;
		if (this.kept.size >= this.#max) return false;
		this.kept.add(peer);
		return true;
	}

	get full(): boolean {
		return this.kept.size >= this.#max;
	}
}
