import { describe, expect, it } from 'vitest';
import { MAX_MY_RELAYS, parseRelayEntry, readRelayList, RelayEntryError, relayAddressOf, withRelay } from './my-relays';

const PEER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN';
const WSS = `/dns4/relay.example.org/tcp/443/tls/ws/p2p/${PEER}`;
const problem = (fn: () => unknown) => {
	try {
		fn();
	} catch (error) {
		expect(error).toBeInstanceOf(RelayEntryError);
		return (error as RelayEntryError).problem;
	}
	throw new Error('expected a RelayEntryError');
};

describe('relays a person adds', () => {
	it('take a browser-reachable multiaddr as it is, and a web address as its origin', () => {
		expect(parseRelayEntry(`  ${WSS} `)).toBe(WSS);
		expect(parseRelayEntry(`/ip4/10.0.0.5/tcp/8080/ws/p2p/${PEER}`)).toBe(`/ip4/10.0.0.5/tcp/8080/ws/p2p/${PEER}`);
		expect(parseRelayEntry('https://relay.example.org/some/page?x=1')).toBe('https://relay.example.org');
		expect(parseRelayEntry('http://127.0.0.1:9000')).toBe('http://127.0.0.1:9000');
	});

	it('refuse what a browser cannot dial, each with its reason', () => {
		expect(problem(() => parseRelayEntry('   '))).toBe('empty');
		expect(problem(() => parseRelayEntry('relay.example.org'))).toBe('not-an-address');
		expect(problem(() => parseRelayEntry('ftp://relay.example.org'))).toBe('not-an-address');
		expect(problem(() => parseRelayEntry('/dns4/relay.example.org/tcp/443/tls/ws'))).toBe('no-peer-id');
		expect(problem(() => parseRelayEntry(`/ip4/10.0.0.5/tcp/4001/p2p/${PEER}`))).toBe('not-for-browsers');
		expect(problem(() => parseRelayEntry(`/ip4/1.2.3.4/tcp/1/ws/p2p/${PEER} /x`))).toBe('not-an-address');
		expect(problem(() => parseRelayEntry('/' + 'a'.repeat(600)))).toBe('not-an-address');
	});

	it('keep a short list without repeats', () => {
		let list = withRelay([], WSS);
		expect(problem(() => withRelay(list, ` ${WSS}`))).toBe('already-there');
		for (let i = 0; list.length < MAX_MY_RELAYS; i++) list = withRelay(list, `/dns4/r${i}.example.org/tcp/443/tls/ws/p2p/${PEER}`);
		expect(problem(() => withRelay(list, `/dns4/one-more.example.org/tcp/443/tls/ws/p2p/${PEER}`))).toBe('too-many');
		expect(problem(() => withRelay([], 'https://relay.example.org'))).toBe('not-an-address'); // kept as its multiaddr only
	});

	it('read back only what still parses from storage', () => {
		expect(readRelayList(null)).toEqual([]);
		expect(readRelayList('not json')).toEqual([]);
		expect(readRelayList('{"a":1}')).toEqual([]);
		expect(readRelayList(JSON.stringify([WSS, 42, 'junk', WSS, 'https://relay.example.org/x']))).toEqual([WSS]);
	});

	it('ask a web address for its relay once, when it is added, and say when it does not answer', async () => {
		const fetchImpl = (async (input: URL | RequestInfo) => {
			const url = String(input);
			if (url.startsWith('https://up.example.org/')) return new Response(JSON.stringify({ version: 1, peerId: PEER, multiaddrs: [] }), { status: 200 });
			return new Response('no', { status: 502 });
		}) as typeof fetch;
		expect(await relayAddressOf(WSS, fetchImpl)).toBe(WSS);
		expect(await relayAddressOf('https://up.example.org/', fetchImpl)).toBe(`/dns/up.example.org/tcp/443/tls/ws/p2p/${PEER}`);
		await expect(relayAddressOf('https://down.example.org', fetchImpl)).rejects.toMatchObject({ problem: 'unreachable' });
		await expect(relayAddressOf('nonsense', fetchImpl)).rejects.toMatchObject({ problem: 'not-an-address' });
	});
});
