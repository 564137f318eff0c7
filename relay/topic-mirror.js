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
 */

/** @typedef {import('./log.js').Logger} Logger */
/** @typedef {import('@libp2p/interface').PeerId} PeerId */

/**
 * The part of gossipsub the mirror uses (an in-memory fake in unit tests).
 *
 * @typedef {object} MirrorPubSub
 * @property {(type: 'subscription-change', listener: (event: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>) => void) => void} addEventListener
 * @property {(type: 'subscription-change', listener: (event: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>) => void) => void} removeEventListener
 * @property {(topic: string) => PeerId[]} getSubscribers
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
 * @param {{ pubsub: MirrorPubSub, network: MirrorNetwork, maxTopics: number, log: Logger }} options
 */
export function startTopicMirror({ pubsub, network, maxTopics, log }) {
	/** @type {Set<string>} */
	const mirrored = new Set();
	/** Warn once per time the cap is reached, not once per refused topic. */
	let warnedFull = false;
	let stopped = false;

	/**
	 * True while at least one peer that is still connected subscribes. The
	 * connection check matters on `peer:disconnect`: gossipsub drops the
	 * peer's subscriptions asynchronously, possibly after our handler runs.
	 *
	 * @param {string} topic
	 */
	const hasConnectedSubscriber = (topic) =>
		pubsub.getSubscribers(topic).some((peer) => network.getConnections(peer).length > 0);

	/** @param {string} topic */
	const join = (topic) => {
		if (mirrored.has(topic) || !hasConnectedSubscriber(topic)) return;
		if (mirrored.size >= maxTopics) {
			if (!warnedFull) {
				warnedFull = true;
				log.warn(`mirroring ${maxTopics} topics (--max-topics): ignoring new topics until some are left`);
			}
			return;
		}
		mirrored.add(topic);
		pubsub.subscribe(topic);
	};

	/** @param {string} topic */
	const leaveIfUnused = (topic) => {
		if (!mirrored.has(topic) || hasConnectedSubscriber(topic)) return;
		mirrored.delete(topic);
		pubsub.unsubscribe(topic);
		if (mirrored.size < maxTopics) warnedFull = false;
	};

	/** @param {CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>} event */
	const onSubscriptionChange = (event) => {
		for (const { topic, subscribe } of event.detail.subscriptions) {
			if (!topic.startsWith(TOPIC_PREFIX) || topic.length > MAX_TOPIC_LENGTH) continue;
			if (subscribe) join(topic);
			else leaveIfUnused(topic);
		}
	};

	const onPeerDisconnect = () => {
		for (const topic of [...mirrored]) leaveIfUnused(topic);
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
		}
	};
}
