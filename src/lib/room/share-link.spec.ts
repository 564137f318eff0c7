import jsQR from 'jsqr';
import { describe, expect, it } from 'vitest';
import { qrDrawing, shareLink, type ShareTarget } from './share-link';

const URL_WITH_KEY = 'https://stanza.example/#/r/5kq3m2x9v7w1p0z8?k=Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg&r=/dns4/relay.example/tcp/443/wss/p2p/12D3KooWRelay';

function clipboard() {
	const written: string[] = [];
	return { written, writeText: async (text: string) => void written.push(text) };
}

describe('shareLink', () => {
	it('opens the share sheet where there is one', async () => {
		const shared: unknown[] = [];
		const target: ShareTarget = { share: async (data) => void shared.push(data), canShare: () => true, clipboard: clipboard() };
		expect(await shareLink('Poetry night', URL_WITH_KEY, target)).toBe('shared');
		expect(shared).toEqual([{ title: 'Poetry night', url: URL_WITH_KEY }]);
	});

	it('does nothing more when the person closes the sheet', async () => {
		const board = clipboard();
		const target: ShareTarget = { share: async () => Promise.reject(new DOMException('closed', 'AbortError')), clipboard: board };
		expect(await shareLink('t', URL_WITH_KEY, target)).toBe('cancelled');
		expect(board.written).toEqual([]);
	});

	it('copies the link where sharing is missing, refused or cannot take it', async () => {
		for (const target of [
			{ clipboard: clipboard() },
			{ share: async () => Promise.reject(new DOMException('no gesture', 'NotAllowedError')), clipboard: clipboard() },
			{ share: async () => {}, canShare: () => false, clipboard: clipboard() }
		]) {
			expect(await shareLink('t', URL_WITH_KEY, target)).toBe('copied');
			expect(target.clipboard.written).toEqual([URL_WITH_KEY]);
		}
	});

	it('says so when neither works', async () => {
		expect(await shareLink('t', URL_WITH_KEY, {})).toBe('failed');
		expect(await shareLink('t', URL_WITH_KEY, { clipboard: { writeText: () => Promise.reject(new Error('denied')) } })).toBe('failed');
	});
});

/** Paints the path's unit squares into an RGBA bitmap, `scale` pixels per module, white elsewhere. */
function paint(size: number, d: string, scale: number): Uint8ClampedArray {
	const side = size * scale;
	const pixels = new Uint8ClampedArray(side * side * 4).fill(255);
	for (const [, xs, ys] of d.matchAll(/M(\d+) (\d+)h1v1h-1z/g)) {
		const [x, y] = [Number(xs), Number(ys)];
		for (let py = y * scale; py < (y + 1) * scale; py++) {
			for (let px = x * scale; px < (x + 1) * scale; px++) pixels.fill(0, (py * side + px) * 4, (py * side + px) * 4 + 3);
		}
	}
	return pixels;
}

describe('qrDrawing', () => {
	it('draws a code that a QR reader reads back as the link', async () => {
		const { size, d } = await qrDrawing(URL_WITH_KEY);
		expect(d).toMatch(/^(M\d+ \d+h1v1h-1z)+$/);
		const scale = 4;
		const read = jsQR(paint(size, d, scale), size * scale, size * scale);
		expect(read?.data).toBe(URL_WITH_KEY);
	});

	it('keeps the quiet zone clear', async () => {
		const { size, d } = await qrDrawing('stanza');
		for (const [, xs, ys] of d.matchAll(/M(\d+) (\d+)/g)) {
			for (const v of [Number(xs), Number(ys)]) {
				expect(v).toBeGreaterThanOrEqual(4);
				expect(v).toBeLessThan(size - 4);
			}
		}
	});
});
