import { describe, expect, it } from 'vitest';
import { MemorySettingsStore } from '../settings/settings-store';
import { I18n } from './i18n.svelte';

describe('the UI language', () => {
	it('follows the browser until the person chooses, and keeps the choice', () => {
		const store = new MemorySettingsStore();
		const i18n = new I18n(store);
		i18n.detect(['it-IT', 'en']);
		expect(i18n.locale).toBe('it');
		expect(i18n.choice).toBe('auto');
		i18n.choose('id');
		expect(i18n.t('settings.title')).toBe('Pengaturan');
		const next = new I18n(store); // the next visit
		next.detect(['it-IT']);
		expect(next.locale).toBe('id');
		next.choose('auto');
		expect(next.locale).toBe('it');
		expect(store.get('stanza.locale')).toBeNull();
	});

	it('ignores a stored value it does not speak', () => {
		const store = new MemorySettingsStore();
		store.set('stanza.locale', 'xx');
		const i18n = new I18n(store);
		i18n.detect(['en-GB']);
		expect(i18n.choice).toBe('auto');
		expect(i18n.locale).toBe('en');
	});
});
