/**
 * The app's long-lived state: one identity, one network node, the rooms on
 * this device. Started once by the root layout; every page reads it.
 */
import { AppUpdate } from './app-update.svelte';
import { hallwayListing } from '../hallway/hallway-listing';
import { HallwayState } from '../hallway/hallway-state.svelte';
import { IdentityState } from '../identity/identity-state.svelte';
import { configuredIceServers, NetState } from '../net/net-state.svelte';
import type { RoomAddress } from '../room/room-link';
import type { RoomState } from '../room/room-state.svelte';
import { RoomsState } from '../room/rooms-state.svelte';
import type { RoomStore } from '../room/room-store';
import { idbKeyValueStore } from '../storage/idb-store';

class AppState {
	readonly identity = new IdentityState();
	readonly net = new NetState();
	readonly hallway = new HallwayState(this.net);
	// Switching to a new version reloads the page: it stops asking the network first (see AppUpdate).
	readonly update = new AppUpdate({
		beforeSwitch: () => {
			this.hallway.stop();
			void this.net.stop();
		}
	});
	readonly rooms: RoomsState;
	readonly #store: Promise<RoomStore>;
	readonly #loaded = Promise.withResolvers<{ privateKey: import('@libp2p/interface').PrivateKey }>();
	#started = false;

	constructor() {
		this.#store = import('../room/room-store').then(({ RoomStore }) => new RoomStore(idbKeyValueStore()));
		this.rooms = new RoomsState(this.#store, this.#loaded.promise.then((i) => i.privateKey));
	}

	/** Loads the identity and starts the network; safe to call more than once. */
	start(): void {
		if (this.#started) return;
		this.#started = true;
		void this.update.watch();
		const identity = this.identity.load();
		identity.then((i) => this.#loaded.resolve(i), (err) => this.#loaded.reject(err));
		void this.net.start(identity.then((i) => ({ privateKey: i.privateKey, name: this.identity.currentName })));
		void this.rooms.load();
	}

	/** Opens a room by its link (the room module is loaded on demand). */
	async openRoom(address: RoomAddress): Promise<RoomState> {
		const { RoomState } = await import('../room/room-state.svelte');
		const privateKey = this.#loaded.promise.then((i) => i.privateKey);
		const room = new RoomState(address, {
			iceServers: configuredIceServers(),
			net: this.net,
			store: await this.#store,
			identity: { privateKey, name: this.identity.currentName, avatar: this.identity.currentAvatar },
			listing: hallwayListing(address, { node: () => this.net.node(), privateKey })
		});
		void room.open();
		return room;
	}
}

export const app = new AppState();
