// @ts-check
import { describe, expect, it } from 'vitest';
import { MAX_TOPIC_LENGTH, startTopicMirror } from './topic-mirror.js';

/** @typedef {import('@libp2p/interface').PeerId} PeerId */

/**
 * In-memory gossipsub + network: peers connect, subscribe, leave. Like real
 * gossipsub, a disconnected peer's subscriptions linger until `forget()`
 * (gossipsub drops them asynchronously after `peer:disconnect`).
 */
function fakeNetwork() {
	/** @type {Map<string, Set<string>>} topic → peer ids */
	const subscribers = new Map();
	const connected = new Set(/** @type {string[]} */ ([]));
	const relayTopics = new Set(/** @type {string[]} */ ([]));
	const calls = /** @type {string[]} */ ([]);
	const pubsubEvents = new EventTarget();
	const networkEvents = new EventTarget();
	/** @param {string} id */
	const peer = (id) => /** @type {PeerId} */ (/** @type {unknown} */ ({ toString: () => id }));

	const pubsub = {
		addEventListener: pubsubEvents.addEventListener.bind(pubsubEvents),
		removeEventListener: pubsubEvents.removeEventListener.bind(pubsubEvents),
		/** @param {string} topic */
		getSubscribers: (topic) => [...(subscribers.get(topic) ?? [])].map(peer),
		/** @param {string} topic */
		subscribe: (topic) => {
			calls.push(`subscribe ${topic}`);
			relayTopics.add(topic);
		},
		/** @param {string} topic */
		unsubscribe: (topic) => {
			calls.push(`unsubscribe ${topic}`);
			relayTopics.delete(topic);
		}
	};
	const network = {
		addEventListener: networkEvents.addEventListener.bind(networkEvents),
		removeEventListener: networkEvents.removeEventListener.bind(networkEvents),
		/** @param {PeerId} p */
		getConnections: (p) => (connected.has(p.toString()) ? [{}] : [])
	};

	return {
		pubsub: /** @type {import('./topic-mirror.js').MirrorPubSub} */ (/** @type {unknown} */ (pubsub)),
		network: /** @type {import('./topic-mirror.js').MirrorNetwork} */ (/** @type {unknown} */ (network)),
		relayTopics,
		calls,
		/** @param {string} id */
		connect: (id) => void connected.add(id),
		/**
		 * @param {string} id
		 * @param {Array<[string, boolean]>} changes topic, subscribe
		 */
		change(id, changes) {
			for (const [topic, subscribe] of changes) {
				const set = subscribers.get(topic) ?? new Set();
				if (subscribe) set.add(id);
				else set.delete(id);
				subscribers.set(topic, set);
			}
			const detail = { peerId: peer(id), subscriptions: changes.map(([topic, subscribe]) => ({ topic, subscribe })) };
			pubsubEvents.dispatchEvent(new CustomEvent('subscription-change', { detail }));
		},
		/** @param {string} id */
		disconnect(id) {
			connected.delete(id);
			networkEvents.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer(id) }));
		},
		/** @param {string} id gossipsub's own, later clean-up */
		forget(id) {
			for (const set of subscribers.values()) set.delete(id);
		}
	};
}

function recordingLog() {
	const lines = /** @type {string[]} */ ([]);
	return {
		lines,
		log: { info: (/** @type {string} */ m) => void lines.push(m), warn: (/** @type {string} */ m) => void lines.push(m), error: (/** @type {string} */ m) => void lines.push(m) }
	};
}

describe('startTopicMirror', () => {
	it('joins stanza/ topics that a connected peer joins, once, and ignores others', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 10, log: recordingLog().log });
		net.connect('A');
		net.connect('B');
		net.change('A', [['stanza/room1/chat', true], ['other/topic', true]]);
		net.change('B', [['stanza/room1/chat', true]]);
		expect(mirror.topics()).toEqual(['stanza/room1/chat']);
		expect(net.calls).toEqual(['subscribe stanza/room1/chat']);
	});

	it('never counts a federated relay as a reason to carry a topic (two relays would keep each other subscribed)', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 1, log: recordingLog().log, ignore: (peer) => peer === 'R2' });
		net.connect('R2');
		net.connect('A');
		net.change('R2', [['stanza/r', true], ['stanza/s', true]]);
		expect(mirror.topics()).toEqual([]);
		net.change('A', [['stanza/r', true]]);
		net.change('A', [['stanza/r', false]]);
		expect(mirror.topics()).toEqual([]);
		expect(net.calls).toEqual(['subscribe stanza/r', 'unsubscribe stanza/r']);
	});

	it('leaves pinned topics (the hallway) to the relay: a client joining or leaving one changes nothing', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 1, log: recordingLog().log, pinned: new Set(['stanza/hallway/1']) });
		net.connect('A');
		net.change('A', [['stanza/hallway/1', true], ['stanza/r', true]]);
		net.change('A', [['stanza/hallway/1', false]]);
		// Not counted against the peer's cap either: its one room topic is still mirrored.
		expect(mirror.topics()).toEqual(['stanza/r']);
		expect(net.calls).toEqual(['subscribe stanza/r']);
	});

	it('leaves a topic when its last subscriber unsubscribes', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 10, log: recordingLog().log });
		net.connect('A');
		net.connect('B');
		net.change('A', [['stanza/r', true]]);
		net.change('B', [['stanza/r', true]]);
		net.change('A', [['stanza/r', false]]);
		expect(mirror.topics()).toEqual(['stanza/r']);
		net.change('B', [['stanza/r', false]]);
		expect(mirror.topics()).toEqual([]);
		expect(net.relayTopics.size).toBe(0);
	});

	it('leaves a topic when its last subscriber disconnects, before gossipsub forgets the peer', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 10, log: recordingLog().log });
		net.connect('A');
		net.connect('B');
		net.change('A', [['stanza/a', true], ['stanza/shared', true]]);
		net.change('B', [['stanza/shared', true]]);
		net.disconnect('A');
		expect(mirror.topics()).toEqual(['stanza/shared']);
		net.forget('A');
		net.disconnect('B');
		expect(mirror.topics()).toEqual([]);
		expect(net.calls).toEqual([
			'subscribe stanza/a',
			'subscribe stanza/shared',
			'unsubscribe stanza/a',
			'unsubscribe stanza/shared'
		]);
	});

	it('caps mirrored topics, warns once, and takes new ones after some are left', () => {
		const net = fakeNetwork();
		const { log, lines } = recordingLog();
		const mirror = startTopicMirror({ ...net, maxTopics: 2, maxTopicsPerPeer: 10, log });
		net.connect('A');
		net.change('A', [['stanza/1', true], ['stanza/2', true], ['stanza/3', true], ['stanza/4', true]]);
		expect(mirror.topics()).toEqual(['stanza/1', 'stanza/2']);
		expect(lines.filter((l) => l.includes('--max-topics'))).toHaveLength(1);

		net.change('A', [['stanza/1', false]]);
		net.change('A', [['stanza/5', true]]);
		expect(mirror.topics()).toEqual(['stanza/2', 'stanza/5']);
	});

	it('caps the topics one peer keeps mirrored, so others still get new rooms', () => {
		const net = fakeNetwork();
		const { log, lines } = recordingLog();
		/** @type {string[]} */
		const refusals = [];
		const mirror = startTopicMirror({ ...net, maxTopics: 5, maxTopicsPerPeer: 2, log, refuse: (limit) => void refusals.push(limit) });
		net.connect('junk');
		net.connect('honest');
		net.change('junk', Array.from({ length: 50 }, (_, i) => /** @type {[string, boolean]} */ ([`stanza/junk/${i}`, true])));
		expect(mirror.topics()).toEqual(['stanza/junk/0', 'stanza/junk/1']);
		expect(refusals).toEqual(Array(48).fill('topics_per_peer'));
		expect(lines.filter((l) => l.includes('--max-topics-per-peer'))).toHaveLength(1);

		net.change('honest', [['stanza/room/1', true], ['stanza/junk/7', true]]);
		expect(mirror.topics()).toEqual(['stanza/junk/0', 'stanza/junk/1', 'stanza/room/1', 'stanza/junk/7']);

		// The honest peer leaves junk/7: the junk peer's own (refused) subscription does not keep it.
		net.change('honest', [['stanza/junk/7', false]]);
		expect(mirror.topics()).toEqual(['stanza/junk/0', 'stanza/junk/1', 'stanza/room/1']);

		// Leaving frees the peer's share at once.
		net.disconnect('junk');
		expect(mirror.topics()).toEqual(['stanza/room/1']);
	});

	it('ignores a subscription that arrives after its peer disconnected', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 10, log: recordingLog().log });
		net.change('gone', [['stanza/late', true]]);
		expect(mirror.topics()).toEqual([]);
	});

	it('ignores topics too long to be Stanza topics', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 10, log: recordingLog().log });
		net.connect('A');
		net.change('A', [[`stanza/${'x'.repeat(MAX_TOPIC_LENGTH)}`, true]]);
		expect(mirror.topics()).toEqual([]);
	});

	it('stop() leaves every topic, stops listening, and is safe twice', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 10, log: recordingLog().log });
		net.connect('A');
		net.change('A', [['stanza/x', true]]);
		mirror.stop();
		mirror.stop();
		expect(net.relayTopics.size).toBe(0);
		net.change('A', [['stanza/y', true]]);
		expect(net.relayTopics.size).toBe(0);
		expect(net.calls).toEqual(['subscribe stanza/x', 'unsubscribe stanza/x']);
	});
});
