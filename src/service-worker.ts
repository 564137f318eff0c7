/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * Offline support: the app shell and every built file are cached at install,
 * so Stanza opens without a network (your identity, your rooms, their last
 * known state). Built files are immutable: cache first. The page itself is
 * network first so a relay serving a new version is seen at once; when the
 * network fails it comes from the cache. Nothing else (the relay's
 * well-known document, WebSockets) is touched.
 */
import { build, files, version } from '$service-worker';

const sw = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `stanza-${version}`;
const SHELL = new URL('./', sw.location.href).href;
const ASSETS = new Set([...build, ...files].map((path) => new URL(path, SHELL).href));

sw.addEventListener('install', (event) => {
	event.waitUntil(
		(async () => {
			const cache = await caches.open(CACHE);
			await cache.addAll([SHELL, ...ASSETS]);
			await sw.skipWaiting();
		})()
	);
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
		event.respondWith(
			(async () => {
				try {
					const response = await fetch(request);
					if (response.ok) await (await caches.open(CACHE)).put(SHELL, response.clone());
					return response;
				} catch {
					return (await caches.match(SHELL)) ?? Response.error();
				}
			})()
		);
	}
});
