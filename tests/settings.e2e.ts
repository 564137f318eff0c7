/**
 * Settings: its own screen, reached from every screen; the language changes
 * the whole UI and stays chosen; a relay a person adds is checked, asked for
 * its address, kept, and dialled at the next start; the microphone a person
 * picks is the one that opens when they speak.
 */
import { describe, expect, it } from 'vitest';
import { AppPage } from './support/app-page';
import { treeOf } from './support/audio-probe';
import { RoomPage } from './support/room-page';
import { e2eFixture } from './support/fixture';

const fx = e2eFixture({ browsers: { full: { full: true } } });

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

	it('open the microphone a person picked when they go on stage', async () => {
		const relay = await fx.relay();
		const app = new AppPage(await fx.page({ url: relay.url }));
		await app.openSettings();
		const picker = app.page.locator('#microphone');
		// Chromium's fake devices: a default and two named inputs.
		await picker.locator('option', { hasText: 'Fake Audio Input 2' }).waitFor({ state: 'attached' });
		await picker.selectOption({ label: 'Fake Audio Input 2' });
		await app.page.reload();
		await app.page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
		await app.page.locator('#microphone option', { hasText: 'Fake Audio Input 2' }).waitFor({ state: 'attached' });
		expect(await picker.evaluate((el: HTMLSelectElement) => el.selectedOptions[0]?.textContent)).toBe('Fake Audio Input 2');

		// The creator is on stage: the microphone that opens is the one picked.
		await app.openHome();
		const room = new RoomPage(app.page, 'creator');
		await room.startRoom('Mic check', 'Which microphone is on');
		await app.page.waitForFunction(
			() => {
				const tree = (globalThis as unknown as { __stanzaAudio?: { tree(): { mic: string; micLabel: string | null } } }).__stanzaAudio?.tree();
				return tree?.mic === 'on' && tree.micLabel !== null;
			},
			null,
			{ timeout: 20_000 }
		);
		expect(await treeOf(app.page)).toMatchObject({ mic: 'on', micLabel: 'Fake Audio Input 2' });
	});

	it('speak through the system microphone when the one picked is unplugged', async () => {
		const relay = await fx.relay();
		const app = new AppPage(await fx.page({ url: relay.url }));
		await app.openHome();
		// A device id kept from a microphone that is no longer plugged in.
		await app.page.evaluate(() => localStorage.setItem('stanza.microphone', 'a-headset-left-at-home'));
		await app.openSettings();
		await app.page.getByRole('status').filter({ hasText: 'is not plugged in' }).waitFor();
		expect(await app.page.locator('#microphone').inputValue()).toBe('a-headset-left-at-home');

		await app.openHome();
		await new RoomPage(app.page, 'creator').startRoom('Unplugged', 'The headset stayed home');
		await app.page.waitForFunction(
			() => (globalThis as unknown as { __stanzaAudio?: { tree(): { mic: string } } }).__stanzaAudio?.tree().mic === 'on',
			null,
			{ timeout: 20_000 }
		);
		expect(await treeOf(app.page)).toMatchObject({ mic: 'on', micLabel: 'Fake Default Audio Input' });
	});
});
