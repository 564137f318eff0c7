/**
 * A public room's creator announces it in the hallway
 * (hallway-announcement.js): at once when the room goes live, again
 * whenever what the hallway shows changes (at most every MIN_GAP_MS), and
 * every REPEAT_MS in any case, so that announcements never expire while the
 * room is listed. One that reached nobody (the node has just joined the
 * topic, and no relay knows it is there yet) is tried again after
 * RETRY_MS, doubling, instead of waiting a whole round. When the room stops
 * being listed (it went private or ended) one last announcement with `live: false` takes it off the list at
 * once; a creator who simply leaves stops announcing, and the room leaves
 * the hallway when its last announcement expires.
 */
import type { PrivateKey } from '@libp2p/interface';
import type { RoomAddress } from '../room/room-link';
import type { RoomListing } from '../room/room-state.svelte';
import { encodeAnnouncement } from './hallway-announcement.js';

export const REPEAT_MS = 30_000;
export const MIN_GAP_MS = 5_000;
export const RETRY_MS = 500;

/** What the hallway should show of the room (the room's listing port, room-state.svelte.ts). */
export type HallwaySummary = RoomListing;

export interface AnnouncerDeps {
	/** Resolves to how many peers it was sent to (0: nobody heard it), or rejects. */
	publish: (bytes: Uint8Array) => Promise<number>;
	signer: { privateKey: PrivateKey; peerId: string };
	now?: () => number;
	/** Reports a publish that failed (no relay right now, …); the next round tries again. */
	onError?: (err: unknown) => void;
}

export class HallwayAnnouncer {
	readonly #address: RoomAddress;
	readonly #deps: AnnouncerDeps;
	#summary: HallwaySummary = { listed: false, title: '', stage: [], listeners: 0 };
	#announced: string | null = null;
	#lastAt = -Infinity;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#stopped = false;
	/** The wait before trying again after an announcement that reached nobody. */
	#retry = RETRY_MS;

	constructor(address: RoomAddress, deps: AnnouncerDeps) {
		this.#address = address;
		this.#deps = deps;
	}

	/** What the hallway should show now; announces as the rules above say. */
	update(summary: HallwaySummary): void {
		if (this.#stopped) return;
		const wasListed = this.#summary.listed;
		this.#summary = { ...summary, stage: [...summary.stage] };
		if (!summary.listed) {
			clearTimeout(this.#timer);
			this.#timer = undefined;
			if (wasListed && this.#announced !== null) void this.#announce(false);
			this.#announced = null;
			return;
		}
		if (this.#fingerprint() === this.#announced) return;
		const wait = Math.max(0, this.#lastAt + MIN_GAP_MS - this.#now());
		this.#schedule(wait);
	}

	/** Stops announcing (the creator leaves: the room may go on without us, so no `live: false`). */
	stop(): void {
		this.#stopped = true;
		clearTimeout(this.#timer);
	}

	#now(): number {
		return (this.#deps.now ?? Date.now)();
	}

	#fingerprint(): string {
		const { title, stage, listeners } = this.#summary;
		return JSON.stringify([title, stage, listeners]);
	}

	#schedule(ms: number): void {
		clearTimeout(this.#timer);
		this.#timer = setTimeout(async () => {
			this.#timer = undefined;
			const heard = await this.#announce(true);
			// A newer update may have scheduled the next announcement meanwhile: it stands.
			if (this.#stopped || this.#timer !== undefined || !this.#summary.listed) return;
			if (heard) this.#retry = RETRY_MS;
			else if (this.#retry < REPEAT_MS) {
				this.#schedule(this.#retry);
				this.#retry *= 2;
				return;
			}
			this.#schedule(REPEAT_MS);
		}, ms);
	}

	/** Whether someone heard it. */
	async #announce(live: boolean): Promise<boolean> {
		// Strictly newer than the last, so that a `live: false` always replaces it.
		const at = Math.max(this.#now(), this.#lastAt + 1);
		this.#lastAt = at;
		if (live) this.#announced = this.#fingerprint();
		const { title, stage, listeners } = this.#summary;
		try {
			const bytes = await encodeAnnouncement(
				{ room: this.#address.roomId, key: this.#address.key, title, stage, listeners, live, at },
				this.#deps.signer.privateKey,
				this.#deps.signer.peerId
			);
			return (await this.#deps.publish(bytes)) > 0;
		} catch (err) {
			this.#deps.onError?.(err);
			return false;
		}
	}
}
