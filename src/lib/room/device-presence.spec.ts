import { describe, expect, it } from 'vitest';
import { BrowserDevicePresence, type DeviceDocument, type DeviceNavigator } from './device-presence';

/** A page whose visibility the test sets, and a wake lock that the browser can take back (as it does when the page is hidden). */
function fakeDevice(options: { refuse?: boolean } = {}) {
	const listeners = new Set<() => void>();
	const doc: DeviceDocument & { visibilityState: string } = {
		visibilityState: 'visible',
		addEventListener: (_type, listener) => listeners.add(listener),
		removeEventListener: (_type, listener) => listeners.delete(listener)
	};
	const locks: { released: boolean; onRelease: (() => void)[] }[] = [];
	const nav: DeviceNavigator & { mediaSession: { metadata: unknown } } = {
		mediaSession: { metadata: null },
		wakeLock: {
			request: async () => {
				if (options.refuse) throw new DOMException('battery saver', 'NotAllowedError');
				const lock = { released: false, onRelease: [] as (() => void)[] };
				locks.push(lock);
				return {
					release: async () => void (lock.released = true),
					addEventListener: (_type: string, fn: () => void) => lock.onRelease.push(fn)
				};
			}
		}
	};
	const setVisible = (visible: boolean) => {
		doc.visibilityState = visible ? 'visible' : 'hidden';
		if (!visible) {
			for (const lock of locks.filter((l) => !l.released)) {
				lock.released = true;
				lock.onRelease.forEach((fn) => fn());
			}
		}
		for (const fn of listeners) fn();
	};
	const held = () => locks.filter((l) => !l.released).length;
	return { doc, nav, locks, listeners, setVisible, held };
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const metadata = (init: { title: string; artist: string }) => ({ ...init });

describe('device presence', () => {
	it('keeps the screen awake and names the room while in it, and lets go when out', async () => {
		const device = fakeDevice();
		const presence = new BrowserDevicePresence(device.nav, device.doc, metadata);
		presence.show('Poetry night');
		await settle();
		expect(device.held()).toBe(1);
		expect(presence.awake).toBe(true);
		expect(device.nav.mediaSession.metadata).toMatchObject({ title: 'Poetry night', artist: 'Stanza' });
		const shown = device.nav.mediaSession.metadata;
		presence.show('Poetry night'); // the room refreshed, same title: the system is not told again
		expect(device.nav.mediaSession.metadata).toBe(shown);
		presence.show('Poetry night, part 2'); // a new title: the name changes, no second lock
		await settle();
		expect(device.locks).toHaveLength(1);
		expect(device.nav.mediaSession.metadata).toMatchObject({ title: 'Poetry night, part 2' });
		presence.end();
		presence.end();
		await settle();
		expect(device.held()).toBe(0);
		expect(device.nav.mediaSession.metadata).toBeNull();
		expect(device.listeners.size).toBe(0);
	});

	it('asks again when the page comes back, since the browser lets the lock go when it is hidden', async () => {
		const device = fakeDevice();
		const presence = new BrowserDevicePresence(device.nav, device.doc, metadata);
		presence.show('Room');
		await settle();
		device.setVisible(false);
		await settle();
		expect(presence.awake).toBe(false);
		expect(device.held()).toBe(0);
		device.setVisible(true);
		await settle();
		expect(device.held()).toBe(1);
		expect(device.locks).toHaveLength(2);
	});

	it('does not ask while hidden, and a lock granted after leaving is given back', async () => {
		const device = fakeDevice();
		device.doc.visibilityState = 'hidden';
		const presence = new BrowserDevicePresence(device.nav, device.doc, metadata);
		presence.show('Room');
		await settle();
		expect(device.locks).toHaveLength(0);
		device.setVisible(true);
		presence.end(); // left before the browser answered
		await settle();
		expect(device.locks).toHaveLength(1);
		expect(device.held()).toBe(0);
	});

	it('goes on without a wake lock when the browser refuses one or has none', async () => {
		const refusing = fakeDevice({ refuse: true });
		const presence = new BrowserDevicePresence(refusing.nav, refusing.doc, metadata);
		presence.show('Room');
		await settle();
		expect(presence.awake).toBe(false);
		expect(refusing.nav.mediaSession.metadata).toMatchObject({ title: 'Room' });
		const bare = new BrowserDevicePresence({}, fakeDevice().doc, metadata);
		expect(() => (bare.show('Room'), bare.end())).not.toThrow();
	});
});
