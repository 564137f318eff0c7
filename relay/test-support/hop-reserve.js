// @ts-check
/**
 * Asks a relay for a circuit relay v2 reservation by hand and returns the
 * status it answers, so a test can tell "refused" from "granted" at once
 * instead of waiting for the client transport's retries.
 *
 * HopMessage (circuit v2 protobuf): field 1 `type` (RESERVE = 0, STATUS = 2),
 * field 5 `status` (OK = 100, RESERVATION_REFUSED = 200, ...). A RESERVE
 * request is just `08 00`; of the answer only the status is read.
 *
 * `hopConnect` asks the same relay for a circuit to a peer (CONNECT = 1, field 2 the
 * peer's multihash), and `answerStops` plays the destination's side of it: it
 * accepts every circuit the relay brings (StopMessage STATUS = 1, status OK)
 * and holds it open, so a test controls how long circuits last.
 */
import { lpStream } from '@libp2p/utils';

const HOP = '/libp2p/circuit/relay/0.2.0/hop';
const STOP = '/libp2p/circuit/relay/0.2.0/stop';
const STATUS_NAMES = /** @type {Record<number, string>} */ ({
	100: 'OK',
	200: 'RESERVATION_REFUSED',
	201: 'RESOURCE_LIMIT_EXCEEDED',
	202: 'PERMISSION_DENIED',
	203: 'CONNECTION_FAILED',
	204: 'NO_RESERVATION',
	400: 'MALFORMED_MESSAGE',
	401: 'UNEXPECTED_MESSAGE'
});

/**
 * @param {import('libp2p').Libp2p} node
 * @param {import('@multiformats/multiaddr').Multiaddr} relay
 * @returns {Promise<string>} the status name, e.g. 'OK' or 'RESERVATION_REFUSED'
 */
export async function hopReserve(node, relay) {
	const stream = await node.dialProtocol(relay, HOP, { signal: AbortSignal.timeout(10_000) });
	const lp = lpStream(stream);
	await lp.write(Uint8Array.from([0x08, 0x00]));
	const reply = (await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray();
	await stream.close().catch(() => {});
	return STATUS_NAMES[readStatus(reply)] ?? `UNKNOWN ${Buffer.from(reply).toString('hex')}`;
}

/**
 * Asks `relay` for a circuit to `target` and returns the relay's answer, and the stream.
 *
 * @param {import('libp2p').Libp2p} node
 * @param {import('@multiformats/multiaddr').Multiaddr} relay
 * @param {import('@libp2p/interface').PeerId} target
 * @returns {Promise<{ status: string, stream: import('@libp2p/interface').Stream }>} on OK the circuit, open
 *   until closed or reset (`stream.abort()`)
 */
export async function hopConnect(node, relay, target) {
	const stream = await node.dialProtocol(relay, HOP, { signal: AbortSignal.timeout(10_000) });
	const lp = lpStream(stream);
	const id = target.toMultihash().bytes;
	const peer = [0x0a, ...varintBytes(id.length), ...id];
	await lp.write(Uint8Array.from([0x08, 0x01, 0x12, ...varintBytes(peer.length), ...peer]));
	const reply = (await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray();
	const status = STATUS_NAMES[readStatus(reply)] ?? `UNKNOWN ${Buffer.from(reply).toString('hex')}`;
	// Reset, not closed: the relay never closes its side of a hop stream it refused, and on one
	// connection it takes only so many hop streams at once (32 on ours), closed on one side or not.
	if (status !== 'OK') stream.abort(new Error(`the relay answered ${status}`));
	return { status, stream };
}

/**
 * Makes `node` accept every circuit a relay brings it and hold each open.
 *
 * @param {import('libp2p').Libp2p} node
 * @returns {Promise<{ held: () => number }>} circuits accepted and still open
 */
export async function answerStops(node) {
	let held = 0;
	await node.handle(
		STOP,
		async (stream) => {
			const lp = lpStream(stream);
			await lp.read({ signal: AbortSignal.timeout(10_000) });
			await lp.write(Uint8Array.from([0x08, 0x01, 0x20, 100]));
			held++;
			stream.addEventListener('close', () => held--, { once: true });
		},
		{ maxInboundStreams: 256 }
	);
	return { held: () => held };
}

/** @param {number} n */
function varintBytes(n) {
	const out = [];
	while (n >= 0x80) {
		out.push((n & 0x7f) | 0x80);
		n >>>= 7;
	}
	out.push(n);
	return out;
}

/**
 * The varint value of protobuf field 5 (status), skipping other fields.
 *
 * @param {Uint8Array} bytes
 */
function readStatus(bytes) {
	let i = 0;
	const varint = () => {
		let value = 0;
		let shift = 0;
		for (;;) {
			const b = bytes[i++];
			value += (b & 0x7f) * 2 ** shift;
			if (b < 0x80) return value;
			shift += 7;
		}
	};
	while (i < bytes.length) {
		const key = varint();
		const field = key >> 3;
		const wire = key & 7;
		if (wire === 0) {
			const v = varint();
			if (field === 5) return v;
		} else if (wire === 2) {
			const length = varint(); // read first: `i += varint()` would add to the old i
			i += length;
		} else {
			return -1;
		}
	}
	return -1;
}
