import { LOCALES, MESSAGES, type Locale, type MessageKey } from './messages';

/** The first of the browser's preferred languages that Stanza speaks, else English. */
export function pickLocale(preferred: readonly string[]): Locale {
	for (const tag of preferred) {
		const base = tag.toLowerCase().split('-')[0];
		// "in" is the legacy ISO 639 code for Indonesian, still sent by some Android builds.
		const code = base === 'in' ? 'id' : base;
		if ((LOCALES as readonly string[]).includes(code)) return code as Locale;
	}
	return 'en';
}

/** Looks a message up and fills its `{name}` placeholders. */
export function translate(locale: Locale, key: MessageKey, params: Record<string, string | number> = {}): string {
	const template = MESSAGES[locale][key] ?? MESSAGES.en[key];
	return template.replace(/\{(\w+)\}/g, (_, name: string) => (name in params ? String(params[name]) : `{${name}}`));
}
