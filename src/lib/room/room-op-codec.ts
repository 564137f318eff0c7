/**
 * Signed room records ("ops"): every change to who may speak, who moderates,
 * who is out, and what the room is called. Each is signed by its author's
 * identity key and carries the room id, so it cannot be forged, altered or
 * replayed into another room. Each also names the records its author had
 * seen last (`parents`, the heads of its history) and carries
 * lamport = 1 + the highest lamport among them: authority.ts checks both, so
 * a clock cannot be pushed out of range and an act cannot pretend to come
 * from before something its author had already seen.
 *
 * Layout of an op (what the Yjs document stores, under key = op id):
 *
 *   varint n ‖ payload (n bytes, UTF-8 JSON, see OpBody) ‖ Ed25519 signature (64 bytes) over payload
 *
 * op id = base64url(SHA-256(whole op)[0..16]). Same bytes, same id: a record
 * delivered twice is the same record.
 */
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { toString } from 'uint8arrays';
import { readAvatar, type Avatar } from '../identity/avatar';
import { MAX_DISPLAY_NAME_CHARS, normalizeDisplayName } from '../identity/display-name';

export const OP_VERSION = 2;
// A title (≤ 120 chars) plus a description (≤ 1,000) in 4-byte UTF-8 (4.4 KiB) plus 32 parents (0.8 KiB) stays below this.
export const MAX_OP_BYTES = 6 * 1024;
// Heads an author names; more than 32 concurrent branches is not a room of people, and the highest one is always named.
export const MAX_PARENTS = 32;
/** An op id is this many bytes of the op's SHA-256 (base64url in text). */
export const OP_ID_BYTES = 16;
const OP_ID = /^[A-Za-z0-9_-]{22}$/;
// A key commitment: base64url of a SHA-256 digest.
const EPOCH = /^[A-Za-z0-9_-]{43}$/;
export const MAX_TITLE_CHARS = 120;
export const MAX_DESCRIPTION_CHARS = 1000;
const SIGNATURE_BYTES = 64;

export const TARGETED_KINDS = [
	'invite',
	'moveToAudience',
	'mute',
	'unmute',
	'remove',
	'readmit',
	'ban',
	'makeModerator',
	'revokeModerator'
] as const;
export type TargetedKind = (typeof TARGETED_KINDS)[number];
export type OpKind = 'genesis' | 'meta' | 'accept' | 'decline' | 'end' | 'profile' | 'rekey' | TargetedKind;
const KNOWN_KINDS: ReadonlySet<unknown> = new Set<string>(['genesis', 'meta', 'accept', 'decline', 'end', 'profile', 'rekey', ...TARGETED_KINDS]);
// The shape of a record kind: what a later version may name one. A kind of this shape that this version does not know
// is read as `unknown` (authority.ts keeps a few of them by stage members, with no effect): see docs/PROTOCOL.md.
const KIND = /^[a-z][A-Za-z0-9]{0,31}$/;

export type Visibility = 'public' | 'private';

interface OpHeader {
	v: 2;
	room: string;
	author: string;
	/** Lamport clock: one more than the highest parent's. Orders ops the same way everywhere. */
	lamport: number;
	/** Op ids of the heads the author had seen, sorted, unique; empty only for the genesis. */
	parents: string[];
	/** Author's wall clock (ms), for display only: never trusted for ordering. */
	ts: number;
}

export type OpBody = OpHeader &
	(
		| { kind: 'genesis'; title: string; description: string; visibility: Visibility }
		| { kind: 'meta'; title?: string; description?: string; visibility?: Visibility }
		| { kind: 'accept' | 'decline'; invitation: string }
		| { kind: 'end' }
		// The name a member on stage goes by, kept in the room so it outlives their presence.
		| { kind: 'profile'; name: string; avatar?: Avatar }
		// A kind a later version added (`wireKind`); read only for its header. Never signed by this version.
		| { kind: 'unknown'; wireKind: string }
		| { kind: Exclude<TargetedKind, 'remove' | 'ban'>; target: string }
		// `epoch`: the commitment to a new room key (room-keys.ts): the act that puts someone out rotates the key.
		| { kind: 'remove' | 'ban'; target: string; epoch?: string }
		// A new room key with nobody put out: a moderator's remedy when the current key was lost with the one who drew it.
		| { kind: 'rekey'; epoch: string }
	);

/** What a caller provides; the codec fills in v, room, author, lamport, parents and ts. */
export type OpIntent = Exclude<DistributiveOmit<OpBody, keyof OpHeader>, { kind: 'unknown' }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface SignedOp {
	id: string;
	body: OpBody;
	bytes: Uint8Array;
}

export class OpError extends Error {
	override name = 'OpError';
}

export async function signOp(
	intent: OpIntent,
	context: { roomId: string; author: PeerId; privateKey: PrivateKey; lamport: number; parents: readonly string[]; now: number }
): Promise<SignedOp> {
	const body = {
		...intent,
		v: OP_VERSION,
		room: context.roomId,
		author: context.author.toString(),
		lamport: context.lamport,
		parents: [...context.parents].sort(),
		ts: context.now
	} as OpBody;
	checkBody(body, context.roomId);
	const payload = new TextEncoder().encode(JSON.stringify(body));
	const signature = await context.privateKey.sign(payload);
	const encoder = encoding.createEncoder();
	encoding.writeVarUint8Array(encoder, payload);
	encoding.writeUint8Array(encoder, signature);
	const bytes = encoding.toUint8Array(encoder);
	if (bytes.length > MAX_OP_BYTES) throw new OpError('op too large');
	return { id: await opId(bytes), body, bytes };
}

/** Parses and verifies an op for `roomId`. Throws OpError on anything off, including a bad signature. */
export async function verifyOp(bytes: Uint8Array, roomId: string): Promise<SignedOp> {
	const parsed = await parseOp(bytes, roomId);
	await verifySignature(parsed);
	return parsed;
}

/**
 * Parses an op for `roomId` without checking its signature (the expensive
 * part): the gate first asks whether the op would change anything, and only
 * then pays for verifySignature. Throws OpError when malformed.
 */
export async function parseOp(bytes: Uint8Array, roomId: string): Promise<SignedOp> {
	const { body } = frame(bytes, roomId);
	return { id: await opId(bytes), body, bytes };
}

/** Throws OpError unless `op`'s signature verifies under its author's key. */
export async function verifySignature(op: SignedOp): Promise<void> {
	const { payload, signature } = frame(op.bytes, op.body.room);
	const author = ed25519PeerId(op.body.author);
	if (!author || !(await author.publicKey.verify(payload, signature))) throw new OpError('op signature does not verify');
}

function frame(bytes: Uint8Array, roomId: string): { payload: Uint8Array; signature: Uint8Array; body: OpBody } {
	if (bytes.length > MAX_OP_BYTES) throw new OpError('op too large');
	let payload: Uint8Array;
	let signature: Uint8Array;
	try {
		const decoder = decoding.createDecoder(bytes);
		payload = decoding.readVarUint8Array(decoder);
		signature = decoding.readUint8Array(decoder, SIGNATURE_BYTES);
		if (decoding.hasContent(decoder)) throw new Error('trailing bytes');
	} catch {
		throw new OpError('op is not framed correctly');
	}
	let body: unknown;
	try {
		body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
	} catch {
		throw new OpError('op payload is not UTF-8 JSON');
	}
	return { payload, signature, body: readBody(body, roomId) };
}

export async function opId(bytes: Uint8Array): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
	return toString(digest.subarray(0, OP_ID_BYTES), 'base64url');
}

// Parsed PeerIds by string: a room has few authors and targets, and parsing one is most of what a record costs to read.
const PEER_ID_CACHE_SIZE = 1024;
const peerIds = new Map<string, (PeerId & { publicKey: NonNullable<PeerId['publicKey']> }) | null>();

/** The raw Ed25519 public key inside an Ed25519 PeerId, or null for anything else. */
export function ed25519PeerId(peerId: string): (PeerId & { publicKey: NonNullable<PeerId['publicKey']> }) | null {
	const cached = peerIds.get(peerId);
	if (cached !== undefined) return cached;
	let parsed: (PeerId & { publicKey: NonNullable<PeerId['publicKey']> }) | null = null;
	try {
		const id = peerIdFromString(peerId);
		if (id.type === 'Ed25519' && id.publicKey) parsed = id as PeerId & { publicKey: NonNullable<PeerId['publicKey']> };
	} catch {
		parsed = null;
	}
	if (peerIds.size >= PEER_ID_CACHE_SIZE) peerIds.delete(peerIds.keys().next().value!);
	peerIds.set(peerId, parsed);
	return parsed;
}

/**
 * A parsed body as this version reads it: a record of a kind it does not know (a later version's)
 * becomes `{ kind: 'unknown', wireKind }` beside its checked header; its other fields are not read.
 */
function readBody(body: unknown, roomId: string): OpBody {
	const kind = (body as { kind?: unknown } | null)?.kind;
	if (typeof kind === 'string' && KIND.test(kind) && !KNOWN_KINDS.has(kind) && kind !== 'unknown') {
		const { v, room, author, lamport, parents, ts } = body as Record<string, unknown>;
		const header = { v, room, author, lamport, parents, ts, kind: 'end' };
		checkBody(header, roomId);
		return { ...header, kind: 'unknown', wireKind: kind } as OpBody;
	}
	checkBody(body, roomId);
	return body;
}

function checkBody(body: unknown, roomId: string): asserts body is OpBody {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new OpError('op is not an object');
	const b = body as Record<string, unknown>;
	if (b.v !== OP_VERSION) throw new OpError(`unsupported op version ${String(b.v)}`);
	if (b.room !== roomId) throw new OpError('op belongs to another room');
	if (typeof b.author !== 'string' || !ed25519PeerId(b.author)) throw new OpError('op author is not an Ed25519 PeerId');
	if (!Number.isSafeInteger(b.lamport) || (b.lamport as number) < 1) throw new OpError('op lamport must be a positive integer');
	if (!Number.isSafeInteger(b.ts) || (b.ts as number) < 0) throw new OpError('op ts must be a non-negative integer');
	const parents = b.parents;
	if (!Array.isArray(parents) || parents.length > MAX_PARENTS || !parents.every((p, i) => typeof p === 'string' && OP_ID.test(p) && (i === 0 || parents[i - 1] < p))) {
		throw new OpError(`op parents must be at most ${MAX_PARENTS} sorted, distinct op ids`);
	}
	const kind = b.kind;
	if (kind === 'genesis' ? parents.length !== 0 || b.lamport !== 1 : parents.length === 0) {
		throw new OpError('only the genesis, at lamport 1, has no parents');
	}
	const allowed = new Set(['v', 'room', 'author', 'lamport', 'parents', 'ts', 'kind']);
	if (kind === 'genesis' || kind === 'meta') {
		const required = kind === 'genesis';
		for (const [field, max] of [['title', MAX_TITLE_CHARS], ['description', MAX_DESCRIPTION_CHARS]] as const) {
			allowed.add(field);
			if (b[field] === undefined && !required) continue;
			if (typeof b[field] !== 'string' || [...(b[field] as string)].length > max) throw new OpError(`op ${field} must be text of at most ${max} characters`);
		}
		allowed.add('visibility');
		if ((required || b.visibility !== undefined) && b.visibility !== 'public' && b.visibility !== 'private') {
			throw new OpError('op visibility must be public or private');
		}
		if (kind === 'genesis' && (b.title as string).trim() === '') throw new OpError('a room needs a title');
	} else if (kind === 'profile') {
		allowed.add('name').add('avatar');
		if (b.avatar !== undefined && !readAvatar(b.avatar)) throw new OpError('op avatar must be { e: emoji, c: colour index } (identity/avatar.ts)');
		// A display name as every screen shows it (display-name.ts): one form only, so a record is never shown other than signed.
		if (typeof b.name !== 'string' || b.name === '' || normalizeDisplayName(b.name) !== b.name) {
			throw new OpError(`op name must be a display name (1 to ${MAX_DISPLAY_NAME_CHARS} characters, trimmed, single spaces)`);
		}
	} else if (kind === 'accept' || kind === 'decline') {
		allowed.add('invitation');
		if (typeof b.invitation !== 'string' || !OP_ID.test(b.invitation)) throw new OpError('op invitation must be an op id');
	} else if (kind === 'rekey') {
		allowed.add('epoch');
		if (!(typeof b.epoch === 'string' && EPOCH.test(b.epoch))) throw new OpError('op epoch must be a key commitment');
	} else if ((TARGETED_KINDS as readonly unknown[]).includes(kind)) {
		allowed.add('target');
		if (typeof b.target !== 'string' || !ed25519PeerId(b.target)) throw new OpError('op target is not an Ed25519 PeerId');
		if (kind === 'remove' || kind === 'ban') {
			allowed.add('epoch');
			if (b.epoch !== undefined && !(typeof b.epoch === 'string' && EPOCH.test(b.epoch))) throw new OpError('op epoch must be a key commitment');
		}
	} else if (kind !== 'end') {
		throw new OpError(`unknown op kind ${String(kind)}`);
	}
	for (const key of Object.keys(b)) if (!allowed.has(key)) throw new OpError(`unexpected op field ${key}`);
}
