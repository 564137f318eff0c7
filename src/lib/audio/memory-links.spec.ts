import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../net/virtual-clock';
import type { LinkPipe, SignalPort } from './link-pipe';
import { MemoryLinks } from './memory-links';
import type { SignalMessage } from './media-signal-protocol';
import { seededRandom } from './tree-simulation';

const clock = new VirtualClock(0);
afterEach(() => clock.uninstall());

/** The two ends of a signaling stream, in memory. */
function signaling(): [SignalPort, SignalPort] {
	const queues: SignalMessage[][] = [[], []];
	const waiting: ((m: SignalMessage) => void)[][] = [[], []];
	const signal = new AbortController().signal;
	const end = (me: number): SignalPort => ({
		signal,
		send: async (m) => {
			const w = waiting[1 - me].shift();
			if (w) w(m);
			else queues[1 - me].push(m);
		},
		receive: () => new Promise((resolve) => (queues[me].length > 0 ? resolve(queues[me].shift()!) : waiting[me].push(resolve)))
	});
	return [end(0), end(1)];
}

async function link(links: MemoryLinks): Promise<[LinkPipe, LinkPipe]> {
	const [dialer, answerer] = [links.transport('a').create({ voice: false, iceServers: [] }), links.transport('b').create({ voice: false, iceServers: [] })];
	const [ours, theirs] = signaling();
	const both = Promise.all([dialer.offer(ours), answerer.answer(theirs)]);
	await clock.advance(100);
	await both;
	return [dialer.pipe, answerer.pipe];
}

describe('MemoryLinks (the media-link port in memory)', () => {
	it('opens both ends one latency after the answer, and delivers each message after the latency', async () => {
		clock.install();
		const links = new MemoryLinks({ latencyMs: 20 });
		const [a, b] = await link(links);
		expect(a.open && b.open).toBe(true);
		const got: number[] = [];
		b.onMessage = (bytes) => got.push(bytes[0]);
		a.send(new Uint8Array([7]));
		await clock.advance(19);
		expect(got).toEqual([]);
		await clock.advance(1);
		expect(got).toEqual([7]);
		expect(links.openPipes('a')).toBe(1);
	});

	it('loses the share of messages it is told to, and closes the far end when one end closes', async () => {
		clock.install();
		const links = new MemoryLinks({ latencyMs: 10, loss: 0.25, random: seededRandom(3) });
		const [a, b] = await link(links);
		let got = 0;
		b.onMessage = () => got++;
		for (let i = 0; i < 1000; i++) a.send(new Uint8Array([i & 0xff]));
		await clock.advance(20);
		expect(got).toBeGreaterThan(700);
		expect(got).toBeLessThan(800);
		let closed = false;
		b.onClose = () => (closed = true);
		a.close();
		await clock.advance(10);
		expect(closed).toBe(true);
		expect(() => a.send(new Uint8Array([1]))).toThrow();
	});

	it('goes dead without closing when its owner crashes: nothing in or out, the far end left to notice the silence', async () => {
		clock.install();
		const links = new MemoryLinks({ latencyMs: 10 });
		const [a, b] = await link(links);
		let toB = 0;
		let toA = 0;
		let closed = false;
		b.onMessage = () => toB++;
		a.onMessage = () => toA++;
		b.onClose = () => (closed = true);
		links.crash('a');
		a.send(new Uint8Array([1]));
		b.send(new Uint8Array([2]));
		a.close();
		await clock.advance(50);
		expect([toA, toB, closed, b.open]).toEqual([0, 0, false, true]);
	});

	it('refuses an answer to an offer it never made', async () => {
		const links = new MemoryLinks();
		const [ours, theirs] = signaling();
		await ours.send({ t: 'offer', sdp: 'v=0\r\ns=stanza-memory-link nobody/1' });
		await expect(links.transport('b').create({ voice: false, iceServers: [] }).answer(theirs)).rejects.toThrow('no such offer');
	});
});
