/**
 * Reactions: ephemeral (never in the room document), a fixed set named on
 * the wire (room-topic-protocol.ts, type 5) and drawn as icons, not emoji
 * (which show as empty boxes where no emoji font is installed), shown beside
 * the member for REACTION_SHOW_MS. Each peer sends at most REACTION_RATE per
 * second (bursts of REACTION_BURST), and every receiver holds each sender
 * to the same rate, so a member running its own code cannot flood the room's
 * screens: what is over the rate is dropped.
 */
export const REACTIONS = ['clap', 'heart', 'laugh', 'fire', 'hundred', 'wave'] as const;
export type Reaction = (typeof REACTIONS)[number];

export const REACTION_SHOW_MS = 4_000;
export const REACTION_RATE = 1;
export const REACTION_BURST = 3;
// Senders whose buckets are full again are forgotten once this many are kept.
const MAX_TRACKED = 256;

export function isReaction(value: unknown): value is Reaction {
	return (REACTIONS as readonly unknown[]).includes(value);
}

/** One token bucket per sender, refilled at `ratePerSec`, holding at most `burst`. Pure: time is passed in. */
export class SenderLimiter {
	readonly #buckets = new Map<string, { tokens: number; at: number }>();
	readonly #rate: number;
	readonly #burst: number;

	constructor(ratePerSec: number, burst: number) {
		this.#rate = ratePerSec;
		this.#burst = burst;
	}

	/** Whether `sender` may act now (and counts it if so). */
	take(sender: string, nowMs: number): boolean {
		if (this.#buckets.size >= MAX_TRACKED) this.#prune(nowMs);
		const bucket = this.#buckets.get(sender) ?? { tokens: this.#burst, at: nowMs };
		bucket.tokens = Math.min(this.#burst, bucket.tokens + (Math.max(0, nowMs - bucket.at) / 1000) * this.#rate);
		bucket.at = Math.max(bucket.at, nowMs);
		this.#buckets.set(sender, bucket);
		if (bucket.tokens < 1) return false;
		bucket.tokens -= 1;
		return true;
	}

	#prune(nowMs: number): void {
		for (const [sender, bucket] of this.#buckets) {
			if (bucket.tokens + ((nowMs - bucket.at) / 1000) * this.#rate >= this.#burst) this.#buckets.delete(sender);
		}
	}

	get size(): number {
		return this.#buckets.size;
	}
}

/** Reactions: REACTION_RATE a second per sender, REACTION_BURST at once. */
export class ReactionLimiter extends SenderLimiter {
	constructor() {
		super(REACTION_RATE, REACTION_BURST);
	}
}
