/**
 * Room links. A link carries two things, both in the URL fragment (never sent
 * to any server): the room id and the room key.
 *
 *   <app URL>#/r/<room id: 16 bytes base64url>/<room key (32 bytes) ‖ check (4 bytes), base64url>
 *   check = SHA-256("stanza-link-check" ‖ room id bytes ‖ room key)[0..4]
 *
 * The room id is bound to its creator: id = SHA-256("stanza-room-id" ‖ key ‖
 * creator's public key)[0..16]. Whoever holds the link can read the room, but
 * only the creator's identity can sign a genesis record that matches the id,
 * so nobody else can claim to have started it.
 *
 * The check makes a damaged link (a character changed or lost in copying)
 * known at once, on the device: a link is never judged by what arrives from
 * the network, where anyone who sees the room's topic on a relay could send
 * junk to make a genuine link look broken. (A link made with a wrong key on
 * purpose passes the check and simply never opens anything.)
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { fromString, toString } from 'uint8arrays';
import { ROOM_ID_BYTES, roomIdOf } from './room-id.js';

export const ROOM_KEY_BYTES = 32; // AES-256-GCM
export { ROOM_ID_BYTES }; // 128 bits: unguessable, and short enough for a link
// 32 bits: a random change slips through once in four billion.
export const LINK_CHECK_BYTES = 4;

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

/** The room id a creator's public key and a room key produce (the hallway checks announcements with the same function). */
export async function roomIdFor(key: Uint8Array, creatorPublicKey: Uint8Array): Promise<string> {
	return roomIdOf(key, creatorPublicKey);
}

/** The fragment path of a room link: `/r/<id>/<key ‖ check>`. */
export function roomPath(address: RoomAddress): string {
	const keyPart = new Uint8Array(ROOM_KEY_BYTES + LINK_CHECK_BYTES);
	keyPart.set(address.key);
	keyPart.set(linkCheck(fromString(address.roomId, 'base64url'), address.key), ROOM_KEY_BYTES);
	return `/r/${address.roomId}/${toString(keyPart, 'base64url')}`;
}

/** Validates the two link parts; throws RoomLinkError when either is missing, malformed or damaged. */
export function parseRoomAddress(roomId: string | undefined, keyPart: string | undefined): RoomAddress {
	if (!roomId || !keyPart) throw new RoomLinkError('The room link is incomplete.');
	const id = decode(roomId);
	const bytes = decode(keyPart);
	if (id?.length !== ROOM_ID_BYTES || bytes?.length !== ROOM_KEY_BYTES + LINK_CHECK_BYTES || toString(id, 'base64url') !== roomId) {
		throw new RoomLinkError('The room link is damaged.');
	}
	const key = bytes.slice(0, ROOM_KEY_BYTES);
	const check = linkCheck(id, key);
	if (check.some((byte, i) => byte !== bytes[ROOM_KEY_BYTES + i])) throw new RoomLinkError('The room link is damaged.');
	return { roomId, key };
}

function linkCheck(id: Uint8Array, key: Uint8Array): Uint8Array {
	const label = new TextEncoder().encode('stanza-link-check');
	const input = new Uint8Array(label.length + id.length + key.length);
	input.set(label);
	input.set(id, label.length);
	input.set(key, label.length + id.length);
	return sha256(input).subarray(0, LINK_CHECK_BYTES);
}

function decode(text: string): Uint8Array | null {
	if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
	try {
		return fromString(text, 'base64url');
	} catch {
		return null;
	}
}

/**
 * The two parts of a room link in what someone pasted: a whole link (from
 * whichever app address served it), or just its `#/r/…` fragment. Null when
 * the text holds no room link at all; the parts are still to be checked with
 * parseRoomAddress.
 */
export function linkPartsIn(text: string): { room: string; key: string } | null {
	const match = /(?:^|[#/])r\/([A-Za-z0-9_-]+)\/([A-Za-z0-9_-]+)\/?$/.exec(text.trim());
	return match ? { room: match[1], key: match[2] } : null;
}
