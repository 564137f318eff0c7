import { fromString } from 'uint8arrays';
import { describe, expect, it } from 'vitest';
import { goodbyeBody, goodbyeUrlFor } from './goodbye-beacon';

const P = '/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';

describe('goodbye beacon', () => {
	it.each([
		[`/ip4/127.0.0.1/tcp/4001/ws${P}`, 'http://127.0.0.1:4001/v1/goodbye'],
		['/ip4/10.0.0.2/tcp/80/ws', 'http://10.0.0.2/v1/goodbye'],
		[`/ip6/::1/tcp/4001/ws${P}`, 'http://[::1]:4001/v1/goodbye'],
		[`/dns/relay.example.org/tcp/443/tls/ws${P}`, 'https://relay.example.org/v1/goodbye'],
		['/dns4/relay.example.org/tcp/8443/wss', 'https://relay.example.org:8443/v1/goodbye'],
		['/dns6/relay.example.org/tcp/443/tls/sni/relay.example.org/ws', 'https://relay.example.org/v1/goodbye']
	])('finds the HTTP port of the relay at %s', (addr, url) => {
		expect(goodbyeUrlFor(addr)).toBe(url);
	});

	it.each([
		[`/ip4/127.0.0.1/tcp/4001/ws${P}/p2p-circuit${P}`],
		['/ip4/127.0.0.1/udp/4001/webrtc-direct'],
		[`/ip4/127.0.0.1/udp/9/webrtc${P}`],
		['/ip4/127.0.0.1/tcp/4001'],
		['nonsense']
	])('says %s is no relay WebSocket', (addr) => {
		expect(goodbyeUrlFor(addr)).toBeNull();
	});

	it('writes the topic and the sealed bytes as text the relay reads back', () => {
		const sealed = new Uint8Array([0, 1, 2, 250, 251, 252, 253]);
		const [topic, encoded] = goodbyeBody('stanza/room/1/abc', sealed).split('\n');
		expect(topic).toBe('stanza/room/1/abc');
		expect(fromString(encoded, 'base64pad')).toEqual(sealed);
	});
});
