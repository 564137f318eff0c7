import { afterEach, describe, expect, it } from 'vitest';
import { pass, until, VirtualClock } from './virtual-clock';

describe('VirtualClock', () => {
	let clock: VirtualClock | null = null;
	afterEach(() => {
		clock?.uninstall();
		clock = null;
	});
	const installed = (startMs = 1_000_000) => {
		clock = new VirtualClock(startMs);
		clock.install();
		return clock;
	};

	it('fires timers in the order they fall due (ties in the order set), with Date.now and performance.now on its time', async () => {
		const c = installed();
		const fired: string[] = [];
		setTimeout(() => fired.push(`b ${Date.now()}`), 30);
		setTimeout(() => fired.push(`a ${Date.now()}`), 10);
		setTimeout(() => fired.push(`c ${performance.now()}`), 30);
		await c.advance(20);
		expect(fired).toEqual(['a 1000010']);
		expect(Date.now()).toBe(1_000_020);
		await c.advance(20);
		expect(fired).toEqual(['a 1000010', 'b 1000030', 'c 30']);
		expect(Date.now()).toBe(1_000_040);
		expect(c.pending).toBe(0);
	});

	it('cancels what is cleared, and repeats intervals until cleared, even from their own callback', async () => {
		const c = installed();
		let ticks = 0;
		const cancelled = setTimeout(() => ticks += 100, 5);
		clearTimeout(cancelled);
		const interval: ReturnType<typeof setInterval> = setInterval(() => {
			if (++ticks === 3) clearInterval(interval);
		}, 10);
		await c.advance(100);
		expect(ticks).toBe(3);
		expect(c.pending).toBe(0);
	});

	it('lets promise work a callback started finish before the next timer fires', async () => {
		const c = installed();
		const order: string[] = [];
		setTimeout(() => {
			void Promise.resolve()
				.then(() => Promise.resolve())
				.then(() => order.push('work of the first'));
		}, 10);
		setTimeout(() => order.push('second'), 10);
		await c.advance(10);
		expect(order).toEqual(['work of the first', 'second']);
	});

	it('lets WebCrypto work under way, and what its result starts, settle before the next timer fires', async () => {
		const c = installed();
		const order: string[] = [];
		// Tens of milliseconds of hashing on Node's thread pool: far more than one turn of the event loop.
		const big = new Uint8Array(32 * 1024 * 1024);
		setTimeout(() => {
			void crypto.subtle
				.digest('SHA-256', big)
				.then(() => crypto.subtle.digest('SHA-256', big))
				.then(() => order.push('hashed twice'));
		}, 10);
		setTimeout(() => order.push('next timer'), 11);
		await c.advance(20);
		expect(order).toEqual(['hashed twice', 'next timer']);
		c.uninstall();
		expect(Object.hasOwn(crypto.subtle, 'digest')).toBe(false);
	});

	it('fires the other timers when one throws, then reports what was thrown', async () => {
		const c = installed();
		let after = false;
		setTimeout(() => {
			throw new Error('boom');
		}, 1);
		setTimeout(() => (after = true), 2);
		await expect(c.advance(5)).rejects.toThrow('a timer callback threw');
		expect(after).toBe(true);
	});

	it('leaves a real timer set before install to the real clear, without cancelling a virtual one', async () => {
		let realFired = false;
		const real = setTimeout(() => (realFired = true), 1);
		const c = installed();
		let virtualFired = 0;
		for (let i = 0; i < 50; i++) setTimeout(() => virtualFired++, 1);
		clearTimeout(real);
		await c.advance(1);
		expect(virtualFired).toBe(50);
		c.uninstall();
		await new Promise((resolve) => setTimeout(resolve, 5));
		expect(realFired).toBe(false);
	});

	it('gives the real clock and timers back when uninstalled', async () => {
		const realSetTimeout = globalThis.setTimeout;
		const c = installed(0);
		expect(Date.now()).toBe(0);
		c.uninstall();
		expect(globalThis.setTimeout).toBe(realSetTimeout);
		expect(Date.now()).toBeGreaterThan(1_600_000_000_000);
		await new Promise((resolve) => setTimeout(resolve, 1));
	});

	it('until steps time until a condition holds, letting promises settle first, and says why it gave up', async () => {
		const c = installed();
		let ready = false;
		setTimeout(() => void Promise.resolve().then(() => (ready = true)), 95);
		expect(await until(c, () => ready, 1_000, () => 'never')).toBe(100);
		let settled = false;
		void Promise.resolve().then(() => (settled = true));
		expect(await until(c, () => settled, 1_000, () => 'never')).toBe(0);
		await expect(until(c, () => false, 50, () => 'still waiting')).rejects.toThrow('not after 50 virtual ms: still waiting');
	});

	it('pass lets exactly the time asked for go by, firing what falls due', async () => {
		const c = installed();
		const fired: number[] = [];
		setInterval(() => fired.push(performance.now()), 40);
		await pass(c, 100, 30);
		expect(Date.now()).toBe(1_000_100);
		expect(fired).toEqual([40, 80]);
	});
});

