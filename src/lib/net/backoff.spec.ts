import { describe, expect, it } from 'vitest';
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffDelay, FAST_ATTEMPTS, FAST_DELAY_MS, relayRetryDelay } from './backoff';

describe('backoffDelay', () => {
	it('doubles from the base without jitter', () => {
		const mid = () => 0.5;
		expect([0, 1, 2, 3].map((a) => backoffDelay(a, mid))).toEqual([1000, 2000, 4000, 8000]);
	});

	it('never exceeds the cap, even with maximal jitter or huge attempts', () => {
		expect(backoffDelay(50, () => 1)).toBe(BACKOFF_MAX_MS);
		expect(backoffDelay(1_000_000, () => 0.5)).toBe(BACKOFF_MAX_MS);
	});

	it('stays within ±20 % of the nominal delay', () => {
		expect(backoffDelay(0, () => 0)).toBe(BACKOFF_BASE_MS * 0.8);
		expect(backoffDelay(0, () => 1)).toBe(BACKOFF_BASE_MS * 1.2);
	});
});

describe('relayRetryDelay', () => {
	it('redials about every second at first (a restart or a blip), spread over 0.5–1.5 s', () => {
		for (let a = 0; a < FAST_ATTEMPTS; a++) {
			expect(relayRetryDelay(a, () => 0)).toBe(FAST_DELAY_MS / 2);
			expect(relayRetryDelay(a, () => 0.5)).toBe(FAST_DELAY_MS);
			expect(relayRetryDelay(a, () => 0.999999)).toBe(FAST_DELAY_MS * 1.5);
		}
	});

	it('then backs off from 2 s to the cap', () => {
		const mid = () => 0.5;
		expect([0, 1, 2, 3, 4, 5].map((a) => relayRetryDelay(FAST_ATTEMPTS + a, mid))).toEqual([2000, 4000, 8000, 16000, 30000, 30000]);
	});
});
