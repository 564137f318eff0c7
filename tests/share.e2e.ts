/**
 * Sharing a room: "Share link" copies the link where the browser has no share
 * sheet (headless Chromium on Linux has none), and the QR code the screen
 * draws reads back as that same link.
 */
import jsQR from 'jsqr';
import { describe, expect, it } from 'vitest';
import { e2eFixture } from './support/fixture';

const fx = e2eFixture();

describe('share a room', () => {
	it('copy the link, and show it as a QR code that reads back', async () => {
		const host = await fx.person('Host');
		const link = await host.startRoom('Open mic', 'Bring a poem');
		await host.page.context().grantPermissions(['clipboard-read', 'clipboard-write']);

		await host.page.getByRole('button', { name: 'Share link' }).click();
		await host.page.getByRole('button', { name: 'Link copied' }).waitFor();
		expect(await host.page.evaluate(() => navigator.clipboard.readText())).toBe(link);

		await host.page.getByRole('button', { name: 'QR code' }).click();
		const qr = host.page.getByRole('img', { name: 'QR code of this room’s link' });
		await qr.waitFor();
		// Drawn by the browser into a canvas, as a camera would see the screen.
		const { width, height, pixels } = await qr.evaluate(async (svg) => {
			const side = 400;
			const image = new Image();
			image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(svg))}`;
			await image.decode();
			const canvas = new OffscreenCanvas(side, side);
			const context = canvas.getContext('2d')!;
			context.drawImage(image, 0, 0, side, side);
			const data = context.getImageData(0, 0, side, side).data;
			let binary = '';
			for (let i = 0; i < data.length; i++) binary += String.fromCharCode(data[i]);
			return { width: side, height: side, pixels: btoa(binary) };
		});
		const read = jsQR(new Uint8ClampedArray(Buffer.from(pixels, 'base64')), width, height);
		expect(read?.data).toBe(link);

		await host.page.getByRole('button', { name: 'QR code' }).click();
		expect(await qr.count()).toBe(0);
	});
});
