/**
 * Runs `fn` once the browser has painted what is on screen now: start-up work
 * that the first screen does not need (reading the identity, asking the
 * relays) then never stands between the page and its first paint. Returns a
 * cancel, for a screen left before that.
 */
export function afterNextPaint(fn: () => void): () => void {
	let timer: ReturnType<typeof setTimeout> | undefined;
	// rAF runs just before the frame is painted; a task queued from there runs after it.
	const frame = requestAnimationFrame(() => (timer = setTimeout(fn, 0)));
	return () => {
		cancelAnimationFrame(frame);
		clearTimeout(timer);
	};
}
