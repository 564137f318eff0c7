/**
 * Rooms kept on this device: the list (id, key, title, when last opened) and
 * each room's Yjs document, so that rooms you created or joined are there
 * after a reload and offline. Stored through the KeyValueStore (IndexedDB in
 * the browser).
 */
import { fromString, toString } from 'uint8arrays';
import type { KeyValueStore } from '../storage/key-value';

const INDEX_KEY = 'rooms';
const docKey = (roomId: string) => `room:${roomId}`;
const keysKey = (roomId: string) => `room-keys:${roomId}`;

export interface SavedRoom {
	roomId: string;
	key: Uint8Array;
	title: string;
	lastOpened: number;
	createdByMe: boolean;
}

interface StoredRoom {
	roomId: string;
	key: string;
	title: string;
	lastOpened: number;
	createdByMe: boolean;
}

export class RoomStore {
	readonly #kv: KeyValueStore;

	constructor(kv: KeyValueStore) {
		this.#kv = kv;
	}

	/** The saved rooms, most recently opened first. Unreadable entries are skipped, not fatal. */
	async list(): Promise<SavedRoom[]> {
		const stored = await this.#index();
		return stored
			.flatMap((r) => {
				try {
					return [{ ...r, key: fromString(r.key, 'base64url') }];
				} catch {
					return [];
				}
			})
			.sort((a, b) => b.lastOpened - a.lastOpened);
	}

	async remember(room: SavedRoom): Promise<void> {
		const index = (await this.#index()).filter((r) => r.roomId !== room.roomId);
		index.push({ ...room, key: toString(room.key, 'base64url') });
		await this.#kv.set(INDEX_KEY, index);
	}

	async forget(roomId: string): Promise<void> {
		await this.#kv.set(INDEX_KEY, (await this.#index()).filter((r) => r.roomId !== roomId));
		await this.#kv.del(docKey(roomId));
		await this.#kv.del(keysKey(roomId));
	}

	async loadDoc(roomId: string): Promise<Uint8Array | null> {
		const value = await this.#kv.get<unknown>(docKey(roomId));
		return value instanceof Uint8Array ? value : null;
	}

	async saveDoc(roomId: string, state: Uint8Array): Promise<void> {
		await this.#kv.set(docKey(roomId), state);
	}

	/** The room's epoch keys (room-keys.ts) held on this device; anything unreadable is left out. */
	async loadKeys(roomId: string): Promise<Uint8Array[]> {
		const value = await this.#kv.get<unknown>(keysKey(roomId));
		return Array.isArray(value) ? value.filter((k): k is Uint8Array => k instanceof Uint8Array) : [];
	}

	async saveKeys(roomId: string, keys: Uint8Array[]): Promise<void> {
		await this.#kv.set(keysKey(roomId), keys);
	}

	async #index(): Promise<StoredRoom[]> {
		const value = await this.#kv.get<unknown>(INDEX_KEY);
		if (!Array.isArray(value)) return [];
		return value.filter(
			(r): r is StoredRoom =>
				typeof r === 'object' && r !== null && typeof r.roomId === 'string' && typeof r.key === 'string' && typeof r.title === 'string' && typeof r.lastOpened === 'number'
		);
	}
}
