/**
 * A screen as people meet it: on a phone (390×844), checked by axe-core for
 * accessibility problems, and kept as a screenshot under
 * `test-results/screens/` so a person can look at what the test saw.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { AxeResults } from 'axe-core';

export const PHONE = { width: 390, height: 844 } as const;
const SCREENS_DIR = join(process.cwd(), 'test-results', 'screens');
const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** A serious or critical axe finding, in a line a failure can print. */
export interface Violation {
	id: string;
	impact: string;
	help: string;
	targets: string[];
}

/**
 * The page's serious and critical axe violations (WCAG 2.x A and AA rules), as axe reports them.
 * axe is evaluated through the DevTools protocol, so the page's own script policy does not block it.
 */
export async function seriousViolations(page: Page): Promise<Violation[]> {
	await page.evaluate(await AXE_SOURCE);
	const results = (await page.evaluate(() =>
		(globalThis as unknown as { axe: { run(ctx: Document, opts: object): Promise<unknown> } }).axe.run(document, {
			runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
			resultTypes: ['violations']
		})
	)) as AxeResults;
	return results.violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
}

/** Keeps a full-page screenshot of `page` as `test-results/screens/<name>.png`; returns its path. */
export async function keepScreenshot(page: Page, name: string): Promise<string> {
	await mkdir(SCREENS_DIR, { recursive: true });
	const path = join(SCREENS_DIR, `${name}.png`);
	await page.screenshot({ path, fullPage: true, animations: 'disabled' });
	return path;
}
