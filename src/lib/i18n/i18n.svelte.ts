import type { Locale, MessageKey } from './messages';
import { pickLocale, translate } from './translate';

/** The UI language, as runes: components call `i18n.t(key)` and re-render when it changes. */
class I18n {
	locale = $state<Locale>('en');

	t = (key: MessageKey, params?: Record<string, string | number>): string => translate(this.locale, key, params);

	/** Follows the browser's preferred languages. */
	detect(languages: readonly string[]): void {
		this.locale = pickLocale(languages);
	}
}

export const i18n = new I18n();
