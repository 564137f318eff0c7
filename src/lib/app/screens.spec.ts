import { describe, expect, it } from 'vitest';
import { needsNetwork } from './screens';

describe('needsNetwork', () => {
	it('is true for a room link and Settings', () => {
		for (const hash of ['#/r/abc/def', '#/r/abc', '#/settings', '#/settings/']) expect(needsNetwork(hash), hash).toBe(true);
	});

	it('is false for the home and for what only looks like those screens', () => {
		for (const hash of ['', '#', '#/', '#/rooms', '#/settingsx', '#/nowhere', 'r/abc']) expect(needsNetwork(hash), hash).toBe(false);
	});
});
