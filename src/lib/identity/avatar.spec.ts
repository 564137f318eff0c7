import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AVATAR_COLORS, AVATAR_EMOJI, readAvatar, sameAvatar } from './avatar';

describe('readAvatar', () => {
	it('reads every avatar the picker offers, in every colour', () => {
		for (const e of AVATAR_EMOJI) for (let c = 0; c < AVATAR_COLORS.length; c++) expect(readAvatar({ e, c })).toEqual({ e, c });
	});

	it('takes other single emoji, including joined ones (a later version may offer more)', () => {
		for (const e of ['👩‍🚀', '🏳️‍🌈', '👍🏽', '❤️', '🇮🇹']) expect(readAvatar({ e, c: 0 }), e).toEqual({ e, c: 0 });
	});

	it('refuses text, long strings, other colours and other shapes', () => {
		for (const raw of [
			{ e: 'A', c: 0 },
			{ e: 'ab', c: 0 },
			{ e: '7', c: 0 },
			{ e: ' 🦊', c: 0 },
			{ e: '🦊\n', c: 0 },
			{ e: '', c: 0 },
			{ e: '🦊'.repeat(9), c: 0 },
			{ e: '🦊', c: AVATAR_COLORS.length },
			{ e: '🦊', c: -1 },
			{ e: '🦊', c: 1.5 },
			{ e: '🦊', c: '1' },
			{ e: '🦊', c: 1, x: 1 },
			{ e: '🦊' },
			['🦊', 1],
			'🦊',
			null,
			undefined
		]) {
			expect(readAvatar(raw), JSON.stringify(raw)).toBeNull();
		}
	});

	it('never throws, and what it returns reads back the same (property)', () => {
		fc.assert(
			fc.property(fc.anything(), fc.string({ unit: 'grapheme', maxLength: 4 }), fc.integer({ min: -2, max: 10 }), (any, e, c) => {
				for (const raw of [any, { e, c }]) {
					const read = readAvatar(raw);
					if (read) expect(readAvatar({ ...read })).toEqual(read);
				}
			}),
			{ numRuns: 500, seed: 7_2026 }
		);
	});

	it('compares avatars by value', () => {
		expect(sameAvatar({ e: '🦊', c: 1 }, { e: '🦊', c: 1 })).toBe(true);
		expect(sameAvatar({ e: '🦊', c: 1 }, { e: '🦊', c: 2 })).toBe(false);
		expect(sameAvatar(null, undefined)).toBe(true);
		expect(sameAvatar(null, { e: '🦊', c: 1 })).toBe(false);
	});
});
