import { lpStream, streamPair } from '@libp2p/utils';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { RoomCipher, RoomCryptoError } from './room-crypto';
import { clientIdFor, MAX_RECORDS_PER_UPDATE, RoomDoc } from './room-doc';
import { OP_ID_BYTES, type SignedOp } from './room-op-codec';
import { compareOps, MAX_PROFILES_PER_AUTHOR } from './authority';
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

	it('drops garbage frames without touching the room', async () => {
		const { creator, key } = await makeRoom([]);
		const member = await party(creator.room, key);
		const before = creator.room.ops.size;
		const [a, b] = await streamPair();
		const served = serveSync(b, 'x', () => member, 2_000);
		const lp = lpStream(a);
		await lp.write(new TextEncoder().encode(creator.room.roomId));
		await lp.write(new Uint8Array(64).fill(7));
		await served;
		expect(b.status).toBe('aborted');
		expect(creator.room.ops.size).toBe(before);
	});

	/** A dialer running its own code, to `member`: the room id, then a SyncStep1 of `vectorOf`'s state vector and `recordIds` if given. */
	async function dialByHand(member: SyncParty, vectorOf: Y.Doc, recordIds?: Uint8Array) {
		const [a, b] = await streamPair();
		const served = serveSync(b, 'by hand', () => member, 2_000);
		const lp = lpStream(a);
		await lp.write(new TextEncoder().encode(member.room.roomId));
		const step1 = encoding.createEncoder();
		syncProtocol.writeSyncStep1(step1, vectorOf);
		if (recordIds) encoding.writeVarUint8Array(step1, recordIds);
		// A member refusing what it reads aborts the stream at once, and a write still waiting for the
		// stream to drain (the in-memory muxer's buffer) then rejects with that close: the reads that follow say
		// what the member did, so the write's own outcome is left to them (under load, the test failed on it).
		await lp.write(await member.cipher.seal('sync', encoding.toUint8Array(step1))).catch(() => {});
		return { lp, served, b };
	}

	/** Runs one whole exchange between two parties over an in-memory stream. */
	async function exchange(dialer: SyncParty, listener: SyncParty): Promise<void> {
		const [a, b] = await streamPair();
		const served = serveSync(b, 'dialer', () => listener, 2_000);
		await syncAsDialer(a, dialer, AbortSignal.timeout(2_000));
		await served;
	}

	/**
	 * A room and two records (each naming only the genesis) that share Yjs client id 7, as two records an
	 * author ground to collide do, and documents that file them so; every other record under its own id.
	 */
	async function collidingPair() {
		const { creator, peers, key, roomId } = await makeRoom(['one', 'two']);
		const genesis = Y.encodeStateAsUpdate(creator.room.doc);
		const ops: SignedOp[] = [];
		for (const peer of peers) {
			const copy = new RoomDoc(roomId, key);
			await copy.applyUpdate(genesis, 'test');
			ops.push(await copy.addOp({ kind: 'makeModerator', target: peer.id }, creator));
		}
		const colliding = new Set(ops.map((op) => op.id));
		const member = async (...held: SignedOp[]) => {
			const doc = new RoomDoc(roomId, key, { clientIdFor: (id) => (colliding.has(id) ? 7 : clientIdFor(id)) });
			await doc.applyUpdate(genesis, 'test');
			for (const op of held) await doc.applyUpdate(recordsUpdate([op]), 'test'); // one by one: in this order of clocks
			return doc;
		};
		const everything = [...creator.room.ops.keys(), ...ops.map((op) => op.id)].sort();
		return { key, ops, member, everything, creator, genesis, roomId };
	}

	it('trades two records that share a Yjs client id, one held on each side: the vectors alike, the ids not', async () => {
		const { key, ops, member, everything } = await collidingPair();
		const [left, right] = [await member(ops[0]), await member(ops[1])];
		expect(Y.encodeStateVector(left.doc)).toEqual(Y.encodeStateVector(right.doc));
		await exchange(await party(left, key), await party(right, key));
		expect([...left.ops.keys()].sort()).toEqual(everything);
		expect([...right.ops.keys()].sort()).toEqual(everything);
	});

	it('hands over the one of two colliding records the other side lacks, whatever clock each holds it at', async () => {
		// Both at the right, the first one's clock 1 there; the left holds that one at clock 0, and its vector counts it.
		const { key, ops, member, everything } = await collidingPair();
		const [left, right] = [await member(ops[0]), await member(ops[1], ops[0])];
		await exchange(await party(left, key), await party(right, key));
		expect([...left.ops.keys()].sort()).toEqual(everything);
		expect(left.view.moderators).toEqual(right.view.moderators);
	});

	it('trades them though the vectors differ by a record one side holds and the other refuses for good', async () => {
		// The creator's 17 profiles, each naming only the genesis: the room takes 16 per author, the first 16 in order.
		const { key, ops, member, creator, genesis, roomId } = await collidingPair();
		const profiles: SignedOp[] = [];
		for (let i = 0; i <= MAX_PROFILES_PER_AUTHOR; i++) {
			const copy = new RoomDoc(roomId, key);
			await copy.applyUpdate(genesis, 'test');
			profiles.push(await copy.addOp({ kind: 'profile', name: `Name ${i}` }, creator));
		}
		profiles.sort(compareOps);
		// The right took the last 16 before it heard of the first, and keeps the 17th; the left refuses it for good.
		const [left, right] = [await member(profiles[0]), await member(...profiles.slice(1))];
		await exchange(await party(left, key), await party(right, key));
		const last = profiles.at(-1)!.id;
		expect(right.ops.has(last) && !left.ops.has(last)).toBe(true);
		// Then one of the pair reaches each side.
		await left.applyUpdate(recordsUpdate([ops[0]]), 'test');
		await right.applyUpdate(recordsUpdate([ops[1]]), 'test');
		expect(Y.encodeStateVector(left.doc)).not.toEqual(Y.encodeStateVector(right.doc));
		await exchange(await party(right, key), await party(left, key));
		for (const doc of [left, right]) expect(ops.every((op) => doc.ops.has(op.id))).toBe(true);
		expect(left.ops.has(last)).toBe(false);
	});

	it('hands a dialer of an earlier version, which names no records, every record under a client id it holds more than one under', async () => {
		const { key, ops, member } = await collidingPair();
		const [older, listener] = [await member(ops[0]), await member(ops[1], ops[0])];
		const { lp, served } = await dialByHand(await party(listener, key), older.doc);
		const answer = decoding.createDecoder(await (await party(older, key)).cipher.open('sync', (await lp.read()).subarray()));
		expect(decoding.readVarUint(answer)).toBe(syncProtocol.messageYjsSyncStep2);
		const update = decoding.readVarUint8Array(answer);
		// Only that client id's items: the records the older dialer holds alone under theirs stay unsent.
		expect(new Set(Y.decodeUpdate(update).structs.map((item) => item.id.client))).toEqual(new Set([7]));
		await older.applyUpdate(update, 'test');
		expect(older.ops.has(ops[1].id)).toBe(true);
		lp.unwrap().abort(new Error('done'));
		await served;
	});

	it('still serves a dialer of an earlier version, whose state vector comes without record ids', async () => {
		const { creator, peers, key } = await makeRoom(['mod']);
		await creator.room.addOp({ kind: 'makeModerator', target: peers[0].id }, creator);
		const member = await party(creator.room, key);
		const older = await party(new RoomDoc(creator.room.roomId, key), key);
		const { lp, served } = await dialByHand(member, older.room.doc);
		const answer = await older.cipher.open('sync', (await lp.read()).subarray());
		const decoder = decoding.createDecoder(answer);
		expect(syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), older.room.doc, null)).toBe(syncProtocol.messageYjsSyncStep2);
		await lp.read(); // the listener's state vector, and its record ids after it
		const step2 = encoding.createEncoder();
		syncProtocol.writeSyncStep2(step2, older.room.doc, new Uint8Array([0]));
		await lp.write(await older.cipher.seal('sync', encoding.toUint8Array(step2)));
		await served;
		// The older dialer applied the answer straight into its Yjs document: every record reached it.
		expect([...older.room.doc.getMap('ops').keys()].sort()).toEqual([...creator.room.ops.keys()].sort());
	});

	it('refuses record ids that are not whole 16-byte ones, or more than a room holds, and changes nothing', async () => {
		for (const ids of [new Uint8Array(5), new Uint8Array((MAX_RECORDS_PER_UPDATE + 1) * OP_ID_BYTES)]) {
			const { creator, key } = await makeRoom([]);
			const before = creator.room.ops.size;
			const { lp, served, b } = await dialByHand(await party(creator.room, key), new Y.Doc(), ids);
			// No answer at all: the stream is aborted at once.
			expect(await lp.read().then(() => 'answered', () => 'aborted')).toBe('aborted');
			await served;
			expect(b.status).toBe('aborted');
			expect(creator.room.ops.size).toBe(before);
		}
	});
});
