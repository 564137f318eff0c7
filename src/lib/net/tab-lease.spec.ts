import { describe, expect, it } from 'vitest';
import { memoryLeases, webLocksLease, type Locks } from './tab-lease';

/** Web Locks as far as this lease uses them: one holder per name, a queue, steal and withdrawal by signal. */
class FakeLocks implements Locks {
	#held = new Map<string, { reject(err: Error): void }>();
	#queue: Array<{ name: string; grant(): void }> = [];

	request(name: string, options: { steal?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => unknown): Promise<unknown> {
		return new Promise((resolve, reject) => {
			const grant = () => {
				const done = Promise.resolve(callback({ name }));
				this.#held.set(name, { reject });
				void done.then((value) => {
					if (this.#held.get(name)?.reject !== reject) return;
					this.#held.delete(name);
					resolve(value);
					this.#queue.find((q) => q.name === name)?.grant();
				});
			};
			const holder = this.#held.get(name);
			if (options.steal) {
				holder?.reject(new DOMException('stolen', 'AbortError'));
				this.#held.delete(name);
				grant();
			} else if (!holder) grant();
			else {
				const entry = { name, grant };
				this.#queue.push(entry);
				options.signal?.addEventListener('abort', () => {
					this.#queue = this.#queue.filter((q) => q !== entry);
					reject(options.signal?.reason);
				});
			}
		});
	}
}

describe('webLocksLease', () => {
	it('one tab holds it; another waits, then says it is held elsewhere; taking over tells the first', async () => {
		const locks = new FakeLocks();
		const first = webLocksLease('stanza-network', locks, 20);
		const second = webLocksLease('stanza-network', locks, 20);
		let firstLost = 0;
		first.onLost(() => firstLost++);
		expect(await first.acquire()).toBe(true);
		expect(await first.acquire()).toBe(true);
		expect(await second.acquire()).toBe(false);
		await second.takeOver();
		expect(firstLost).toBe(1);
		expect(await second.acquire()).toBe(true);
		expect(await first.acquire()).toBe(false);
	});

	it('every tab holds it where there are no Web Locks (as before)', async () => {
		const lease = webLocksLease('stanza-network', undefined);
		expect(await lease.acquire()).toBe(true);
		await lease.takeOver();
		expect(await lease.acquire()).toBe(true);
	});
});

describe('memoryLeases', () => {
	it('behaves as the Web Locks lease: first holds, a second is refused, a takeover tells the holder', async () => {
		const tabs = memoryLeases();
		const [a, b] = [tabs.lease('n'), tabs.lease('n')];
		let lost = 0;
		a.onLost(() => lost++);
		expect(await a.acquire()).toBe(true);
		expect(await b.acquire()).toBe(false);
		expect(await tabs.lease('other').acquire()).toBe(true);
		await b.takeOver();
		expect(lost).toBe(1);
		expect(await a.acquire()).toBe(false);
		expect(await b.acquire()).toBe(true);
	});
});
