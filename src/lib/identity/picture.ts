/**
 * A profile picture: a small square image chosen on the device, kept there
 * (with the identity, never uploaded anywhere) and handed by this member to
 * the others in a room who ask for it (room/picture-protocol.ts). Others
 * learn of it by its digest in presence (`"i"`), fetch it once and check that
 * it hashes to that digest, so a relay or another member cannot swap it.
 *
 * What is accepted, from this device or from others: at most
 * MAX_PICTURE_BYTES of WebP, JPEG or PNG, told by its first bytes (never SVG
 * or anything a browser could run). It is shown through an <img> from a Blob
 * of that type only.
 */
import { toString } from 'uint8arrays';

/** The edge of a picture as made on this device (picture-file.ts): twice a 48 px disc, for dense screens. */
export const PICTURE_SIZE = 96;
/** The largest picture sent or taken: a 96×96 WebP is 2–6 KiB. */
export const MAX_PICTURE_BYTES = 16 * 1024;
/** A digest as presence carries it: SHA-256, base64url without padding. */
const DIGEST = /^[A-Za-z0-9_-]{43}$/;

export type PictureType = 'image/webp' | 'image/jpeg' | 'image/png';

/** The image type `bytes` start like (and are small enough for), or null: not a picture we show. */
export function pictureType(bytes: Uint8Array): PictureType | null {
	if (bytes.length < 12 || bytes.length > MAX_PICTURE_BYTES) return null;
	const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
	if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
	if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
	if (bytes[0] === 0x89 && ascii(1, 4) === 'PNG' && bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return 'image/png';
	return null;
}

/** The digest presence names a picture by. */
export async function pictureDigest(bytes: Uint8Array): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
	return toString(digest, 'base64url');
}

/** `raw` as a picture digest, when it is one; otherwise null. */
export function readPictureDigest(raw: unknown): string | null {
	return typeof raw === 'string' && DIGEST.test(raw) ? raw : null;
}

/** `bytes` when they are a picture we show and hash to `digest`; otherwise null. */
export async function checkedPicture(bytes: Uint8Array, digest: string): Promise<Uint8Array | null> {
	if (!pictureType(bytes)) return null;
	return (await pictureDigest(bytes)) === digest ? bytes : null;
}
