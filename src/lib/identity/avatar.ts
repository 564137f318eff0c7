/**
 * An avatar: an emoji on a coloured disc, chosen on the device and shown to
 * others beside the name (in presence, and for members on stage in the room's
 * records). On the wire: `{ "e": emoji, "c": colour index }`.
 *
 * Any single emoji is accepted from others (a later version may offer more
 * than AVATAR_EMOJI); what is checked is that it is short and shows as one
 * glyph's worth of text: 1–8 code points, at most 32 UTF-8 bytes, nothing
 * below U+2000 but © and ® (so no letters of most alphabets, digits,
 * punctuation or controls) and no spaces.
 */
export interface Avatar {
	/** The emoji. */
	e: string;
	/** Index into AVATAR_COLORS. */
	c: number;
}

/** What the picker offers. */
export const AVATAR_EMOJI = ['🦊', '🐼', '🐙', '🦉', '🐝', '🌵', '🌻', '🍄', '🌙', '⭐', '🔥', '🌊', '🎧', '🎸', '🚲', '☕'] as const;
/** Disc colours, dark enough for white-on-dark screens and the emoji on top (index = `c`). */
export const AVATAR_COLORS = ['#5b4bb7', '#2f7d6d', '#b3474f', '#a8661c', '#2f6aa8', '#8a3f8f', '#4d7a2a', '#6b6478'] as const;
const MAX_EMOJI_CODE_POINTS = 8;
const MAX_EMOJI_BYTES = 32;
// Below U+2000 lie the letters of most alphabets, digits, punctuation and controls: no emoji but © and ®.
// eslint-disable-next-line no-control-regex
const NOT_EMOJI = /[\u0000-\u00a8\u00aa-\u00ad\u00af-\u1fff\s]/u;

/** `raw` as an avatar, when it is exactly one (no other fields); otherwise null. */
export function readAvatar(raw: unknown): Avatar | null {
	if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
	const { e, c, ...rest } = raw as Record<string, unknown>;
	if (Object.keys(rest).length > 0) return null;
	if (!Number.isInteger(c) || (c as number) < 0 || (c as number) >= AVATAR_COLORS.length) return null;
	if (typeof e !== 'string' || e === '' || NOT_EMOJI.test(e)) return null;
	if ([...e].length > MAX_EMOJI_CODE_POINTS || new TextEncoder().encode(e).length > MAX_EMOJI_BYTES) return null;
	return { e, c: c as number };
}

export function sameAvatar(a: Avatar | null | undefined, b: Avatar | null | undefined): boolean {
	return (a ?? null) === (b ?? null) || (!!a && !!b && a.e === b.e && a.c === b.c);
}
