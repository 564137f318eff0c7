import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ACQUIRE_WAIT_MS, webLocksLease, type LeaseMemory, type Locks, type TabLease } from './tab-lease';

/** Web Locks as far as this lease uses them: one holder per name, a queue in order, and steal. */
class FakeLocks implements Locks {
	#held = new Map<string, { reject(err: Error): void }>();
	#queue: Array<{ name: string; grant(): void }> = [];

	request(name: string, options: { steal?: boolean }, callback: (lock: unknown) => unknown): Promise<unknown> {
		return new Promise((_resolve, reject) => {
			const grant = () => {
				this.#held.set(name, { reject });
				callback({ name }); // the lease holds its locks for the page's life: the promise it returns never settles
			};
			const holder = this.#held.get(name);
			if (options.steal) {
				holder?.reject(new DOMException('stolen', 'AbortError'));
				grant();
			} else if (!holder) grant();
			else this.#queue.push({ name, grant });
		});
	}

	/** The tab holding `name` goes away: the next request in line is granted. */
	release(name: string): void {
		this.#held.delete(name);
		const next = this.#queue.findIndex((q) => q.name === name);
		if (next >= 0) this.#queue.splice(next, 1)[0].grant();
	}
}

/** Whether `promise` has settled, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
	let done = false;
	void promise.then(() => (done = true));
	await vi.advanceTimersByTimeAsync(0);
	return done;
}

/** One browser tab's sessionStorage entry, kept across its reloads; `reload()` makes the next document a reload. */
class TabMemory {
	held = false;
	#reloaded = false;
	/** The memory one document of this tab sees. */
	document(): LeaseMemory {
		const reloaded = this.#reloaded;
		return { heldBeforeReload: () => reloaded && this.held, remember: (held) => void (this.held = held) };
	}
	/** The tab is reloaded: its document (and the lock it held) goes; the next one is a reload. */
	reload(locks: FakeLocks, holding: boolean): void {
		this.#reloaded = true;
		if (holding) locks.release('stanza-network');
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
		const [holderTab, otherTab] = [new TabMemory(), new TabMemory()];
		tab(webLocksLease('stanza-network', { locks, memory: holderTab.document() }));
		expect(holderTab.held).toBe(true);
		const other = tab(webLocksLease('stanza-network', { locks, memory: otherTab.document() }));
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS);
		expect(other.seen.waiting).toBe(1);

		// The person reloads the tab they use: in the moment between its documents, the lock goes to the waiting tab.
		holderTab.reload(locks, true);
		expect(await settled(other.held)).toBe(true);
		expect(otherTab.held).toBe(true);
		const reloaded = tab(webLocksLease('stanza-network', { locks, memory: holderTab.document() }));
		expect(await settled(reloaded.held)).toBe(true);
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS);
		expect(reloaded.seen.waiting).toBe(0);
		// The other is told (it reloads) and forgets it had the lease, so its reload waits its turn.
		expect(other.seen.lost).toBe(1);
		expect(otherTab.held).toBe(false);
		otherTab.reload(locks, false);
		const otherAgain = tab(webLocksLease('stanza-network', { locks, memory: otherTab.document() }));
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS);
		expect(otherAgain.seen.waiting).toBe(1);
		expect(reloaded.seen.lost).toBe(0);
	});

	it('a tab that was reloaded without holding it (or had it taken) waits its turn', async () => {
		const locks = new FakeLocks();
		const [aTab, bTab] = [new TabMemory(), new TabMemory()];
		const a = tab(webLocksLease('stanza-network', { locks, memory: aTab.document() }));
		const b = tab(webLocksLease('stanza-network', { locks, memory: bTab.document() }));
		b.lease.takeOver();
		expect(await settled(b.held)).toBe(true);
		expect(a.seen.lost).toBe(1);
		aTab.reload(locks, false); // the reload that losing the lease makes
		const aAgain = tab(webLocksLease('stanza-network', { locks, memory: aTab.document() }));
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS);
		expect(aAgain.seen.waiting).toBe(1);
		expect(b.seen.lost).toBe(0);
		expect(bTab.held).toBe(true);
	});

	it('every tab holds it where there are no Web Locks (as before)', async () => {
		const only = tab(webLocksLease('stanza-network', { locks: null }));
		expect(await settled(only.held)).toBe(true);
		only.lease.takeOver();
		expect(only.seen).toEqual({ waiting: 0, lost: 0 });
	});
});
