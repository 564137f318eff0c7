import { describe, expect, it } from 'vitest';
import { ANSWERS_PER_NEWCOMER, answersNewcomer, nextBeatMs, sharedBy } from './room-size';

describe('sharedBy', () => {
	it('is what the member counts when nobody declared more', () => {
		expect(sharedBy(30, [], 6)).toBe(30);
		expect(sharedBy(30, [4_000, 4_000, 4_000], 6)).toBe(30);
	});

	it('is what the others counted when a joiner has heard few of them yet', () => {
		// 600 listeners beat every 100 s at 6 a second; a joiner who has heard 20 of them shares with 600.
		expect(sharedBy(20, Array(20).fill(100_000), 6)).toBe(600);
	});

	it('takes the median: a few members declaring an hour change nothing', () => {
		expect(sharedBy(20, [...Array(11).fill(100_000), ...Array(9).fill(3_600_000)], 6)).toBe(600);
		expect(sharedBy(3, [4_000, 3_600_000], 6)).toBe(24); // of two, the lower
	});
});

describe('nextBeatMs', () => {
	it('draws a beat in the last quarter of its interval, never later than declared', () => {
		expect(nextBeatMs(100_000, () => 0)).toBe(100_000);
		expect(nextBeatMs(100_000, () => 0.999_999)).toBeGreaterThan(75_000);
		expect(nextBeatMs(4_000, () => 0.5)).toBe(3_500);
	});
});

describe('answersNewcomer', () => {
	it('always answers in a room of up to ANSWERS_PER_NEWCOMER', () => {
		expect(answersNewcomer(ANSWERS_PER_NEWCOMER, () => 0.999_999)).toBe(true);
	});

	it('keeps about ANSWERS_PER_NEWCOMER answers in a large room', () => {
		// 600 members, each drawing once: deterministic draws spread evenly over [0, 1).
		const answers = Array.from({ length: 600 }, (_, i) => answersNewcomer(600, () => i / 600)).filter(Boolean).length;
		expect(answers).toBe(ANSWERS_PER_NEWCOMER);
	});
});
