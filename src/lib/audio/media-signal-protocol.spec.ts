import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSignal, encodeSignal, MAX_SIGNAL_BYTES, SignalError, type SignalMessage } from './media-signal-protocol';

const raw = (s: string) => new TextEncoder().encode(s);

describe('media signal messages', () => {
	it.each<SignalMessage>([
		{ t: 'attach', as: 'listener' },
		{ t: 'attach', as: 'speaker' },
		{ t: 'attach', as: 'standby' },
		{ t: 'attach', as: 'listener', lost: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN' },
		{ t: 'attach', as: 'listener', displace: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN' },
		{ t: 'accept' },
		{ t: 'refuse', reason: 'full' },
		{ t: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' },
		{ t: 'answer', sdp: 'v=0\r\n' },
		{ t: 'ice', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
		{ t: 'ice', candidate: null },
		// Firefox's end of candidates: an empty candidate line, then null.
		{ t: 'ice', candidate: { candidate: '', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: '2418638e' } }
	])('round-trip %j', (message) => {
		expect(decodeSignal(encodeSignal(message))).toEqual(message);
	});

	it.each([
		['not JSON', raw('hi')],
		['an array', raw('[]')],
		['unknown type', raw('{"t":"boom"}')],
		['attach as a moderator', raw('{"t":"attach","as":"moderator"}')],
		['attach naming a lost parent that is not a peer id', raw('{"t":"attach","as":"listener","lost":"../../etc"}')],
		['attach naming a lost parent as a number', raw('{"t":"attach","as":"listener","lost":5}')],
		['a speaker attach naming a lost parent', raw('{"t":"attach","as":"speaker","lost":"12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"}')],
		['a standby attach naming a leaf to displace', raw('{"t":"attach","as":"standby","displace":"12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"}')],
		['attach naming a leaf to displace that is not a peer id', raw('{"t":"attach","as":"listener","displace":["x"]}')],
		['an offer without SDP', raw('{"t":"offer"}')],
		['an offer with a non-SDP string', raw('{"t":"offer","sdp":"hello"}')],
		['ice with a number', raw('{"t":"ice","candidate":5}')],
		['ice whose candidate is not a candidate line', raw('{"t":"ice","candidate":{"candidate":"a=candidate:1 1 udp 1 127.0.0.1 5000 typ host"}}')],
		['ice whose candidate line is far too long', raw(JSON.stringify({ t: 'ice', candidate: { candidate: `candidate:1 1 udp 1 127.0.0.1 5000 typ host${' x'.repeat(300)}` } }))],
		['an unknown refusal', raw('{"t":"refuse","reason":"whatever"}')],
		['an oversized message', raw(JSON.stringify({ t: 'offer', sdp: `v=0${'x'.repeat(MAX_SIGNAL_BYTES)}` }))]
	])('refuses %s', (_label, bytes) => {
		expect(() => decodeSignal(bytes)).toThrow(SignalError);
	});

	it('throws only SignalError on random input', () => {
		fc.assert(
			fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
				try {
					decodeSignal(bytes);
				} catch (err) {
					expect(err).toBeInstanceOf(SignalError);
				}
			})
		);
	});
});
