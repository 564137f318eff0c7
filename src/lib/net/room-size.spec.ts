import { describe, expect, it } from 'vitest';
import { sharedBy } from './room-size';

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
