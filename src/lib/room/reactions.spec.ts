import { describe, expect, it } from 'vitest';
import { isReaction, REACTION_BURST, ReactionLimiter } from './reactions';

describe('reactions', () => {
	it('are a fixed set, named', () => {
		expect(isReaction('clap')).toBe(true);
		expect(isReaction('toString')).toBe(false);
		expect(isReaction('💩')).toBe(false);
		expect(isReaction(1)).toBe(false);
	});

	it(`let a sender have a burst of ${REACTION_BURST}, then one a second, each sender on its own`, () => {
		const limiter = new ReactionLimiter();
		const sent = Array.from({ length: 10 }, () => limiter.take('a', 0)).filter(Boolean).length;
		expect(sent).toBe(REACTION_BURST);
		expect(limiter.take('b', 0)).toBe(true);
		expect(limiter.take('a', 999)).toBe(false);
		expect(limiter.take('a', 1_000)).toBe(true);
		expect(limiter.take('a', 1_000)).toBe(false);
		// A minute of one a second passes; ten a second does not.
		let passed = 0;
		for (let t = 2_000; t < 62_000; t += 100) if (limiter.take('a', t)) passed++;
		expect(passed).toBeGreaterThanOrEqual(60);
		expect(passed).toBeLessThanOrEqual(60 + REACTION_BURST);
	});

	it('stays bounded whatever the number of senders', () => {
		const limiter = new ReactionLimiter();
		for (let i = 0; i < 10_000; i++) limiter.take(`peer${i}`, i * 10_000);
		expect(limiter.size).toBeLessThanOrEqual(256);
	});
});
