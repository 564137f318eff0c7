import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newRoomKey, roomIdFor } from '../room/room-link';
import {
	ANNOUNCEMENT_TTL_MS,
	encodeAnnouncement,
	HallwayError,
	MAX_ANNOUNCEMENT_BYTES,
	MAX_CLOCK_AHEAD_MS,
	MAX_STAGE_NAMES,
	MAX_TITLE_CHARS,
	readAnnouncement
} from './hallway-announcement.js';

const NOW = 1_800_000_000_000;

async function creator() {
	const privateKey = await generateKeyPair('Ed25519');
	const peerId = peerIdFromPrivateKey(privateKey).toString();
	const key = newRoomKey();
	const room = await roomIdFor(key, privateKey.publicKey.raw);
	return { privateKey, peerId, key, room };
}

async function announce(c: Awaited<ReturnType<typeof creator>>, fields: Partial<{ title: string; stage: string[]; listeners: number; live: boolean; at: number }> = {}) {
	return encodeAnnouncement({ room: c.room, key: c.key, title: 'Jazz night', stage: ['Ana', 'Bo'], listeners: 12, live: true, at: NOW, ...fields }, c.privateKey, c.peerId);
}

const edit = (bytes: Uint8Array, change: (o: Record<string, unknown>) => void) => {
	const o = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
	change(o);
	return new TextEncoder().encode(JSON.stringify(o));
};

describe('hallway announcements', () => {
	it('round-trip, signed by the room creator', async () => {
		const c = await creator();
		const read = await readAnnouncement(await announce(c), NOW + 1_000);
		expect(read).toEqual({ room: c.room, key: c.key, creator: c.peerId, title: 'Jazz night', stage: ['Ana', 'Bo'], listeners: 12, live: true, at: NOW });
	});

	it('cut long titles and stages so that they always fit', async () => {
		const c = await creator();
		const bytes = await announce(c, { title: '🎷'.repeat(500), stage: Array.from({ length: 30 }, () => 'x'.repeat(300)), listeners: 1e12 });
		expect(bytes.length).toBeLessThanOrEqual(MAX_ANNOUNCEMENT_BYTES);
		const read = await readAnnouncement(bytes, NOW);
		expect([...read.title]).toHaveLength(MAX_TITLE_CHARS);
		expect(read.stage).toHaveLength(MAX_STAGE_NAMES);
		expect(read.listeners).toBe(10_000_000);
	});

	it('make titles one line', async () => {
		const c = await creator();
		const read = await readAnnouncement(await announce(c, { title: 'a\nb\u2028c' }), NOW);
		expect(read.title).toBe('a b c');
	});

	it('refuse an announcement for a room someone else created (the id is bound to creator and key)', async () => {
		const owner = await creator();
		const thief = await creator();
		// The thief signs the owner's room id and key with its own key.
		const bytes = await encodeAnnouncement({ room: owner.room, key: owner.key, title: 'Mine now', stage: [], listeners: 0, live: true, at: NOW }, thief.privateKey, thief.peerId);
		await expect(readAnnouncement(bytes, NOW)).rejects.toThrow(/does not belong/);
		// Or names the owner as creator, without the owner's key.
		const named = await encodeAnnouncement({ room: owner.room, key: owner.key, title: 'Mine now', stage: [], listeners: 0, live: true, at: NOW }, thief.privateKey, owner.peerId);
		await expect(readAnnouncement(named, NOW)).rejects.toThrow(/signature/);
	});

	it.each([
		['a changed title', (o: Record<string, unknown>) => (o.title = 'Other')],
		['a changed listener count', (o: Record<string, unknown>) => (o.listeners = 9999)],
		['a changed stage', (o: Record<string, unknown>) => (o.stage = ['Mallory'])],
		['a changed time', (o: Record<string, unknown>) => (o.at = NOW + 1)],
		['a changed live flag', (o: Record<string, unknown>) => (o.live = false)]
	])('refuse %s (the signature covers every field)', async (_label, change) => {
		const c = await creator();
		await expect(readAnnouncement(edit(await announce(c), change), NOW)).rejects.toThrow(/signature/);
	});

	it('refuse announcements that expired or come from the future', async () => {
		const c = await creator();
		const bytes = await announce(c);
		await expect(readAnnouncement(bytes, NOW + ANNOUNCEMENT_TTL_MS + 1)).rejects.toThrow(/expired/);
		await expect(readAnnouncement(bytes, NOW - MAX_CLOCK_AHEAD_MS - 1)).rejects.toThrow(/future/);
		await expect(readAnnouncement(bytes, NOW + ANNOUNCEMENT_TTL_MS)).resolves.toMatchObject({ at: NOW });
	});

	it.each([
		['not JSON', new TextEncoder().encode('{nope')],
		['an array', new TextEncoder().encode('[1]')],
		['too large', new Uint8Array(MAX_ANNOUNCEMENT_BYTES + 1).fill(32)],
		['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])]
	])('refuse %s with a HallwayError', async (_label, bytes) => {
		await expect(readAnnouncement(bytes, NOW)).rejects.toThrow(HallwayError);
	});

	it('refuse any arbitrary bytes or mutated fields with a HallwayError, never anything else (property)', async () => {
		const c = await creator();
		const genuine = JSON.parse(new TextDecoder().decode(await announce(c))) as Record<string, unknown>;
		const field = fc.constantFrom(...Object.keys(genuine));
		const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 12 }), fc.object());
		await fc.assert(
			fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.tuple(field, value).map(([f, v]) => new TextEncoder().encode(JSON.stringify({ ...genuine, [f]: v })))), async (bytes) => {
				const outcome = await readAnnouncement(bytes, NOW).then(
					(a) => a,
					(err: unknown) => err
				);
				// The one way through is the genuine announcement itself (a mutation that changed nothing).
				if (outcome instanceof Error) expect(outcome).toBeInstanceOf(HallwayError);
				else expect(outcome).toMatchObject({ room: c.room, title: 'Jazz night' });
			}),
			{ numRuns: 300 }
		);
	});
});
