/** What the page posts to a waiting service worker when the person asks for the new version (src/service-worker.ts). */
export const SKIP_WAITING = 'stanza:skip-waiting';
