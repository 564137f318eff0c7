/**
 * A short, bounded record of what the network layer did (announces, dials,
 * syncs), so that when a peer is stuck its own page can say what it was
 * waiting for. The end-to-end fixtures print it for a page whose wait timed
 * out; a person can read it from the console as `__stanzaTrace`.
 *
 * Nothing here reads a clock of its own: `at` is passed in by callers
 * (performance.now() in the app), so the spec is deterministic.
 */

// 400 lines: a few minutes of a busy room's meeting and sync events; ~40 KB at most.
const MAX_ENTRIES = 400;
// A detail longer than this is cut: traces are for reading, not for payloads.
const MAX_DETAIL = 160;

export interface TraceEntry {
	at: number;
	event: string;
	detail: string;
}

export class Trace {
	readonly #entries: TraceEntry[] = [];
	#dropped = 0;

	add(at: number, event: string, detail = ''): void {
		if (this.#entries.length === MAX_ENTRIES) {
			this.#entries.shift();
			this.#dropped++;
		}
		this.#entries.push({ at: Math.round(at), event, detail: detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL)}…` : detail });
	}

	get entries(): readonly TraceEntry[] {
		return this.#entries;
	}

	/** One line per entry, oldest first. */
	toString(): string {
		const head = this.#dropped > 0 ? [`(${this.#dropped} older entries dropped)`] : [];
		return [...head, ...this.#entries.map((e) => `${String(e.at).padStart(7)} ms  ${e.event}${e.detail ? `  ${e.detail}` : ''}`)].join('\n');
	}
}

/** The page's one trace, also reachable as `globalThis.__stanzaTrace` for tests and curious people. */
export const trace: Trace = new Trace();
(globalThis as { __stanzaTrace?: Trace }).__stanzaTrace = trace;

/** Records an event at the page's current time. */
export function traceEvent(event: string, detail = ''): void {
	trace.add(performance.now(), event, detail);
}

/** A PeerId shortened for a trace line. */
export function shortId(peerId: string): string {
	return `…${peerId.slice(-6)}`;
}
