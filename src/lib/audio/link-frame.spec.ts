import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLinkFrame, encodeLinkFrame, FRAME_VERSION, LinkFrameError, MAX_FRAME_PACKETS, MAX_PACKET_BYTES, RedundantSender } from './link-frame';
import { decodePacket, encodePacket, HEADER_BYTES, SIGNATURE_BYTES } from './packet-codec';
import { seededRandom } from './tree-simulation';

const SIG = new Uint8Array(SIGNATURE_BYTES).fill(7);
/** A speaker's packet with a stand-in signature (packet-auth.spec.ts checks real ones). */
const packet = (seq: number, payload = new Uint8Array([0xfc, seq & 0xff])) =>
	encodePacket({ flags: 0, speakerTag: 0x01020304, seq, captureTs: (seq * 960) >>> 0, payload }, SIG);

describe('link frame', () => {
	it('sends a lone packet bare, byte for byte', () => {
		const p = packet(1);
		expect(encodeLinkFrame([p])).toBe(p);
		expect(decodeLinkFrame(p)).toEqual([p]);
	});

	it('writes the documented layout: version, count, then length-prefixed packets newest first', () => {
		const a = packet(2);
		const b = packet(1);
		const bytes = encodeLinkFrame([a, b]);
		expect([...bytes.subarray(0, 4)]).toEqual([FRAME_VERSION, 2, 0, a.length]);
		expect(bytes.subarray(4, 4 + a.length)).toEqual(a);
		expect([...bytes.subarray(4 + a.length, 6 + a.length)]).toEqual([0, b.length]);
		expect(bytes.length).toBe(2 + 2 + a.length + 2 + b.length);
	});

	it('round-trips any 1 to 3 packets, each still a valid packet', () => {
		fc.assert(
			fc.property(
				fc.array(fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.uint8Array({ maxLength: 1275 })), { minLength: 1, maxLength: MAX_FRAME_PACKETS }),
				(specs) => {
					const packets = specs.map(([seq, payload]) => packet(seq, payload));
					const back = decodeLinkFrame(encodeLinkFrame(packets));
					expect(back).toEqual(packets);
					back.forEach((p, i) => expect(decodePacket(p).seq).toBe(specs[i][0]));
				}
			)
		);
	});

	it('refuses what it would not send', () => {
		expect(() => encodeLinkFrame([])).toThrow(LinkFrameError);
		expect(() => encodeLinkFrame([packet(1), packet(2), packet(3), packet(4)])).toThrow(/at most 3/);
		expect(() => encodeLinkFrame([packet(1), new Uint8Array(HEADER_BYTES - 1).fill(2)])).toThrow(/14 to/);
		expect(() => encodeLinkFrame([packet(1), encodeLinkFrame([packet(2), packet(3)])])).toThrow(/version 2, got version 3/);
	});

	it('refuses malformed frames with a clear error', () => {
		const good = encodeLinkFrame([packet(2), packet(1)]);
		const cases: [string, Uint8Array, RegExp][] = [
			['empty', new Uint8Array(0), /empty/],
			['no count', new Uint8Array([FRAME_VERSION]), /too short/],
			['count 1', Uint8Array.of(FRAME_VERSION, 1, ...good.subarray(2)), /2 to 3/],
			['count 4', Uint8Array.of(FRAME_VERSION, 4, ...good.subarray(2)), /2 to 3/],
			['cut short', good.subarray(0, good.length - 1), /remain/],
			['cut at a length', good.subarray(0, 4 + packet(2).length + 1), /ends before packet 2/],
			['trailing bytes', Uint8Array.of(...good, 0), /1 bytes after/],
			['a packet too big', Uint8Array.of(FRAME_VERSION, 2, 0xff, 0xff, ...new Uint8Array(0xffff)), /14 to/],
			['a nested frame', Uint8Array.of(FRAME_VERSION, 2, 0, 16, FRAME_VERSION, 2, ...new Uint8Array(14), 0, 14, 2, ...new Uint8Array(13)), /got version 3/]
		];
		for (const [name, bytes, message] of cases) {
			expect(() => decodeLinkFrame(bytes), name).toThrow(LinkFrameError);
			expect(() => decodeLinkFrame(bytes), name).toThrow(message);
		}
	});

	it('never throws anything but LinkFrameError on arbitrary or mutated bytes, and yields only bounded packets', () => {
		const good = encodeLinkFrame([packet(9), packet(8), packet(7)]);
		const check = (bytes: Uint8Array) => {
			try {
				const packets = decodeLinkFrame(bytes);
				expect(packets.length).toBeLessThanOrEqual(MAX_FRAME_PACKETS);
				if (bytes[0] === FRAME_VERSION) for (const p of packets) expect(p.length).toBeLessThanOrEqual(MAX_PACKET_BYTES);
			} catch (error) {
				expect(error).toBeInstanceOf(LinkFrameError);
			}
		};
		fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => check(Uint8Array.of(FRAME_VERSION, ...bytes))), { numRuns: 5_000 });
		fc.assert(
			fc.property(fc.array(fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
				const bytes = good.slice();
				for (const [at, value] of edits) bytes[at] = value;
				check(bytes);
			}),
			{ numRuns: 5_000 }
		);
	});
});

describe('redundant sender', () => {
	it('carries the previous packet again while it is fresh, and never an old one', () => {
		const sender = new RedundantSender(100);
		expect(decodeLinkFrame(sender.frame(packet(1), 0))).toEqual([packet(1)]);
		expect(decodeLinkFrame(sender.frame(packet(2), 20))).toEqual([packet(2), packet(1)]);
		expect(decodeLinkFrame(sender.frame(packet(3), 40))).toEqual([packet(3), packet(2)]);
		// A speaker that paused: what it said 300 ms ago is past playing, so it is not sent again.
		expect(decodeLinkFrame(sender.frame(packet(4), 340))).toEqual([packet(4)]);
	});

	/**
	 * A chain of `hops` links, each losing `loss` of its messages at random.
	 * Every member takes a packet once (as stream-guard.ts does) and forwards
	 * what it took, recovered copies included, through its own sender: the
	 * relaying done in audio-room.ts, with these frames.
	 */
	function lostAtEnd(hops: number, loss: number, redundant: boolean, frames = 20_000): number {
		const random = seededRandom(hops * 1000 + Math.round(loss * 100));
		const senders = Array.from({ length: hops }, () => new RedundantSender(100));
		const taken = Array.from({ length: hops }, () => new Set<number>());
		const send = (hop: number, bytes: Uint8Array, now: number): void => {
			const message = redundant ? senders[hop].frame(bytes, now) : bytes;
			if (random() < loss) return;
			for (const p of decodeLinkFrame(message)) {
				const seq = decodePacket(p).seq;
				if (taken[hop].has(seq)) continue;
				taken[hop].add(seq);
				if (hop + 1 < hops) send(hop + 1, p, now);
			}
		};
		for (let seq = 0; seq < frames; seq++) send(0, packet(seq), seq * 20);
		return 1 - taken[hops - 1].size / frames;
	}

	it('keeps 5 % loss on every link from adding up: under 1 % lost at depth 3 (14 % without it)', () => {
		const without = lostAtEnd(3, 0.05, false);
		const withRedundancy = lostAtEnd(3, 0.05, true);
		expect(without).toBeGreaterThan(0.12);
		expect(without).toBeLessThan(0.16);
		// p² per hop, three hops: ~0.75 %.
		expect(withRedundancy).toBeLessThan(0.01);
		expect(withRedundancy).toBeGreaterThan(0);
	});
});
