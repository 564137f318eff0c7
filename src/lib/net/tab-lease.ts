/**
 * One tab of a device holds the network at a time.
 *
 * Every tab of the app reads the same identity from IndexedDB, so two tabs that both started libp2p
 * were two live nodes with one PeerId: the relay's gossipsub keeps one stream per PeerId (one tab
 * heard the room, the other was heard), circuit reservations and direct links went to whichever tab
 * last asked, and each tab's presence overwrote the other's. So the network is leased per device:
 * the first tab to need it holds the lease; another shows that the app is open elsewhere and offers
 * to use it here, which takes the lease over (the tab that had it stops its network and says so).
 *
 * The real lease is a Web Lock (`navigator.locks`: held until released or the tab goes away, and
 * `steal` hands it over at once, telling the holder). Without Web Locks every tab may hold it, as before.
 */

export interface TabLease {
	/** True once this tab holds the lease; false if another tab keeps it (for ACQUIRE_WAIT_MS). */
	acquire(): Promise<boolean>;
	/** Takes the lease from the tab that holds it (it is told, through its `onLost`). */
	takeOver(): Promise<void>;
	/** `listener` runs when another tab takes the lease from this one. */
	onLost(listener: () => void): void;
}

/** The part of the Web Locks API used here (LockManager). */
export interface Locks {
	request(name: string, options: LockOptions, callback: (lock: unknown) => unknown): Promise<unknown>;
}

type LockOptions = { steal?: boolean; signal?: AbortSignal };

/**
 * How long a tab waits for the lease before it says the app is open elsewhere: a tab that is
 * reloading, closing or has just crashed gives it up within that (its lock goes with its document).
 */
export const ACQUIRE_WAIT_MS = 2_000;

/** A lease on `name` held through Web Locks, or one every tab holds where there are none. */
export function webLocksLease(name: string, locks: Locks | undefined = globalThis.navigator?.locks, waitMs = ACQUIRE_WAIT_MS): TabLease {
	const lost = new Set<() => void>();
	if (!locks) return { acquire: async () => true, takeOver: async () => {}, onLost: (l) => void lost.add(l) };
	let held = false;
	const hold = (options: LockOptions) =>
		new Promise<boolean>((answer) => {
			locks
				.request(name, options, () => {
					held = true;
					answer(true);
					// Held for the rest of the page's life, unless another tab steals it.
					return new Promise(() => {});
				})
				.catch(() => {
					// Not granted within waitMs (the request is withdrawn), or, once held, another tab stole it.
					if (!held) return answer(false);
					held = false;
					for (const listener of lost) listener();
				});
		});
	return {
		acquire: () => (held ? Promise.resolve(true) : hold({ signal: AbortSignal.timeout(waitMs) })),
		takeOver: async () => {
			if (!held) await hold({ steal: true });
		},
		onLost: (listener) => void lost.add(listener)
	};
}

/**
 * In-memory leases for unit tests: `lease(name)` is one tab's lease; tabs made by one `memoryLeases()`
 * share the locks, as the tabs of one browser profile do.
 */
export function memoryLeases(): { lease(name: string): TabLease } {
	const holders = new Map<string, { lost(): void }>();
	return {
		lease(name) {
			const lost = new Set<() => void>();
			const me = { lost: () => lost.forEach((listener) => listener()) };
			return {
				acquire: async () => {
					const holder = holders.get(name);
					if (holder && holder !== me) return false;
					holders.set(name, me);
					return true;
				},
				takeOver: async () => {
					const holder = holders.get(name);
					holders.set(name, me);
					if (holder && holder !== me) holder.lost();
				},
				onLost: (listener) => void lost.add(listener)
			};
		}
	};
}
