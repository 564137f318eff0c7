/**
 * A new version of the app, offered rather than forced. The service worker
 * of a new build installs beside the running one and waits
 * (src/service-worker.ts): the open page keeps the version it started with,
 * whose lazily loaded parts stay in the old cache. `ready` turns true; when
 * the person chooses to reload, the waiting worker takes over and the page
 * reloads into the new version.
 */
import { SKIP_WAITING } from './update-message';

// Browsers look for a new worker on each navigation; a page left open all day asks now and then too.
export const UPDATE_CHECK_MS = 60 * 60_000;
// Chromium keeps a worker told to skip waiting behind the running one until that one has no work, up to
// 5 minutes; the page goes quiet first (beforeSwitch), and reloads anyway if the switch has not come by then.
export const SWITCH_WAIT_MS = 10_000;

/** The parts of `navigator.serviceWorker` used here (an EventTarget fake in unit tests). */
export interface WorkerContainer extends EventTarget {
	readonly ready: Promise<ServiceWorkerRegistration>;
	readonly controller: ServiceWorker | null;
}

export class AppUpdate {
	/** A new version is installed and waiting for a reload. */
	ready = $state(false);
	/** The person chose it: the page is switching (the button waits). */
	switching = $state(false);
	#registration: ServiceWorkerRegistration | null = null;
	#container: WorkerContainer | null = null;
	readonly #beforeSwitch: () => void;

	/**
	 * `beforeSwitch` stops whatever the page asks the network for (relay
	 * discovery, the hallway): each such request is an event for the running
	 * worker, and while it has events Chromium does not let the new one take
	 * over (seen: the page polling for a relay every second held it back
	 * for good).
	 */
	constructor({ beforeSwitch = () => {} }: { beforeSwitch?: () => void } = {}) {
		this.#beforeSwitch = beforeSwitch;
	}

	/** Starts watching for a waiting worker; never throws (no service worker: nothing to offer). */
	async watch(container: WorkerContainer | undefined = globalThis.navigator?.serviceWorker): Promise<void> {
		if (!container || this.#container) return;
		this.#container = container;
		const registration = await container.ready;
		this.#registration = registration;
		// A worker waiting behind one that controls this page is an update; the very first install is not.
		const check = () => {
			if (registration.waiting && container.controller) this.ready = true;
		};
		registration.addEventListener('updatefound', () => registration.installing?.addEventListener('statechange', check));
		check();
		setInterval(() => void registration.update().catch(() => {}), UPDATE_CHECK_MS);
	}

	/** The person chose the new version: the waiting worker takes over, then the page reloads. */
	apply = (reload: () => void = () => location.reload()): void => {
		const waiting = this.#registration?.waiting;
		// A second click (or tap) while switching would arm a second reload.
		if (!waiting || !this.#container || this.switching) return;
		this.switching = true;
		const once = () => {
			this.#container?.removeEventListener('controllerchange', once);
			clearTimeout(fallback);
			reload();
		};
		this.#container.addEventListener('controllerchange', once);
		const fallback = setTimeout(once, SWITCH_WAIT_MS);
		this.#beforeSwitch();
		waiting.postMessage(SKIP_WAITING);
	};
}
