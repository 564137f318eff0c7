// @ts-check
/**
 * Per-peer limits on the gossip the relay forwards.
 *
 * In Stanza's star every browser publishes through the relay, which forwards
 * to every other member of the room. Gossipsub forwards whatever a
 * subscribed topic carries: one peer publishing 5,200 messages of 60 KB in
 * 20 s had all of them delivered, and the relay's own HTTP answers slowed
 * from 1.8 ms to 161 ms. Here every message passes a validator that
 *
 *  - rejects a message larger than `maxMessage` bytes;
 *  - drops (ignores) a message once its sender is over its rate: a token
 *    bucket per peer in messages and one in bytes, each refilled at the
 *    sustained rate and holding `BURST_SECONDS` worth.
 *
 * And the peers behind one client IP share a second pair of buckets
 * (`ipMessageRate`, `ipByteRate`): peer ids cost nothing, so one IP with 32
 * WebSockets and 32 identities, each at its own rate, had 32 times the rate
 * forwarded to every member of a room and to every federated relay. Messages
 * over the IP's rate are dropped without a strike (an honest peer may share
 * its IP with a flooder, behind a NAT); each peer's own rate still strikes.
 *
 * Rate-limited messages are ignored rather than rejected: a burst from an
 * honest peer should not count against its gossipsub score. The validator is
 * synchronous and O(1), as gossipsub asks of validators.
 *
 * A peer that keeps sending at more than twice its rate is hung up on: its
 * dropped messages pass a second pair of buckets of the same size ("strikes"),
 * and when those are empty too the relay closes its connection
 * (`gossip_flood`). Dropping is not enough: every dropped message has been
 * received, decrypted and decoded first, and a flood of 60 KB messages kept
 * the relay's CPU busy and honest pings slow for as long as it lasted. The
 * strikes outlive the connection (they refill at the peer's rate), so a
 * flooder that reconnects and floods again is hung up at once. An honest
 * peer, at most a burst above its rate, never strikes out.
 *
 * `TokenBuckets` reads no clock: time is passed in, so its spec is exact.
 */

import { MAX_SUBSCRIPTIONS_PER_FRAME } from './config.js';

/** @typedef {import('@libp2p/interface').PeerId} PeerId */

/** Buckets hold 4 s of the sustained rate: a peer joining a room publishes presence and a few edits at once. */
export const BURST_SECONDS = 4;

/** gossipsub's validator results (its TopicValidatorResult enum). */
const ACCEPT = 'accept';
const IGNORE = 'ignore';
const REJECT = 'reject';

/**
 * Two token buckets per key, one counted in messages and one in bytes; a
 * message passes only if both have room, and then takes from both.
 */
export class TokenBuckets {
	#messageRate;
	#byteRate;
	#messageBurst;
	#byteBurst;
	/** @type {Map<string, { messages: number, bytes: number, at: number }>} */
	#buckets = new Map();

	/**
	 * @param {{ messageRate: number, byteRate: number, maxMessageBytes: number, burstSeconds?: number }} rates
	 *   per second; the byte bucket always holds at least one largest message; buckets hold
	 *   `burstSeconds` (default BURST_SECONDS) of the rate
	 */
	constructor({ messageRate, byteRate, maxMessageBytes, burstSeconds = BURST_SECONDS }) {
		this.#messageRate = messageRate;
		this.#byteRate = byteRate;
		this.#messageBurst = Math.max(1, messageRate * burstSeconds);
		this.#byteBurst = Math.max(maxMessageBytes, byteRate * burstSeconds);
	}

	/**
	 * @param {string} key
	 * @param {number} bytes size of the message
	 * @param {number} nowMs
	 * @returns {boolean} true if the message may pass (and was counted)
	 */
	take(key, bytes, nowMs) {
		let bucket = this.#buckets.get(key);
		if (!bucket) {
			bucket = { messages: this.#messageBurst, bytes: this.#byteBurst, at: nowMs };
			this.#buckets.set(key, bucket);
		}
		const elapsed = Math.max(0, nowMs - bucket.at) / 1000;
		bucket.at = Math.max(bucket.at, nowMs);
		bucket.messages = Math.min(this.#messageBurst, bucket.messages + elapsed * this.#messageRate);
		bucket.bytes = Math.min(this.#byteBurst, bucket.bytes + elapsed * this.#byteRate);
		if (bucket.messages < 1 || bucket.bytes < bytes) return false;
		bucket.messages -= 1;
		bucket.bytes -= bytes;
		return true;
	}

	/**
	 * Drops the buckets that have refilled by `nowMs`: a full bucket is the
	 * same as none, so this changes no answer, only memory (keys that are
	 * not peers, such as client IPs, never "leave").
	 *
	 * @param {number} nowMs
	 */
	prune(nowMs) {
		for (const [key, bucket] of this.#buckets) {
			const elapsed = Math.max(0, nowMs - bucket.at) / 1000;
			const full =
				bucket.messages + elapsed * this.#messageRate >= this.#messageBurst && bucket.bytes + elapsed * this.#byteRate >= this.#byteBurst;
			if (full) this.#buckets.delete(key);
		}
	}

	/** @param {string} key a peer that left: its state goes with it */
	forget(key) {
		this.#buckets.delete(key);
	}

	/** @param {string} key whether `key` has state (took from its buckets since they were last full) */
	has(key) {
		return this.#buckets.has(key);
	}

	/** Keys with state (tests: proves nothing accumulates). */
	get size() {
		return this.#buckets.size;
	}
}

/**
 * One gossip frame (RPC) as gossipsub decoded it, before it checks any signature.
 *
 * @typedef {{ subscriptions?: Array<{ topic?: string, subscribe?: boolean }>, messages?: Array<{ data?: Uint8Array, topic: string }> }} Frame
 */

/**
 * The parts of gossipsub used here: its validator table (after signatures are checked), the
 * method that takes each decoded frame (before), and the score's note of a message that failed
 * gossipsub's own checks (a bad signature, a malformed sender or sequence number).
 *
 * @typedef {object} LimitedPubSub
 * @property {Map<string, (peer: PeerId, message: { data?: Uint8Array, topic: string }) => string | Promise<string>>} topicValidators
 * @property {(from: PeerId, rpc: Frame) => Promise<void>} handleReceivedRpc
 * @property {{ rejectInvalidMessage: (from: string, topic: string) => void }} score
 */

/**
 * @typedef {object} LimitNetwork
 * @property {(type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void) => void} addEventListener
 * @property {(type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void) => void} removeEventListener
 * @property {(peer: PeerId) => Promise<void>} hangUp
 */

/** Strike state kept for at most this many peers between prunes (a flooder's lasts while it refills). */
const MAX_STRIKE_KEYS = 1024;
/** Per-IP buckets kept between prunes (an IP never "leaves"; refilled buckets are dropped past this). */
const MAX_IP_KEYS = 4096;

/**
 * Installs the limits as the validator of every topic. gossipsub looks
 * validators up per topic with `topicValidators.get(topic)`; the relay
 * mirrors topics it cannot list in advance, so the lookup itself answers
 * with the limiter (a validator set for a topic explicitly runs after it).
 *
 * gossipsub checks a message's signature before any validator runs, and a
 * message whose signature fails never reaches one: sent fast, such messages
 * cost the relay a signature check each and counted against nothing. So two
 * more hooks sit in front of the signature checks. Every decoded frame passes
 * `handleReceivedRpc` first, where a browser's subscriptions beyond
 * `maxSubscriptionsPerFrame` are cut off and the messages of a peer being hung
 * up are dropped unchecked; and every message gossipsub finds invalid (its
 * `score.rejectInvalidMessage`) is a strike, so a peer sending them, which no
 * honest peer does, is hung up once its strikes are gone, as a flooder is. How
 * many messages one frame may carry is gossipsub's decode limit (libp2p-node.js).
 *
 * @param {{ pubsub: unknown, network: LimitNetwork, maxMessageBytes: number, messageRate: number, byteRate: number,
 *   ipOf?: (peer: PeerId) => string | null, ipMessageRate?: number, ipByteRate?: number,
 *   refuse: (limit: 'gossip_message_size' | 'gossip_rate' | 'gossip_ip_rate' | 'gossip_flood' | 'gossip_invalid' | 'subscriptions_per_frame', ip?: string) => void,
 *   accepted: (bytes: number) => void, now?: () => number, unmetered?: (peer: string) => boolean, maxSubscriptionsPerFrame?: number }} options
 *   `accepted` is told the size of each message let through (metrics); `unmetered` names peers
 *   exempt from the rates and the frame limits, never from the size limit (federated relays: federation.js);
 *   `ipOf`: the client IP behind a peer's connection (null: none known, no IP limit), whose peers share
 *   `ipMessageRate` and `ipByteRate` (default: unlimited)
 * @returns {{ buckets: TokenBuckets, strikes: TokenBuckets, ipBuckets: TokenBuckets, stop: () => void }}
 */
export function limitGossip({
	pubsub,
	network,
	maxMessageBytes,
	messageRate,
	byteRate,
	refuse,
	accepted,
	now = Date.now,
	unmetered = () => false,
	maxSubscriptionsPerFrame = MAX_SUBSCRIPTIONS_PER_FRAME,
	ipOf = () => null,
	ipMessageRate = Number.MAX_SAFE_INTEGER,
	ipByteRate = Number.MAX_SAFE_INTEGER
}) {
	const gossip = /** @type {LimitedPubSub} */ (pubsub);
	const validators = gossip.topicValidators;
	if (!(validators instanceof Map)) throw new Error('gossipsub has no topicValidators map: cannot limit gossip');
	if (typeof gossip.handleReceivedRpc !== 'function' || typeof gossip.score?.rejectInvalidMessage !== 'function') {
		throw new Error('gossipsub has no handleReceivedRpc or score.rejectInvalidMessage: cannot limit gossip before signatures are checked');
	}
	const buckets = new TokenBuckets({ messageRate, byteRate, maxMessageBytes });
	const strikes = new TokenBuckets({ messageRate, byteRate, maxMessageBytes });
	const ipBuckets = new TokenBuckets({ messageRate: ipMessageRate, byteRate: ipByteRate, maxMessageBytes });
	/** Peers hung up on and not yet gone (their queued messages are still validated). */
	const hangingUp = new Set();
	/** @type {Map<string, PeerId>} peers that have sent messages, until they leave: who to hang up on when gossipsub names one invalid */
	const senders = new Map();
	const explicitGet = validators.get;
	const handleFrame = gossip.handleReceivedRpc;
	const rejectInvalid = gossip.score.rejectInvalidMessage;

	/**
	 * Takes a strike; hangs up on the peer once its strikes are gone.
	 *
	 * @param {PeerId} peer
	 * @param {number} bytes
	 */
	const strike = (peer, bytes) => {
		const key = peer.toString();
		if (strikes.size > MAX_STRIKE_KEYS) strikes.prune(now());
		if (!strikes.take(key, bytes, now()) && !hangingUp.has(key)) {
			hangingUp.add(key);
			refuse('gossip_flood');
			network.hangUp(peer).catch(() => {});
		}
	};

	/** @type {(peer: PeerId, message: { data?: Uint8Array, topic: string }) => string | Promise<string>} */
	const limiter = (peer, message) => {
		const bytes = message.data?.length ?? 0;
		if (bytes > maxMessageBytes) {
			refuse('gossip_message_size');
			return REJECT;
		}
		const key = peer.toString();
		if (!unmetered(key)) {
			if (!buckets.take(key, bytes, now())) {
				refuse('gossip_rate');
				strike(peer, bytes);
				return IGNORE;
			}
			const ip = ipOf(peer);
			if (ip !== null) {
				if (ipBuckets.size > MAX_IP_KEYS) ipBuckets.prune(now());
				if (!ipBuckets.take(ip, bytes, now())) {
					refuse('gossip_ip_rate', ip);
					return IGNORE;
				}
			}
		}
		const explicit = explicitGet.call(validators, message.topic);
		if (explicit) return explicit(peer, message);
		accepted(bytes);
		return ACCEPT;
	};

	/**
	 * Every decoded frame, before gossipsub reads its subscriptions or checks a signature.
	 *
	 * @param {PeerId} from
	 * @param {Frame} rpc
	 */
	gossip.handleReceivedRpc = (from, rpc) => {
		const key = from.toString();
		if (unmetered(key)) return handleFrame.call(gossip, from, rpc);
		let frame = rpc;
		if (rpc.subscriptions && rpc.subscriptions.length > maxSubscriptionsPerFrame) {
			refuse('subscriptions_per_frame');
			frame = { ...frame, subscriptions: rpc.subscriptions.slice(0, maxSubscriptionsPerFrame) };
		}
		if (rpc.messages && rpc.messages.length > 0) {
			if (hangingUp.has(key)) {
				for (let i = 0; i < rpc.messages.length; i++) refuse('gossip_rate');
				frame = { ...frame, messages: [] };
			} else senders.set(key, from);
		}
		return handleFrame.call(gossip, from, frame);
	};

	/**
	 * @param {string} from
	 * @param {string} topic
	 */
	gossip.score.rejectInvalidMessage = (from, topic) => {
		rejectInvalid.call(gossip.score, from, topic);
		refuse('gossip_invalid');
		const peer = senders.get(from);
		if (peer && !unmetered(from)) strike(peer, 0);
	};

	validators.get = (topic) => (typeof topic === 'string' ? limiter : explicitGet.call(validators, topic));

	/** @param {CustomEvent<PeerId>} event */
	const onPeerDisconnect = (event) => {
		const key = event.detail.toString();
		hangingUp.delete(key);
		senders.delete(key);
		// A peer that struck keeps its empty bucket: reconnecting must not buy a flooder a fresh burst.
		if (strikes.has(key)) {
			if (buckets.size > MAX_STRIKE_KEYS) buckets.prune(now());
		} else buckets.forget(key);
	};
	network.addEventListener('peer:disconnect', onPeerDisconnect);

	let stopped = false;
	return {
		buckets,
		strikes,
		ipBuckets,
		stop() {
			if (stopped) return;
			stopped = true;
			network.removeEventListener('peer:disconnect', onPeerDisconnect);
			validators.get = explicitGet;
			gossip.handleReceivedRpc = handleFrame;
			gossip.score.rejectInvalidMessage = rejectInvalid;
		}
	};
}
