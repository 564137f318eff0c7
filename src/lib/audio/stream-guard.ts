/**
 * Which of a speaker's signed packets may still be played: a replay guard.
 *
 * A signature (packet-auth.ts) proves the speaker said these words, not that
 * it is saying them now. A relaying listener that kept a speaker's packets can
 * send them again later: within the stream (once the jitter buffer has
 * forgotten them, e.g. during a long mute) or after the speaker reloaded and
 * started a new stream from another random seq, when old seqs could look
 * "ahead". So every speaker says, in each presence message (signed by its
 * libp2p key, sealed with the room key, never replayed: presence seqs grow),
 * where its stream started (`r`, a random seq drawn when it starts) and the
 * seq it had sent last (`q`, its *mark*). The guard admits a packet only
 * when:
 *
 * - the speaker's mark is known (a joiner takes nothing before it);
 * - it is not further past the newest seq known (taken, or marked) than the
 *   speaker could have sent since: AHEAD_SLACK packets plus MAX_PACKETS_PER_S
 *   for every second since (a packet or a mark). A speaker sends one packet
 *   per 20 ms frame and marks come with every presence beat (4 s), so a
 *   recording of another stream (random 32-bit starts) lands in the window
 *   only by chance, ~1 in 6 million per packet;
 * - it was not taken before: a sliding window of the last WINDOW seqs, as in
 *   SRTP (RFC 3711 §3.3.2); anything older than the window is refused.
 *
 * A mark ahead of what we know moves the window there (we missed packets); a
 * mark behind it changes nothing (the packets outran the presence message),
 * and one equal to it restarts the allowance (the speaker sent nothing since).
 * Another start is another stream (the speaker reloaded): it starts over from
 * its mark. `check` is cheap and runs before the signature is verified;
 * `commit` runs after, so a forged packet never moves the window.
 *
 * A speaker forgotten (it left the stage, or a moderator muted it) and marked
 * again with the same start (unmuted, or invited back: its stream goes on) is
 * taken back from past the newest seq known when it was forgotten: whatever it
 * sent before is refused, though its seen-window is gone (a relay that kept
 * the last words before a moderator's mute cannot play them after the unmute).
 * A member that joined while a speaker was muted never had its stream to
 * forget: told the speaker is quiet (`quietAt`, its mark while muted), it
 * takes it back the same way.
 *
 * The marks also tell how late a packet comes: a speaker marks only seqs it
 * has sent, so a packet whose seq a mark already covered was sent before that
 * mark arrived (`sentBefore`). A relay that holds a speaker's packets back and
 * passes them on seconds later stays inside the window; the time since the
 * mark is how a child sees it (withholding.ts judges).
 */
import { seqAdd, seqDiff } from './packet-codec';

/** Seqs remembered behind the newest one known: 5 s at 50 packets/s. */
export const WINDOW = 256;
/** How far past the newest seq known a packet may always be: 10 s of frames (a stalled encoder's burst, a late mark). */
export const AHEAD_SLACK = 500;
/** The most packets a speaker sends per second, with room: one per 20 ms frame is 50. */
export const MAX_PACKETS_PER_S = 60;
/** Marks kept per stream for sentBefore: a presence beat is 4 s, so 16 s, past the window's 5 s. */
export const MARKS_KEPT = 4;
/** Forgotten streams remembered (start and newest seq), the oldest forgotten first out: far more speakers than a stage holds. */
export const FORGOTTEN_KEPT = 1_024;

export type GuardVerdict = 'ok' | 'unmarked' | 'too-far-ahead' | 'too-old' | 'replayed';

interface Stream {
	/** Where the speaker's stream started (its advert's `r`). */
	start: number;
	/** Newest seq taken or marked. */
	highest: number;
	/** When `highest` moved last, in ms. */
	highestAt: number;
	/** Bit i set: seq highest − i was taken. */
	seen: Uint32Array;
	/** The last MARKS_KEPT marks that moved the stream on, oldest first: seq, and when it was marked. */
	marks: { seq: number; at: number }[];
}

export class StreamGuard {
	readonly #streams = new Map<string, Stream>();
	/** Speakers forgotten: where their stream started and the newest seq known then. */
	readonly #forgotten = new Map<string, { start: number; highest: number }>();

	/** The speaker says its stream started at `start` and it had sent up to `seq` (its verified presence). */
	mark(speaker: string, start: number, seq: number, nowMs: number): void {
		const stream = this.#streams.get(speaker);
		if (!stream || stream.start !== start) {
			const before = this.#forgotten.get(speaker);
			this.#forgotten.delete(speaker);
			const seen = new Uint32Array(WINDOW / 32);
			if (before?.start === start) {
				// The same stream, after we forgot it: nothing at or behind what we knew then, taken or not.
				seen.fill(0xffffffff);
				const highest = seqDiff(seq, before.highest) > 0 ? seq : before.highest;
				this.#streams.set(speaker, { start, highest, highestAt: nowMs, seen, marks: [{ seq, at: nowMs }] });
				return;
			}
			// First word of this speaker, or a new stream (it reloaded): start from the mark.
			// Seqs up to the mark may still arrive once each (packets in flight when it was said).
			this.#streams.set(speaker, { start, highest: seq, highestAt: nowMs, seen, marks: [{ seq, at: nowMs }] });
			return;
		}
		const last = stream.marks[stream.marks.length - 1];
		if (!last || seqDiff(seq, last.seq) > 0) {
			stream.marks.push({ seq, at: nowMs });
			if (stream.marks.length > MARKS_KEPT) stream.marks.shift();
		}
		const d = seqDiff(seq, stream.highest);
		if (d > 0) this.#advance(stream, d, nowMs);
		// The speaker had sent nothing since the newest packet we know of: the allowance starts over.
		else if (d === 0) stream.highestAt = Math.max(stream.highestAt, nowMs);
	}

	/**
	 * The earliest time a mark said `seq` had been sent (the clock given to mark), or undefined
	 * when no mark kept covers it yet (a packet past the newest mark, or from before the oldest).
	 */
	sentBefore(speaker: string, seq: number): number | undefined {
		const marks = this.#streams.get(speaker)?.marks ?? [];
		if (marks.length === 0 || seqDiff(seq, marks[0].seq) < -WINDOW) return undefined;
		return marks.find((m) => seqDiff(m.seq, seq) >= 0)?.at;
	}

	/** Drops what is known of the speaker's stream but where it started and how far it had come (see the header). */
	forget(speaker: string): void {
		const stream = this.#streams.get(speaker);
		if (!stream) return;
		this.#streams.delete(speaker);
		this.#forgotten.delete(speaker);
		this.#forgotten.set(speaker, { start: stream.start, highest: stream.highest });
		if (this.#forgotten.size > FORGOTTEN_KEPT) this.#forgotten.delete(this.#forgotten.keys().next().value!);
	}

	/**
	 * The speaker is muted (by itself or a moderator) and had sent up to `seq` of the stream that started at
	 * `start`: when we know nothing of its stream (we joined during the mute), it is taken back as if we had
	 * forgotten it there, and nothing it sent before is taken. A stream we know is left to mark and forget.
	 */
	quietAt(speaker: string, start: number, seq: number): void {
		if (this.#streams.has(speaker)) return;
		const before = this.#forgotten.get(speaker);
		const highest = before?.start === start && seqDiff(before.highest, seq) > 0 ? before.highest : seq;
		this.#forgotten.delete(speaker);
		this.#forgotten.set(speaker, { start, highest });
		if (this.#forgotten.size > FORGOTTEN_KEPT) this.#forgotten.delete(this.#forgotten.keys().next().value!);
	}

	check(speaker: string, seq: number, nowMs: number): GuardVerdict {
		const stream = this.#streams.get(speaker);
		if (!stream) return 'unmarked';
		const ahead = seqDiff(seq, stream.highest);
		if (ahead > AHEAD_SLACK + (Math.max(0, nowMs - stream.highestAt) * MAX_PACKETS_PER_S) / 1000) return 'too-far-ahead';
		if (ahead > 0) return 'ok';
		const behind = -ahead;
		if (behind >= WINDOW) return 'too-old';
		return bit(stream.seen, behind) ? 'replayed' : 'ok';
	}

	/**
	 * Records a packet as taken once its signature held; false if it may not be taken
	 * (checked again: a copy verified side by side may have been taken first).
	 */
	commit(speaker: string, seq: number, nowMs: number): boolean {
		const stream = this.#streams.get(speaker);
		if (!stream || this.check(speaker, seq, nowMs) !== 'ok') return false;
		const ahead = seqDiff(seq, stream.highest);
		if (ahead > 0) this.#advance(stream, ahead, nowMs);
		setBit(stream.seen, Math.max(0, -ahead));
		return true;
	}

	#advance(stream: Stream, by: number, nowMs: number): void {
		shift(stream.seen, by);
		stream.highest = seqAdd(stream.highest, by);
		stream.highestAt = nowMs;
	}
}

/**
 * Whether a packet is refused because its speaker says (in its verified presence) that it is
 * muted and the packet is from before it said so: seq at or behind the mark that presence carries.
 * A muted speaker sends nothing, so such a packet is a replay, or the tail of what it said just
 * before muting arriving late (not worth the risk). The window above admits a seq it never saw
 * within 5 s, and under load a child misses some: a relay that kept them could play them into the
 * silence. Fresh packets (past the mark: the speaker unmuted and its presence is on its way) pass.
 */
export function beforeMute(seq: number, mark: number, muted: boolean): boolean {
	return muted && seqDiff(seq, mark) <= 0;
}

function bit(words: Uint32Array, i: number): boolean {
	return (words[i >>> 5] & (1 << (i & 31))) !== 0;
}

function setBit(words: Uint32Array, i: number): void {
	words[i >>> 5] |= 1 << (i & 31);
}

/** Moves every bit `n` places up (older); bits past the window fall off. Word by word: 8 steps per packet. */
function shift(words: Uint32Array, n: number): void {
	if (n >= WINDOW) {
		words.fill(0);
		return;
	}
	const whole = n >>> 5;
	const part = n & 31;
	for (let i = words.length - 1; i >= 0; i--) {
		const low = i - whole >= 0 ? words[i - whole] : 0;
		const lower = i - whole - 1 >= 0 ? words[i - whole - 1] : 0;
		words[i] = part === 0 ? low : ((low << part) | (lower >>> (32 - part))) >>> 0;
	}
}
