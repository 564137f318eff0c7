import { expect } from 'vitest';
import type { Page } from 'playwright-core';

/** The app's page, driven the way a person would: through labels, buttons and visible state. */
export class AppPage {
	constructor(readonly page: Page) {}

	async open(url: string): Promise<void> {
		await this.page.goto(url);
	}

	status() {
		return this.page.getByTestId('net-status');
	}

	/** Waits until this page is online through a relay (from the home, which alone does not start the network, through Settings). */
	async waitReachable(timeout = 15_000): Promise<void> {
		if ((await this.status().getAttribute('data-status')) === 'idle') await this.openSettings();
		await this.page.waitForSelector('[data-testid=net-status][data-status=online][data-reserved=true]', { timeout });
	}

	/** This page's PeerId, as its connection status carries it (on every screen). */
	async peerId(): Promise<string> {
		await this.page.waitForSelector('[data-testid=net-status][data-peer-id^="12D3KooW"]', { timeout: 15_000 });
		const text = (await this.status().getAttribute('data-peer-id')) ?? '';
		expect(text).toMatch(/^12D3KooW/);
		return text;
	}

	/** Settings, through the link every screen has. */
	async openSettings(): Promise<void> {
		await this.page.getByRole('link', { name: 'Settings' }).click();
		await this.page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
	}

	/** The home page, through the app's name in the header. */
	async openHome(): Promise<void> {
		await this.page.getByRole('link', { name: 'Stanza', exact: true }).click();
		await this.page.locator('#display-name').waitFor({ timeout: 15_000 });
	}

	/** Renames from the home page (going there first from any other screen). */
	async rename(name: string): Promise<void> {
		if ((await this.page.locator('#display-name').count()) === 0) await this.openHome();
		await this.page.locator('#display-name').fill(name);
		await this.page.getByRole('button', { name: 'Save' }).click();
		// Saved (kept on the device) once the profile shows it: a reload before that could lose it.
		await this.page.locator(`[data-testid=profile][data-name=${JSON.stringify(name)}]`).waitFor({ timeout: 10_000 });
	}

	/** The diagnostics in Settings (the meet-peers panel), from any screen. */
	async openDiagnostics(): Promise<void> {
		if (await this.page.locator('#meet-topic').isVisible()) return;
		await this.openSettings();
		await this.page.getByText('Diagnostics', { exact: true }).click();
		await this.page.locator('#meet-topic').waitFor();
	}

	/** Meets peers on a topic from the diagnostics (the page stays there, showing them). */
	async meet(topic: string): Promise<void> {
		await this.openDiagnostics();
		await this.page.locator('#meet-topic').fill(topic);
		await this.page.getByRole('button', { name: 'Meet', exact: true }).click();
		await this.page.getByTestId('meeting').waitFor();
	}

	peer(peerId: string) {
		return this.page.locator(`[data-testid=direct-peer][data-peer-id="${peerId}"]`);
	}

	async waitDirectPeers(count: number, timeout = 20_000): Promise<string[]> {
		await this.page.waitForFunction((n) => document.querySelectorAll('[data-testid=direct-peer]').length === n, count, { timeout });
		return this.page.locator('[data-testid=direct-peer]').evaluateAll((els) => els.map((e) => e.getAttribute('data-peer-id') ?? ''));
	}

	/** Says hello to a peer and returns the greeting line once it changes. */
	async greet(peerId: string): Promise<string> {
		await this.openDiagnostics();
		const row = this.peer(peerId);
		const greeting = row.getByTestId('greeting');
		const before = (await greeting.count()) > 0 ? await greeting.getAttribute('data-at') : null;
		await row.getByRole('button', { name: 'Say hello' }).click();
		await this.page.waitForFunction(
			([id, prev]) => {
				const el = document.querySelector(`[data-testid=direct-peer][data-peer-id="${id}"] [data-testid=greeting]`);
				return el !== null && el.getAttribute('data-at') !== prev;
			},
			[peerId, before] as const,
			{ timeout: 10_000 }
		);
		return (await greeting.textContent())?.trim() ?? '';
	}
}
