import { lpStream, streamPair } from '@libp2p/utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { askKey, decodeKeyMessage, encodeKeyMessage, giveKey, KeyProtocolError, serveKey, type KeyMessage, type KeyParty } from './room-key-protocol';
import { ROOM_KEY_BYTES, RoomKeys } from './room-keys';
import { newRoomKey } from './room-link';

async function party(keys: RoomKeys): Promise<KeyParty & { given: Uint8Array[] }> {
	const given: Uint8Array[] = [];
	return {
		keys,
		given,
		received: async (key) => {
			given.push(key);
			await keys.add(key);
		}
	};
}

async function room() {
	const base = newRoomKey();
	const holder = await RoomKeys.create('room', base);
	const epoch = await holder.draw();
	holder.setEpochs([epoch]);
	const asker = await RoomKeys.create('room', base);
	asker.setEpochs([epoch]);
	return { base, holder, asker, epoch };
}

describe('room key protocol', () => {
	it('round-trips every message and refuses malformed ones', () => {
		const key = new Uint8Array(ROOM_KEY_BYTES).fill(9);
		const messages: KeyMessage[] = [
			{ type: 'want', commitment: 'A'.repeat(42) + 'A' },
			{ type: 'give', key },
			{ type: 'key', key },
			{ type: 'none' },
			{ type: 'taken' }
		];
		for (const m of messages) expect(decodeKeyMessage(encodeKeyMessage(m))).toEqual(m);
		expect(() => decodeKeyMessage(new Uint8Array([3, 1, 2]))).toThrow(KeyProtocolError);
		expect(() => decodeKeyMessage(new Uint8Array([4, 0]))).toThrow(KeyProtocolError);
		expect(() => decodeKeyMessage(new Uint8Array([9]))).toThrow(KeyProtocolError);
		expect(() => decodeKeyMessage(new Uint8Array(0))).toThrow(KeyProtocolError);
		expect(() => encodeKeyMessage({ type: 'key', key: new Uint8Array(3) })).toThrow(KeyProtocolError);
		fc.assert(
			fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
				try {
					const m = decodeKeyMessage(bytes);
					expect(encodeKeyMessage(m)).toEqual(bytes);
				} catch (err) {
					expect(err).toBeInstanceOf(KeyProtocolError);
				}
			}),
			{ seed: 7, numRuns: 2_000 }
		);
	});

	it('hands the current key to a member who asks; says none when it lacks it', async () => {
		const { holder, asker, epoch } = await room();
		const [a, b] = await streamPair();
		const holderParty = await party(holder);
		const serving = serveKey(b, 'member', (id) => (id === 'room' ? holderParty : null), 2_000);
		expect(await askKey(a, await party(asker), epoch, AbortSignal.timeout(2_000))).toEqual(holder.rawKey(epoch));
		await serving;
		expect(asker.wanted).toBeNull();

		const other = await room();
		const [c, d] = await streamPair();
		const lackingParty = await party(other.asker);
		const lacking = serveKey(d, 'member', () => lackingParty, 2_000);
		expect(await askKey(c, await party(other.holder), other.epoch, AbortSignal.timeout(2_000))).toBeNull();
		await lacking;
	});

	it('serves nobody the room has put out, nor anyone without the link', async () => {
		const { holder, asker, epoch } = await room();
		const [a, b] = await streamPair();
		const refusing = serveKey(b, 'banned', () => null, 2_000);
		await expect(askKey(a, await party(asker), epoch, AbortSignal.timeout(2_000))).rejects.toThrow();
		await refusing;
		expect(asker.wanted).toBe(epoch);

		const outsider = await RoomKeys.create('room', newRoomKey());
		const [c, d] = await streamPair();
		const holderParty = await party(holder);
		const served = serveKey(d, 'x', () => holderParty, 2_000);
		await expect(askKey(c, await party(outsider), epoch, AbortSignal.timeout(2_000))).rejects.toThrow();
		await served;
	});

	it('hands out no key an op in its view does not name yet: the op it came ahead of may put the asker out', async () => {
		const { base, holder, asker, epoch } = await room();
		// A member given the key a moment before the ban that names it reaches it; the banned one asks,
		// having heard of the ban first.
		const ahead = await RoomKeys.create('room', base);
		await ahead.add(holder.rawKey(epoch)!);
		expect(ahead.has(epoch)).toBe(true);
		const [a, b] = await streamPair();
		const aheadParty = await party(ahead);
		const serving = serveKey(b, 'banned', () => aheadParty, 2_000);
		expect(await askKey(a, await party(asker), epoch, AbortSignal.timeout(2_000))).toBeNull();
		await serving;
		expect(asker.wanted).toBe(epoch);
		// Once the op is in its view, it answers (to whoever that view still counts in).
		ahead.setEpochs([epoch]);
		const [c, d] = await streamPair();
		const named = serveKey(d, 'member', () => aheadParty, 2_000);
		expect(await askKey(c, await party(asker), epoch, AbortSignal.timeout(2_000))).toEqual(holder.rawKey(epoch));
		await named;
	});

	it('judges the asker again as it answers: the ban naming the key may land while it reads the request', async () => {
		// A member whose view counted the asker in when the stream opened, and that holds the key, gets the op
		// that bans the asker (and names the key) before the request is read. Before, it answered the key.
		const { holder, asker, epoch } = await room();
		const holderParty = await party(holder);
		let lookups = 0;
		const [a, b] = await streamPair();
		const serving = serveKey(b, 'dee', () => (lookups++ === 0 ? holderParty : null), 2_000);
		await expect(askKey(a, await party(asker), epoch, AbortSignal.timeout(2_000))).rejects.toThrow();
		await serving;
		expect(lookups).toBe(2);
		expect(asker.has(epoch)).toBe(false);
	});

	it('refuses an answer that is not the key asked for', async () => {
		const { asker, epoch, base } = await room();
		const liar = await RoomKeys.create('room', base);
		const [a, b] = await streamPair();
		const lp = lpStream(b);
		const answering = (async () => {
			await lp.read();
			await lp.read();
			await lp.write(await liar.seal('key', encodeKeyMessage({ type: 'key', key: new Uint8Array(ROOM_KEY_BYTES).fill(1) })));
		})();
		await expect(askKey(a, await party(asker), epoch, AbortSignal.timeout(2_000))).rejects.toBeInstanceOf(KeyProtocolError);
		await answering;
		expect(asker.wanted).toBe(epoch);
	});

	it('gives a key to a member, who holds it', async () => {
		const { holder, asker, epoch } = await room();
		const receiver = await party(asker);
		const [a, b] = await streamPair();
		const serving = serveKey(b, 'member', () => receiver, 2_000);
		await giveKey(a, await party(holder), holder.rawKey(epoch)!, AbortSignal.timeout(2_000));
		await serving;
		expect(receiver.given).toHaveLength(1);
		expect(asker.has(epoch)).toBe(true);
	});
});
