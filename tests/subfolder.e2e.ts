/**
 * The static build, copied as is into a sub-folder of a plain static host
 * (not the relay), with the relay named in `stanza-relays.json` beside its
 * index.html: two people meet in a room through that relay, and the app
 * reopens from its service worker when the static host is gone.
 */
import { describe, expect, it } from 'vitest';
import { e2eFixture } from './support/fixture';
import { deployBuild } from './support/static-host.js';

const FOLDER = '/apps/stanza/';
// Generous, finite: see the join below.
const JOIN_TIMEOUT_MS = 60_000;

const fx = e2eFixture();

describe('the build in a sub-folder of another static host', () => {
	it('meets through the relay named beside it, and reopens from its service worker', async () => {
		const relay = await fx.relay();
		// What a deployer does: copy build/ into a folder of their site and name a relay beside it.
		const host = await deployBuild(FOLDER, { relays: [`/ip4/127.0.0.1/tcp/${relay.port}/ws/p2p/${relay.peerId}`] });
		fx.defer(host.stop);
		const app = host.app;

		const ana = await fx.person('Ana', { url: app });
		const link = await ana.startRoom('Folder talk', 'Served from a sub-folder');
		expect(link.startsWith(`${app}#/r/`), link).toBe(true);

		const bo = await fx.person('Bo', { url: app });
		await bo.page.goto(link);
		// Joining needs a direct WebRTC link to Ana through the relay: seconds
		// normally, but the shared 2-core CI has taken over 20 s under load.
		await bo.waitStatus('live', JOIN_TIMEOUT_MS);
		const ids = { Ana: await ana.myPeerId(), Bo: await bo.myPeerId() };
		for (const p of [ana, bo]) {
			await p.waitMember('stage', ids.Ana, { role: 'creator', present: true }, JOIN_TIMEOUT_MS);
			await p.waitMember('audience', ids.Bo, { present: true }, JOIN_TIMEOUT_MS);
			expect(await p.title()).toBe('Folder talk');
		}

		// Every app file came from the folder and was found. The one request
		// outside it is the relay's well-known document, which the app asks
		// of its origin in case a relay serves it; here none does.
		const outside = host.requests.filter((r) => !r.path.startsWith(FOLDER));
		expect(outside.map((r) => r.path).filter((p) => p !== '/.well-known/stanza-relay.json')).toEqual([]);
		expect(host.requests.filter((r) => r.path.startsWith(FOLDER) && r.status !== 200)).toEqual([]);
		expect(host.requests.map((r) => r.path)).toContain(`${FOLDER}stanza-relays.json`);

		// The service worker was registered from the folder and controls only it.
		const scope = await ana.page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
		expect(scope).toBe(app);

		// The static host goes away: the room page reopens from the worker's
		// cache, finds the relay from its kept copy of stanza-relays.json, and
		// Ana is back in the room with Bo.
		await host.stop();
		await ana.page.reload();
		await ana.waitStatus('live');
		expect(await ana.title()).toBe('Folder talk');
		await ana.page.waitForSelector('[data-testid=net-status][data-status=online]', { timeout: JOIN_TIMEOUT_MS });
		await ana.waitMember('audience', ids.Bo, { present: true }, JOIN_TIMEOUT_MS);
		await bo.waitMember('stage', ids.Ana, { role: 'creator', present: true }, JOIN_TIMEOUT_MS);
	});
});
