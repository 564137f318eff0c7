// @ts-check
/**
 * The relay's part in the hallway (src/lib/hallway/hallway-announcement.js):
 * it stays subscribed to the hallway topic whoever is connected, so that
 * announcements flow between its clients and to federated relays, checks
 * every announcement before gossipsub forwards it, and keeps the latest
 * per room so that a newcomer sees the list at once (`GET /v1/hallway`)
 * instead of after the next round of announcements.
 *
 * Limits: `maxRooms` rooms in all (the oldest announcement goes first),
 * MAX_ROOMS_PER_CREATOR per creator (its oldest goes first), and per source
 * that handed them in (keys cost nothing to make, addresses do):
 * MAX_ROOMS_PER_SOURCE per client IP, past which a new room is neither kept
 * nor forwarded (an IP that pushed out its own oldest room to keep a new one
 * had every new one forwarded to the relays we federate with, which counted
 * nothing from a relay, and one IP emptied their lists); MAX_ROOMS_PER_RELAY
 * per federated relay, its oldest going first (what it forwards, it kept
 * within its own per-IP caps; a busy relay's newest rooms are the ones to
 * show). Each is kept until it expires (ANNOUNCEMENT_TTL_MS after it was
 * made). How old an announcement is, for which goes first, is when it was
 * made or when it came, whichever is earlier: an announcement dated up to a
 * minute ahead (the clock skew allowed) does not outrank the fresh ones that
 * come after it. A room's announcement replaces the one kept only if it is
 * newer; a forged, expired, malformed or stale one is never forwarded
 * (rejected, or ignored when it is only old news or over a cap) and counted
 * as a refusal.
 */
import { ANNOUNCEMENT_TTL_MS, HALLWAY_PATH, HALLWAY_TOPIC, readAnnouncement } from '../src/lib/hallway/hallway-announcement.js';

export { HALLWAY_PATH, HALLWAY_TOPIC };
export const MAX_ROOMS_PER_CREATOR = 4;
export const MAX_ROOMS_PER_SOURCE = 8;
/** A federated relay carries the rooms of all its clients: a quarter of the default list each. */
export const MAX_ROOMS_PER_RELAY = 64;
/** Sources named so are federated relays (sourceOf): MAX_ROOMS_PER_RELAY each. */
export const RELAY_SOURCE_PREFIX = 'relay:';

/** gossipsub's validator results. */
const ACCEPT = 'accept';
const IGNORE = 'ignore';
const REJECT = 'reject';

/** @typedef {import('@libp2p/interface').PeerId} PeerId */

/**
 * The latest announcement of each room, bounded. Pure: time is passed in.
 */
export class HallwayCache {
	#maxRooms;
	/** @type {Map<string, { creator: string, source: string | null, at: number, age: number, json: string }>} room id → latest announcement; `age`: min(at, when it came) */
	#rooms = new Map();
	/** What json() last returned, until an announcement is kept or dropped. @type {string | null} */
	#json = null;

	/** @param {number} maxRooms */
	constructor(maxRooms) {
		this.#maxRooms = maxRooms;
	}

	/**
	 * Keeps an announcement already checked. Returns false when the room
	 * already has one at least as new (old news: not worth forwarding), or
	 * when it is a new room from a source at its cap.
	 *
	 * @param {{ room: string, creator: string, at: number }} a
	 * @param {string} json the announcement as it came
	 * @param {number} nowMs
	 * @param {string | null} [source] the client IP that handed it in, or RELAY_SOURCE_PREFIX and a
	 *   federated relay's PeerId; null: not counted (tests)
	 */
	offer(a, json, nowMs, source = null) {
		this.prune(nowMs);
		const kept = this.#rooms.get(a.room);
		if (kept && kept.at >= a.at) return false;
		const relay = source?.startsWith(RELAY_SOURCE_PREFIX) ?? false;
		const fromSource = source === null || kept ? [] : [...this.#rooms].filter(([, v]) => v.source === source);
		if (!relay && fromSource.length >= MAX_ROOMS_PER_SOURCE) return false;
		const age = Math.min(a.at, nowMs);
		// Past here the list may change, even when the announcement is not kept.
		this.#json = null;
		this.#rooms.delete(a.room);
		if (relay && fromSource.length >= MAX_ROOMS_PER_RELAY) this.#rooms.delete(oldest(fromSource));
		const mine = [...this.#rooms].filter(([, v]) => v.creator === a.creator);
		if (mine.length >= MAX_ROOMS_PER_CREATOR) this.#rooms.delete(oldest(mine));
		if (this.#rooms.size >= this.#maxRooms) {
			const victim = oldest([...this.#rooms]);
			if (/** @type {{ age: number }} */ (this.#rooms.get(victim)).age > age) return false;
			this.#rooms.delete(victim);
		}
		this.#rooms.set(a.room, { creator: a.creator, source, at: a.at, age, json });
		return true;
	}

	/** @param {number} nowMs */
	prune(nowMs) {
		for (const [room, v] of this.#rooms) {
			if (v.at >= nowMs - ANNOUNCEMENT_TTL_MS) continue;
			this.#rooms.delete(room);
			this.#json = null;
		}
	}

	/**
	 * The announcements kept, newest first, as one JSON array.
	 *
	 * @param {number} nowMs
	 */
	json(nowMs) {
		this.prune(nowMs);
		this.#json ??= `[${[...this.#rooms.values()].sort((x, y) => y.at - x.at).map((v) => v.json).join(',')}]`;
		return this.#json;
	}

	get size() {
		return this.#rooms.size;
	}
}

/** @param {Array<[string, { age: number }]>} entries */
function oldest(entries) {
	return entries.reduce((a, b) => (b[1].age < a[1].age ? b : a))[0];
}

/**
 * @typedef {object} HallwayPubSub
 * @property {(topic: string) => void} subscribe
 * @property {(topic: string) => void} unsubscribe
 * @property {Map<string, (peer: PeerId, message: { data?: Uint8Array, topic: string }) => string | Promise<string>>} topicValidators
 */

/**
 * Subscribes to the hallway and installs its validator.
 *
 * @param {{ pubsub: HallwayPubSub, maxRooms: number, refuse: (limit: 'hallway_invalid' | 'hallway_stale') => void, now?: () => number,
 *   sourceOf?: (peer: PeerId) => string | null }} options `sourceOf`: the client IP behind the peer that
 *   handed a message in, or RELAY_SOURCE_PREFIX and its PeerId for a federated relay
 * @returns {{ cache: HallwayCache, json: () => string, stop: () => void }}
 */
export function startHallway({ pubsub, maxRooms, refuse, now = Date.now, sourceOf = () => null }) {
	const cache = new HallwayCache(maxRooms);
	pubsub.topicValidators.set(HALLWAY_TOPIC, async (peer, message) => {
		const data = message.data ?? new Uint8Array();
		const at = now();
		let announcement;
		try {
			announcement = await readAnnouncement(data, at);
		} catch {
			refuse('hallway_invalid');
			return REJECT;
		}
		if (!cache.offer(announcement, new TextDecoder().decode(data), at, sourceOf(peer))) {
			refuse('hallway_stale');
			return IGNORE;
		}
		return ACCEPT;
	});
	pubsub.subscribe(HALLWAY_TOPIC);
	let stopped = false;
	return {
		cache,
		json: () => cache.json(now()),
		stop() {
			if (stopped) return;
			stopped = true;
			pubsub.topicValidators.delete(HALLWAY_TOPIC);
			pubsub.unsubscribe(HALLWAY_TOPIC);
		}
	};
}
