// @ts-check
/**
 * A room's id: SHA-256("stanza-room-id" ‖ room key ‖ creator's raw Ed25519
 * public key)[0..16], base64url. Plain JavaScript with no libp2p in it, so
 * that room links (on the first screen) and the relay's hallway check share it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toString } from 'uint8arrays';

export const ROOM_ID_BYTES = 16;

/**
 * @param {Uint8Array} key
 * @param {Uint8Array} creatorPublicKey raw Ed25519 public key
 * @returns {string} base64url
 */
export function roomIdOf(key, creatorPublicKey) {
	const label = new TextEncoder().encode('stanza-room-id');
	const input = new Uint8Array(label.length + key.length + creatorPublicKey.length);
	input.set(label);
	input.set(key, label.length);
	input.set(creatorPublicKey, label.length + key.length);
	return toString(sha256(input).subarray(0, ROOM_ID_BYTES), 'base64url');
}
