import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ACQUIRE_WAIT_MS, webLocksLease, type Locks, type TabLease } from './tab-lease';

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
		const first = tab(webLocksLease('stanza-network', locks));
		expect(await settled(first.held)).toBe(true);
		const second = tab(webLocksLease('stanza-network', locks));
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
		tab(webLocksLease('stanza-network', locks));
		const reloading = tab(webLocksLease('stanza-network', locks));
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS / 2);
		locks.release('stanza-network');
		expect(await settled(reloading.held)).toBe(true);
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS);
		expect(reloading.seen.waiting).toBe(0);

		const later = tab(webLocksLease('stanza-network', locks));
		await vi.advanceTimersByTimeAsync(ACQUIRE_WAIT_MS);
		expect(later.seen.waiting).toBe(1);
		locks.release('stanza-network');
		expect(await settled(later.held)).toBe(true);
	});

	it('every tab holds it where there are no Web Locks (as before)', async () => {
		const only = tab(webLocksLease('stanza-network', undefined));
		expect(await settled(only.held)).toBe(true);
		only.lease.takeOver();
		expect(only.seen).toEqual({ waiting: 0, lost: 0 });
	});
});
