import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ACQUIRE_WAIT_MS, RELOAD_NOTE_MS, sessionLeaseMemory, webLocksLease, type LeaseMemory, type Locks, type PageSession, type TabLease } from './tab-lease';

/** Web Locks as far as this lease uses them: one holder per name, a queue in order, and steal. */
class FakeLocks implements Locks {
	#held = new Map<string, { reject(err: Error): void }>();
	#queue: Array<{ name: string; grant(): void }> = [];

	request(name: string, options: { steal?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => unknown): Promise<unknown> {
		return new Promise((resolve, reject) => {
			const grant = () => {
				this.#held.set(name, { reject });
				// The lease holds its locks for the page's life (the promise it returns never settles), or gives one back at once.
				const held = callback({ name });
				if (held === undefined) {
					this.release(name);
					resolve(undefined);
				}
			};
			const holder = this.#held.get(name);
			if (options.steal) {
				holder?.reject(new DOMException('stolen', 'AbortError'));
				grant();
			} else if (!holder) grant();
			else {
				const entry = { name, grant };
				this.#queue.push(entry);
				options.signal?.addEventListener('abort', () => {
					const at = this.#queue.indexOf(entry);
					if (at < 0) return;
					this.#queue.splice(at, 1);
					reject(new DOMException('withdrawn', 'AbortError'));
				});
			}
		});
	}

	/** The tab holding `name` goes away: the next request in line is granted. */
	release(name: string): void {
		this.#held.delete(name);
		const next = this.#queue.findIndex((q) => q.name === name);
		if (next >= 0) this.#queue.splice(next, 1)[0].grant();
	}

	/** Requests waiting in line (tests: a withdrawn one is gone). */
	get queued(): number {
		return this.#queue.length;
	}
}

/** Whether `promise` has settled, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
	let done = false;
	void promise.then(() => (done = true));
	await vi.advanceTimersByTimeAsync(0);
	return done;
}

/** One browser tab: its sessionStorage, kept across its pages, and the page now open in it. */
class BrowserTab {
	readonly storage = new Map<string, string>();
	#navigationType = 'navigate';
	#hide: Array<() => void> = [];
	readonly session: PageSession = {
		storage: {
			getItem: (key) => this.storage.get(key) ?? null,
			setItem: (key, value) => void this.storage.set(key, value),
			removeItem: (key) => void this.storage.delete(key)
		},
		navigationType: undefined,
		onPageHide: (listener) => void this.#hide.push(listener)
	};
	/** The memory of a page loaded now (on a screen that needs the network unless told otherwise). */
	page(needsNetworkNow = true): LeaseMemory {
		return sessionLeaseMemory('stanza-network', needsNetworkNow, { ...this.session, navigationType: this.#navigationType });
	}
	/** The page goes (pagehide; its lock with it, if it held one), and the next one comes as `how`. */
	leave(how: 'reload' | 'navigate' | 'back_forward', locks?: FakeLocks): void {
		for (const listener of this.#hide.splice(0)) listener();
		if (locks) locks.release('stanza-network');
		this.#navigationType = how;
	}
}

function tab(lease: TabLease) {
	const seen = { waiting: 0, lost: 0 };
	lease.onLost(() => seen.lost++);
	return { lease, seen, held: lease.hold(() => seen.waiting++) };
}

describe('webLocksLease', () => {
	beforeEach(() => void vi.useFakeTimers());
	afterEach(() => void vi.useRealTimers());

	it('one tab holds it; another says it waits, takes it over when asked, and the first is told once', async () => {
		const locks = new FakeLocks();
		const first = tab(webLocksLease('stanza-network', { locks }));
		expect(await settled(first.held)).toBe(true);
		const second = tab(webLocksLease('stanza-network', { locks }));
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS - 1);
		expect(second.seen.waiting).toBe(0);
		await vi.advanceTimersByTimeAsync(1);
		expect(second.seen.waiting).toBe(1);
		expect(await settled(second.held)).toBe(false);

		second.lease.takeOver();
		second.lease.takeOver(); // a double click steals nothing from itself
		expect(await settled(second.held)).toBe(true);
		expect(first.seen.lost).toBe(1);
		expect(second.seen.lost).toBe(0);
		expect(first.seen.waiting).toBe(0);
	});

	it('a waiting tab takes it by itself once the tab that holds it goes, and says nothing if that is within the wait', async () => {
		const locks = new FakeLocks();
		tab(webLocksLease('stanza-network', { locks }));
		const reloading = tab(webLocksLease('stanza-network', { locks }));
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS / 2);
		locks.release('stanza-network');
		expect(await settled(reloading.held)).toBe(true);
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS);
		expect(reloading.seen.waiting).toBe(0);

		const later = tab(webLocksLease('stanza-network', { locks }));
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS);
		expect(later.seen.waiting).toBe(1);
		locks.release('stanza-network');
		expect(await settled(later.held)).toBe(true);
	});

	it('a tab that held it and is reloaded takes it back from the tab that got it in between, which must wait again', async () => {
		const locks = new FakeLocks();
		const [holderTab, otherTab] = [new BrowserTab(), new BrowserTab()];
		tab(webLocksLease('stanza-network', { locks, memory: holderTab.page() }));
		const other = tab(webLocksLease('stanza-network', { locks, memory: otherTab.page() }));
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS);
		expect(other.seen.waiting).toBe(1);

		// The person reloads the tab they use: in the moment between its pages, the lock goes to the waiting tab.
		holderTab.leave('reload', locks);
		expect(await settled(other.held)).toBe(true);
		const reloadedMemory = holderTab.page();
		expect(reloadedMemory.heldBeforeReload).toBe(true);
		expect(holderTab.storage.size).toBe(0); // read once, and gone: nothing left to be believed later
		// Taken back as the page makes its lease, before any screen asks for the network.
		const reloadedLease = webLocksLease('stanza-network', { locks, memory: reloadedMemory });
		await vi.advanceTimersByTimeAsync(0);
		expect(other.seen.lost).toBe(1);
		const reloaded = tab(reloadedLease);
		expect(await settled(reloaded.held)).toBe(true);
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS);
		expect(reloaded.seen.waiting).toBe(0);
		// The other is told (it reloads), and its reload waits its turn: it no longer held the lease as it went.
		expect(other.seen.lost).toBe(1);
		otherTab.leave('reload');
		const otherMemory = otherTab.page();
		expect(otherMemory.heldBeforeReload).toBe(false);
		const otherAgain = tab(webLocksLease('stanza-network', { locks, memory: otherMemory }));
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS);
		expect(otherAgain.seen.waiting).toBe(1);
		expect(reloaded.seen.lost).toBe(0);
	});

	it('believes only a reload that needs the network at once: not one on the home screen, nor a page come back to, nor a later reload', () => {
		const holder = new BrowserTab();
		const held = holder.page();
		held.remember(true);
		holder.leave('reload');
		// Reloaded on the home screen (no network): forgotten, so a room opened much later waits its turn.
		expect(holder.page(false).heldBeforeReload).toBe(false);
		holder.leave('reload');
		expect(holder.page().heldBeforeReload).toBe(false);

		const away = new BrowserTab();
		away.page().remember(true);
		away.leave('back_forward'); // to another site and back, a restored or duplicated tab
		expect(away.page().heldBeforeReload).toBe(false);
		away.leave('reload');
		expect(away.page().heldBeforeReload).toBe(false);

		const lost = new BrowserTab();
		const memory = lost.page();
		memory.remember(true);
		memory.remember(false); // taken by another tab before it went
		lost.leave('reload');
		expect(lost.page().heldBeforeReload).toBe(false);

		// A reload that never loaded (the network was down) leaves its note: the next one, much later, is not believed.
		const stale = new BrowserTab();
		stale.page().remember(true);
		stale.leave('reload');
		vi.advanceTimersByTime(RELOAD_NOTE_MS + 1);
		expect(stale.page().heldBeforeReload).toBe(false);
		const fresh = new BrowserTab();
		fresh.page().remember(true);
		fresh.leave('reload');
		vi.advanceTimersByTime(RELOAD_NOTE_MS);
		expect(fresh.page().heldBeforeReload).toBe(true);
		// The note the version before this one wrote, read by the reload that updates it.
		const updated = new BrowserTab();
		updated.storage.set('stanza-network:held', '1');
		updated.leave('reload');
		expect(updated.page().heldBeforeReload).toBe(true);
	});

	it('remembers nothing where storage throws', () => {
		const failing = () => {
			throw new DOMException('denied', 'SecurityError');
		};
		let hide = () => {};
		const memory = sessionLeaseMemory('stanza-network', true, {
			storage: { getItem: failing, setItem: failing, removeItem: failing },
			navigationType: 'reload',
			onPageHide: (listener) => void (hide = listener)
		});
		expect(memory.heldBeforeReload).toBe(false);
		memory.remember(true);
		expect(() => hide()).not.toThrow();
	});

	it('a tab that took it over withdraws its place in line, so it is not granted it again later', async () => {
		const locks = new FakeLocks();
		const a = tab(webLocksLease('stanza-network', { locks }));
		const b = tab(webLocksLease('stanza-network', { locks }));
		expect(locks.queued).toBe(1);
		b.lease.takeOver();
		expect(await settled(b.held)).toBe(true);
		expect(a.seen.lost).toBe(1);
		expect(locks.queued).toBe(0);
		// A third tab takes it from b; once it goes, nobody is granted it by a stale request of b's.
		const c = tab(webLocksLease('stanza-network', { locks }));
		c.lease.takeOver();
		expect(await settled(c.held)).toBe(true);
		expect(b.seen.lost).toBe(1);
		locks.release('stanza-network');
		expect(b.seen.lost).toBe(1);
		expect(locks.queued).toBe(0);
	});

	it('every tab holds it where there are no Web Locks (as before)', async () => {
		const only = tab(webLocksLease('stanza-network', { locks: null }));
		expect(await settled(only.held)).toBe(true);
		only.lease.takeOver();
		expect(only.seen).toEqual({ waiting: 0, lost: 0 });
	});
});
