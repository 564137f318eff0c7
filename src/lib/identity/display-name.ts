// 40 characters: fits a speaker tile on a phone; longer names only get truncated on screen.
export const MAX_DISPLAY_NAME_CHARS = 40;

/**
 * Trims, folds inner white space and control characters, and caps the length
 * by code points (not UTF-16 units) so a name never ends in half an emoji.
 */
export function normalizeDisplayName(raw: string): string {
	// eslint-disable-next-line no-control-regex
	const folded = raw.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
	return Array.from(folded).slice(0, MAX_DISPLAY_NAME_CHARS).join('');
}
