import { describe, expect, it } from 'vitest';
import { earlyHashToFollow } from './early-link';

describe('earlyHashToFollow', () => {
	it('follows a room link that came while the router was starting on the home page', () => {
		expect(earlyHashToFollow('#/r/abc/key', '')).toBe('#/r/abc/key');
		expect(earlyHashToFollow('#/settings', '#/')).toBe('#/settings');
	});

	it('stays when nothing was recorded, or the router already rendered that address', () => {
		expect(earlyHashToFollow(undefined, '')).toBeNull();
		expect(earlyHashToFollow('#/r/abc/key', '#/r/abc/key')).toBeNull();
	});

	it('ignores anything that is not one of the app routes (a bare fragment, a foreign value)', () => {
		expect(earlyHashToFollow('', '#/')).toBeNull();
		expect(earlyHashToFollow('#top', '#/')).toBeNull();
		expect(earlyHashToFollow({ hash: '#/r/a/b' }, '')).toBeNull();
		expect(earlyHashToFollow(42, '')).toBeNull();
	});
});
