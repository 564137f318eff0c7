// @ts-check
/**
 * The hallway: public rooms announced on one well-known gossipsub topic,
 * `stanza/hallway/1`, with no server keeping the list. Plain JavaScript so
 * that the relay (which caches announcements for newcomers, relay/hallway.js)
 * and the app check them with the same code.
 *
 * An announcement is UTF-8 JSON, at most 2 KiB:
 *
 *   { "v": 1, "room": room id, "key": room key (32 bytes, base64url), "creator": PeerId,
 *     "title": s, "stage": [name, ≤ 8], "listeners": n, "live": b, "at": epoch ms,
 *     "sig": base64url Ed25519 signature by `creator` over signingBytes() }
 *
 * It carries the room key: a public room's link is meant to be shared, and a
 * private room is never announced. The room id is bound to its creator and
 * key (room id = SHA-256("stanza-room-id" ‖ key ‖ creator's public key)[0..16],
 * as in a room link), so only the creator can announce a room, and nobody
 * can list someone else's room under another title. `at` orders a room's
 * announcements (the newest wins) and ages them out: an announcement older
 * than ANNOUNCEMENT_TTL_MS, or more than MAX_CLOCK_AHEAD_MS in the future, is
 * refused. `live: false` takes a room off the list before its last
 * announcement would have expired (it went private or ended).
 */
import { peerIdFromString } from '@libp2p/peer-id';
import { fromString, toString } from 'uint8arrays';
import { roomIdOf } from '../room/room-id.js';

export { roomIdOf };

export const HALLWAY_TOPIC = 'stanza/hallway/1';
/** Where a relay lists the announcements it keeps (relay/hallway.js). */
export { HALLWAY_PATH } from './hallway-path.js';
export const MAX_ANNOUNCEMENT_BYTES = 2048;
/** A room announces itself every 30 s (hallway-announcer.ts); four missed in a row take it off the list. */
export const ANNOUNCEMENT_TTL_MS = 120_000;
/** Clocks differ: an announcement up to a minute ahead of ours is still believed. */
export const MAX_CLOCK_AHEAD_MS = 60_000;
export const MAX_TITLE_CHARS = 120;
export const MAX_STAGE_NAMES = 8;
export const MAX_NAME_CHARS = 64;
export const MAX_LISTENERS = 10_000_000;

const ROOM_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
// Control characters and the line/paragraph separators: a title is one line of text.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export class HallwayError extends Error {
	name = 'HallwayError';
}

/**
 * @typedef {object} Announcement
 * @property {string} room
 * @property {Uint8Array} key
 * @property {string} creator
 * @property {string} title
 * @property {string[]} stage
 * @property {number} listeners
 * @property {boolean} live
 * @property {number} at
 */

/**
 * What the creator signs: a label and the fields in a fixed order.
 *
 * @param {Announcement} a
 */
function signingBytes(a) {
	const fields = [1, a.room, toString(a.key, 'base64url'), a.creator, a.title, a.stage, a.listeners, a.live, a.at];
	return new TextEncoder().encode(`stanza-hallway/1\n${JSON.stringify(fields)}`);
}

/**
 * Signs and encodes an announcement. Long titles and names are cut, the stage
 * list shortened, so what is announced always fits.
 *
 * @param {Omit<Announcement, 'creator'>} fields
 * @param {{ sign: (data: Uint8Array) => Uint8Array | Promise<Uint8Array>, publicKey: { toString(): string } }} privateKey
 *   the creator's libp2p Ed25519 key; its PeerId is the announcement's creator
 * @param {string} creator the creator's PeerId
 * @returns {Promise<Uint8Array>}
 */
export async function encodeAnnouncement(fields, privateKey, creator) {
	/** @type {Announcement} */
	const a = {
		...fields,
		creator,
		title: cut(fields.title, MAX_TITLE_CHARS),
		stage: fields.stage.slice(0, MAX_STAGE_NAMES).map((n) => cut(n, MAX_NAME_CHARS)),
		listeners: Math.min(MAX_LISTENERS, Math.max(0, Math.floor(fields.listeners)))
	};
	const sig = await privateKey.sign(signingBytes(a));
	const json = JSON.stringify({ v: 1, room: a.room, key: toString(a.key, 'base64url'), creator, title: a.title, stage: a.stage, listeners: a.listeners, live: a.live, at: a.at, sig: toString(sig, 'base64url') });
	const bytes = new TextEncoder().encode(json);
	if (bytes.length > MAX_ANNOUNCEMENT_BYTES) throw new HallwayError('announcement too large');
	return bytes;
}

/**
 * Decodes and checks an announcement: shape, limits, freshness against
 * `nowMs`, the room id's binding to creator and key, and the signature.
 * Throws HallwayError for anything else.
 *
 * @param {Uint8Array} bytes
 * @param {number} nowMs
 * @returns {Promise<Announcement>}
 */
export async function readAnnouncement(bytes, nowMs) {
	if (!(bytes instanceof Uint8Array) || bytes.length > MAX_ANNOUNCEMENT_BYTES) throw new HallwayError('announcement too large');
	/** @type {unknown} */
	let parsed;
	try {
		parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
	} catch {
		throw new HallwayError('announcement is not JSON');
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HallwayError('announcement is not an object');
	const o = /** @type {Record<string, unknown>} */ (parsed);
	if (o.v !== 1) throw new HallwayError('unknown announcement version');
	const room = o.room;
	if (typeof room !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(room)) throw new HallwayError('announcement room id is malformed');
	const key = base64url(o.key, ROOM_KEY_BYTES, 'key');
	const sig = base64url(o.sig, SIGNATURE_BYTES, 'signature');
	const title = text(o.title, MAX_TITLE_CHARS, 'title');
	if (!Array.isArray(o.stage) || o.stage.length > MAX_STAGE_NAMES) throw new HallwayError('announcement stage is malformed');
	const stage = o.stage.map((n) => text(n, MAX_NAME_CHARS, 'stage name'));
	const listeners = o.listeners;
	if (typeof listeners !== 'number' || !Number.isInteger(listeners) || listeners < 0 || listeners > MAX_LISTENERS) {
		throw new HallwayError('announcement listener count is malformed');
	}
	if (typeof o.live !== 'boolean') throw new HallwayError('announcement live flag is malformed');
	const at = o.at;
	if (typeof at !== 'number' || !Number.isSafeInteger(at)) throw new HallwayError('announcement time is malformed');
	if (at > nowMs + MAX_CLOCK_AHEAD_MS) throw new HallwayError('announcement is from the future');
	if (at < nowMs - ANNOUNCEMENT_TTL_MS) throw new HallwayError('announcement has expired');
	if (typeof o.creator !== 'string' || o.creator.length > 128) throw new HallwayError('announcement creator is malformed');
	let publicKey;
	try {
		const id = peerIdFromString(o.creator);
		publicKey = id.type === 'Ed25519' ? id.publicKey : undefined;
	} catch {
		publicKey = undefined;
	}
	if (!publicKey) throw new HallwayError('announcement creator is not an Ed25519 PeerId');
	if (roomIdOf(key, publicKey.raw) !== room) throw new HallwayError('announcement room id does not belong to its creator and key');
	/** @type {Announcement} */
	const a = { room, key, creator: o.creator, title, stage, listeners, live: o.live, at };
	if (!(await publicKey.verify(signingBytes(a), sig))) throw new HallwayError('announcement signature does not verify');
	return a;
}

/**
 * @param {unknown} value
 * @param {number} length
 * @param {string} what
 */
function base64url(value, length, what) {
	if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value) || value.length > 128) throw new HallwayError(`announcement ${what} is malformed`);
	let bytes;
	try {
		bytes = fromString(value, 'base64url');
	} catch {
		throw new HallwayError(`announcement ${what} is malformed`);
	}
	if (bytes.length !== length || toString(bytes, 'base64url') !== value) throw new HallwayError(`announcement ${what} is malformed`);
	return bytes;
}

/**
 * @param {unknown} value
 * @param {number} maxChars
 * @param {string} what
 */
function text(value, maxChars, what) {
	if (typeof value !== 'string' || [...value].length > maxChars || CONTROL.test(value)) throw new HallwayError(`announcement ${what} is malformed`);
	return value;
}

/**
 * @param {string} value
 * @param {number} maxChars
 */
function cut(value, maxChars) {
	const oneLine = value.replace(new RegExp(CONTROL.source, 'g'), ' ');
	const chars = [...oneLine];
	return chars.length > maxChars ? chars.slice(0, maxChars).join('') : oneLine;
}
