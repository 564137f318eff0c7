/**
 * /stanza/room-key/1.0.0 — members hand each other the room's epoch keys
 * (room-keys.ts): after a remove or ban, the current key spreads member to
 * member; a member back from offline, or a joiner, asks for it.
 *
 * One stream per exchange, length-prefixed frames of at most 256 bytes:
 *
 *   dialer → listener   room id (UTF-8, plain: the listener must know which room)
 *   dialer → listener   sealed(type ‖ 32 bytes)   1 want: the commitment's SHA-256 digest · 2 give: a key
 *   listener → dialer   sealed(type ‖ body)       3 key: the 32-byte key · 4 none (empty) · 5 taken (empty)
 *
 * Sealed means with the link's key, purpose "key" (room-crypto.ts): both sides
 * hold the link. What keeps a key from the removed is the transport and the
 * listener's check: libp2p connections are end-to-end encrypted and
 * authenticated (Noise, also through a relay's circuit), so only the peer the
 * connection names reads the answer, and a listener serves no one its
 * verified room state says is removed or banned, judged again as it answers
 * (the op that bans someone may land while it reads the request). A key is believed only if it
 * hashes to a commitment a verified op carries, so a member can send a wrong
 * key but never make anyone use one.
 */
import type { Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { fromString, toString } from 'uint8arrays';
import { ROOM_KEY_BYTES, type RoomKeys } from './room-keys';

export const ROOM_KEY_PROTOCOL = '/stanza/room-key/1.0.0';
const MAX_FRAME_BYTES = 256;
const MAX_ROOM_ID_BYTES = 64;

export type KeyMessage =
	| { type: 'want'; commitment: string }
	| { type: 'give'; key: Uint8Array }
	| { type: 'key'; key: Uint8Array }
	| { type: 'none' }
	| { type: 'taken' };

const CODES = { want: 1, give: 2, key: 3, none: 4, taken: 5 } as const;

export class KeyProtocolError extends Error {
	override name = 'KeyProtocolError';
}

export function encodeKeyMessage(message: KeyMessage): Uint8Array {
	const body =
		message.type === 'want' ? fromString(message.commitment, 'base64url') : message.type === 'give' || message.type === 'key' ? message.key : new Uint8Array(0);
	if ((message.type === 'none' || message.type === 'taken') !== (body.length === 0) || (body.length !== 0 && body.length !== ROOM_KEY_BYTES)) {
		throw new KeyProtocolError(`a ${message.type} message carries ${body.length === 0 ? 'nothing' : `${ROOM_KEY_BYTES} bytes`}`);
	}
	const bytes = new Uint8Array(1 + body.length);
	bytes[0] = CODES[message.type];
	bytes.set(body, 1);
	return bytes;
}

export function decodeKeyMessage(bytes: Uint8Array): KeyMessage {
	const body = bytes.subarray(1);
	const sized = (n: number) => {
		if (body.length !== n) throw new KeyProtocolError(`key message type ${bytes[0]} must carry ${n} bytes, not ${body.length}`);
	};
	switch (bytes[0]) {
		case CODES.want:
			sized(ROOM_KEY_BYTES);
			return { type: 'want', commitment: toString(body, 'base64url') };
		case CODES.give:
			sized(ROOM_KEY_BYTES);
			return { type: 'give', key: body.slice() };
		case CODES.key:
			sized(ROOM_KEY_BYTES);
			return { type: 'key', key: body.slice() };
		case CODES.none:
			sized(0);
			return { type: 'none' };
		case CODES.taken:
			sized(0);
			return { type: 'taken' };
		default:
			throw new KeyProtocolError(`unknown key message type ${bytes[0] ?? '(empty)'}`);
	}
}

export interface KeyParty {
	keys: RoomKeys;
	/** A key given to us: held if it is one (RoomKeys.add); the session decides what follows. */
	received(key: Uint8Array): Promise<void>;
}

/**
 * Asks the listener for the key of `commitment`. Resolves with the key when
 * the answer hashes to it (already added to `party.keys`), null when the
 * listener has none. Throws when the stream fails or the answer is junk.
 */
export async function askKey(stream: Stream, party: KeyParty, commitment: string, signal: AbortSignal): Promise<Uint8Array | null> {
	const answer = await exchange(stream, party, { type: 'want', commitment }, signal);
	if (answer.type === 'none') return null;
	if (answer.type !== 'key') throw new KeyProtocolError(`expected a key, got ${answer.type}`);
	if ((await party.keys.add(answer.key)) !== commitment) throw new KeyProtocolError('the key does not match the commitment asked for');
	return answer.key;
}

/** Gives `key` to the listener. Resolves once it has taken it. */
export async function giveKey(stream: Stream, party: KeyParty, key: Uint8Array, signal: AbortSignal): Promise<void> {
	const answer = await exchange(stream, party, { type: 'give', key }, signal);
	if (answer.type !== 'taken') throw new KeyProtocolError(`expected taken, got ${answer.type}`);
}

async function exchange(stream: Stream, party: KeyParty, message: KeyMessage, signal: AbortSignal): Promise<KeyMessage> {
	const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
	try {
		await lp.write(new TextEncoder().encode(party.keys.roomId), { signal });
		await lp.write(await party.keys.seal('key', encodeKeyMessage(message)), { signal });
		const answer = decodeKeyMessage(await party.keys.open('key', (await lp.read({ signal })).subarray()));
		await stream.close({ signal });
		return answer;
	} catch (err) {
		stream.abort(err instanceof Error ? err : new Error(String(err)));
		throw err;
	}
}

/**
 * Serves one key stream. `lookup` returns the room for an id, or null when
 * this peer has no such room open or the remote is out of it. Never throws.
 */
export async function serveKey(stream: Stream, remotePeer: string, lookup: (roomId: string, remotePeer: string) => KeyParty | null, timeoutMs: number): Promise<void> {
	const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES });
	const signal = AbortSignal.timeout(timeoutMs);
	try {
		const idBytes = (await lp.read({ signal })).subarray();
		if (idBytes.length > MAX_ROOM_ID_BYTES) throw new KeyProtocolError('room id too long');
		const roomId = new TextDecoder().decode(idBytes);
		const party = lookup(roomId, remotePeer);
		if (!party) throw new KeyProtocolError('no such room here');
		const request = decodeKeyMessage(await party.keys.open('key', (await lp.read({ signal })).subarray()));
		let answer: KeyMessage;
		if (request.type === 'want') {
			// Only a key our verified view names (RoomKeys.namedKey), and only if that view still counts the
			// asker in, both judged now: the op that names a new key is the one that puts someone out, and it
			// may have landed while we read the request (a banned member that heard of its ban first asks at once).
			if (!lookup(roomId, remotePeer)) throw new KeyProtocolError('no such room here');
			const key = party.keys.namedKey(request.commitment);
			answer = key ? { type: 'key', key } : { type: 'none' };
		} else if (request.type === 'give') {
			await party.received(request.key);
			answer = { type: 'taken' };
		} else throw new KeyProtocolError(`a ${request.type} is not a request`);
		await lp.write(await party.keys.seal('key', encodeKeyMessage(answer)), { signal });
		await stream.close({ signal });
	} catch (err) {
		stream.abort(err instanceof Error ? err : new Error(String(err)));
	}
}
