import { describe, expect, it } from 'vitest';
import { LOCALES, MESSAGES } from './messages';
import { pickLocale, translate } from './translate';

describe('pickLocale', () => {
	it.each([
		[['it-IT', 'en'], 'it'],
		[['id'], 'id'],
		[['in-ID'], 'id'],
		[['fr-FR', 'it'], 'it'],
		[['de'], 'en'],
		[[], 'en']
	])('%j → %s', (preferred, expected) => {
		expect(pickLocale(preferred)).toBe(expected);
	});
});

describe('translate', () => {
	it('fills placeholders', () => {
		expect(translate('en', 'net.retrying', { s: 4 })).toBe('Relay unreachable, retrying in 4 s');
		expect(translate('it', 'peer.greeted', { name: 'Ada', ms: 3 })).toBe('Ada ha risposto in 3 ms');
	});

	it('every locale has every message, with the same placeholders', () => {
		const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
		for (const locale of LOCALES) {
			for (const [key, english] of Object.entries(MESSAGES.en)) {
				const text = MESSAGES[locale][key as keyof typeof MESSAGES.en];
				expect(text, `${locale}:${key}`).toBeTruthy();
				expect(placeholders(text), `${locale}:${key}`).toEqual(placeholders(english));
			}
		}
	});
});
