/**
 * /stanza/picture/1.0.0 — a member hands its profile picture (identity/picture.ts)
 * to another member of the room who asks for it by the digest its presence
 * names (`"i"`).
 *
 * One stream per exchange, length-prefixed frames:
 *
 *   dialer → listener   room id (UTF-8, ≤ 64 bytes, plain: the listener must know which room)
 *   dialer → listener   the picture's SHA-256 digest (32 bytes)
 *   listener → dialer   the picture (12 bytes to 16 KiB), or an empty frame: none to give
 *
 * The connection is end-to-end encrypted and authenticated (Noise, also
 * through a relay's circuit), so nothing is sealed here. A listener gives only
 * its own current picture, and only to someone its verified room state does
 * not put out of the room; the asker takes the answer only when it is a
 * picture we show (WebP, JPEG or PNG) that hashes to the digest asked for.
 */
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { fromString, toString } from 'uint8arrays';
import { MAX_PICTURE_BYTES, checkedPicture } from '../identity/picture';

export const PICTURE_PROTOCOL = '/stanza/picture/1.0.0';
const MAX_ROOM_ID_BYTES = 64;
const DIGEST_BYTES = 32;

export class PictureProtocolError extends Error {
	override name = 'PictureProtocolError';
}

/** A digest as sent: its 32 bytes (a digest not of that form is refused). */
export function encodeDigest(digest: string): Uint8Array {
	const bytes = /^[A-Za-z0-9_-]{43}$/.test(digest) ? fromString(digest, 'base64url') : new Uint8Array();
	if (bytes.length !== DIGEST_BYTES) throw new PictureProtocolError('a picture digest is 32 bytes, base64url');
	return bytes;
}

export function decodeDigest(bytes: Uint8Array): string {
	if (bytes.length !== DIGEST_BYTES) throw new PictureProtocolError(`a picture digest is ${DIGEST_BYTES} bytes, not ${bytes.length}`);
	return toString(bytes, 'base64url');
}

/**
 * Asks the listener for the picture named `digest` in room `roomId`. Resolves with it, or null
 * when the listener has none to give; throws when the stream fails or the answer is not that picture.
 */
export async function askPicture(stream: Stream, roomId: string, digest: string, signal: AbortSignal): Promise<Uint8Array | null> {
	const lp = lpStream(stream, { maxDataLength: MAX_PICTURE_BYTES });
	try {
		await lp.write(new TextEncoder().encode(roomId), { signal });
		await lp.write(encodeDigest(digest), { signal });
		const answer = (await lp.read({ signal })).subarray();
		await stream.close({ signal });
		if (answer.length === 0) return null;
		const picture = await checkedPicture(answer.slice(), digest);
		if (!picture) throw new PictureProtocolError('the answer is not the picture asked for');
		return picture;
	} catch (err) {
		stream.abort(err instanceof Error ? err : new Error(String(err)));
		throw err;
	}
}

/**
 * Serves one picture stream. `lookup` returns the picture we give in room `roomId` to
 * `remotePeer` under `digest` (ours, current, the remote not out of the room), or null. Never throws.
 */
export async function servePicture(
	stream: Stream,
	remotePeer: string,
	lookup: (roomId: string, remotePeer: string, digest: string) => Uint8Array | null,
	timeoutMs: number
): Promise<void> {
	// Reads are the room id and the digest; what is written is not bounded by it.
	const lp = lpStream(stream, { maxDataLength: Math.max(MAX_ROOM_ID_BYTES, DIGEST_BYTES) });
	const signal = AbortSignal.timeout(timeoutMs);
	try {
		const idBytes = (await lp.read({ signal })).subarray();
		if (idBytes.length > MAX_ROOM_ID_BYTES) throw new PictureProtocolError('room id too long');
		const digest = decodeDigest((await lp.read({ signal })).subarray());
		const picture = lookup(new TextDecoder().decode(idBytes), remotePeer, digest);
		await lp.write(picture ?? new Uint8Array(), { signal });
		await stream.close({ signal });
	} catch (err) {
		stream.abort(err instanceof Error ? err : new Error(String(err)));
	}
}
