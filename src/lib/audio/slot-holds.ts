/**
 * Slots a relaying member has promised to links that are still setting up.
 *
 * A parent admits a child when its request arrives (audio-room.ts decide), but
 * the child only counts once its WebRTC link opens (adopt), up to
 * SETUP_TIMEOUT_MS later. Without a hold, two orphans that ask the same parent
 * for its last slot in that window are both admitted; the second link to open
 * is closed at once, and its child sees "attached" then "link closed" and
 * repairs again: under load, round after round. So an admission holds the slot
 * until the link opens (`release` on adopt) or fails (`release` when the
 * handshake ends without a link), and a hold that nothing released lapses
 * after `ttlMs`, so a peer that asks and never finishes cannot keep a slot
 * for longer than a handshake may take. One hold per peer: asking again
 * replaces it. A fellow speaker's stage link holds no slot, but its set-up
 * is held the same way (`speaker`): one at a time per peer.
 */

export type HeldAs = 'child' | 'standby' | 'speaker';

export class SlotHolds {
	readonly #held = new Map<string, { as: HeldAs; at: number }>();

	constructor(readonly ttlMs: number) {}

	/** `peerId` was admitted as `as` at `now`: its slot is taken until released or `ttlMs` has passed. */
	hold(peerId: string, as: HeldAs, now: number): void {
		this.#held.delete(peerId);
		this.#held.set(peerId, { as, at: now });
	}

	/** Its link opened (it counts as a child or standby now) or its handshake failed. */
	release(peerId: string): void {
		this.#held.delete(peerId);
	}

	/** Whether a slot is held for `peerId` at `now`. */
	has(peerId: string, now: number): boolean {
		const hold = this.#held.get(peerId);
		return hold !== undefined && now - hold.at < this.ttlMs;
	}

	/** How many slots are held as `as` at `now`, not counting `except` (whose own request is being judged). */
	count(as: HeldAs, now: number, except?: string): number {
		let n = 0;
		for (const [peerId, hold] of this.#held) {
			if (now - hold.at >= this.ttlMs) this.#held.delete(peerId);
			else if (hold.as === as && peerId !== except) n++;
		}
		return n;
	}

	/** Every hold, for diagnostics. */
	get size(): number {
		return this.#held.size;
	}
}
