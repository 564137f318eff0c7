/**
 * Runs `fn` once the browser has painted what is on screen now: start-up work
 * that the first screen does not need (reading the identity, asking the
 * relays) then never stands between the page and its first paint.
 */
export function afterNextPaint(fn: () => void): void {
	// rAF runs just before the frame is painted; a task queued from there runs after it.
	requestAnimationFrame(() => setTimeout(fn, 0));
}
