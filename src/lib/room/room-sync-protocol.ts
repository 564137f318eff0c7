/**
 * /stanza/room-sync/1.0.0 — a joiner catches up from any member.
 *
 * One stream per exchange; frames are unsigned-varint length-prefixed, at
 * most 8 MiB. After the first, every frame is sealed with the room key
 * (room-crypto.ts, purpose "sync") and holds one y-protocols sync message
 * (SyncStep1 = state vector, SyncStep2 = the missing updates).
 *
 *   dialer → listener   room id (UTF-8, plain: the listener must know which room)
 *   dialer → listener   sealed SyncStep1(dialer's state vector) ‖ digest
 *   listener → dialer   sealed SyncStep2(what the dialer lacks), sealed SyncStep1(listener's state vector) ‖ digest
 *   dialer → listener   sealed SyncStep2(what the listener lacks)
 *   both close
 *
 * The digest (a varUint8Array after the y-protocols message, which earlier
 * versions read past) is RoomDoc.digest(): which records a side holds. Two
 * records can share a Yjs client id (an author that ground ~2^26.5 of its
 * own; room-doc.ts: the second one a peer stores goes at the next clock).
 * Yjs offers items by clock, not by record, so a vector can count a
 * different record at a clock than ours holds there:
 * - a side holding more than one record under a client id sends all of
 *   them, whatever the other's vector says (an honest room has none);
 * - two sides each holding one have equal vectors: a side whose vector (as
 *   it sent it) equals the other's while the digests differ sends its whole
 *   room, not the difference. Both sides see the same and do so. Not again
 *   to that digest until either side stores something (RoomDoc.wholeSentTo):
 *   each side may refuse the other's record (a full room), and the digests
 *   then stay apart for good.
 * A peer that lies about its digest gets the whole room once per state of
 * ours, as it could by sending an empty state vector.
 *
 * Every SyncStep2 goes through the receiving RoomDoc's gate: a member can
 * only hand over records that verify. A listener that does not have the room
 * open aborts the stream. One whose verified state says the dialer was
 * removed or banned answers the room id with a single byte, SYNC_REFUSED (a
 * sealed frame is never that short), and closes: the dialer then knows it is
 * turned away, not that nobody is there, though only as the listener says so
 * (RoomSyncRefusedError). A frame that does not open with the room key means
 * the two sides hold different keys: a RoomCryptoError to the caller.
 */
import type { Stream } from '@libp2p/interface';
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import type { RoomCipher } from './room-crypto';
import type { RoomDoc } from './room-doc';

export const ROOM_SYNC_PROTOCOL = '/stanza/room-sync/1.0.0';
// A room's whole history of records is a few hundred KB at most; 8 MiB bounds a hostile peer.
export const MAX_SYNC_FRAME_BYTES = 8 * 1024 * 1024;
const MAX_ROOM_ID_BYTES = 64;

// The listener's whole answer to a dialer it will not serve: shorter than any sealed frame.
const SYNC_REFUSED = 0x00;

export class RoomSyncError extends Error {
	override name = 'RoomSyncError';
}

/** The listener said the room put us out: it serves us nothing until a moderator lets us back in. */
export class RoomSyncRefusedError extends RoomSyncError {
	override name = 'RoomSyncRefusedError';
	constructor() {
		super('turned away: the room put this peer out');
	}
}

export interface SyncParty {
	room: RoomDoc;
	cipher: RoomCipher;
}

/** Runs the dialer's side. Resolves once both sides have what the other had. */
export async function syncAsDialer(stream: Stream, party: SyncParty, signal: AbortSignal): Promise<void> {
	const lp = lpStream(stream, { maxDataLength: MAX_SYNC_FRAME_BYTES });
	try {
		await lp.write(new TextEncoder().encode(party.room.roomId), { signal });
		// What we say we hold is weighed against what they say, not against what their answer added.
		const mine = await ownState(party.room);
		await writeSealed(lp, party, encodeStep1(mine), signal);
		await receiveStep2(lp, party, signal);
		const theirState = await readSealedMessage(lp, party, signal);
		if (theirState.type !== syncProtocol.messageYjsSyncStep1) throw new RoomSyncError('expected the listener’s state vector');
		const answer = answerTo(party.room, mine, theirState);
		await writeSealed(lp, party, answer.step2, signal);
		await stream.close({ signal });
		await noteWhole(party.room, mine, theirState, answer.whole);
	} catch (err) {
		stream.abort(err instanceof Error ? err : new Error(String(err)));
		throw err;
	}
}

/**
 * Serves one sync stream. `lookup` returns the room for an id, null when this
 * peer has no such room open, or 'refused' when the room put the remote peer
 * out. Never throws.
 */
export async function serveSync(stream: Stream, remotePeer: string, lookup: (roomId: string, remotePeer: string) => SyncParty | 'refused' | null, timeoutMs: number): Promise<void> {
	const lp = lpStream(stream, { maxDataLength: MAX_SYNC_FRAME_BYTES });
	const signal = AbortSignal.timeout(timeoutMs);
	try {
		const idBytes = (await lp.read({ signal })).subarray();
		if (idBytes.length > MAX_ROOM_ID_BYTES) throw new RoomSyncError('room id too long');
		const party = lookup(new TextDecoder().decode(idBytes), remotePeer);
		if (!party) throw new RoomSyncError('no such room here');
		if (party === 'refused') {
			await lp.write(Uint8Array.of(SYNC_REFUSED), { signal });
			await stream.close({ signal });
			return;
		}
		const theirState = await readSealedMessage(lp, party, signal);
		if (theirState.type !== syncProtocol.messageYjsSyncStep1) throw new RoomSyncError('expected the dialer’s state vector');
		const mine = await ownState(party.room);
		const answer = answerTo(party.room, mine, theirState);
		await writeSealed(lp, party, answer.step2, signal);
		await writeSealed(lp, party, encodeStep1(mine), signal);
		await receiveStep2(lp, party, signal);
		await stream.close({ signal });
		await noteWhole(party.room, mine, theirState, answer.whole);
	} catch (err) {
		stream.abort(err instanceof Error ? err : new Error(String(err)));
	}
}

async function receiveStep2(lp: LengthPrefixedStream, party: SyncParty, signal: AbortSignal): Promise<void> {
	const message = await readSealedMessage(lp, party, signal);
	if (message.type !== syncProtocol.messageYjsSyncStep2) throw new RoomSyncError('expected missing updates');
	await party.room.applyUpdate(message.payload, 'sync');
}

/** What a side says it holds in its SyncStep1: its state vector and its records' digest. */
interface OwnState {
	stateVector: Uint8Array;
	digest: Uint8Array;
}

async function ownState(room: RoomDoc): Promise<OwnState> {
	return { stateVector: Y.encodeStateVector(room.doc), digest: await room.digest() };
}

function encodeStep1(mine: OwnState): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, syncProtocol.messageYjsSyncStep1);
	encoding.writeVarUint8Array(encoder, mine.stateVector);
	encoding.writeVarUint8Array(encoder, mine.digest);
	return encoding.toUint8Array(encoder);
}

/**
 * Our SyncStep2: what the other side lacks by its state vector, with every record under a client id
 * we hold more than one under; or the whole room when the vectors match and the digests do not,
 * unless this state of ours went whole to that digest already (see the header).
 */
function answerTo(room: RoomDoc, mine: OwnState, theirs: SyncMessage): { step2: Uint8Array; whole: boolean } {
	let vector: Map<number, number>;
	try {
		vector = Y.decodeStateVector(theirs.payload);
	} catch {
		throw new RoomSyncError('malformed state vector');
	}
	const own = Y.decodeStateVector(mine.stateVector);
	const whole = theirs.digest !== undefined && !equalBytes(theirs.digest, mine.digest) && sameVector(own, vector) && !room.wholeSentTo(theirs.digest);
	if (whole) vector.clear();
	for (const [client, clock] of own) if (clock > 1) vector.delete(client);
	const encoder = encoding.createEncoder();
	syncProtocol.writeSyncStep2(encoder, room.doc, Y.encodeStateVector(vector));
	return { step2: encoding.toUint8Array(encoder), whole };
}

/** After a whole-room answer that went through: remembered, while our state is still the one sent. */
async function noteWhole(room: RoomDoc, mine: OwnState, theirs: SyncMessage, whole: boolean): Promise<void> {
	if (whole && equalBytes(await room.digest(), mine.digest)) room.noteWholeSentTo(theirs.digest!);
}

function sameVector(a: Map<number, number>, b: Map<number, number>): boolean {
	return a.size === b.size && [...a].every(([client, clock]) => b.get(client) === clock);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
	return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

async function writeSealed(lp: LengthPrefixedStream, party: SyncParty, message: Uint8Array, signal: AbortSignal): Promise<void> {
	await lp.write(await party.cipher.seal('sync', message), { signal });
}

/** One sync message; a SyncStep1 from this version on also carries the sender's digest. */
interface SyncMessage {
	type: number;
	payload: Uint8Array;
	digest?: Uint8Array;
}

const DIGEST_BYTES = 16;

async function readSealedMessage(lp: LengthPrefixedStream, party: SyncParty, signal: AbortSignal): Promise<SyncMessage> {
	const frame = (await lp.read({ signal })).subarray();
	if (frame.length === 1 && frame[0] === SYNC_REFUSED) throw new RoomSyncRefusedError();
	const opened = await party.cipher.open('sync', frame);
	try {
		const decoder = decoding.createDecoder(opened);
		const type = decoding.readVarUint(decoder);
		const payload = decoding.readVarUint8Array(decoder);
		// An earlier version sends no digest: then the state vector alone decides, as it did there.
		if (type !== syncProtocol.messageYjsSyncStep1 || !decoding.hasContent(decoder)) return { type, payload };
		const digest = decoding.readVarUint8Array(decoder);
		if (digest.length !== DIGEST_BYTES) throw new RoomSyncError('malformed digest');
		return { type, payload, digest };
	} catch {
		throw new RoomSyncError('malformed sync message');
	}
}
