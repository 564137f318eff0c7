/**
 * Other members' profile pictures, as far as this member has fetched them:
 * each presence names one by digest (identity/picture.ts), and the first time
 * one is wanted on screen it is asked of its owner (picture-protocol.ts). Pure
 * bookkeeping around an injected fetch and an injected way to show bytes (an
 * object URL in the app, the bytes themselves in tests):
 *
 * - each digest is asked for once, MAX_PARALLEL at a time, at most MAX_WAITING
 *   waiting (the newest wanted first: those are on screen now);
 * - one that failed (its owner not reachable yet, gone, refusing, or not
 *   that picture) is asked again only after FIRST_RETRY_MS, twice that after a
 *   second failure, and so on up to MAX_RETRY_MS, whoever names it;
 * - MAX_KEPT are kept, the least recently shown dropped first (and released).
 */

export const MAX_PARALLEL = 2;
export const MAX_WAITING = 64;
export const MAX_KEPT = 128;
export const FIRST_RETRY_MS = 5_000;
export const MAX_RETRY_MS = 60_000;

export interface PictureDeps<T> {
	/** Asks `peerId` for the picture named `digest`: checked bytes, or null. Never throws. */
	fetch(peerId: string, digest: string): Promise<Uint8Array | null>;
	/** What is shown for checked bytes (made once per digest). */
	show(bytes: Uint8Array): T;
	/** Called for a shown value dropped from the cache. */
	release?(shown: T): void;
	/** A fetched picture arrived: what is on screen may change. */
	onChange(): void;
	now?(): number;
}

export class Pictures<T> {
	readonly #deps: PictureDeps<T>;
	readonly #kept = new Map<string, T>();
	/** Digests that failed: when they may be asked for again, and how many times they failed. */
	readonly #failed = new Map<string, { retryAt: number; failures: number }>();
	readonly #waiting = new Map<string, string>();
	readonly #fetching = new Set<string>();
	#stopped = false;

	constructor(deps: PictureDeps<T>) {
		this.#deps = deps;
	}

	/** The picture `digest` names, when fetched; asks `peerId` for it otherwise (see above). */
	get(peerId: string, digest: string): T | null {
		const kept = this.#kept.get(digest);
		if (kept !== undefined) {
			this.#kept.delete(digest); // re-inserted last: the map's order is least recently shown first
			this.#kept.set(digest, kept);
			return kept;
		}
		this.#want(peerId, digest);
		return null;
	}

	/** The picture `digest` names if it is kept here, without asking anyone for it. */
	peek(digest: string): T | null {
		return this.#kept.get(digest) ?? null;
	}

	/** Puts a picture we already hold (our own) among those kept. */
	put(digest: string, bytes: Uint8Array): T {
		const kept = this.#kept.get(digest);
		if (kept !== undefined) return kept;
		return this.#keep(digest, bytes);
	}

	stop(): void {
		this.#stopped = true;
		this.#waiting.clear();
		for (const shown of this.#kept.values()) this.#deps.release?.(shown);
		this.#kept.clear();
	}

	#want(peerId: string, digest: string): void {
		if (this.#stopped || this.#fetching.has(digest)) return;
		const failed = this.#failed.get(digest);
		if (failed && this.#now() < failed.retryAt) return;
		this.#waiting.delete(digest);
		this.#waiting.set(digest, peerId);
		if (this.#waiting.size > MAX_WAITING) this.#waiting.delete(this.#waiting.keys().next().value as string);
		this.#pump();
	}

	#pump(): void {
		while (!this.#stopped && this.#fetching.size < MAX_PARALLEL && this.#waiting.size > 0) {
			const [digest, peerId] = [...this.#waiting].at(-1)!;
			this.#waiting.delete(digest);
			this.#fetching.add(digest);
			void this.#deps
				.fetch(peerId, digest)
				.catch(() => null)
				.then((bytes) => {
					this.#fetching.delete(digest);
					if (this.#stopped) return;
					if (bytes) {
						this.#failed.delete(digest);
						this.#keep(digest, bytes);
						this.#deps.onChange();
					} else this.#fail(digest);
					this.#pump();
				});
		}
	}

	#keep(digest: string, bytes: Uint8Array): T {
		const shown = this.#deps.show(bytes);
		this.#kept.set(digest, shown);
		if (this.#kept.size > MAX_KEPT) {
			const [oldest, dropped] = this.#kept.entries().next().value as [string, T];
			this.#kept.delete(oldest);
			this.#deps.release?.(dropped);
		}
		return shown;
	}

	#fail(digest: string): void {
		const failures = (this.#failed.get(digest)?.failures ?? 0) + 1;
		const now = this.#now();
		this.#failed.delete(digest); // re-inserted last: the map's order is least recently failed first
		this.#failed.set(digest, { retryAt: now + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failures - 1)), failures });
		if (this.#failed.size > MAX_KEPT) this.#failed.delete(this.#failed.keys().next().value as string);
	}

	#now(): number {
		return (this.#deps.now ?? Date.now)();
	}
}
