/**
 * A speaker's stream, delivered as a test says, judged as a child judges it (stream-guard.ts marks,
 * withholding.ts lateness): for the unit tests and bench:hostile.
 */
import { StreamGuard } from './stream-guard';
import { delayed, isLate, noteLag, type ParentClock } from './withholding';

/** How often a child judges its parent (audio-room.ts TICK_MS). */
const TICK_MS = 50;

/**
 * Speakers each send a packet every 20 ms from t = 0 and mark the last one sent every 4 s (their
 * presence beats, `markOffsets` into each 4 s: speaker A at the first, B at the second, …), each
 * mark reaching the child `markMs` later; `arrives(seq, sentAt)` says when the parent delivers each
 * packet (null: never). The child judges every tick; returns when it judged the parent delaying
 * (Infinity: never, in `untilMs`) and how many packets it refused as late.
 */
export function delayJudgedAt(arrives: (seq: number, sentAt: number) => number | null, { depth = 1, markMs = 30, untilMs = 20_000, markOffsets = [0] } = {}) {
	const guard = new StreamGuard();
	const events: [at: number, what: () => void][] = [];
	const clock: ParentClock = {};
	let late = 0;
	markOffsets.forEach((offset, i) => {
		const speaker = String.fromCharCode(65 + i);
		for (let seq = 1; seq * 20 <= untilMs; seq++) {
			const sentAt = seq * 20;
			if (sentAt % 4_000 === offset % 4_000) events.push([sentAt + markMs, () => guard.mark(speaker, 0, seq, sentAt + markMs)]);
			const at = arrives(seq, sentAt);
			if (at === null) continue;
			events.push([
				at,
				() => {
					const sent = guard.sentBefore(speaker, seq);
					const lag = sent === undefined ? undefined : at - sent;
					if (lag !== undefined && isLate(lag, depth)) late++;
					noteLag(clock, at, lag, depth, speaker);
				}
			]);
		}
	});
	for (let t = 0; t <= untilMs; t += TICK_MS) events.push([t + 0.5, () => {}]);
	events.sort((x, y) => x[0] - y[0]);
	for (const [at, what] of events) {
		what();
		if (at % TICK_MS === 0.5 && delayed(clock, at)) return { judgedAt: at, late };
	}
	return { judgedAt: Infinity, late };
}
