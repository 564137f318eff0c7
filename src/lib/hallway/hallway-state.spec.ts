import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newRoomKey, roomIdFor } from '../room/room-link';
import { encodeAnnouncement } from './hallway-announcement.js';
import { HallwayState } from './hallway-state.svelte';

const START = 1_800_000_000_000;
const RELAY = '/ip4/127.0.0.1/tcp/9001/ws/p2p/12D3KooWRelay';
const RELAY_URL = 'http://127.0.0.1:9001/v1/hallway';

/** A public room's signed announcement, as a relay's cache answers it (parsed JSON). */
async function announcement(title: string) {
	const privateKey = await generateKeyPair('Ed25519');
	const key = newRoomKey();
	const room = await roomIdFor(key, privateKey.publicKey.raw);
	const bytes = await encodeAnnouncement({ room, key, title, stage: ['Ana'], listeners: 3, live: true, at: Date.now() }, privateKey, peerIdFromPrivateKey(privateKey).toString());
	return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
}

const started: HallwayState[] = [];

/** A relay cache driven by hand, the page's visibility, and a network that never starts (the home alone). */
function world(relays: string[]) {
	const asked: string[] = [];
	let answer: () => Promise<unknown[]> = async () => [];
	vi.stubGlobal('fetch', async (url: string) => {
		asked.push(url);
		try {
			const items = await answer();
			return { ok: true, status: 200, json: async () => items };
		} catch {
			return { ok: false, status: 503, json: async () => null };
		}
	});
	const doc = Object.assign(new EventTarget(), { hidden: false });
	const net = { relaysFound: async () => relays, node: () => new Promise<never>(() => {}) };
	const hallway = new HallwayState(net as never, doc as unknown as Document);
	started.push(hallway);
	return {
		hallway,
		asked,
		answers: (fn: () => Promise<unknown[]>) => void (answer = fn),
		setHidden(hidden: boolean) {
			doc.hidden = hidden;
			doc.dispatchEvent(new Event('visibilitychange'));
		}
	};
}

/** Advances the clock, then lets what it started finish: imports, and real crypto checking signatures. */
const settle = async (ms = 0) => {
	await vi.advanceTimersByTimeAsync(ms);
	for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
};
/** Waits (on the real event loop, the faked clock held) until `cond` holds, for up to 10 s of real time. */
const until = async (cond: () => boolean) => {
	const deadline = performance.now() + 10_000;
	while (!cond() && performance.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
	expect(cond()).toBe(true);
};

describe('HallwayState (the home, with no network of its own)', () => {
	beforeEach(() => vi.useFakeTimers({ now: START, toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date'] }));
	afterEach(() => {
		started.splice(0).forEach((h) => h.stop());
		vi.useRealTimers();
		vi.unstubAllGlobals();
	});

	it('lists what the relay keeps at once, and what it keeps later within one refresh', async () => {
		const w = world([RELAY]);
		const jazz = await announcement('Jazz');
		w.answers(async () => [jazz]);
		void w.hallway.start();
		await until(() => w.hallway.rooms.length === 1);
		expect(w.hallway.status).toBe('ready');
		expect(w.hallway.rooms.map((r) => r.title)).toEqual(['Jazz']);
		expect(w.asked).toEqual([RELAY_URL]);

		const poetry = await announcement('Poetry');
		w.answers(async () => [jazz, poetry]);
		await settle(9_999);
		expect(w.asked).toHaveLength(1);
		await settle(1);
		await until(() => w.hallway.rooms.length === 2);
		expect(w.hallway.rooms.map((r) => r.title).sort()).toEqual(['Jazz', 'Poetry']);
		expect(w.asked).toHaveLength(2);
		w.hallway.stop();
		await settle(60_000);
		expect(w.asked).toHaveLength(2);
	});

	it('asks nothing while the page is not seen, and asks at once when it is seen again', async () => {
		const w = world([RELAY]);
		void w.hallway.start();
		await until(() => w.hallway.status === 'ready');
		expect(w.asked).toHaveLength(1);
		w.setHidden(true);
		await settle(60_000);
		expect(w.asked).toHaveLength(1);
		w.setHidden(false);
		await settle();
		expect(w.asked).toHaveLength(2);
		w.hallway.stop();
	});

	it('says the relays cannot be reached when none is found or none answers, and recovers when one does', async () => {
		const none = world([]);
		void none.hallway.start();
		await until(() => none.hallway.status !== 'looking');
		expect(none.hallway.status).toBe('unreachable');
		none.hallway.stop();

		const w = world([RELAY]);
		w.answers(() => Promise.reject(new Error('down')));
		void w.hallway.start();
		await until(() => w.hallway.status !== 'looking');
		expect(w.hallway.status).toBe('unreachable');
		const jazz = await announcement('Jazz');
		w.answers(async () => [jazz]);
		await settle(10_000);
		await until(() => w.hallway.status === 'ready');
		expect(w.hallway.rooms.map((r) => r.title)).toEqual(['Jazz']);
		w.hallway.stop();
	});

	it('lists nothing a relay made up: an announcement whose signature does not check out is dropped', async () => {
		const w = world([RELAY]);
		const forged = { ...((await announcement('Real title')) as Record<string, unknown>), title: 'Forged title' };
		const real = await announcement('Real room');
		w.answers(async () => [forged, real]);
		void w.hallway.start();
		// Both were checked once the status is ready (it is set after every item of the answer).
		await until(() => w.hallway.status === 'ready');
		expect(w.hallway.rooms.map((r) => r.title)).toEqual(['Real room']);
		w.hallway.stop();
	});
});
