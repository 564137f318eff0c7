import fc from 'fast-check';
import { toString } from 'uint8arrays';
import { describe, expect, it } from 'vitest';
import { linkPartsIn, newRoomKey, parseRoomAddress, roomIdFor, roomPath, RoomLinkError } from './room-link';

describe('room links', () => {
	it('round-trip through the fragment path', async () => {
		const key = newRoomKey();
		const roomId = await roomIdFor(key, new Uint8Array(36).fill(7));
		const [, , id, k] = roomPath({ roomId, key }).split('/');
		expect(parseRoomAddress(id, k)).toEqual({ roomId, key });
	});

	it('bind the room id to the creator and the key', async () => {
		const key = newRoomKey();
		const a = await roomIdFor(key, new Uint8Array(36).fill(1));
		expect(await roomIdFor(key, new Uint8Array(36).fill(2))).not.toBe(a);
		expect(await roomIdFor(newRoomKey(), new Uint8Array(36).fill(1))).not.toBe(a);
	});

	it.each([
		['a missing key', 'AAAAAAAAAAAAAAAAAAAAAA', undefined],
		['a missing id', undefined, 'x'],
		['a short key', 'AAAAAAAAAAAAAAAAAAAAAA', 'AAAA'],
		['a key with foreign characters', 'AAAAAAAAAAAAAAAAAAAAAA', '%%%'],
		['a long id', 'AAAAAAAAAAAAAAAAAAAAAAAA', toString(new Uint8Array(32), 'base64url')],
		['a key without its check', 'AAAAAAAAAAAAAAAAAAAAAA', toString(new Uint8Array(32), 'base64url')]
	])('refuse %s', (_label, id, key) => {
		expect(() => parseRoomAddress(id, key)).toThrow(RoomLinkError);
	});

	it('find any one character changed in the key part, at once and on the device (property)', async () => {
		const key = newRoomKey();
		const roomId = await roomIdFor(key, new Uint8Array(36).fill(3));
		const [, , id, k] = roomPath({ roomId, key }).split('/');
		const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
		fc.assert(
			fc.property(fc.nat(k.length - 1), fc.constantFrom(...alphabet), (at, c) => {
				fc.pre(k[at] !== c);
				const damaged = k.slice(0, at) + c + k.slice(at + 1);
				expect(() => parseRoomAddress(id, damaged)).toThrow(/damaged/);
			}),
			{ seed: 11, numRuns: 300 }
		);
	});

	it('are found in whatever someone pastes: a whole link from any address, or its fragment', async () => {
		const key = newRoomKey();
		const roomId = await roomIdFor(key, new Uint8Array(36).fill(3));
		const path = roomPath({ roomId, key });
		const [, , room, k] = path.split('/');
		for (const text of [`https://stanza.example/#${path}`, `  http://10.0.0.5:8080/app/#${path}\n`, `#${path}`, path.slice(1), `#${path}/`]) {
			expect(linkPartsIn(text), text).toEqual({ room, key: k });
		}
		for (const text of ['', 'hello', 'https://stanza.example/', '#/r/only-one-part', `${path} trailing words`, 'xr/abc/def']) {
			expect(linkPartsIn(text), text).toBeNull();
		}
		// Found is not valid: a damaged key part is still refused by parseRoomAddress.
		const parts = linkPartsIn(`#${path.slice(0, -1)}${path.endsWith('A') ? 'B' : 'A'}`)!;
		expect(() => parseRoomAddress(parts.room, parts.key)).toThrow(RoomLinkError);
	});
});

