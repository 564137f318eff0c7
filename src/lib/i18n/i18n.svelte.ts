import { settingsStore, type SettingsStore } from '../settings/settings-store';
import { LOCALES, type Locale, type MessageKey } from './messages';
import { pickLocale, translate } from './translate';

const LOCALE_KEY = 'stanza.locale';

/** The UI language, as runes: components call `i18n.t(key)` and re-render when it changes. */
export class I18n {
	locale = $state<Locale>('en');
	/** The person's choice in Settings; 'auto' follows the browser. */
	choice = $state<Locale | 'auto'>('auto');
	#languages: readonly string[] = [];
	readonly #store: SettingsStore;

	constructor(store: SettingsStore = settingsStore) {
		this.#store = store;
	}

	t = (key: MessageKey, params?: Record<string, string | number>): string => translate(this.locale, key, params);

	/** Follows the person's choice if they made one, else the browser's preferred languages. */
	detect(languages: readonly string[]): void {
		this.#languages = languages;
		const stored = this.#store.get(LOCALE_KEY);
		this.choice = (LOCALES as readonly string[]).includes(stored ?? '') ? (stored as Locale) : 'auto';
		this.#apply();
	}

	/** The language chosen in Settings, kept on this device. */
	choose(choice: Locale | 'auto'): void {
		this.choice = choice;
		this.#store.set(LOCALE_KEY, choice === 'auto' ? null : choice);
		this.#apply();
	}

	#apply(): void {
		this.locale = this.choice === 'auto' ? pickLocale(this.#languages) : this.choice;
		if (typeof document !== 'undefined') document.documentElement.lang = this.locale;
	}
}

export const i18n = new I18n();
// Before the first render, so that it is already in the person's language (not English, then theirs).
if (typeof document !== 'undefined') i18n.detect(navigator.languages);
