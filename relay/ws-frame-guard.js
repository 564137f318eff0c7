// @ts-check
/**
 * Bounds the WebSocket frames a client sends before they reach libp2p.
 *
 * libp2p's WebSocket listener is a `ws` server with ws's default `maxPayload`
 * of 100 MiB and no option to lower it: a client that announces a huge frame
 * makes it buffer that much, before any Noise handshake proves anything. The
 * HTTP front pipes every upgraded socket's bytes to that listener, so it reads
 * the frame headers on the way and cuts a connection whose frame, or whose
 * fragmented message, is larger than the limit. Payload bytes are passed
 * through untouched and never copied; only headers (2 to 14 bytes) are parsed.
 *
 * Client-to-server frame header (RFC 6455 §5.2):
 *
 *     byte 0   FIN(1) RSV(3) opcode(4)
 *     byte 1   MASK(1) length(7)   126 → 16-bit length follows, 127 → 64-bit
 *     [2 or 8 bytes extended length, big-endian]
 *     [4 bytes masking key when MASK is set; clients must set it]
 *     payload
 *
 * Opcodes 1 (text) and 2 (binary) start a message, 0 continues it; 8-10 are
 * control frames (at most 125 bytes, may sit between fragments).
 */

/** Longest header: 2 fixed bytes, 8 of extended length, 4 of masking key. */
const MAX_HEADER_BYTES = 14;

/** Control frames carry at most 125 bytes (RFC 6455 §5.5). */
const MAX_CONTROL_PAYLOAD = 125;

export class WsFrameGuard {
	/** Largest frame and largest message accepted, bytes. */
	#limit;
	/** Header bytes gathered so far (a header may be split across chunks). */
	#header = new Uint8Array(MAX_HEADER_BYTES);
	#headerLength = 0;
	/** Payload bytes of the current frame still to pass. */
	#payloadLeft = 0;
	/** Bytes of the data message being assembled from fragments. */
	#messageBytes = 0;
	/** @type {string | null} why the stream was refused; sticky */
	#refused = null;

	/** @param {number} limit bytes, the largest frame and message allowed */
	constructor(limit) {
		this.#limit = limit;
	}

	/**
	 * Reads the next chunk of the client's byte stream.
	 *
	 * @param {Uint8Array} chunk
	 * @returns {string | null} null while acceptable, else why the connection must end
	 */
	push(chunk) {
		let i = 0;
		while (this.#refused === null && i < chunk.length) {
			if (this.#payloadLeft > 0) {
				const skip = Math.min(this.#payloadLeft, chunk.length - i);
				this.#payloadLeft -= skip;
				i += skip;
				continue;
			}
			this.#header[this.#headerLength++] = chunk[i++];
			this.#tryHeader();
		}
		return this.#refused;
	}

	/** Parses the header once enough of it has arrived. */
	#tryHeader() {
		const h = this.#header;
		if (this.#headerLength < 2) return;
		const lengthCode = h[1] & 0x7f;
		const masked = (h[1] & 0x80) !== 0;
		const extended = lengthCode === 126 ? 2 : lengthCode === 127 ? 8 : 0;
		const needed = 2 + extended + (masked ? 4 : 0);
		if (this.#headerLength < needed) return;

		let length = lengthCode;
		if (extended === 2) length = (h[2] << 8) | h[3];
		if (extended === 8) {
			// The high 32 bits must be zero for any frame we would accept anyway.
			const high = ((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0;
			const low = ((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0;
			length = high > 0 ? Infinity : low;
		}
		const fin = (h[0] & 0x80) !== 0;
		const opcode = h[0] & 0x0f;
		this.#headerLength = 0;

		if (!masked) return this.#refuse('unmasked client frame');
		if (opcode >= 8) {
			if (length > MAX_CONTROL_PAYLOAD || !fin) return this.#refuse('malformed control frame');
		} else {
			if (length > this.#limit) return this.#refuse(`frame of ${length} bytes exceeds ${this.#limit}`);
			this.#messageBytes = opcode === 0 ? this.#messageBytes + length : length;
			if (this.#messageBytes > this.#limit) {
				return this.#refuse(`message of ${this.#messageBytes} bytes exceeds ${this.#limit}`);
			}
			if (fin) this.#messageBytes = 0;
		}
		this.#payloadLeft = length;
	}

	/** @param {string} reason */
	#refuse(reason) {
		this.#refused = reason;
	}
}
