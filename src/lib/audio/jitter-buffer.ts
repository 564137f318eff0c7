/**
 * Adaptive jitter buffer: one per speaker, between the DataChannel and the Opus decoder.
 *
 * Packets arrive over unordered, no-retransmit channels, late, out of order,
 * twice or never. The playout clock calls pop() once per 20 ms frame and gets
 * a frame to decode, a gap to conceal (Opus PLC, or silence while the
 * speaker is in DTX), or "wait" while buffering. Time is always passed in:
 * nothing here reads a clock, so the behaviour is deterministic and testable.
 *
 * How much to buffer. A packet's transit is arrival − capture time (an
 * unknown clock offset plus network delay); its jitter is its transit minus
 * the smallest transit of the last 2 s. The headroom at a pop is how much
 * jitter the frame due now may have had and still be on time. The target
 * headroom is the 99th percentile of the last 10 s of jitter, within
 * [20 ms, 200 ms]. (docs/ARCHITECTURE.md: a fixed 10 ms margin glitched 13–27 times
 * in 30 s under load; growing after a gap and shrinking slowly gave 1–2.)
 * A one-off spike does not hold it up for those 10 s: jitter above what the
 * last 2 s saw counts only if it came back at least 2 s apart (two 1-s
 * buckets of arrival time, not neighbours, both reached it). A relay whose
 * tab stalled for a second sends every packet of that second at once, each
 * "late" by up to a second: that is one event, not 1 % of the network's
 * behaviour, while Wi-Fi power saving or a GC every few seconds recurs and
 * keeps its margin. Our own tab stalling (no pop for 100 ms) is not the
 * network at all: packets due meanwhile are left out of the measure.
 *
 * - Grow fast: when the frame due is missing and nothing newer has arrived,
 *   the stream is late rather than lost, so we conceal one frame without
 *   moving on (the frame plays at the next pop). A packet that arrives after
 *   its frame was concealed is dropped (counted) and the headroom grows at
 *   once by what it lacked. During silence the headroom grows to the target
 *   for free.
 * - Shrink slowly when close, fast when far, at once in a pause: once the
 *   headroom has stayed at least a frame above target for 500 ms, divided
 *   by the square of how many frames above it is, a quiet frame is dropped
 *   (DTX, or the caller said what it last played was quiet: noteQuiet; a
 *   pause in speech lasts hundreds of ms, and a dropped frame of it is not
 *   heard), unless a packet came too late in the last 10 s: then 3 s, as
 *   the margin may be needed again. A voiced frame only after 3 s so
 *   divided (one frame: 3 s; two: 750 ms; eight: 47 ms) and a further
 *   second without a quiet one. After a spike that left 180 ms too much,
 *   the delay is back within a frame of target in about 2 s even through
 *   continuous speech.
 * - Clock drift: a sender whose clock runs fast fills the buffer (headroom
 *   rises: frames are dropped by the shrink rule); a slow one drains it (the
 *   frame due is missing with nothing newer: one frame is concealed). Both
 *   happen once per 20 ms of accumulated drift (every 2 s at 1 %), so the
 *   buffered level stays bounded. No time-stretching: PLC and dropping are
 *   what WebCodecs gives us.
 * - Loss vs silence: a gap in seq is a lost packet (conceal, counted); a gap
 *   in captureTs with consecutive seq, or no packets after a DTX frame, is
 *   the speaker being silent (conceal as silence, not counted as a glitch).
 * - Resync: after 300 ms of nothing following silence, or 100 ms of nothing
 *   in the middle of speech, or a timestamp jump of more than a second, the
 *   buffer goes back to "wait" and pre-buffers the next talkspurt afresh
 *   instead of concealing its way through the gap.
 *
 * seq and captureTs wrap at 2^32; they are unwrapped on arrival into plain
 * numbers (exact to 2^53), so nothing below compares wrapped values.
 */
import { FLAG_DTX, seqDiff, type AudioPacket } from './packet-codec';

// 20 ms: the Opus frame the speaker encodes; one pop per frame.
export const FRAME_MS = 20;
// The capture clock of captureTs: 48 kHz, as Opus and WebRTC use.
const SAMPLES_PER_MS = 48;
const FRAME_SAMPLES = FRAME_MS * SAMPLES_PER_MS;
// 20 ms floor: our pops tick every frame, so a packet may wait up to a frame
// for its tick anyway; less cannot absorb even the phase between the
// speaker's capture clock and our playout clock.
export const MIN_TARGET_MS = 20;
// 200 ms ceiling: ITU-T G.114 puts comfortable one-way delay under ~150 ms
// and unusable beyond ~400 ms; with capture, encode and a few hops (~40 ms
// measured) on top, more buffering costs conversation more than the rare
// glitch it would save.
export const MAX_TARGET_MS = 200;
// 40 ms before we know the network: two frames cover typical Wi-Fi jitter; adapts either way.
export const INITIAL_TARGET_MS = 40;
// 2 s of transits for the baseline: short, so that clock drift (1 % = 20 ms
// in 2 s) barely inflates measured jitter, long enough to contain a fast packet.
const TRANSIT_WINDOW = 100;
// 10 s of jitter samples: a burst of jitter keeps the target up for a while after it.
const JITTER_WINDOW = 500;
// 2 s of jitter samples: what the network does now, whether or not it recurs.
const RECENT_JITTER_WINDOW = 100;
// Jitter beyond the recent window's counts only if reached in two 1-s buckets this far apart (a spike is one event).
const SPIKE_BUCKET_MS = 1_000;
const RECUR_APART_BUCKETS = 2;
// 99th percentile: at 50 packets/s a 95th percentile would still let 2–3 frames a second be late.
const JITTER_QUANTILE = 0.99;
// Until 1 s of samples exists the initial target stands.
const JITTER_MIN_SAMPLES = 50;
// Headroom must stay ≥ 1 frame above target this long before one voiced frame is dropped
// (divided by the square of how many frames above target it is, so a big excess goes fast)...
const SHRINK_AFTER_MS = 3_000;
// ...and this long (divided the same way) before a quiet one is: dropping it is not heard. Only while
// no packet has come too late for this long, though: one that did (a jitter burst, a copy recovered a
// frame later under loss) says the margin above target was needed, and may be again.
const QUIET_SHRINK_AFTER_MS = 500;
const QUIET_SHRINK_CALM_MS = 10_000;
// A due shrink waits this long (divided the same way) for a silence/DTX frame before dropping a voiced one.
const SHRINK_FORCE_MS = 1_000;
// No pop for this long: our own tab stalled (pops come every 10 ms). Packets due while it did were held
// up by us, not by the network: they are left out of the jitter measure. A bigger target could not cover
// such a stall anyway (what bridges one is how far ahead the mixer is fed), and counted, one stall made
// any one-off delay in the next 10 s look recurring (a unit case: a target of 33 ms where 20 was due, 7.5 s
// after; bench:audio once saw a frame more delay from 5.5 to 11 s after a 1 s block, as this would give).
const OWN_STALL_MS = 100;
// 100 ms of loss in a row: Opus PLC has faded to silence by then and the
// stream is more likely gone than late: stop concealing and re-buffer.
const MAX_LOSS_RUN = 5;
// Speakers send a DTX keep-alive at least every 100 ms; three missing means they stopped sending.
const IDLE_AFTER_SILENCE_MS = 300;
// A timestamp more than 1 s past the newest one received is a discontinuity of the stream (a restarted sender), not jitter.
const RESYNC_JUMP_SAMPLES = 1_000 * SAMPLES_PER_MS;
// Seqs played, skipped or dropped late, remembered to recognise their copies: > 1 s of frames.
const RECENTLY_HANDLED = 64;
// 1.28 s of frames: more than the resync distance, a bound against a flooding sender.
const MAX_BUFFERED = 64;

/** What the buffer needs from a packet; AudioPacket fits. */
export type JitterPacket = Pick<AudioPacket, 'seq' | 'captureTs' | 'payload' | 'flags'>;

export type Playout<P extends JitterPacket = JitterPacket> =
	| { kind: 'frame'; packet: P }
	/** Decode nothing: 'loss' → run the decoder's concealment (PLC); 'silence' → the speaker is in DTX. */
	| { kind: 'conceal'; reason: 'loss' | 'silence' }
	/** Not playing: before the first talkspurt, or re-buffering after a long gap. Output silence. */
	| { kind: 'wait' };

/** What push() did with a packet. */
export type PushOutcome = 'buffered' | 'duplicate' | 'late' | 'late-own-stall';

export interface JitterStats {
	/** Frames handed to the decoder. */
	played: number;
	/** Frames concealed because a packet was lost or late: the audible glitches. */
	concealed: number;
	/** Frames of DTX silence between a speaker's packets (not glitches). */
	silent: number;
	/** Packets that arrived after their frame had been concealed. */
	lateDropped: number;
	/** Copies of packets already buffered or played. */
	duplicates: number;
	/** Frames dropped on purpose to shorten the delay (drift, catch-up). */
	skipped: number;
	targetDelayMs: number;
	bufferedFrames: number;
}

interface Entry<P> {
	packet: P;
	seq: number;
	ts: number;
	transit: number;
}

const WAIT = { kind: 'wait' } as const;
const SILENCE = { kind: 'conceal', reason: 'silence' } as const;
const LOSS = { kind: 'conceal', reason: 'loss' } as const;

export class JitterBuffer<P extends JitterPacket = JitterPacket> {
	#queue: Entry<P>[] = []; // sorted by unwrapped seq
	#seqs = new Unwrapper();
	#timestamps = new Unwrapper();
	#transits = new SlidingWindow(TRANSIT_WINDOW);
	#jitters = new SlidingWindow(JITTER_WINDOW);
	#recentJitters = new SlidingWindow(RECENT_JITTER_WINDOW);
	#jitterPeaks = new BucketMaxima(SPIKE_BUCKET_MS, JITTER_WINDOW * FRAME_MS);
	#recentlyHandled = new RecentSet(RECENTLY_HANDLED);
	#targetMs = INITIAL_TARGET_MS;
	#started = false;
	#nextTs = 0; // unwrapped captureTs of the frame due at the next pop
	#expectedSeq = 0; // unwrapped seq that frame should carry
	#lastWasDtx = false;
	#lossRun = 0;
	#silentSinceMs: number | null = null;
	#aboveTargetSinceMs: number | null = null;
	#growFrames = 0;
	#lastHeadroomMs = 0;
	#quiet = false;
	#lateAtMs = Number.NEGATIVE_INFINITY;
	#lastPopMs: number | null = null;
	/** The last stretch without pops (our tab stalled). */
	#ownStall = { fromMs: Number.NEGATIVE_INFINITY, toMs: Number.NEGATIVE_INFINITY };
	#counts = { played: 0, concealed: 0, silent: 0, lateDropped: 0, duplicates: 0, skipped: 0 };

	/**
	 * Takes a packet as it arrives; arrivalMs on the same clock as pop()'s nowMs. Says what became of
	 * it: buffered to play, a copy of one already had, or too late to play (its frame was concealed or
	 * skipped already), for the network's doing or (`late-own-stall`) because it was due while our own
	 * tab stalled.
	 */
	push(packet: P, arrivalMs: number): PushOutcome {
		const seq = this.#seqs.unwrap(packet.seq);
		const newestTs = this.#timestamps.newest();
		const ts = this.#timestamps.unwrap(packet.captureTs);
		// The stream itself jumped (not our playout falling behind it): start over from here.
		if (this.#started && newestTs !== null && ts - newestTs > RESYNC_JUMP_SAMPLES) this.#goIdle(true);
		let at = this.#queue.length;
		while (at > 0 && this.#queue[at - 1].seq >= seq) at--;
		if (this.#queue[at]?.seq === seq || this.#recentlyHandled.has(seq)) {
			this.#counts.duplicates++;
			return 'duplicate';
		}

		const transit = arrivalMs - ts / SAMPLES_PER_MS;
		const ownStall = this.#dueWhileStalled(ts, arrivalMs);
		if (!ownStall) this.#transits.add(transit);
		const jitter = transit - this.#transits.min();
		if (!ownStall) {
			this.#jitters.add(jitter);
			this.#recentJitters.add(jitter);
			this.#jitterPeaks.add(arrivalMs, jitter);
			this.#updateTarget();
		}

		if (this.#started && ts < this.#nextTs - FRAME_SAMPLES / 2) {
			this.#counts.lateDropped++;
			this.#recentlyHandled.add(seq);
			// Grow now by what this packet lacked, instead of waiting for the next ones to be late too;
			// but not for a straggler we would never have waited for.
			if (jitter <= MAX_TARGET_MS && !ownStall) {
				this.#lateAtMs = arrivalMs;
				const lackingFrames = Math.ceil((jitter - this.#lastHeadroomMs) / FRAME_MS);
				this.#growFrames = Math.max(this.#growFrames, lackingFrames);
			}
			return ownStall ? 'late-own-stall' : 'late';
		}
		this.#queue.splice(at, 0, { packet, seq, ts, transit });
		if (this.#queue.length > MAX_BUFFERED) {
			this.#queue.shift();
			this.#counts.skipped++;
		}
		return 'buffered';
	}

	/** Called by the playout clock once per 20 ms frame: what to hand the decoder now. */
	pop(nowMs: number): Playout<P> {
		if (this.#lastPopMs !== null && nowMs - this.#lastPopMs > OWN_STALL_MS) this.#ownStall = { fromMs: this.#lastPopMs, toMs: nowMs };
		this.#lastPopMs = nowMs;
		if (!this.#started && !this.#tryStart(nowMs)) return WAIT;
		const headroomMs = this.#catchUp(nowMs);
		this.#lastHeadroomMs = headroomMs;
		const shrink = this.#shrinkDue(nowMs, headroomMs);
		const due = this.#duePacket();
		if (!due) return this.#popGap(nowMs, headroomMs, shrink);

		const dueIsSilence = (due.packet.flags & FLAG_DTX) !== 0 || this.#quiet;
		if (shrink === 'now' || (shrink === 'if-silent' && dueIsSilence)) {
			this.#queue.shift();
			this.#advancePast(due);
			this.#counts.skipped++;
			this.#aboveTargetSinceMs = nowMs;
			const next = this.#duePacket();
			return next ? this.#play(next) : this.#popGap(nowMs, headroomMs - FRAME_MS, 'no');
		}
		if (this.#growFrames > 0 && headroomMs + FRAME_MS <= MAX_TARGET_MS) {
			// Hold the due frame one more tick: the headroom grows by a frame.
			this.#growFrames--;
			if (dueIsSilence) {
				this.#counts.silent++;
				return SILENCE;
			}
			this.#counts.concealed++;
			return LOSS;
		}
		return this.#play(due);
	}

	/**
	 * What the caller last played (decoded) was quiet, or not: the frame due next most likely is
	 * too, so it may be dropped or held unheard, as a DTX frame is.
	 */
	noteQuiet(quiet: boolean): void {
		this.#quiet = quiet;
	}

	stats(): JitterStats {
		return { ...this.#counts, targetDelayMs: this.#targetMs, bufferedFrames: this.#queue.length };
	}

	#tryStart(nowMs: number): boolean {
		const head = this.#queue[0];
		if (!head || this.#headroomMs(nowMs, head.ts) < this.#targetMs) return false;
		this.#started = true;
		this.#nextTs = head.ts;
		this.#expectedSeq = head.seq;
		this.#lastWasDtx = false;
		this.#lossRun = 0;
		this.#silentSinceMs = null;
		this.#aboveTargetSinceMs = null;
		this.#growFrames = 0;
		return true;
	}

	/** If the playout clock stalled (a throttled tab), jump back to the target instead of shrinking a frame at a time. */
	#catchUp(nowMs: number): number {
		const headroomMs = this.#headroomMs(nowMs, this.#nextTs);
		if (headroomMs <= MAX_TARGET_MS + FRAME_MS) return headroomMs;
		const frames = Math.floor((headroomMs - this.#targetMs) / FRAME_MS);
		this.#nextTs += frames * FRAME_SAMPLES;
		this.#expectedSeq += frames;
		while (this.#queue.length > 0 && this.#queue[0].ts < this.#nextTs - FRAME_SAMPLES / 2) {
			this.#recentlyHandled.add(this.#queue.shift()!.seq);
		}
		if (this.#queue[0]) this.#expectedSeq = this.#queue[0].seq;
		this.#counts.skipped += frames;
		this.#aboveTargetSinceMs = null;
		return headroomMs - frames * FRAME_MS;
	}

	#shrinkDue(nowMs: number, headroomMs: number): 'no' | 'if-silent' | 'now' {
		const excessFrames = Math.floor((headroomMs - this.#targetMs) / FRAME_MS);
		if (excessFrames < 1) {
			this.#aboveTargetSinceMs = null;
			return 'no';
		}
		this.#aboveTargetSinceMs ??= nowMs;
		const waitedMs = nowMs - this.#aboveTargetSinceMs;
		const urgency = excessFrames * excessFrames;
		const calm = nowMs - this.#lateAtMs >= QUIET_SHRINK_CALM_MS;
		if (waitedMs < (calm ? QUIET_SHRINK_AFTER_MS : SHRINK_AFTER_MS) / urgency) return 'no';
		return waitedMs >= (SHRINK_AFTER_MS + SHRINK_FORCE_MS) / urgency ? 'now' : 'if-silent';
	}

	/** No packet for the frame due: silence, a late packet (hold) or a lost one (move on). */
	#popGap(nowMs: number, headroomMs: number, shrink: 'no' | 'if-silent' | 'now'): Playout<P> {
		const head = this.#queue[0];
		const canGrow = headroomMs + FRAME_MS <= MAX_TARGET_MS;
		if (this.#lastWasDtx || head?.seq === this.#expectedSeq) {
			this.#lossRun = 0;
			if (head) {
				this.#silentSinceMs = null;
			} else {
				this.#silentSinceMs ??= nowMs;
				if (nowMs - this.#silentSinceMs >= IDLE_AFTER_SILENCE_MS) {
					this.#goIdle(false);
					return WAIT;
				}
			}
			this.#counts.silent++;
			if (shrink !== 'no' && (!head || head.ts >= this.#nextTs + 2 * FRAME_SAMPLES)) {
				// Drop a frame of silence: the cheapest way to shorten the delay.
				this.#nextTs += 2 * FRAME_SAMPLES;
				this.#counts.skipped++;
				this.#aboveTargetSinceMs = nowMs;
			} else if (canGrow && (this.#growFrames > 0 || headroomMs < this.#targetMs - FRAME_MS / 2)) {
				// Stretch silence: growing here is inaudible.
				this.#growFrames = Math.max(0, this.#growFrames - 1);
			} else {
				this.#nextTs += FRAME_SAMPLES;
			}
			return SILENCE;
		}
		this.#lossRun++;
		if (this.#lossRun > MAX_LOSS_RUN) {
			this.#goIdle(false);
			return WAIT;
		}
		this.#counts.concealed++;
		if (head || !canGrow) {
			// Newer packets are here, so this one is lost (or reordered past its time): move on.
			this.#nextTs += FRAME_SAMPLES;
			this.#expectedSeq++;
		}
		// Otherwise nothing newer arrived either: we are ahead of the stream. Hold; the frame plays next pop.
		return LOSS;
	}

	#duePacket(): Entry<P> | undefined {
		const head = this.#queue[0];
		return head && head.ts - this.#nextTs < FRAME_SAMPLES / 2 ? head : undefined;
	}

	#play(entry: Entry<P>): Playout<P> {
		this.#queue.shift();
		this.#advancePast(entry);
		this.#counts.played++;
		this.#lossRun = 0;
		this.#silentSinceMs = null;
		return { kind: 'frame', packet: entry.packet };
	}

	#advancePast(entry: Entry<P>): void {
		this.#nextTs = entry.ts + FRAME_SAMPLES;
		this.#expectedSeq = entry.seq + 1;
		this.#lastWasDtx = (entry.packet.flags & FLAG_DTX) !== 0;
		this.#recentlyHandled.add(entry.seq);
	}

	/**
	 * Stop playing and pre-buffer the next packets afresh. The transit
	 * baseline is forgotten (a restarted sender has a new clock offset); the
	 * jitter history is kept (it describes the network, not the sender).
	 */
	#goIdle(dropBuffered: boolean): void {
		this.#started = false;
		if (dropBuffered) {
			this.#counts.skipped += this.#queue.length;
			for (const entry of this.#queue) this.#recentlyHandled.add(entry.seq);
			this.#queue = [];
		}
		this.#transits.clear();
		for (const entry of this.#queue) this.#transits.add(entry.transit);
	}

	/**
	 * Whether a packet was due (capture time + the smallest recent transit) while our own tab stalled:
	 * the last stretch without pops, or the one going on now (the packets a stalled tab is handed before
	 * its first pop).
	 */
	#dueWhileStalled(ts: number, arrivalMs: number): boolean {
		if (this.#transits.size() === 0) return false;
		const dueMs = ts / SAMPLES_PER_MS + this.#transits.min();
		if (this.#lastPopMs !== null && arrivalMs - this.#lastPopMs > OWN_STALL_MS) return dueMs >= this.#lastPopMs;
		return dueMs >= this.#ownStall.fromMs && dueMs <= this.#ownStall.toMs;
	}

	#headroomMs(nowMs: number, ts: number): number {
		const baseline = this.#transits.size() > 0 ? this.#transits.min() : nowMs - ts / SAMPLES_PER_MS;
		return nowMs - ts / SAMPLES_PER_MS - baseline;
	}

	#updateTarget(): void {
		// The long window's percentile, unless what lifts it above the recent one happened only once.
		const recurringMs = Math.max(this.#recentJitters.quantile(JITTER_QUANTILE), this.#jitterPeaks.recurring(RECUR_APART_BUCKETS));
		const quantileMs = Math.min(this.#jitters.quantile(JITTER_QUANTILE), recurringMs);
		const wanted = Math.min(MAX_TARGET_MS, Math.max(MIN_TARGET_MS, Math.ceil(quantileMs)));
		this.#targetMs = this.#jitters.size() < JITTER_MIN_SAMPLES ? Math.max(INITIAL_TARGET_MS, wanted) : wanted;
	}
}

/** Maps a wrapping u32 counter onto a plain number line, relative to the newest value seen. */
class Unwrapper {
	#newest: number | null = null;
	#newestRaw = 0;

	newest(): number | null {
		return this.#newest;
	}

	unwrap(raw: number): number {
		if (this.#newest === null) {
			this.#newest = raw;
			this.#newestRaw = raw;
			return raw;
		}
		const value = this.#newest + seqDiff(raw, this.#newestRaw);
		if (value > this.#newest) {
			this.#newest = value;
			this.#newestRaw = raw;
		}
		return value;
	}
}

/** The last `capacity` numbers, with their minimum and quantiles: kept sorted as they come and go. */
class SlidingWindow {
	#arrivals: number[] = [];
	#next = 0;
	#sorted: number[] = [];

	constructor(readonly capacity: number) {}

	add(value: number): void {
		if (this.#arrivals.length < this.capacity) {
			this.#arrivals.push(value);
		} else {
			this.#sorted.splice(this.#indexOf(this.#arrivals[this.#next]), 1);
			this.#arrivals[this.#next] = value;
		}
		this.#next = (this.#next + 1) % this.capacity;
		this.#sorted.splice(this.#indexOf(value), 0, value);
	}

	clear(): void {
		this.#arrivals = [];
		this.#sorted = [];
		this.#next = 0;
	}

	size(): number {
		return this.#sorted.length;
	}

	min(): number {
		return this.#sorted.length > 0 ? this.#sorted[0] : Number.POSITIVE_INFINITY;
	}

	quantile(q: number): number {
		if (this.#sorted.length === 0) return 0;
		return this.#sorted[Math.min(this.#sorted.length - 1, Math.floor(q * this.#sorted.length))];
	}

	/** First position whose value is ≥ value (binary search). */
	#indexOf(value: number): number {
		let low = 0;
		let high = this.#sorted.length;
		while (low < high) {
			const mid = (low + high) >> 1;
			if (this.#sorted[mid] < value) low = mid + 1;
			else high = mid;
		}
		return low;
	}
}

/** The largest value seen in each bucket of time over a span: which levels recur and which came once. */
class BucketMaxima {
	#buckets: { index: number; max: number }[] = []; // oldest first

	constructor(
		readonly bucketMs: number,
		readonly spanMs: number
	) {}

	add(atMs: number, value: number): void {
		const index = Math.floor(atMs / this.bucketMs);
		const last = this.#buckets.at(-1);
		if (last && last.index >= index) last.max = Math.max(last.max, value);
		else this.#buckets.push({ index, max: value });
		const oldest = index - Math.ceil(this.spanMs / this.bucketMs);
		while (this.#buckets[0].index <= oldest) this.#buckets.shift();
	}

	/** The highest level reached in a bucket at least `apart` buckets from the one holding the highest of all. */
	recurring(apart: number): number {
		let top = this.#buckets[0];
		if (!top) return 0;
		for (const bucket of this.#buckets) if (bucket.max > top.max) top = bucket;
		let level = 0;
		for (const bucket of this.#buckets) if (Math.abs(bucket.index - top.index) >= apart) level = Math.max(level, bucket.max);
		return level;
	}
}

/** A set that remembers only its last `capacity` insertions. */
class RecentSet {
	#members = new Set<number>();
	#order: number[] = [];

	constructor(readonly capacity: number) {}

	add(value: number): void {
		if (this.#members.has(value)) return;
		this.#members.add(value);
		this.#order.push(value);
		if (this.#order.length > this.capacity) this.#members.delete(this.#order.shift()!);
	}

	has(value: number): boolean {
		return this.#members.has(value);
	}
}
