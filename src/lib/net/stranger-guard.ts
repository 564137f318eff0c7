/**
 * Keeps strangers from taking a browser's connections. A stranger is a peer
 * connected to us that nothing here vouches for: not one of our relays, not
 * a peer any open room or meeting has heard, counts as a member or asked to
 * reach. Anyone on a relay can be one: the relay's gossip shows the PeerIds
 * that publish on each topic it carries, and a PeerId is all it takes to
 * open a direct WebRTC connection to a browser through the relay.
 *
 * libp2p alone does not stop a crowd of them. The node refuses every inbound
 * connection past its most (libp2p-node.ts MAX_CONNECTIONS), and its pruner
 * never closes a connection that carries a stream it does not know, which
 * gossipsub's do. Of 70 strangers running gossipsub that dialed one browser,
 * 55 got in and stayed, and the browser refused the rest, as it would have
 * refused any member (tests/crowd.e2e.ts, run without this guard).
 *
 * So no stranger stays longer than STRANGER_MOST_MS: an honest peer is
 * vouched for well within it (it syncs with us as the connection opens, and
 * its announce or presence follows). And once the node is crowded
 * (CROWDED_AT connections or more), strangers keep STRANGER_SLOTS
 * connections at most, the youngest, and none older than STRANGER_GRACE_MS:
 * long enough for an honest newcomer to be vouched for, too short to hold a
 * place for free. A crowd that keeps coming is sent away each time it fills
 * the node to CROWDED_AT, so it never takes the node's last places, and
 * members always find room.
 *
 * `strangersToClose` is the decision, pure (time is passed in); the
 * `StrangerGuard` applies it to a node.
 */
import { shortId, traceEvent } from '../diagnostics/trace';

/**
 * Half the node's most (64): the connections an honest member holds are far
 * fewer (relays, a room's neighbours, a stage, links being set up), and the
 * other half stays free for members while a crowd is being sent away.
 */
export const CROWDED_AT = 32;
/**
 * An honest newcomer syncs with us as its connection opens (room-session.ts), within a second or two on a
 * slow phone; its announce or presence is seldom later. In the in-memory room of 100 with churn
 * (audio-room.spec.ts), no member was a stranger to another for this long.
 */
export const STRANGER_GRACE_MS = 5_000;
/** The longest any stranger stays, crowded or not: six graces, and three times a sync's timeout (room-host.ts). */
export const STRANGER_MOST_MS = 30_000;
/** Room enough for several newcomers whose announces are late, at once. */
export const STRANGER_SLOTS = 8;

export interface StrangerLimits {
	crowdedAt: number;
	graceMs: number;
	slots: number;
	mostMs: number;
}

export const STRANGER_LIMITS: StrangerLimits = { crowdedAt: CROWDED_AT, graceMs: STRANGER_GRACE_MS, slots: STRANGER_SLOTS, mostMs: STRANGER_MOST_MS };

/** What the guard reads of a connection: libp2p's, or the in-memory network's. */
export interface GuardedConnection {
	readonly remotePeer: { toString(): string };
	readonly status: string;
	/** When it opened (Date.now()), as libp2p's `timeline.open`. */
	readonly timeline: { readonly open: number };
	abort(err?: Error): void;
}

/** What the guard needs of a node: its connections, and word of each new one. */
export interface GuardedNode {
	getConnections(): readonly GuardedConnection[];
	addEventListener(type: 'connection:open', listener: () => void): void;
	removeEventListener(type: 'connection:open', listener: () => void): void;
}

/**
 * The strangers' connections to close at `now`, and when to look again: when
 * the first stranger kept comes to the end of its time (null: none is kept).
 */
export function strangersToClose<C extends GuardedConnection>(
	connections: readonly C[],
	vouched: (peerId: string) => boolean,
	now: number,
	limits: StrangerLimits = STRANGER_LIMITS
): { close: C[]; lookAgainAt: number | null } {
	const open = connections.filter((c) => c.status === 'open');
	const crowded = open.length >= limits.crowdedAt;
	const stays = crowded ? Math.min(limits.graceMs, limits.mostMs) : limits.mostMs;
	const strangers = open.filter((c) => !vouched(c.remotePeer.toString())).sort((a, b) => b.timeline.open - a.timeline.open);
	const close: C[] = [];
	let lookAgainAt: number | null = null;
	for (const [i, c] of strangers.entries()) {
		if ((crowded && i >= limits.slots) || now - c.timeline.open >= stays) close.push(c);
		else lookAgainAt = Math.min(lookAgainAt ?? Infinity, c.timeline.open + stays);
	}
	return { close, lookAgainAt };
}

/** Applies `strangersToClose` to a node: on each new connection, and when a stranger's grace ends. */
export class StrangerGuard {
	readonly #node: GuardedNode;
	readonly #vouched: (peerId: string) => boolean;
	readonly #limits: StrangerLimits;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#timerAt = Infinity;
	#started = false;
	readonly #onSentAway: (peerId: string) => void;

	/** `onSentAway`: told of each connection it closes, by its peer. */
	constructor(node: GuardedNode, vouched: (peerId: string) => boolean, limits: StrangerLimits = STRANGER_LIMITS, onSentAway: (peerId: string) => void = () => {}) {
		this.#node = node;
		this.#vouched = vouched;
		this.#limits = limits;
		this.#onSentAway = onSentAway;
	}

	start(): void {
		if (this.#started) return;
		this.#started = true;
		this.#node.addEventListener('connection:open', this.check);
	}

	stop(): void {
		if (!this.#started) return;
		this.#started = false;
		this.#node.removeEventListener('connection:open', this.check);
		clearTimeout(this.#timer);
		this.#timer = undefined;
		this.#timerAt = Infinity;
	}

	/** Closes what `strangersToClose` says, now. */
	readonly check = (): void => {
		if (!this.#started) return;
		const { close, lookAgainAt } = strangersToClose(this.#node.getConnections(), this.#vouched, Date.now(), this.#limits);
		if (close.length > 0) traceEvent('net:strangers', `closed ${close.length}: ${[...new Set(close.map((c) => shortId(c.remotePeer.toString())))].join(' ')}`);
		for (const c of close) {
			c.abort(new Error('a stranger, while the node is crowded'));
			this.#onSentAway(c.remotePeer.toString());
		}
		if (lookAgainAt !== null && lookAgainAt < this.#timerAt) {
			clearTimeout(this.#timer);
			this.#timerAt = lookAgainAt;
			this.#timer = setTimeout(() => {
				this.#timer = undefined;
				this.#timerAt = Infinity;
				this.check();
			}, Math.max(0, lookAgainAt - Date.now()));
		}
	};
}
