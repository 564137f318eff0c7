/**
 * Stanza audio packet, wire version 1: one Opus frame as it travels the room's tree.
 *
 * A speaker encodes its microphone once; every relay forwards these bytes
 * verbatim and every listener decodes them for itself, so the packet carries
 * only what a listener needs to attribute, order and time a frame.
 * Big-endian, a 14-byte header then the payload:
 *
 *   offset size  field
 *    0      1    version     1
 *    1      1    flags       bit 0 DTX: a silence / keep-alive frame
 *                            bit 1 marker: benchmarks mark the frame that carries a click
 *                            bits 2–7 reserved, must be 0 in version 1
 *    2      4    speakerTag  first 4 bytes of SHA-256(speaker's PeerId string)
 *    6      4    seq         +1 per packet the speaker sends, wraps at 2^32
 *   10      4    captureTs   capture time of the frame's first sample in 48 kHz
 *                            sample units, wraps at 2^32 (as in RTP)
 *   14      n    payload     one Opus frame, 0–1275 bytes
 *
 * seq and captureTs are separate on purpose: a gap in seq is a lost packet,
 * a gap in captureTs without a gap in seq is the speaker staying silent (DTX).
 *
 * Left to the layers around it: confidentiality and integrity (DTLS of the
 * DataChannel), which speaker a tag names (the room knows its stage; 32 bits
 * make a clash between a handful of speakers a one-in-a-billion event the
 * room can refuse), and the Opus decoder state.
 */

export const PACKET_VERSION = 1;
// version + flags + speakerTag + seq + captureTs.
export const HEADER_BYTES = 14;
// 1275 bytes: the largest Opus frame (RFC 6716 §3.2.1).
export const MAX_PAYLOAD_BYTES = 1275;
export const FLAG_DTX = 0b01;
export const FLAG_MARKER = 0b10;
const KNOWN_FLAGS = FLAG_DTX | FLAG_MARKER;
const U32_LIMIT = 2 ** 32;

export interface AudioPacket {
	/** Flag bits (FLAG_DTX, FLAG_MARKER). */
	flags: number;
	/** u32: first 4 bytes of SHA-256 of the speaker's PeerId; see speakerTag(). */
	speakerTag: number;
	/** u32, wraps: compare with seqNewer/seqDiff, never with `<`. */
	seq: number;
	/** u32 in 48 kHz samples, wraps like seq. */
	captureTs: number;
	/** The Opus frame. decodePacket returns a view into the received bytes, not a copy. */
	payload: Uint8Array;
}

export class PacketError extends Error {
	override name = 'PacketError';
}

/** Writes a packet; refuses values the decoder would refuse, so nothing malformed is ever sent. */
export function encodePacket(packet: AudioPacket): Uint8Array {
	checkU32('speakerTag', packet.speakerTag);
	checkU32('seq', packet.seq);
	checkU32('captureTs', packet.captureTs);
	checkFlags(packet.flags);
	if (packet.payload.length > MAX_PAYLOAD_BYTES) throw payloadTooLarge(packet.payload.length);
	const bytes = new Uint8Array(HEADER_BYTES + packet.payload.length);
	const view = new DataView(bytes.buffer);
	view.setUint8(0, PACKET_VERSION);
	view.setUint8(1, packet.flags);
	view.setUint32(2, packet.speakerTag);
	view.setUint32(6, packet.seq);
	view.setUint32(10, packet.captureTs);
	bytes.set(packet.payload, HEADER_BYTES);
	return bytes;
}

/** Reads a packet received from the network; anything malformed is a PacketError. */
export function decodePacket(bytes: Uint8Array): AudioPacket {
	if (bytes.length < HEADER_BYTES) {
		throw new PacketError(`audio packet too short: ${bytes.length} bytes, the header alone is ${HEADER_BYTES}`);
	}
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const version = view.getUint8(0);
	if (version !== PACKET_VERSION) {
		throw new PacketError(`unknown audio packet version ${version}, this build reads version ${PACKET_VERSION}`);
	}
	const flags = view.getUint8(1);
	checkFlags(flags);
	const payloadBytes = bytes.length - HEADER_BYTES;
	if (payloadBytes > MAX_PAYLOAD_BYTES) throw payloadTooLarge(payloadBytes);
	return {
		flags,
		speakerTag: view.getUint32(2),
		seq: view.getUint32(6),
		captureTs: view.getUint32(10),
		payload: bytes.subarray(HEADER_BYTES)
	};
}

/**
 * The tag a speaker's packets carry: 4 bytes instead of a ~52-character
 * PeerId on every one of 50 packets a second. SHA-256 so that nobody can
 * pick a PeerId-independent tag to impersonate another speaker's stream.
 */
export async function speakerTag(peerId: string): Promise<number> {
	const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(peerId));
	return new DataView(digest).getUint32(0);
}

/**
 * Signed distance a − b between two wrapping u32 counters (RFC 1982 serial
 * number arithmetic), in [−2^31, 2^31). Works for seq and captureTs alike.
 */
export function seqDiff(a: number, b: number): number {
	return (a - b) | 0;
}

/** True when a comes after b, across wrap-around. Exactly half the space apart is neither (RFC 1982 leaves it undefined). */
export function seqNewer(a: number, b: number): boolean {
	return seqDiff(a, b) > 0;
}

/** a + n modulo 2^32. */
export function seqAdd(a: number, n: number): number {
	return (a + n) >>> 0;
}

function checkU32(field: string, value: number): void {
	if (!Number.isInteger(value) || value < 0 || value >= U32_LIMIT) {
		throw new PacketError(`audio packet ${field} must be an unsigned 32-bit integer, got ${value}`);
	}
}

function checkFlags(flags: number): void {
	if (!Number.isInteger(flags) || flags < 0 || flags > 0xff || (flags & ~KNOWN_FLAGS) !== 0) {
		throw new PacketError(`audio packet has reserved flag bits set (flags 0x${flags.toString(16)}), version 1 defines only DTX and marker`);
	}
}

function payloadTooLarge(length: number): PacketError {
	return new PacketError(`audio packet payload of ${length} bytes exceeds the Opus maximum of ${MAX_PAYLOAD_BYTES}`);
}
