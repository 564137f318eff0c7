// @ts-check
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { ANNOUNCEMENT_TTL_MS, encodeAnnouncement, roomIdOf } from '../src/lib/hallway/hallway-announcement.js';
import { HALLWAY_TOPIC, HallwayCache, MAX_ROOMS_PER_CREATOR, MAX_ROOMS_PER_RELAY, MAX_ROOMS_PER_SOURCE, RELAY_SOURCE_PREFIX, startHallway } from './hallway.js';

const NOW = 1_800_000_000_000;

async function creator() {
	const privateKey = await generateKeyPair('Ed25519');
	return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
}

/**
 * @param {Awaited<ReturnType<typeof creator>>} c
 * @param {{ at?: number, title?: string, key?: Uint8Array }} [fields]
 */
async function announcement(c, { at = NOW, title = 'Room', key = crypto.getRandomValues(new Uint8Array(32)) } = {}) {
	const room = roomIdOf(key, c.privateKey.publicKey.raw);
	return encodeAnnouncement({ room, key, title, stage: [], listeners: 3, live: true, at }, c.privateKey, c.peerId);
}

function setup(clock = { now: NOW }) {
	/** @type {Map<string, (peer: unknown, message: { data?: Uint8Array, topic: string }) => string | Promise<string>>} */
	const topicValidators = new Map();
	/** @type {string[]} */
	const subscribed = [];
	/** @type {string[]} */
	const refused = [];
	const pubsub = {
		topicValidators,
		subscribe: (/** @type {string} */ t) => void subscribed.push(t),
		unsubscribe: (/** @type {string} */ t) => void subscribed.splice(subscribed.indexOf(t), 1)
	};
	const hallway = startHallway({ pubsub, maxRooms: 8, refuse: (limit) => void refused.push(limit), now: () => clock.now });
	const validate = (/** @type {Uint8Array} */ data) => /** @type {NonNullable<ReturnType<typeof topicValidators.get>>} */ (topicValidators.get(HALLWAY_TOPIC))(null, { data, topic: HALLWAY_TOPIC });
	return { hallway, validate, subscribed, refused, topicValidators };
}

describe('the relay hallway', () => {
	it('stays subscribed, forwards genuine announcements and lists them', async () => {
		const { hallway, validate, subscribed } = setup();
		expect(subscribed).toEqual([HALLWAY_TOPIC]);
		const c = await creator();
		const bytes = await announcement(c, { title: 'Jazz' });
		expect(await validate(bytes)).toBe('accept');
		const listed = JSON.parse(hallway.json());
		expect(listed).toHaveLength(1);
		expect(listed[0]).toMatchObject({ title: 'Jazz', creator: c.peerId });
		// The same announcement again (or an older one) is old news: not forwarded.
		expect(await validate(bytes)).toBe('ignore');
	});

	it('rejects what does not verify, and keeps none of it', async () => {
		const { hallway, validate, refused } = setup();
		const c = await creator();
		const genuine = JSON.parse(new TextDecoder().decode(await announcement(c)));
		const forged = new TextEncoder().encode(JSON.stringify({ ...genuine, title: 'Spam' }));
		expect(await validate(forged)).toBe('reject');
		expect(await validate(new TextEncoder().encode('not json'))).toBe('reject');
		expect(await validate(crypto.getRandomValues(new Uint8Array(100)))).toBe('reject');
		expect(await validate(await announcement(c, { at: NOW - ANNOUNCEMENT_TTL_MS - 1 }))).toBe('reject');
		expect(refused).toEqual(['hallway_invalid', 'hallway_invalid', 'hallway_invalid', 'hallway_invalid']);
		expect(hallway.json()).toBe('[]');
	});

	it('forgets a room once its last announcement expires', async () => {
		const clock = { now: NOW };
		const { hallway, validate } = setup(clock);
		expect(await validate(await announcement(await creator()))).toBe('accept');
		clock.now += ANNOUNCEMENT_TTL_MS + 1;
		expect(hallway.json()).toBe('[]');
		expect(hallway.cache.size).toBe(0);
	});

	it('stops on request: validator gone, topic left', () => {
		const { hallway, subscribed, topicValidators } = setup();
		hallway.stop();
		hallway.stop();
		expect(subscribed).toEqual([]);
		expect(topicValidators.size).toBe(0);
	});
});

describe('HallwayCache', () => {
	const entry = (/** @type {string} */ room, /** @type {string} */ creator, /** @type {number} */ at) => [{ room, creator, at }, JSON.stringify({ room, at }), NOW];

	it('keeps the newest announcement of a room', () => {
		const cache = new HallwayCache(8);
		expect(cache.offer(.../** @type {[any, string, number]} */ (entry('r1', 'a', NOW - 10)))).toBe(true);
		expect(cache.offer(.../** @type {[any, string, number]} */ (entry('r1', 'a', NOW - 20)))).toBe(false);
		expect(cache.offer(.../** @type {[any, string, number]} */ (entry('r1', 'a', NOW)))).toBe(true);
		expect(JSON.parse(cache.json(NOW))).toEqual([{ room: 'r1', at: NOW }]);
	});

	it(`lets one creator keep ${MAX_ROOMS_PER_CREATOR} rooms, its oldest going first`, () => {
		const cache = new HallwayCache(100);
		for (let i = 0; i < 10; i++) cache.offer(.../** @type {[any, string, number]} */ (entry(`r${i}`, 'spammer', NOW - 100 + i)));
		cache.offer(.../** @type {[any, string, number]} */ (entry('honest', 'someone', NOW - 1_000)));
		const rooms = /** @type {string[]} */ (JSON.parse(cache.json(NOW)).map((/** @type {{ room: string }} */ r) => r.room));
		expect(rooms).toEqual(['r9', 'r8', 'r7', 'r6', 'honest']);
	});

	it(`lets one client IP keep ${MAX_ROOMS_PER_SOURCE} rooms whatever keys it makes (no new one past that is kept nor forwarded), and a federated relay ${MAX_ROOMS_PER_RELAY} (its oldest going first)`, () => {
		const cache = new HallwayCache(1_000);
		const offer = (/** @type {string} */ room, /** @type {number} */ at, /** @type {string} */ source) =>
			cache.offer(.../** @type {[any, string, number]} */ (entry(room, `key-${room}`, at)), source);
		expect(offer('honest', NOW - 1_000, '10.0.0.2')).toBe(true);
		const fromIp = Array.from({ length: 20 }, (_, i) => offer(`r${i}`, NOW - 100 + i, '10.0.0.1'));
		expect(fromIp).toEqual(Array.from({ length: 20 }, (_, i) => i < MAX_ROOMS_PER_SOURCE));
		expect(offer('r0', NOW, '10.0.0.1')).toBe(true); // a room it has: its newer announcement is kept
		const fromRelay = Array.from({ length: 100 }, (_, i) => offer(`f${i}`, NOW - 500 + i, `${RELAY_SOURCE_PREFIX}12D3KooWfed`));
		expect(fromRelay.every(Boolean)).toBe(true);
		expect(offer('other', NOW - 50, `${RELAY_SOURCE_PREFIX}12D3KooWother`)).toBe(true);
		const rooms = /** @type {string[]} */ (JSON.parse(cache.json(NOW)).map((/** @type {{ room: string }} */ r) => r.room));
		expect(rooms.filter((r) => /^r\d/.test(r)).sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
		expect(rooms).toContain('honest');
		expect(rooms).toContain('other');
		// The relay's newest MAX_ROOMS_PER_RELAY.
		expect(rooms.filter((r) => /^f\d/.test(r)).sort()).toEqual(Array.from({ length: MAX_ROOMS_PER_RELAY }, (_, i) => `f${100 - MAX_ROOMS_PER_RELAY + i}`).sort());
	});

	it('ranks an announcement dated ahead by when it came: a flood of them cannot keep fresh honest ones out', () => {
		const cache = new HallwayCache(16);
		const sources = (/** @type {number} */ i) => `${RELAY_SOURCE_PREFIX}12D3KooW${i % 4}`; // four relays, 16 rooms each
		for (let i = 0; i < 64; i++) cache.offer(.../** @type {[any, string, number]} */ (entry(`spam${i}`, `s${i}`, NOW + 59_000)), sources(i));
		// Each fresh honest announcement outranks the oldest of them and takes its place.
		for (let i = 0; i < 16; i++) expect(cache.offer(.../** @type {[any, string, number]} */ ([{ room: `h${i}`, creator: `c${i}`, at: NOW + 1_000 + i }, JSON.stringify({ room: `h${i}` }), NOW + 1_000 + i]), `10.0.${i}.1`)).toBe(true);
		const rooms = /** @type {string[]} */ (JSON.parse(cache.json(NOW + 2_000)).map((/** @type {{ room: string }} */ r) => r.room));
		expect(rooms.filter((r) => r.startsWith('h'))).toHaveLength(16);
	});

	it('stays within its bound, dropping the oldest announcement (never a newer one for an older)', () => {
		const cache = new HallwayCache(3);
		for (let i = 0; i < 3; i++) cache.offer(.../** @type {[any, string, number]} */ (entry(`r${i}`, `c${i}`, NOW - 100 + i)));
		expect(cache.offer(.../** @type {[any, string, number]} */ (entry('late', 'x', NOW - 500)))).toBe(false);
		expect(cache.offer(.../** @type {[any, string, number]} */ (entry('new', 'y', NOW)))).toBe(true);
		expect(cache.size).toBe(3);
		expect(JSON.parse(cache.json(NOW)).map((/** @type {{ room: string }} */ r) => r.room)).toEqual(['new', 'r2', 'r1']);
	});
});
