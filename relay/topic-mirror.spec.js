// @ts-check
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NEW_TOPIC_BURST_SECONDS, NEW_TOPIC_RATE, TOPIC_GRACE_MS } from './config.js';
import { REFUSAL_LOG_INTERVAL_MS } from './log.js';
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
	// The grace period runs on timers, and the rate and log limits on Date.now: both faked.
	beforeEach(() => void vi.useFakeTimers());
	afterEach(() => void vi.useRealTimers());

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
		vi.advanceTimersByTime(TOPIC_GRACE_MS);
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

	it('leaves a topic TOPIC_GRACE_MS after its last subscriber unsubscribes', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 10, log: recordingLog().log });
		net.connect('A');
		net.connect('B');
		net.change('A', [['stanza/r', true]]);
		net.change('B', [['stanza/r', true]]);
		net.change('A', [['stanza/r', false]]);
		expect(mirror.topics()).toEqual(['stanza/r']);
		net.change('B', [['stanza/r', false]]);
		vi.advanceTimersByTime(TOPIC_GRACE_MS - 1);
		expect(mirror.topics()).toEqual(['stanza/r']);
		expect(mirror.inGrace()).toEqual(['stanza/r']);
		vi.advanceTimersByTime(1);
		expect(mirror.topics()).toEqual([]);
		expect(mirror.inGrace()).toEqual([]);
		expect(net.relayTopics.size).toBe(0);
	});

	it('stays on a topic whose peer comes back within the grace period, and leaves it a full grace after the last one goes', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 10, log: recordingLog().log });
		net.connect('A');
		net.change('A', [['stanza/r', true]]);
		net.change('A', [['stanza/r', false]]);
		vi.advanceTimersByTime(TOPIC_GRACE_MS - 1);
		net.change('A', [['stanza/r', true]]);
		vi.advanceTimersByTime(TOPIC_GRACE_MS);
		expect(mirror.topics()).toEqual(['stanza/r']);
		net.disconnect('A');
		vi.advanceTimersByTime(TOPIC_GRACE_MS);
		expect(net.calls).toEqual(['subscribe stanza/r', 'unsubscribe stanza/r']);
	});

	it('joins a topic once for a frame of 1,000 alternating subscribe and unsubscribe entries, and leaves it only after the grace period', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 10, log: recordingLog().log });
		net.connect('churner');
		net.change('churner', Array.from({ length: 1000 }, (_, i) => /** @type {[string, boolean]} */ (['stanza/churn', i % 2 === 0])));
		expect(net.calls).toEqual(['subscribe stanza/churn']);
		vi.advanceTimersByTime(TOPIC_GRACE_MS - 1);
		expect(net.calls).toEqual(['subscribe stanza/churn']);
		vi.advanceTimersByTime(1);
		expect(net.calls).toEqual(['subscribe stanza/churn', 'unsubscribe stanza/churn']);
		expect(mirror.topics()).toEqual([]);
	});

	it('limits how fast the peers behind one IP make the relay join new topics; topics it is on cost nothing', () => {
		const net = fakeNetwork();
		/** @type {string[]} */
		const refusals = [];
		const burst = NEW_TOPIC_RATE * NEW_TOPIC_BURST_SECONDS;
		const mirror = startTopicMirror({
			...net,
			maxTopics: 10_000,
			maxTopicsPerPeer: 10_000,
			log: recordingLog().log,
			ipOf: (p) => (p.toString().startsWith('x') ? '192.0.2.1' : '198.51.100.1'),
			refuse: (limit) => void refusals.push(limit)
		});
		net.connect('x1');
		net.connect('x2');
		net.connect('y');
		// Two peers behind one address, each subscribing then leaving new topics: one burst between them.
		for (const peer of ['x1', 'x2']) {
			for (let i = 0; i < burst; i++) net.change(peer, [[`stanza/${peer}/${i}`, true], [`stanza/${peer}/${i}`, false]]);
		}
		expect(mirror.topics()).toHaveLength(burst);
		expect(refusals).toEqual(Array(burst).fill('topic_rate'));
		// Topics the relay is on, still in their grace period, are joined again without cost.
		net.change('x2', [['stanza/x1/0', true]]);
		// Another address has its own burst; a second later the first has NEW_TOPIC_RATE more.
		net.change('y', [['stanza/y/0', true]]);
		vi.advanceTimersByTime(1000);
		for (let i = 0; i <= NEW_TOPIC_RATE; i++) net.change('x1', [[`stanza/later/${i}`, true]]);
		expect(mirror.topics()).toHaveLength(burst + 1 + NEW_TOPIC_RATE);
		expect(refusals).toHaveLength(burst + 1);
	});

	it('when full, lets a new topic take the place of the oldest one in its grace period', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 2, maxTopicsPerPeer: 10, log: recordingLog().log });
		net.connect('A');
		net.change('A', [['stanza/old', true], ['stanza/older', true]]);
		net.change('A', [['stanza/older', false]]);
		net.change('A', [['stanza/old', false]]);
		net.change('A', [['stanza/new', true]]);
		expect(mirror.topics()).toEqual(['stanza/old', 'stanza/new']);
		expect(net.calls).toEqual(['subscribe stanza/old', 'subscribe stanza/older', 'unsubscribe stanza/older', 'subscribe stanza/new']);
		// A topic someone is on is never pushed out.
		net.change('A', [['stanza/new2', true], ['stanza/new3', true]]);
		expect(mirror.topics()).toEqual(['stanza/new', 'stanza/new2']);
		vi.advanceTimersByTime(TOPIC_GRACE_MS);
		expect(net.calls.filter((c) => c.startsWith('unsubscribe'))).toEqual(['unsubscribe stanza/older', 'unsubscribe stanza/old']);
	});

	it('leaves a topic a grace period after its last subscriber disconnects, not when gossipsub forgets the peer', () => {
		const net = fakeNetwork();
		const mirror = startTopicMirror({ ...net, maxTopics: 10, maxTopicsPerPeer: 10, log: recordingLog().log });
		net.connect('A');
		net.connect('B');
		net.change('A', [['stanza/a', true], ['stanza/shared', true]]);
		net.change('B', [['stanza/shared', true]]);
		net.disconnect('A');
		vi.advanceTimersByTime(TOPIC_GRACE_MS);
		expect(mirror.topics()).toEqual(['stanza/shared']);
		net.forget('A');
		net.disconnect('B');
		vi.advanceTimersByTime(TOPIC_GRACE_MS);
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
		vi.advanceTimersByTime(TOPIC_GRACE_MS);
		expect(mirror.topics()).toEqual(['stanza/junk/0', 'stanza/junk/1', 'stanza/room/1']);

		// Leaving frees the peer's share at once; the relay leaves its topics after the grace period.
		net.disconnect('junk');
		net.change('honest', [['stanza/room/2', true]]);
		expect(mirror.topics()).toEqual(['stanza/junk/0', 'stanza/junk/1', 'stanza/room/1', 'stanza/room/2']);
		vi.advanceTimersByTime(TOPIC_GRACE_MS);
		expect(mirror.topics()).toEqual(['stanza/room/1', 'stanza/room/2']);
	});

	it('caps the topics the peers behind one IP keep mirrored, however many peer ids they use', () => {
		const net = fakeNetwork();
		/** @type {string[]} */
		const refusals = [];
		const { log, lines } = recordingLog();
		const mirror = startTopicMirror({
			...net,
			maxTopics: 100,
			maxTopicsPerPeer: 2,
			maxTopicsPerIp: 4,
			log,
			ipOf: (p) => (p.toString().startsWith('sybil') ? '203.0.113.7' : '198.51.100.1'),
			refuse: (limit) => void refusals.push(limit)
		});
		for (let i = 0; i < 10; i++) {
			net.connect(`sybil${i}`);
			net.change(`sybil${i}`, [[`stanza/junk/${i}/a`, true], [`stanza/junk/${i}/b`, true]]);
		}
		expect(mirror.topics()).toHaveLength(4);
		expect(refusals).toEqual(Array(16).fill('topics_per_ip'));
		expect(lines.filter((l) => l.includes('--max-topics-per-ip'))).toHaveLength(1);
		// A topic one of its peers already counts costs the address nothing more; another address is not held back.
		net.change('sybil9', [['stanza/junk/0/a', true]]);
		net.connect('honest');
		net.change('honest', [['stanza/room', true]]);
		expect(mirror.topics()).toHaveLength(5);
		expect(refusals).toHaveLength(16);
		// Its peers leaving frees the address's share.
		net.disconnect('sybil0');
		net.disconnect('sybil9');
		net.change('sybil5', [['stanza/junk/5/a', true]]);
		expect(refusals).toHaveLength(16);
	});

	it('warns about each limit at most once per REFUSAL_LOG_INTERVAL_MS, however many peer ids hit it', () => {
		const net = fakeNetwork();
		const { log, lines } = recordingLog();
		startTopicMirror({ ...net, maxTopics: 10_000, maxTopicsPerPeer: 1, log });
		const overCap = (/** @type {string} */ id) => {
			net.connect(id);
			net.change(id, [[`stanza/${id}/a`, true], [`stanza/${id}/b`, true]]);
		};
		for (let i = 0; i < 20; i++) overCap(`minted${i}`);
		expect(lines.filter((l) => l.includes('--max-topics-per-peer'))).toHaveLength(1);
		vi.advanceTimersByTime(REFUSAL_LOG_INTERVAL_MS);
		overCap('minted-later');
		expect(lines.filter((l) => l.includes('--max-topics-per-peer'))).toHaveLength(2);
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
