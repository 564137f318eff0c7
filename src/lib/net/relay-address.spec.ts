import { describe, expect, it } from 'vitest';
import { parseConfiguredRelays, parseRelayInfo, relayAddressForOrigin, RelayInfoError } from './relay-address';

const PEER = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';

describe('relayAddressForOrigin', () => {
	it.each([
		['http://127.0.0.1:8080', `/ip4/127.0.0.1/tcp/8080/ws/p2p/${PEER}`],
		['http://192.168.1.5:41000', `/ip4/192.168.1.5/tcp/41000/ws/p2p/${PEER}`],
		['https://stanza.example.org', `/dns/stanza.example.org/tcp/443/tls/ws/p2p/${PEER}`],
		['http://localhost', `/dns/localhost/tcp/80/ws/p2p/${PEER}`],
		['http://[::1]:9000', `/ip6/::1/tcp/9000/ws/p2p/${PEER}`]
	])('%s', (origin, expected) => {
		expect(relayAddressForOrigin(origin, PEER)).toBe(expected);
	});
});

describe('parseRelayInfo', () => {
	it('accepts a well-formed document', () => {
		const info = parseRelayInfo({ version: 1, peerId: PEER, multiaddrs: [`/ip4/1.2.3.4/tcp/1/ws/p2p/${PEER}`] });
		expect(info.peerId).toBe(PEER);
		expect(info.multiaddrs).toHaveLength(1);
	});

	it('reads the relays it federates with, leaving out any a browser could not dial', () => {
		const spare = `/dns4/relay2.example.org/tcp/443/tls/ws/p2p/${PEER}`;
		const info = parseRelayInfo({
			version: 1,
			peerId: PEER,
			multiaddrs: [],
			federation: [spare, `/ip4/1.2.3.4/tcp/4001/p2p/${PEER}`, '/dns4/no-peer/tcp/443/tls/ws', 7, `/ip4/1.2.3.4/tcp/1/ws/p2p/${PEER}/p2p-circuit/p2p/${PEER}`]
		});
		expect(info.federation).toEqual([spare]);
		expect(parseRelayInfo({ version: 1, peerId: PEER, multiaddrs: [] }).federation).toEqual([]);
		expect(parseRelayInfo({ version: 1, peerId: PEER, multiaddrs: [], federation: 'x' }).federation).toEqual([]);
	});

	it.each([
		['null', null],
		['wrong version', { version: 2, peerId: PEER, multiaddrs: [] }],
		['bad peer id', { version: 1, peerId: 'nope', multiaddrs: [] }],
		['addresses not strings', { version: 1, peerId: PEER, multiaddrs: [1] }],
		['addresses not a list', { version: 1, peerId: PEER, multiaddrs: 'x' }]
	])('refuses %s', (_label, doc) => {
		expect(() => parseRelayInfo(doc)).toThrow(RelayInfoError);
	});
});

describe('parseConfiguredRelays', () => {
	it('splits, trims and drops non-multiaddrs', () => {
		expect(parseConfiguredRelays(' /dns/a/tcp/443/tls/ws , junk,,/ip4/1.2.3.4/tcp/1/ws')).toEqual([
			'/dns/a/tcp/443/tls/ws',
			'/ip4/1.2.3.4/tcp/1/ws'
		]);
		expect(parseConfiguredRelays(undefined)).toEqual([]);
	});
});
