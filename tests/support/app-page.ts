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

	async waitReachable(timeout = 15_000): Promise<void> {
		await this.page.waitForSelector('[data-testid=net-status][data-status=online][data-reserved=true]', { timeout });
	}

	async peerId(): Promise<string> {
		const el = this.page.getByTestId('peer-id');
		await el.waitFor({ timeout: 15_000 });
		const text = (await el.textContent())?.trim() ?? '';
		expect(text).toMatch(/^12D3KooW/);
		return text;
	}

	async rename(name: string): Promise<void> {
		await this.page.locator('#display-name').fill(name);
		await this.page.getByRole('button', { name: 'Save' }).click();
	}

	async meet(topic: string): Promise<void> {
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
