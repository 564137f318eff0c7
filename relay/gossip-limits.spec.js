// @ts-check
import { describe, expect, it } from 'vitest';
import { MAX_SUBSCRIPTIONS_PER_FRAME } from './config.js';
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
	/** @param {{ ipOf?: (peer: import('@libp2p/interface').PeerId) => string | null, ipMessageRate?: number, ipByteRate?: number }} [perIp] */
	function setup(perIp = {}) {
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
		/** @type {Array<{ from: string, subscriptions: number, messages: number }>} frames as gossipsub's own handler saw them */
		const frames = [];
		/** @type {string[]} what gossipsub's score was told of invalid messages: peer and topic */
		const invalid = [];
		const pubsub = {
			topicValidators,
			handleReceivedRpc: async (/** @type {import('@libp2p/interface').PeerId} */ from, /** @type {import('./gossip-limits.js').Frame} */ rpc) =>
				void frames.push({ from: from.toString(), subscriptions: rpc.subscriptions?.length ?? 0, messages: rpc.messages?.length ?? 0 }),
			score: { rejectInvalidMessage: (/** @type {string} */ from, /** @type {string} */ topic) => void invalid.push(`${from} ${topic}`) }
		};
		const limits = limitGossip({
			pubsub,
			network: /** @type {import('./gossip-limits.js').LimitNetwork} */ (/** @type {unknown} */ (network)),
			maxMessageBytes: 100,
			messageRate: 1,
			byteRate: 1000,
			refuse: (limit) => void refused.push(limit),
			accepted: (bytes) => void accepted.push(bytes),
			now: () => now,
			unmetered: (p) => p === 'relay2',
			...perIp
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
		/**
		 * A frame arriving from `from`, then gossipsub finding `bad` of its messages invalid (a bad signature).
		 *
		 * @param {string} from
		 * @param {{ messages?: number, bad?: number, subscriptions?: number }} counts
		 */
		const frame = async (from, { messages = 0, bad = 0, subscriptions = 0 }) => {
			await pubsub.handleReceivedRpc(peer(from), {
				subscriptions: Array.from({ length: subscriptions }, (_, i) => ({ topic: `stanza/${i}`, subscribe: true })),
				messages: Array.from({ length: messages }, () => ({ topic: 'stanza/room/1/x', data: new Uint8Array(10) }))
			});
			for (let i = 0; i < bad; i++) pubsub.score.rejectInvalidMessage(from, 'stanza/room/1/x');
		};
		return { topicValidators, pubsub, events, refused, accepted, hungUp, limits, validate, frame, frames, invalid, tick: (/** @type {number} */ ms) => (now += ms) };
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

	it('the peers behind one IP share its rate: many identities each at their own rate forward no more than it, and none is hung up', () => {
		const ips = new Map([['a', '10.0.0.1'], ['b', '10.0.0.1'], ['c', '10.0.0.1'], ['d', '10.0.0.2'], ['relay2', '10.0.0.1']]);
		// Each peer: 1 message/s (bursts of BURST_SECONDS); each IP: 2 messages/s together.
		const t = setup({ ipOf: (p) => ips.get(p.toString()) ?? null, ipMessageRate: 2, ipByteRate: 1_000 });
		/** @type {Record<string, number>} */
		const passed = { a: 0, b: 0, c: 0, d: 0, relay2: 0 };
		for (let second = 0; second < 60; second++) {
			for (const p of Object.keys(passed)) if (t.validate(p, 10) === 'accept') passed[p]++;
			t.tick(1_000);
		}
		// 10.0.0.1's three peers: the IP's burst (8) and 2 a second after, not 3 × 60.
		expect(passed.a + passed.b + passed.c).toBe(2 * BURST_SECONDS + 2 * 59);
		expect(Math.min(passed.a, passed.b, passed.c)).toBeGreaterThan(0);
		expect(passed.d).toBe(60); // another IP is not held back
		expect(passed.relay2).toBe(60); // nor a federated relay, whatever address it has
		expect(t.refused.filter((r) => r === 'gossip_ip_rate').length).toBe(3 * 60 - (2 * BURST_SECONDS + 2 * 59));
		expect(t.refused).not.toContain('gossip_rate');
		// Dropped for its IP, not for itself: no strikes (an honest peer may share a NAT with a flooder).
		expect(t.hungUp).toEqual([]);
		expect(t.limits.strikes.size).toBe(0);
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

	it('forgets a peer on disconnect and restores the validator table and gossipsub\'s hooks on stop (twice is safe)', async () => {
		const t = setup();
		t.validate('a', 1);
		t.events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer('a') }));
		expect(t.limits.buckets.size).toBe(0);
		t.limits.stop();
		t.limits.stop();
		expect(t.topicValidators.get('stanza/room/1/x')).toBeUndefined();
		await t.frame('a', { subscriptions: 500, bad: 1 });
		expect(t.frames).toEqual([{ from: 'a', subscriptions: 500, messages: 0 }]);
		expect(t.invalid).toEqual(['a stanza/room/1/x']);
		expect(t.refused).toEqual([]);
	});

	it('counts each message that fails gossipsub\'s signature check as a strike, and hangs up on a peer that keeps sending them', async () => {
		const t = setup();
		// Never reaching the validator, bad signatures took nothing from any bucket: a peer could send them forever.
		await t.frame('forger', { messages: BURST_SECONDS, bad: BURST_SECONDS });
		expect(t.hungUp).toEqual([]);
		await t.frame('forger', { messages: 1, bad: 1 });
		expect(t.hungUp).toEqual(['forger']);
		expect(t.refused.filter((r) => r === 'gossip_invalid')).toHaveLength(BURST_SECONDS + 1);
		// gossipsub's own score is still told.
		expect(t.invalid).toHaveLength(BURST_SECONDS + 1);
		// A federated relay is counted, never hung up on.
		await t.frame('relay2', { messages: 10 * BURST_SECONDS, bad: 10 * BURST_SECONDS });
		expect(t.hungUp).toEqual(['forger']);
	});

	it('drops the messages of frames from a peer being hung up before gossipsub checks their signatures', async () => {
		const t = setup();
		for (let i = 0; i <= 2 * BURST_SECONDS; i++) t.validate('f', 10);
		expect(t.hungUp).toEqual(['f']);
		await t.frame('f', { messages: 16, subscriptions: 1 });
		expect(t.frames.at(-1)).toEqual({ from: 'f', subscriptions: 1, messages: 0 });
		// Another peer's frames pass whole; so do f's once it is gone and back.
		await t.frame('b', { messages: 16 });
		expect(t.frames.at(-1)).toEqual({ from: 'b', subscriptions: 0, messages: 16 });
		t.events.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer('f') }));
		await t.frame('f', { messages: 1 });
		expect(t.frames.at(-1)).toEqual({ from: 'f', subscriptions: 0, messages: 1 });
	});

	it('cuts a browser\'s frame to MAX_SUBSCRIPTIONS_PER_FRAME subscriptions; a federated relay sends all it carries', async () => {
		const t = setup();
		await t.frame('a', { subscriptions: 5000 });
		await t.frame('a', { subscriptions: MAX_SUBSCRIPTIONS_PER_FRAME });
		await t.frame('relay2', { subscriptions: 4096 });
		expect(t.frames.map((f) => f.subscriptions)).toEqual([MAX_SUBSCRIPTIONS_PER_FRAME, MAX_SUBSCRIPTIONS_PER_FRAME, 4096]);
		expect(t.refused).toEqual(['subscriptions_per_frame']);
	});
});
