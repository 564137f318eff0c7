/**
 * The app's long-lived state: one identity, one network node, the rooms on
 * this device. Started once by the root layout; every page reads it.
 *
 * The network (libp2p, ~90 KiB gzip and the heaviest start-up work) starts
 * only when a screen needs it: a room, or Settings. The home screen reads the
 * hallway from the relays over HTTP, so a phone that opens the app to look
 * around never pays for it (docs/ARCHITECTURE.md).
 */
import { AppUpdate } from './app-update.svelte';
import { needsNetwork } from './screens';
import { hallwayListing } from '../hallway/hallway-listing';
import { HallwayState } from '../hallway/hallway-state.svelte';
import { IdentityState } from '../identity/identity-state.svelte';
import { configuredIceServers, NetState } from '../net/net-state.svelte';
import { sessionLeaseMemory, webLocksLease, type TabLease } from '../net/tab-lease';
import type { RoomAddress } from '../room/room-link';
import type { RoomState } from '../room/room-state.svelte';
import type { RoomHost } from '../room/room-host';
import type { AudioHost } from '../audio/audio-host';
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
	#connected = false;
	/** The network is one tab's at a time (net/tab-lease.ts); a tab that held it and is reloaded on a room or Settings keeps it. */
	readonly #lease: TabLease;
	#roomHost: Promise<RoomHost> | null = null;
	#audioHost: Promise<AudioHost> | null = null;
	/** The rooms open on our one node: a host for their streams and one for their audio links, made once (loaded with the room). */
	readonly #hosts = {
		room: () =>
			(this.#roomHost ??= Promise.all([this.net.node(), import('../room/room-host')]).then(([node, { RoomHost }]) => {
				const host = new RoomHost(node);
				// A member of a room open here is no stranger to the node (net/stranger-guard.ts).
				this.net.vouch((peerId) => host.knows(peerId));
				return host;
			})),
		audio: () => (this.#audioHost ??= Promise.all([this.net.node(), import('../audio/audio-host')]).then(([node, { AudioHost }]) => new AudioHost(node)))
	};

	constructor() {
		const opensOnNetwork = typeof location !== 'undefined' && needsNetwork(location.hash);
		const memory = sessionLeaseMemory('stanza-network', opensOnNetwork);
		// A reload of the tab that held the network takes it back as the lease is made (webLocksLease).
		this.#lease = webLocksLease('stanza-network', { memory });
		// Another tab took the network: its rooms, audio links and node all go with a reload (they are
		// made once per page), after which this tab waits for the lease like any other.
		this.#lease.onLost(() => {
			this.net.handedOver = true;
			location.reload();
		});
		this.#store = import('../room/room-store').then(({ RoomStore }) => new RoomStore(idbKeyValueStore()));
		this.rooms = new RoomsState(this.#store, this.#loaded.promise.then((i) => i.privateKey));
		// Opened at a screen that needs the network: its download overlaps with the first render.
		if (opensOnNetwork) this.net.preload();
	}

	/** Loads the identity and the rooms on this device; safe to call more than once. */
	start(): void {
		if (this.#started) return;
		this.#started = true;
		void this.update.watch();
		this.identity.load().then((i) => this.#loaded.resolve(i), (err) => this.#loaded.reject(err));
		void this.rooms.load();
	}

	/** Starts the network (libp2p and the relays), for a screen that needs it; safe to call more than once. */
	connect(): void {
		this.start();
		if (this.#connected) return;
		this.#connected = true;
		void this.#lease
			.hold(() => this.net.heldElsewhere())
			.then(() => this.net.start(this.#loaded.promise.then((i) => ({ privateKey: i.privateKey, name: this.identity.currentName }))));
	}

	/** The app is open in another tab that holds the network: take it over and use it here. */
	useHere(): void {
		this.#lease.takeOver();
	}

	/** Opens a room by its link (the room module is loaded on demand). */
	async openRoom(address: RoomAddress): Promise<RoomState> {
		this.connect();
		const { RoomState } = await import('../room/room-state.svelte');
		const privateKey = this.#loaded.promise.then((i) => i.privateKey);
		const room = new RoomState(address, {
			iceServers: configuredIceServers(),
			net: this.net,
			hosts: this.#hosts,
			store: await this.#store,
			identity: { privateKey, name: this.identity.currentName, avatar: this.identity.currentAvatar, picture: this.identity.currentPicture },
			listing: hallwayListing(address, { node: () => this.net.node(), privateKey })
		});
		void room.open();
		return room;
	}
}

export const app = new AppState();
