/**
 * The installable app: Chromium finds nothing in the way of installing it,
 * from the relay and from a sub-folder of another static host; its icons are
 * the sizes the manifest says; an address the app does not have lands on its
 * own not-found screen.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './support/browser.js';
import { e2eFixture } from './support/fixture';
import { deployBuild } from './support/static-host.js';

const fx = e2eFixture({ browsers: { full: { full: true } } });

/**
 * A page in a profile on disk: Chromium never offers to install from an
 * incognito profile, which is what `browser.newContext()` makes.
 */
async function openApp(url: string): Promise<Page> {
	const profile = await mkdtemp(join(tmpdir(), 'stanza-profile-'));
	const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
	fx.defer(async () => {
		await context.close();
		await rm(profile, { recursive: true, force: true });
	});
	const page = context.pages()[0] ?? (await context.newPage());
	fx.watchErrors(page);
	await page.goto(url);
	await page.locator('#display-name').waitFor({ timeout: 15_000 });
	// Installability counts the service worker: wait until it controls the folder.
	await page.evaluate(async () => {
		await navigator.serviceWorker.ready;
	});
	return page;
}

/** The service workers of the page's registration, by state, and the one controlling it (a test's failure message). */
async function workerStates() {
	const registration = await navigator.serviceWorker.getRegistration();
	const name = (worker: ServiceWorker | null | undefined) => (worker ? `${worker.scriptURL.split('/').pop()} ${worker.state}` : null);
	return {
		controller: name(navigator.serviceWorker.controller),
		active: name(registration?.active),
		waiting: name(registration?.waiting),
		installing: name(registration?.installing)
	};
}

/** What Chromium's install check says about the page (the reasons "Install app" would be missing). */
async function installability(page: Page) {
	const cdp = await page.context().newCDPSession(page);
	try {
		const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
		const manifest = await cdp.send('Page.getAppManifest');
		const { appId } = await cdp.send('Page.getAppId');
		return {
			errors: installabilityErrors,
			manifestUrl: manifest.url,
			manifestErrors: manifest.errors,
			appId,
			// Start URL and scope as the browser resolved them.
			startUrl: manifest.manifest.startUrl,
			scope: manifest.manifest.scope
		};
	} finally {
		await cdp.detach();
	}
}

/** Loads every icon the manifest and the page name, and reports its real size and type. */
async function icons(page: Page) {
	return page.evaluate(async () => {
		const manifestHref = document.querySelector<HTMLLinkElement>('link[rel=manifest]')!.href;
		const manifest = await (await fetch(manifestHref)).json();
		const entries: { src: string; sizes: string; type: string }[] = manifest.icons.map(
			(i: { src: string; sizes: string; type: string }) => ({ ...i, src: new URL(i.src, manifestHref).href })
		);
		const apple = document.querySelector<HTMLLinkElement>('link[rel=apple-touch-icon]')!.href;
		entries.push({ src: apple, sizes: '180x180', type: 'image/png' });
		return Promise.all(
			entries.map(async (icon) => {
				const response = await fetch(icon.src);
				const img = new Image();
				img.src = URL.createObjectURL(await response.blob());
				await img.decode();
				return {
					src: icon.src,
					declared: `${icon.sizes} ${icon.type}`,
					actual: `${icon.type.includes('svg') ? 'any' : `${img.naturalWidth}x${img.naturalHeight}`} ${response.headers.get('content-type')}`
				};
			})
		);
	});
}

describe('the installable app', () => {
	it('has no installability errors when the relay serves it, and icons of the declared sizes', async () => {
		const relay = await fx.relay();
		const page = await openApp(relay.url);
		const report = await installability(page);
		expect(report.errors).toEqual([]);
		expect(report.manifestErrors).toEqual([]);
		expect(report.manifestUrl).toBe(`${relay.url}manifest.webmanifest`);
		// The manifest's id is resolved against the origin (not the folder): one app per origin.
		expect(report.appId).toBe(`${relay.url}stanza`);
		expect([report.startUrl, report.scope]).toEqual([relay.url, relay.url]);

		const found = await icons(page);
		expect(found.map((i) => i.src.replace(relay.url, ''))).toEqual([
			'favicon.svg',
			'icon-192.png',
			'icon-512.png',
			'icon-maskable-512.png',
			'apple-touch-icon.png'
		]);
		for (const icon of found) expect(icon.actual, icon.src).toBe(icon.declared);
	});

	it('has none from a sub-folder of another static host either: start and scope follow the folder', async () => {
		const host = await deployBuild('/pwa/here/');
		fx.defer(host.stop);
		const app = host.app;
		// No relay anywhere: installing does not need one.
		const page = await openApp(app);
		const report = await installability(page);
		expect(report.errors).toEqual([]);
		expect(report.manifestErrors).toEqual([]);
		expect(report.manifestUrl).toBe(`${app}manifest.webmanifest`);
		expect(report.appId).toBe(`${host.origin}/stanza`);
		expect(report.scope).toBe(app);
		expect(report.startUrl).toBe(app);
		for (const icon of await icons(page)) {
			expect(icon.src.startsWith(app), icon.src).toBe(true);
			expect(icon.actual, icon.src).toBe(icon.declared);
		}
	});

	it('offers a new version once it is deployed, and moves to it only when asked', async () => {
		const host = await deployBuild('/up/');
		fx.defer(host.stop);
		const page = await openApp(host.app);
		await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 15_000 });
		const caches = () => page.evaluate(() => globalThis.caches.keys()).catch(() => ['(reloading)']);
		const [running] = await caches();
		expect(running).toMatch(/^stanza-\d{13}$/);

		// A new version is deployed: the same build with a new version stamp in its worker.
		const file = join(host.dir, 'service-worker.js');
		const worker = await readFile(file, 'utf8');
		const next = worker.replace(/`\d{13}`/, '`e2e-next`');
		expect(next).not.toBe(worker);
		await writeFile(file, next);
		await page.evaluate(async () => void (await (await navigator.serviceWorker.ready).update()));
		const banner = page.getByTestId('update-ready');
		await banner.waitFor({ timeout: 15_000 });
		// Until the person says so, the running version keeps its worker and its files.
		expect((await caches()).sort()).toEqual(['stanza-e2e-next', running].sort());
		await page.evaluate(() => ((window as unknown as { beforeReload: boolean }).beforeReload = true));

		// What to say if it does not move: whether the page reloaded, what it asked the host, and the workers' states.
		const since = { at: Date.now(), request: host.requests.length };
		const navigations: number[] = [];
		page.on('framenavigated', (frame) => void (frame === page.mainFrame() && navigations.push(Date.now() - since.at)));
		await banner.getByRole('button', { name: 'Reload' }).click();
		try {
			await expect.poll(caches, { timeout: 15_000 }).toEqual(['stanza-e2e-next']);
		} catch (err) {
			const workers = await page.evaluate(workerStates).catch((e: unknown) => `(page not answering: ${String(e)})`);
			const asked = host.requests.slice(since.request).map((r) => `${r.status} ${r.path}`);
			throw new Error(`the old cache outlived Reload: ${JSON.stringify({ navigationsAfterMs: navigations, workers, asked })}`, { cause: err });
		}
		await page.locator('#display-name').waitFor({ timeout: 15_000 });
		expect(await page.evaluate(() => (window as unknown as { beforeReload?: boolean }).beforeReload)).toBeUndefined();
		expect(await banner.count()).toBe(0);
	});

	it('shows its own not-found screen for a hash route it does not have, with a way back', async () => {
		const page = await fx.page({ url: `${(await fx.relay()).url}#/no/such/place` });
		const screen = page.locator('[data-testid=error-screen][data-status="404"]');
		await screen.waitFor({ timeout: 15_000 });
		expect(await screen.getByRole('heading').textContent()).toBe('There is nothing here.');
		// The app around it is still the app: the header and the network status.
		await page.getByTestId('net-status').waitFor();

		await screen.getByRole('link', { name: 'Go to the start page' }).click();
		await page.locator('#room-title').waitFor({ timeout: 15_000 });
		expect(new URL(page.url()).hash).toBe('#/');
		expect(await page.locator('[data-testid=error-screen]').count()).toBe(0);
	});
});
