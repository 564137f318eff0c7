// @ts-check
import { describe, expect, it } from 'vitest';
import { BURST_SECONDS } from './gossip-limits.js';
import { createGoodbyePost, MAX_GOODBYE_BODY } from './goodbye.js';

const TOPIC = `stanza/room/1/${'ab'.repeat(16)}`;
const SEALED = Buffer.from('sealed goodbye bytes').toString('base64');

function setup(carried = [TOPIC]) {
	/** @type {Array<{ topic: string, data: Uint8Array }>} */
	const published = [];
	/** @type {string[]} */
	const refused = [];
	let clock = 0;
	const goodbyes = createGoodbyePost({
		publish: async (topic, data) => void published.push({ topic, data }),
		carries: (topic) => carried.includes(topic),
		perIpRate: 1,
		totalRate: 3,
		refuse: (limit) => void refused.push(limit),
		now: () => clock
	});
	return { post: goodbyes.post, addresses: goodbyes.addresses, published, refused, tick: (/** @type {number} */ ms) => (clock += ms) };
}

describe('POST /v1/goodbye', () => {
	it('publishes the sealed bytes, unread, on a topic the relay carries', () => {
		const { post, published } = setup();
		expect(post('1.2.3.4', `${TOPIC}\n${SEALED}`)).toMatchObject({ status: 202 });
		expect(published).toHaveLength(1);
		expect(published[0].topic).toBe(TOPIC);
		expect(Buffer.from(published[0].data).toString()).toBe('sealed goodbye bytes');
	});

	it.each([
		['no newline', `${TOPIC}${SEALED}`],
		['a topic that is not a room', `stanza/other\n${SEALED}`],
		['a topic with a bad id', `stanza/room/1/XYZ\n${SEALED}`],
		['a body that is not base64', `${TOPIC}\nnot base64!`],
		['an empty body', `${TOPIC}\n`],
		['nothing', '']
	])('refuses %s with 400 and publishes nothing', (_label, body) => {
		const { post, published, refused } = setup();
		expect(post('1.2.3.4', body).status).toBe(400);
		expect(published).toHaveLength(0);
		expect(refused).toEqual(['goodbye_malformed']);
	});

	it('refuses a room the relay does not carry (nobody there to tell, or a probe)', () => {
		const { post, published, refused } = setup([]);
		expect(post('1.2.3.4', `${TOPIC}\n${SEALED}`).status).toBe(404);
		expect(published).toHaveLength(0);
		expect(refused).toEqual(['goodbye_topic']);
	});

	it('limits each address, and everyone together', () => {
		const { post, published, refused, tick } = setup();
		const body = `${TOPIC}\n${SEALED}`;
		const statuses = Array.from({ length: BURST_SECONDS + 2 }, () => post('1.1.1.1', body).status);
		expect(statuses.filter((s) => s === 202)).toHaveLength(BURST_SECONDS);
		expect(statuses.slice(-2)).toEqual([429, 429]);
		// Other addresses share the total bucket (3/s, burst 3 × BURST_SECONDS), of which 1.1.1.1 used BURST_SECONDS.
		let others = 0;
		for (let i = 0; i < 100; i++) if (post(`10.0.0.${i}`, body).status === 202) others++;
		expect(others).toBe(3 * BURST_SECONDS - BURST_SECONDS);
		expect(published).toHaveLength(3 * BURST_SECONDS);
		expect(refused.every((r) => r === 'goodbye_rate')).toBe(true);
		tick(1_000);
		expect(post('1.1.1.1', body).status).toBe(202);
	});

	it('keeps bounded memory however many addresses come', () => {
		const { post, addresses, tick } = setup();
		for (let i = 0; i < 5_000; i++) {
			expect(post(`10.${i >> 8}.${i & 255}.1`, `${TOPIC}\n${SEALED}`).status).toBe(202);
			tick(10_000);
		}
		// Each address sent once, long ago: pruned whenever the table passes its bound.
		expect(addresses()).toBeLessThanOrEqual(1_025);
		expect(addresses()).toBeGreaterThan(0);
		expect(MAX_GOODBYE_BODY).toBeGreaterThan(`${TOPIC}\n${SEALED}`.length);
	});
});
