import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
	CONTROL_TAG,
	decodePacket,
	encodePacket,
	encodeVoiceQuiet,
	FLAG_DTX,
	FLAG_MARKER,
	HEADER_BYTES,
	MAX_PAYLOAD_BYTES,
	PacketError,
	SIGNATURE_BYTES,
	seqAdd,
	seqDiff,
	seqNewer,
	speakerTag,
	voiceQuietTag,
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

const SIG = new Uint8Array(SIGNATURE_BYTES).map((_, i) => i);
/** Encodes with a stand-in signature (packet-auth.spec.ts checks real ones); control packets get none. */
const encode = (p: AudioPacket) => encodePacket(p, p.speakerTag === 0 ? null : SIG);

/** A valid encoded packet with one header byte changed. */
function withByte(offset: number, value: number): Uint8Array {
	const bytes = encode(packet());
	bytes[offset] = value;
	return bytes;
}

describe('audio packet codec', () => {
	it('writes the documented big-endian layout', () => {
		const bytes = encode(packet({ flags: FLAG_DTX | FLAG_MARKER, seq: 0xa0b0c0d0, captureTs: 0x11223344 }));
		expect(Array.from(bytes)).toEqual([2, 0b11, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0, 0x11, 0x22, 0x33, 0x44, 0xfc, 0xff, 0xfe, ...SIG]);
	});

	it('writes a control packet (tag 0) as its header alone', () => {
		expect(Array.from(encodePacket(packet({ speakerTag: 0, flags: FLAG_DTX, seq: 0, captureTs: 0, payload: new Uint8Array() })))).toEqual([
			2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
		]);
	});

	it('hands the signature and the bytes it covers to the verifier', () => {
		const decoded = decodePacket(encode(packet()));
		expect(Array.from(decoded.signature!)).toEqual(Array.from(SIG));
		expect(decoded.body.length).toBe(HEADER_BYTES + 3);
		expect(decodePacket(encodePacket(packet({ speakerTag: 0, payload: new Uint8Array() }))).signature).toBeNull();
	});

	it.each([
		['ordinary values', packet()],
		['wrap-around maxima', packet({ speakerTag: 0xffffffff, seq: 0xffffffff, captureTs: 0xffffffff })],
		['a control packet', packet({ speakerTag: 0, seq: 0, captureTs: 0, payload: new Uint8Array() })],
		['an empty payload (DTX)', packet({ flags: FLAG_DTX, payload: new Uint8Array() })],
		['the largest Opus frame', packet({ payload: new Uint8Array(MAX_PAYLOAD_BYTES).fill(0xab) })]
	])('round-trips %s', (_label, original) => {
		const { flags, speakerTag, seq, captureTs, payload } = decodePacket(encode(original));
		expect({ flags, speakerTag, seq, captureTs, payload: Array.from(payload) }).toEqual({ ...original, payload: Array.from(original.payload) });
	});

	it('decodes from a view that does not start at the beginning of its buffer', () => {
		const encoded = encode(packet());
		const framed = new Uint8Array(encoded.length + 5);
		framed.set(encoded, 5);
		expect(decodePacket(framed.subarray(5)).seq).toBe(7);
	});

	it.each([
		['empty input', new Uint8Array()],
		['a truncated header', encode(packet()).subarray(0, HEADER_BYTES - 1)],
		['a speaker packet without its signature', encode(packet()).subarray(0, HEADER_BYTES + SIGNATURE_BYTES - 1)],
		['a control packet with a payload', (() => {
			const bytes = new Uint8Array(HEADER_BYTES + 1);
			bytes[0] = 2;
			return bytes;
		})()],
		['version 0', withByte(0, 0)],
		['version 1', withByte(0, 1)],
		['a reserved flag bit', withByte(1, 0b100)],
		['the top flag bit', withByte(1, 0x80)],
		['a payload one byte over the Opus maximum', (() => {
			const bytes = encode(packet({ payload: new Uint8Array(MAX_PAYLOAD_BYTES) }));
			const longer = new Uint8Array(bytes.length + 1);
			longer.set(bytes);
			return longer;
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
		['an oversized payload', packet({ payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1) })],
		['a control packet with a payload', packet({ speakerTag: 0 })]
	])('refuses to encode %s', (_label, bad) => {
		expect(() => encode(bad)).toThrow(PacketError);
	});

	it('refuses to send a speaker packet unsigned, or a control packet signed', () => {
		expect(() => encodePacket(packet())).toThrow(/signature/);
		expect(() => encodePacket(packet(), new Uint8Array(10))).toThrow(/signature/);
		expect(() => encodePacket(packet({ speakerTag: 0, payload: new Uint8Array() }), SIG)).toThrow(/control packet/);
	});

	it('round-trips any valid packet (property)', () => {
		const u32 = fc.integer({ min: 0, max: 0xffffffff });
		const anyPacket = fc.record({
			flags: fc.integer({ min: 0, max: 3 }),
			speakerTag: fc.integer({ min: 1, max: 0xffffffff }),
			seq: u32,
			captureTs: u32,
			payload: fc.uint8Array({ maxLength: MAX_PAYLOAD_BYTES })
		});
		fc.assert(
			fc.property(anyPacket, (original) => {
				const decoded = decodePacket(encode(original));
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
				fc.pre(version !== 2 || (flags & ~3) !== 0);
				const bytes = encode(packet());
				bytes[0] = version;
				bytes[1] = flags;
				expect(() => decodePacket(bytes)).toThrow(PacketError);
			})
		);
	});
});

describe('VOICE_QUIET control packet', () => {
	it('names a speaker by its tag in a header-only control packet, and round-trips any tag (property)', () => {
		expect(Array.from(encodeVoiceQuiet(0x11223344))).toEqual([2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x11, 0x22, 0x33, 0x44]);
		fc.assert(
			fc.property(fc.integer({ min: 1, max: 0xffff_ffff }), (tag) => {
				expect(voiceQuietTag(decodePacket(encodeVoiceQuiet(tag)))).toBe(tag);
			})
		);
	});

	it('is told apart from every other packet: keep-alive, REPAIRING, GOODBYE, speaker audio', () => {
		const control = (flags: number, seq: number, captureTs = 0) => decodePacket(encodePacket(packet({ speakerTag: CONTROL_TAG, flags, seq, captureTs, payload: new Uint8Array() })));
		expect(voiceQuietTag(control(FLAG_DTX, 0))).toBeNull();
		expect(voiceQuietTag(control(FLAG_MARKER, 0))).toBeNull();
		expect(voiceQuietTag(control(FLAG_DTX, 1))).toBeNull();
		expect(voiceQuietTag(control(FLAG_MARKER, 2, 5))).toBeNull();
		// Naming tag 0 (no speaker) is refused both ways.
		expect(voiceQuietTag(control(0, 2, 0))).toBeNull();
		expect(() => encodeVoiceQuiet(CONTROL_TAG)).toThrow(PacketError);
		expect(voiceQuietTag(decodePacket(encode(packet({ seq: 2, captureTs: 9 }))))).toBeNull();
	});
});

describe('speaker tag', () => {
	it('is the first 4 bytes of SHA-256 of the PeerId, big-endian', () => {
		// SHA-256("abc") = ba7816bf 8f01cfea …
		expect(speakerTag('abc')).toBe(0xba7816bf);
	});

	it('differs between PeerIds', () => {
		expect(speakerTag('12D3KooWA')).not.toBe(speakerTag('12D3KooWB'));
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
