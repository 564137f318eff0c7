import { describe, expect, it } from 'vitest';
import { seededRandom } from './tree-simulation';
import { delayJudgedAt, jitteredRelay, shortBranchLeftAt, unevenJudgedAt } from './test-streams';
import {
	FIRST_GRACE_MS,
	FLOW_WINDOW_MS,
	LATE_MS,
	LATE_SPAN_MS,
	REPAIR_GRACE_MS,
	SHORT_BRANCH_MS,
	UNEVEN_MIN_PACKETS,
	UNEVEN_PER_DEPTH_MS,
	SHORT_BRANCH_PER_DEPTH_MS,
	WITHHELD_MS,
	brokenChain,
	voicesEveryBranchCarries,
	fullerBranch,
	heldBack,
	isLate,
	noteAudio,
	notePacket,
	noteRepairing,
	noteSent,
	noteVoiceQuiet,
	QUIET_NOTICE_MS,
	quietToTell,
	shortBranch,
	shortBranches,
	withheldTooLong,
	type Flow,
	type ParentClock,
	type BrokenSpell,
	type ShortSpell,
	type StageVoice,
	type QuietContext
} from './withholding';

const TICK = 50;
const KEEPALIVE = 100;

/**
 * A parent adopted at 0 with audio, then only what `sends(t)` says at each 10 ms step; the child
 * judges every tick. Returns when it judged the parent withholding (Infinity: never, in `untilMs`).
 */
function judgedAt(sends: (t: number) => 'keepalive' | 'repairing' | 'audio' | null, untilMs = 20_000, context: Partial<QuietContext> = {}): number {
	const clock: ParentClock = { audioAt: 0 };
	const ctx: QuietContext = { expectingSince: 0, ownResumedAt: -Infinity, depth: 1, ...context };
	for (let t = 10; t <= untilMs; t += 10) {
		const what = sends(t);
		if (what) notePacket(clock, t);
		if (what === 'repairing') noteRepairing(clock, t);
		if (what === 'audio') noteAudio(clock, t, 'A');
		if (t % TICK === 0 && withheldTooLong(clock, t, ctx)) return t;
	}
	return Infinity;
}

const keepalives = (t: number) => (t % KEEPALIVE === 0 ? 'keepalive' : null);

describe('withholding', () => {
	it('judges a parent that keeps the link alive but sends no audio after 0.8 s, later deeper down', () => {
		expect(judgedAt(keepalives)).toBe(WITHHELD_MS + TICK);
		expect(judgedAt(keepalives, 20_000, { depth: 3 })).toBe(WITHHELD_MS + 200 + TICK);
	});

	it('never judges a parent whose audio keeps coming', () => {
		expect(judgedAt((t) => (t % 20 === 0 ? 'audio' : null))).toBe(Infinity);
	});

	it('gives a parent that says it is repairing 3.6 s, then judges it', () => {
		const at = judgedAt((t) => (t === 500 ? 'repairing' : keepalives(t)));
		expect(at).toBeGreaterThanOrEqual(500 + REPAIR_GRACE_MS);
		expect(at).toBeLessThanOrEqual(500 + REPAIR_GRACE_MS + TICK);
	});

	it('gives that grace once between two audio packets: saying it again and again buys nothing more', () => {
		// A withholder that says "repairing" from 500 ms on, every 2 s: each would renew the grace for ever.
		const at = judgedAt((t) => (t % 2_000 === 500 ? 'repairing' : keepalives(t)));
		expect(at).toBeGreaterThanOrEqual(500 + REPAIR_GRACE_MS);
		expect(at).toBeLessThanOrEqual(500 + REPAIR_GRACE_MS + TICK);
	});

	it('gives a fresh grace after audio came again (an honest relay that repairs twice)', () => {
		const sends = (t: number) => (t === 500 || t === 7_500 ? 'repairing' : t > 3_000 && t < 7_000 && t % 20 === 0 ? 'audio' : keepalives(t));
		const at = judgedAt(sends);
		expect(at).toBeGreaterThanOrEqual(7_500 + REPAIR_GRACE_MS);
		expect(at).toBeLessThanOrEqual(7_500 + REPAIR_GRACE_MS + TICK);
	});

	it('makes a grace last as long as the audio that flowed before it, at most REPAIR_GRACE_MS', () => {
		// Audio for 2 s after the first grace, then "repairing" again (QUIET_NOTICE_MS after it stopped): 2 s of grace.
		const sends = (t: number) => (t === 500 || t === 5_400 ? 'repairing' : t > 3_000 && t <= 5_000 && t % 20 === 0 ? 'audio' : keepalives(t));
		const at = judgedAt(sends);
		expect(at).toBeGreaterThan(5_400 + 1_900);
		expect(at).toBeLessThanOrEqual(5_400 + 2_000 + TICK);
	});

	it('judges a relay that lets a short burst through between two "repairing"s (each burst would have bought a fresh 3.6 s)', () => {
		// Ten packets 10 ms apart every 3 s, each followed by "repairing": 6 % of the room, and never judged before.
		const sends = (t: number) => {
			const inCycle = (t - 500) % 3_000;
			if (t >= 500 && inCycle < 100) return 'audio';
			if (t >= 500 && inCycle === 200) return 'repairing';
			return keepalives(t);
		};
		// Its first grace is FIRST_GRACE_MS (a burst's 90 ms of audio earns no more): judged then, before the next burst.
		expect(judgedAt(sends)).toBe(500 + 200 + FIRST_GRACE_MS);
		// Past its first grace (at 300 ms), 4.7 s of audio earn a whole one (at 5.4 s); then a burst at 8.5 s earns 90 ms.
		const later = (t: number) => {
			if (t === 300 || t === 5_400) return 'repairing';
			if (t > 300 && t < 5_000) return t % 20 === 0 ? 'audio' : null;
			const inCycle = (t - 8_500) % 3_000;
			if (t >= 8_500 && inCycle < 100) return 'audio';
			if (t >= 8_500 && inCycle === 200) return 'repairing';
			return keepalives(t);
		};
		expect(judgedAt(later)).toBe(8_700 + WITHHELD_MS + TICK);
	});

	it('keeps a spell going through an honest relay’s pauses (a loaded tab delivers in bursts), so its grace is whole', () => {
		// 4 s of audio that comes in bursts with 300 ms pauses, then "repairing": the whole 3.6 s.
		const sends = (t: number) => (t === 500 || t === 5_400 ? 'repairing' : t > 1_000 && t <= 5_000 && t % 500 >= 300 && t % 10 === 0 ? 'audio' : keepalives(t));
		const at = judgedAt(sends);
		expect(at).toBeGreaterThanOrEqual(5_400 + REPAIR_GRACE_MS);
		expect(at).toBeLessThanOrEqual(5_400 + REPAIR_GRACE_MS + TICK);
	});

	it('counts the quiet from when a stalled parent’s packets came again, so its backlog of audio can follow', () => {
		// Audio until 900 ms, then nothing at all until 2,100 ms (its tab stalled; silence is judged
		// elsewhere), then keep-alives first and its audio 300 ms later: not withholding.
		const stalled = (t: number) => ((t <= 900 || t >= 2_400) && t % 20 === 0 ? 'audio' : t > 900 && t < 2_100 ? null : keepalives(t));
		expect(judgedAt(stalled)).toBe(Infinity);
	});

	it('gives that resumption once between two audio packets: a withholder that pauses now and then is still judged', () => {
		// Audio until 1 s, then keep-alives with a 500 ms pause every 700 ms (never silent for the 1 s
		// that counts as dead): each pause would restart the clock. The first resumption (1.9 s) counts.
		const pausing = (t: number) => (t <= 1_000 ? (t % 20 === 0 ? 'audio' : null) : t % 700 < 500 ? null : keepalives(t));
		expect(judgedAt(pausing)).toBe(1_900 + WITHHELD_MS + TICK);
	});

	it('counts the quiet from our own last stall, not across it', () => {
		expect(judgedAt(keepalives, 20_000, { ownResumedAt: 5_000 })).toBe(5_000 + WITHHELD_MS + TICK);
	});

	it('counts from when a speaker began sending, not from the last audio before', () => {
		expect(judgedAt(keepalives, 20_000, { expectingSince: 4_000 })).toBe(4_000 + WITHHELD_MS + TICK);
	});

	it('judges a parent that passes a packet on now and then, as if it sent none', () => {
		// Audio until 1 s, then one packet in 15 (with keep-alives): enough to restart a clock that
		// counted from the last packet, for ever, while the child hears 7 % of the speaker. The
		// flow's last half second may still count as flowing with one trickled packet in it.
		const trickle = (t: number) => (t % 20 !== 0 ? null : t <= 1_000 || t % 300 === 0 ? 'audio' : keepalives(t));
		const at = judgedAt(trickle);
		expect(at).toBeGreaterThan(1_000 + WITHHELD_MS);
		expect(at).toBeLessThanOrEqual(1_000 + FLOW_WINDOW_MS + WITHHELD_MS + TICK);
	});

	it('does not give a fresh grace for a packet trickled between two "repairing"s', () => {
		// Each trickled packet would make the next "repairing" a new grace of 3 s.
		const sends = (t: number) => (t % 1_000 === 500 ? 'repairing' : t % 1_000 === 400 ? 'audio' : keepalives(t));
		const at = judgedAt(sends);
		expect(at).toBeGreaterThanOrEqual(500 + REPAIR_GRACE_MS);
		expect(at).toBeLessThanOrEqual(500 + REPAIR_GRACE_MS + TICK);
	});

	it('never judges an honest relay that loses half the packets, or delivers them in bursts', () => {
		expect(judgedAt((t) => (t % 40 === 0 ? 'audio' : t % 100 === 0 ? 'keepalive' : null))).toBe(Infinity);
		// A loaded tab: 200 ms of nothing, then the packets it held back, 10 ms apart, again and again.
		expect(judgedAt((t) => (t % 400 < 200 && t % 10 === 0 ? 'audio' : null))).toBe(Infinity);
	});
});

describe('holding one speaker back', () => {
	/**
	 * A parent adopted at 0 that passes on speaker A's packets while `a(t)` and B's while `b(t)`,
	 * 20 ms apart each, and says B stopped reaching it (VOICE_QUIET) when `quiet(t)`; the child asks
	 * about B every tick. Returns when it judged B held back.
	 */
	function heldBackAt(
		b: (t: number) => boolean,
		context: Partial<QuietContext> = {},
		a: (t: number) => boolean = () => true,
		quiet: (t: number) => boolean = () => false,
		stalled: (t: number) => boolean = () => false
	): number {
		const clock: ParentClock = { audioAt: 0 };
		const ctx: QuietContext = { expectingSince: 0, ownResumedAt: -Infinity, depth: 1, ...context };
		for (let t = 10; t <= 20_000; t += 10) {
			if (stalled(t)) continue;
			const speaker = t % 20 === 0 ? (a(t) ? 'A' : null) : b(t) ? 'B' : null;
			if (quiet(t)) {
				notePacket(clock, t);
				noteVoiceQuiet(clock, 'B', t);
			} else if (speaker) {
				notePacket(clock, t);
				noteAudio(clock, t, speaker);
			} else if (t % KEEPALIVE === 0) notePacket(clock, t);
			if (t % TICK === 0 && heldBack(clock, 'B', t, ctx)) return t;
		}
		return Infinity;
	}

	it('judges a parent that passes one speaker on and stops passing another, in under a second to depth 3', () => {
		const at = heldBackAt((t) => t <= 2_000);
		expect(at).toBeGreaterThan(1_990 + WITHHELD_MS);
		expect(at).toBeLessThanOrEqual(2_000 + WITHHELD_MS + TICK);
		const deep = heldBackAt((t) => t <= 2_000, { depth: 3 });
		expect(deep).toBeGreaterThan(1_990 + WITHHELD_MS + 200);
		expect(deep).toBeLessThan(2_000 + 1_000 + TICK);
	});

	it('judges one that never passes that speaker on, from when the child expected it', () => {
		expect(heldBackAt(() => false)).toBe(WITHHELD_MS + TICK);
		expect(heldBackAt(() => false, { expectingSince: 5_000 })).toBe(5_000 + WITHHELD_MS + TICK);
	});

	it('judges one that trickles that speaker’s packets', () => {
		const at = heldBackAt((t) => t <= 2_000 || t % 300 === 10);
		expect(at).toBeLessThanOrEqual(2_000 + FLOW_WINDOW_MS + WITHHELD_MS + TICK);
	});

	it('waits out the grace for a parent that said the voice stopped reaching it, an honest relay told before its child’s patience ran out', () => {
		// B stops at 4 s; the relay's own inflow of B stopped then too, and it says so QUIET_NOTICE_MS later.
		const told = 4_000 + QUIET_NOTICE_MS;
		expect(told).toBeLessThan(4_000 + WITHHELD_MS - 200);
		expect(heldBackAt((t) => t <= 4_000, {}, undefined, (t) => t === told + 10)).toBeGreaterThan(told + REPAIR_GRACE_MS);
		// B comes back at 6 s and stops again at 10 s: a new spell, a new notice, a new grace.
		const b = (t: number) => t <= 4_000 || (t >= 6_000 && t <= 10_000);
		expect(heldBackAt(b, {}, undefined, (t) => t === told + 10 || t === 10_410)).toBeGreaterThan(10_410 + REPAIR_GRACE_MS);
		// Back for 1 s only, then stopped again: a second of grace, as long as the voice flowed.
		const short = (t: number) => t <= 4_000 || (t >= 6_000 && t <= 7_000);
		const at = heldBackAt(short, {}, undefined, (t) => t === told + 10 || t === 7_410);
		expect(at).toBeGreaterThan(7_410 + 900);
		expect(at).toBeLessThanOrEqual(7_410 + 1_000 + TICK);
	});

	it('gives a censoring parent that keeps saying the voice stopped reaching it one grace, not an endless one', () => {
		const at = heldBackAt((t) => t <= 4_000, {}, undefined, (t) => t > 4_400 && t % 500 === 10);
		expect(at).toBeGreaterThan(4_510 + REPAIR_GRACE_MS);
		expect(at).toBeLessThanOrEqual(4_510 + REPAIR_GRACE_MS + TICK);
		// One that never passed B on buys a single grace too.
		expect(heldBackAt(() => false, {}, undefined, (t) => t % 500 === 10)).toBeLessThanOrEqual(10 + REPAIR_GRACE_MS + TICK);
	});

	it('never judges one that passes both on, half of one lost on the way', () => {
		expect(heldBackAt((t) => t % 40 === 10)).toBe(Infinity);
	});

	it('judges a speaker that is the parent for its own voice as for another’s', () => {
		expect(heldBackAt(() => false, { parent: 'B' })).toBe(WITHHELD_MS + TICK);
		expect(heldBackAt(() => false, { parent: 'A' })).toBe(WITHHELD_MS + TICK);
	});

	it('waits, after a speaker parent’s tab stalled, for its own voice to come through its encoder again', () => {
		// Nothing comes from 2 s to 2.9 s; then A's backlog flows at once, and B's own voice only at 3.4 s.
		const stall = (t: number) => t > 2_000 && t < 2_900;
		const own = (t: number) => t <= 2_000 || t >= 3_400;
		expect(heldBackAt(own, { parent: 'B' }, undefined, undefined, stall)).toBe(Infinity);
		// Had B been a voice it relays, its backlog would have come with A's: judged.
		expect(heldBackAt(own, { parent: 'A' }, undefined, undefined, stall)).toBeLessThan(3_400);
		// A speaker that keeps stalling (0.4 s in every 0.7 s) and never sends itself again gets that grace
		// once: from its first resumption, at 2.52 s, not from each (then it would never be judged).
		const stalls = (t: number) => t > 2_000 && t % 700 > 0 && t % 700 < 420;
		const at = heldBackAt((t) => t <= 2_000, { parent: 'B' }, undefined, undefined, stalls);
		expect(at).toBeGreaterThan(2_520 + WITHHELD_MS);
		expect(at).toBeLessThan(3_500);
	});

	it('leaves a parent that passes nothing at all to the silence and withholding rules', () => {
		expect(heldBackAt((t) => t <= 2_000, {}, (t) => t <= 2_000)).toBe(Infinity);
	});
});

describe('delaying', () => {
	it('judges a relay that passes every packet on 2.5 s late, within 2.2 s of the first mark that shows it', () => {
		const { judgedAt: at, late } = delayJudgedAt((_, sentAt) => sentAt + 2_500);
		// The first mark comes at 4 s: the packets it covers keep coming until 6.5 s, late from 5.5 s on.
		expect(at).toBeGreaterThan(4_000 + LATE_MS + LATE_SPAN_MS);
		expect(at).toBeLessThan(4_000 + LATE_MS + LATE_SPAN_MS + 200);
		expect(late).toBeGreaterThan(LATE_SPAN_MS / 20);
	});

	it('judges a relay that delays two speakers whose marks come at other times: one’s packets on time do not hide the other’s lateness', () => {
		// A's mark at 4 s, B's at 6 s: B's packets that its mark has not covered yet, or covered lately, come "on time" while A's are late.
		const { judgedAt: at } = delayJudgedAt((_, sentAt) => sentAt + 3_000, { markOffsets: [0, 2_000] });
		expect(at).toBeLessThan(4_000 + LATE_MS + LATE_SPAN_MS + 200);
		for (const delay of [2_100, 4_500]) expect(delayJudgedAt((_, sentAt) => sentAt + delay, { markOffsets: [0, 2_000] }).judgedAt, `${delay} ms`).toBeLessThan(Infinity);
		expect(delayJudgedAt((_, sentAt) => sentAt + 300, { markOffsets: [0, 2_000] }).judgedAt).toBe(Infinity);
	});

	it('judges longer delays too, and shorter ones only once they pass the limit by the span', () => {
		for (const delay of [2_100, 3_000, 4_500, 8_000]) expect(delayJudgedAt((_, sentAt) => sentAt + delay).judgedAt, `${delay} ms`).toBeLessThan(Infinity);
		for (const delay of [0, 300, 1_200, 1_900]) expect(delayJudgedAt((_, sentAt) => sentAt + delay).judgedAt, `${delay} ms`).toBe(Infinity);
	});

	it('never judges an honest relay whose tab stalled for 3 s and then delivered its backlog at once', () => {
		// Stalled from 3 s to 6 s, across the speaker's first mark; its backlog comes in 300 ms.
		const stall = (at: number) => (at >= 3_000 && at < 6_000 ? 6_000 + (at - 3_000) / 10 : at);
		const { judgedAt: at, late } = delayJudgedAt((_, sentAt) => stall(sentAt + 15));
		expect(at).toBe(Infinity);
		// What came more than 1.5 s late was dropped, not played: a burst, not a delayed stream.
		expect(late).toBeGreaterThan(0);
	});

	it('never judges a lossy, jittery honest path ten hops deep, nor refuses anything on it', () => {
		let seed = 7;
		const random = () => ((seed = (seed * 16_807) % 2_147_483_647) / 2_147_483_647);
		const result = delayJudgedAt((_, sentAt) => (random() < 0.05 ? null : sentAt + 200 + random() * 400), { depth: 10 });
		expect(result).toEqual({ judgedAt: Infinity, late: 0 });
	});

	it('judges deeper members later, so the member right below a delaying relay moves first', () => {
		const delay = (_: number, sentAt: number) => sentAt + 3_000;
		expect(delayJudgedAt(delay, { depth: 3 }).judgedAt - delayJudgedAt(delay, { depth: 1 }).judgedAt).toBeGreaterThanOrEqual(200 - TICK);
	});

	it('a member passes nothing late on: below an honest relay under a delaying one, its child does not judge it', () => {
		// The relay at depth 1 is fed 3 s late and passes on, 80 ms later, only what is not late for it.
		const relayFed = (markMs: number) => (seq: number, sentAt: number) => {
			const at = sentAt + 3_000;
			const mark = Math.ceil(seq / 200) * 4_000 + markMs; // when the first mark covering seq reached the relay
			return mark <= at && isLate(at - mark, 1) ? null : at + 80;
		};
		// The marks reach both at once: the child (depth 2) sees nothing late at all.
		expect(delayJudgedAt(relayFed(30), { depth: 2, markMs: 30 })).toEqual({ judgedAt: Infinity, late: 0 });
		// They reach the child 200 ms before the relay: the packets at the edge (200 ms + the hop's 80 ms
		// - the level's 100 ms of them, after each of the 5 marks) are late for it too, never for long.
		const skewed = delayJudgedAt(relayFed(230), { depth: 2, markMs: 30 });
		expect(skewed.judgedAt).toBe(Infinity);
		expect(skewed.late).toBeGreaterThan(0);
		expect(skewed.late).toBeLessThanOrEqual((5 * (200 + 80 - 100)) / 20);
	});
});

describe('passing audio on unevenly', () => {
	it('judges a relay that passes each packet on after a different delay below 1.2 s, within 3 s, though none is late by the marks', () => {
		// Each delay is below what the marks call late (LATE_MS at depth 1): only this rule can tell.
		expect(isLate(1_200 + 10, 1)).toBe(false);
		for (const seed of [5, 6, 7]) {
			const { judgedAt, late } = unevenJudgedAt(jitteredRelay(1_200, seed));
			expect(judgedAt, `seed ${seed}`).toBeGreaterThan(4_000);
			expect(judgedAt, `seed ${seed}`).toBeLessThan(7_000);
			expect(late).toBeGreaterThan(UNEVEN_MIN_PACKETS / 2);
		}
	});

	it('judges deeper members a second later per level, so the member right below the relay moves first', () => {
		const at = (depth: number) => unevenJudgedAt(jitteredRelay(1_200, 5), { depth }).judgedAt;
		expect(at(2) - at(1)).toBeGreaterThanOrEqual(UNEVEN_PER_DEPTH_MS);
		expect(at(3) - at(1)).toBeGreaterThanOrEqual(2 * UNEVEN_PER_DEPTH_MS);
		expect(at(3)).toBeLessThan(Infinity);
	});

	it('never judges an honest path with up to 100 ms of jitter and 5 % loss', () => {
		const random = seededRandom(9);
		expect(unevenJudgedAt((_, sentAt) => (random() < 0.05 ? null : sentAt + 10 + random() * 100)).judgedAt).toBe(Infinity);
	});

	it('never judges a relay whose tab stalled for 900 ms and then delivered its backlog at once', () => {
		// (A parent quiet for longer is the silence rule's: PARENT_SILENCE_MS.)
		expect(unevenJudgedAt((_, sentAt) => (sentAt + 10 >= 5_000 && sentAt + 10 < 5_900 ? 5_900 : sentAt + 10)).judgedAt).toBe(Infinity);
	});

	it('never judges a new parent on a slower or burstier path: the jitter buffer holds for it rather than drop its packets late', () => {
		// After a move (at 4 s), each packet comes up to 900 ms later than on the old path, bunched into
		// bursts of up to 500 ms, at the full pace or a quarter of it (a loaded relay's). The old path's
		// shorter transit stays in the buffer's window for 2 s: none of this may count as late.
		for (const slower of [100, 300, 900]) {
			for (const burstMs of [0, 200, 500]) {
				for (const keep of [1, 4]) {
					const arrives = (seq: number, sentAt: number) => {
						if (sentAt < 4_000) return sentAt + 10;
						if (seq % keep !== 0) return null;
						return (burstMs ? Math.ceil(sentAt / burstMs) * burstMs : sentAt) + 10 + slower;
					};
					expect(unevenJudgedAt(arrives, { untilMs: 10_000 }), `${slower} ms slower, ${burstMs} ms bursts, 1 in ${keep}`).toEqual({ judgedAt: Infinity, late: 0 });
				}
			}
		}
	});

	it('never holds against the parent what came late because our own tab stalled', () => {
		// 1.5 s without a pop: the 75 packets of it are handed over after the first pop once it wakes, too
		// late to play, but due while it stalled. Counted, they would be 75 of the last 2 s's 100.
		expect(unevenJudgedAt((_, sentAt) => sentAt + 10, { stall: [5_000, 6_500] })).toEqual({ judgedAt: Infinity, late: 0 });
	});
});

describe('telling the children', () => {
	it('tells them once per quiet spell, QUIET_NOTICE_MS after the audio stopped', () => {
		expect(quietToTell(1_000, -Infinity, 1_000 + QUIET_NOTICE_MS)).toBe(false);
		expect(quietToTell(1_000, -Infinity, 1_001 + QUIET_NOTICE_MS)).toBe(true);
		// Told at 1,450: not again until audio has flowed since.
		expect(quietToTell(1_000, 1_450, 5_000)).toBe(false);
		expect(quietToTell(2_000, 1_450, 2_500)).toBe(true);
		// Nothing ever flowed: nothing to tell.
		expect(quietToTell(undefined, -Infinity, 5_000)).toBe(false);
	});

	it('says a speaker’s own voice stopped when its microphone drops most frames, by the measure its children judge it by', () => {
		// Its frames every 20 ms until 2 s, then one in five (a loaded device's capture), each sent; at its
		// child, which also gets a fellow speaker's voice in full from it, B's flow and A's. The speaker tells
		// the child B stopped once what it measures (`by`) has been quiet for QUIET_NOTICE_MS. Returns when
		// the child judged it, and when it was told.
		function judged(by: 'own flow' | 'last frame'): { at: number; toldAt: number } {
			const own: Flow = {};
			const child: ParentClock = { audioAt: 0 };
			const ctx: QuietContext = { expectingSince: 0, ownResumedAt: -Infinity, depth: 1, parent: 'B' };
			let toldAt = -Infinity;
			let lastFrameAt = -Infinity;
			for (let t = 20; t <= 4_000; t += 20) {
				notePacket(child, t);
				noteAudio(child, t, 'A');
				if (t <= 2_000 || t % 100 === 0) {
					noteSent(own, t);
					lastFrameAt = t;
					noteAudio(child, t, 'B');
				}
				if (t % TICK === 0 && quietToTell(by === 'own flow' ? own.audioAt : lastFrameAt, toldAt, t)) {
					toldAt = t;
					noteVoiceQuiet(child, 'B', t);
				}
				if (t % TICK === 0 && heldBack(child, 'B', t, ctx)) return { at: t, toldAt };
			}
			return { at: Infinity, toldAt };
		}
		// By its last frame (never 400 ms old), it says nothing, and the child judges it within ~1.2 s.
		const frame = judged('last frame');
		expect(frame.toldAt).toBe(-Infinity);
		expect(frame.at).toBeLessThan(2_000 + FLOW_WINDOW_MS + WITHHELD_MS + TICK);
		// By its flow, it tells the child before then, and the child waits out its grace (past the 4 s run).
		const flow = judged('own flow');
		expect(flow.toldAt).toBeGreaterThan(2_000 + QUIET_NOTICE_MS);
		expect(flow.toldAt).toBeLessThan(frame.at);
		expect(flow.at).toBe(Infinity);
	});

	it('tells them well before their own patience runs out, at any depth', () => {
		// The honest relay's notice (its tick after QUIET_NOTICE_MS, then a hop) against its child's verdict.
		expect(QUIET_NOTICE_MS + TICK + 100).toBeLessThan(WITHHELD_MS);
		// A relay whose parent went silent says so after QUIET_NOTICE_MS: its child waits out the grace, not WITHHELD_MS.
		const at = judgedAt((t) => (t === QUIET_NOTICE_MS + TICK ? 'repairing' : keepalives(t)));
		expect(at).toBeGreaterThanOrEqual(QUIET_NOTICE_MS + TICK + REPAIR_GRACE_MS);
	});
});

describe('a branch that leaves a voice out', () => {
	// Speakers A, B and C (tags 1, 2, 3); `passes` is each one's advert's h.
	const stage = (a: number[] | undefined, b: number[] | undefined, c: number[] | undefined, sending = [true, true, true]): StageVoice[] => [
		{ peerId: 'A', tag: 1, sending: sending[0], passes: a },
		{ peerId: 'B', tag: 2, sending: sending[1], passes: b },
		{ peerId: 'C', tag: 3, sending: sending[2], passes: c }
	];

	it('names a branch that carries every flowing voice when ours leaves one out', () => {
		// A speaker running modified code passes itself and C on, and says nothing of B, whose voice flows to B's and C's branches.
		expect(fullerBranch('A', stage([1, 3], [2, 3], [1, 2, 3]))).toBe('C');
		expect(fullerBranch('A', stage([1, 3], [1, 2, 3], [1, 3]))).toBe('B');
	});

	it('lists every short branch while some branch carries every voice, so a listener leaving one does not land in another', () => {
		expect(shortBranches(stage([1, 3], [2, 3], [1, 2, 3]))).toEqual(['A', 'B']);
		expect(shortBranches(stage([1, 3], [1, 2, 3], [1, 3]))).toEqual(['A', 'C']);
		expect(shortBranches(stage([1, 2, 3], [1, 2, 3], [1, 2, 3]))).toEqual([]);
		// Every branch short: none is better, none is left.
		expect(shortBranches(stage([1, 3], [2, 3], [3]))).toEqual([]);
		// B does not send: nobody owes its voice, and A's branch is not short for lacking it.
		expect(shortBranches(stage([1, 3], [2, 3], [1, 2, 3], [true, false, true]))).toEqual(['B']);
	});

	it('says nothing when ours carries them all, when no branch carries more, or of a voice that does not flow', () => {
		expect(fullerBranch('A', stage([1, 2, 3], [1, 2, 3], [1, 2, 3]))).toBeNull();
		// A and B cannot reach each other: every branch is short, none is better.
		expect(fullerBranch('A', stage([1, 3], [2, 3], [3]))).toBeNull();
		// B sends (its advert says so) but no speaker passes its voice on, itself included: a microphone that stalled.
		expect(fullerBranch('A', stage([1, 3], [1, 3], [1, 3]))).toBeNull();
		// B does not send: nobody owes its voice.
		expect(fullerBranch('A', stage([1, 3], [2, 3], [1, 2, 3], [true, false, true]))).toBeNull();
		// B passes nothing on and sends nothing, C is silent and passes only A: A's branch carries all that flows.
		expect(fullerBranch('A', stage([1], undefined, [1], [true, false, false]))).toBeNull();
		// The speaker we hang from is no longer on stage: another check's business.
		expect(fullerBranch('X', stage([1, 3], [2, 3], [1, 2, 3]))).toBeNull();
	});

	it('is left once short for SHORT_BRANCH_MS and a step per level, counted afresh for another branch and after our own stall', () => {
		const context = { ownResumedAt: -Infinity, depth: 1 };
		let spell: ShortSpell | null = null;
		const at = (now: number, root: string, fuller: string | null, ctx = context) => {
			const judged = shortBranch(spell, root, fuller, now, ctx);
			spell = judged.spell;
			return judged.leave;
		};
		expect(at(0, 'A', 'C')).toBe(false);
		expect(at(SHORT_BRANCH_MS, 'A', 'C')).toBe(false);
		// Ours carries all again for a moment: the spell starts over.
		expect(at(SHORT_BRANCH_MS + 10, 'A', null)).toBe(false);
		expect(at(SHORT_BRANCH_MS + 20, 'A', 'C')).toBe(false);
		expect(at(2 * SHORT_BRANCH_MS + 20, 'A', 'C')).toBe(false);
		expect(at(2 * SHORT_BRANCH_MS + 21, 'A', 'C')).toBe(true);
		// We moved to B's branch, which turns short: a new spell, and a second more at depth 2.
		spell = null;
		const deeper = { ownResumedAt: -Infinity, depth: 2 };
		expect(at(10_000, 'B', 'C', deeper)).toBe(false);
		expect(at(10_000 + SHORT_BRANCH_MS + 1, 'B', 'C', deeper)).toBe(false);
		expect(at(10_000 + SHORT_BRANCH_MS + SHORT_BRANCH_PER_DEPTH_MS + 1, 'B', 'C', deeper)).toBe(true);
		// Our own tab stalled during the spell: counted from when it came back.
		spell = null;
		expect(at(20_000, 'A', 'C')).toBe(false);
		const stalled = { ownResumedAt: 22_000, depth: 1 };
		expect(at(20_000 + SHORT_BRANCH_MS + 1, 'A', 'C', stalled)).toBe(false);
		expect(at(22_000 + SHORT_BRANCH_MS + 1, 'A', 'C', stalled)).toBe(true);
	});

	it('names the voices every branch carries, and holds a parent whose chain reaches no speaker to them once that has lasted, brief mends and all', () => {
		expect(voicesEveryBranchCarries(stage([1, 2, 3], [1, 2, 3], [1, 2, 3]))).toEqual([1, 2, 3]);
		// A leaves B out: a parent hanging from A's branch, honest, does not pass B on.
		expect(voicesEveryBranchCarries(stage([1, 3], [1, 2, 3], [1, 2, 3]))).toEqual([1, 3]);
		// C has no advert (not heard yet): the others' say; C does not send: not expected.
		expect(voicesEveryBranchCarries(stage([1, 2, 3], [1, 2, 3], undefined, [true, true, false]))).toEqual([1, 2]);
		expect(voicesEveryBranchCarries(stage(undefined, undefined, undefined))).toEqual([]);
		const context = { ownResumedAt: -Infinity, depth: 2 };
		const limit = SHORT_BRANCH_MS + SHORT_BRANCH_PER_DEPTH_MS;
		let spell: BrokenSpell | null = null;
		const at = (now: number, parent: string, broken: boolean, ctx = context) => {
			const judged = brokenChain(spell, parent, broken, now, ctx);
			spell = judged.spell;
			return judged.long;
		};
		expect(at(0, 'R', true)).toBe(false);
		expect(at(limit, 'R', true)).toBe(false);
		expect(at(limit + 1, 'R', true)).toBe(true);
		// Mended for a moment now and then (a relay naming a real parent between its lies): the spell goes on.
		expect(at(limit + 2, 'R', false)).toBe(false);
		expect(at(limit + 300, 'R', true)).toBe(true);
		// Mended for SHORT_BRANCH_MS (an honest repair's advert came): it ends, and starts afresh.
		expect(at(limit + 400, 'R', false)).toBe(false);
		expect(at(limit + 400 + SHORT_BRANCH_MS, 'R', false)).toBe(false);
		expect(at(limit + 401 + SHORT_BRANCH_MS, 'R', true)).toBe(false);
		expect(spell).toMatchObject({ since: limit + 401 + SHORT_BRANCH_MS });
		// A mend that lasted SHORT_BRANCH_MS though no tick saw it end (our parent silent meanwhile): afresh too.
		expect(at(20_000, 'R', false)).toBe(false);
		expect(at(20_000 + SHORT_BRANCH_MS, 'R', true)).toBe(false);
		expect(spell).toMatchObject({ since: 20_000 + SHORT_BRANCH_MS, mendedAt: null });
		// Afresh for another parent, and not across our own stall.
		expect(at(30_000, 'S', true)).toBe(false);
		expect(at(30_000 + limit + 1, 'S', true, { ownResumedAt: 31_000, depth: 2 })).toBe(false);
		expect(at(31_000 + limit + 1, 'S', true, { ownResumedAt: 31_000, depth: 2 })).toBe(true);
	});

	it('takes a listener out of a branch whose speaker holds a fellow back, top of the branch first', () => {
		// Judged each tick (50 ms) after the patience, then moved by the engine at that same tick.
		expect(shortBranchLeftAt(1)).toBe(SHORT_BRANCH_MS + 50);
		expect(shortBranchLeftAt(3)).toBe(SHORT_BRANCH_MS + 2 * SHORT_BRANCH_PER_DEPTH_MS + 50);
	});
});
