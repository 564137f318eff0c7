import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seqAdd, seqDiff } from './packet-codec';
import { AHEAD_SLACK, MARKS_KEPT, MAX_PACKETS_PER_S, StreamGuard, WINDOW, beforeMute } from './stream-guard';

// Where a stream started (the speaker's `r`): one per stream, drawn at random by the speaker.
const START = 123_456;

const take = (guard: StreamGuard, speaker: string, seq: number, now = 0) => {
	const verdict = guard.check(speaker, seq, now);
	if (verdict === 'ok') expect(guard.commit(speaker, seq, now)).toBe(true);
	return verdict;
};

describe('StreamGuard', () => {
	it('takes nothing from a speaker that has not marked its stream', () => {
		expect(new StreamGuard().check('ana', 5, 0)).toBe('unmarked');
	});

	it('takes a stream in order once, and refuses each packet sent again', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 99, 0);
		for (let seq = 100; seq < 400; seq++) expect(take(guard, 'ana', seq)).toBe('ok');
		expect(take(guard, 'ana', 399)).toBe('replayed');
		expect(take(guard, 'ana', 399 - WINDOW + 1)).toBe('replayed');
		expect(take(guard, 'ana', 399 - WINDOW)).toBe('too-old');
	});

	it('takes, once, packets sent just before the mark (in flight when it was said)', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 1_000, 0);
		expect(take(guard, 'ana', 998)).toBe('ok');
		expect(take(guard, 'ana', 998)).toBe('replayed');
		expect(take(guard, 'ana', 1_000 - WINDOW)).toBe('too-old');
	});

	it('takes a late packet it has not seen yet, inside the window', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 0, 0);
		expect(take(guard, 'ana', 1)).toBe('ok');
		expect(take(guard, 'ana', 5)).toBe('ok');
		expect(take(guard, 'ana', 3)).toBe('ok');
		expect(take(guard, 'ana', 3)).toBe('replayed');
		expect(take(guard, 'ana', 4)).toBe('ok');
	});

	it('refuses a jump further ahead than the speaker could have sent, and takes one just inside', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 10, 0);
		expect(take(guard, 'ana', 10 + AHEAD_SLACK + 1, 0)).toBe('too-far-ahead');
		expect(take(guard, 'ana', 10 + AHEAD_SLACK, 0)).toBe('ok');
	});

	it('a listener cut off for minutes takes the stream back: the window grows with the time since', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 0, 0);
		expect(take(guard, 'ana', 1, 0)).toBe('ok');
		const threeMinutes = 3 * 60_000;
		const sentMeanwhile = 3 * 60 * 50;
		expect(take(guard, 'ana', sentMeanwhile, threeMinutes)).toBe('ok');
		expect(take(guard, 'ana', sentMeanwhile + 1, threeMinutes + 20)).toBe('ok');
		expect(take(guard, 'ana', sentMeanwhile + AHEAD_SLACK + 30 * MAX_PACKETS_PER_S + 1, threeMinutes + 30_000)).toBe('too-far-ahead');
	});

	it('a mark keeps the window tight through a long silence, and a mark ahead moves it', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 0, 0);
		expect(take(guard, 'ana', 1, 0)).toBe('ok');
		guard.mark('ana', START, 1, 600_000); // ten minutes muted: still at 1
		expect(guard.check('ana', 1 + AHEAD_SLACK + 1, 600_000)).toBe('too-far-ahead');
		guard.mark('ana', START, 5_000, 601_000); // we missed packets: the speaker says it is at 5,000
		expect(take(guard, 'ana', 5_001, 601_000)).toBe('ok');
		expect(take(guard, 'ana', 4_990, 601_000)).toBe('ok'); // in flight before the mark: once
		expect(take(guard, 'ana', 4_990, 601_000)).toBe('replayed');
	});

	it('works across the 2^32 wrap', () => {
		const guard = new StreamGuard();
		const start = 2 ** 32 - 5;
		guard.mark('ana', START, seqAdd(start, -1), 0);
		for (let i = 0; i < 20; i++) expect(take(guard, 'ana', seqAdd(start, i))).toBe('ok');
		expect(take(guard, 'ana', 2)).toBe('replayed');
	});

	it('a new stream (the speaker reloaded) starts over at its mark: the old stream is refused', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 1_000_000, 0);
		for (let seq = 1_000_001; seq < 1_000_500; seq++) take(guard, 'ana', seq);
		guard.mark('ana', 8, 7, 20_000);
		expect(take(guard, 'ana', 1_000_499, 20_000)).toBe('too-far-ahead');
		expect(take(guard, 'ana', 1_000_100, 20_000)).toBe('too-far-ahead');
		expect(take(guard, 'ana', 8, 20_000)).toBe('ok');
	});

	it('a mark behind what arrived (the packets outran the presence, even by far) changes nothing', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 0, 0);
		for (let seq = 1; seq <= 1_000; seq++) take(guard, 'ana', seq, seq * 20);
		guard.mark('ana', START, 60, 20_000);
		expect(take(guard, 'ana', 1_000, 20_000)).toBe('replayed');
		expect(take(guard, 'ana', 1_001, 20_020)).toBe('ok');
		expect(take(guard, 'ana', 1_400, 20_040)).toBe('ok');
	});

	it('speakers are kept apart, and a forgotten one takes nothing until it marks again', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 0, 0);
		guard.mark('bo', START, 0, 0);
		expect(take(guard, 'ana', 1)).toBe('ok');
		expect(take(guard, 'bo', 1)).toBe('ok');
		guard.forget('bo');
		expect(take(guard, 'bo', 2)).toBe('unmarked');
	});

	it('a speaker forgotten and marked again with the same start (unmuted by a moderator, back on stage) takes nothing it sent before', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 899, 0);
		for (let seq = 900; seq <= 1_000; seq++) expect(take(guard, 'ana', seq)).toBe('ok');
		guard.forget('ana'); // a moderator muted it: its microphone closed at 1,000
		guard.mark('ana', START, 1_000, 60_000); // unmuted a minute later
		// A relay that kept the last words before the mute plays them now: every one refused.
		for (let seq = 1_000 - WINDOW + 1; seq <= 1_000; seq++) expect(take(guard, 'ana', seq, 60_000)).toBe('replayed');
		expect(take(guard, 'ana', 1_000 - WINDOW, 60_000)).toBe('too-old');
		expect(take(guard, 'ana', 1_001, 60_000)).toBe('ok'); // what it says now
		// Forgotten before its packets outran its mark: the newest seq known then counts, not the mark.
		guard.forget('ana');
		guard.mark('ana', START, 990, 90_000);
		expect(take(guard, 'ana', 995, 90_000)).toBe('replayed');
		expect(take(guard, 'ana', 1_002, 90_000)).toBe('ok');
		// Another start is another stream: it starts over from its mark, as a first word does.
		guard.forget('ana');
		guard.mark('ana', START + 7, 5, 120_000);
		expect(take(guard, 'ana', 4, 120_000)).toBe('ok');
	});

	it('a member that joined while a speaker was muted takes nothing the speaker sent before the mute once it speaks again', () => {
		const guard = new StreamGuard();
		// The speaker's presence while muted: its stream started at START and it had sent up to 1,000.
		guard.quietAt('ana', START, 1_000);
		expect(take(guard, 'ana', 990, 0)).toBe('unmarked');
		guard.mark('ana', START, 1_000, 60_000); // unmuted: its first presence since
		for (let seq = 1_000 - WINDOW + 1; seq <= 1_000; seq++) expect(take(guard, 'ana', seq, 60_000)).toBe('replayed');
		expect(take(guard, 'ana', 1_001, 60_000)).toBe('ok');
		// Told again while muted with an older mark (a presence that outran nothing): the newer one stands.
		const again = new StreamGuard();
		again.quietAt('bo', START, 500);
		again.quietAt('bo', START, 400);
		again.mark('bo', START, 400, 0);
		expect(take(again, 'bo', 450, 0)).toBe('replayed');
		expect(take(again, 'bo', 501, 0)).toBe('ok');
		// A stream it knows is left alone (beforeMute and forget judge it), and another start starts over.
		const known = new StreamGuard();
		known.mark('cy', START, 10, 0);
		known.quietAt('cy', START, 1_000);
		expect(take(known, 'cy', 11, 0)).toBe('ok');
		const reloaded = new StreamGuard();
		reloaded.quietAt('di', START, 1_000);
		reloaded.mark('di', START + 9, 20, 0);
		expect(take(reloaded, 'di', 19, 0)).toBe('ok');
	});

	it('commit without a passing check moves nothing (a forged or refused packet), and takes each seq once', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 0, 0);
		expect(guard.commit('ana', AHEAD_SLACK + 50, 0)).toBe(false);
		expect(guard.check('ana', 1, 0)).toBe('ok');
		expect(guard.commit('ana', 1, 0)).toBe(true);
		expect(guard.commit('ana', 1, 0)).toBe(false); // two copies verified side by side: only the first is taken
	});

	it('property: after jumps of any size, it remembers exactly the seqs taken within the window', () => {
		fc.assert(
			fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 40 }), (jumps) => {
				const guard = new StreamGuard();
				guard.mark('ana', START, 0, 0);
				const taken = new Set<number>();
				let seq = 0;
				for (const jump of jumps) {
					seq += jump;
					expect(take(guard, 'ana', seq)).toBe('ok');
					taken.add(seq);
				}
				for (let back = 0; back < WINDOW && seq - back > 0; back++) {
					expect(guard.check('ana', seq - back, 0)).toBe(taken.has(seq - back) ? 'replayed' : 'ok');
				}
			}),
			{ numRuns: 200 }
		);
	});

	it('property: however a relay reorders, duplicates and replays an honest stream, each seq is taken at most once, and each one arriving within the window is taken', () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 0, max: 2 ** 32 - 1 }),
				fc.array(fc.integer({ min: 1, max: AHEAD_SLACK }), { minLength: 1, maxLength: 400 }),
				(mark, offsets) => {
					const guard = new StreamGuard();
					guard.mark('ana', START, mark, 0);
					const taken = new Set<number>();
					let newest = 0;
					for (const offset of offsets) {
						const verdict = take(guard, 'ana', seqAdd(mark, offset));
						if (verdict === 'ok') {
							expect(taken.has(offset)).toBe(false);
							taken.add(offset);
							newest = Math.max(newest, offset);
						} else if (!taken.has(offset)) {
							// Refused without having been taken: only because it fell behind the window.
							expect(verdict).toBe('too-old');
							expect(newest - offset).toBeGreaterThanOrEqual(WINDOW);
						}
					}
				}
			)
		);
	});

	it('property: a recording of an older stream, replayed after the speaker restarted and marked, is refused unless its seqs happen to fall in the new window', () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (oldMark, newMark) => {
				const guard = new StreamGuard();
				guard.mark('ana', START, oldMark, 0);
				for (let i = 1; i <= 300; i++) take(guard, 'ana', seqAdd(oldMark, i), i * 20);
				guard.mark('ana', seqAdd(newMark, 1), newMark, 60_000);
				for (let i = 1; i <= 300; i++) {
					const seq = seqAdd(oldMark, i);
					const d = seqDiff(seq, newMark);
					if (d > AHEAD_SLACK || d <= -WINDOW) expect(guard.check('ana', seq, 60_000)).not.toBe('ok');
				}
			})
		);
	});
});

describe('StreamGuard.sentBefore', () => {
	it('gives the earliest mark that covered a seq: a packet passed on after it came that long after its speaker sent it', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 1_000, 10_000);
		guard.mark('ana', START, 1_200, 14_000);
		expect(guard.sentBefore('ana', 990)).toBe(10_000);
		expect(guard.sentBefore('ana', 1_000)).toBe(10_000);
		expect(guard.sentBefore('ana', 1_001)).toBe(14_000);
		expect(guard.sentBefore('ana', 1_200)).toBe(14_000);
		// Past the newest mark: nothing says when it was sent yet.
		expect(guard.sentBefore('ana', 1_201)).toBeUndefined();
		expect(guard.sentBefore('bea', 1_000)).toBeUndefined();
	});

	it('keeps the first time a seq was marked: a mark said again (a muted speaker) or one behind changes nothing', () => {
		const guard = new StreamGuard();
		guard.mark('ana', START, 1_000, 10_000);
		guard.mark('ana', START, 1_000, 14_000);
		guard.mark('ana', START, 900, 18_000);
		expect(guard.sentBefore('ana', 950)).toBe(10_000);
		expect(guard.sentBefore('ana', 1_000)).toBe(10_000);
	});

	it('keeps the last MARKS_KEPT marks, across the 2^32 wrap, and starts over with a new stream', () => {
		const guard = new StreamGuard();
		const base = 2 ** 32 - 300;
		for (let i = 0; i <= MARKS_KEPT; i++) guard.mark('ana', START, seqAdd(base, 200 * i), 4_000 * i);
		// The first mark fell off: its seqs are now covered by the oldest kept.
		expect(guard.sentBefore('ana', base)).toBe(4_000);
		expect(guard.sentBefore('ana', seqAdd(base, 250))).toBe(8_000);
		expect(guard.sentBefore('ana', seqAdd(base, 200 * MARKS_KEPT))).toBe(4_000 * MARKS_KEPT);
		// Far behind every mark kept (another stream's seqs, say): nothing.
		expect(guard.sentBefore('ana', seqAdd(base, -WINDOW))).toBeUndefined();
		guard.mark('ana', START + 1, 50, 30_000);
		expect(guard.sentBefore('ana', 40)).toBe(30_000);
		expect(guard.sentBefore('ana', seqAdd(base, 200 * MARKS_KEPT))).toBeUndefined();
	});
});

describe('beforeMute', () => {
	it('refuses, while the speaker says it is muted, every packet at or behind its mark, across the seq wrap', () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (mark, back) => {
				expect(beforeMute(seqAdd(mark, -back), mark, true)).toBe(true);
				expect(beforeMute(seqAdd(mark, -back), mark, false)).toBe(false);
			})
		);
	});

	it('lets a packet past the mark through: the speaker unmuted and its presence is on its way', () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (mark, ahead) => {
				expect(beforeMute(seqAdd(mark, ahead), mark, true)).toBe(false);
			})
		);
	});
});
