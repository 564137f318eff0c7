/**
 * Messages on a room's gossipsub topic `stanza/room/1/<topic id>`, where the
 * topic id is the first 16 bytes (hex) of SHA-256("stanza-room-topic:" + room
 * id): relays see neither the room id nor the title.
 *
 * Every message is sealed with the room key (room-crypto.ts, purpose
 * "topic"); inside:
 *
 *   type (u8) ‖ body
 *   1 update    body = Yjs update (v1 encoding), at most 256 KiB
 *   2 presence  body = UTF-8 JSON { "seq": n, "name": s, "hand": ms | null, "muted": b, "avatar"?: Avatar, "tree"?: TreeWire,
 *                                  "b"?: s, "j"?: true, "i"?: digest }
 *               "i": the sender's profile picture, by its SHA-256 (base64url, 43 characters), fetched from the sender
 *               over picture-protocol.ts (identity/picture.ts); one that does not read is dropped, not the message
 *               "b": seconds until the sender's next beat at the latest, 1-3600 (absent: 4); see presence.ts
 *               "j": the sender just came (joined, reloaded, let back in): some members answer with their presence
 *               (see room-session.ts: until 9 s after its first presence reached anyone)
 *               Avatar = { "e": emoji, "c": colour index } (identity/avatar.ts); one that does not read is dropped, not the message
 *               TreeWire = { "d": depth | null, "c": capacity, "k": children, "p": parent PeerId | null,
 *                            "t"?: [speaker tag of each child, ≤ 16], "s"?: true (a speaker whose microphone sends),
 *                            "h"?: [speaker tag of each voice a speaker passes on to its subtree now, ≤ 32] }
 *               (the sender's place in the audio tree; see audio/tree-planner.ts, audio/advert-check.ts;
 *               a speaker's "q" is the seq of the last audio packet it sent and "r" where its
 *               stream started, audio/stream-guard.ts)
 *   3 leave     body = UTF-8 JSON { "seq": n }
 *   4 goodbye   body = UTF-8 JSON { "peer": PeerId, "seq": n, "sig": base64 Ed25519 signature by `peer` over
 *               goodbyeSigningBytes(topic, peer, seq) }
 *   5 reaction  body = UTF-8 JSON { "seq": n, "r": name } — an emoji reaction, one of reactions.ts's
 *               names; never stored, shown for a few seconds, rate-limited by every receiver
 *
 * The sender of types 1-3 is gossipsub's signed `from`, never a field. A
 * goodbye is the one exception: a closing page hands it, sealed in advance,
 * to a relay over HTTP (navigator.sendBeacon, which outlives the page), and
 * the relay publishes it under its own name without being able to read it;
 * so the leaver is named inside and proves it with its own signature.
 * `seq` grows with every message of a peer (it starts from the clock, so it
 * also grows across restarts); receivers ignore anything not newer than the
 * last, which also makes a replayed goodbye worthless once its peer spoke again.
 */
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { fromString, toString } from 'uint8arrays';
import { ed25519PeerId } from './room-op-codec';
import { readAvatar, type Avatar } from '../identity/avatar';
import { readPictureDigest } from '../identity/picture';
import { normalizeDisplayName } from '../identity/display-name';
import { parseJsonObject } from '../wire/json-object';
import { looksLikePeerId } from '../wire/peer-id-text';
import { isReaction, type Reaction } from './reactions';

export const ROOM_TOPIC_PREFIX = 'stanza/room/1/';
// Ops are small; a bigger diff (a long history) travels over the sync stream instead.
export const MAX_TOPIC_UPDATE_BYTES = 256 * 1024;
const MAX_JSON_BYTES = 1024;
// A listener's beat in a room of 21,600 listeners (presence.ts); a longer one is a lie that would keep a vanished peer shown.
const MAX_BEAT_SECONDS = 3600;

/** A member's place in the audio tree, as it advertises it. */
export interface TreeWire {
	d: number | null;
	c: number;
	k: number;
	p: string | null;
	/** The children's speaker tags, so each child's depth can be checked against its parent (advert-check.ts). */
	t?: number[];
	/** Set by a speaker whose microphone is sending: its listeners should be hearing it. */
	s?: true;
	/**
	 * A speaker's: the speaker tags of the voices it passes on to its subtree now (its own while its
	 * microphone sends, and its fellow speakers' whose audio reaches it). A listener expects a
	 * speaker's audio from its parent only when the speaker its branch hangs from lists it
	 * (audio/withholding.ts, heldBack).
	 */
	h?: number[];
	/** A speaker's stream mark: the seq of the last audio packet it sent (u32), so listeners can refuse replays (audio/stream-guard.ts). */
	q?: number;
	/** With `q`: the seq the speaker's stream started at (u32, drawn at random); another value is another stream. */
	r?: number;
}

export type TopicMessage =
	| { type: 'update'; update: Uint8Array }
	| {
			type: 'presence';
			seq: number;
			name: string;
			hand: number | null;
			muted: boolean;
			avatar?: Avatar;
			tree?: TreeWire;
			beatSeconds?: number;
			joining?: true;
			/** The sender's profile picture's digest (identity/picture.ts). */
			picture?: string;
	  }
	| { type: 'leave'; seq: number }
	| { type: 'goodbye'; peer: string; seq: number; sig: Uint8Array }
	| { type: 'reaction'; seq: number; reaction: Reaction };

const TYPE_CODES = { update: 1, presence: 2, leave: 3, goodbye: 4, reaction: 5 } as const;
const SIGNATURE_BYTES = 64;

export class TopicMessageError extends Error {
	override name = 'TopicMessageError';
}

export async function roomTopicFor(roomId: string): Promise<string> {
	const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`stanza-room-topic:${roomId}`));
	return ROOM_TOPIC_PREFIX + Array.from(new Uint8Array(digest).slice(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function encodeTopicMessage(message: TopicMessage): Uint8Array {
	let body: Uint8Array;
	if (message.type === 'update') {
		body = message.update;
		if (body.length > MAX_TOPIC_UPDATE_BYTES) throw new TopicMessageError('update too large for the topic');
	} else if (message.type === 'goodbye') {
		body = new TextEncoder().encode(JSON.stringify({ peer: message.peer, seq: message.seq, sig: toString(message.sig, 'base64pad') }));
	} else if (message.type === 'reaction') {
		body = new TextEncoder().encode(JSON.stringify({ seq: message.seq, r: message.reaction }));
	} else if (message.type === 'presence') {
		const { type: _type, beatSeconds, joining, picture, ...fields } = message;
		const encode = (withPicture: boolean) =>
			new TextEncoder().encode(
				JSON.stringify({ ...fields, ...(beatSeconds !== undefined ? { b: beatSeconds } : {}), ...(joining ? { j: true } : {}), ...(picture && withPicture ? { i: picture } : {}) })
			);
		// The picture is what a presence can do without: a speaker's with every field at its longest
		// (a 40-character name of 4-byte letters, 16 children's and 32 voices' tags) leaves ~50 bytes.
		body = encode(true);
		if (body.length > MAX_JSON_BYTES && picture) body = encode(false);
		if (body.length > MAX_JSON_BYTES) throw new TopicMessageError(`presence too large (${body.length} bytes)`);
	} else {
		const { type: _type, ...fields } = message;
		body = new TextEncoder().encode(JSON.stringify(fields));
	}
	const bytes = new Uint8Array(1 + body.length);
	bytes[0] = TYPE_CODES[message.type];
	bytes.set(body, 1);
	return bytes;
}

export function decodeTopicMessage(bytes: Uint8Array): TopicMessage {
	if (bytes.length < 2) throw new TopicMessageError('topic message too short');
	const body = bytes.subarray(1);
	switch (bytes[0]) {
		case TYPE_CODES.update:
			if (body.length > MAX_TOPIC_UPDATE_BYTES) throw new TopicMessageError('update too large');
			return { type: 'update', update: body };
		case TYPE_CODES.presence: {
			const doc = json(body);
			const { seq, name, hand, muted } = doc;
			if (!isSeq(seq)) throw new TopicMessageError('presence needs a seq');
			if (typeof name !== 'string') throw new TopicMessageError('presence needs a name');
			if (hand !== null && !(Number.isSafeInteger(hand) && (hand as number) >= 0)) throw new TopicMessageError('presence hand must be a time or null');
			if (typeof muted !== 'boolean') throw new TopicMessageError('presence muted must be a boolean');
			const tree = doc.tree === undefined ? undefined : treeWire(doc.tree);
			const avatar = readAvatar(doc.avatar);
			const picture = readPictureDigest(doc.i);
			const { b, j } = doc;
			if (j !== undefined && j !== true) throw new TopicMessageError('presence "j" is true or absent');
			if (b !== undefined && !(Number.isSafeInteger(b) && (b as number) >= 1 && (b as number) <= MAX_BEAT_SECONDS)) {
				throw new TopicMessageError(`presence beat must be 1-${MAX_BEAT_SECONDS} seconds`);
			}
			return {
				type: 'presence',
				seq,
				name: normalizeDisplayName(name),
				hand: hand as number | null,
				muted,
				...(avatar ? { avatar } : {}),
				...(tree ? { tree } : {}),
				...(b !== undefined ? { beatSeconds: b as number } : {}),
				...(j ? { joining: true as const } : {}),
				...(picture ? { picture } : {})
			};
		}
		case TYPE_CODES.leave: {
			const { seq } = json(body);
			if (!isSeq(seq)) throw new TopicMessageError('leave needs a seq');
			return { type: 'leave', seq };
		}
		case TYPE_CODES.goodbye: {
			const { peer, seq, sig } = json(body);
			if (!looksLikePeerId(peer)) throw new TopicMessageError('goodbye needs a PeerId');
			if (!isSeq(seq)) throw new TopicMessageError('goodbye needs a seq');
			const signature = typeof sig === 'string' && /^[A-Za-z0-9+/]{86}==$/.test(sig) ? fromString(sig, 'base64pad') : null;
			if (signature?.length !== SIGNATURE_BYTES) throw new TopicMessageError('goodbye needs a 64-byte signature');
			return { type: 'goodbye', peer, seq, sig: signature };
		}
		case TYPE_CODES.reaction: {
			const { seq, r } = json(body);
			if (!isSeq(seq)) throw new TopicMessageError('reaction needs a seq');
			if (!isReaction(r)) throw new TopicMessageError('reaction is not one of the known reactions');
			return { type: 'reaction', seq, reaction: r };
		}
		default:
			throw new TopicMessageError(`unknown topic message type ${bytes[0]}`);
	}
}

/**
 * What a goodbye's signature covers: the topic (so it cannot be moved to
 * another room), the leaver and its seq.
 */
function goodbyeSigningBytes(topic: string, peer: string, seq: number): Uint8Array {
	return new TextEncoder().encode(`stanza-goodbye/1\n${topic}\n${peer}\n${seq}`);
}

/** Our goodbye for `topic`, to be sealed and kept until the page closes. */
export async function signGoodbye(topic: string, me: { peerId: PeerId; privateKey: PrivateKey }, seq: number): Promise<TopicMessage & { type: 'goodbye' }> {
	const peer = me.peerId.toString();
	return { type: 'goodbye', peer, seq, sig: await me.privateKey.sign(goodbyeSigningBytes(topic, peer, seq)) };
}

/** Whether a goodbye on `topic` was signed by the peer it names (an Ed25519 PeerId). */
export async function goodbyeIsGenuine(topic: string, goodbye: { peer: string; seq: number; sig: Uint8Array }): Promise<boolean> {
	const id = ed25519PeerId(goodbye.peer);
	try {
		return id !== null && (await id.publicKey.verify(goodbyeSigningBytes(topic, goodbye.peer, goodbye.seq), goodbye.sig));
	} catch {
		return false;
	}
}

// Depths and fan-outs far beyond any real tree are lies; a parent must look like a PeerId.
const MAX_WIRE_DEPTH = 64;
const MAX_WIRE_FANOUT = 64;
const MAX_WIRE_CHILD_TAGS = 16;
const MAX_WIRE_HEARD_TAGS = 32;

function treeWire(value: unknown): TreeWire {
	if (typeof value !== 'object' || value === null) throw new TopicMessageError('presence tree must be an object');
	const { d, c, k, p, t, s, q, r, h } = value as Record<string, unknown>;
	const small = (n: unknown, max: number) => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= max;
	if (!(d === null || small(d, MAX_WIRE_DEPTH)) || !small(c, MAX_WIRE_FANOUT) || !small(k, MAX_WIRE_FANOUT)) {
		throw new TopicMessageError('presence tree numbers out of range');
	}
	if (!(p === null || looksLikePeerId(p))) throw new TopicMessageError('presence tree parent is not a PeerId');
	if (t !== undefined && !(Array.isArray(t) && t.length <= MAX_WIRE_CHILD_TAGS && t.every((tag) => small(tag, 0xffffffff)))) {
		throw new TopicMessageError(`presence tree child tags must be at most ${MAX_WIRE_CHILD_TAGS} unsigned 32-bit integers`);
	}
	if (h !== undefined && !(Array.isArray(h) && h.length <= MAX_WIRE_HEARD_TAGS && h.every((tag) => small(tag, 0xffffffff)))) {
		throw new TopicMessageError(`presence tree heard tags must be at most ${MAX_WIRE_HEARD_TAGS} unsigned 32-bit integers`);
	}
	if (s !== undefined && s !== true) throw new TopicMessageError('presence tree "s" is true or absent');
	if ((q === undefined) !== (r === undefined)) throw new TopicMessageError('presence tree stream mark and start come together');
	if (q !== undefined && !(small(q, 0xffffffff) && small(r, 0xffffffff))) throw new TopicMessageError('presence tree stream mark and start must be unsigned 32-bit integers');
	return {
		d: d as number | null,
		c: c as number,
		k: k as number,
		p: p as string | null,
		...(t ? { t: t as number[] } : {}),
		...(s ? { s: true as const } : {}),
		...(h ? { h: h as number[] } : {}),
		...(q !== undefined ? { q: q as number, r: r as number } : {})
	};
}

function json(body: Uint8Array): Record<string, unknown> {
	if (body.length > MAX_JSON_BYTES) throw new TopicMessageError('topic message too large');
	return parseJsonObject(body, (m) => new TopicMessageError(m), 'topic message');
}

function isSeq(value: unknown): value is number {
	return Number.isSafeInteger(value) && (value as number) > 0;
}
