/**
 * Stanza audio packet, wire version 2: one Opus frame as it travels the room's tree.
 *
 * A speaker encodes its microphone once; every relay forwards these bytes
 * verbatim and every listener decodes them for itself, so the packet carries
 * only what a listener needs to attribute, order, time and authenticate a
 * frame. Big-endian, a 14-byte header, the payload, then the speaker's
 * signature:
 *
 *   offset  size  field
 *    0       1    version     2
 *    1       1    flags       bit 0 DTX: a silence / keep-alive frame
 *                             bit 1 marker: benchmarks mark the frame that carries a click
 *                             bits 2–7 reserved, must be 0
 *    2       4    speakerTag  first 4 bytes of SHA-256(speaker's PeerId string);
 *                             0 is a link-local control packet (keep-alive, activate, repairing, goodbye)
 *    6       4    seq         +1 per packet the speaker sends, wraps at 2^32
 *   10       4    captureTs   capture time of the frame's first sample in 48 kHz
 *                             sample units, wraps at 2^32 (as in RTP)
 *   14       n    payload     one Opus frame, 0–1275 bytes (none in a control packet)
 *   14+n    64    signature   Ed25519 by the speaker over the header and payload
 *                             (packet-auth.ts says exactly what is signed);
 *                             absent from control packets, which are never
 *                             forwarded or played
 *
 * seq and captureTs are separate on purpose: a gap in seq is a lost packet,
 * a gap in captureTs without a gap in seq is the speaker staying silent (DTX).
 *
 * Left to the layers around it: confidentiality (DTLS of the DataChannel),
 * checking the signature (packet-auth.ts, before a packet is played or
 * forwarded), which speaker a tag names (the room knows its stage; 32 bits
 * make a clash between a handful of speakers a one-in-a-billion event the
 * room can refuse), and the Opus decoder state.
 */

import { sha256 } from '@noble/hashes/sha2.js';

export const PACKET_VERSION = 2;
/** An Ed25519 signature. */
export const SIGNATURE_BYTES = 64;
/** The tag of link-local control packets: never signed, forwarded or played. */
export const CONTROL_TAG = 0;
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

export interface DecodedPacket extends AudioPacket {
	/** The speaker's signature (views into the received bytes); null on a control packet. */
	signature: Uint8Array | null;
	/** Header and payload: the bytes the signature covers (packetBody of the same packet). */
	body: Uint8Array;
}

export class PacketError extends Error {
	override name = 'PacketError';
}

/**
 * Writes a packet; refuses values the decoder would refuse, so nothing
 * malformed is ever sent. A speaker's packet needs its signature (over
 * packetBody(packet)); a control packet (speakerTag 0) has none.
 */
export function encodePacket(packet: AudioPacket, signature: Uint8Array | null = null): Uint8Array {
	const body = packetBody(packet);
	if (packet.speakerTag === CONTROL_TAG) {
		if (signature) throw new PacketError('a control packet (speaker tag 0) carries no signature');
		return body;
	}
	if (signature?.length !== SIGNATURE_BYTES) {
		throw new PacketError(`an audio packet needs its speaker's ${SIGNATURE_BYTES}-byte signature, got ${signature ? signature.length + ' bytes' : 'none'}`);
	}
	const bytes = new Uint8Array(body.length + SIGNATURE_BYTES);
	bytes.set(body);
	bytes.set(signature, body.length);
	return bytes;
}

/**
 * VOICE_QUIET, a link control packet (tag 0, no flags, seq 2): "this speaker's audio stopped
 * reaching me", the speaker named by its tag in `captureTs`. A relay sends it to its children when
 * one voice it passes on stops flowing while others may go on (withholding.ts), so they do not take
 * it for a relay that holds that voice back. Peers of older versions take it for a keep-alive.
 */
export const VOICE_QUIET_SEQ = 2;

export function encodeVoiceQuiet(tag: number): Uint8Array {
	if (tag === CONTROL_TAG) throw new PacketError('VOICE_QUIET names a speaker: tag 0 is the control tag');
	return encodePacket({ flags: 0, speakerTag: CONTROL_TAG, seq: VOICE_QUIET_SEQ, captureTs: tag, payload: new Uint8Array() });
}

/** The speaker tag a VOICE_QUIET packet names, or null when `packet` is not one. */
export function voiceQuietTag(packet: DecodedPacket): number | null {
	const isNotice = packet.speakerTag === CONTROL_TAG && packet.flags === 0 && packet.seq === VOICE_QUIET_SEQ;
	return isNotice && packet.captureTs !== CONTROL_TAG ? packet.captureTs : null;
}

/** Header and payload: what a speaker signs. */
export function packetBody(packet: AudioPacket): Uint8Array {
	checkU32('speakerTag', packet.speakerTag);
	checkU32('seq', packet.seq);
	checkU32('captureTs', packet.captureTs);
	checkFlags(packet.flags);
	if (packet.payload.length > MAX_PAYLOAD_BYTES) throw payloadTooLarge(packet.payload.length);
	if (packet.speakerTag === CONTROL_TAG && packet.payload.length > 0) throw controlWithPayload(packet.payload.length);
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

/** Reads a packet received from the network; anything malformed is a PacketError. The signature is not checked here. */
export function decodePacket(bytes: Uint8Array): DecodedPacket {
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
	const speakerTag = view.getUint32(2);
	const control = speakerTag === CONTROL_TAG;
	if (control && bytes.length > HEADER_BYTES) throw controlWithPayload(bytes.length - HEADER_BYTES);
	if (!control && bytes.length < HEADER_BYTES + SIGNATURE_BYTES) {
		throw new PacketError(`audio packet too short for its ${SIGNATURE_BYTES}-byte signature: ${bytes.length} bytes`);
	}
	const end = control ? bytes.length : bytes.length - SIGNATURE_BYTES;
	if (end - HEADER_BYTES > MAX_PAYLOAD_BYTES) throw payloadTooLarge(end - HEADER_BYTES);
	return {
		flags,
		speakerTag,
		seq: view.getUint32(6),
		captureTs: view.getUint32(10),
		payload: bytes.subarray(HEADER_BYTES, end),
		signature: control ? null : bytes.subarray(end),
		body: bytes.subarray(0, end)
	};
}

/**
 * The tag a speaker's packets carry: 4 bytes instead of a ~52-character
 * PeerId on every one of 50 packets a second. SHA-256 so that nobody can
 * pick a PeerId-independent tag to impersonate another speaker's stream.
 * 0 is the control tag: a PeerId whose digest starts with four zero bytes
 * gets 1, the same everywhere tags are compared (packets, tree adverts, presence).
 */
export function speakerTag(peerId: string): number {
	const digest = sha256(new TextEncoder().encode(peerId));
	return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0) || 1;
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
		throw new PacketError(`audio packet has reserved flag bits set (flags 0x${flags.toString(16)}), version 2 defines only DTX and marker`);
	}
}

function controlWithPayload(length: number): PacketError {
	return new PacketError(`a control packet (speaker tag 0) carries no payload, got ${length} bytes`);
}

function payloadTooLarge(length: number): PacketError {
	return new PacketError(`audio packet payload of ${length} bytes exceeds the Opus maximum of ${MAX_PAYLOAD_BYTES}`);
}
