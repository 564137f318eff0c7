/**
 * A virtual clock for bench:sim (a test harness, never shipped):
 * setTimeout, setInterval, Date.now and performance.now answer to it while it
 * is installed, and time moves only when advance() is called. Everything else
 * runs for real (WebCrypto, the streams' promises): before each timer fires,
 * the real event loop gets a turn (one setImmediate), so promise work that a
 * callback started has run before the next timer fires; and WebCrypto work
 * under way (it runs on Node's thread pool, so a turn of the loop does not
 * wait for it) settles first too. A signature or a decryption takes well
 * under a millisecond on a phone; left to run while virtual time moved on,
 * one here took up to 630 virtual ms on a busy machine (a speaker's packets,
 * each signed, then fell further behind its microphone every second), so a
 * test measured this process's load instead of the room's timings.
 *
 * It lets one process run rooms of 1,000 members at the pace of their own
 * timers rather than of this one CPU doing the work of all of them (with real
 * timers, 200 members took 62 s to all show each other: the process's pace,
 * not the protocol's). Vitest's fake timers do the same job, but scan every pending
 * timer for each one fired; with thousands pending, that scan took 58 % of a
 * 200-member run. Timers here sit in a binary heap.
 */
import { setImmediate as realImmediate } from 'node:timers/promises';

interface Timer {
	/** Also the order timers set for the same instant fire in. */
	readonly id: number;
	at: number;
	readonly interval: number | null;
	readonly fn: (...args: unknown[]) => void;
	readonly args: unknown[];
}

/** What setTimeout hands back in Node: callers may unref it, or coerce it to a number. */
class Handle {
	constructor(readonly id: number) {}
	ref(): this {
		return this;
	}
	unref(): this {
		return this;
	}
	hasRef(): boolean {
		return true;
	}
	[Symbol.toPrimitive](): number {
		return this.id;
	}
}

export class VirtualClock {
	#now: number;
	#perfOrigin: number;
	#seq = 0;
	readonly #heap: Timer[] = [];
	readonly #live = new Map<number, Timer>();
	readonly #errors: unknown[] = [];
	/** WebCrypto operations started while installed and not yet settled. */
	readonly #crypto = new Set<Promise<unknown>>();
	#restore: (() => void) | null = null;

	constructor(startMs = Date.now()) {
		this.#now = startMs;
		this.#perfOrigin = startMs;
	}

	/** Virtual ms since the epoch. */
	get now(): number {
		return this.#now;
	}

	get pending(): number {
		return this.#live.size;
	}

	install(): void {
		if (this.#restore) return;
		const saved = {
			setTimeout: globalThis.setTimeout,
			clearTimeout: globalThis.clearTimeout,
			setInterval: globalThis.setInterval,
			clearInterval: globalThis.clearInterval,
			dateNow: Date.now,
			perfNow: performance.now
		};
		// A timer set before install is a real one: the real clear takes it.
		const clear = (handle: unknown) => (handle instanceof Handle ? this.#live.delete(handle.id) : saved.clearTimeout(handle as never));
		Object.assign(globalThis, {
			setTimeout: (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => this.#add(fn, ms, args, false),
			setInterval: (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => this.#add(fn, ms, args, true),
			clearTimeout: clear,
			clearInterval: clear
		});
		Date.now = () => this.#now;
		performance.now = () => this.#now - this.#perfOrigin;
		const unwatch = this.#watchCrypto();
		this.#restore = () => {
			Object.assign(globalThis, { setTimeout: saved.setTimeout, clearTimeout: saved.clearTimeout, setInterval: saved.setInterval, clearInterval: saved.clearInterval });
			Date.now = saved.dateNow;
			performance.now = saved.perfNow;
			unwatch();
		};
	}

	uninstall(): void {
		this.#restore?.();
		this.#restore = null;
	}

	/** Lets `ms` of virtual time pass, firing each timer due in it in order. Throws what a callback threw. */
	async advance(ms: number): Promise<void> {
		const until = this.#now + Math.max(0, ms);
		for (;;) {
			await realImmediate();
			await this.#cryptoSettled();
			const next = this.#heap[0];
			if (next === undefined || next.at > until) break;
			this.#pop();
			if (!this.#live.has(next.id)) continue; // cleared: its heap entry is skipped here
			this.#now = Math.max(this.#now, next.at);
			if (next.interval === null) this.#live.delete(next.id);
			else {
				next.at = this.#now + next.interval;
				this.#push(next);
			}
			try {
				next.fn(...next.args);
			} catch (err) {
				this.#errors.push(err);
			}
		}
		this.#now = until;
		if (this.#errors.length > 0) throw new AggregateError(this.#errors.splice(0), 'a timer callback threw');
	}

	/** Counts each WebCrypto operation as under way until it settles (own properties over SubtleCrypto's methods). */
	#watchCrypto(): () => void {
		const subtle = globalThis.crypto?.subtle as unknown as Record<string, (...args: unknown[]) => Promise<unknown>> | undefined;
		if (!subtle) return () => {};
		const names = ['encrypt', 'decrypt', 'sign', 'verify', 'digest', 'generateKey', 'deriveKey', 'deriveBits', 'importKey', 'exportKey', 'wrapKey', 'unwrapKey'];
		for (const name of names) {
			const real = subtle[name];
			if (typeof real !== 'function') continue;
			Object.defineProperty(subtle, name, {
				configurable: true,
				writable: true,
				value: (...args: unknown[]) => {
					const work = real.apply(subtle, args);
					const settled: Promise<unknown> = work.then(
						() => this.#crypto.delete(settled),
						() => this.#crypto.delete(settled)
					);
					this.#crypto.add(settled);
					return work;
				}
			});
		}
		return () => {
			for (const name of names) delete subtle[name];
		};
	}

	/** Waits for the WebCrypto work under way, and for what its results started (which may start more). */
	async #cryptoSettled(): Promise<void> {
		while (this.#crypto.size > 0) {
			await Promise.all(this.#crypto);
			await realImmediate();
		}
	}

	#add(fn: (...args: unknown[]) => void, ms: number | undefined, args: unknown[], repeat: boolean): Handle {
		if (typeof fn !== 'function') throw new TypeError('callback must be a function');
		const delay = Math.max(repeat ? 1 : 0, Number(ms) || 0);
		const timer: Timer = { id: ++this.#seq, at: this.#now + delay, interval: repeat ? delay : null, fn, args };
		this.#live.set(timer.id, timer);
		this.#push(timer);
		return new Handle(timer.id);
	}

	#before(a: Timer, b: Timer): boolean {
		return a.at < b.at || (a.at === b.at && a.id < b.id);
	}

	#push(timer: Timer): void {
		const heap = this.#heap;
		heap.push(timer);
		let i = heap.length - 1;
		while (i > 0) {
			const up = (i - 1) >> 1;
			if (!this.#before(heap[i], heap[up])) break;
			[heap[i], heap[up]] = [heap[up], heap[i]];
			i = up;
		}
	}

	#pop(): void {
		const heap = this.#heap;
		const last = heap.pop()!;
		if (heap.length === 0) return;
		heap[0] = last;
		for (let i = 0; ; ) {
			const l = 2 * i + 1;
			const r = l + 1;
			let min = i;
			if (l < heap.length && this.#before(heap[l], heap[min])) min = l;
			if (r < heap.length && this.#before(heap[r], heap[min])) min = r;
			if (min === i) break;
			[heap[i], heap[min]] = [heap[min], heap[i]];
			i = min;
		}
	}
}

/** Lets virtual time pass in `stepMs` steps until `done`, giving real work (crypto, streams) its turns first; throws past `limitMs` with `why()`. */
export async function until(clock: VirtualClock, done: () => boolean, limitMs: number, why: () => string, stepMs = 10): Promise<number> {
	const t0 = clock.now;
	while (!done()) {
		for (let turn = 0; turn < 20 && !done(); turn++) await clock.advance(0);
		if (done()) break;
		if (clock.now - t0 > limitMs) throw new Error(`not after ${limitMs} virtual ms: ${why()}`);
		await clock.advance(stepMs);
	}
	return clock.now - t0;
}

/** Lets `ms` of virtual time pass in `stepMs` steps, giving real work its turns before each. */
export async function pass(clock: VirtualClock, ms: number, stepMs = 10): Promise<void> {
	const end = clock.now + ms;
	while (clock.now < end) {
		for (let turn = 0; turn < 20; turn++) await clock.advance(0);
		await clock.advance(Math.min(stepMs, end - clock.now));
	}
}
