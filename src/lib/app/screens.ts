/**
 * Which screens need the network from their first render. The home does not:
 * it reads the hallway over HTTP, and starting libp2p is the heaviest work a
 * page does at start-up (AppState.connect).
 */

/** A room (`#/r/…`) and Settings (its relays, the diagnostics) need it; the home and unknown routes do not. */
export function needsNetwork(hash: string): boolean {
	return /^#\/(r|settings)(\/|$)/.test(hash);
}
