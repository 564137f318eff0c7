import { describe, expect, it } from 'vitest';
import { RoomCipher, RoomCryptoError } from './room-crypto';
import { newRoomKey } from './room-link';

describe('RoomCipher', () => {
	it('round-trips, with a fresh IV each time', async () => {
		const cipher = await RoomCipher.create('room-a', newRoomKey());
		const plain = new TextEncoder().encode('the title is secret');
		const a = await cipher.seal('topic', plain);
		const b = await cipher.seal('topic', plain);
		expect(a).not.toEqual(b);
		expect(await cipher.open('topic', a)).toEqual(plain);
		expect(new TextDecoder().decode(a)).not.toContain('secret');
	});

	it('refuses another key, another room, another purpose, tampering and short input', async () => {
		const key = newRoomKey();
		const cipher = await RoomCipher.create('room-a', key);
		const sealed = await cipher.seal('topic', new Uint8Array([1, 2, 3]));
		const tampered = sealed.slice();
		tampered[tampered.length - 1] ^= 1;
		await expect((await RoomCipher.create('room-a', newRoomKey())).open('topic', sealed)).rejects.toThrow(RoomCryptoError);
		await expect((await RoomCipher.create('room-b', key)).open('topic', sealed)).rejects.toThrow(RoomCryptoError);
		await expect(cipher.open('sync', sealed)).rejects.toThrow(RoomCryptoError);
		await expect(cipher.open('topic', tampered)).rejects.toThrow(RoomCryptoError);
		await expect(cipher.open('topic', new Uint8Array(5))).rejects.toThrow(RoomCryptoError);
	});
});
