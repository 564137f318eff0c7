// @ts-check
import { describe, expect, it } from 'vitest';
import { BURST_SECONDS, limitGossip, TokenBuckets } from './gossip-limits.js';

/** @param {string} id */
const peer = (id) => /** @type {import('@libp2p/interface').PeerId} */ (/** @type {unknown} */ ({ toString: () => id }));

describe('TokenBuckets', () => {
	it('lets a burst of BURST_SECONDS through, then the sustained rate', () => {
		const buckets = new TokenBuckets({ messageRate: 10, byteRate: 1_000_000, maxMessageBytes: 100 });
		let passed = 0;
		for (let i = 0; i < 100; i++) if (buckets.take('a', 1, 0)) passed++;
		expect(passed).toBe(10 * BURST_SECONDS);
		expect(buckets.take('a', 1, 0)).toBe(false);
		expect(buckets.take('a', 1, 100)).toBe(true); // 0.1 s refills one message
		expect(buckets.take('a', 1, 100)).toBe(false);
	});

	it('limits bytes separately, and always fits one largest message', () => {
		const buckets = new TokenBuckets({ messageRate: 1000, byteRate: 10, maxMessageBytes: 500 });
		expect(buckets.take('a', 500, 0)).toBe(true);
		expect(buckets.take('a', 1, 0)).toBe(false);
		expect(buckets.take('a', 10, 1000)).toBe(true);
	});

	it('keeps peers apart, and forgets a peer', () => {
		const buckets = new TokenBuckets({ messageRate: 1, byteRate: 1000, maxMessageBytes: 10 });
		for (let i = 0; i < BURST_SECONDS; i++) buckets.take('flood', 1, 0);
		expect(buckets.take('flood', 1, 0)).toBe(false);
		expect(buckets.take('honest', 1, 0)).toBe(true);
		buckets.forget('flood');
		buckets.forget('honest');
		expect(buckets.size).toBe(0);
	});

	it('prunes only buckets that have refilled, which changes no answer', () => {
		const buckets = new TokenBuckets({ messageRate: 1, byteRate: 1000, maxMessageBytes: 10 });
		for (let i = 0; i < BURST_SECONDS; i++) buckets.take('busy', 1, 0);
		buckets.take('idle', 1, 0);
		buckets.prune(1_000); // 'idle' is full again after 1 s; 'busy' has one token of BURST_SECONDS
		expect(buckets.size).toBe(1);
		expect(buckets.take('busy', 1, 1_000)).toBe(true);
		expect(buckets.take('busy', 1, 1_000)).toBe(false);
		buckets.prune(1_000 + BURST_SECONDS * 1_000);
		expect(buckets.size).toBe(0);
	});

	it('does not mint tokens when time goes backwards', () => {
		const buckets = new TokenBuckets({ messageRate: 1, byteRate: 1000, maxMessageBytes: 10 });
		for (let i = 0; i < BURST_SECONDS; i++) buckets.take('a', 1, 5000);
		expect(buckets.take('a', 1, 0)).toBe(false);
		expect(buckets.take('a', 1, 5000)).toBe(false);
	});
});

describe('limitGossip', () => {
	function setup() {
		const topicValidators = new Map();
		const events = new EventTarget();
		/** @type {string[]} */
		const hungUp = [];
		const network = {
			addEventListener: events.addEventListener.bind(events),
			removeEventListener: events.removeEventListener.bind(events),
			hangUp: async (/** @type {import('@libp2p/interface').PeerId} */ p) => void hungUp.push(p.toString())
		};
		/** @type {string[]} */
		const refused = [];
		/** @type {number[]} */
		const accepted = [];
		let now = 0;
		const limits = limitGossip({
			pubsub: { topicValidators },
			network: /** @type {import('./gossip-limits.js').LimitNetwork} */ (/** @type {unknown} */ (network)),
			maxMessageBytes: 100,
			messageRate: 1,
			byteRate: 1000,
			refuse: (limit) => void refused.push(limit),
			accepted: (bytes) => void accepted.push(bytes),
			now: () => now,
			unmetered: (p) => p === 'relay2'
		});
		/**
		 * @param {string} from
		 * @param {number} size
		 */
		const validate = (from, size) => {
			const validator = topicValidators.get('stanza/room/1/x');
			if (!validator) throw new Error('no validator');
			return validator(peer(from), { topic: 'stanza/room/1/x', data: new Uint8Array(size) });
		};
		return { topicValidators, events, refused, accepted, hungUp, limits, validate, tick: (/** @type {number} */ ms) => (now += ms) };
	}

	it('accepts within the limits, rejects oversized, ignores over-rate; counts each', () => {
		const t = setup();
		expect(t.validate('a', 100)).toBe('accept');
		expect(t.validate('a', 101)).toBe('reject');
		for (let i = 1; i < BURST_SECONDS; i++) expect(t.validate('a', 10)).toBe('accept');
		expect(t.validate('a', 10)).toBe('ignore');
		expect(t.validate('b', 10)).toBe('accept');
		t.tick(1000);
		expect(t.validate('a', 10)).toBe('accept');
		expect(t.refused).toEqual(['gossip_message_size', 'gossip_rate']);
		expect(t.accepted).toEqual([100, 10, 10, 10, 10, 10]);
	});

	it('hangs up once on a peer that keeps sending at over twice its rate, and at once if it comes back to flood again', () => {
		const t = setup();
		// A burst of BURST_SECONDS messages passes, as many more are dropped (strikes), the next one ends it.
		for (let i = 0; i < BURST_SECONDS; i++) expect(t.validate('f', 10)).toBe('accept');
		for (let i = 0; i < BURST_SECONDS; i++) expect(t.validate('f', 10)).toBe('ignore');
		expect(t.hungUp).toEqual([]);
		expect(t.validate('f', 10)).toBe('ignore');
		expect(t.hungUp).toEqual(['f']);
		// Its messages already on their way are dropped without hanging up again.
		expect(t.validate('f', 10)).toBe('ignore');
		expect(t.hungUp).toEqual(['f']);
		expect(t.refused.filter((r) => r === 'gossip_flood')).toEqual(['gossip_flood']);
		// Gone and back a second later: one message and one strike have come back, not a whole burst.
		t.events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer('f') }));
		t.tick(1000);
		expect(t.validate('f', 10)).toBe('accept');
		expect(t.validate('f', 10)).toBe('ignore');
		expect(t.hungUp).toEqual(['f']);
		expect(t.validate('f', 10)).toBe('ignore');
		expect(t.hungUp).toEqual(['f', 'f']);
	});

	it('never hangs up on a peer that bursts and then keeps to its rate', () => {
		const t = setup();
		for (let second = 0; second < 60; second++) {
			// Twice its rate each second after a full burst: one message a second over, one strike a second back.
			for (let i = 0; i < (second === 0 ? BURST_SECONDS + 2 : 2); i++) t.validate('h', 10);
			t.tick(1000);
		}
		expect(t.hungUp).toEqual([]);
	});

	it('lets a federated relay past the rates (it forwards many people), never past the size limit', () => {
		const t = setup();
		for (let i = 0; i < BURST_SECONDS * 10; i++) expect(t.validate('relay2', 10)).toBe('accept');
		expect(t.validate('relay2', 101)).toBe('reject');
		expect(t.refused).toEqual(['gossip_message_size']);
		expect(t.limits.buckets.size).toBe(0);
	});

	it('forgets a peer on disconnect and restores the validator table on stop (twice is safe)', () => {
		const t = setup();
		t.validate('a', 1);
		t.events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer('a') }));
		expect(t.limits.buckets.size).toBe(0);
		t.limits.stop();
		t.limits.stop();
		expect(t.topicValidators.get('stanza/room/1/x')).toBeUndefined();
	});
});
