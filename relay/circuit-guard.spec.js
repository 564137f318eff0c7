// @ts-check
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { guardCircuits, traceHopRequests } from './circuit-guard.js';

/** @param {string} id */
const peer = (id) => /** @type {import('@libp2p/interface').PeerId} */ (/** @type {unknown} */ ({ toString: () => id }));

/**
 * A relay server in memory, shaped as circuit-relay-v2's: its hop handler asks the gater (the guard)
 * about each request, with the request's stream and connection known through traceHopRequests. A
 * connection's fake address is just its client IP; a peer may hold connections from several.
 */
function setup({ maxPerIp = 3, rate = 1, burstSeconds = 4, exempt = /** @type {(peer: string) => boolean} */ (() => false) } = {}) {
	let clock = 0;
	/** @type {Array<[string, string]>} */
	const refused = [];
	const guard = guardCircuits({
		ipOf: (addr) => /** @type {{ ip: string }} */ (/** @type {unknown} */ (addr)).ip,
		maxPerIp,
		rate,
		burstSeconds,
		exempt,
		refuse: (limit, ip) => void refused.push([limit, ip]),
		now: () => clock
	});
	const server = {
		/**
		 * @param {{ status: string }} stream
		 * @param {{ remoteAddr: any, remotePeer: string }} connection
		 */
		// The real one reads the request first: the gater is asked after an await.
		onHop: async (stream, connection) => {
			await Promise.resolve();
			return !guard.deny(peer(connection.remotePeer));
		}
	};
	traceHopRequests(server);
	return {
		guard,
		refused,
		/**
		 * A circuit request from `id` on its connection from `ip`; let through, the circuit's stream is
		 * returned (open until closed or reset), refused, null.
		 * @param {string} id
		 * @param {string} ip
		 */
		async open(id, ip) {
			const stream = { status: 'open' };
			const passed = await /** @type {(s: unknown, c: unknown) => Promise<boolean>} */ (server.onHop)(stream, { remoteAddr: { ip }, remotePeer: id });
			return passed ? stream : null;
		},
		/** @param {number} ms */
		advance(ms) {
			clock += ms;
		}
	};
}

describe('guardCircuits', () => {
	it('counts the circuits let through behind an IP across its peers, and refuses one past the most', async () => {
		const t = setup({ maxPerIp: 3, rate: 100 });
		const held = [await t.open('a', '10.0.0.1'), await t.open('a', '10.0.0.1'), await t.open('b', '10.0.0.1')];
		expect(held.every((s) => s !== null)).toBe(true);
		expect(t.guard.circuitsOf('10.0.0.1')).toBe(3);
		// A fourth from either peer of that IP is refused; another IP is not held back by it.
		expect(await t.open('b', '10.0.0.1')).toBeNull();
		expect(await t.open('a', '10.0.0.1')).toBeNull();
		expect(await t.open('c', '10.0.0.2')).not.toBeNull();
		expect(t.refused).toEqual([
			['circuits_per_ip', '10.0.0.1'],
			['circuits_per_ip', '10.0.0.1']
		]);
		// A circuit reset or closed at both ends makes room again; refused requests never counted.
		/** @type {{ status: string }} */ (held[0]).status = 'reset';
		expect(await t.open('b', '10.0.0.1')).not.toBeNull();
		/** @type {{ status: string }} */ (held[1]).status = 'closed';
		expect(t.guard.circuitsOf('10.0.0.1')).toBe(2);
	});

	it('counts a circuit its dialer half-closed: it still carries the other way', async () => {
		const t = setup({ maxPerIp: 1, rate: 100 });
		const circuit = await t.open('a', '10.0.0.1');
		// Its dialer closed its side: the stream is closing, not closed, and stays counted.
		/** @type {{ status: string }} */ (circuit).status = 'closing';
		expect(await t.open('a', '10.0.0.1')).toBeNull();
	});

	it('charges a circuit to the IP of the connection its request came on, not to another of its peer’s', async () => {
		const t = setup({ maxPerIp: 2, rate: 100 });
		// One identity on an idle connection from 10.0.0.1 and a busy one from 10.0.0.2.
		expect(await t.open('a', '10.0.0.2')).not.toBeNull();
		expect(await t.open('a', '10.0.0.2')).not.toBeNull();
		expect(await t.open('a', '10.0.0.2')).toBeNull();
		expect([t.guard.circuitsOf('10.0.0.1'), t.guard.circuitsOf('10.0.0.2')]).toEqual([0, 2]);
		expect(await t.open('a', '10.0.0.1')).not.toBeNull();
	});

	it('refuses circuits opened faster than the rate past a burst, per IP, and refills', async () => {
		const t = setup({ maxPerIp: 1_000, rate: 2, burstSeconds: 4 });
		// Each circuit ends at once: only the rate holds them back. A burst is 2 × 4 = 8.
		const burst = [];
		for (let i = 0; i < 10; i++) {
			const circuit = await t.open('a', '10.0.0.1');
			if (circuit) circuit.status = 'closed';
			burst.push(circuit !== null);
		}
		expect(burst).toEqual([true, true, true, true, true, true, true, true, false, false]);
		expect(t.refused.every(([limit, ip]) => limit === 'circuit_rate' && ip === '10.0.0.1')).toBe(true);
		expect(await t.open('b', '10.0.0.2')).not.toBeNull();
		t.advance(500); // one more token
		expect(await t.open('a', '10.0.0.1')).not.toBeNull();
		expect(await t.open('a', '10.0.0.1')).toBeNull();
	});

	it('takes no token for a circuit refused by the count', async () => {
		const t = setup({ maxPerIp: 1, rate: 1, burstSeconds: 2 });
		const circuit = await t.open('a', '10.0.0.1');
		for (let i = 0; i < 5; i++) expect(await t.open('a', '10.0.0.1')).toBeNull();
		/** @type {{ status: string }} */ (circuit).status = 'reset';
		// Two tokens in the burst, one spent: the next circuit passes.
		expect(await t.open('a', '10.0.0.1')).not.toBeNull();
	});

	it('never limits exempt peers (federated relays), and refuses a request it cannot place', async () => {
		const t = setup({ maxPerIp: 1, rate: 1, burstSeconds: 1, exempt: (p) => p === 'relay2' });
		for (let i = 0; i < 5; i++) expect(await t.open('relay2', '10.0.0.9')).not.toBeNull();
		expect(t.refused).toEqual([]);
		// Asked outside a traced hop request (the server's shape changed under us): refused.
		expect(t.guard.deny(peer('a'))).toBe(true);
	});

	it('refuses to wrap a relay server of an unknown shape', () => {
		expect(() => traceHopRequests({})).toThrow(/unknown shape/);
	});

	it('property: behind no IP are more circuits open than the most, and no IP opens more than its rate allows', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(
					fc.record({ peer: fc.integer({ min: 0, max: 7 }), ip: fc.integer({ min: 0, max: 2 }), act: fc.constantFrom('open', 'open', 'end', 'half', 'advance'), ms: fc.integer({ min: 0, max: 3_000 }) }),
					{ maxLength: 200 }
				),
				async (steps) => {
					const rate = 2;
					const burstSeconds = 3;
					const t = setup({ maxPerIp: 4, rate, burstSeconds });
					/** @type {Array<{ status: string, ip: string }>} */
					const circuits = [];
					/** @type {Map<string, number[]>} ip → when each circuit let through was opened */
					const opened = new Map();
					let clock = 0;
					for (const { peer: p, ip: i, act, ms } of steps) {
						const ip = `10.0.0.${i}`;
						const mine = circuits.filter((c) => c.ip === ip && (c.status === 'open' || c.status === 'closing'));
						if (act === 'advance') {
							t.advance(ms);
							clock += ms;
						} else if (act === 'end') {
							if (mine[0]) mine[0].status = 'reset';
						} else if (act === 'half') {
							if (mine[0]) mine[0].status = 'closing';
						} else {
							const circuit = await t.open(`p${p}`, ip);
							if (circuit) {
								circuits.push(Object.assign(circuit, { ip }));
								opened.set(ip, [...(opened.get(ip) ?? []), clock]);
							}
						}
						for (let n = 0; n < 3; n++) {
							const live = circuits.filter((c) => c.ip === `10.0.0.${n}` && (c.status === 'open' || c.status === 'closing')).length;
							expect(live).toBeLessThanOrEqual(4);
							expect(t.guard.circuitsOf(`10.0.0.${n}`)).toBe(live);
						}
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
