/**
 * The small key-value surface Stanza keeps on the device. The browser adapter
 * is idb-keyval over IndexedDB; unit tests use the in-memory one. Keeping the
 * surface this narrow is what lets the identity (and later room) stores be
 * tested without a browser.
 */
export interface KeyValueStore {
	get<T>(key: string): Promise<T | undefined>;
	set(key: string, value: unknown): Promise<void>;
	del(key: string): Promise<void>;
}

/** In-memory store for unit tests; `failWrites` simulates a full disk. */
export class MemoryKeyValueStore implements KeyValueStore {
	readonly data = new Map<string, unknown>();
	failWrites: Error | null = null;

	async get<T>(key: string): Promise<T | undefined> {
		return this.data.get(key) as T | undefined;
	}

	async set(key: string, value: unknown): Promise<void> {
		if (this.failWrites) throw this.failWrites;
		this.data.set(key, structuredClone(value));
	}

	async del(key: string): Promise<void> {
		this.data.delete(key);
	}
}
