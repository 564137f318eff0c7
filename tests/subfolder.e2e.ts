/**
 * The static build, copied as is into a sub-folder of a plain static host
 * (not the relay), with the relay named in `stanza-relays.json` beside its
 * index.html: two people meet in a room through that relay, and the app
 * reopens from its service worker when the static host is gone.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newPeerPage } from './support/browser.js';
import { startRelay, type RelayProcess } from './support/relay-process.js';
import { RoomPage } from './support/room-page';
import { startStaticHost, type StaticHost } from './support/static-host.js';

const FOLDER = '/apps/stanza/';
// Generous, finite: see the join below.
const JOIN_TIMEOUT_MS = 60_000;

let browser: Browser;
let relay: RelayProcess | null = null;
let host: StaticHost | null = null;
let siteRoot: string | null = null;
const pageErrors: string[][] = [];

beforeAll(async () => {
	browser = await launchBrowser();
});
afterAll(async () => {
	await browser?.close();
});
afterEach(async () => {
	for (const context of browser.contexts()) await context.close();
	await host?.stop();
	await relay?.stop();
	if (siteRoot) await rm(siteRoot, { recursive: true, force: true });
	host = relay = siteRoot = null;
	expect(pageErrors.splice(0).flat(), 'no page errors or unhandled rejections').toEqual([]);
});

/** What a deployer does: copy build/ into a folder of their site and name a relay beside it. */
async function deploy(relayAddr: string): Promise<StaticHost> {
	siteRoot = await mkdtemp(join(tmpdir(), 'stanza-site-'));
	const folder = join(siteRoot, ...FOLDER.split('/').filter(Boolean));
	await cp('build', folder, { recursive: true });
	await writeFile(join(folder, 'stanza-relays.json'), JSON.stringify({ relays: [relayAddr] }));
	return startStaticHost(siteRoot);
}

async function person(url: string, name: string): Promise<RoomPage> {
	const { page, errors } = await newPeerPage(browser);
	pageErrors.push(errors);
	await page.goto(url);
	const room = new RoomPage(page, name);
	await room.setName(name);
	return room;
}

describe('the build in a sub-folder of another static host', () => {
	it('meets through the relay named beside it, and reopens from its service worker', async () => {
		relay = await startRelay();
		host = await deploy(`/ip4/127.0.0.1/tcp/${relay.port}/ws/p2p/${relay.peerId}`);
		const app = `${host.origin}${FOLDER}`;

		const ana = await person(app, 'Ana');
		const link = await ana.startRoom('Folder talk', 'Served from a sub-folder');
		expect(link.startsWith(`${app}#/r/`), link).toBe(true);

		const bo = await person(app, 'Bo');
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
