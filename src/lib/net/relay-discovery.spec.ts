import { describe, expect, it } from 'vitest';
import { discoverRelays } from './relay-discovery';

const PEER = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';
const FILE_ADDR = `/dns4/from-file.example/tcp/443/tls/ws/p2p/${PEER}`;
const BUILD_ADDR = `/dns4/from-build.example/tcp/443/tls/ws/p2p/${PEER}`;

const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });

/** Static host at https://host.example/sub/ with (or without) a relay file, and (or not) a relay at the origin. */
function host({ file, relay, federation }: { file: boolean; relay: boolean; federation?: string[] }): typeof fetch {
	return (async (input: URL | RequestInfo) => {
		const url = String(input);
		if (file && url === 'https://host.example/sub/stanza-relays.json') return json({ relays: [FILE_ADDR] });
		if (relay && url === 'https://host.example/.well-known/stanza-relay.json') {
			return json({ version: 1, peerId: PEER, multiaddrs: [], ...(federation ? { federation } : {}) });
		}
		return new Response('not found', { status: 404 });
	}) as typeof fetch;
}

const APP = 'https://host.example/sub/#/';
const ORIGIN = 'https://host.example';

describe('discoverRelays', () => {
	it('prefers the deployed file to the build list and to the serving relay', async () => {
		expect(await discoverRelays(ORIGIN, [BUILD_ADDR], host({ file: true, relay: true }), APP)).toEqual([FILE_ADDR]);
		expect(await discoverRelays(ORIGIN, [], host({ file: true, relay: true }), APP)).toEqual([FILE_ADDR]);
	});

	it('uses the build list when there is no file', async () => {
		expect(await discoverRelays(ORIGIN, [BUILD_ADDR], host({ file: false, relay: true }), APP)).toEqual([BUILD_ADDR]);
	});

	it('asks the serving relay when there is neither', async () => {
		expect(await discoverRelays(ORIGIN, [], host({ file: false, relay: true }), APP)).toEqual([
			`/dns/host.example/tcp/443/tls/ws/p2p/${PEER}`
		]);
	});

	it('keeps the relays the serving relay federates with as spares, after it', async () => {
		expect(await discoverRelays(ORIGIN, [], host({ file: false, relay: true, federation: [BUILD_ADDR] }), APP)).toEqual([
			`/dns/host.example/tcp/443/tls/ws/p2p/${PEER}`,
			BUILD_ADDR
		]);
	});

	it('fails with the serving relay’s error when nothing names a relay', async () => {
		await expect(discoverRelays(ORIGIN, [], host({ file: false, relay: false }), APP)).rejects.toThrow(/HTTP 404/);
	});

	it('does not look for a file when not told where the app is', async () => {
		expect(await discoverRelays(ORIGIN, [BUILD_ADDR], host({ file: true, relay: false }))).toEqual([BUILD_ADDR]);
	});
});
