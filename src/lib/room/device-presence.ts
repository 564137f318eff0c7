/**
 * What the device does while a room is open: keeps the screen awake (a
 * phone that locks mid-room would stop the page's audio on some platforms,
 * and people follow a room on screen), and names the room where the system
 * shows what is playing (the lock screen, media notifications) through the
 * Media Session API. Both are best effort: a browser without them, or one
 * that refuses the wake lock (battery saver, a hidden page), changes nothing
 * else. The browser releases a wake lock whenever the page is hidden, so it
 * is asked for again each time the page comes back.
 */

export interface DevicePresence {
	/** In a room titled `title` (called again when the title changes). */
	show(title: string): void;
	/** Out of the room: the screen may sleep, the system forgets the title. Safe to call twice. */
	end(): void;
}

/** The parts of `navigator` used here, so a test can hand in its own. */
export interface DeviceNavigator {
	wakeLock?: { request(type: 'screen'): Promise<{ release(): Promise<void> }> };
	mediaSession?: { metadata: unknown };
}

/** The parts of `document` used here. */
export interface DeviceDocument {
	readonly visibilityState: string;
	addEventListener(type: 'visibilitychange', listener: () => void): void;
	removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

/** Artwork for the system's media controls: the app's own icons (static/), relative to the page as the build's paths are. */
const ARTWORK = [
	{ src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
	{ src: 'icon-512.png', sizes: '512x512', type: 'image/png' }
];

export class BrowserDevicePresence implements DevicePresence {
	readonly #nav: DeviceNavigator;
	readonly #doc: DeviceDocument;
	readonly #makeMetadata: (init: { title: string; artist: string; artwork: typeof ARTWORK }) => unknown;
	#lock: { release(): Promise<void> } | null = null;
	#asking = false;
	#shown = false;
	#title: string | null = null;
	readonly #onVisibility = () => this.#keepAwake();

	constructor(
		nav: DeviceNavigator = navigator as unknown as DeviceNavigator,
		doc: DeviceDocument = document,
		makeMetadata = (init: { title: string; artist: string; artwork: typeof ARTWORK }): unknown =>
			typeof MediaMetadata === 'function' ? new MediaMetadata(init) : null
	) {
		this.#nav = nav;
		this.#doc = doc;
		this.#makeMetadata = makeMetadata;
	}

	show(title: string): void {
		// Called on every refresh of the room: the system's media controls are told only of a new title.
		if (this.#nav.mediaSession && (title !== this.#title || !this.#shown)) {
			this.#nav.mediaSession.metadata = this.#makeMetadata({ title, artist: 'Stanza', artwork: ARTWORK });
		}
		this.#title = title;
		if (this.#shown) return;
		this.#shown = true;
		this.#doc.addEventListener('visibilitychange', this.#onVisibility);
		this.#keepAwake();
	}

	end(): void {
		if (!this.#shown) return;
		this.#shown = false;
		this.#doc.removeEventListener('visibilitychange', this.#onVisibility);
		if (this.#nav.mediaSession) this.#nav.mediaSession.metadata = null;
		const lock = this.#lock;
		this.#lock = null;
		void lock?.release().catch(() => {});
	}

	/** Whether the screen is being kept awake now (diagnostics and tests). */
	get awake(): boolean {
		return this.#lock !== null;
	}

	#keepAwake(): void {
		if (!this.#shown || this.#lock || this.#asking || !this.#nav.wakeLock || this.#doc.visibilityState !== 'visible') return;
		this.#asking = true;
		this.#nav.wakeLock
			.request('screen')
			.then((lock) => {
				if (this.#shown) this.#lock = lock;
				else void lock.release().catch(() => {});
				// The browser let it go (the page was hidden): ask again when it is visible.
				(lock as Partial<EventTarget>).addEventListener?.('release', () => {
					if (this.#lock === lock) this.#lock = null;
				});
			})
			.catch(() => {}) // refused (battery saver, no permission): the room goes on, the screen may sleep
			.finally(() => (this.#asking = false));
	}
}

/** For unit tests of code that uses a DevicePresence: records what it was told. */
export class MemoryDevicePresence implements DevicePresence {
	title: string | null = null;
	show(title: string): void {
		this.title = title;
	}
	end(): void {
		this.title = null;
	}
}
