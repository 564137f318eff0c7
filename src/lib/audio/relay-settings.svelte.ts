import { MAX_CHILDREN } from './tree-planner';
import { RELAY_CAPACITY_KEY } from './relay-budget';
import { settingsStore, type SettingsStore } from '../settings/settings-store';

/** The person's declared relay fan-out ('auto' or 0…8), kept in settings. */
export class RelaySettings {
	choice = $state<'auto' | number>('auto');
	readonly options = ['auto' as const, ...Array.from({ length: MAX_CHILDREN + 1 }, (_, i) => i)];
	readonly #store: SettingsStore;

	constructor(store: SettingsStore = settingsStore) {
		this.#store = store;
	}

	load(): void {
		const stored = this.#store.get(RELAY_CAPACITY_KEY);
		const n = stored === null ? NaN : Number(stored);
		this.choice = Number.isInteger(n) && n >= 0 && n <= MAX_CHILDREN ? n : 'auto';
	}

	set(choice: 'auto' | number): void {
		this.choice = choice;
		this.#store.set(RELAY_CAPACITY_KEY, choice === 'auto' ? null : String(choice));
	}
}

export const relaySettings = new RelaySettings();
