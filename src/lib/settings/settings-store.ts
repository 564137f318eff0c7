/**
 * Where small personal settings live (language, the relays a person added,
 * relay fan-out): a key-value port with the browser's localStorage behind it,
 * and an in-memory one for tests. Storage may refuse (private mode, a full
 * disk): reads then give null and writes hold for the session only, never an
 * error in the person's face.
 */
export interface SettingsStore {
	get(key: string): string | null;
	/** null removes the key. */
	set(key: string, value: string | null): void;
}

export class BrowserSettingsStore implements SettingsStore {
	get(key: string): string | null {
		try {
			return localStorage.getItem(key);
		} catch {
			return null;
		}
	}

	set(key: string, value: string | null): void {
		try {
			if (value === null) localStorage.removeItem(key);
			else localStorage.setItem(key, value);
		} catch {
			// Storage refused: the setting holds for this session only.
		}
	}
}

export class MemorySettingsStore implements SettingsStore {
	readonly #values = new Map<string, string>();
	get(key: string): string | null {
		return this.#values.get(key) ?? null;
	}
	set(key: string, value: string | null): void {
		if (value === null) this.#values.delete(key);
		else this.#values.set(key, value);
	}
}

export const settingsStore: SettingsStore = new BrowserSettingsStore();
