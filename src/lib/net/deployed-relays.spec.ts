import { describe, expect, it } from 'vitest';
import { DeployedRelaysError, fetchDeployedRelays, parseDeployedRelays } from './deployed-relays';

const PEER = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';
const ADDR = `/dns4/relay.example.org/tcp/443/tls/ws/p2p/${PEER}`;

/** A fetch that answers one URL from a table and records what was asked. */
function fakeFetch(answers: Record<string, () => Response>, asked: string[] = []): typeof fetch {
	return (async (input: URL | RequestInfo) => {
		const url = String(input);
		asked.push(url);
		const answer = answers[url];
		if (!answer) return new Response('not found', { status: 404 });
		return answer();
	}) as typeof fetch;
}

const json = (body: unknown, status = 200) =>
	new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('parseDeployedRelays', () => {
	it('accepts a list of multiaddrs', () => {
		expect(parseDeployedRelays({ relays: [ADDR, '/ip4/10.0.0.2/tcp/8080/ws'] })).toEqual([ADDR, '/ip4/10.0.0.2/tcp/8080/ws']);
	});

	it.each([
		['null', null],
		['a bare list', [ADDR]],
		['no relays key', { relay: [ADDR] }],
		['an empty list', { relays: [] }],
		['a string instead of a list', { relays: ADDR }],
		['a non-string entry', { relays: [ADDR, 42] }],
		['a URL instead of a multiaddr', { relays: ['wss://relay.example.org'] }],
		['whitespace inside', { relays: ['/dns4/a b/tcp/1/ws'] }],
		['an absurdly long address', { relays: ['/' + 'a'.repeat(600)] }],
		['too many relays', { relays: Array.from({ length: 17 }, () => ADDR) }]
	])('refuses %s', (_label, doc) => {
		expect(() => parseDeployedRelays(doc)).toThrow(DeployedRelaysError);
	});
});

describe('fetchDeployedRelays', () => {
	it('reads the file beside the app, ignoring the page name and the route fragment', async () => {
		const asked: string[] = [];
		const fetchImpl = fakeFetch({ 'https://host.example/sub/stanza-relays.json': () => json({ relays: [ADDR] }) }, asked);
		expect(await fetchDeployedRelays('https://host.example/sub/index.html#/r/abc/key', fetchImpl)).toEqual([ADDR]);
		expect(asked).toEqual(['https://host.example/sub/stanza-relays.json']);
	});

	it.each([
		['a 404', () => new Response('nope', { status: 404 })],
		['a 403 (S3 for a missing object)', () => new Response('denied', { status: 403 })],
		['an HTML page (hosts that answer every path with index.html)', () => new Response('<!doctype html>', { headers: { 'content-type': 'text/html' } })]
	])('means "no file" for %s', async (_label, answer) => {
		expect(await fetchDeployedRelays('https://host.example/', fakeFetch({ 'https://host.example/stanza-relays.json': answer }))).toEqual([]);
	});

	it('means "no file" when the network fails', async () => {
		const failing = (async () => {
			throw new TypeError('Failed to fetch');
		}) as typeof fetch;
		expect(await fetchDeployedRelays('https://host.example/', failing)).toEqual([]);
	});

	it('reports a file that is there but broken', async () => {
		const broken = fakeFetch({
			'https://host.example/stanza-relays.json': () => new Response('{"relays": [', { headers: { 'content-type': 'application/json' } })
		});
		await expect(fetchDeployedRelays('https://host.example/', broken)).rejects.toThrow(DeployedRelaysError);
		const wrong = fakeFetch({ 'https://host.example/stanza-relays.json': () => json({ relays: 'x' }) });
		await expect(fetchDeployedRelays('https://host.example/', wrong)).rejects.toThrow(/non-empty list/);
	});
});
