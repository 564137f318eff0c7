/**
 * One tab of a device holds the network at a time.
 *
 * Every tab of the app reads the same identity from IndexedDB, so two tabs that both started libp2p
 * were two live nodes with one PeerId: the relay's gossipsub keeps one stream per PeerId (one tab
 * heard the room, the other was heard), circuit reservations and direct links went to whichever tab
 * last asked, and each tab's presence overwrote the other's. So the network is leased per device:
 * the first tab to need it holds the lease; another shows that the app is open elsewhere, offers to
 * use it here (which takes the lease over), and takes it by itself once the other tab goes. A tab
 * whose lease was taken reloads: it then runs nothing of the network (no room, no audio link, no
 * node) and waits for the lease like any other.
 *
 * The real lease is a Web Lock (`navigator.locks`: held until released or the tab goes away, and
 * `steal` hands it over at once, telling the holder). Without Web Locks every tab may hold it, as before.
 *
 * Web Locks queue in order, so a tab that held the lease and is reloaded (by the person, or to switch
 * to a new version) would find it granted, in the moment between its two documents, to a tab that was
 * waiting in the background, and would then say the app is open elsewhere. So a tab remembers across
 * its own reloads that it held the lease (sessionStorage: per tab, kept by a reload), and a reloaded
 * holder takes it back at once; the tab that got it in between reloads and waits again.
 */

export interface TabLease {
	/**
	 * Resolves once this tab holds the lease: at once if no tab does, when the tab that does closes
	 * (or reloads, or crashes), or when this tab takes it over. `waiting` runs if that has not
	 * happened within ACQUIRE_WAIT_MS (the app is open in another tab).
	 */
	hold(waiting: () => void): Promise<void>;
	/** Takes the lease from the tab that holds it (that tab is told, through its `onLost`); hold() then resolves. */
	takeOver(): void;
	/** `listener` runs once another tab has taken the lease from this one. */
	onLost(listener: () => void): void;
}

/** The part of the Web Locks API used here (LockManager). */
export interface Locks {
	request(name: string, options: { steal?: boolean }, callback: (lock: unknown) => unknown): Promise<unknown>;
}

/** What a tab keeps across its own reloads about the lease. */
export interface LeaseMemory {
	/** Whether this document is a reload of a tab that held the lease when it was reloaded. */
	heldBeforeReload(): boolean;
	/** Kept for this tab's next document, if it is reloaded. */
	remember(held: boolean): void;
}

/** Remembers nothing: every document waits its turn. */
export const noLeaseMemory: LeaseMemory = { heldBeforeReload: () => false, remember: () => {} };

/**
 * The browser's memory for the lease `name`: a sessionStorage entry (per tab, kept by a reload, gone
 * with the tab), read only when this document was loaded by a reload. Storage that throws (denied,
 * or full) remembers nothing.
 */
export function sessionLeaseMemory(name: string): LeaseMemory {
	const key = `${name}:held`;
	const reloaded = () => (globalThis.performance?.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined)?.type === 'reload';
	return {
		heldBeforeReload() {
			try {
				return reloaded() && globalThis.sessionStorage?.getItem(key) === '1';
			} catch {
				return false;
			}
		},
		remember(held) {
			try {
				if (held) globalThis.sessionStorage?.setItem(key, '1');
				else globalThis.sessionStorage?.removeItem(key);
			} catch {
				// Nothing remembered: a reload then waits its turn, as without this memory.
			}
		}
	};
}

/**
 * How long a tab waits for the lease before it says the app is open elsewhere: a tab that is
 * reloading or closing gives it up within that (its lock goes with its document).
 */
export const ACQUIRE_WAIT_MS = 2_000;

/**
 * A lease on `name` held through Web Locks (the browser's unless `locks` is given; null: none), or one
 * every tab holds where there are none. `memory` lets a reloaded holder take it back (see above);
 * `waitMs`: see ACQUIRE_WAIT_MS.
 */
export function webLocksLease(
	name: string,
	{ locks = globalThis.navigator?.locks ?? null, memory = noLeaseMemory, waitMs = ACQUIRE_WAIT_MS }: { locks?: Locks | null; memory?: LeaseMemory; waitMs?: number } = {}
): TabLease {
	const lost = new Set<() => void>();
	const granted = Promise.withResolvers<void>();
	if (!locks) {
		granted.resolve();
		return { hold: () => granted.promise, takeOver: () => {}, onLost: (listener) => void lost.add(listener) };
	}
	let holding = false;
	let stealing = false;
	let lostOnce = false;
	/** One request of this tab's; once granted it is held for the rest of the page's life, unless stolen. */
	const request = (options: { steal?: boolean }) => {
		let mine = false;
		void locks
			.request(name, options, () => {
				mine = true;
				holding = true;
				memory.remember(true);
				granted.resolve();
				return new Promise(() => {});
			})
			.catch(() => {
				// Only the request that held the lock can lose it (AbortError: another tab stole it).
				if (!mine || lostOnce) return;
				lostOnce = true;
				holding = false;
				// Taken by another tab: this one's reload (its listeners reload) must wait its turn.
				memory.remember(false);
				for (const listener of lost) listener();
			});
	};
	let asked = false;
	return {
		hold(waiting) {
			if (!asked) {
				asked = true;
				request({ steal: memory.heldBeforeReload() });
				const timer = setTimeout(() => {
					if (!holding) waiting();
				}, waitMs);
				void granted.promise.then(() => clearTimeout(timer));
			}
			return granted.promise;
		},
		takeOver() {
			if (holding || stealing || lostOnce) return;
			stealing = true;
			request({ steal: true });
		},
		onLost: (listener) => void lost.add(listener)
	};
}
