import { describe, expect, it } from 'vitest';
import { RoomCryptoError } from './room-crypto';
import { epochCommitment, ROOM_KEY_BYTES, RoomKeys } from './room-keys';
import { newRoomKey } from './room-link';

const text = (s: string) => new TextEncoder().encode(s);
const read = (b: Uint8Array) => new TextDecoder().decode(b);

describe('RoomKeys', () => {
	it('commits to a key by room: the same key in another room is another commitment', async () => {
		const key = new Uint8Array(ROOM_KEY_BYTES).fill(7);
		const a = await epochCommitment('room-a', key);
		expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(await epochCommitment('room-a', key)).toBe(a);
		expect(await epochCommitment('room-b', key)).not.toBe(a);
	});

	it('seals the topic with the base key until a rotation, then only with the current key', async () => {
		const base = newRoomKey();
		const moderator = await RoomKeys.create('r', base);
		const member = await RoomKeys.create('r', base);
		const banned = await RoomKeys.create('r', base);
		const before = await moderator.sealTopic(text('before'));
		expect(read(await banned.openTopic(before!))).toBe('before');

		const epoch = await moderator.draw();
		for (const k of [moderator, member, banned]) k.setEpochs([epoch]);
		expect(moderator.wanted).toBeNull();
		expect(member.wanted).toBe(epoch);
		// Someone missing the current key stays quiet rather than seal with one the banned holds.
		expect(await member.sealTopic(text('x'))).toBeNull();
		const after = (await moderator.sealTopic(text('after')))!;
		await expect(banned.openTopic(after)).rejects.toBeInstanceOf(RoomCryptoError);
		await expect(member.openTopic(after)).rejects.toBeInstanceOf(RoomCryptoError);

		expect(await member.add(moderator.rawKey(epoch)!)).toBe(epoch);
		expect(member.wanted).toBeNull();
		expect(read(await member.openTopic(after))).toBe('after');
		// Members still on the base key are read, not refused.
		expect(read(await member.openTopic(before!))).toBe('before');
	});

	it('seals the update that rotates the key with the key before it', async () => {
		const keys = await RoomKeys.create('r', newRoomKey());
		const reader = await RoomKeys.create('r', newRoomKey());
		const first = await keys.draw();
		keys.setEpochs([first]);
		await reader.add(keys.rawKey(first)!);
		const second = await keys.draw();
		keys.setEpochs([first, second]);
		const sealed = (await keys.sealTopic(text('ban'), second))!;
		expect(read(await reader.openTopic(sealed))).toBe('ban');
		await expect(reader.openTopic((await keys.sealTopic(text('later')))!)).rejects.toBeInstanceOf(RoomCryptoError);
	});

	it('believes a key only for the commitment it hashes to', async () => {
		const keys = await RoomKeys.create('r', newRoomKey());
		const epoch = await epochCommitment('r', new Uint8Array(ROOM_KEY_BYTES).fill(1));
		keys.setEpochs([epoch]);
		expect(await keys.add(new Uint8Array(ROOM_KEY_BYTES).fill(2))).not.toBe(epoch);
		expect(keys.wanted).toBe(epoch);
		expect(await keys.add(new Uint8Array(5))).toBeNull();
	});

	it('keeps a bounded number of keys: the newest epochs, and few that no op names', async () => {
		const keys = await RoomKeys.create('r', newRoomKey());
		const epochs: string[] = [];
		for (let i = 0; i < 20; i++) {
			epochs.push(await keys.draw());
			keys.setEpochs([...epochs]);
		}
		for (let i = 0; i < 10; i++) await keys.add(crypto.getRandomValues(new Uint8Array(ROOM_KEY_BYTES)));
		expect(keys.export().length).toBe(16 + 4);
		expect(keys.has(epochs.at(-1)!)).toBe(true);
		expect(keys.has(epochs[0])).toBe(false);
	});

	it('keeps a key a moderator gave ahead of its op, however many keys others push', async () => {
		const keys = await RoomKeys.create('r', newRoomKey());
		const genuine = crypto.getRandomValues(new Uint8Array(ROOM_KEY_BYTES));
		const commitment = await keys.add(genuine, { trusted: true });
		for (let i = 0; i < 50; i++) await keys.add(crypto.getRandomValues(new Uint8Array(ROOM_KEY_BYTES)));
		expect(keys.export().length).toBe(1 + 4);
		// The op naming it arrives: the key is there to read and seal with.
		keys.setEpochs([commitment!]);
		expect(keys.wanted).toBeNull();
		expect(keys.has(commitment!)).toBe(true);
		// Given again by a member, it stays in the moderator's lot.
		const other = await RoomKeys.create('r', newRoomKey());
		const early = await other.add(genuine, { trusted: true });
		await other.add(genuine);
		for (let i = 0; i < 10; i++) await other.add(crypto.getRandomValues(new Uint8Array(ROOM_KEY_BYTES)));
		expect(other.has(early!)).toBe(true);
	});
});
