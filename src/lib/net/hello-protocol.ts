/**
 * /stanza/hello/1.0.0 — two peers introduce themselves.
 *
 * The dialer sends one message, the listener answers with one, both
 * length-prefixed (unsigned varint) UTF-8 JSON:
 *
 *   { "name": string (≤ 40 code points), "nonce": string (1–32 chars [A-Za-z0-9_-]) }
 *
 * The answer echoes the nonce, so the dialer knows it matches its own
 * request. Who sent it needs no field: the libp2p connection authenticates
 * the remote PeerId. Anything else (bad JSON, extra size, a wrong nonce) is a
 * HelloProtocolError and the stream is aborted.
 */
import type { Connection, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { normalizeDisplayName } from '../identity/display-name';
import { parseJsonObject } from '../wire/json-object';

export const HELLO_PROTOCOL = '/stanza/hello/1.0.0';
// A name of 40 code points is at most 160 bytes in UTF-8; 512 leaves room and nothing more.
export const MAX_HELLO_BYTES = 512;
// A peer that does not answer within 5 s is gone or broken; the UI can retry.
export const HELLO_TIMEOUT_MS = 5_000;

export interface HelloMessage {
	name: string;
	nonce: string;
}

export class HelloProtocolError extends Error {
	override name = 'HelloProtocolError';
}

const encoder = new TextEncoder();

export function encodeHello(message: HelloMessage): Uint8Array {
	const bytes = encoder.encode(JSON.stringify({ name: message.name, nonce: message.nonce }));
	if (bytes.length > MAX_HELLO_BYTES) throw new HelloProtocolError('hello message too large');
	return bytes;
}

export function decodeHello(bytes: Uint8Array): HelloMessage {
	if (bytes.length > MAX_HELLO_BYTES) throw new HelloProtocolError('hello message too large');
	const { name, nonce } = parseJsonObject(bytes, (m) => new HelloProtocolError(m), 'hello message');
	if (typeof name !== 'string') throw new HelloProtocolError('hello message has no name');
	if (typeof nonce !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(nonce)) throw new HelloProtocolError('hello message has no valid nonce');
	return { name: normalizeDisplayName(name), nonce };
}

/** Sends our hello on a fresh stream and returns the remote's answer. */
export async function sayHello(stream: Stream, name: string, signal: AbortSignal): Promise<HelloMessage> {
	const lp = lpStream(stream, { maxDataLength: MAX_HELLO_BYTES });
	const nonce = randomNonce();
	try {
		await lp.write(encodeHello({ name, nonce }), { signal });
		const answer = decodeHello((await lp.read({ signal })).subarray());
		if (answer.nonce !== nonce) throw new HelloProtocolError('hello answer does not match the request');
		await stream.close({ signal });
		return answer;
	} catch (err) {
		stream.abort(err instanceof Error ? err : new Error(String(err)));
		throw err;
	}
}

/**
 * Answers one hello with our own name and reports who greeted us. Malformed
 * input aborts the stream; it never throws into libp2p.
 */
export async function answerHello(
	stream: Stream,
	connection: Connection,
	name: () => string,
	onGreeted: (peerId: string, name: string) => void
): Promise<void> {
	const lp = lpStream(stream, { maxDataLength: MAX_HELLO_BYTES });
	const signal = AbortSignal.timeout(HELLO_TIMEOUT_MS);
	try {
		const request = decodeHello((await lp.read({ signal })).subarray());
		await lp.write(encodeHello({ name: name(), nonce: request.nonce }), { signal });
		await stream.close({ signal });
		onGreeted(connection.remotePeer.toString(), request.name);
	} catch (err) {
		stream.abort(err instanceof Error ? err : new Error(String(err)));
	}
}

function randomNonce(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(12));
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
