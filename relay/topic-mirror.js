// @ts-check
/**
 * Mirrors the gossipsub subscriptions of connected peers onto the relay.
 *
 * Gossipsub only forwards messages on topics a node itself subscribes to. In a
 * star (browsers connected only to the relay) nothing would flow between
 * browsers unless the relay subscribed too, so it joins every `stanza/…`
 * topic that a connected peer joins, and leaves it `graceMs` after no
 * connected peer is left on it. The relay never reads the messages: apps
 * encrypt them, and gossipsub forwards them on its own once subscribed.
 *
 * Every join and leave of the relay is announced to every connected peer, so
 * the relay joins and leaves sparingly. It stays on a topic for `graceMs`
 * after its last peer left (a peer that comes back meanwhile costs nothing):
 * leaving at once let one gossip frame of 5,000 alternating subscribe and
 * unsubscribe entries make the relay join and leave 5,000 times. And the
 * peers behind one client IP may make it join new topics only at
 * `newTopicRate` a second (in bursts of `newTopicBurstSeconds` of it).
 *
 * Three caps: `maxTopics` in all, `maxTopicsPerPeer` topics that any one
 * peer's subscriptions may keep mirrored, and `maxTopicsPerIp` topics the
 * peers behind one client IP may. Without the second, one connection
 * subscribing to thousands of junk topics filled the global cap and the
 * relay stopped carrying new rooms for everyone; without the third, peer ids
 * cost nothing, and a few addresses filled it with many peers. A topic in its
 * grace period counts against `maxTopics` only until a new topic needs its
 * place. The mirror keeps its own record of who subscribed to what (rather
 * than asking gossipsub), so a topic a peer was refused never counts as that
 * peer's, and a peer's topics go the moment it disconnects, not when
 * gossipsub gets round to forgetting it.
 */
import { NEW_TOPIC_BURST_SECONDS, NEW_TOPIC_RATE, TOPIC_GRACE_MS } from './config.js';
import { TokenBuckets } from './gossip-limits.js';
import { refusalWarner } from './log.js';

/** @typedef {import('./log.js').Logger} Logger */
/** @typedef {import('@libp2p/interface').PeerId} PeerId */

/**
 * The part of gossipsub the mirror uses (an in-memory fake in unit tests).
 *
 * @typedef {object} MirrorPubSub
 * @property {(type: 'subscription-change', listener: (event: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>) => void) => void} addEventListener
 * @property {(type: 'subscription-change', listener: (event: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>) => void) => void} removeEventListener
 * @property {(topic: string) => void} subscribe
 * @property {(topic: string) => void} unsubscribe
 */

/**
 * The part of libp2p the mirror uses: who is still connected, and when a peer leaves.
 *
 * @typedef {object} MirrorNetwork
 * @property {(type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void) => void} addEventListener
 * @property {(type: 'peer:disconnect', listener: (event: CustomEvent<PeerId>) => void) => void} removeEventListener
 * @property {(peerId: PeerId) => unknown[]} getConnections
 */

/** Only Stanza's topics are mirrored; anything else a peer subscribes to is its own business. */
export const TOPIC_PREFIX = 'stanza/';

/**
 * Longest topic mirrored. Stanza topics are a prefix plus a room id and a
 * channel name; a longer one is not ours and would only cost memory.
 */
export const MAX_TOPIC_LENGTH = 256;

/** Rate state kept for at most this many addresses between prunes (an address's lasts until its bucket is full again). */
const MAX_RATE_KEYS = 1024;

/**
 * Starts mirroring. Returns `stop()` (leaves every mirrored topic; safe to
 * call twice), `topics()` (the topics the relay is on now, those in their
 * grace period included: goodbyes, metrics, tests) and `inGrace()` (those
 * alone).
 *
 * @param {{ pubsub: MirrorPubSub, network: MirrorNetwork, maxTopics: number, maxTopicsPerPeer: number, log: Logger,
 *   maxTopicsPerIp?: number, ipOf?: (peerId: PeerId) => string, graceMs?: number, newTopicRate?: number,
 *   newTopicBurstSeconds?: number, now?: () => number,
 *   refuse?: (limit: 'topics' | 'topics_per_peer' | 'topics_per_ip' | 'topic_rate') => void, ignore?: (peer: string) => boolean,
 *   pinned?: Set<string> }} options
 *   `ipOf` names the client IP behind a connected peer (relay.js: the one reservations and the hallway
 *   count by; by default every peer is its own address); `refuse` is told each time a limit turns a
 *   topic away (metrics); `ignore` names peers whose subscriptions are never mirrored (federated relays:
 *   federation.js); `pinned` topics the relay keeps joined on its own (the hallway: hallway.js), so
 *   subscriptions to them are not mirrored
 */
export function startTopicMirror({
	pubsub,
	network,
	maxTopics,
	maxTopicsPerPeer,
	maxTopicsPerIp = maxTopics,
	log,
	ipOf = (peerId) => peerId.toString(),
	graceMs = TOPIC_GRACE_MS,
	newTopicRate = NEW_TOPIC_RATE,
	newTopicBurstSeconds = NEW_TOPIC_BURST_SECONDS,
	now = Date.now,
	refuse = () => {},
	ignore = () => false,
	pinned = new Set()
}) {
	/** @type {Set<string>} topics the relay is on: kept by a peer, or in their grace period */
	const mirrored = new Set();
	/** @type {Map<string, ReturnType<typeof setTimeout>>} topics no peer keeps, oldest first → the timer that leaves them */
	const lingering = new Map();
	/** @type {Map<string, Set<string>>} mirrored topic → peers (ids) whose subscription keeps it */
	const topicPeers = new Map();
	/** @type {Map<string, Set<string>>} peer id → the mirrored topics counted as its */
	const peerTopics = new Map();
	/** @type {Map<string, string>} peer id → its client IP, while it counts any topic */
	const peerIps = new Map();
	/** @type {Map<string, Map<string, number>>} client IP → topic → how many of its peers count it */
	const ipTopics = new Map();
	/** New topics per client IP: only the message bucket counts (each join takes 1 message of 0 bytes). */
	const newTopics = new TokenBuckets({ messageRate: newTopicRate, byteRate: 1, maxMessageBytes: 1, burstSeconds: newTopicBurstSeconds });
	const warn = refusalWarner(log, now);
	let stopped = false;

	/** @param {string} topic */
	const leave = (topic) => {
		clearTimeout(lingering.get(topic));
		lingering.delete(topic);
		mirrored.delete(topic);
		pubsub.unsubscribe(topic);
	};

	/**
	 * @param {PeerId} peerId
	 * @param {string} topic
	 */
	const join = (peerId, topic) => {
		// A subscription that arrives after its peer left (gossipsub is asynchronous) keeps nothing.
		if (network.getConnections(peerId).length === 0) return;
		const peer = peerId.toString();
		if (topicPeers.get(topic)?.has(peer)) return;
		const mine = peerTopics.get(peer) ?? new Set();
		if (mine.size >= maxTopicsPerPeer) {
			refuse('topics_per_peer');
			warn('topics_per_peer', `peer ${peer} subscribes to more than ${maxTopicsPerPeer} topics (--max-topics-per-peer): not mirroring the rest`);
			return;
		}
		const ip = peerIps.get(peer) ?? ipOf(peerId);
		const fromIp = ipTopics.get(ip) ?? new Map();
		if (!fromIp.has(topic) && fromIp.size >= maxTopicsPerIp) {
			refuse('topics_per_ip');
			warn('topics_per_ip', `peers at ${ip} subscribe to more than ${maxTopicsPerIp} topics (--max-topics-per-ip): not mirroring the rest`);
			return;
		}
		if (lingering.has(topic)) {
			clearTimeout(lingering.get(topic));
			lingering.delete(topic);
		} else if (!mirrored.has(topic)) {
			// The oldest topic in its grace period gives up its place; with none, the cap holds.
			if (mirrored.size >= maxTopics && lingering.size === 0) {
				refuse('topics');
				warn('topics', `mirroring ${maxTopics} topics (--max-topics): ignoring new topics until some are left`);
				return;
			}
			if (newTopics.size > MAX_RATE_KEYS) newTopics.prune(now());
			if (!newTopics.take(ip, 0, now())) {
				refuse('topic_rate');
				warn('topic_rate', `peers at ${ip} ask the relay to join new topics faster than ${newTopicRate} a second: not mirroring them`);
				return;
			}
			if (mirrored.size >= maxTopics) leave(/** @type {string} */ (lingering.keys().next().value));
			mirrored.add(topic);
			pubsub.subscribe(topic);
		}
		mine.add(topic);
		peerTopics.set(peer, mine);
		peerIps.set(peer, ip);
		fromIp.set(topic, (fromIp.get(topic) ?? 0) + 1);
		ipTopics.set(ip, fromIp);
		const peers = topicPeers.get(topic) ?? new Set();
		peers.add(peer);
		topicPeers.set(topic, peers);
	};

	/**
	 * @param {string} peer
	 * @param {string} topic
	 */
	const drop = (peer, topic) => {
		const mine = peerTopics.get(peer);
		if (!mine?.delete(topic)) return;
		const ip = /** @type {string} */ (peerIps.get(peer));
		if (mine.size === 0) {
			peerTopics.delete(peer);
			peerIps.delete(peer);
		}
		const fromIp = /** @type {Map<string, number>} */ (ipTopics.get(ip));
		const count = (fromIp.get(topic) ?? 1) - 1;
		if (count > 0) fromIp.set(topic, count);
		else fromIp.delete(topic);
		if (fromIp.size === 0) ipTopics.delete(ip);
		const peers = /** @type {Set<string>} */ (topicPeers.get(topic));
		peers.delete(peer);
		if (peers.size > 0) return;
		topicPeers.delete(topic);
		const timer = setTimeout(() => leave(topic), graceMs);
		// The grace period alone never keeps the process alive.
		timer.unref?.();
		lingering.set(topic, timer);
	};

	/** @param {CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>} event */
	const onSubscriptionChange = (event) => {
		const { peerId, subscriptions } = event.detail;
		if (ignore(peerId.toString())) return;
		for (const { topic, subscribe } of subscriptions) {
			if (!topic.startsWith(TOPIC_PREFIX) || topic.length > MAX_TOPIC_LENGTH || pinned.has(topic)) continue;
			if (subscribe) join(peerId, topic);
			else drop(peerId.toString(), topic);
		}
	};

	/** @param {CustomEvent<PeerId>} event */
	const onPeerDisconnect = (event) => {
		// peer:disconnect comes when the peer's last connection has closed.
		const peer = event.detail.toString();
		for (const topic of [...(peerTopics.get(peer) ?? [])]) drop(peer, topic);
	};

	pubsub.addEventListener('subscription-change', onSubscriptionChange);
	network.addEventListener('peer:disconnect', onPeerDisconnect);

	return {
		/** @returns {string[]} */
		topics: () => [...mirrored],

		/** @returns {string[]} the topics no peer keeps, which the relay leaves when their grace period ends */
		inGrace: () => [...lingering.keys()],

		stop() {
			if (stopped) return;
			stopped = true;
			pubsub.removeEventListener('subscription-change', onSubscriptionChange);
			network.removeEventListener('peer:disconnect', onPeerDisconnect);
			for (const timer of lingering.values()) clearTimeout(timer);
			for (const topic of mirrored) pubsub.unsubscribe(topic);
			mirrored.clear();
			lingering.clear();
			topicPeers.clear();
			peerTopics.clear();
			peerIps.clear();
			ipTopics.clear();
		}
	};
}
