/* eslint-disable svelte/prefer-svelte-reactivity -- the private Sets and Maps are
   bookkeeping the UI never reads; what it reads is copied into $state fields. */
/**
 * What the UI knows about the network, as runes, and the actions it may call.
 * libp2p lives in a private field and is loaded with a dynamic import only
 * when `preload()` or `start()` runs: never for the home screen alone, which
 * reads the hallway from the relays over HTTP (see AppState.connect).
 */
import type { Connection, PrivateKey, Stream } from '@libp2p/interface';
import { traceEvent } from '../diagnostics/trace';
import { relayRetryDelay } from './backoff';
import { distinctRelays, MAX_RELAYS, RelayRace, relayKey } from './relay-choice';
import { isDirectConnection } from './connection-kind';
import type { StanzaNode } from './libp2p-node';
import { parseConfiguredRelays } from './relay-address';
import { discoverRelays } from './relay-discovery';
import { myRelays } from './my-relays.svelte';
import { parseIceServers } from './ice-servers';
import type { TopicMeeting } from './topic-meeting';

/**
 * 'idle': not started (nothing has needed the network yet); 'offline': started, and failed or stopped;
 * 'elsewhere': another tab of this device holds the network (tab-lease.ts).
 */
export type NetStatus = 'idle' | 'offline' | 'connecting' | 'online' | 'elsewhere';

export interface PeerView {
	id: string;
	name: string;
}

export type Greeting = ({ ok: true; name: string; rttMs: number } | { ok: false; error: string }) & { at: number };

export interface NetIdentity {
	privateKey: PrivateKey;
	/** Read at each hello, so a rename reaches peers without a restart. */
	name(): string;
}

// While connected to a relay without a reservation, look for it this often (a local list:
// polling it costs nothing measurable, and every ms here delays meeting anyone).
const RESERVATION_POLL_MS = 20;
// The diagnostic "meet peers" panel connects to everyone on its topic, up to this many.
const MEET_PANEL_NEIGHBOURS = 32;
// A relay dial that has not completed in 10 s is retried with backoff instead.
const RELAY_DIAL_TIMEOUT_MS = 10_000;

export class NetState {
	status = $state<NetStatus>('idle');
	relayCount = $state(0);
	reserved = $state(false);
	/** When the next relay attempt happens (epoch ms), while retrying. */
	retryAt = $state<number | null>(null);
	lastError = $state<string | null>(null);
	peerId = $state<string | null>(null);
	directPeers = $state<PeerView[]>([]);
	meetingTopic = $state<string | null>(null);
	greetings = $state<Record<string, Greeting>>({});

	#node: StanzaNode | null = null;
	#nodeReady = Promise.withResolvers<StanzaNode>();
	#libp2p: Promise<typeof import('./libp2p-node')> | null = null;

	/**
	 * Starts downloading libp2p without starting it: for a screen that will need it (a room link),
	 * called before that screen is hydrated, so the download overlaps with it.
	 */
	preload(): Promise<typeof import('./libp2p-node')> {
		if (!this.#libp2p) {
			this.#libp2p = import('./libp2p-node');
			this.#libp2p.catch(() => {}); // consumed (and reported) by start()
		}
		return this.#libp2p;
	}
	#identity: NetIdentity | null = null;
	/** The relays dialled at the last connect (found and added). */
	relayAddrs = $state<string[]>([]);
	/** PeerIds of the relays connected now. */
	connectedRelays = $state<string[]>([]);
	#relayPeers = new Set<string>();
	#names = new Map<string, string>();
	#meeting: TopicMeeting | null = null;
	#pendingDiscovery: Promise<string[]> | null = null;
	#attempt = 0;
	#retryTimer: ReturnType<typeof setTimeout> | undefined;
	#pollTimer: ReturnType<typeof setInterval> | undefined;
	#connecting = false;
	#stopped = false;
	/** Others that vouch for peers connected to us: the rooms open here (vouch()). */
	readonly #vouchers = new Set<(peerId: string) => boolean>();

	/**
	 * Adds a judge of which peers connected to us are no strangers (stranger-guard.ts): the rooms
	 * open on the node say so of their members. Our relays and the Meet panel's peers always are.
	 */
	vouch(knows: (peerId: string) => boolean): void {
		this.#vouchers.add(knows);
	}

	/** A relay we dialed (its PeerId is known from its address before the dial ends), a peer met, or one a room knows. */
	readonly #vouched = (peerId: string): boolean => {
		if (this.#relayPeers.has(peerId) || this.relayAddrs.some((addr) => addr.endsWith(`/p2p/${peerId}`))) return true;
		if (this.#meeting?.knows(peerId)) return true;
		for (const knows of this.#vouchers) if (knows(peerId)) return true;
		return false;
	};

	/**
	 * Starts libp2p and connects to the relays; never throws (errors show as
	 * state). Takes the identity as a promise so that loading libp2p and asking
	 * the relay for its address overlap with reading the key from IndexedDB.
	 */
	async start(identity: Promise<NetIdentity>): Promise<void> {
		if (this.#node || this.#connecting) return;
		this.#stopped = false;
		this.status = 'connecting';
		markOnce('stanza:net-start');
		// relaysFound() may have asked already (the hallway, before the app started): one discovery serves both.
		this.#pendingDiscovery ??= this.#discover();
		this.#pendingDiscovery.catch(() => {}); // consumed (and reported) by #connectRelays
		let made: StanzaNode | undefined;
		try {
			// hello-protocol (and the stream helpers it brings) loads with libp2p, not with the first screen.
			const [{ createStanzaNode }, id, { HELLO_PROTOCOL }] = await Promise.all([this.preload(), identity, import('./hello-protocol')]);
			this.#identity = id;
			markOnce('stanza:libp2p-loaded');
			const node = await createStanzaNode({
				privateKey: id.privateKey,
				iceServers: configuredIceServers(),
				pageProtocol: location.protocol,
				vouched: this.#vouched
			});
			made = node;
			await node.handle(HELLO_PROTOCOL, (stream: Stream, connection: Connection) => this.#answerHello(stream, connection), {
				maxInboundStreams: 4
			});
			node.addEventListener('connection:open', this.#onConnectionChange);
			node.addEventListener('connection:close', this.#onConnectionChange);
			await node.start();
			markOnce('stanza:node-started');
			if (this.#stopped) {
				await node.stop();
				return;
			}
			this.#node = node;
			this.peerId = node.peerId.toString();
			this.#nodeReady.resolve(node);
		} catch (err) {
			this.status = 'offline';
			this.lastError = describe(err);
			// Made but not taken into use (a protocol it would not take, say): stopped, not left running unseen.
			if (made && this.#node !== made) await Promise.resolve(made.stop()).catch(() => {});
			return;
		}
		await this.#connectRelays();
	}

	/**
	 * The relays the app will dial first (found and added), as soon as they are known: before libp2p
	 * is up, so that what relays serve over HTTP (the hallway's cache) can be read at once. [] when
	 * none is found.
	 */
	relaysFound(): Promise<string[]> {
		this.#pendingDiscovery ??= this.#discover();
		return this.#pendingDiscovery.catch(() => []);
	}

	/**
	 * The running libp2p node, for other lib modules (rooms, audio) that speak
	 * their own protocols over it. Components never call this.
	 */
	node(): Promise<StanzaNode> {
		return this.#nodeReady.promise;
	}

	/** Joins a topic: peers on it find each other and connect directly. */
	async meet(topic: string): Promise<void> {
		const node = this.#node;
		const name = topic.trim();
		if (!node || name === '' || name === this.meetingTopic) return;
		this.#meeting?.leave();
		const { TopicMeeting } = await import('./topic-meeting');
		this.#meeting = new TopicMeeting(node, name, {
			onDialError: (peerId, err) => {
				this.lastError = `could not reach ${short(peerId)} directly: ${describe(err)}`;
			}
		}, { targetNeighbours: MEET_PANEL_NEIGHBOURS });
		this.meetingTopic = name;
		await this.#meeting.join();
	}

	/** Says hello to a peer over a direct connection; the result lands in `greetings`. */
	async greet(peerId: string): Promise<void> {
		const node = this.#node;
		if (!node || !this.#identity) return;
		const started = performance.now();
		try {
			const { peerIdFromString } = await import('@libp2p/peer-id');
			const { HELLO_PROTOCOL, HELLO_TIMEOUT_MS, sayHello } = await import('./hello-protocol');
			const signal = AbortSignal.timeout(HELLO_TIMEOUT_MS);
			const stream = await node.dialProtocol(peerIdFromString(peerId), HELLO_PROTOCOL, { signal });
			const answer = await sayHello(stream, this.#identity.name(), signal);
			this.#names.set(peerId, answer.name);
			this.greetings[peerId] = { ok: true, name: answer.name, rttMs: Math.round(performance.now() - started), at: Date.now() };
			this.#refresh();
		} catch (err) {
			this.greetings[peerId] = { ok: false, error: describe(err), at: Date.now() };
		}
	}

	/**
	 * Another tab of this device took the network over (tab-lease.ts): this page is about to reload,
	 * and must not say goodbye for the PeerId that lives on in that tab.
	 */
	handedOver = false;

	/** Another tab holds the network: this one does not start it (until it holds it), and says so. */
	heldElsewhere(): void {
		if (this.status === 'idle') this.status = 'elsewhere';
	}

	async stop(): Promise<void> {
		this.#stopped = true;
		clearTimeout(this.#retryTimer);
		clearInterval(this.#pollTimer);
		this.#meeting?.leave();
		this.#meeting = null;
		const node = this.#node;
		this.#node = null;
		this.status = 'offline';
		try {
			await node?.stop();
		} catch {
			// Stopping is best effort: the page is going away or restarting.
		}
	}

	/**
	 * Dials the relays it knows, raced: the first MAX_RELAYS to answer are kept
	 * (with those already connected counted first), any later one is hung up
	 * on. Called at start, to reconnect, and to top up after one is lost.
	 */
	async #connectRelays(): Promise<void> {
		const node = this.#node;
		if (!node || this.#connecting || this.#stopped) return;
		this.#connecting = true;
		if (this.relayCount === 0) this.status = 'connecting';
		this.retryAt = null;
		try {
			const discovery = this.#pendingDiscovery ?? this.#discover();
			this.#pendingDiscovery = null;
			const [{ multiaddr }, relayAddrs] = await Promise.all([import('@multiformats/multiaddr'), discovery]);
			this.relayAddrs = relayAddrs;
			const race = new RelayRace(this.#openRelays(node));
			const results = await Promise.allSettled(
				this.relayAddrs.map(async (addr) => {
					if (race.full && !race.kept.has(relayKey(addr))) return;
					const connection = await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(RELAY_DIAL_TIMEOUT_MS) });
					const peer = connection.remotePeer.toString();
					this.#relayPeers.add(peer);
					if (!race.answered(peer)) await node.hangUp(connection.remotePeer).catch(() => {});
				})
			);
			const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
			if (race.kept.size === 0) throw failed?.reason ?? new Error('no relay configured');
			// Backing off continues while a relay that could fill the gap keeps failing.
			if (race.full || race.kept.size >= distinctRelays(this.relayAddrs)) this.#attempt = 0;
			this.lastError = null;
		} catch (err) {
			this.lastError = `relay unreachable: ${describe(err)}`;
		} finally {
			this.#connecting = false;
			this.#refresh();
			if (this.#wantsMoreRelays()) this.#scheduleRetry();
		}
	}

	/** Each relay address known, and whether the app is on that relay now (Settings lists them). */
	get relays(): { addr: string; connected: boolean }[] {
		return this.relayAddrs.map((addr) => ({ addr, connected: this.connectedRelays.includes(relayKey(addr)) }));
	}

	/** Relays with an open connection now. */
	#openRelays(node: StanzaNode): Set<string> {
		return new Set(
			node
				.getConnections()
				.filter((c) => c.status === 'open' && this.#relayPeers.has(c.remotePeer.toString()))
				.map((c) => c.remotePeer.toString())
		);
	}

	/** Fewer relays connected than wanted, and more known: worth another round (after the backoff). */
	#wantsMoreRelays(): boolean {
		if (!this.#node || this.#stopped || this.#connecting || this.retryAt !== null) return false;
		return this.relayCount < Math.min(MAX_RELAYS, Math.max(1, distinctRelays(this.relayAddrs)));
	}

	/** The relays the app finds (relay-discovery.ts) and the ones the person added (Settings); either is enough. */
	async #discover(): Promise<string[]> {
		const mine = myRelays.addresses();
		try {
			const found = await discoverRelays(
				import.meta.env.VITE_STANZA_RELAY_ORIGIN || location.origin,
				parseConfiguredRelays(import.meta.env.VITE_STANZA_RELAYS),
				fetch,
				location.href
			);
			return [...new Set([...found, ...mine])];
		} catch (err) {
			if (mine.length > 0) return mine;
			throw err;
		}
	}

	#scheduleRetry(): void {
		if (this.#stopped) return;
		clearTimeout(this.#retryTimer);
		const delay = relayRetryDelay(this.#attempt++);
		this.retryAt = Date.now() + delay;
		this.#retryTimer = setTimeout(() => void this.#connectRelays(), delay);
	}

	#onConnectionChange = (event: CustomEvent<Connection>) => {
		const connection = event.detail;
		if (this.#relayPeers.has(connection.remotePeer.toString())) traceEvent(`net:relay-${event.type === 'connection:open' ? 'open' : 'closed'}`, connection.remoteAddr.toString());
		this.#refresh();
		if (this.#wantsMoreRelays()) {
			if (this.relayCount === 0) this.lastError = 'lost the relay';
			this.#scheduleRetry();
		}
	};

	#refresh(): void {
		const node = this.#node;
		if (!node) return;
		const open = node.getConnections().filter((c) => c.status === 'open');
		const relays = this.#openRelays(node);
		this.relayCount = relays.size;
		if ([...relays].sort().join() !== this.connectedRelays.join()) this.connectedRelays = [...relays].sort();
		const direct = new Set(open.filter((c) => isDirectConnection(c.remoteAddr.toString())).map((c) => c.remotePeer.toString()));
		for (const id of direct) {
			if (!this.#names.has(id)) {
				this.#names.set(id, '');
				void this.greet(id);
			}
		}
		this.directPeers = [...direct].sort().map((id) => ({ id, name: this.#names.get(id) ?? '' }));
		if (direct.size > 0) markOnce('stanza:direct');
		if (this.relayCount > 0) {
			markOnce('stanza:relay');
			this.status = 'online';
		}
		else if (this.status === 'online') this.status = 'connecting';
		this.#updateReservation();
	}

	#updateReservation(): void {
		const node = this.#node;
		if (!node) return;
		const reserved = this.relayCount > 0 && node.getMultiaddrs().some((m) => m.toString().includes('/p2p-circuit'));
		if (reserved !== this.reserved) {
			this.reserved = reserved;
			traceEvent(reserved ? 'net:reserved' : 'net:reservation-lost');
			if (reserved) markOnce('stanza:reserved');
			if (reserved) this.#meeting?.announceSoon();
		}
		const shouldPoll = this.relayCount > 0 && !reserved;
		if (shouldPoll && this.#pollTimer === undefined) {
			this.#pollTimer = setInterval(() => this.#updateReservation(), RESERVATION_POLL_MS);
		} else if (!shouldPoll && this.#pollTimer !== undefined) {
			clearInterval(this.#pollTimer);
			this.#pollTimer = undefined;
		}
	}

	async #answerHello(stream: Stream, connection: Connection): Promise<void> {
		const { answerHello } = await import('./hello-protocol');
		await answerHello(stream, connection, () => this.#identity?.name() ?? '', (peerId, name) => {
			this.#names.set(peerId, name);
			this.#refresh();
		});
	}
}

/** The build's ICE servers; a malformed setting is reported once and ignored rather than breaking the app. */
export function configuredIceServers(): RTCIceServer[] {
	try {
		return parseIceServers(import.meta.env.VITE_STANZA_ICE_SERVERS);
	} catch (err) {
		console.warn(String(err));
		return [];
	}
}

/**
 * Milestones on the page's performance timeline (relative to navigation
 * start), read by `npm run bench:net`; harmless and cheap otherwise.
 */
function markOnce(name: string): void {
	if (performance.getEntriesByName(name).length === 0) performance.mark(name);
}

function describe(err: unknown): string {
	return err instanceof Error ? err.message || err.name : String(err);
}

function short(peerId: string): string {
	return `…${peerId.slice(-6)}`;
}
