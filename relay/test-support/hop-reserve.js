// @ts-check
/**
 * Asks a relay for a circuit relay v2 reservation by hand and returns the
 * status it answers, so a test can tell "refused" from "granted" at once
 * instead of waiting for the client transport's retries.
 *
 * HopMessage (circuit v2 protobuf): field 1 `type` (RESERVE = 0, STATUS = 2),
 * field 5 `status` (OK = 100, RESERVATION_REFUSED = 200, ...). A RESERVE
 * request is just `08 00`; of the answer only the status is read.
 */
import { lpStream } from '@libp2p/utils';

const HOP = '/libp2p/circuit/relay/0.2.0/hop';
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
