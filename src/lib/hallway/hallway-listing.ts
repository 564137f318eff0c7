/**
 * A room's listing port (room-state.svelte.ts) backed by the hallway: the
 * announcer (and the signing code behind it) loads only once a room first
 * has something to list, so neither the first screen nor a private room
 * carries it.
 */
import type { PrivateKey } from '@libp2p/interface';
import type { StanzaNode } from '../net/libp2p-node';
import type { RoomAddress } from '../room/room-link';
import type { ListingPort, RoomListing } from '../room/room-state.svelte';
import type { HallwayAnnouncer } from './hallway-announcer';

export function hallwayListing(address: RoomAddress, deps: { node: () => Promise<StanzaNode>; privateKey: Promise<PrivateKey> }): ListingPort {
	let announcer: Promise<HallwayAnnouncer> | null = null;
	let stopped = false;
	const start = async () => {
		const [{ HallwayAnnouncer }, { HALLWAY_TOPIC }, node, privateKey] = await Promise.all([
			import('./hallway-announcer'),
			import('./hallway-announcement.js'),
			deps.node(),
			deps.privateKey
		]);
		return new HallwayAnnouncer(address, {
			publish: async (bytes) => (await node.services.pubsub.publish(HALLWAY_TOPIC, bytes)).recipients.length,
			signer: { privateKey, peerId: node.peerId.toString() }
		});
	};
	return {
		update(listing: RoomListing) {
			if (stopped || (!listing.listed && !announcer)) return;
			announcer ??= start();
			// Updates reach the announcer in the order they were made: each waits on the same promise.
			void announcer.then((a) => a.update(listing)).catch(() => {});
		},
		stop() {
			stopped = true;
			void announcer?.then((a) => a.stop()).catch(() => {});
		}
	};
}
