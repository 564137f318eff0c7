/**
 * Settings: its own screen, reached from every screen; the language changes
 * the whole UI and stays chosen; a relay a person adds is checked, asked for
 * its address, kept, and dialled at the next start.
 */
import { describe, expect, it } from 'vitest';
import { AppPage } from './support/app-page';
import { e2eFixture } from './support/fixture';

const fx = e2eFixture();

describe('settings', () => {
	it('switch the language for good, and keep the relays a person adds', async () => {
		const relay = await fx.relay();
		const app = new AppPage(await fx.page({ url: relay.url }));
		await app.openHome();
		// The home is about rooms: no PeerId, no diagnostics.
		expect(await app.page.getByTestId('peer-id').count()).toBe(0);
		expect(await app.page.locator('#meet-topic').count()).toBe(0);

		await app.openSettings();
		await app.page.locator('#language').selectOption('it');
		await app.page.getByRole('heading', { name: 'Impostazioni', level: 1 }).waitFor();
		expect(await app.page.evaluate(() => document.documentElement.lang)).toBe('it');

		// A relay's web address is asked for its multiaddr when added; junk is refused with a reason.
		const input = app.page.locator('#relay-add');
		await input.fill('relay.example.org');
		await app.page.getByRole('button', { name: 'Aggiungi relay' }).click();
		await app.page.getByRole('alert').filter({ hasText: 'Non è né un indirizzo web' }).waitFor();
		await input.fill(relay.url);
		await app.page.getByRole('button', { name: 'Aggiungi relay' }).click();
		const relayId = await fetch(new URL('/.well-known/stanza-relay.json', relay.url)).then((r) => r.json() as Promise<{ peerId: string }>);
		await app.page.getByTestId('my-relays').getByText(relayId.peerId, { exact: false }).waitFor();

		// Both hold after a reload, and the added relay is among those dialled.
		await app.page.reload();
		await app.page.getByRole('heading', { name: 'Impostazioni', level: 1 }).waitFor();
		expect(await app.page.getByTestId('my-relays').locator('li').count()).toBe(1);
		await app.page.getByTestId('relays-in-use').getByText(relayId.peerId, { exact: false }).first().waitFor({ timeout: 15_000 });
		await app.page.getByRole('button', { name: /^Rimuovi / }).click();
		expect(await app.page.getByTestId('my-relays').count()).toBe(0);
		await app.page.locator('#language').selectOption('auto');
		await app.page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
	});
});
