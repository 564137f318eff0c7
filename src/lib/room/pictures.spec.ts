import { describe, expect, it } from 'vitest';
import { FIRST_RETRY_MS, MAX_KEPT, MAX_PARALLEL, MAX_RETRY_MS, MAX_WAITING, Pictures } from './pictures';

/** A fetch the test answers by hand: each call waits until `answer` is called for its digest. */
function harness() {
	let now = 0;
	const calls: { peerId: string; digest: string; answer: (bytes: Uint8Array | null) => void }[] = [];
	const released: string[] = [];
	let changes = 0;
	const pictures = new Pictures<string>({
		fetch: (peerId, digest) => new Promise((resolve) => calls.push({ peerId, digest, answer: resolve })),
		show: (bytes) => `shown:${new TextDecoder().decode(bytes)}`,
		release: (shown) => released.push(shown),
		onChange: () => changes++,
		now: () => now
	});
	const answer = async (digest: string, bytes: Uint8Array | null) => {
		calls.findLast((c) => c.digest === digest)!.answer(bytes);
		await new Promise((resolve) => setTimeout(resolve, 0));
	};
	return { pictures, calls, released, answer, changes: () => changes, advance: (ms: number) => (now += ms) };
}
const bytes = (s: string) => new TextEncoder().encode(s);

describe('Pictures', () => {
	it('asks the owner once per digest, shows the picture once it came, and says so', async () => {
		const h = harness();
		expect(h.pictures.get('ana', 'd1')).toBeNull();
		expect(h.pictures.get('ana', 'd1')).toBeNull();
		expect(h.calls.map((c) => `${c.peerId} ${c.digest}`)).toEqual(['ana d1']);
		await h.answer('d1', bytes('ana'));
		expect(h.changes()).toBe(1);
		expect(h.pictures.get('ana', 'd1')).toBe('shown:ana');
		expect(h.calls).toHaveLength(1);
	});

	it('peeks at a kept picture without asking anyone (its owner has left)', async () => {
		const h = harness();
		expect(h.pictures.peek('d1')).toBeNull();
		expect(h.calls).toHaveLength(0);
		h.pictures.get('ana', 'd1');
		await h.answer('d1', bytes('ana'));
		expect(h.pictures.peek('d1')).toBe('shown:ana');
		expect(h.calls).toHaveLength(1);
	});

	it(`asks ${MAX_PARALLEL} at a time, the most recently wanted next, and keeps at most ${MAX_WAITING} waiting`, async () => {
		const h = harness();
		for (let i = 0; i < MAX_WAITING + 10; i++) h.pictures.get(`p${i}`, `d${i}`);
		expect(h.calls.map((c) => c.digest)).toEqual(['d0', 'd1']);
		await h.answer('d0', bytes('0'));
		expect(h.calls.at(-1)!.digest).toBe(`d${MAX_WAITING + 9}`);
		for (let answered = 1; answered < h.calls.length; answered++) await h.answer(h.calls[answered].digest, null);
		// d0 and d1 were asked at once; of the rest, the MAX_WAITING most recently wanted: d2 … d9 fell off.
		expect(h.calls).toHaveLength(2 + MAX_WAITING);
		expect(h.calls.map((c) => c.digest)).not.toContain('d9');
		expect(h.calls.map((c) => c.digest)).toContain('d10');
	});

	it('asks again for a picture that failed (owner not reachable yet, gone, refusing) after 5 s, doubling up to a minute', async () => {
		const h = harness();
		h.pictures.get('ana', 'd1');
		await h.answer('d1', null);
		for (const wait of [FIRST_RETRY_MS, 10_000, 20_000, 40_000, MAX_RETRY_MS, MAX_RETRY_MS]) {
			const asked = h.calls.length;
			h.advance(wait - 1);
			h.pictures.get('bea', 'd1');
			expect(h.calls.length, `not asked again ${wait - 1} ms after`).toBe(asked);
			h.advance(1);
			h.pictures.get('bea', 'd1');
			expect(h.calls.length, `asked again ${wait} ms after`).toBe(asked + 1);
			await h.answer('d1', null);
		}
		h.advance(MAX_RETRY_MS);
		h.pictures.get('bea', 'd1');
		await h.answer('d1', bytes('bea'));
		expect(h.pictures.get('bea', 'd1')).toBe('shown:bea');
	});

	it(`keeps the ${MAX_KEPT} most recently shown, releasing the others`, async () => {
		const h = harness();
		h.pictures.put('mine', bytes('me'));
		for (let i = 0; i < MAX_KEPT; i++) {
			h.pictures.get('mine-owner', 'mine'); // shown all along: kept
			h.pictures.put(`d${i}`, bytes(String(i)));
		}
		expect(h.released).toEqual(['shown:0']);
		expect(h.pictures.get('x', 'mine')).toBe('shown:me');
		expect(h.calls).toHaveLength(0);
	});

	it('asks nothing more, and releases everything, once stopped', async () => {
		const h = harness();
		h.pictures.put('mine', bytes('me'));
		h.pictures.get('ana', 'd1');
		h.pictures.stop();
		await h.answer('d1', bytes('late'));
		expect(h.released).toEqual(['shown:me']);
		expect(h.pictures.get('bea', 'd2')).toBeNull();
		expect(h.calls).toHaveLength(1);
		expect(h.changes()).toBe(0);
	});
});
