/**
 * The hallway as one browser sees it: the newest announcement of each public
 * room, from the hallway topic and from relays' caches (hallway-state), each
 * checked by readAnnouncement before it gets here. Pure: time is passed in.
 */
import { roomPath } from '../room/room-link';
import { ANNOUNCEMENT_TTL_MS, type Announcement } from './hallway-announcement.js';

/** What the home shows of a live public room. */
export interface HallwayRoom {
	roomId: string;
	title: string;
	stage: string[];
	listeners: number;
	/** The room link's fragment path (`/r/<id>/<key>`). */
	path: string;
	at: number;
}

// A page keeps at most this many rooms; beyond it the oldest announcements go (relays keep 256 by default).
export const MAX_HALLWAY_ROOMS = 500;

export class HallwayList {
	/** room id → its newest announcement (live or not: a `live: false` keeps an older live one from coming back). */
	#latest = new Map<string, Announcement>();

	/** Keeps an announcement if it is the newest of its room; true when the list changed. */
	offer(a: Announcement, nowMs: number): boolean {
		this.prune(nowMs);
		const kept = this.#latest.get(a.room);
		if (kept && kept.at >= a.at) return false;
		this.#latest.set(a.room, a);
		if (this.#latest.size > MAX_HALLWAY_ROOMS) {
			const oldest = [...this.#latest.values()].reduce((x, y) => (y.at < x.at ? y : x));
			this.#latest.delete(oldest.room);
		}
		return true;
	}

	/** Forgets announcements that expired; true when any did. */
	prune(nowMs: number): boolean {
		let changed = false;
		for (const [room, a] of this.#latest) {
			if (a.at < nowMs - ANNOUNCEMENT_TTL_MS) changed = this.#latest.delete(room) || changed;
		}
		return changed;
	}

	/** Live rooms, the most listened first (then the most recently announced). */
	rooms(): HallwayRoom[] {
		return [...this.#latest.values()]
			.filter((a) => a.live)
			.sort((x, y) => y.listeners - x.listeners || y.at - x.at || (x.room < y.room ? -1 : 1))
			.map((a) => ({ roomId: a.room, title: a.title, stage: a.stage, listeners: a.listeners, path: roomPath({ roomId: a.room, key: a.key }), at: a.at }));
	}
}
