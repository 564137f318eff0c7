/**
 * Room links. A link carries two things, both in the URL fragment (never sent
 * to any server): the room id and the room key.
 *
 *   <app URL>#/r/<room id: 16 bytes base64url>/<room key: 32 bytes base64url>
 *
 * The room id is bound to its creator: id = SHA-256("stanza-room-id" ‖ key ‖
 * creator's public key)[0..16]. Whoever holds the link can read the room, but
 * only the creator's identity can sign a genesis record that matches the id,
 * so nobody else can claim to have started it.
 */
import { fromString, toString } from 'uint8arrays';

export const ROOM_KEY_BYTES = 32; // AES-256-GCM
export const ROOM_ID_BYTES = 16; // 128 bits: unguessable, and short enough for a link

export class RoomLinkError extends Error {
	override name = 'RoomLinkError';
}

export interface RoomAddress {
	roomId: string;
	key: Uint8Array;
}

export function newRoomKey(): Uint8Array {
	return crypto.getRandomValues(new Uint8Array(ROOM_KEY_BYTES));
}

/** The room id a creator's public key and a room key produce. */
export async function roomIdFor(key: Uint8Array, creatorPublicKey: Uint8Array): Promise<string> {
	const label = new TextEncoder().encode('stanza-room-id');
	const input = new Uint8Array(label.length + key.length + creatorPublicKey.length);
	input.set(label);
	input.set(key, label.length);
	input.set(creatorPublicKey, label.length + key.length);
	const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', input));
	return toString(digest.subarray(0, ROOM_ID_BYTES), 'base64url');
}

/** The fragment path of a room link: `/r/<id>/<key>`. */
export function roomPath(address: RoomAddress): string {
	return `/r/${address.roomId}/${toString(address.key, 'base64url')}`;
}

/** Validates the two link parts; throws RoomLinkError when either is missing or malformed. */
export function parseRoomAddress(roomId: string | undefined, key: string | undefined): RoomAddress {
	if (!roomId || !key) throw new RoomLinkError('The room link is incomplete.');
	const id = decode(roomId);
	const keyBytes = decode(key);
	if (id?.length !== ROOM_ID_BYTES || keyBytes?.length !== ROOM_KEY_BYTES || toString(id, 'base64url') !== roomId) {
		throw new RoomLinkError('The room link is damaged.');
	}
	return { roomId, key: keyBytes };
}

function decode(text: string): Uint8Array | null {
	if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
	try {
		return fromString(text, 'base64url');
	} catch {
		return null;
	}
}
