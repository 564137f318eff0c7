/**
 * A link followed while the app is still starting. SvelteKit's hash router
 * reads the address once when it starts and writes that address back when
 * its first page is in (history.replaceState); a hash change in between — a
 * room link pasted or opened while the first page loads — comes before the
 * router listens, and is lost: the home page shows and the room never opens.
 * An inline script in `src/app.html`, which runs before any module loads,
 * records the last such change under EARLY_HASH_KEY; the root layout follows
 * it once the first page is in (`afterNavigate`, type 'enter').
 */
export const EARLY_HASH_KEY = '__stanzaEarlyHash';

/**
 * The app route to go to: the hash recorded before the router listened, when it is one of the
 * app's routes and not the one the router rendered; otherwise null.
 */
export function earlyHashToFollow(recorded: unknown, rendered: string): string | null {
	if (typeof recorded !== 'string' || !recorded.startsWith('#/')) return null;
	return recorded === rendered ? null : recorded;
}
