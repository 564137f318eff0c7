// @ts-check
import { describe, expect, it } from 'vitest';
import { PerIpRate } from './per-ip-rate.js';

describe('PerIpRate', () => {
	it('lets an address take its burst, then its rate, each address on its own', () => {
		const limit = new PerIpRate({ rate: 2, burstSeconds: 3 });
		const taken = Array.from({ length: 10 }, () => limit.take('198.51.100.1', 0)).filter(Boolean).length;
		expect(taken).toBe(6);
		expect(limit.take('198.51.100.2', 0)).toBe(true);
		expect(limit.take('198.51.100.1', 400)).toBe(false);
		expect(limit.take('198.51.100.1', 500)).toBe(true);
		expect(limit.take('198.51.100.1', 500)).toBe(false);
	});

	it('counts what each take costs, and lets one that costs more than a burst pass alone on a full bucket', () => {
		const limit = new PerIpRate({ rate: 10, burstSeconds: 2 });
		expect(limit.take('a', 0, 15)).toBe(true);
		expect(limit.take('a', 0, 6)).toBe(false);
		expect(limit.take('a', 0, 5)).toBe(true);
		expect(limit.take('a', 500, 6)).toBe(false);
		expect(limit.take('a', 500, 5)).toBe(true);
		expect(limit.take('b', 0, 1_000)).toBe(true);
		expect(limit.take('b', 0, 1)).toBe(false);
	});

	it('forgets addresses whose bucket is full again once it holds more than its bound', () => {
		const limit = new PerIpRate({ rate: 1, burstSeconds: 2, pruneAbove: 10 });
		for (let i = 0; i < 100; i++) limit.take(`10.0.0.${i}`, i * 1000);
		// Each address took one token a second after the one before: all but the latest had refilled when a prune ran.
		expect(limit.size).toBeLessThanOrEqual(12);
		// A busy address is never forgotten early: its state survives the prunes.
		const busy = new PerIpRate({ rate: 1, burstSeconds: 2, pruneAbove: 2 });
		busy.take('busy', 0);
		busy.take('busy', 0);
		for (let i = 0; i < 5; i++) busy.take(`idle-${i}`, 100);
		expect(busy.take('busy', 100)).toBe(false);
		// Many addresses busy at once (none refills): kept, and not scanned on every take.
		const crowd = new PerIpRate({ rate: 1, burstSeconds: 2, pruneAbove: 4 });
		for (let i = 0; i < 1000; i++) crowd.take(`c-${i}`, 0);
		expect(crowd.size).toBe(1000);
	});
});
