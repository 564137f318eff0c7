import { afterEach, describe, expect, it, vi } from 'vitest';
import { ShareState } from './share-state.svelte';

afterEach(() => void vi.useRealTimers());

describe('ShareState', () => {
	it('says "copied" for two seconds, and a failure until the next try', async () => {
		vi.useFakeTimers();
		let refuse = false;
		const state = new ShareState({ clipboard: { writeText: async () => (refuse ? Promise.reject(new Error('denied')) : undefined) } });
		await state.share('t', 'https://x/#k');
		expect(state.outcome).toBe('copied');
		vi.advanceTimersByTime(2_000);
		expect(state.outcome).toBeNull();
		refuse = true;
		await state.share('t', 'https://x/#k');
		vi.advanceTimersByTime(10_000);
		expect(state.outcome).toBe('failed');
	});

	it('shows and hides the QR code', async () => {
		const state = new ShareState({});
		await state.toggleQr('https://x/#k');
		expect(state.qr?.size).toBeGreaterThan(20);
		await state.toggleQr('https://x/#k');
		expect(state.qr).toBeNull();
	});
});
