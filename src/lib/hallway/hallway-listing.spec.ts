import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it, vi } from 'vitest';
import type { StanzaNode } from '../net/libp2p-node';
import { newRoomKey, roomIdFor } from '../room/room-link';
import { HALLWAY_TOPIC, readAnnouncement } from './hallway-announcement.js';
import { hallwayListing } from './hallway-listing';

async function setup() {
	const privateKey = await generateKeyPair('Ed25519');
	const key = newRoomKey();
	const roomId = await roomIdFor(key, privateKey.publicKey.raw);
	const published: { topic: string; bytes: Uint8Array }[] = [];
	let nodeAsked = 0;
	const node = {
		peerId: peerIdFromPrivateKey(privateKey),
		services: { pubsub: { publish: async (topic: string, bytes: Uint8Array) => void published.push({ topic, bytes }) } }
	} as unknown as StanzaNode;
	const listing = hallwayListing({ roomId, key }, { node: async () => (nodeAsked++, node), privateKey: Promise.resolve(privateKey) });
	return { listing, published, roomId, nodeAsked: () => nodeAsked };
}

const room = { title: 'Open mic', stage: ['Ana'], listeners: 3 };

describe('hallwayListing', () => {
	it('loads nothing for a room that is never listed', async () => {
		const { listing, published, nodeAsked } = await setup();
		listing.update({ listed: false, ...room });
		listing.update({ listed: false, ...room });
		await new Promise((resolve) => setTimeout(resolve, 50));
		expect(nodeAsked()).toBe(0);
		expect(published).toEqual([]);
	});

	it('announces a listed room on the hallway topic, signed, and stops when we leave', async () => {
		const { listing, published, roomId } = await setup();
		listing.update({ listed: true, ...room });
		await vi.waitFor(() => expect(published).toHaveLength(1));
		expect(published[0].topic).toBe(HALLWAY_TOPIC);
		expect(await readAnnouncement(published[0].bytes, Date.now())).toMatchObject({ room: roomId, title: 'Open mic', stage: ['Ana'], listeners: 3, live: true });
		listing.stop();
		listing.update({ listed: true, ...room, listeners: 4 });
		await new Promise((resolve) => setTimeout(resolve, 50));
		expect(published).toHaveLength(1);
	});
});
