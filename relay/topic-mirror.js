// @ts-check
/**
 * Mirrors the gossipsub subscriptions of connected peers onto the relay.
 *
 * Gossipsub only forwards messages on topics a node itself subscribes to. In a
 * star (browsers connected only to the relay) nothing would flow between
 * browsers unless the relay subscribed too, so it joins every `stanza/…`
 * topic that a connected peer joins, and leaves it when no connected peer is
 * left on it. The relay never reads the messages: apps encrypt them, and
 * gossipsub forwards them on its own once subscribed.
 *
 * Two caps: `maxTopics` in all, and `maxTopicsPerPeer` topics that any one
 * peer's subscriptions may keep mirrored. Without the second, one connection
 * subscribing to thousands of junk topics filled the global cap and the
 * relay stopped carrying new rooms for everyone. The mirror keeps its own
 * record of who subscribed to what (rather than asking gossipsub), so a topic
 * a peer was refused never counts as that peer's, and a peer's topics go the
 * moment it disconnects, not when gossipsub gets round to forgetting it.
 */

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

/**
 * Starts mirroring. Returns `stop()` (leaves every mirrored topic; safe to
 * call twice) and `topics()` (the topics mirrored now, for tests and logs).
 *
 * @param {{ pubsub: MirrorPubSub, network: MirrorNetwork, maxTopics: number, maxTopicsPerPeer: number, log: Logger,
 *   refuse?: (limit: 'topics' | 'topics_per_peer') => void, ignore?: (peer: string) => boolean, pinned?: Set<string> }} options
 *   `refuse` is told each time a cap turns a topic away (metrics); `ignore` names peers whose
 *   subscriptions are never mirrored (federated relays: federation.js); `pinned` topics the relay
 *   keeps joined on its own (the hallway: hallway.js), so subscriptions to them are not mirrored
 */
export function startTopicMirror({ pubsub, network, maxTopics, maxTopicsPerPeer, log, refuse = () => {}, ignore = () => false, pinned = new Set() }) {
	/** @type {Set<string>} */
	const mirrored = new Set();
	/** @type {Map<string, Set<string>>} mirrored topic → peers (ids) whose subscription keeps it */
	const topicPeers = new Map();
	/** @type {Map<string, Set<string>>} peer id → the mirrored topics counted as its */
	const peerTopics = new Map();
	/** Warn once per time the cap is reached, not once per refused topic. */
	let warnedFull = false;
	/** @type {Set<string>} peers already warned about, until they disconnect */
	const warnedPeers = new Set();
	let stopped = false;

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
			if (!warnedPeers.has(peer)) {
				warnedPeers.add(peer);
				log.warn(`peer ${peer} subscribes to more than ${maxTopicsPerPeer} topics (--max-topics-per-peer): not mirroring the rest`);
			}
			return;
		}
		if (!mirrored.has(topic)) {
			if (mirrored.size >= maxTopics) {
				refuse('topics');
				if (!warnedFull) {
					warnedFull = true;
					log.warn(`mirroring ${maxTopics} topics (--max-topics): ignoring new topics until some are left`);
				}
				return;
			}
			mirrored.add(topic);
			pubsub.subscribe(topic);
		}
		mine.add(topic);
		peerTopics.set(peer, mine);
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
		mine?.delete(topic);
		if (mine?.size === 0) peerTopics.delete(peer);
		const peers = topicPeers.get(topic);
		if (!peers?.delete(peer) || peers.size > 0) return;
		topicPeers.delete(topic);
		mirrored.delete(topic);
		pubsub.unsubscribe(topic);
		if (mirrored.size < maxTopics) warnedFull = false;
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
		warnedPeers.delete(peer);
		for (const topic of [...(peerTopics.get(peer) ?? [])]) drop(peer, topic);
	};

	pubsub.addEventListener('subscription-change', onSubscriptionChange);
	network.addEventListener('peer:disconnect', onPeerDisconnect);

	return {
		/** @returns {string[]} */
		topics: () => [...mirrored],

		stop() {
			if (stopped) return;
			stopped = true;
			pubsub.removeEventListener('subscription-change', onSubscriptionChange);
			network.removeEventListener('peer:disconnect', onPeerDisconnect);
			for (const topic of mirrored) pubsub.unsubscribe(topic);
			mirrored.clear();
			topicPeers.clear();
			peerTopics.clear();
		}
	};
}
