import { describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from '../storage/key-value';
import { newRoomKey } from './room-link';
import { RoomStore } from './room-store';

describe('RoomStore', () => {
	it('lists remembered rooms, most recent first, with their keys', async () => {
		const kv = new MemoryKeyValueStore();
		const store = new RoomStore(kv);
		const key = newRoomKey();
		await store.remember({ roomId: 'a', key, title: 'A', lastOpened: 1, createdByMe: true });
		await store.remember({ roomId: 'b', key: newRoomKey(), title: 'B', lastOpened: 2, createdByMe: false });
		await store.remember({ roomId: 'a', key, title: 'A renamed', lastOpened: 3, createdByMe: true });
		const rooms = await new RoomStore(kv).list();
		expect(rooms.map((r) => r.title)).toEqual(['A renamed', 'B']);
		expect(rooms[0].key).toEqual(key);
	});

	it('keeps documents and forgets them with the room', async () => {
		const store = new RoomStore(new MemoryKeyValueStore());
		await store.remember({ roomId: 'a', key: newRoomKey(), title: 'A', lastOpened: 1, createdByMe: false });
		await store.saveDoc('a', new Uint8Array([1, 2]));
		expect(await store.loadDoc('a')).toEqual(new Uint8Array([1, 2]));
		await store.forget('a');
		expect(await store.loadDoc('a')).toBeNull();
		expect(await store.list()).toEqual([]);
	});

	it('skips damaged entries instead of failing', async () => {
		const kv = new MemoryKeyValueStore();
		kv.data.set('rooms', [{ roomId: 'x' }, 'junk', { roomId: 'ok', key: 'AAAA', title: 'T', lastOpened: 1, createdByMe: false }]);
		kv.data.set('room:ok', 'not bytes');
		const store = new RoomStore(kv);
		expect((await store.list()).map((r) => r.roomId)).toEqual(['ok']);
		expect(await store.loadDoc('ok')).toBeNull();
	});
});
