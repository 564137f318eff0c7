/**
 * Reconnect delays: exponential from 1 s, capped at 30 s, with ±20 % jitter so
 * that a room full of peers does not hammer a relay that comes back in lockstep.
 */
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;
const JITTER = 0.2;

export function backoffDelay(attempt: number, random: () => number = Math.random): number {
	const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
	const jitter = 1 + JITTER * (2 * random() - 1);
	return Math.round(Math.min(BACKOFF_MAX_MS, exp * jitter));
}

/**
 * Relay redials. A relay that went away most often comes back within seconds
 * (a restart, a deploy, a blip), so the first FAST_ATTEMPTS redials come about
 * a second apart, spread uniformly over 0.5–1.5 s so that a room full of
 * peers does not arrive at a restarted relay in lockstep; then backoffDelay
 * from 2 s. A refused dial costs the relay nothing; one that hangs is cut at
 * the dial timeout, which spaces redials further.
 */
export const FAST_ATTEMPTS = 10;
export const FAST_DELAY_MS = 1_000;

export function relayRetryDelay(attempt: number, random: () => number = Math.random): number {
	if (attempt < FAST_ATTEMPTS) return Math.round(FAST_DELAY_MS * (0.5 + random()));
	return backoffDelay(attempt - FAST_ATTEMPTS + 1, random);
}
