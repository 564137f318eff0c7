import { lpStream, streamPair } from '@libp2p/utils';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { RoomCipher, RoomCryptoError } from './room-crypto';
import { RoomDoc } from './room-doc';
import { newRoomKey } from './room-link';
import { RoomSyncRefusedError, serveSync, syncAsDialer, type SyncParty } from './room-sync-protocol';
import { makeRoom, recordsUpdate } from './test-peers';

async function party(room: RoomDoc, key: Uint8Array): Promise<SyncParty> {
	return { room, cipher: await RoomCipher.create(room.roomId, key) };
}

describe('room sync over a stream', () => {
	it('brings a joiner up to date and hands the member what only the joiner had', async () => {
		const { creator, peers, key } = await makeRoom(['mod']);
		await creator.room.addOp({ kind: 'makeModerator', target: peers[0].id }, creator);
		const joiner = new RoomDoc(creator.room.roomId, key);
		const member = await party(creator.room, key);
		const [a, b] = await streamPair();
		const served = serveSync(b, 'joiner', (id) => (id === creator.room.roomId ? member : null), 2_000);
		await syncAsDialer(a, await party(joiner, key), AbortSignal.timeout(2_000));
		await served;
		expect(joiner.view.title).toBe('Test room');
		expect(joiner.view.moderators.has(peers[0].id)).toBe(true);
		expect(joiner.ops.size).toBe(creator.room.ops.size);
	});

	it('fails for a dialer with the wrong key and changes nothing on either side', async () => {
		const { creator, key } = await makeRoom([]);
		const member = await party(creator.room, key);
		const before = creator.room.ops.size;
		const wrongKey = newRoomKey();
		const outsider = new RoomDoc(creator.room.roomId, wrongKey);
		const [a, b] = await streamPair();
		const served = serveSync(b, 'x', () => member, 2_000);
		await expect(syncAsDialer(a, await party(outsider, wrongKey), AbortSignal.timeout(2_000))).rejects.toThrow();
		await served;
		expect(outsider.ops.size).toBe(0);
		expect(creator.room.ops.size).toBe(before);
	});

	it('fails with RoomCryptoError when the listener answers under another key', async () => {
		const { creator, key } = await makeRoom([]);
		const liar = await party(creator.room, newRoomKey()); // answers, but sealed with a different key
		const [a, b] = await streamPair();
		const lp = lpStream(b);
		const answering = (async () => {
			await lp.read();
			await lp.read();
			await lp.write(await liar.cipher.seal('sync', new Uint8Array([1, 0])));
		})();
		const error = await syncAsDialer(a, await party(new RoomDoc(creator.room.roomId, key), key), AbortSignal.timeout(2_000)).catch((e: unknown) => e);
		await answering;
		expect(error).toBeInstanceOf(RoomCryptoError);
	});

	it('aborts when the listener has no such room', async () => {
		const { creator, key } = await makeRoom([]);
		const [a, b] = await streamPair();
		const served = serveSync(b, 'x', () => null, 2_000);
		await expect(syncAsDialer(a, await party(new RoomDoc(creator.room.roomId, key), key), AbortSignal.timeout(2_000))).rejects.toThrow();
		await served;
	});

	it('tells a dialer the room put out that it is turned away, and hands it nothing', async () => {
		const { creator, key } = await makeRoom([]);
		const removed = new RoomDoc(creator.room.roomId, key);
		const [a, b] = await streamPair();
		const served = serveSync(b, 'removed', () => 'refused', 2_000);
		const error = await syncAsDialer(a, await party(removed, key), AbortSignal.timeout(2_000)).catch((e: unknown) => e);
		await served;
		expect(error).toBeInstanceOf(RoomSyncRefusedError);
		expect(removed.ops.size).toBe(0);
		expect(removed.view.exists).toBe(false);
	});

	/** A member serving a dialer that runs its own code: the room id is sent, the rest is up to the test. */
	async function servingHandBuilt() {
		const { creator, key } = await makeRoom([]);
		const member = await party(creator.room, key);
		const before = creator.room.ops.size;
		const [a, b] = await streamPair();
		const served = serveSync(b, 'x', () => member, 2_000);
		const lp = lpStream(a);
		await lp.write(new TextEncoder().encode(creator.room.roomId));
		return { creator, member, before, b, served, lp };
	}

	it('drops garbage frames without touching the room', async () => {
		const { creator, before, b, served, lp } = await servingHandBuilt();
		await lp.write(new Uint8Array(64).fill(7));
		await served;
		expect(b.status).toBe('aborted');
		expect(creator.room.ops.size).toBe(before);
	});

	/** Runs one whole exchange between two parties over an in-memory stream. */
	async function exchange(dialer: SyncParty, listener: SyncParty): Promise<void> {
		const [a, b] = await streamPair();
		const served = serveSync(b, 'dialer', () => listener, 2_000);
		await syncAsDialer(a, dialer, AbortSignal.timeout(2_000));
		await served;
	}

	it('trades two records that share a Yjs client id, which state vectors alone never offer', async () => {
		// Every record under one client id: what an author that ground a collision gets for two of its records.
		const { creator, peers, key, roomId } = await makeRoom(['one', 'two', 'three']);
		const colliding = () => new RoomDoc(roomId, key, { clientIdFor: () => 7 });
		const [left, right] = [colliding(), colliding()];
		for (const doc of [left, right]) await doc.applyUpdate(Y.encodeStateAsUpdate(creator.room.doc), 'test');
		// Three records that each name only the genesis, signed on copies of the room as it began.
		const genesis = Y.encodeStateAsUpdate(creator.room.doc);
		const ops = [];
		for (const peer of peers) {
			const copy = new RoomDoc(roomId, key);
			await copy.applyUpdate(genesis, 'test');
			ops.push(await copy.addOp({ kind: 'makeModerator', target: peer.id }, creator));
		}
		await left.applyUpdate(recordsUpdate([ops[0], ops[2]]), 'test');
		await right.applyUpdate(recordsUpdate([ops[1]]), 'test');
		const everything = [...creator.room.ops.keys(), ...ops.map((op) => op.id)].sort();
		// The vectors differ ({7: 3} and {7: 2}): this sync evens them out, one record short on each side.
		await exchange(await party(left, key), await party(right, key));
		expect(Y.encodeStateVector(left.doc)).toEqual(Y.encodeStateVector(right.doc));
		expect([...left.ops.keys()].sort()).not.toEqual(everything);
		expect([...right.ops.keys()].sort()).not.toEqual(everything);
		// The next one (anti-entropy) finds equal vectors and different digests: each side sends its whole room.
		await exchange(await party(right, key), await party(left, key));
		expect([...left.ops.keys()].sort()).toEqual(everything);
		expect([...right.ops.keys()].sort()).toEqual(everything);
		expect(await left.digest()).toEqual(await right.digest());
		for (const peer of peers) expect(left.view.moderators.has(peer.id) && right.view.moderators.has(peer.id)).toBe(true);
	});

	it('still serves a dialer of an earlier version, whose state vector comes without a digest', async () => {
		const { creator, peers, key } = await makeRoom(['mod']);
		await creator.room.addOp({ kind: 'makeModerator', target: peers[0].id }, creator);
		const member = await party(creator.room, key);
		const older = await party(new RoomDoc(creator.room.roomId, key), key);
		const [a, b] = await streamPair();
		const served = serveSync(b, 'older', () => member, 2_000);
		const lp = lpStream(a);
		await lp.write(new TextEncoder().encode(creator.room.roomId));
		const step1 = encoding.createEncoder();
		syncProtocol.writeSyncStep1(step1, older.room.doc);
		await lp.write(await older.cipher.seal('sync', encoding.toUint8Array(step1)));
		const answer = await older.cipher.open('sync', (await lp.read()).subarray());
		const decoder = decoding.createDecoder(answer);
		expect(syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), older.room.doc, null)).toBe(syncProtocol.messageYjsSyncStep2);
		await lp.read(); // the listener's state vector, and its digest after it
		const step2 = encoding.createEncoder();
		syncProtocol.writeSyncStep2(step2, older.room.doc, new Uint8Array([0]));
		await lp.write(await older.cipher.seal('sync', encoding.toUint8Array(step2)));
		await served;
		// The older dialer applied the answer straight into its Yjs document: every record reached it.
		expect([...older.room.doc.getMap('ops').keys()].sort()).toEqual([...creator.room.ops.keys()].sort());
	});

	it('refuses a state vector whose digest is not 16 bytes, and changes nothing', async () => {
		const { creator, member, before, b, served, lp } = await servingHandBuilt();
		const step1 = encoding.createEncoder();
		syncProtocol.writeSyncStep1(step1, new Y.Doc());
		encoding.writeVarUint8Array(step1, new Uint8Array(5));
		await lp.write(await member.cipher.seal('sync', encoding.toUint8Array(step1)));
		// No answer at all: the stream is aborted at once.
		expect(await lp.read().then(() => 'answered', () => 'aborted')).toBe('aborted');
		await served;
		expect(b.status).toBe('aborted');
		expect(creator.room.ops.size).toBe(before);
	});
});
