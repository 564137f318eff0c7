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
 * waiting in the background, and would then say the app is open elsewhere. So a page that holds the
 * lease as it goes leaves a note for the tab's next page (sessionStorage), and a reload that opens on
 * a screen needing the network takes the lease back as it loads (sessionLeaseMemory, webLocksLease);
 * a tab that got it in between reloads and waits again.
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
	request(name: string, options: { steal?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => unknown): Promise<unknown>;
}

/** What a tab keeps across its own reloads about the lease. */
export interface LeaseMemory {
	/** Read once as the page loads: it is a reload of a tab that held the lease as it was reloaded. */
	readonly heldBeforeReload: boolean;
	/** Whether this page holds the lease now (true once granted, false once taken): what a reload of it will read. */
	remember(held: boolean): void;
}

/** Remembers nothing: every page waits its turn. */
const noLeaseMemory: LeaseMemory = { heldBeforeReload: false, remember: () => {} };

/**
 * How old a note may be when the next page reads it: a reload loads within seconds, even on a slow
 * phone. An older note is from a reload that never loaded (the network was down, say): the person who
 * reloads again minutes later may be in a call in another tab by then.
 */
export const RELOAD_NOTE_MS = 30_000;

/** The parts of the browser sessionLeaseMemory uses (tests pass their own). */
export interface PageSession {
	/** sessionStorage: per tab, kept by a reload, gone with the tab (copied by "Duplicate tab" and session restore). */
	storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | undefined;
	/** How this page was loaded (PerformanceNavigationTiming.type): 'reload', 'navigate', 'back_forward'… */
	navigationType: string | undefined;
	/** Runs `listener` as the page goes (pagehide). */
	onPageHide(listener: () => void): void;
}

function browserSession(): PageSession {
	let storage: PageSession['storage'];
	try {
		storage = globalThis.sessionStorage;
	} catch {
		storage = undefined; // denied
	}
	return {
		storage,
		navigationType: (globalThis.performance?.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined)?.type,
		onPageHide: (listener) => globalThis.addEventListener?.('pagehide', listener)
	};
}

/**
 * The browser's memory for the lease `name`. A page that holds the lease writes it as the page goes
 * (pagehide); the next page of the tab reads and clears it as it loads, and believes it only when it
 * was loaded by a reload and `needsNetworkNow` (its first screen starts the network at once), within
 * RELOAD_NOTE_MS of the note: a reload on the home screen, a page come back to, a duplicated or
 * restored tab, all wait their turn, and nothing stays behind to be believed later. Storage that
 * throws (denied, or full) remembers nothing.
 */
export function sessionLeaseMemory(name: string, needsNetworkNow: boolean, session: PageSession = browserSession()): LeaseMemory {
	const key = `${name}:held`;
	let heldBeforeReload = false;
	try {
		const note = session.storage?.getItem(key);
		// '1': a note from the version before notes carried their time, read once by the reload that updates it.
		const age = note === '1' ? 0 : Date.now() - Number(note ?? NaN);
		heldBeforeReload = needsNetworkNow && session.navigationType === 'reload' && age >= 0 && age <= RELOAD_NOTE_MS;
		session.storage?.removeItem(key);
	} catch {
		// Nothing remembered: this page waits its turn.
	}
	let held = false;
	session.onPageHide(() => {
		try {
			if (held) session.storage?.setItem(key, String(Date.now()));
		} catch {
			// Nothing remembered: the reload waits its turn.
		}
	});
	return { heldBeforeReload, remember: (now) => void (held = now) };
}

/**
 * How long a tab waits for the lease before it says the app is open elsewhere: a tab that is
 * reloading or closing gives it up within that (its lock goes with its document).
 */
export const ACQUIRE_WAIT_MS = 2_000;

/**
 * A lease on `name` held through Web Locks (the browser's unless `locks` is given; null: none), or one
 * every tab holds where there are none. `memory` lets a reloaded holder take it back (see above): it
 * asks for it as it is made, not when a screen first needs the network, since a tab granted the lease
 * in between starts a node with the same PeerId meanwhile. `waitMs`: see ACQUIRE_WAIT_MS.
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
	const request = (options: { steal?: boolean; signal?: AbortSignal }) => {
		let mine = false;
		void locks
			.request(name, options, () => {
				// Taken from this page already (it is reloading): give this one back at once.
				if (lostOnce) return undefined;
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
	/** The first request, while it waits in line: withdrawn when this tab takes the lease over. */
	const queued = new AbortController();
	let asked = false;
	const ask = () => {
		if (asked) return;
		asked = true;
		request(memory.heldBeforeReload ? { steal: true } : { signal: queued.signal });
	};
	if (memory.heldBeforeReload) ask();
	let watched = false;
	return {
		hold(waiting) {
			ask();
			if (!watched) {
				watched = true;
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
			queued.abort();
			request({ steal: true });
		},
		onLost: (listener) => void lost.add(listener)
	};
}
