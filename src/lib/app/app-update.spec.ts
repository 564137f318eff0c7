import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppUpdate, SWITCH_WAIT_MS, type WorkerContainer } from './app-update.svelte';
import { SKIP_WAITING } from './update-message';

/** A registration and container as the browser has them, driven by hand. */
function browser({ controlled }: { controlled: boolean }) {
	const posted: unknown[] = [];
	const worker = Object.assign(new EventTarget(), { postMessage: (m: unknown) => void posted.push(m) });
	const registration = Object.assign(new EventTarget(), {
		waiting: null as typeof worker | null,
		installing: null as typeof worker | null,
		update: async () => undefined
	});
	const container = Object.assign(new EventTarget(), {
		ready: Promise.resolve(registration as unknown as ServiceWorkerRegistration),
		controller: (controlled ? {} : null) as ServiceWorker | null
	}) as WorkerContainer;
	return {
		container,
		posted,
		/** A new version is found, installs and waits. */
		newVersionWaits() {
			registration.installing = worker;
			registration.dispatchEvent(new Event('updatefound'));
			registration.installing = null;
			registration.waiting = worker;
			worker.dispatchEvent(new Event('statechange'));
		},
		takeOver: () => container.dispatchEvent(new Event('controllerchange'))
	};
}

describe('AppUpdate', () => {
	afterEach(() => void vi.useRealTimers());

	it('offers a new version once it waits, goes quiet, and reloads only after it took over', async () => {
		vi.useFakeTimers();
		const b = browser({ controlled: true });
		const order: string[] = [];
		const update = new AppUpdate({ beforeSwitch: () => void order.push(`quiet with ${b.posted.length} posted`) });
		await update.watch(b.container);
		expect(update.ready).toBe(false);
		b.newVersionWaits();
		expect(update.ready).toBe(true);
		let reloads = 0;
		update.apply(() => reloads++);
		expect(update.switching).toBe(true);
		update.apply(() => reloads++); // a second click while switching changes nothing
		// The page stops its own requests before the new version is asked to take over.
		expect(order).toEqual(['quiet with 0 posted']);
		expect(b.posted).toEqual([SKIP_WAITING]);
		expect(reloads).toBe(0);
		b.takeOver();
		b.takeOver();
		expect(reloads).toBe(1);
		vi.advanceTimersByTime(SWITCH_WAIT_MS * 2);
		expect(reloads).toBe(1);
	});

	it('reloads anyway when the new version has not taken over in time, and only once', async () => {
		vi.useFakeTimers();
		const b = browser({ controlled: true });
		const update = new AppUpdate();
		await update.watch(b.container);
		b.newVersionWaits();
		let reloads = 0;
		update.apply(() => reloads++);
		vi.advanceTimersByTime(SWITCH_WAIT_MS - 1);
		expect(reloads).toBe(0);
		vi.advanceTimersByTime(1);
		expect(reloads).toBe(1);
		b.takeOver();
		expect(reloads).toBe(1);
	});

	it('offers nothing on the first install (no version running yet) or without a service worker', async () => {
		const b = browser({ controlled: false });
		const update = new AppUpdate();
		await update.watch(b.container);
		b.newVersionWaits();
		expect(update.ready).toBe(false);
		const none = new AppUpdate();
		await none.watch(undefined);
		none.apply(() => expect.unreachable('nothing to apply'));
		expect(none.ready).toBe(false);
	});
});
