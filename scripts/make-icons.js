// @ts-check
/**
 * Draws the app's PNG icons from static/favicon.svg with Debian's Chromium
 * (the browser the tests already use: no image tool to install). Run it after
 * changing the SVG, and commit the PNGs it writes:
 *
 *   node scripts/make-icons.js
 *
 * - icon-192.png, icon-512.png: the SVG as it is (rounded, transparent
 *   corners), "purpose: any" in the manifest.
 * - icon-maskable-512.png: square and full bleed, since the platform cuts its
 *   own shape. The glyph's farthest point is 22 of the 32 units from the
 *   centre (0.69), inside the maskable safe zone (a circle of 0.8).
 * - apple-touch-icon.png (180 px, iOS's size): square and opaque, since iOS
 *   rounds the corners itself and shows transparency as black.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const STATIC = join(ROOT, 'static');
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const svg = readFileSync(join(STATIC, 'favicon.svg'), 'utf8');
const rounded = /<rect [^>]*rx="\d+"/;
if (!rounded.test(svg)) throw new Error('favicon.svg no longer starts with a rounded <rect>: update make-icons.js');
const square = svg.replace(/(<rect [^>]*)rx="\d+"/, '$1rx="0"');

/** @type {Array<{ file: string, size: number, source: string, transparent: boolean }>} */
const ICONS = [
	{ file: 'icon-192.png', size: 192, source: svg, transparent: true },
	{ file: 'icon-512.png', size: 512, source: svg, transparent: true },
	{ file: 'icon-maskable-512.png', size: 512, source: square, transparent: false },
	{ file: 'apple-touch-icon.png', size: 180, source: square, transparent: false }
];

const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--headless=new', '--no-sandbox', '--disable-gpu'] });
try {
	for (const icon of ICONS) {
		const page = await browser.newPage({ viewport: { width: icon.size, height: icon.size }, deviceScaleFactor: 1 });
		const src = `data:image/svg+xml;base64,${Buffer.from(icon.source).toString('base64')}`;
		await page.setContent(
			`<html><body style="margin:0;background:transparent"><img src="${src}" width="${icon.size}" height="${icon.size}" style="display:block"></body></html>`
		);
		await page.locator('img').evaluate((img) => /** @type {HTMLImageElement} */ (img).decode());
		const png = await page.screenshot({ omitBackground: icon.transparent, type: 'png' });
		writeFileSync(join(STATIC, icon.file), png);
		console.log(`static/${icon.file}: ${icon.size}×${icon.size}, ${png.length} bytes`);
		await page.close();
	}
} finally {
	await browser.close();
}
