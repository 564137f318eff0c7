/**
 * /stanza/room-sync/1.0.0 — a joiner catches up from any member.
 *
 * One stream per exchange; frames are unsigned-varint length-prefixed, at
 * most 8 MiB. After the first, every frame is sealed with the room key
 * (room-crypto.ts, purpose "sync") and holds one y-protocols sync message
 * (SyncStep1 = state vector, SyncStep2 = the missing updates).
 *
 *   dialer → listener   room id (UTF-8, plain: the listener must know which room)
 *   dialer → listener   sealed SyncStep1(dialer's state vector) ‖ record ids
 *   listener → dialer   sealed SyncStep2(what the dialer lacks), sealed SyncStep1(listener's state vector) ‖ record ids
 *   dialer → listener   sealed SyncStep2(what the listener lacks)
 *   both close
 *
 * The record ids (a varUint8Array after the y-protocols message, which
 * earlier versions read past) are RoomDoc.recordIds(): the 16-byte id of
 * every record the sender holds. Two records can share a Yjs client id (an
 * author that ground ~2^26.5 of its own; room-doc.ts), and Yjs offers items
 * by clock, not by record: a vector that counts one record under that id
 * may count the other. So the answer is the difference by the other side's
 * vector, plus every item under a client id where we hold a record the
 * other did not name. An honest room has no such client id and the answer
 * is the plain difference. To a peer of an earlier version (no ids), every
 * item under a client id where we hold more than one record.
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
import { MAX_RECORDS_PER_UPDATE, type RoomDoc } from './room-doc';
import { OP_ID_BYTES } from './room-op-codec';
import { toString } from 'uint8arrays';

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
		await writeSealed(lp, party, encodeStep1(party.room), signal);
		await receiveStep2(lp, party, signal);
		const theirState = await readSealedMessage(lp, party, signal);
		if (theirState.type !== syncProtocol.messageYjsSyncStep1) throw new RoomSyncError('expected the listener’s state vector');
		await writeSealed(lp, party, answerTo(party.room, theirState), signal);
		await stream.close({ signal });
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
		await writeSealed(lp, party, answerTo(party.room, theirState), signal);
		await writeSealed(lp, party, encodeStep1(party.room), signal);
		await receiveStep2(lp, party, signal);
		await stream.close({ signal });
	} catch (err) {
		stream.abort(err instanceof Error ? err : new Error(String(err)));
	}
}

async function receiveStep2(lp: LengthPrefixedStream, party: SyncParty, signal: AbortSignal): Promise<void> {
	const message = await readSealedMessage(lp, party, signal);
	if (message.type !== syncProtocol.messageYjsSyncStep2) throw new RoomSyncError('expected missing updates');
	await party.room.applyUpdate(message.payload, 'sync');
}

function encodeStep1(room: RoomDoc): Uint8Array {
	const encoder = encoding.createEncoder();
	syncProtocol.writeSyncStep1(encoder, room.doc);
	encoding.writeVarUint8Array(encoder, room.recordIds());
	return encoding.toUint8Array(encoder);
}

/**
 * Our SyncStep2: what the other side lacks by its state vector, and every item under a client id
 * where we hold a record it did not name (or, to an earlier version, more than one record).
 */
function answerTo(room: RoomDoc, theirs: SyncMessage): Uint8Array {
	let vector: Map<number, number>;
	try {
		vector = Y.decodeStateVector(theirs.payload);
	} catch {
		throw new RoomSyncError('malformed state vector');
	}
	if (theirs.recordIds) {
		const held = new Set<string>();
		for (let at = 0; at < theirs.recordIds.length; at += OP_ID_BYTES) held.add(toString(theirs.recordIds.subarray(at, at + OP_ID_BYTES), 'base64url'));
		for (const id of room.ops.keys()) if (!held.has(id)) vector.delete(room.clientOf(id));
	} else {
		for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(room.doc))) if (clock > 1) vector.delete(client);
	}
	const encoder = encoding.createEncoder();
	syncProtocol.writeSyncStep2(encoder, room.doc, Y.encodeStateVector(vector));
	return encoding.toUint8Array(encoder);
}

async function writeSealed(lp: LengthPrefixedStream, party: SyncParty, message: Uint8Array, signal: AbortSignal): Promise<void> {
	await lp.write(await party.cipher.seal('sync', message), { signal });
}

/** One sync message; a SyncStep1 from this version on also carries the ids of the sender's records. */
interface SyncMessage {
	type: number;
	payload: Uint8Array;
	recordIds?: Uint8Array;
}

// More ids than a room can hold records is hostile.
const MAX_RECORD_ID_BYTES = MAX_RECORDS_PER_UPDATE * OP_ID_BYTES;

async function readSealedMessage(lp: LengthPrefixedStream, party: SyncParty, signal: AbortSignal): Promise<SyncMessage> {
	const frame = (await lp.read({ signal })).subarray();
	if (frame.length === 1 && frame[0] === SYNC_REFUSED) throw new RoomSyncRefusedError();
	const opened = await party.cipher.open('sync', frame);
	try {
		const decoder = decoding.createDecoder(opened);
		const type = decoding.readVarUint(decoder);
		const payload = decoding.readVarUint8Array(decoder);
		// An earlier version sends no record ids (see answerTo).
		if (type !== syncProtocol.messageYjsSyncStep1 || !decoding.hasContent(decoder)) return { type, payload };
		const recordIds = decoding.readVarUint8Array(decoder);
		if (recordIds.length % OP_ID_BYTES !== 0 || recordIds.length > MAX_RECORD_ID_BYTES) throw new RoomSyncError('malformed record ids');
		return { type, payload, recordIds };
	} catch {
		throw new RoomSyncError('malformed sync message');
	}
}
