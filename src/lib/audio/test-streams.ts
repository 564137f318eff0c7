/**
 * A speaker's stream, delivered as a test says, judged as a child judges it (stream-guard.ts marks,
 * withholding.ts lateness): for the unit tests and bench:hostile.
 */
import { JitterBuffer } from './jitter-buffer';
import { StreamGuard } from './stream-guard';
import { advert, lookupIn } from './test-adverts';
import { TreeEngine } from './tree-engine';
import { chainPassesThrough } from './tree-planner';
import { seededRandom } from './tree-simulation';
import { delayed, fullerBranch, isLate, noteLag, notePacket, notePlayable, shortBranch, unevenVoice, type ParentClock, type ShortSpell, type StageVoice } from './withholding';

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

/**
 * A relay that, from `fromMs` on, sends each message after its own random delay below `jitterMs`
 * (seeded), an `arrives` for unevenJudgedAt: each packet rides in two messages (its own and the
 * next, link-frame.ts), so it comes with the earlier of the two; 10 ms on the way otherwise.
 */
export function jitteredRelay(jitterMs: number, seed: number, fromMs = 4_000): (seq: number, sentAt: number) => number {
	const random = seededRandom(seed);
	const delays: number[] = [];
	const delay = (seq: number) => (delays[seq] ??= random() * jitterMs);
	return (seq, sentAt) => sentAt + 10 + (sentAt < fromMs ? 0 : Math.min(delay(seq), 20 + delay(seq + 1)));
}

/**
 * Speaker A sends a packet every 20 ms from t = 0; `arrives(seq, sentAt)` says when the parent
 * delivers each (null: never). The child plays them through a real jitter buffer, popping every 20 ms
 * except while its own tab stalls (`stall`: [from, to); what arrives meanwhile is handled at `to`, after
 * its first pop),
 * tells the withholding rules what became of each packet (notePacket, notePlayable) and judges every
 * tick at `depth`, as audio-room.ts does. Returns when it judged the parent uneven (Infinity: never,
 * in `untilMs`), and how many packets came too late to play.
 */
export function unevenJudgedAt(arrives: (seq: number, sentAt: number) => number | null, { untilMs = 20_000, depth = 1, stall = [Infinity, Infinity] as [number, number] } = {}) {
	const buffer = new JitterBuffer();
	const clock: ParentClock = {};
	const stalled = (t: number) => t >= stall[0] && t < stall[1];
	const events: [at: number, order: number, what: () => void][] = [];
	let late = 0;
	let ownResumedAt = Number.NEGATIVE_INFINITY;
	let judged: number | null = null;
	for (let seq = 1; seq * 20 <= untilMs; seq++) {
		const sentAt = seq * 20;
		const arrival = arrives(seq, sentAt);
		if (arrival === null) continue;
		// What came while our tab stalled is handled once it wakes, after its first pop.
		const at = stalled(arrival) ? stall[1] : arrival;
		const packet = { seq, captureTs: sentAt * 48, flags: 0, payload: new Uint8Array(1) };
		events.push([
			at,
			stalled(arrival) ? 2 : 0,
			() => {
				notePacket(clock, at);
				const outcome = buffer.push(packet, at);
				if (outcome === 'late') late++;
				notePlayable(clock, at, 'A', outcome === 'late' ? 'late' : outcome === 'late-own-stall' ? 'excused' : 'on-time');
			}
		]);
	}
	for (let t = 0; t <= untilMs; t += 10) {
		if (stalled(t)) continue;
		if (t === stall[1]) ownResumedAt = t;
		events.push([
			t,
			1,
			() => {
				if (t % 20 === 0) buffer.pop(t);
				if (t % TICK_MS === 0 && judged === null && unevenVoice(clock, t, { ownResumedAt, depth })) judged = t;
			}
		]);
	}
	events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
	for (const [, , what] of events) what();
	return { judgedAt: judged ?? Infinity, late };
}

/**
 * A speaker A that leaves a fellow B out of its `h` (and holds B's voice back from its branch) while B
 * sends and lists both: a listener at `depth` in A's branch. The listener judges its branch and steps its engine every tick, as audio-room.ts
 * does; returns when the engine moves it into B's branch (Infinity: never, within `untilMs`).
 */
export function shortBranchLeftAt(depth: number, { untilMs = 20_000 } = {}): number {
	// Two chains alike, each member feeding one: A's ends in us; B's has a free slot at the end, where
	// we hang now (no move-up tempts us there: it is no shallower).
	const chain = (top: string, name: string, free: boolean) => [
		advert(top, 0, free && depth === 1 ? 2 : 1, 1),
		...Array.from({ length: depth - 1 }, (_, i) => advert(`${name}${i + 1}`, i + 1, free && i === depth - 2 ? 2 : 1, 1, i === 0 ? top : `${name}${i}`))
	];
	const parent = depth === 1 ? 'A' : `L${depth - 1}`;
	const adverts = [...chain('A', 'L', false), ...chain('B', 'M', true)];
	const lookup = lookupIn(adverts);
	const stage: StageVoice[] = [
		{ peerId: 'A', tag: 1, sending: true, passes: [1] },
		{ peerId: 'B', tag: 2, sending: true, passes: [1, 2] }
	];
	const engine = new TreeEngine('me', 1);
	engine.attached(parent, depth - 1);
	let spell: ShortSpell | null = null;
	for (let now = 0; now <= untilMs; now += TICK_MS) {
		const judged = shortBranch(spell, 'A', fullerBranch('A', stage), now, { ownResumedAt: Number.NEGATIVE_INFINITY, depth });
		spell = judged.spell;
		if (judged.leave) {
			spell = null;
			engine.leaveBranch('A', now);
		}
		const step = engine.step(now, { candidates: adverts, lookup }, { standbyReady: false, dialing: false });
		if (step.kind === 'move' && (step.parent.peerId === 'B' || chainPassesThrough(step.parent, 'B', lookup))) return now;
	}
	return Number.POSITIVE_INFINITY;
}

