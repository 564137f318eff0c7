/**
 * Peers subscribed to the same topic find each other and connect directly.
 * Each announces its WebRTC circuit addresses on the topic (see
 * meet-protocol.ts) when it joins, when a new subscriber appears, when its own
 * addresses change, and every ANNOUNCE_INTERVAL_MS as a safety net. On an
 * announce from a peer it is not directly connected to, the peer with the
 * smaller PeerId dials at once; the other announces itself again (the smaller
 * may not have heard it yet) and dials too only if still unconnected after
 * DIAL_YIELD_MS, so two peers rarely race two connections.
 */
import type { PeerId } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { isDirectConnection } from './connection-kind';
import type { StanzaNode } from './libp2p-node';
import { decodeMeetAnnounce, encodeMeetAnnounce, meetTopicFor, webrtcAddrs } from './meet-protocol';

// 15 s: a safety net only; announces are event-driven, so a shorter interval only adds traffic.
const ANNOUNCE_INTERVAL_MS = 15_000;
// Coalesces bursts of new subscribers into one announce, without delaying a first meeting much.
const ANNOUNCE_THROTTLE_MS = 20;
// Long enough for the smaller peer's dial (~260 ms on loopback, more over the internet) to land.
const DIAL_YIELD_MS = 3_000;
// A WebRTC dial through a relay that has not connected in 20 s will not.
const DIAL_TIMEOUT_MS = 20_000;

export interface MeetingEvents {
	onDialError(peerId: string, error: unknown): void;
}

export class TopicMeeting {
	readonly name: string;
	readonly #node: StanzaNode;
	readonly #events: MeetingEvents;
	#topic: string | null = null;
	#interval: ReturnType<typeof setInterval> | undefined;
	#throttle: ReturnType<typeof setTimeout> | undefined;
	readonly #dialing = new Set<string>();
	readonly #yieldTimers = new Map<string, ReturnType<typeof setTimeout>>();
	#stopped = false;

	constructor(node: StanzaNode, name: string, events: MeetingEvents) {
		this.#node = node;
		this.name = name;
		this.#events = events;
	}

	async join(): Promise<void> {
		const topic = await meetTopicFor(this.name);
		if (this.#stopped) return;
		this.#topic = topic;
		const pubsub = this.#node.services.pubsub;
		pubsub.addEventListener('message', this.#onMessage);
		pubsub.addEventListener('subscription-change', this.#onSubscriptionChange);
		pubsub.subscribe(topic);
		this.#interval = setInterval(() => this.announceSoon(), ANNOUNCE_INTERVAL_MS);
		this.announceSoon();
	}

	leave(): void {
		this.#stopped = true;
		clearInterval(this.#interval);
		clearTimeout(this.#throttle);
		for (const t of this.#yieldTimers.values()) clearTimeout(t);
		const pubsub = this.#node.services.pubsub;
		pubsub.removeEventListener('message', this.#onMessage);
		pubsub.removeEventListener('subscription-change', this.#onSubscriptionChange);
		if (this.#topic) pubsub.unsubscribe(this.#topic);
	}

	/** Announces our addresses shortly (coalesced). Safe to call often. */
	announceSoon(): void {
		if (this.#stopped || this.#throttle !== undefined) return;
		this.#throttle = setTimeout(() => {
			this.#throttle = undefined;
			void this.#announce();
		}, ANNOUNCE_THROTTLE_MS);
	}

	async #announce(): Promise<void> {
		if (!this.#topic || this.#stopped) return;
		const addrs = webrtcAddrs(this.#node.getMultiaddrs().map((m) => m.toString()));
		if (addrs.length === 0) return; // no reservation yet: announced again once there is one
		try {
			await this.#node.services.pubsub.publish(this.#topic, encodeMeetAnnounce({ addrs }));
		} catch {
			// No reachable subscriber right now; the next trigger announces again.
		}
	}

	#onSubscriptionChange = (event: CustomEvent<{ peerId: PeerId; subscriptions: { topic: string; subscribe: boolean }[] }>) => {
		if (event.detail.subscriptions.some((s) => s.topic === this.#topic && s.subscribe)) this.announceSoon();
	};

	#onMessage = (event: CustomEvent<{ type: string; topic: string; data: Uint8Array; from?: PeerId }>) => {
		const message = event.detail;
		if (message.topic !== this.#topic || message.type !== 'signed' || !message.from) return;
		const from = message.from.toString();
		if (from === this.#node.peerId.toString()) return;
		let addrs: string[];
		try {
			addrs = webrtcAddrs(decodeMeetAnnounce(message.data, from).addrs);
		} catch {
			return; // malformed or forged announce: ignored
		}
		if (addrs.length === 0 || this.#isDirect(from)) return;
		if (this.#node.peerId.toString() < from) {
			void this.#dial(from, addrs);
		} else if (!this.#yieldTimers.has(from)) {
			// The smaller peer dials; it may not have heard from us yet, so tell it now.
			this.announceSoon();
			this.#yieldTimers.set(
				from,
				setTimeout(() => {
					this.#yieldTimers.delete(from);
					if (!this.#isDirect(from)) void this.#dial(from, addrs);
				}, DIAL_YIELD_MS)
			);
		}
	};

	#isDirect(peerId: string): boolean {
		return this.#node
			.getConnections()
			.some((c) => c.remotePeer.toString() === peerId && c.status === 'open' && isDirectConnection(c.remoteAddr.toString()));
	}

	async #dial(peerId: string, addrs: string[]): Promise<void> {
		if (this.#dialing.has(peerId) || this.#stopped) return;
		this.#dialing.add(peerId);
		try {
			await this.#node.dial(
				addrs.map((a) => multiaddr(a)),
				{ signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }
			);
		} catch (err) {
			if (!this.#isDirect(peerId)) this.#events.onDialError(peerId, err);
		} finally {
			this.#dialing.delete(peerId);
		}
	}
}
