import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newRoomKey, roomIdFor } from '../room/room-link';
import { readAnnouncement } from './hallway-announcement.js';
import { HallwayAnnouncer, MIN_GAP_MS, REPEAT_MS, RETRY_MS, type HallwaySummary } from './hallway-announcer';

const START = 1_800_000_000_000;

/** `heardBy(n)`: how many peers the n-th announcement reached (everyone's by default: one). */
async function setup(heardBy: (n: number) => number = () => 1) {
	const privateKey = await generateKeyPair('Ed25519');
	const peerId = peerIdFromPrivateKey(privateKey).toString();
	const key = newRoomKey();
	const roomId = await roomIdFor(key, privateKey.publicKey.raw);
	const sent: Uint8Array[] = [];
	const sentAt: number[] = [];
	const publish = async (bytes: Uint8Array) => {
		sentAt.push(Date.now() - START);
		return heardBy(sent.push(bytes));
	};
	const announcer = new HallwayAnnouncer({ roomId, key }, { publish, signer: { privateKey, peerId } });
	const read = () => Promise.all(sent.map((b) => readAnnouncement(b, Date.now())));
	return { announcer, sent, sentAt, read, roomId };
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

	it('tries again soon, doubling the wait, while an announcement reaches nobody, then goes back to every 30 s', async () => {
		// The first three reach nobody (a node that has just joined the topic), the fourth is heard.
		const { announcer, sentAt } = await setup((n) => (n <= 3 ? 0 : 2));
		announcer.update(listed());
		for (let t = 0; t < RETRY_MS * 8; t += 100) await settle(100);
		expect(sentAt).toEqual([0, RETRY_MS, RETRY_MS * 3, RETRY_MS * 7]);
		await settle(REPEAT_MS);
		expect(sentAt).toEqual([0, RETRY_MS, RETRY_MS * 3, RETRY_MS * 7, RETRY_MS * 7 + REPEAT_MS]);
		announcer.stop();
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
