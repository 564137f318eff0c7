/**
 * Meeting by topic — the announce message published on gossipsub topic
 * `stanza/meet/1/<topic id>`, where the topic id is the first 32 hex digits of
 * SHA-256("stanza-meet:" + topic): relays forward the topic without learning
 * its name.
 *
 * Payload, UTF-8 JSON, at most 2 KiB:
 *
 *   { "addrs": [ multiaddr string, … ],    (1–8 entries)
 *     "open": boolean,                      (optional, default true)
 *     "full": boolean }                     (optional, default false)
 *
 * `open` says whether the sender still looks for neighbours: a member with
 * enough direct room connections says false, and a peer that hears it dials
 * that member itself instead of waiting for it (see topic-meeting.ts).
 * `full` says the sender is at its most direct room connections: nobody
 * dials it to be its neighbour (only for a particular need, as an audio
 * parent), so no member's connections grow with the room.
 * Each address must end in `/p2p/<sender>` where <sender> is the gossipsub
 * message's signed `from`: nobody can announce addresses for someone else.
 * Receivers dial the `/p2p-circuit/webrtc` ones to get a direct connection.
 */
import { parseJsonObject } from '../wire/json-object';

export const MEET_TOPIC_PREFIX = 'stanza/meet/1/';
export const MAX_MEET_BYTES = 2048;
// A browser has one circuit address per relay it holds a reservation on; 8 relays is plenty.
export const MAX_MEET_ADDRS = 8;

export class MeetProtocolError extends Error {
	override name = 'MeetProtocolError';
}

export interface MeetAnnounce {
	addrs: string[];
	/** Whether the sender will dial peers it hears (it wants more neighbours). */
	open: boolean;
	/** Whether the sender is at its most neighbours (dial it only for a particular need). */
	full?: boolean;
}

export async function meetTopicFor(topic: string): Promise<string> {
	const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`stanza-meet:${topic}`));
	const hex = Array.from(new Uint8Array(digest).slice(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
	return `${MEET_TOPIC_PREFIX}${hex}`;
}

export function encodeMeetAnnounce(announce: MeetAnnounce): Uint8Array {
	const addrs = announce.addrs.slice(0, MAX_MEET_ADDRS);
	const bytes = new TextEncoder().encode(JSON.stringify({ addrs, open: announce.open, ...(announce.full ? { full: true } : {}) }));
	if (bytes.length > MAX_MEET_BYTES) throw new MeetProtocolError('announce too large');
	return bytes;
}

/** Decodes an announce and checks every address belongs to `from`. */
export function decodeMeetAnnounce(bytes: Uint8Array, from: string): MeetAnnounce {
	if (bytes.length > MAX_MEET_BYTES) throw new MeetProtocolError('announce too large');
	const { addrs, open, full } = parseJsonObject(bytes, (m) => new MeetProtocolError(m), 'announce');
	if (open !== undefined && typeof open !== 'boolean') throw new MeetProtocolError('announce "open" must be a boolean');
	if (full !== undefined && typeof full !== 'boolean') throw new MeetProtocolError('announce "full" must be a boolean');
	if (!Array.isArray(addrs) || addrs.length === 0 || addrs.length > MAX_MEET_ADDRS) {
		throw new MeetProtocolError(`announce must list 1–${MAX_MEET_ADDRS} addresses`);
	}
	for (const addr of addrs) {
		if (typeof addr !== 'string' || !addr.startsWith('/') || !addr.endsWith(`/p2p/${from}`)) {
			throw new MeetProtocolError('announce lists an address that is not the sender’s');
		}
	}
	return { addrs: addrs as string[], open: open ?? true, full: full ?? false };
}

/** The addresses through which a browser can be reached over WebRTC. */
export function webrtcAddrs(addrs: string[]): string[] {
	return addrs.filter((a) => a.includes('/p2p-circuit/webrtc/'));
}
