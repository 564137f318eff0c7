/**
 * In-memory room peers for unit tests: real keys, real signatures, real Yjs
 * documents, wired by hand instead of by a network.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import * as Y from 'yjs';
import { RoomDoc } from './room-doc';
import { newRoomKey, roomIdFor } from './room-link';

export interface TestPeer {
	name: string;
	id: string;
	peerId: PeerId;
	privateKey: PrivateKey;
	room: RoomDoc;
}

export async function makeIdentity(): Promise<{ peerId: PeerId; privateKey: PrivateKey }> {
	const privateKey = await generateKeyPair('Ed25519');
	return { privateKey, peerId: peerIdFromPrivateKey(privateKey) };
}

/** A creator and `others` peers sharing one room (each with its own empty document). */
export async function makeRoom(others: string[]): Promise<{ creator: TestPeer; peers: TestPeer[]; key: Uint8Array; roomId: string }> {
	const key = newRoomKey();
	const creatorId = await makeIdentity();
	const roomId = await roomIdFor(key, creatorId.peerId.publicKey!.raw);
	const make = (name: string, id: { peerId: PeerId; privateKey: PrivateKey }): TestPeer => ({
		name,
		id: id.peerId.toString(),
		...id,
		room: new RoomDoc(roomId, key)
	});
	const creator = make('creator', creatorId);
	const peers: TestPeer[] = [];
	for (const name of others) peers.push(make(name, await makeIdentity()));
	await creator.room.addOp({ kind: 'genesis', title: 'Test room', description: '', visibility: 'public' }, creator);
	return { creator, peers, key, roomId };
}

/** Full state from `from` into `to`, the way a sync would send it. */
export async function sync(from: TestPeer, to: TestPeer): Promise<void> {
	await to.room.applyUpdate(Y.encodeStateAsUpdate(from.room.doc, Y.encodeStateVector(to.room.doc)), 'test');
}

export async function syncAll(peers: TestPeer[]): Promise<void> {
	for (const a of peers) for (const b of peers) if (a !== b) await sync(a, b);
}
