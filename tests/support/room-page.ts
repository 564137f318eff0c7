import type { Page } from 'playwright-core';

type Section = 'stage' | 'audience' | 'hands';
interface Expect {
	role?: string;
	muted?: boolean;
	hand?: boolean;
	present?: boolean;
	speaking?: boolean;
	/** The name shown, exactly. */
	name?: string;
	/** The avatar shown: its emoji and colour index (e.g. '🐙5'); '' for none. */
	avatar?: string;
}

/** A person in the app, driving rooms through the UI. */
export class RoomPage {
	constructor(
		readonly page: Page,
		readonly name: string
	) {}

	async setName(name: string): Promise<void> {
		await this.page.locator('#display-name').waitFor({ timeout: 15_000 });
		await this.page.locator('#display-name').fill(name);
		await this.page.getByRole('button', { name: 'Save' }).click();
		// Saved (kept on the device) once the profile shows it: a reload before that could lose it.
		await this.page.locator(`[data-testid=profile][data-name=${JSON.stringify(name)}]`).waitFor({ timeout: 10_000 });
	}

	/** Picks an avatar on the home page: a picture, then a colour (1-based, as the picker labels them). */
	async pickAvatar(emoji: string, colour: number): Promise<void> {
		const picker = this.page.getByTestId('avatar-picker');
		await picker.locator('summary').click();
		await picker.getByRole('radio', { name: emoji, exact: true }).check();
		await picker.getByRole('radio', { name: `Colour ${colour}`, exact: true }).check();
		await picker.locator('summary').click();
	}

	/**
	 * Picks a photo on the home page: an image file of `bytes` (named `name`), as the file picker would
	 * hand it. Resolves once the picker shows it (or, when `expectError`, once it says why it cannot).
	 */
	async pickPhoto(bytes: Buffer, name = 'photo.png', expectError = false): Promise<void> {
		const picker = this.page.getByTestId('avatar-picker');
		await picker.locator('summary').click();
		await picker.getByTestId('photo-picker').locator('input[type=file]').setInputFiles({ name, mimeType: name.endsWith('.png') ? 'image/png' : 'text/plain', buffer: bytes });
		if (expectError) await picker.getByTestId('photo-error').waitFor();
		else await picker.locator('summary [data-testid=avatar-picture]').waitFor();
		await picker.locator('summary').click();
	}

	/** The colour at (x, y) of the picture shown for `peerId` in `section`, as [r, g, b], once one is shown. */
	async pictureColour(section: Section, peerId: string, x: number, y: number, timeout = 20_000): Promise<number[]> {
		const img = this.page.locator(`${this.#member(section, peerId)} img[data-testid=avatar-picture]`).first();
		await img.waitFor({ timeout });
		return img.evaluate(
			async (el: HTMLImageElement, [x, y]) => {
				await el.decode();
				const canvas = new OffscreenCanvas(el.naturalWidth, el.naturalHeight);
				const context = canvas.getContext('2d')!;
				context.drawImage(el, 0, 0);
				return [...context.getImageData(x, y, 1, 1).data.slice(0, 3)];
			},
			[x, y]
		);
	}

	/** The relay fan-out chosen in Settings (0…8 or 'auto'); ends back on the home page. */
	async setRelayCapacity(choice: string): Promise<void> {
		await this.page.getByRole('link', { name: 'Settings' }).click();
		await this.page.locator('#relay-capacity').selectOption(choice);
		await this.page.getByRole('link', { name: 'Stanza', exact: true }).click();
		await this.page.locator('#display-name').waitFor({ timeout: 15_000 });
	}

	/** This identity as Settings exports it; ends back on the home page. */
	async exportIdentity(): Promise<string> {
		await this.page.getByRole('link', { name: 'Settings' }).click();
		await this.page.getByText('Export identity').click();
		const exported = (await this.page.getByTestId('export-text').inputValue()).trim();
		await this.page.getByRole('link', { name: 'Stanza', exact: true }).click();
		await this.page.locator('#display-name').waitFor({ timeout: 15_000 });
		return exported;
	}

	/** Replaces this page's identity with an exported one, as Settings does (the app reloads with it). */
	async importIdentity(exported: string): Promise<void> {
		await this.page.getByRole('link', { name: 'Settings' }).click();
		await this.page.getByText('Import identity').click();
		await this.page.locator('#import-text').fill(exported);
		await Promise.all([this.page.waitForEvent('load'), this.page.getByRole('button', { name: 'Import', exact: true }).click()]);
	}

	async myPeerId(): Promise<string> {
		const id = await this.page.getByTestId('net-status').getAttribute('data-peer-id');
		if (!id) throw new Error(`${this.name} has no PeerId yet`);
		return id;
	}

	async startRoom(title: string, description: string, options: { public?: boolean } = {}): Promise<string> {
		await this.page.locator('#room-title').fill(title);
		await this.page.locator('#room-description').fill(description);
		if (options.public) await this.page.locator('input[type=radio][value=public]').check();
		await this.page.getByRole('button', { name: 'Start', exact: true }).click();
		await this.waitStatus('live');
		return this.page.getByTestId('room-link').inputValue();
	}

	async open(link: string): Promise<void> {
		await this.page.goto(link);
		await this.waitStatus('live', 20_000);
	}

	/** Opens a room the way someone handed a link in a message would: pasted into the home page's field. */
	async openByPasting(link: string): Promise<void> {
		await this.page.getByLabel('Paste a link someone shared with you').fill(link);
		await this.page.getByRole('button', { name: 'Open', exact: true }).click();
		await this.waitStatus('live', 20_000);
	}

	async waitStatus(status: string, timeout = 15_000): Promise<void> {
		try {
			await this.page.waitForSelector(`[data-testid=room-status][data-status=${status}], [data-testid=room][data-status=${status}]`, { timeout });
		} catch (err) {
			throw new Error(`${this.name} never reached "${status}". Its network trace:\n${await this.trace()}`, { cause: err });
		}
	}

	/** The page's own record of announces, dials and syncs (src/lib/diagnostics/trace.ts). */
	async trace(): Promise<string> {
		return this.page
			.evaluate(() => String((globalThis as { __stanzaTrace?: unknown }).__stanzaTrace ?? '(no trace)'))
			.catch((err: unknown) => `(trace unavailable: ${String(err)})`);
	}

	/**
	 * Everything a failing test should say about this page: who it sees where (as drawn), what reached
	 * it on the room topic, and its trace.
	 */
	async diagnose(): Promise<string> {
		const seen = await this.page
			.evaluate(() => {
				const members = [...document.querySelectorAll<HTMLElement>('[data-testid=member]')].map(
					(m) => `${m.closest('[data-testid]:not([data-testid=member])')?.getAttribute('data-testid')}:${m.dataset.peerId?.slice(-6)}:${m.dataset.role}`
				);
				const room = (globalThis as { __stanzaRoom?: { topic(): unknown } }).__stanzaRoom;
				return `members ${members.join(' ')}; topic ${JSON.stringify(room?.topic() ?? null)}`;
			})
			.catch((err: unknown) => `(page unavailable: ${String(err)})`);
		return `${this.name}: ${seen}\n${await this.trace()}`;
	}

	async title(): Promise<string> {
		return (await this.page.getByTestId('room-title').textContent())?.trim() ?? '';
	}

	#member(section: Section, peerId: string, expected: Expect = {}): string {
		let selector = `[data-testid=${section}] [data-testid=member][data-peer-id="${peerId}"]`;
		if (expected.role) selector += `[data-role=${expected.role}]`;
		if (expected.muted !== undefined) selector += `[data-muted=${expected.muted}]`;
		if (expected.hand !== undefined) selector += `[data-hand=${expected.hand}]`;
		if (expected.speaking !== undefined) selector += `[data-speaking=${expected.speaking}]`;
		if (expected.present !== undefined) selector += `[data-present=${expected.present}]`;
		if (expected.name !== undefined) selector += `:has(.name:text-is("${expected.name}"))`;
		if (expected.avatar !== undefined) selector += `:has([data-avatar="${expected.avatar}"])`;
		return selector;
	}

	async waitMember(section: Section, peerId: string, expected: Expect = {}, timeout = 20_000): Promise<void> {
		await this.page.waitForSelector(this.#member(section, peerId, expected), { timeout });
	}

	async waitGone(section: Section, peerId: string, timeout = 20_000): Promise<void> {
		await this.page.waitForSelector(this.#member(section, peerId), { state: 'detached', timeout });
	}

	async memberCount(section: Section, peerId: string): Promise<number> {
		return this.page.locator(this.#member(section, peerId)).count();
	}

	async memberAction(section: Section, peerId: string, action: string): Promise<void> {
		const card = this.page.locator(this.#member(section, peerId));
		await card.locator('summary').click();
		await card.getByRole('button', { name: action, exact: true }).click();
	}
}
