/**
 * Stanza link frame, wire version 3: what one message on an audio link's data
 * channel carries. Either a single audio packet exactly as packet-codec.ts
 * writes it (its first byte is the packet version, 2), or a *redundancy
 * frame*: the packet being sent now followed by the one sent before it on
 * the same link, so that one lost message loses nothing (as RTP's RED,
 * RFC 2198, but carrying whole signed packets rather than bare frames):
 *
 *   offset  size  field
 *    0       1    version   3
 *    1       1    count     packets that follow, 2..MAX_FRAME_PACKETS
 *    2       2    length    of the first packet, big-endian, then its bytes;
 *                           then the next length and packet, and so on
 *
 * The first packet is the new one; the ones after it were sent before on this
 * link and are carried again. Each is a complete packet as its speaker signed
 * it (packet-codec.ts), so a relaying listener that recovers a lost packet
 * from the next frame forwards the speaker's own bytes to its children: loss
 * is repaired on every hop and does not add up down the tree. A listener
 * takes a packet only once (stream-guard.ts), so the second copy costs a
 * header read and nothing else; it is never verified or played twice.
 *
 * Why whole packets and per link: the data channel is unordered and never
 * retransmits (a late frame is worth nothing), and Opus in-band FEC cannot be
 * decoded through WebCodecs. A copy in the next message arrives one frame
 * (20 ms) later, inside the jitter buffer's margin, where a resend on request
 * would cost a round trip per hop. With independent loss p per link, a packet
 * is lost on a hop only if both messages are: p² (5 % → 0.25 %).
 *
 * Control packets (keep-alive, activate, goodbye) are sent bare: losing one
 * is harmless, and the goodbye must fit a page that is closing.
 *
 * Left to the layers around it: each packet's own checks (packet-codec.ts,
 * packet-auth.ts, stream-guard.ts). This frame only says where packets start.
 */
import { HEADER_BYTES, MAX_PAYLOAD_BYTES, PACKET_VERSION, SIGNATURE_BYTES } from './packet-codec';

export const FRAME_VERSION = 3;
/** The new packet and at most two sent before it: three copies cover any loss a voice link can live with. */
export const MAX_FRAME_PACKETS = 3;
/** The largest packet packet-codec.ts writes: header, the largest Opus frame, a signature. */
export const MAX_PACKET_BYTES = HEADER_BYTES + MAX_PAYLOAD_BYTES + SIGNATURE_BYTES;
// version + count
const FRAME_HEADER_BYTES = 2;
// each packet's u16 length
const LENGTH_BYTES = 2;

export class LinkFrameError extends Error {
	override name = 'LinkFrameError';
}

/**
 * One message for the data channel: the packet alone when nothing earlier is
 * carried again, else a redundancy frame (newest first).
 */
export function encodeLinkFrame(packets: readonly Uint8Array[]): Uint8Array {
	if (packets.length === 0) throw new LinkFrameError('a link frame carries at least one packet');
	if (packets.length > MAX_FRAME_PACKETS) {
		throw new LinkFrameError(`a link frame carries at most ${MAX_FRAME_PACKETS} packets, got ${packets.length}`);
	}
	for (const packet of packets) checkPacketBytes(packet);
	if (packets.length === 1) return packets[0];
	const size = packets.reduce((sum, p) => sum + LENGTH_BYTES + p.length, FRAME_HEADER_BYTES);
	const bytes = new Uint8Array(size);
	const view = new DataView(bytes.buffer);
	view.setUint8(0, FRAME_VERSION);
	view.setUint8(1, packets.length);
	let at = FRAME_HEADER_BYTES;
	for (const packet of packets) {
		view.setUint16(at, packet.length);
		bytes.set(packet, at + LENGTH_BYTES);
		at += LENGTH_BYTES + packet.length;
	}
	return bytes;
}

/**
 * The packets one received message carries, newest first, as views into it
 * (not copies). A bare packet comes back as itself, unread (packet-codec.ts
 * judges it); a malformed frame is a LinkFrameError and yields nothing.
 */
export function decodeLinkFrame(bytes: Uint8Array): Uint8Array[] {
	if (bytes.length === 0) throw new LinkFrameError('empty link message');
	if (bytes[0] !== FRAME_VERSION) return [bytes];
	if (bytes.length < FRAME_HEADER_BYTES) throw new LinkFrameError('link frame too short for its packet count');
	const count = bytes[1];
	if (count < 2 || count > MAX_FRAME_PACKETS) {
		throw new LinkFrameError(`a link frame carries 2 to ${MAX_FRAME_PACKETS} packets, this one says ${count}`);
	}
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const packets: Uint8Array[] = [];
	let at = FRAME_HEADER_BYTES;
	for (let i = 0; i < count; i++) {
		if (at + LENGTH_BYTES > bytes.length) throw new LinkFrameError(`link frame ends before packet ${i + 1} of ${count}`);
		const length = view.getUint16(at);
		at += LENGTH_BYTES;
		if (at + length > bytes.length) {
			throw new LinkFrameError(`link frame packet ${i + 1} says ${length} bytes, ${bytes.length - at} remain`);
		}
		const packet = bytes.subarray(at, at + length);
		checkPacketBytes(packet);
		packets.push(packet);
		at += length;
	}
	if (at !== bytes.length) throw new LinkFrameError(`${bytes.length - at} bytes after the last packet of a link frame`);
	return packets;
}

/**
 * What a link sends as audio: each new packet together with the one sent
 * before it, when that one is recent enough to still be played. Nothing here
 * reads a clock: the caller passes the time.
 */
export class RedundantSender {
	readonly #keepMs: number;
	#previous: Uint8Array | null = null;
	#previousAt = 0;

	/** `keepMs`: how long a packet is worth carrying again (a copy older than the jitter buffer's reach only costs bytes). */
	constructor(keepMs: number) {
		this.#keepMs = keepMs;
	}

	/** The message that carries `packet` now. */
	frame(packet: Uint8Array, nowMs: number): Uint8Array {
		const previous = this.#previous !== null && nowMs - this.#previousAt <= this.#keepMs ? this.#previous : null;
		this.#previous = packet;
		this.#previousAt = nowMs;
		return encodeLinkFrame(previous ? [packet, previous] : [packet]);
	}
}

/** Only packet-sized pieces that start like a packet: a frame never nests another. */
function checkPacketBytes(packet: Uint8Array): void {
	if (packet.length < HEADER_BYTES || packet.length > MAX_PACKET_BYTES) {
		throw new LinkFrameError(`a link frame's packet must be ${HEADER_BYTES} to ${MAX_PACKET_BYTES} bytes, got ${packet.length}`);
	}
	if (packet[0] !== PACKET_VERSION) {
		throw new LinkFrameError(`a link frame carries audio packets of version ${PACKET_VERSION}, got version ${packet[0]}`);
	}
}
