import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
	decodePacket,
	encodePacket,
	FLAG_DTX,
	FLAG_MARKER,
	HEADER_BYTES,
	MAX_PAYLOAD_BYTES,
	PacketError,
	seqAdd,
	seqDiff,
	seqNewer,
	speakerTag,
	type AudioPacket
} from './packet-codec';

const packet = (over: Partial<AudioPacket> = {}): AudioPacket => ({
	flags: 0,
	speakerTag: 0x01020304,
	seq: 7,
	captureTs: 960 * 7,
	payload: new Uint8Array([0xfc, 0xff, 0xfe]),
	...over
});

/** A valid encoded packet with one header byte changed. */
function withByte(offset: number, value: number): Uint8Array {
	const bytes = encodePacket(packet());
	bytes[offset] = value;
	return bytes;
}

describe('audio packet codec', () => {
	it('writes the documented big-endian layout', () => {
		const bytes = encodePacket(packet({ flags: FLAG_DTX | FLAG_MARKER, seq: 0xa0b0c0d0, captureTs: 0x11223344 }));
		expect(Array.from(bytes)).toEqual([1, 0b11, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0, 0x11, 0x22, 0x33, 0x44, 0xfc, 0xff, 0xfe]);
	});

	it.each([
		['ordinary values', packet()],
		['wrap-around maxima', packet({ speakerTag: 0xffffffff, seq: 0xffffffff, captureTs: 0xffffffff })],
		['zeros', packet({ speakerTag: 0, seq: 0, captureTs: 0 })],
		['an empty payload (DTX)', packet({ flags: FLAG_DTX, payload: new Uint8Array() })],
		['the largest Opus frame', packet({ payload: new Uint8Array(MAX_PAYLOAD_BYTES).fill(0xab) })]
	])('round-trips %s', (_label, original) => {
		const decoded = decodePacket(encodePacket(original));
		expect({ ...decoded, payload: Array.from(decoded.payload) }).toEqual({ ...original, payload: Array.from(original.payload) });
	});

	it('decodes from a view that does not start at the beginning of its buffer', () => {
		const encoded = encodePacket(packet());
		const framed = new Uint8Array(encoded.length + 5);
		framed.set(encoded, 5);
		expect(decodePacket(framed.subarray(5)).seq).toBe(7);
	});

	it.each([
		['empty input', new Uint8Array()],
		['a truncated header', encodePacket(packet()).subarray(0, HEADER_BYTES - 1)],
		['version 0', withByte(0, 0)],
		['version 2', withByte(0, 2)],
		['a reserved flag bit', withByte(1, 0b100)],
		['the top flag bit', withByte(1, 0x80)],
		['a payload one byte over the Opus maximum', (() => {
			const bytes = new Uint8Array(HEADER_BYTES + MAX_PAYLOAD_BYTES + 1);
			bytes[0] = 1;
			return bytes;
		})()]
	])('refuses %s', (_label, bytes) => {
		expect(() => decodePacket(bytes)).toThrow(PacketError);
	});

	it('says what is wrong', () => {
		expect(() => decodePacket(new Uint8Array(3))).toThrow(/too short/);
		expect(() => decodePacket(withByte(0, 9))).toThrow(/unknown audio packet version 9/);
		expect(() => decodePacket(withByte(1, 4))).toThrow(/reserved flag bits/);
	});

	it.each([
		['a negative seq', packet({ seq: -1 })],
		['a seq of 2^32', packet({ seq: 2 ** 32 })],
		['a fractional timestamp', packet({ captureTs: 1.5 })],
		['reserved flags', packet({ flags: 0b1000 })],
		['an oversized payload', packet({ payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1) })]
	])('refuses to encode %s', (_label, bad) => {
		expect(() => encodePacket(bad)).toThrow(PacketError);
	});

	it('round-trips any valid packet (property)', () => {
		const u32 = fc.integer({ min: 0, max: 0xffffffff });
		const anyPacket = fc.record({
			flags: fc.integer({ min: 0, max: 3 }),
			speakerTag: u32,
			seq: u32,
			captureTs: u32,
			payload: fc.uint8Array({ maxLength: MAX_PAYLOAD_BYTES })
		});
		fc.assert(
			fc.property(anyPacket, (original) => {
				const decoded = decodePacket(encodePacket(original));
				expect(decoded.flags).toBe(original.flags);
				expect(decoded.speakerTag).toBe(original.speakerTag);
				expect(decoded.seq).toBe(original.seq);
				expect(decoded.captureTs).toBe(original.captureTs);
				expect(Array.from(decoded.payload)).toEqual(Array.from(original.payload));
			})
		);
	});

	it('refuses every corrupted version or flags byte (property)', () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (version, flags) => {
				fc.pre(version !== 1 || (flags & ~3) !== 0);
				const bytes = encodePacket(packet());
				bytes[0] = version;
				bytes[1] = flags;
				expect(() => decodePacket(bytes)).toThrow(PacketError);
			})
		);
	});
});

describe('speaker tag', () => {
	it('is the first 4 bytes of SHA-256 of the PeerId, big-endian', async () => {
		// SHA-256("abc") = ba7816bf 8f01cfea …
		expect(await speakerTag('abc')).toBe(0xba7816bf);
	});

	it('differs between PeerIds', async () => {
		const a = await speakerTag('12D3KooWA');
		const b = await speakerTag('12D3KooWB');
		expect(a).not.toBe(b);
	});
});

describe('serial number arithmetic', () => {
	it('orders across the wrap', () => {
		expect(seqNewer(0, 0xffffffff)).toBe(true);
		expect(seqNewer(0xffffffff, 0)).toBe(false);
		expect(seqDiff(2, 0xfffffffe)).toBe(4);
		expect(seqDiff(0xfffffffe, 2)).toBe(-4);
		expect(seqAdd(0xffffffff, 2)).toBe(1);
	});

	it('treats equal values as neither newer', () => {
		expect(seqNewer(5, 5)).toBe(false);
		expect(seqDiff(5, 5)).toBe(0);
	});

	it('leaves exactly half the space apart undefined: neither is newer', () => {
		expect(seqNewer(0, 2 ** 31)).toBe(false);
		expect(seqNewer(2 ** 31, 0)).toBe(false);
	});

	it('agrees with plain subtraction for any distance under 2^31 (property)', () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }), (b, d) => {
				const a = seqAdd(b, d);
				expect(seqDiff(a, b)).toBe(d);
				expect(seqNewer(a, b)).toBe(d > 0);
			})
		);
	});
});
