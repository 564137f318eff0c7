import { MAX_CHILDREN } from './tree-planner';
import { RELAY_CAPACITY_KEY } from './relay-budget';

/** The person's declared relay fan-out ('auto' or 0…8), kept in localStorage. */
class RelaySettings {
	choice = $state<'auto' | number>('auto');
	readonly options = ['auto' as const, ...Array.from({ length: MAX_CHILDREN + 1 }, (_, i) => i)];

	load(): void {
		const stored = localStorage.getItem(RELAY_CAPACITY_KEY);
		const n = stored === null ? NaN : Number(stored);
		this.choice = Number.isInteger(n) && n >= 0 && n <= MAX_CHILDREN ? n : 'auto';
	}

	set(choice: 'auto' | number): void {
		this.choice = choice;
		try {
			if (choice === 'auto') localStorage.removeItem(RELAY_CAPACITY_KEY);
			else localStorage.setItem(RELAY_CAPACITY_KEY, String(choice));
		} catch {
			// Storage refused: the choice holds for this session only.
		}
	}
}

export const relaySettings = new RelaySettings();
