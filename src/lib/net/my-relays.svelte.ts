import { settingsStore, type SettingsStore } from '../settings/settings-store';
import { readRelayList, relayAddressOf, RelayEntryError, withRelay, type RelayEntryProblem } from './my-relays';

const MY_RELAYS_KEY = 'stanza.myRelays';

/** The relays a person added in Settings (my-relays.ts), as runes for the UI; dialled from the next start of the app. */
export class MyRelaysState {
	list = $state<string[]>([]);
	problem = $state<RelayEntryProblem | null>(null);
	busy = $state(false);
	readonly #store: SettingsStore;

	constructor(store: SettingsStore = settingsStore) {
		this.#store = store;
		this.list = readRelayList(store.get(MY_RELAYS_KEY));
	}

	/** The list as stored now (net-state reads it when it connects). */
	addresses(): string[] {
		return readRelayList(this.#store.get(MY_RELAYS_KEY));
	}

	/** Adds a multiaddr or a relay's web address; says why not in `problem`. */
	async add(text: string, fetchImpl: typeof fetch = fetch): Promise<boolean> {
		this.busy = true;
		try {
			this.#save(withRelay(this.list, await relayAddressOf(text, fetchImpl)));
			this.problem = null;
			return true;
		} catch (error) {
			if (!(error instanceof RelayEntryError)) throw error;
			this.problem = error.problem;
			return false;
		} finally {
			this.busy = false;
		}
	}

	remove(addr: string): void {
		this.#save(this.list.filter((a) => a !== addr));
	}

	#save(list: string[]): void {
		this.list = list;
		this.#store.set(MY_RELAYS_KEY, list.length > 0 ? JSON.stringify(list) : null);
	}
}

export const myRelays = new MyRelaysState();
