// @ts-check
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { guardCircuits } from './circuit-guard.js';

/** @param {string} id */
const peer = (id) => /** @type {import('@libp2p/interface').PeerId} */ (/** @type {unknown} */ ({ toString: () => id }));

/**
 * The relay's connections, in memory: each peer's one connection from a client IP, with the
 * streams open on it. The fake address is just the client IP.
 */
function setup({ maxPerIp = 3, rate = 1, burstSeconds = 4, exempt = /** @type {(peer: string) => boolean} */ (() => false) } = {}) {
	/** @type {Map<string, { remotePeer: { toString(): string }, remoteAddr: any, streams: { protocol: string, remoteWriteStatus: string }[] }>} */
	const byPeer = new Map();
	let clock = 0;
	/** @type {Array<[string, string]>} */
	const refused = [];
	const guard = guardCircuits({
		connections: (p) => (p ? [byPeer.get(p.toString())].filter((c) => c !== undefined) : [...byPeer.values()]),
		ipOf: (addr) => /** @type {{ ip: string }} */ (/** @type {unknown} */ (addr)).ip,
		maxPerIp,
		rate,
		burstSeconds,
		exempt,
		refuse: (limit, ip) => void refused.push([limit, ip]),
		now: () => clock
	});
	return {
		guard,
		refused,
		/** @param {string} id @param {string} ip */
		connect(id, ip) {
			byPeer.set(id, { remotePeer: { toString: () => id }, remoteAddr: { ip }, streams: [{ protocol: '/meshsub/1.1.0', remoteWriteStatus: 'writable' }] });
		},
		/** @param {string} id */
		disconnect: (id) => void byPeer.delete(id),
		/**
		 * What the relay server does for a circuit request: the hop stream is open on the dialer's
		 * connection while the gater is asked; refused, it closes.
		 * @param {string} id
		 * @returns {boolean} whether the circuit was let through (it stays open until `end`)
		 */
		open(id) {
			const c = byPeer.get(id);
			const stream = { protocol: RELAY_V2_HOP_CODEC, remoteWriteStatus: 'writable' };
			c?.streams.push(stream);
			const denied = guard.deny(peer(id));
			if (denied && c) c.streams.splice(c.streams.indexOf(stream), 1);
			return !denied;
		},
		/** @param {string} id its dialer closes its side of one of its circuits; the relay's side stays listed */
		halfClose(id) {
			const stream = byPeer.get(id)?.streams.find((s) => s.protocol === RELAY_V2_HOP_CODEC && s.remoteWriteStatus === 'writable');
			if (stream) stream.remoteWriteStatus = 'closed';
		},
		/** @param {string} id ends one of its circuits */
		end(id) {
			const c = byPeer.get(id);
			const i = c?.streams.findIndex((s) => s.protocol === RELAY_V2_HOP_CODEC) ?? -1;
			if (c && i >= 0) c.streams.splice(i, 1);
		},
		/** @param {number} ms */
		advance(ms) {
			clock += ms;
		}
	};
}

describe('guardCircuits', () => {
	it('counts the circuits open behind an IP across its peers, and refuses one past the most', () => {
		const t = setup({ maxPerIp: 3, rate: 100 });
		t.connect('a', '10.0.0.1');
		t.connect('b', '10.0.0.1');
		t.connect('c', '10.0.0.2');
		expect([t.open('a'), t.open('a'), t.open('b')]).toEqual([true, true, true]);
		expect(t.guard.circuitsOf('10.0.0.1')).toBe(3);
		// A fourth from either peer of that IP is refused; another IP is not held back by it.
		expect(t.open('b')).toBe(false);
		expect(t.open('a')).toBe(false);
		expect(t.open('c')).toBe(true);
		expect(t.refused).toEqual([
			['circuits_per_ip', '10.0.0.1'],
			['circuits_per_ip', '10.0.0.1']
		]);
		// Circuits that end make room again; a peer that leaves takes its circuits with it.
		t.end('a');
		expect(t.open('b')).toBe(true);
		t.disconnect('a');
		expect(t.guard.circuitsOf('10.0.0.1')).toBe(2);
		expect(t.open('b')).toBe(true);
	});

	it('does not count a hop stream its dialer closed (a refusal or a reservation the relay never closed its side of)', () => {
		const t = setup({ maxPerIp: 2, rate: 100 });
		t.connect('a', '10.0.0.1');
		expect([t.open('a'), t.open('a')]).toEqual([true, true]);
		t.halfClose('a');
		expect(t.guard.circuitsOf('10.0.0.1')).toBe(1);
		expect(t.open('a')).toBe(true);
	});

	it('refuses circuits opened faster than the rate past a burst, per IP, and refills', () => {
		const t = setup({ maxPerIp: 1_000, rate: 2, burstSeconds: 4 });
		t.connect('a', '10.0.0.1');
		t.connect('b', '10.0.0.2');
		// Each circuit ends at once: only the rate holds them back. A burst is 2 × 4 = 8.
		const burst = [];
		for (let i = 0; i < 10; i++) {
			burst.push(t.open('a'));
			t.end('a');
		}
		expect(burst).toEqual([true, true, true, true, true, true, true, true, false, false]);
		expect(t.refused.every(([limit, ip]) => limit === 'circuit_rate' && ip === '10.0.0.1')).toBe(true);
		expect(t.open('b')).toBe(true);
		t.advance(500); // one more token
		expect(t.open('a')).toBe(true);
		expect(t.open('a')).toBe(false);
	});

	it('takes no token for a circuit refused by the count', () => {
		const t = setup({ maxPerIp: 1, rate: 1, burstSeconds: 2 });
		t.connect('a', '10.0.0.1');
		expect(t.open('a')).toBe(true);
		for (let i = 0; i < 5; i++) expect(t.open('a')).toBe(false);
		t.end('a');
		// Two tokens in the burst, one spent: the next circuit passes.
		expect(t.open('a')).toBe(true);
	});

	it('never limits exempt peers (federated relays), and refuses a dialer with no connection left', () => {
		const t = setup({ maxPerIp: 1, rate: 1, burstSeconds: 1, exempt: (p) => p === 'relay2' });
		t.connect('relay2', '10.0.0.9');
		for (let i = 0; i < 5; i++) expect(t.open('relay2')).toBe(true);
		expect(t.open('gone')).toBe(false);
		expect(t.refused).toEqual([]);
	});

	it('property: behind no IP are more circuits open than the most, and no IP opens more than its rate allows', () => {
		fc.assert(
			fc.property(
				fc.array(
					fc.record({ peer: fc.integer({ min: 0, max: 7 }), act: fc.constantFrom('open', 'open', 'end', 'advance', 'leave'), ms: fc.integer({ min: 0, max: 3_000 }) }),
					{ maxLength: 200 }
				),
				(steps) => {
					const rate = 2;
					const burstSeconds = 3;
					const t = setup({ maxPerIp: 4, rate, burstSeconds });
					const ipOf = (/** @type {number} */ p) => `10.0.0.${p % 3}`;
					for (let p = 0; p < 8; p++) t.connect(`p${p}`, ipOf(p));
					/** @type {Map<string, number[]>} ip → when each circuit let through was opened */
					const opened = new Map();
					let clock = 0;
					for (const { peer: p, act, ms } of steps) {
						if (act === 'advance') {
							t.advance(ms);
							clock += ms;
						} else if (act === 'end') t.end(`p${p}`);
						else if (act === 'leave') t.disconnect(`p${p}`);
						else if (t.open(`p${p}`)) opened.set(ipOf(p), [...(opened.get(ipOf(p)) ?? []), clock]);
						for (let ip = 0; ip < 3; ip++) expect(t.guard.circuitsOf(`10.0.0.${ip}`)).toBeLessThanOrEqual(4);
					}
					// A token bucket lets through at most its burst plus what refilled since the first.
					for (const times of opened.values()) {
						expect(times.length).toBeLessThanOrEqual(rate * burstSeconds + ((times[times.length - 1] - times[0]) / 1000) * rate);
					}
				}
			)
		);
	});
});
