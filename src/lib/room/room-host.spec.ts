import { describe, expect, it } from 'vitest';
import { pictureDigest } from '../identity/picture';
import { InMemoryNetwork, type InMemoryNode } from '../net/in-memory-network';
import { askPicture, PICTURE_PROTOCOL } from './picture-protocol';
import { RoomHost, type HostedRoom } from './room-host';

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const [A, B] = [new Uint8Array([...PNG, 0, 0, 0, 1]), new Uint8Array([...PNG, 0, 0, 0, 2])]; // what picture.ts takes for a PNG
const [DIGEST_A, DIGEST_B] = await Promise.all([pictureDigest(A), pictureDigest(B)]);

/** A room whose only answer is `picture`, to an ask for it by digest; it knows the peers in `knows`. */
async function room(roomId: string, picture: Uint8Array, knows: string[] = []): Promise<HostedRoom> {
	const digest = await pictureDigest(picture);
	return {
		roomId,
		syncPartyFor: () => 'refused',
		keyPartyFor: () => null,
		pictureFor: (_remote, asked) => (asked === digest ? picture : null),
		knows: (remote) => knows.includes(remote)
	};
}

async function nodes(n: number): Promise<InMemoryNode[]> {
	const network = new InMemoryNetwork();
	const made: InMemoryNode[] = [];
	for (let i = 0; i < n; i++) made.push(await network.node());
	for (const node of made.slice(1)) network.connect(made[0], node);
	return made;
}

/** `asker` asks `node` for the picture under `digest` in room `roomId`. */
async function ask(asker: InMemoryNode, node: InMemoryNode, roomId: string, digest: string): Promise<Uint8Array | null> {
	return askPicture(await asker.dialProtocol(node.peerId, PICTURE_PROTOCOL), roomId, digest, AbortSignal.timeout(2_000));
}

describe('RoomHost', () => {
	it('serves each room open on the node through one handler per protocol, by the room a stream names', async () => {
		const [asker, node] = await nodes(2);
		const host = new RoomHost(node.asNode);
		await host.add(await room('room-a', A));
		await host.add(await room('room-b', B));
		expect(await ask(asker, node, 'room-a', DIGEST_A)).toEqual(A);
		expect(await ask(asker, node, 'room-b', DIGEST_B)).toEqual(B);
		expect(await ask(asker, node, 'room-b', DIGEST_A)).toBeNull();
		expect(await ask(asker, node, 'room-c', DIGEST_A)).toBeNull();
	});

	it('vouches for a peer that any room open on the node knows, and for no other', async () => {
		const [node] = await nodes(1);
		const host = new RoomHost(node.asNode);
		expect(host.knows('peer-1')).toBe(false);
		const first = await room('room-a', A, ['peer-1']);
		await host.add(first);
		await host.add(await room('room-b', B, ['peer-2']));
		expect([host.knows('peer-1'), host.knows('peer-2'), host.knows('peer-3')]).toEqual([true, true, false]);
		host.remove(first);
		expect([host.knows('peer-1'), host.knows('peer-2')]).toEqual([false, true]);
	});

	it('keeps serving a room reopened before its old session stopped, and stops with the session it holds', async () => {
		const [asker, node] = await nodes(2);
		const host = new RoomHost(node.asNode);
		const old = await room('room-a', A);
		const reopened = await room('room-a', B);
		await host.add(old);
		await host.add(reopened);
		host.remove(old);
		expect(await ask(asker, node, 'room-a', DIGEST_B)).toEqual(B);
		host.remove(reopened);
		expect(await ask(asker, node, 'room-a', DIGEST_B)).toBeNull();
	});

	it('keeps no rooms between nodes: each node’s host serves only its own', async () => {
		const [asker, one, two] = await nodes(3);
		await new RoomHost(one.asNode).add(await room('room-a', A));
		await new RoomHost(two.asNode).add(await room('room-b', B));
		expect(await ask(asker, one, 'room-b', DIGEST_B)).toBeNull();
		expect(await ask(asker, two, 'room-b', DIGEST_B)).toEqual(B);
	});
});
