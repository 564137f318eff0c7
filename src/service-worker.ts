/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * Offline support: the app shell and every built file are cached at install,
 * so Stanza opens without a network (your identity, your rooms, their last
 * known state). Built files are immutable: cache first. The page itself is
 * network first so a relay serving a new version is seen at once; when the
 * network fails it comes from the cache. So is the deployer's relay list
 * (`stanza-relays.json`, when there is one): with it the app still finds its
 * relays when the static host is down. Nothing else (the relay's well-known
 * document, WebSockets) is touched.
 *
 * A new version installs and waits beside the running one until the person
 * chooses to reload (the page posts SKIP_WAITING); then the old caches go.
 *
 * Every URL here is relative to the worker's own: the build runs from any
 * sub-folder, the worker is registered from that folder, and its scope is it.
 */
import { build, files, version } from '$service-worker';
import { DEPLOYED_RELAYS_FILE } from '$lib/net/deployed-relays';
import { SKIP_WAITING } from '$lib/app/update-message';

const sw = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `stanza-${version}`;
const SHELL = new URL('./', sw.location.href).href;
const RELAYS = new URL(DEPLOYED_RELAYS_FILE, SHELL).href;
const ASSETS = new Set([...build, ...files].map((path) => new URL(path, SHELL).href));

sw.addEventListener('install', (event) => {
	event.waitUntil(
		(async () => {
			const cache = await caches.open(CACHE);
			await cache.addAll([SHELL, ...ASSETS]);
			await fetchAndKeep(cache, new Request(RELAYS, { cache: 'no-cache' })).catch(() => undefined);
			// No skipWaiting here: a new version waits until the person reloads (app/app-update.svelte.ts),
			// so an open page never loses the files of the version it runs. The first install needs no wait.
		})()
	);
});

sw.addEventListener('message', (event) => {
	if (event.data === SKIP_WAITING) void sw.skipWaiting();
});

sw.addEventListener('activate', (event) => {
	event.waitUntil(
		(async () => {
			for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
			await sw.clients.claim();
		})()
	);
});

sw.addEventListener('fetch', (event) => {
	const request = event.request;
	if (request.method !== 'GET') return;
	const url = new URL(request.url);
	url.hash = '';
	if (ASSETS.has(url.href)) {
		event.respondWith(caches.match(url.href).then((hit) => hit ?? fetch(request)));
	} else if (request.mode === 'navigate' && (url.href === SHELL || url.href === `${SHELL}index.html`)) {
		event.respondWith(networkFirst(request, SHELL));
	} else if (url.href === RELAYS) {
		event.respondWith(networkFirst(request, RELAYS));
	}
});

/** The network's answer (kept under `key` when it is a success), else the kept copy. */
async function networkFirst(request: Request, key: string): Promise<Response> {
	try {
		const response = await fetch(request);
		// A newer version deleted this one's cache when it took over: an answer this (old) worker
		// was still fetching must not bring that cache back (the page polls the relay list every
		// second while it finds no relay, so one such fetch is often in flight at the switch).
		if (await caches.has(CACHE)) await keep(await caches.open(CACHE), key, response);
		return response;
	} catch {
		return (await caches.match(key)) ?? Response.error();
	}
}

/** Fetches `request` into `cache` (at install: the cache is this version's, new). */
async function fetchAndKeep(cache: Cache, request: Request): Promise<Response> {
	const response = await fetch(request);
	await keep(cache, request.url, response);
	return response;
}

/**
 * Keeps a successful answer. A relay list that is gone (404) is forgotten
 * too, so a deployer can remove it; a failed fetch changes nothing.
 */
async function keep(cache: Cache, key: string, response: Response): Promise<void> {
	if (response.ok) await cache.put(key, response.clone());
	else if (key === RELAYS && response.status === 404) await cache.delete(key);
}
