import { lpStream, streamPair } from '@libp2p/utils';
import { describe, expect, it } from 'vitest';
import { RoomCipher, RoomCryptoError } from './room-crypto';
import { RoomDoc } from './room-doc';
import { newRoomKey } from './room-link';
import { RoomSyncRefusedError, serveSync, syncAsDialer, type SyncParty } from './room-sync-protocol';
import { makeRoom } from './test-peers';

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
});
