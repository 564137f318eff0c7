/**
 * Keeps strangers from taking a browser's connections. A stranger is a peer
 * connected to us that nothing here vouches for: not one of our relays, not
 * a peer the Meet panel met, and not one any open room knows (we synced
 * with it, heard it announce, count it present, or asked to reach it; never
 * one removed or banned). A relay we dialed on the way to a member (its
 * WebSocket) is none either while it carries a relayed connection we made
 * to a member we reach no other way, for at most RELAYED_MOST_MS of that
 * connection (an honest relay ends it itself at 2 min; libp2p keeps the one
 * a WebRTC dial signalled over until then), and is counted a stranger from
 * the last time it did: a member's announce names the relays to dial, so a
 * member naming hosts of its choosing (one it runs, that never ends a
 * relayed connection) must not hold our connections to them
 * (meet-protocol.ts addrsToDial dials at most two relays not ours). Anyone on a relay can be one: the relay's
 * gossip shows the PeerIds that publish on each topic it carries, and a
 * PeerId is all it takes to open a direct WebRTC connection to a browser
 * through the relay.
 *
 * libp2p alone does not stop a crowd of them. The node refuses every inbound
 * connection past its most (libp2p-node.ts MAX_CONNECTIONS, 64), and its
 * pruner never closes a connection that carries a stream it does not know,
 * which gossipsub's do. Of 70 strangers running gossipsub that dialed one
 * browser, 55 to 60 (three runs) got in and stayed, and the browser refused
 * the rest, as it would have refused any member (tests/crowd.e2e.ts, run
 * without this guard).
 *
 * So no stranger stays longer than STRANGER_MOST_MS, counted from when it
 * connected or, for a peer something vouched for before (a member since
 * banned, a room since left), from the last time it was seen vouched for:
 * an honest peer is vouched for well within it (we sync with it as the
 * connection opens, and its announce or presence follows). And once
 * strangers hold STRANGER_CROWD connections, they keep STRANGER_SLOTS at
 * most, the youngest, and none older than STRANGER_GRACE_MS: long enough
 * for an honest newcomer to be vouched for, too short to hold a place for
 * free. Strangers are counted, not all connections, so a member with many
 * honest links (a speaker, a relaying listener after churn) is no stricter
 * with newcomers. A crowd thus holds fewer than STRANGER_CROWD +
 * STRANGER_SLOTS places and never takes the last ones; one that keeps
 * dialing faster than newcomers are vouched for can still push them out
 * while it lasts.
 *
 * `strangersToClose` is the decision, pure (time is passed in); the
 * `StrangerGuard` applies it to a node.
 */
import { isDirectConnection, relayOf } from './connection-kind';
import { shortId, traceEvent } from '../diagnostics/trace';

/**
 * A quarter of the node's most (64): more strangers than honest peers ever leave unvouched at once (a
 * few newcomers whose sync is under way), and the other three quarters stay free for members.
 */
export const STRANGER_CROWD = 16;
/**
 * We sync with an honest newcomer as its connection opens (room-session.ts), within a second or two on a
 * slow phone; its announce or presence is seldom later. In the in-memory room of 100 with churn
 * (audio-room.spec.ts), no member was a stranger to another for this long.
 */
export const STRANGER_GRACE_MS = 5_000;
/** The longest any stranger stays, crowded or not: six graces, and three times a sync's timeout (room-host.ts). */
export const STRANGER_MOST_MS = 30_000;
/** Room enough for several newcomers whose announces are late, at once. */
export const STRANGER_SLOTS = 8;
/** The longest a relayed connection of ours keeps the relay it goes through from being a stranger: an honest relay's limit (relay/config.js). */
export const RELAYED_MOST_MS = 120_000;
/** How often the guard looks even when no connection opens: a peer stops being vouched for without a word. */
export const STRANGER_SWEEP_MS = 5_000;

export interface StrangerLimits {
	/** Strangers' connections at which they are a crowd. */
	crowd: number;
	graceMs: number;
	slots: number;
	mostMs: number;
}

export const STRANGER_LIMITS: StrangerLimits = { crowd: STRANGER_CROWD, graceMs: STRANGER_GRACE_MS, slots: STRANGER_SLOTS, mostMs: STRANGER_MOST_MS };

/** What the guard reads of a connection: libp2p's, or the in-memory network's. */
export interface GuardedConnection {
	readonly remotePeer: { toString(): string };
	readonly status: string;
	readonly remoteAddr: { toString(): string };
	/** When it opened (Date.now()), as libp2p's `timeline.open`. */
	readonly timeline: { readonly open: number };
	/** 'outbound': we dialed it. */
	readonly direction?: string;
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
 * `since`: when a connection's peer became a stranger (by default, when the
 * connection opened).
 */
export function strangersToClose<C extends GuardedConnection>(
	connections: readonly C[],
	vouched: (peerId: string) => boolean,
	now: number,
	limits: StrangerLimits = STRANGER_LIMITS,
	since: (connection: C) => number = (c) => c.timeline.open
): { close: C[]; lookAgainAt: number | null } {
	const carrying = relaysCarrying(connections, now);
	const strangers = connections
		.filter((c) => c.status === 'open' && !(relayOnOurWay(c) && carrying.has(c.remotePeer.toString())) && !vouched(c.remotePeer.toString()))
		.map((c) => ({ c, at: since(c) }))
		.sort((a, b) => b.at - a.at);
	const crowded = strangers.length >= limits.crowd;
	const stays = crowded ? Math.min(limits.graceMs, limits.mostMs) : limits.mostMs;
	const close: C[] = [];
	let lookAgainAt: number | null = null;
	for (const [i, { c, at }] of strangers.entries()) {
		if ((crowded && i >= limits.slots) || now - at >= stays) close.push(c);
		else lookAgainAt = Math.min(lookAgainAt ?? Infinity, at + stays);
	}
	return { close, lookAgainAt };
}

/**
 * A relay we dialed to reach a member through it (its address announced, its relay not ours): our
 * WebSocket to it, neither a WebRTC connection nor one relayed through it.
 */
function relayOnOurWay(c: GuardedConnection): boolean {
	const addr = c.remoteAddr.toString();
	return c.direction === 'outbound' && !isDirectConnection(addr) && !addr.includes('/p2p-circuit');
}

/**
 * The relays that carry, at `now`, a relayed connection we made to a peer we have no direct connection
 * to, opened less than RELAYED_MOST_MS ago. A WebRTC connection set up through a relay needs it no more;
 * an inbound relayed connection is a stranger's say, not ours.
 */
export function relaysCarrying(connections: readonly GuardedConnection[], now: number): Set<string> {
	const direct = new Set(connections.filter((c) => c.status === 'open' && isDirectConnection(c.remoteAddr.toString())).map((c) => c.remotePeer.toString()));
	const relays = new Set<string>();
	for (const c of connections) {
		const addr = c.remoteAddr.toString();
		if (c.status !== 'open' || c.direction !== 'outbound' || isDirectConnection(addr) || now - c.timeline.open >= RELAYED_MOST_MS || direct.has(c.remotePeer.toString())) continue;
		const relay = relayOf(addr);
		if (relay) relays.add(relay);
	}
	return relays;
}

/**
 * Applies `strangersToClose` to a node: on each new connection, when a stranger's time ends, and every
 * STRANGER_SWEEP_MS, remembering when it last saw each connected peer vouched for.
 */
export class StrangerGuard {
	readonly #node: GuardedNode;
	readonly #vouched: (peerId: string) => boolean;
	readonly #limits: StrangerLimits;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#timerAt = Infinity;
	#sweep: ReturnType<typeof setInterval> | undefined;
	/** Connected peers something vouched for, and when it last did (Date.now()). */
	readonly #lastVouched = new Map<string, number>();
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
		this.#sweep = setInterval(this.check, STRANGER_SWEEP_MS);
	}

	stop(): void {
		if (!this.#started) return;
		this.#started = false;
		this.#node.removeEventListener('connection:open', this.check);
		clearInterval(this.#sweep);
		this.#sweep = undefined;
		this.#lastVouched.clear();
		clearTimeout(this.#timer);
		this.#timer = undefined;
		this.#timerAt = Infinity;
	}

	/** Closes what `strangersToClose` says, now. */
	readonly check = (): void => {
		if (!this.#started) return;
		const now = Date.now();
		const connections = this.#node.getConnections();
		const connected = new Set<string>();
		// A relay on our way counts from the last time it carried a connection of ours (it may carry the next).
		const carrying = relaysCarrying(connections, now);
		for (const c of connections) {
			const peerId = c.remotePeer.toString();
			connected.add(peerId);
			if (c.status === 'open' && (this.#vouched(peerId) || carrying.has(peerId))) this.#lastVouched.set(peerId, now);
		}
		for (const peerId of this.#lastVouched.keys()) if (!connected.has(peerId)) this.#lastVouched.delete(peerId);
		const since = (c: GuardedConnection) => Math.max(c.timeline.open, this.#lastVouched.get(c.remotePeer.toString()) ?? -Infinity);
		const { close, lookAgainAt } = strangersToClose(connections, this.#vouched, now, this.#limits, since);
		if (close.length > 0) traceEvent('net:strangers', `closed ${close.length}: ${[...new Set(close.map((c) => shortId(c.remotePeer.toString())))].join(' ')}`);
		for (const c of close) {
			c.abort(new Error('a stranger: nothing here vouches for this peer'));
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
