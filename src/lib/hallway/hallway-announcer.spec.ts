import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newRoomKey, roomIdFor } from '../room/room-link';
import { readAnnouncement } from './hallway-announcement.js';
import { HallwayAnnouncer, MIN_GAP_MS, REPEAT_MS, type HallwaySummary } from './hallway-announcer';

const START = 1_800_000_000_000;

async function setup() {
	const privateKey = await generateKeyPair('Ed25519');
	const peerId = peerIdFromPrivateKey(privateKey).toString();
	const key = newRoomKey();
	const roomId = await roomIdFor(key, privateKey.publicKey.raw);
	const sent: Uint8Array[] = [];
	const announcer = new HallwayAnnouncer({ roomId, key }, { publish: async (bytes) => void sent.push(bytes), signer: { privateKey, peerId } });
	const read = () => Promise.all(sent.map((b) => readAnnouncement(b, Date.now())));
	return { announcer, sent, read, roomId };
}

const listed = (fields: Partial<HallwaySummary> = {}): HallwaySummary => ({ listed: true, title: 'Jazz', stage: ['Ana'], listeners: 2, ...fields });
// Lets the timer's async signing finish.
const settle = async (ms: number) => {
	await vi.advanceTimersByTimeAsync(ms);
	await vi.advanceTimersByTimeAsync(0);
};

describe('HallwayAnnouncer', () => {
	beforeEach(() => vi.useFakeTimers({ now: START }));
	afterEach(() => vi.useRealTimers());

	it('announces a listed room at once, then every 30 s with nothing changed', async () => {
		const { announcer, read, roomId } = await setup();
		announcer.update(listed());
		await settle(0);
		expect(await read()).toMatchObject([{ room: roomId, title: 'Jazz', stage: ['Ana'], listeners: 2, live: true }]);
		announcer.update(listed());
		await settle(REPEAT_MS);
		expect(await read()).toHaveLength(2);
		announcer.stop();
		await settle(REPEAT_MS * 3);
		expect(await read()).toHaveLength(2);
	});

	it('says what changed, but not more often than every 5 s', async () => {
		const { announcer, read } = await setup();
		announcer.update(listed());
		await settle(0);
		announcer.update(listed({ listeners: 3 }));
		announcer.update(listed({ listeners: 4 }));
		await settle(MIN_GAP_MS - 1);
		expect(await read()).toHaveLength(1);
		await settle(1);
		expect((await read()).map((a) => a.listeners)).toEqual([2, 4]);
	});

	it('never announces a room that is not listed, and takes one off the list at once when it stops being listed', async () => {
		const { announcer, read } = await setup();
		announcer.update(listed({ listed: false }));
		await settle(REPEAT_MS);
		expect(await read()).toEqual([]);
		announcer.update(listed());
		await settle(0);
		announcer.update(listed({ listed: false }));
		await settle(REPEAT_MS * 2);
		const sent = await read();
		expect(sent.map((a) => a.live)).toEqual([true, false]);
		expect(sent[1].at).toBeGreaterThan(sent[0].at);
	});
});
