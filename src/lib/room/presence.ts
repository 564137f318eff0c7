/**
 * Who is in the room right now. Presence is ephemeral: it never enters the
 * Yjs document, so joins and leaves cost the stored room nothing.
 *
 * Each peer publishes a presence message (room-topic-protocol.ts) when it
 * joins, when its name, hand or mute changes, and every beat; a quiet leave
 * publishes `leave`. Each message says how long until the sender's next beat
 * at the latest; a peer silent for PRESENCE_MISSED_BEATS of them is gone
 * (crashed, lost its network). Entries are keyed by the verified sender.
 *
 * The stage (creator, moderators, speakers) and raised hands beat every
 * PRESENCE_BEAT_MS. Listeners share a fixed budget of LISTENER_BEATS_PER_SEC
 * for the whole room, as RTCP's receiver reports share a fixed bandwidth
 * (RFC 3550, section 6.2): in a room of more than about 24 listeners, each
 * beats less often the more there are, so what every member receives stays
 * the same however large the room grows. What changes (a hand, a mute, a place
 * in the audio tree) is still said at once.
 */
import { sameAvatar, type Avatar } from '../identity/avatar';
import type { TreeWire } from './room-topic-protocol';

export const PRESENCE_BEAT_MS = 4_000;
// Listener beats the whole room receives per second, at most (24 listeners beating every 4 s).
export const LISTENER_BEATS_PER_SEC = 6;
// The longest beat a message may declare (room-topic-protocol.ts): a listener among 21,600 others.
export const MAX_PRESENCE_BEAT_MS = 3_600_000;
// Three missed beats: in a small room a crashed peer disappears within 12 s (+ the 1 s expiry sweep), under the 15 s promised.
const PRESENCE_MISSED_BEATS = 3;
export const PRESENCE_TTL_MS = PRESENCE_MISSED_BEATS * PRESENCE_BEAT_MS;
// How long a departed peer's last seq is remembered to refuse replays of its old messages.
const SEQ_MEMORY_MS = 10 * 60_000;
// A page's seqs start from its clock (ms) and go up by 2 a message, a few a second at most; a jump
// past this is a new page of the same peer (a reload), which needs to hear everyone again.
const RESTART_SEQ_JUMP = 1_000;
// After our first presence that reached anyone, every member on the stage or with a hand up has sent two beats (so
// one lost on the way, as gossip meshes form around a newcomer, is not enough to miss them): until
// then, a member we have not heard from is not yet known to be away.
export const PRESENCE_SETTLE_MS = 2 * PRESENCE_BEAT_MS + 1_000;
// A listener whose parent in the audio tree has said, after the listener last spoke, that it has no
// such child, while no member lists it as one, left the tree without a word (its tab crashed, its
// network went; the parent reclaimed its slot after 2 s of silence). It is counted away this long
// after that was first seen, not after three of its beats, which in a big room are far apart (5 min
// at 600 listeners). Long enough for a member that moved to a new parent to be listed there.
export const UNLISTED_AWAY_MS = 5_000;

/**
 * How long until our next beat at the latest: PRESENCE_BEAT_MS on the stage or
 * with a hand up; for a listener, its share of the room's listener budget.
 */
export function presenceBeatMs(listeners: number, everyFewSeconds: boolean): number {
	// (listeners: as sharedBy (net/room-size.ts) tells them, with LISTENER_BEATS_PER_SEC)
	if (everyFewSeconds) return PRESENCE_BEAT_MS;
	return Math.min(MAX_PRESENCE_BEAT_MS, Math.max(PRESENCE_BEAT_MS, Math.ceil(listeners / LISTENER_BEATS_PER_SEC) * 1000));
}

export interface PresenceState {
	name: string;
	avatar?: Avatar;
	/** The member's profile picture, by digest (identity/picture.ts). */
	picture?: string;
	/** Place in the audio tree, when the member takes part in audio. */
	tree?: TreeWire;
	/** When the hand went up (sender's clock, ms), or null. */
	hand: number | null;
	/** Self-mute. */
	muted: boolean;
}

export interface PresenceEntry extends PresenceState {
	peerId: string;
	/** Local time the peer was first seen in this stay. */
	joinedAt: number;
	lastSeen: number;
	/** Gone when not heard from again by then (local time). */
	expiresAt: number;
	/** The longest until its next beat, as it declared (clamped), ms. */
	beatMs: number;
}

export class PresenceTable {
	readonly #entries = new Map<string, PresenceEntry>();
	readonly #lastSeq = new Map<string, { seq: number; at: number }>();
	/** Since when each listener has been unlisted by its parent and by everyone else (see UNLISTED_AWAY_MS). */
	readonly #unlistedSince = new Map<string, number>();
	readonly #tags = new Map<string, number>();
	readonly #tagOf: ((peerId: string) => number) | undefined;

	/**
	 * `tagOf` gives a member's speaker tag, which tree adverts list children by (audio/packet-codec.ts);
	 * without it, a listener that left the tree without a word is shown until its beats run out.
	 */
	constructor(tagOf?: (peerId: string) => number) {
		this.#tagOf = tagOf;
	}

	get members(): ReadonlyMap<string, PresenceEntry> {
		return this.#entries;
	}

	/**
	 * Applies a presence message whose sender beats again within `beatMs`
	 * (clamped to PRESENCE_BEAT_MS..MAX_PRESENCE_BEAT_MS); returns true if what
	 * the room shows changed.
	 */
	present(peerId: string, seq: number, state: PresenceState, now: number, beatMs = PRESENCE_BEAT_MS): boolean {
		if (!this.#fresh(peerId, seq, now)) return false;
		const previous = this.#entries.get(peerId);
		const beat = Math.min(MAX_PRESENCE_BEAT_MS, Math.max(PRESENCE_BEAT_MS, beatMs));
		this.#unlistedSince.delete(peerId);
		this.#entries.set(peerId, { ...state, peerId, joinedAt: previous?.joinedAt ?? now, lastSeen: now, expiresAt: now + PRESENCE_MISSED_BEATS * beat, beatMs: beat });
		return (
			!previous ||
			previous.name !== state.name ||
			!sameAvatar(previous.avatar, state.avatar) ||
			previous.picture !== state.picture ||
			previous.hand !== state.hand ||
			previous.muted !== state.muted ||
			JSON.stringify(shownTree(previous.tree)) !== JSON.stringify(shownTree(state.tree))
		);
	}

	/** Whether `seq` comes from a new page of a peer we heard before (a reload): its seqs restart from the clock. */
	restarted(peerId: string, seq: number): boolean {
		const last = this.#lastSeq.get(peerId);
		return last !== undefined && seq - last.seq > RESTART_SEQ_JUMP;
	}

	/** Whether a reaction with `seq` may be shown: from a member shown, and newer than anything it sent before. */
	react(peerId: string, seq: number, now: number): boolean {
		return this.#entries.has(peerId) && this.#fresh(peerId, seq, now);
	}

	/** Applies a quiet leave; returns true if the peer was shown. */
	leave(peerId: string, seq: number, now: number): boolean {
		if (!this.#fresh(peerId, seq, now)) return false;
		return this.#entries.delete(peerId);
	}

	/**
	 * Drops a peer's entry without a message of its own (the room put it out);
	 * its last seq stays, so its old messages cannot bring it back. Returns
	 * true if it was shown.
	 */
	drop(peerId: string): boolean {
		return this.#entries.delete(peerId);
	}

	/**
	 * Drops peers that missed PRESENCE_MISSED_BEATS of their beats, and listeners unlisted by the
	 * audio tree for UNLISTED_AWAY_MS; returns true if any went.
	 */
	expire(now: number): boolean {
		let changed = false;
		// Every child tag some member lists, gathered once a sweep, when first needed.
		let listed: Set<number> | undefined;
		const isListed = (tag: number) => (listed ??= new Set([...this.#entries.values()].flatMap((e) => e.tree?.t ?? []))).has(tag);
		for (const [peerId, entry] of this.#entries) {
			if (now > entry.expiresAt || this.#unlistedFor(peerId, entry, now, isListed) >= UNLISTED_AWAY_MS) {
				this.#entries.delete(peerId);
				this.#unlistedSince.delete(peerId);
				changed = true;
			}
		}
		for (const peerId of this.#tags.keys()) if (!this.#entries.has(peerId)) this.#tags.delete(peerId);
		// Kept while the peer is shown, however long its beat: a replay of an old message must not rewind it.
		for (const [peerId, last] of this.#lastSeq) if (now - last.at > SEQ_MEMORY_MS && !this.#entries.has(peerId)) this.#lastSeq.delete(peerId);
		return changed;
	}

	/**
	 * How long `entry`'s parent has said it has no such child, having spoken after it, while no
	 * member lists it as a child (0: it is listed, or nothing says otherwise). Only the parent's
	 * word: a hostile parent can hide its children this way until they next speak, as it could
	 * stop feeding them.
	 */
	#unlistedFor(peerId: string, entry: PresenceEntry, now: number, isListed: (tag: number) => boolean): number {
		const parent = entry.tree?.p ? this.#entries.get(entry.tree.p) : undefined;
		if (!this.#tagOf || !parent?.tree || parent.lastSeen <= entry.lastSeen) {
			this.#unlistedSince.delete(peerId);
			return 0;
		}
		let tag = this.#tags.get(peerId);
		if (tag === undefined) this.#tags.set(peerId, (tag = this.#tagOf(peerId)));
		if (isListed(tag)) {
			this.#unlistedSince.delete(peerId);
			return 0;
		}
		const since = this.#unlistedSince.get(peerId) ?? now;
		this.#unlistedSince.set(peerId, since);
		return now - since;
	}

	#fresh(peerId: string, seq: number, now: number): boolean {
		const last = this.#lastSeq.get(peerId);
		if (last && seq <= last.seq) return false;
		this.#lastSeq.set(peerId, { seq, at: now });
		return true;
	}
}

/**
 * Raised hands in the order they went up — by the raiser's own timestamp,
 * then PeerId — so every peer shows the same queue.
 */
export function handQueue(entries: Iterable<PresenceEntry>, excluded: (peerId: string) => boolean): PresenceEntry[] {
	return [...entries]
		.filter((e) => e.hand !== null && !excluded(e.peerId))
		.sort((a, b) => (a.hand as number) - (b.hand as number) || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0));
}

/** A tree advert without the speaker's stream mark, which moves with every beat and changes nothing shown. */
function shownTree(tree: TreeWire | undefined): Omit<TreeWire, 'q' | 'r'> | undefined {
	if (!tree) return undefined;
	const { q: _mark, r: _start, ...shown } = tree;
	return shown;
}
