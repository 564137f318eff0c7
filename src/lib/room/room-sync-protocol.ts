/**
 * /stanza/room-sync/1.0.0 — a joiner catches up from any member.
 *
 * One stream per exchange; frames are unsigned-varint length-prefixed, at
 * most 8 MiB. After the first, every frame is sealed with the room key
 * (room-crypto.ts, purpose "sync") and holds one y-protocols sync message
 * (SyncStep1 = state vector, SyncStep2 = the missing updates).
 *
 *   dialer → listener   room id (UTF-8, plain: the listener must know which room)
 *   dialer → listener   sealed SyncStep1(dialer's state vector)
 *   listener → dialer   sealed SyncStep2(what the dialer lacks), sealed SyncStep1(listener's state vector)
 *   dialer → listener   sealed SyncStep2(what the listener lacks)
 *   both close
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
		await writeSealed(lp, party, encodeStep1(party.room.doc), signal);
		await receiveStep2(lp, party, signal);
		const theirState = await readSealedMessage(lp, party, signal);
		if (theirState.type !== syncProtocol.messageYjsSyncStep1) throw new RoomSyncError('expected the listener’s state vector');
		await writeSealed(lp, party, encodeStep2(party.room.doc, theirState.payload), signal);
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
		await writeSealed(lp, party, encodeStep2(party.room.doc, theirState.payload), signal);
		await writeSealed(lp, party, encodeStep1(party.room.doc), signal);
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

function encodeStep1(doc: Y.Doc): Uint8Array {
	const encoder = encoding.createEncoder();
	syncProtocol.writeSyncStep1(encoder, doc);
	return encoding.toUint8Array(encoder);
}

function encodeStep2(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
	const encoder = encoding.createEncoder();
	try {
		syncProtocol.writeSyncStep2(encoder, doc, stateVector);
	} catch {
		throw new RoomSyncError('malformed state vector');
	}
	return encoding.toUint8Array(encoder);
}

async function writeSealed(lp: LengthPrefixedStream, party: SyncParty, message: Uint8Array, signal: AbortSignal): Promise<void> {
	await lp.write(await party.cipher.seal('sync', message), { signal });
}

async function readSealedMessage(lp: LengthPrefixedStream, party: SyncParty, signal: AbortSignal): Promise<{ type: number; payload: Uint8Array }> {
	const frame = (await lp.read({ signal })).subarray();
	if (frame.length === 1 && frame[0] === SYNC_REFUSED) throw new RoomSyncRefusedError();
	const opened = await party.cipher.open('sync', frame);
	try {
		const decoder = decoding.createDecoder(opened);
		const type = decoding.readVarUint(decoder);
		const payload = decoding.readVarUint8Array(decoder);
		return { type, payload };
	} catch {
		throw new RoomSyncError('malformed sync message');
	}
}
