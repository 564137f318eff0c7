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
 *     "full": boolean,                      (optional, default false)
 *     "i": seconds,                         (optional, default 15: the longest until the
 *                                           sender announces again, 1–3600)
 *     "j": true }                           (optional: the sender just joined the topic)
 *
 * `open` says whether the sender still looks for neighbours: a member with
 * enough direct room connections says false, and a peer that hears it dials
 * that member itself instead of waiting for it (see topic-meeting.ts).
 * `full` says the sender is at its most direct room connections: nobody
 * dials it to be its neighbour (only for a particular need, as an audio
 * parent), so no member's connections grow with the room.
 * `i` lets a large room announce less often (topic-meeting.ts): receivers keep
 * the sender's addresses for a few of its intervals.
 * `j` asks a few members to announce themselves back (a newcomer knows nobody);
 * a member heard for the first time without it is one we missed, not one that
 * needs us, and gets no answer.
 * Each address must end in `/p2p/<sender>` where <sender> is the gossipsub
 * message's signed `from`: nobody can announce addresses for someone else.
 * Receivers dial the `/p2p-circuit/webrtc` ones to get a direct connection.
 */
import { relayOf } from './connection-kind';
import { parseJsonObject } from '../wire/json-object';

export const MEET_TOPIC_PREFIX = 'stanza/meet/1/';
export const MAX_MEET_BYTES = 2048;
// A browser has one circuit address per relay it holds a reservation on; 8 relays is plenty.
export const MAX_MEET_ADDRS = 8;
// An interval past an hour is a lie that would keep a vanished peer's addresses.
export const MAX_MEET_INTERVAL_SECONDS = 3600;

export class MeetProtocolError extends Error {
	override name = 'MeetProtocolError';
}

export interface MeetAnnounce {
	addrs: string[];
	/** Whether the sender will dial peers it hears (it wants more neighbours). */
	open: boolean;
	/** Whether the sender is at its most neighbours (dial it only for a particular need). */
	full?: boolean;
	/** The longest until the sender announces again, in seconds (absent: the default interval). */
	intervalSeconds?: number;
	/** The sender just joined the topic: a few who hear it answer with their own announce. */
	joining?: boolean;
}

export async function meetTopicFor(topic: string): Promise<string> {
	const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`stanza-meet:${topic}`));
	const hex = Array.from(new Uint8Array(digest).slice(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
	return `${MEET_TOPIC_PREFIX}${hex}`;
}

export function encodeMeetAnnounce(announce: MeetAnnounce): Uint8Array {
	const addrs = announce.addrs.slice(0, MAX_MEET_ADDRS);
	const bytes = new TextEncoder().encode(JSON.stringify({
			addrs,
			open: announce.open,
			...(announce.full ? { full: true } : {}),
			...(announce.intervalSeconds !== undefined ? { i: announce.intervalSeconds } : {}),
			...(announce.joining ? { j: true } : {})
		}));
	if (bytes.length > MAX_MEET_BYTES) throw new MeetProtocolError('announce too large');
	return bytes;
}

/** Decodes an announce and checks every address belongs to `from`. */
export function decodeMeetAnnounce(bytes: Uint8Array, from: string): MeetAnnounce {
	if (bytes.length > MAX_MEET_BYTES) throw new MeetProtocolError('announce too large');
	const { addrs, open, full, i, j } = parseJsonObject(bytes, (m) => new MeetProtocolError(m), 'announce');
	if (open !== undefined && typeof open !== 'boolean') throw new MeetProtocolError('announce "open" must be a boolean');
	if (full !== undefined && typeof full !== 'boolean') throw new MeetProtocolError('announce "full" must be a boolean');
	if (j !== undefined && j !== true) throw new MeetProtocolError('announce "j" is true or absent');
	if (i !== undefined && !(Number.isSafeInteger(i) && (i as number) >= 1 && (i as number) <= MAX_MEET_INTERVAL_SECONDS)) {
		throw new MeetProtocolError(`announce interval must be 1–${MAX_MEET_INTERVAL_SECONDS} seconds`);
	}
	if (!Array.isArray(addrs) || addrs.length === 0 || addrs.length > MAX_MEET_ADDRS) {
		throw new MeetProtocolError(`announce must list 1–${MAX_MEET_ADDRS} addresses`);
	}
	for (const addr of addrs) {
		if (typeof addr !== 'string' || !addr.startsWith('/') || !addr.endsWith(`/p2p/${from}`)) {
			throw new MeetProtocolError('announce lists an address that is not the sender’s');
		}
	}
	return { addrs: addrs as string[], open: open ?? true, full: full ?? false, ...(i !== undefined ? { intervalSeconds: i as number } : {}), ...(j ? { joining: true } : {}) };
}

/** The addresses through which a browser can be reached over WebRTC. */
export function webrtcAddrs(addrs: string[]): string[] {
	return addrs.filter((a) => a.includes('/p2p-circuit/webrtc/'));
}

// A member's announce names the relays it holds reservations on, and a dial to it opens a WebSocket to the
// relay first: an announce naming hosts of the sender's choosing would have every member that dials it open
// a connection to each. Of relays other than ours, a dial tries at most this many (an honest member on other
// relays than ours is reached through either); stranger-guard.ts closes such a relay once nothing goes through it.
export const MAX_OTHER_RELAYS = 2;

/** `addrs` to dial, through the relays in `ours` first, then through at most MAX_OTHER_RELAYS others. */
export function addrsToDial(addrs: readonly string[], ours: ReadonlySet<string>): string[] {
	const through = (a: string) => relayOf(a) ?? '';
	const first = addrs.filter((a) => ours.has(through(a)));
	const others = new Set(addrs.filter((a) => !ours.has(through(a))).map(through));
	const kept = new Set([...others].slice(0, MAX_OTHER_RELAYS));
	return [...first, ...addrs.filter((a) => !ours.has(through(a)) && kept.has(through(a)))];
}
