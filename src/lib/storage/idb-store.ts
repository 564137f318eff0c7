import { createStore, del, get, set } from 'idb-keyval';
import type { KeyValueStore } from './key-value';

/** IndexedDB-backed store ("stanza" database, "kv" object store) through idb-keyval. */
export function idbKeyValueStore(dbName = 'stanza', storeName = 'kv'): KeyValueStore {
	const store = createStore(dbName, storeName);
	return {
		get: (key) => get(key, store),
		set: (key, value) => set(key, value, store),
		del: (key) => del(key, store)
	};
}
