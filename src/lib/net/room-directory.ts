import type { StanzaNode } from './libp2p-node';

/**
 * The rooms open on one node by room id, for protocol handlers that serve
 * them all: a stream names its room, the handler finds it here. A subclass
 * registers its handlers once, with the first room (room/room-host.ts,
 * audio/audio-host.ts); it is made once per node by whoever made the node.
 */
export abstract class RoomDirectory<T extends { readonly roomId: string }> {
	readonly node: StanzaNode;
	readonly #rooms = new Map<string, T>();
	#registered: Promise<void> | null = null;

	constructor(node: StanzaNode) {
		this.node = node;
	}

	/** Sets up the node's handlers, which look rooms up with `find`; called once, by the first add(). */
	protected abstract register(find: (roomId: string) => T | undefined): Promise<void>;

	/** Serves `room` from now on (a room of the same id added before is replaced). */
	async add(room: T): Promise<void> {
		this.#registered ??= this.register((roomId) => this.#rooms.get(roomId));
		await this.#registered;
		this.#rooms.set(room.roomId, room);
	}

	/** Whether `test` holds for any room served now. */
	some(test: (room: T) => boolean): boolean {
		for (const room of this.#rooms.values()) if (test(room)) return true;
		return false;
	}

	/** Stops serving `room`; one of the same id added after it (the room reopened) is left alone. */
	remove(room: T): void {
		if (this.#rooms.get(room.roomId) === room) this.#rooms.delete(room.roomId);
	}
}
