import type { Connection } from '@libp2p/interface';
import { lpStream, streamPair } from '@libp2p/utils';
import { describe, expect, it } from 'vitest';
import { answerHello, decodeHello, encodeHello, HelloProtocolError, MAX_HELLO_BYTES, sayHello } from './hello-protocol';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('hello codec', () => {
	it('round-trips', () => {
		const message = { name: 'Ada 🎙️', nonce: 'abc123' };
		expect(decodeHello(encodeHello(message))).toEqual(message);
	});

	it('normalizes a hostile name instead of trusting it', () => {
		const decoded = decodeHello(bytes(JSON.stringify({ name: `a\u0000b${'x'.repeat(100)}`, nonce: 'n' })));
		expect(decoded.name.startsWith('a b')).toBe(true);
		expect(Array.from(decoded.name).length).toBeLessThanOrEqual(40);
	});

	it.each([
		['empty input', new Uint8Array()],
		['not UTF-8', new Uint8Array([0xff, 0xfe, 0x00])],
		['not JSON', bytes('hello')],
		['a JSON array', bytes('[1,2]')],
		['JSON null', bytes('null')],
		['no name', bytes('{"nonce":"abc"}')],
		['a numeric name', bytes('{"name":1,"nonce":"abc"}')],
		['no nonce', bytes('{"name":"a"}')],
		['an odd nonce', bytes('{"name":"a","nonce":"<script>"}')],
		['an oversized message', bytes(JSON.stringify({ name: 'a', nonce: 'b', pad: 'x'.repeat(MAX_HELLO_BYTES) }))]
	])('refuses %s', (_label, input) => {
		expect(() => decodeHello(input)).toThrow(HelloProtocolError);
	});

	it('refuses to encode more than the limit', () => {
		expect(() => encodeHello({ name: 'x'.repeat(MAX_HELLO_BYTES), nonce: 'n' })).toThrow(HelloProtocolError);
	});
});

describe('hello over a stream', () => {
	const remote = { remotePeer: { toString: () => 'dialer-peer' } } as unknown as Connection;

	it('exchanges names both ways', async () => {
		const [outbound, inbound] = await streamPair();
		const greeted: string[] = [];
		const answering = answerHello(inbound, remote, () => 'Bob', (peer, name) => greeted.push(`${peer}:${name}`));
		const answer = await sayHello(outbound, 'Alice', AbortSignal.timeout(2_000));
		await answering;
		expect(answer.name).toBe('Bob');
		expect(greeted).toEqual(['dialer-peer:Alice']);
	});

	it('aborts the stream on a malformed request instead of answering', async () => {
		const [outbound, inbound] = await streamPair();
		const greeted: string[] = [];
		const answering = answerHello(inbound, remote, () => 'Bob', (peer) => greeted.push(peer));
		await lpStream(outbound).write(bytes('{"name":"x"}'));
		await answering;
		expect(greeted).toEqual([]);
		expect(inbound.status).toBe('aborted');
	});
});
