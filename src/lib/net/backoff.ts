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
