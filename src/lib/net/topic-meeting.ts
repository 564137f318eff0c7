/**
 * Peers subscribed to the same topic find each other and connect directly,
 * each to a bounded number of neighbours (`targetNeighbours`), not to all:
 * a room's members form a sparse overlay that gossip crosses in a few hops,
 * and anything that needs a particular peer (an audio parent, a speaker)
 * asks for it with `connect()`, using the addresses that peer announced.
 * Each announces its WebRTC circuit addresses on the topic (see
 * meet-protocol.ts) when it joins, as soon as it holds a relay reservation
 * (its first circuit address), when a new subscriber appears, and every
 * ANNOUNCE_INTERVAL_MS as a safety net; in a room of more than about 30,
 * less often the larger the room, so that the room as a whole hears
 * ANNOUNCES_PER_SEC safety-net announces whatever its size. On an announce from a peer it is not
 * directly connected to, the peer with the smaller PeerId dials; the other
 * announces itself again (the smaller may not have heard it yet) and dials
 * too only if still unconnected after DIAL_YIELD_MS and no dial from the
 * other side is under way, so two peers rarely race two connections.
 *
 * Dials wait in a short queue, MAX_PARALLEL_DIALS at a time. A joiner hears a
 * whole room at once; starting a WebRTC dial to every member together makes
 * every dial slow (each is an SDP exchange, ICE and a noise handshake), and on
 * a busy phone or a loaded machine none finishes in time, so all fail and the
 * joiner starts over. A few at a time finish, and the first one is enough to
 * catch up with the room. A failed dial is retried with backoff while the
 * peer is still unconnected.
 */
import type { Connection, PeerId } from '@libp2p/interface';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { shortId, traceEvent } from '../diagnostics/trace';
import { backoffDelay } from './backoff';
import { answersNewcomer, nextBeatMs, sharedBy } from './room-size';
import { isDirectConnection, relayOf } from './connection-kind';
import type { StanzaNode } from './libp2p-node';
import { MAX_MEET_BYTES, MAX_MEET_INTERVAL_SECONDS, decodeMeetAnnounce, encodeMeetAnnounce, meetTopicFor, webrtcAddrs, addrsToDial } from './meet-protocol';

// 15 s: a safety net only; announces are event-driven, so a shorter interval only adds traffic.
const ANNOUNCE_INTERVAL_MS = 15_000;
// Safety-net announces the whole room receives per second, at most (30 members at 15 s); every
// announce counts as one (room-size.ts).
const ANNOUNCES_PER_SEC = 2;
// At most one announce this often: the first of a burst of triggers (new subscribers, a newcomer
// heard) goes at once, the rest of the burst in one announce this long after it.
export const ANNOUNCE_THROTTLE_MS = 20;
// While we hold no reservation, look for our first circuit address this often: a local list, and
// every ms here delays our first announce (libp2p's own address event is debounced by a second).
// After ADDRESS_FAST_POLL_FOR_MS without one (no relay answers: offline, or every relay down), every
// ADDRESS_SLOW_POLL_MS, so a phone left offline does not read it 100 times a second.
const ADDRESS_POLL_MS = 10;
const ADDRESS_FAST_POLL_FOR_MS = 5_000;
const ADDRESS_SLOW_POLL_MS = 250;
// Long enough for the smaller peer's dial (~260 ms on loopback, more over the internet) to land.
const DIAL_YIELD_MS = 3_000;
// A WebRTC dial through a relay that has not connected in 20 s will not.
const DIAL_TIMEOUT_MS = 20_000;
// Two at a time: enough to meet a room quickly, few enough that each finishes on a slow device.
const MAX_PARALLEL_DIALS = 2;
// After this many failed dials in a row, wait for the peer's next announce instead.
const MAX_DIAL_ATTEMPTS = 4;
// A dial libp2p reports done, or fails as "Remote closed connection during opening", whose connection
// closed as it opened: in bench:net about one join in five through a relay, after which the next try
// came only with the peer's next announce, a second later. Tried again this soon, once.
const LOST_DIAL_RETRY_MS = 100;
// A dial that resolves with a relayed connection joined a dial to the same peer already under way
// through the relay (libp2p's dial queue merges dials by peer): a joiner's sync through the relay
// starts as it hears a member, as our dial does. That connection is up now, and a dial made at once
// reuses it for the WebRTC signaling. It was taken for a lost one and tried again 100 ms later: a
// joiner's first direct connection came that much later (bench:net's room link).
function joinedRelayedDial(connection: { status: string; remoteAddr: { toString(): string } } | undefined): boolean {
	return connection?.status === 'open' && !isDirectConnection(connection.remoteAddr.toString());
}
// A joiner's announce from a peer we hold a direct connection to: the page at the other end of that
// connection has most likely gone (a reload) without the close reaching us, and libp2p's monitor
// notices only within its ping interval and timeout (up to 45 s, libp2p-node.ts). Meanwhile we took
// the joiner for a neighbour and ignored it: a reloaded member waited 12 s for the room in one test
// run. So the connection is asked for an answer (identify), and closed if none comes in this long
// (an answer takes milliseconds; a wrong verdict on a slow link costs one redial).
const STALE_PROBE_TIMEOUT_MS = 2_000;
// A connection is asked only once this old: libp2p identifies every new connection as it opens, and
// a second identify on it at the same time would be refused, which is no sign of a dead page.
const STALE_PROBE_MIN_AGE_MS = 3_000;

// Streams of Stanza's own protocols (sync, keys, media set-up): a connection carrying one is busy.
const OUR_PROTOCOLS = '/stanza/';
// An audio link being set up (audio/media-signal-protocol.ts MEDIA_PROTOCOL): of busy links past our most,
// these go last: a child's set-up may take seconds, and the audio side tells the meeting only which ones it
// took on (`settingUp`), once the request has come.
const AUDIO_SETUP = '/stanza/media/';
// A connection younger than this is not trimmed: the peer that dialed it opens its stream (an audio
// link's set-up, a sync) a round trip after the connection opens, and a trim at the open would cut
// it before it carried anything. In the in-memory room of 120 with audio (audio-room.spec.ts), every
// listener dial to a parent over its cap was cut that way, and a repairing listener stayed deaf.
export const TRIM_GRACE_MS = 3_000;
// A peer's announce that it needs neighbours protects its link to us from a trim this long: long enough to
// find others (a joiner has its neighbours in about a second), not until its next announce, which in a big
// room comes minutes later. Members opening a room of 100 at one instant all announce that they need
// neighbours, and some held 16 to 25 connections for good (audio-room.spec.ts) before this.
export const OPEN_HOLDS_MS = 6_000;
// Links past our most that the trim spares because the peer needs them (an open announce, a stream of
// ours), at most: past this many, the youngest of them go too. A member needs us for a second or two;
// anyone with the room's link could otherwise keep links to us for good, by announcing that it needs
// neighbours every few seconds or by opening a stream now and then, until a crowd of identities held
// every connection the browser takes (64) and no newcomer could reach us (trim-crowded in the trace).
export const SPARED_PAST_MOST = 8;
// A peer's need (an open announce) and a stream of ours (a sync, keys, an audio link's set-up) spare its link
// only this long after it first linked to us: a joiner has its neighbours in about a second, and our syncs,
// key fetches and set-ups end within 10 s (room-host.ts SYNC_TIMEOUT_MS, media-link.ts). Past it, a link is an
// ordinary one, whatever the peer says or opens, so identities that keep announcing need or keep opening
// streams hold a place only for a while. An audio link our audio side took on (`settingUp`: a child given a
// slot, a fellow speaker) spares its link whenever it is set up.
export const SPARED_FOR_MS = 20_000;
// When each peer first linked to us is kept while it is linked and this long after its last link closed (at
// most MAX_KNOWN_PEERS of them): one cut for holding too many links gets no new window by dialing again
// within that time, and a neighbour that reloads keeps its standing.
const FIRST_LINK_KEPT_MS = 5 * 60_000;
// An audio parent, a standby and the speakers: far fewer than this are asked for at a time.
const MAX_ASKED_FOR = 64;
// Our announces say we are new (meet-protocol.ts "j") for this long after we join the topic, and
// until one has gone out.
const JOINING_MS = 10_000;
// Whom we have heard announce, kept for connect(): bounded, and forgotten after a minute of silence,
// or after KNOWN_PEER_MISSED_ANNOUNCES of the intervals it declared when that is longer.
const MAX_KNOWN_PEERS = 4_096;
const KNOWN_PEER_TTL_MS = 60_000;
const KNOWN_PEER_MISSED_ANNOUNCES = 3;

export interface MeetingEvents {
	onDialError(peerId: string, error: unknown): void;
	/** A peer on the topic announced itself (its addresses are known from now on). */
	onHeard?(peerId: string): void;
}

export interface MeetingOptions {
	/**
	 * Direct connections to this topic's peers that the meeting makes on its
	 * own. While we have heard no more peers than this, we connect to all of
	 * them (a small room is a full mesh); past that, we dial until we have
	 * half as many, and take others' dials until `maxNeighbours`: every link
	 * counts at both its ends, so members keep about this many on average,
	 * whatever the room's size.
	 */
	targetNeighbours: number;
	/**
	 * The most neighbours we take: at this many we announce `full`, and
	 * nobody dials us to be its neighbour (default: half as many again as
	 * the target). Without it, a member that says it is content (`open:
	 * false`) is dialed by every newcomer, and early members' connections
	 * grow with the room (194 of 199 in a simulated room of 200).
	 */
	maxNeighbours?: number;
	/**
	 * Seals announces for those who share a secret (a room's key), so that the
	 * relay and outsiders do not learn who meets there; `open` throws on
	 * anything not sealed with it, which is then ignored.
	 */
	seal?: AnnounceSeal;
	/**
	 * Peers the meeting neither counts, nor dials, nor connects to (a room's
	 * removed and banned members): a connection one of them still holds to us
	 * takes no neighbour's place, so we find an honest neighbour instead.
	 */
	shunned?: (peerId: string) => boolean;
	/**
	 * Peers known to be on the topic by other means (a room's presence),
	 * though their announce has not reached us: in a large room announces
	 * come minutes apart, so a member that arrived after them hears few of
	 * the peers that link to it (audio repairs and standbys most of all). A
	 * direct connection to one counts as a neighbour's, and past our most it
	 * may be closed like one whose peer said it needs none: we never heard it
	 * ask. Default: none.
	 */
	member?: (peerId: string) => boolean;
	/**
	 * How many are on the topic, as the caller knows it (a room's presence):
	 * sets our safety-net interval. Default: the peers we heard announce.
	 */
	population?: () => number;
	/**
	 * Peers an audio link with is being set up that our audio side took on (a child given a slot, a
	 * fellow speaker): the trim spares a link setting one up only for these, past the peer's first
	 * SPARED_FOR_MS. Anyone can open a set-up stream and keep it waiting.
	 */
	settingUp?: (peerId: string) => boolean;
}

export interface AnnounceSeal {
	seal(announce: Uint8Array): Promise<Uint8Array>;
	open(sealed: Uint8Array): Promise<Uint8Array>;
	/** Bytes sealing adds, so oversized input is dropped before any work. */
	overhead: number;
}

interface PendingDial {
	addrs: string[];
	attempt: number;
}

interface KnownPeer {
	addrs: string[];
	open: boolean;
	/** At its most neighbours: not dialed to be ours. */
	full: boolean;
	heardAt: number;
	/** Forgotten after this (performance.now()) unless heard again. */
	expiresAt: number;
	/** The longest until its next announce, as it declared, ms. */
	intervalMs: number;
}

export class TopicMeeting {
	readonly name: string;
	readonly #node: StanzaNode;
	readonly #events: MeetingEvents;
	readonly #target: number;
	readonly #max: number;
	/** What our last announce said (open, full): a change is announced at once. */
	#said: { open: boolean; full: boolean } | null = null;
	readonly #seal: AnnounceSeal | null;
	readonly #shunned: (peerId: string) => boolean;
	readonly #member: (peerId: string) => boolean;
	readonly #settingUp: (peerId: string) => boolean;
	readonly #population: () => number;
	readonly #known = new Map<string, KnownPeer>();
	#topic: string | null = null;
	#interval: ReturnType<typeof setTimeout> | undefined;
	#throttle: ReturnType<typeof setTimeout> | undefined;
	/** When we last announced (performance.now()): the throttle's leading edge. */
	#announcedAt = -Infinity;
	#addressPoll: ReturnType<typeof setTimeout> | undefined;
	readonly #dialing = new Set<string>();
	/** Dials waiting for a free place, in the order they were asked for. */
	readonly #queue = new Map<string, PendingDial>();
	readonly #retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
	readonly #yieldTimers = new Map<string, ReturnType<typeof setTimeout>>();
	#stopped = false;
	#joinedAt = 0;
	/** Set while #trim closes connections. */
	#trimming = false;
	/** A trim to come, once the first connection spared now may go: one too young (TRIM_GRACE_MS), one whose open announce has aged (OPEN_HOLDS_MS), or one whose peer's SPARED_FOR_MS has run out. */
	#retrim: ReturnType<typeof setTimeout> | undefined;
	/** When #retrim fires (performance.now()), or Infinity. */
	#retrimAt = Infinity;
	/** When we saw each connection open (performance.now()), for the trim's grace. */
	readonly #openedAt = new WeakMap<Connection, number>();
	/**
	 * Each peer's standing with us (performance.now()): when it first opened a direct link to us (SPARED_FOR_MS
	 * counts from it), when its last one opened or closed, and whether the trim has cut it (its standing is its
	 * current link from then on: dialing again puts it last, not back where it was).
	 */
	readonly #standing = new Map<string, { first: number; last: number; cut: boolean }>();
	/** Our longest-standing neighbours the trim never cuts: half our target. */
	readonly #protected: number;
	/** Peers asked for by connect(), the latest MAX_ASKED_FOR: never trimmed. */
	readonly #askedFor = new Set<string>();
	/** Of those, the ones connect() dialed a new connection to (none was held): closed again on release(). */
	readonly #madeFor = new Set<string>();
	#announced = false;
	/** Peers whose direct connection is being asked whether it still leads anywhere. */
	readonly #probing = new Set<string>();

	constructor(node: StanzaNode, name: string, events: MeetingEvents, options: MeetingOptions) {
		this.#node = node;
		this.name = name;
		this.#events = events;
		this.#target = options.targetNeighbours;
		this.#max = options.maxNeighbours ?? Math.ceil(options.targetNeighbours * 1.5);
		this.#protected = Math.ceil(options.targetNeighbours / 2);
		this.#seal = options.seal ?? null;
		this.#shunned = options.shunned ?? (() => false);
		this.#member = options.member ?? (() => false);
		this.#settingUp = options.settingUp ?? (() => false);
		this.#population = options.population ?? (() => this.#known.size + 1);
	}

	/** Direct connections to peers heard on this topic, or known by the caller to be on it (`member`). */
	neighbours(): number {
		// One pass over our connections (tens), not one per peer heard (up to MAX_KNOWN_PEERS).
		const direct = new Set<string>();
		for (const c of this.#node.getConnections()) {
			const peerId = c.remotePeer.toString();
			if (c.status === 'open' && this.#onTopic(peerId) && isDirectConnection(c.remoteAddr.toString()) && !this.#shunned(peerId)) direct.add(peerId);
		}
		return direct.size;
	}

	/**
	 * Whether this meeting vouches for `peerId` (stranger-guard.ts): heard on the topic, a member by
	 * other means, or a peer we asked to reach; never one shunned.
	 */
	knows(peerId: string): boolean {
		return !this.#shunned(peerId) && (this.#onTopic(peerId) || this.#askedFor.has(peerId));
	}

	#onTopic(peerId: string): boolean {
		return this.#known.has(peerId) || this.#member(peerId);
	}

	/**
	 * A direct connection to `peerId`, made now if there is none, from the
	 * addresses it announced, or, not heard yet, through the relays we hold
	 * reservations on. Resolves false when it cannot be had (shunned, or the
	 * dial failed); never throws.
	 */
	async connect(peerId: string, signal: AbortSignal): Promise<boolean> {
		if (this.#shunned(peerId)) return false;
		this.#askedFor.delete(peerId); // re-inserted last: the set's order is oldest first
		this.#askedFor.add(peerId);
		if (this.#askedFor.size > MAX_ASKED_FOR) this.#askedFor.delete(this.#askedFor.values().next().value as string);
		if (this.#isDirect(peerId)) return true;
		if (this.#stopped) return false;
		this.#madeFor.add(peerId);
		if (this.#madeFor.size > MAX_ASKED_FOR) this.#madeFor.delete(this.#madeFor.values().next().value as string);
		// Not heard yet (in a large room, not every member answers a newcomer): it is most likely
		// reachable through a relay we hold a reservation on, as we are.
		const addrs = this.#toDial(this.#known.get(peerId)?.addrs ?? this.#myAddrs().map((a) => a.replace(/\/p2p\/[^/]+$/, `/p2p/${peerId}`)));
		if (addrs.length === 0) return false;
		traceEvent('meet:connect', `${shortId(peerId)}${this.#known.has(peerId) ? '' : ' (through our relays)'}`);
		for (let attempt = 1; ; attempt++) {
			let joined = false;
			const steps = new DialSteps(peerId);
			try {
				const connection = await this.#node.dial(
					addrs.map((a) => multiaddr(a)),
					{ signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]), onProgress: steps.note }
				);
				steps.done('connect');
				if (this.#isDirect(peerId) || attempt > 1) return this.#isDirect(peerId);
				joined = joinedRelayedDial(connection);
				traceEvent(joined ? 'meet:connect-joined' : 'meet:connect-lost', `${shortId(peerId)}: ${joined ? 'joined a dial through the relay' : 'its connection closed as it opened'}`);
			} catch (err) {
				steps.done('connect (failed)');
				traceEvent('meet:connect-failed', `${shortId(peerId)}: ${String(err)}`);
				if (this.#isDirect(peerId) || attempt > 1 || !(err instanceof Error && err.name === 'ConnectionClosedError')) return this.#isDirect(peerId);
			}
			if (!joined) await new Promise((resolve) => setTimeout(resolve, LOST_DIAL_RETRY_MS));
			if (this.#stopped || signal.aborted) return this.#isDirect(peerId);
		}
	}

	/**
	 * The relayed addresses of a peer we heard (its WebRTC circuit addresses
	 * without `/webrtc`): a connection through the relay, limited in time and
	 * bytes, for a small exchange before a direct one exists.
	 */
	relayedAddrs(peerId: string): Multiaddr[] {
		return this.#toDial(this.#known.get(peerId)?.addrs ?? []).map((a) => multiaddr(a.replace('/p2p-circuit/webrtc/', '/p2p-circuit/')));
	}

	/** PeerIds heard on this topic (those whose announces opened), most recently heard last. */
	heard(): string[] {
		return [...this.#known.entries()].sort((a, b) => a[1].heardAt - b[1].heardAt).map(([peerId]) => peerId);
	}

	#wantsNeighbours(): boolean {
		return this.neighbours() < this.#dialTarget();
	}

	/** How many neighbours we dial for: all we heard in a small room, half the target in a larger one. */
	#dialTarget(): number {
		return this.#known.size <= this.#target ? this.#target : Math.ceil(this.#target / 2);
	}

	#state(): { open: boolean; full: boolean } {
		const n = this.neighbours();
		return { open: n < this.#dialTarget(), full: n >= this.#max };
	}

	/**
	 * Someone was shunned (or let back in): a neighbour's place it held is
	 * free, so dial peers we heard, most recently heard first, until we have
	 * our neighbours again, and tell the room we are open. Cheap when nothing
	 * changed for us.
	 */
	shunChanged(): void {
		if (this.#stopped) return;
		for (const peerId of this.#known.keys()) {
			if (this.#shunned(peerId)) this.#forget(peerId);
		}
		if (!this.#wantsNeighbours()) return;
		this.announceSoon();
		for (const [peerId, peer] of [...this.#known].reverse()) {
			if (!this.#isDirect(peerId)) this.#requestDial(peerId, peer.addrs, 0);
		}
	}

	/**
	 * Something the trim goes by changed: the room came to count a peer we are linked to as a member
	 * (`member()` now says so: a sync with it completed, say), or an audio link `settingUp` spared is set up
	 * or given up. A link past our most may go now, not at the next connection event or announce.
	 */
	lookAgain(): void {
		if (!this.#stopped) this.#trim();
	}

	#forget(peerId: string): void {
		this.#known.delete(peerId);
		this.#askedFor.delete(peerId);
		this.#madeFor.delete(peerId);
		this.#queue.delete(peerId);
		clearTimeout(this.#retryTimers.get(peerId));
		this.#retryTimers.delete(peerId);
		clearTimeout(this.#yieldTimers.get(peerId));
		this.#yieldTimers.delete(peerId);
	}

	async join(): Promise<void> {
		const topic = await meetTopicFor(this.name);
		if (this.#stopped) return;
		this.#topic = topic;
		const pubsub = this.#node.services.pubsub;
		pubsub.addEventListener('message', this.#onMessage);
		pubsub.addEventListener('subscription-change', this.#onSubscriptionChange);
		this.#node.addEventListener('self:peer:update', this.#onAddressesChanged);
		this.#node.addEventListener('connection:open', this.#onConnectionsChanged);
		this.#node.addEventListener('connection:close', this.#onConnectionsChanged);
		pubsub.subscribe(topic);
		this.#joinedAt = performance.now();
		this.announceSoon();
	}

	/** Stops announcing and dialing. Safe to call twice. */
	leave(): void {
		this.#stopped = true;
		clearTimeout(this.#interval);
		clearTimeout(this.#addressPoll);
		clearTimeout(this.#throttle);
		clearTimeout(this.#retrim);
		for (const t of this.#yieldTimers.values()) clearTimeout(t);
		for (const t of this.#retryTimers.values()) clearTimeout(t);
		this.#queue.clear();
		const pubsub = this.#node.services.pubsub;
		pubsub.removeEventListener('message', this.#onMessage);
		pubsub.removeEventListener('subscription-change', this.#onSubscriptionChange);
		this.#node.removeEventListener('self:peer:update', this.#onAddressesChanged);
		this.#node.removeEventListener('connection:open', this.#onConnectionsChanged);
		this.#node.removeEventListener('connection:close', this.#onConnectionsChanged);
		if (this.#topic) pubsub.unsubscribe(this.#topic);
	}

	/** Announces our addresses shortly (coalesced). Safe to call often. */
	announceSoon(): void {
		if (this.#stopped || this.#throttle !== undefined) return;
		const wait = this.#announcedAt + ANNOUNCE_THROTTLE_MS - performance.now();
		if (wait <= 0) {
			void this.#announce();
			return;
		}
		this.#throttle = setTimeout(() => {
			this.#throttle = undefined;
			void this.#announce();
		}, wait);
	}

	#myAddrs(): string[] {
		return webrtcAddrs(this.#node.getMultiaddrs().map((m) => m.toString()));
	}

	/** A peer's addresses as we dial them: through our relays first, few others (meet-protocol.ts addrsToDial). */
	#toDial(addrs: readonly string[]): string[] {
		return addrsToDial(addrs, new Set(this.#myAddrs().map(relayOf).filter((r): r is string => r !== null)));
	}

	async #announce(): Promise<void> {
		if (!this.#topic || this.#stopped) return;
		const addrs = this.#myAddrs();
		if (addrs.length === 0) {
			// No reservation yet: announce the moment the first circuit address shows up.
			traceEvent('meet:announce-waits', `${this.name}: no reservation yet`);
			this.#watchForAddresses();
			return;
		}
		this.#announcedAt = performance.now();
		// Every announce is a beat: the next safety-net one is due a full interval from now.
		const interval = this.#announceInterval();
		clearTimeout(this.#interval);
		this.#interval = setTimeout(() => this.announceSoon(), nextBeatMs(interval));
		try {
			const state = this.#state();
			this.#said = state;
			const announce = encodeMeetAnnounce({
				addrs,
				...state,
				...(interval > ANNOUNCE_INTERVAL_MS ? { intervalSeconds: interval / 1000 } : {}),
				...(!this.#announced || performance.now() - this.#joinedAt < JOINING_MS ? { joining: true } : {})
			});
			const result = await this.#node.services.pubsub.publish(this.#topic, this.#seal ? await this.#seal.seal(announce) : announce);
			this.#announced = true;
			traceEvent('meet:announce', `${this.name}: to ${result.recipients.length}`);
		} catch (err) {
			// No reachable subscriber right now; the next trigger announces again.
			traceEvent('meet:announce-failed', `${this.name}: ${String(err)}`);
		}
	}

	/**
	 * Our safety-net interval: ANNOUNCE_INTERVAL_MS, or our share of the room's ANNOUNCES_PER_SEC, whole
	 * seconds; the room as we count it, or as the intervals others declared imply (room-size.ts).
	 */
	#announceInterval(): number {
		const intervals = [...this.#known.values()].map((p) => p.intervalMs);
		const share = Math.ceil(sharedBy(this.#population(), intervals, ANNOUNCES_PER_SEC) / ANNOUNCES_PER_SEC) * 1000;
		return Math.min(MAX_MEET_INTERVAL_SECONDS * 1000, Math.max(ANNOUNCE_INTERVAL_MS, share));
	}

	/**
	 * Past maxNeighbours (members arriving back to back dial us before our
	 * `full` announce reaches them): closes surplus links, the newest first,
	 * but never to our longest-standing neighbours (half our target) nor to
	 * peers we asked for (connect(): an audio parent, a speaker), and only
	 * once a link is TRIM_GRACE_MS old (its stream may not be open yet). It
	 * spares a peer that needs us (its last announce said so less than
	 * OPEN_HOLDS_MS ago) or carries a stream of ours (sync, keys, an audio
	 * link being set up), but only in its first SPARED_FOR_MS, unless our
	 * audio side took on the audio link being set up (`settingUp`). An audio
	 * link itself runs on its own RTCPeerConnection, which outlives the
	 * libp2p connection that set it up. Spared links stay at most
	 * SPARED_PAST_MOST past our most: the youngest of the rest go too (once
	 * TRIM_GRACE_MS old).
	 */
	#trim(): void {
		let excess = this.neighbours() - this.#max;
		if (excess <= 0 || this.#stopped || this.#trimming) return;
		// By peer, not by connection: two that dialed each other at once may hold two connections, and
		// closing one of them leaves the neighbour in place.
		const byPeer = new Map<string, Connection[]>();
		for (const c of this.#node.getConnections()) {
			if (c.status !== 'open') continue;
			const peerId = c.remotePeer.toString();
			const held = byPeer.get(peerId);
			if (held) held.push(c);
			else byPeer.set(peerId, [c]);
		}
		const surplus: Connection[] = [];
		const now = performance.now();
		let youngest = -Infinity;
		let holdsUntil = Infinity;
		// Links kept because their peer needs them, for the cut past SPARED_PAST_MOST: since when we hold its
		// oldest direct link (a peer cannot look new by opening more), and whether a stream of ours is on it.
		const spared: { peerId: string; connections: Connection[]; linked: number; first: number; standing: number; busy: number }[] = [];
		// Peers cut, and when they first linked: their standing goes, not their window's start.
		const cut: { peerId: string; first: number }[] = [];
		// Our neighbours, with since when we hold each one's oldest direct link (opened before we were
		// looking, our join: old enough), a peer that keeps opening connections does not look new; since
		// when it first linked (its window); and since when it stands with us: its first link, through
		// reloads, unless the trim cut it since.
		const neighbours: { peerId: string; connections: Connection[]; linked: number; first: number; standing: number }[] = [];
		for (const [peerId, connections] of byPeer) {
			if (!(this.#known.has(peerId) || this.#member(peerId)) || this.#shunned(peerId)) continue;
			const direct = connections.filter((c) => isDirectConnection(c.remoteAddr.toString()));
			if (direct.length === 0) continue;
			const linked = Math.min(...direct.map((c) => this.#openedAt.get(c) ?? -Number.MAX_VALUE));
			const standing = this.#standing.get(peerId);
			const first = Math.min(linked, standing?.first ?? Infinity);
			neighbours.push({ peerId, connections, linked, first, standing: standing?.cut ? linked : first });
		}
		// The longest-standing stay (those we asked for among them), whatever comes: a crowd of identities
		// holding the room's link, each saying it needs us or keeping a stream of ours open, pushed out every
		// older neighbour (the links nobody spares go first) and was all we heard the room through. Of the
		// rest, peers that said they are full go first (they have links enough), then the newest.
		neighbours.sort((a, b) => a.standing - b.standing);
		const kept = new Set(neighbours.slice(0, this.#protected).map((n) => n.peerId));
		const turns = neighbours.reverse();
		const full = (n: { peerId: string }) => this.#known.get(n.peerId)?.full === true;
		for (const { peerId, connections, linked, first, standing } of [...turns.filter(full), ...turns.filter((n) => !full(n))]) {
			if (excess <= 0) break;
			if (kept.has(peerId) || this.#askedFor.has(peerId)) continue;
			const peer = this.#known.get(peerId);
			const ours = connections.flatMap((c) => c.streams.filter((stream) => stream.protocol?.startsWith(OUR_PROTOCOLS)));
			// 0: said it needs us; 1: a stream of ours on the link; 2: an audio link being set up on it.
			const busy = ours.some((stream) => stream.protocol?.startsWith(AUDIO_SETUP)) ? 2 : ours.length > 0 ? 1 : 0;
			// Need and streams spare a link only in the peer's first SPARED_FOR_MS, but for an audio link we took on.
			const sparedTill = first + SPARED_FOR_MS;
			const needs = peer?.open && !peer.full && now - peer.heardAt < OPEN_HOLDS_MS;
			const settingUp = busy === 2 && this.#settingUp(peerId);
			if (settingUp || ((needs || busy > 0) && now < sparedTill)) {
				if (!settingUp) holdsUntil = Math.min(holdsUntil, sparedTill, needs ? peer.heardAt + OPEN_HOLDS_MS : Infinity);
				spared.push({ peerId, connections, linked, first, standing, busy });
				continue;
			}
			if (now - linked < TRIM_GRACE_MS) {
				// Its turn: it goes once old enough, and no older link goes in its place meanwhile.
				youngest = Math.max(youngest, linked);
				excess--;
				continue;
			}
			traceEvent('meet:trim', `${this.name}: ${shortId(peerId)}`);
			excess--;
			cut.push({ peerId, first });
			surplus.push(...connections);
		}
		// Too many spared: past our most and the links about to go, they keep SPARED_PAST_MOST places at least
		// (links we asked for count among the most, down to that). Those that only said they need us go
		// before those with a stream of ours on them (a sync, keys), and those setting up an audio link last;
		// the youngest first (long-standing neighbours stay), each once TRIM_GRACE_MS old. One too young to go
		// yet keeps its turn: an older link does not go in its place while a crowd arrives.
		let crowded = Math.min(excess, spared.length) - SPARED_PAST_MOST;
		let sparedGrown = Infinity;
		for (const { peerId, connections, linked, first } of spared.sort((a, b) => a.busy - b.busy || b.standing - a.standing)) {
			if (crowded <= 0) break;
			crowded--;
			excess--;
			if (now - linked < TRIM_GRACE_MS) {
				sparedGrown = Math.min(sparedGrown, linked + TRIM_GRACE_MS);
				continue;
			}
			traceEvent('meet:trim-crowded', `${this.name}: ${shortId(peerId)}`);
			cut.push({ peerId, first });
			surplus.push(...connections);
		}
		for (const { peerId, first } of cut) this.#standing.set(peerId, { first, last: now, cut: true });
		// Chosen first, closed after, and not chosen again from inside a close whose event fires at once:
		// that would count a peer's second connection, not closed yet, as a neighbour still held.
		this.#trimming = true;
		try {
			for (const c of surplus) c.close().catch(() => {});
		} finally {
			this.#trimming = false;
		}
		// Still past the cap with links young or protected: look again once the first of them may go.
		const again = Math.min(youngest > -Infinity ? youngest + TRIM_GRACE_MS : Infinity, holdsUntil, sparedGrown);
		if ((excess > 0 || youngest > -Infinity || sparedGrown < Infinity) && again < this.#retrimAt) {
			clearTimeout(this.#retrim);
			this.#retrimAt = again;
			this.#retrim = setTimeout(() => {
				this.#retrim = undefined;
				this.#retrimAt = Infinity;
				this.#trim();
			}, Math.max(0, again - now));
		}
	}

	/**
	 * What connect() asked for is done with (an audio link set up on its own connection, or refused):
	 * the connection to `peerId` is an ordinary neighbour again, trimmed like any other past the cap.
	 */
	release(peerId: string): void {
		const made = this.#madeFor.delete(peerId);
		if (!this.#askedFor.delete(peerId) || this.#stopped) return;
		// Dialed only for that, while we hold neighbours enough or it holds too many (its announce said
		// full): closed now, not left to the trims, each of which waits for the other side's announce to
		// say it needs no more (in a big room, announces are minutes apart). In the in-memory room of 120
		// with audio (audio-room.spec.ts), members held 60 to 119 connections without this.
		const connections = this.#connectionsTo(peerId);
		if (made && (this.neighbours() > this.#target || this.#known.get(peerId)?.full) && !connections.some((c) => c.streams.some((stream) => stream.protocol?.startsWith(OUR_PROTOCOLS)))) {
			traceEvent('meet:release', `${this.name}: ${shortId(peerId)}`);
			for (const c of connections) c.close().catch(() => {});
			return;
		}
		this.#trim();
	}

	#watchForAddresses(): void {
		if (this.#addressPoll !== undefined || this.#stopped) return;
		const since = performance.now();
		const poll = () => {
			this.#addressPoll = undefined;
			if (this.#stopped) return;
			if (this.#myAddrs().length > 0) return this.announceSoon();
			this.#addressPoll = setTimeout(poll, performance.now() - since < ADDRESS_FAST_POLL_FOR_MS ? ADDRESS_POLL_MS : ADDRESS_SLOW_POLL_MS);
		};
		this.#addressPoll = setTimeout(poll, ADDRESS_POLL_MS);
	}

	#onAddressesChanged = () => {
		if (this.#myAddrs().length > 0) this.announceSoon();
	};

	/** We came to want neighbours, stopped wanting them, or became full or not: the room hears it now, not in 15 s. */
	#onConnectionsChanged = (event: Event) => {
		this.#linkChanged((event as CustomEvent<Connection>).detail, event.type === 'connection:open');
		this.#trim();
		const now = this.#state();
		if (this.#said && (now.open !== this.#said.open || now.full !== this.#said.full)) this.announceSoon();
	};

	/** A direct link opened or closed: the peer's standing (#standing) is kept, started, or let go of in time. */
	#linkChanged(connection: Connection, opened: boolean): void {
		const now = performance.now();
		if (opened) this.#openedAt.set(connection, now);
		if (!isDirectConnection(connection.remoteAddr.toString())) return;
		const peerId = connection.remotePeer.toString();
		const standing = this.#standing.get(peerId);
		if (standing) standing.last = now;
		if (!opened || standing) return;
		// Peers unlinked for FIRST_LINK_KEPT_MS go, and past MAX_KNOWN_PEERS the oldest unlinked ones.
		const linked = new Set(this.#node.getConnections().map((c) => c.remotePeer.toString()));
		for (const [other, { last }] of this.#standing) {
			if (now - last >= FIRST_LINK_KEPT_MS && !linked.has(other)) this.#standing.delete(other);
		}
		for (const other of this.#standing.keys()) {
			if (this.#standing.size < MAX_KNOWN_PEERS) break;
			if (!linked.has(other)) this.#standing.delete(other);
		}
		this.#standing.set(peerId, { first: now, last: now, cut: false });
	}

	#onSubscriptionChange = (event: CustomEvent<{ peerId: PeerId; subscriptions: { topic: string; subscribe: boolean }[] }>) => {
		if (event.detail.subscriptions.some((s) => s.topic === this.#topic && s.subscribe)) this.announceSoon();
	};

	#onMessage = (event: CustomEvent<{ type: string; topic: string; data: Uint8Array; from?: PeerId }>) => {
		const message = event.detail;
		if (message.topic !== this.#topic || message.type !== 'signed' || !message.from) return;
		const from = message.from.toString();
		if (from === this.#node.peerId.toString()) return;
		if (!this.#seal) return this.#onAnnounce(from, message.data);
		if (message.data.length > MAX_MEET_BYTES + this.#seal.overhead) return; // too big to be an announce: not even opened
		this.#seal.open(message.data).then(
			(announce) => this.#onAnnounce(from, announce),
			() => {} // not sealed with the topic's secret: an outsider's, ignored
		);
	};

	#onAnnounce(from: string, data: Uint8Array): void {
		if (this.#stopped) return;
		let addrs: string[];
		let open: boolean;
		let full: boolean;
		let intervalMs: number;
		let joining: boolean;
		try {
			const announce = decodeMeetAnnounce(data, from);
			addrs = webrtcAddrs(announce.addrs);
			open = announce.open;
			full = announce.full ?? false;
			intervalMs = (announce.intervalSeconds ?? ANNOUNCE_INTERVAL_MS / 1000) * 1000;
			joining = announce.joining ?? false;
		} catch {
			return; // malformed or forged announce: ignored
		}
		if (addrs.length === 0 || this.#shunned(from)) return;
		const heardAt = performance.now();
		const expiresAt = heardAt + Math.max(KNOWN_PEER_TTL_MS, KNOWN_PEER_MISSED_ANNOUNCES * intervalMs);
		const isNew = this.#remember(from, { addrs, open, full, heardAt, expiresAt, intervalMs });
		this.#events.onHeard?.(from);
		if (this.#isDirect(from)) {
			if (joining) void this.#probeStale(from);
			// A neighbour that needed us when it linked may be content now, and one that dialed us before
			// we heard it (a joiner, most often) only now counts as a neighbour: links past our most can go.
			this.#trim();
			return;
		}
		traceEvent('meet:heard', `${this.name}: ${shortId(from)}${full ? ' (full)' : open ? '' : ' (content)'}`);
		this.#meet(from, addrs, open, full, isNew, joining);
	}

	/** What to do about a peer we heard and hold no direct connection to: dial it, wait for its dial, or let it be. */
	#meet(from: string, addrs: string[], open: boolean, full: boolean, isNew: boolean, joining: boolean): void {
		if (!this.#wantsNeighbours()) {
			// We have our neighbours; a newcomer may still want one: let it know where we are (in a
			// large room, about ANSWERS_PER_NEWCOMER of us do). A member we simply had not heard yet
			// (in a large room, announces are minutes apart) knows the room already.
			if (isNew && joining && answersNewcomer(this.#known.size)) this.announceSoon();
			return;
		}
		if (full) return; // it takes no more neighbours: we find ours among those who do
		if (this.#node.peerId.toString() < from || !open) {
			// The smaller peer dials; so do we when the other has all the neighbours it wants.
			this.#requestDial(from, addrs, 0);
		} else if (!this.#yieldTimers.has(from)) {
			// The smaller peer dials; it may not have heard from us yet, so tell it now.
			this.announceSoon();
			this.#yieldTo(from, addrs);
		}
	}

	/**
	 * A peer we hold a direct connection to says it is joining: asks that
	 * connection for an answer (identify), and closes it when none comes
	 * within STALE_PROBE_TIMEOUT_MS. The peer is then met as any other newcomer.
	 * A peer can make us ask only about our own connections to it, one round at a time.
	 */
	async #probeStale(peerId: string): Promise<void> {
		if (this.#probing.has(peerId) || this.#stopped) return;
		// The connections held now: one made while we wait is the joiner's own.
		const held = this.#connectionsTo(peerId).filter((c) => isDirectConnection(c.remoteAddr.toString()));
		if (held.length === 0) return;
		this.#probing.add(peerId);
		const noAnswer = new AbortController();
		let timer: ReturnType<typeof setTimeout> | undefined;
		try {
			// Asked once the youngest is old enough (a reload soon after we met is still a reload).
			const wait = STALE_PROBE_MIN_AGE_MS - (Date.now() - Math.max(...held.map((c) => c.timeline.open)));
			if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
			const old = held.filter((c) => c.status === 'open');
			if (this.#stopped || old.length === 0) return;
			timer = setTimeout(() => noAnswer.abort(new Error('no answer')), STALE_PROBE_TIMEOUT_MS);
			const answered = await Promise.all(
				old.map((c) =>
					this.#node.services.identify.identify(c, { signal: noAnswer.signal }).then(
						() => true,
						() => false
					)
				)
			);
			const stale = old.filter((c, i) => !answered[i] && c.status === 'open');
			if (this.#stopped || stale.length === 0) return;
			traceEvent('meet:stale', `${this.name}: ${shortId(peerId)} is joining and our connection to it did not answer: closed`);
			for (const c of stale) c.abort(new Error('stale: the peer joined again and this connection did not answer'));
			const peer = this.#known.get(peerId);
			if (peer && !this.#isDirect(peerId)) this.#meet(peerId, peer.addrs, peer.open, peer.full, true, true);
		} finally {
			clearTimeout(timer);
			this.#probing.delete(peerId);
		}
	}

	/** Records a peer's addresses; true when we had not heard it before. */
	#remember(peerId: string, peer: KnownPeer): boolean {
		const isNew = !this.#known.has(peerId);
		this.#known.delete(peerId); // re-inserted last: the map's order is oldest first
		this.#known.set(peerId, peer);
		// Oldest heard first; a peer with a long interval may stop the sweep for a while, never for good.
		for (const [id, p] of this.#known) {
			if (this.#known.size <= MAX_KNOWN_PEERS && peer.heardAt < p.expiresAt) break;
			this.#known.delete(id);
		}
		return isNew;
	}

	/** Waits for the smaller peer's dial; dials ourselves only if none arrived and none is under way. */
	#yieldTo(peerId: string, addrs: string[]): void {
		this.#yieldTimers.set(
			peerId,
			setTimeout(() => {
				this.#yieldTimers.delete(peerId);
				if (this.#stopped || this.#isDirect(peerId) || !this.#wantsNeighbours()) return;
				// A relayed connection from that peer is its WebRTC signaling in progress: give it time.
				if (this.#hasRelayedConnection(peerId)) this.#yieldTo(peerId, addrs);
				else this.#requestDial(peerId, addrs, 0);
			}, DIAL_YIELD_MS)
		);
	}

	#requestDial(peerId: string, addrs: string[], attempt: number): void {
		if (this.#stopped || this.#dialing.has(peerId)) return;
		const queued = this.#queue.get(peerId);
		this.#queue.set(peerId, { addrs, attempt: Math.max(attempt, queued?.attempt ?? 0) });
		this.#pump();
	}

	#pump(): void {
		while (!this.#stopped && this.#dialing.size < MAX_PARALLEL_DIALS && this.#queue.size > 0) {
			const [peerId, pending] = this.#queue.entries().next().value as [string, PendingDial];
			this.#queue.delete(peerId);
			if (this.#dialable(peerId)) void this.#dial(peerId, pending);
		}
	}

	/** Whether a dial to `peerId` is still wanted: not stopped, not linked yet, we want neighbours, it takes them and is not shunned. */
	#dialable(peerId: string): boolean {
		return !this.#stopped && !this.#isDirect(peerId) && this.#wantsNeighbours() && !this.#shunned(peerId) && !this.#known.get(peerId)?.full;
	}

	#isDirect(peerId: string): boolean {
		return this.#connectionsTo(peerId).some((c) => isDirectConnection(c.remoteAddr.toString()));
	}

	#hasRelayedConnection(peerId: string): boolean {
		return this.#connectionsTo(peerId).some((c) => !isDirectConnection(c.remoteAddr.toString()));
	}

	#connectionsTo(peerId: string): Connection[] {
		return this.#node.getConnections().filter((c) => c.remotePeer.toString() === peerId && c.status === 'open');
	}

	async #dial(peerId: string, pending: PendingDial): Promise<void> {
		this.#dialing.add(peerId);
		traceEvent('meet:dial', `${shortId(peerId)} (attempt ${pending.attempt + 1})`);
		let joined = false;
		const steps = new DialSteps(peerId);
		try {
			const connection = await this.#node.dial(
				this.#toDial(pending.addrs).map((a) => multiaddr(a)),
				{ signal: AbortSignal.timeout(DIAL_TIMEOUT_MS), onProgress: steps.note }
			);
			steps.done('dial');
			if (this.#isDirect(peerId)) traceEvent('meet:dialed', shortId(peerId));
			else if (joinedRelayedDial(connection)) {
				// Dialed again at once (below), reusing that connection; once, as a lost dial is.
				joined = pending.attempt === 0;
				traceEvent('meet:dial-joined', `${shortId(peerId)}: joined a dial through the relay${joined ? '' : ' (not dialed again)'}`);
			} else {
				traceEvent('meet:dial-lost', `${shortId(peerId)}: its connection closed as it opened`);
				// Once: a peer that closes it again is full or turning us away, and its next announce says so.
				if (pending.attempt === 0) this.#retryLater(peerId, pending, true);
			}
		} catch (err) {
			steps.done('dial (failed)');
			traceEvent('meet:dial-failed', `${shortId(peerId)}: ${String(err)}`);
			if (!this.#isDirect(peerId)) {
				this.#events.onDialError(peerId, err);
				// "Remote closed connection during opening" is a lost dial too (LOST_DIAL_RETRY_MS).
				this.#retryLater(peerId, pending, pending.attempt === 0 && err instanceof Error && err.name === 'ConnectionClosedError');
			}
		} finally {
			this.#dialing.delete(peerId);
			// The redial takes the place this dial leaves, not one behind the dials queued meanwhile
			// (a joiner hears a whole room at once): its relayed connection is up now.
			if (joined && this.#dialable(peerId)) void this.#dial(peerId, { addrs: pending.addrs, attempt: pending.attempt + 1 });
			else this.#pump();
		}
	}

	/** Dials again later (after LOST_DIAL_RETRY_MS, not the backoff, when the first one's connection was `lost` as it opened). */
	#retryLater(peerId: string, pending: PendingDial, lost = false): void {
		const attempt = pending.attempt + 1;
		if (this.#stopped || attempt >= MAX_DIAL_ATTEMPTS || this.#retryTimers.has(peerId)) return;
		this.#retryTimers.set(
			peerId,
			setTimeout(() => {
				this.#retryTimers.delete(peerId);
				if (!this.#isDirect(peerId)) this.#requestDial(peerId, pending.addrs, attempt);
			}, lost && attempt === 1 ? LOST_DIAL_RETRY_MS : backoffDelay(attempt - 1))
		);
	}
}

// The steps of a dial worth timing (libp2p's progress events), by the short name the trace gives them:
// a relayed connection's hop, the relay's answer, its noise handshake; then WebRTC's signaling stream,
// SDP offer sent, answer read, ICE done.
const DIAL_STEPS: Record<string, string> = {
	'circuit-relay:open-hop-stream': 'hop',
	'circuit-relay:read-connect-response': 'relay',
	'upgrader:encrypt-outbound-connection': 'noise',
	'webrtc:open-signaling-stream': 'signal',
	'webrtc:send-sdp-offer': 'offer',
	'webrtc:read-ice-candidates': 'answer',
	'webrtc:close-signaling-stream': 'ice'
};

/** Times a dial's steps and traces them as one line ("meet:dial-steps"): where a slow first connection spends its time. */
class DialSteps {
	readonly #peerId: string;
	readonly #start = performance.now();
	readonly #steps: string[] = [];

	constructor(peerId: string) {
		this.#peerId = peerId;
	}

	readonly note = (event: { type: string }): void => {
		const name = DIAL_STEPS[event.type];
		if (name) this.#steps.push(`${name} ${Math.round(performance.now() - this.#start)}`);
	};

	/** Traces the steps, when the dial took any worth timing (not one that found a connection). */
	done(what: string): void {
		if (this.#steps.length > 0) traceEvent('meet:dial-steps', `${what} ${shortId(this.#peerId)}: ${this.#steps.join(', ')}, done ${Math.round(performance.now() - this.#start)} ms`);
	}
}
