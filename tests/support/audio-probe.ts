import type { Page } from 'playwright-core';

/**
 * Listens to the decoded audio inside a page (through the app's diagnostics
 * tap) and tells which test tone arrived from which speaker: a Goertzel
 * filter per 20 ms frame, a tone counts when it holds most of the frame's
 * energy. Frequencies, not flags: it proves sound arrived.
 */
export const TONES = [440, 660];

export async function installProbe(page: Page): Promise<void> {
	await page.waitForFunction(() => Boolean((globalThis as { __stanzaAudio?: unknown }).__stanzaAudio), null, { timeout: 20_000 });
	await page.evaluate((tones) => {
		type Probe = { last: Record<string, Record<number, number>>; gaps: Record<string, Record<number, number>>; level: Record<number, { at: number; level: number }> };
		const g = globalThis as unknown as { __stanzaAudio: { tap(fn: (speaker: string, s: Float32Array) => void): void }; __probe?: Probe; __tonePower?: unknown };
		if (g.__probe) return;
		const probe: Probe = { last: {}, gaps: {}, level: {} };
		g.__probe = probe;
		const power = (s: Float32Array, hz: number) => {
			const k = 2 * Math.cos((2 * Math.PI * hz) / 48_000);
			let s1 = 0;
			let s2 = 0;
			for (let i = 0; i < s.length; i++) {
				const s0 = s[i] + k * s1 - s2;
				s2 = s1;
				s1 = s0;
			}
			return (s1 * s1 + s2 * s2 - k * s1 * s2) / s.length;
		};
		g.__tonePower = power;
		g.__stanzaAudio.tap((speaker, samples) => {
			let energy = 0;
			for (let i = 0; i < samples.length; i++) energy += samples[i] * samples[i];
			if (energy < 1e-3) return;
			const now = performance.now();
			for (const hz of tones) {
				// A pure tone's Goertzel power is about energy/2; speech or noise leaves it far lower.
				const p = power(samples, hz);
				if (p / energy < 0.25) continue;
				// The tone's level as decoded (Goertzel power per sample: a²/4 for a sine of amplitude a).
				probe.level[hz] = { at: now, level: p / samples.length };
				const last = (probe.last[speaker] ??= {});
				const gaps = (probe.gaps[speaker] ??= {});
				if (last[hz] !== undefined) gaps[hz] = Math.max(gaps[hz] ?? 0, now - last[hz]);
				last[hz] = now;
			}
		});
	}, TONES);
}

/** Whether `hz` from `speaker` played in this page within the last `withinMs`. */
export async function hears(page: Page, speaker: string, hz: number, withinMs = 300): Promise<boolean> {
	return page.evaluate(
		([speaker, hz, withinMs]) => {
			const probe = (globalThis as unknown as { __probe?: { last: Record<string, Record<number, number>> } }).__probe;
			const at = probe?.last[speaker as string]?.[hz as number];
			return at !== undefined && performance.now() - at <= (withinMs as number);
		},
		[speaker, hz, withinMs] as const
	);
}

/** Waits until `hz` from `speaker` has not played in this page for `quietMs` (or never did). */
export async function waitSilent(page: Page, speaker: string, hz: number, quietMs = 500, timeout = 10_000): Promise<void> {
	await page.waitForFunction(
		([speaker, hz, quietMs]) => {
			const at = (globalThis as unknown as { __probe: { last: Record<string, Record<number, number>> } }).__probe.last[speaker as string]?.[hz as number];
			return at === undefined || performance.now() - at > (quietMs as number);
		},
		[speaker, hz, quietMs] as const,
		{ timeout, polling: 100 }
	);
}

/** When `hz` from `speaker` last played in this page (its performance.now()), 0 if never. */
export async function lastHeard(page: Page, speaker: string, hz: number): Promise<number> {
	return page.evaluate(
		([speaker, hz]) => (globalThis as unknown as { __probe: { last: Record<string, Record<number, number>> } }).__probe.last[speaker as string]?.[hz as number] ?? 0,
		[speaker, hz] as const
	);
}

export async function waitHears(page: Page, speaker: string, hz: number, timeout = 20_000): Promise<void> {
	await page
		.waitForFunction(
			([speaker, hz]) => {
				const at = (globalThis as unknown as { __probe?: { last: Record<string, Record<number, number>> } }).__probe?.last[speaker as string]?.[hz as number];
				return at !== undefined && performance.now() - at <= 300;
			},
			[speaker, hz] as const,
			{ timeout, polling: 50 }
		)
		.catch(async () => {
			throw new Error(`no ${hz} Hz from …${speaker.slice(-6)} within ${timeout} ms; this page's tree and audio trace:\n${await audioAccount(page)}`);
		});
}

/**
 * What the page says it did with its audio, where it sits, and what its jitter buffers hold, and what
 * they did over the next second (played, concealed, dropped late or skipped: are packets still coming,
 * and where do they go?): a failure explains itself.
 */
export async function audioAccount(page: Page): Promise<string> {
	const read = () =>
		page.evaluate(() => {
			const g = globalThis as unknown as { __stanzaTrace?: unknown; __stanzaAudio?: { tree(): unknown; stats?(): Record<string, Record<string, number>> } };
			const lines = String(g.__stanzaTrace ?? '').split('\n').filter((l) => l.includes('audio'));
			return { tree: g.__stanzaAudio?.tree() ?? null, stats: g.__stanzaAudio?.stats?.() ?? {}, lines: lines.slice(-20) };
		});
	try {
		const before = await read();
		await new Promise((resolve) => setTimeout(resolve, 1_000));
		const after = await read();
		const perSecond = Object.fromEntries(
			Object.entries(after.stats).map(([speaker, now]) => {
				const then = before.stats[speaker] ?? {};
				const moved = (key: string) => (now[key] ?? 0) - (then[key] ?? 0);
				return [speaker.slice(-6), { played: moved('played'), concealed: moved('concealed'), lateDropped: moved('lateDropped'), skipped: moved('skipped'), buffered: now.bufferedFrames }];
			})
		);
		return `${JSON.stringify(after.tree)}\n${JSON.stringify(after.stats)}\nover the next second: ${JSON.stringify(perSecond)}\n${after.lines.join('\n')}`;
	} catch (err) {
		return `(page unavailable: ${String(err)})`;
	}
}

/** Every page's account (audioAccount), named: where a listener fell silent, what its parent and the rest saw. */
export async function roomAccount(pages: { name: string; page: Page; myPeerId(): Promise<string> }[]): Promise<string> {
	const accounts = await Promise.all(pages.map(async (p) => `— ${p.name} (…${(await p.myPeerId().catch(() => '?')).slice(-6)}):\n${await audioAccount(p.page)}`));
	return accounts.join('\n');
}

/**
 * Waits until every tone in `hzs` is in what the page's mixer sends to the speakers at once: the
 * decoded frames the probe hears (above) are really played, not only decoded. Each tone must come out
 * at no less than a quarter of the level it was decoded at (half its amplitude), whatever the other
 * tone's level: a speaker whose voice processing turned it down is still played. Needs installProbe().
 */
export async function waitOutputTones(page: Page, hzs: number[], timeout = 10_000): Promise<void> {
	type Levels = (hzs: number[]) => { energy: number; output: number[]; decoded: (number | null)[] };
	await page.evaluate(() => {
		const g = globalThis as unknown as {
			__stanzaAudio: { output(): Float32Array };
			__tonePower: (s: Float32Array, hz: number) => number;
			__probe: { level: Record<number, { at: number; level: number }> };
			__outputLevels: Levels;
		};
		g.__outputLevels = (hzs) => {
			const samples = g.__stanzaAudio.output();
			let energy = 0;
			for (let i = 0; i < samples.length; i++) energy += samples[i] * samples[i];
			const now = performance.now();
			return {
				energy,
				output: hzs.map((hz) => g.__tonePower(samples, hz) / samples.length),
				// Only a level decoded within the last 300 ms: the output holds what was decoded just before.
				decoded: hzs.map((hz) => {
					const d = g.__probe.level[hz];
					return d && now - d.at <= 300 ? d.level : null;
				})
			};
		};
	});
	await page
		.waitForFunction(
			(hzs) => {
				const { energy, output, decoded } = (globalThis as unknown as { __outputLevels: Levels }).__outputLevels(hzs);
				return energy > 1e-3 && output.every((level, i) => decoded[i] !== null && level >= 0.25 * decoded[i]!);
			},
			hzs,
			{ timeout, polling: 50 }
		)
		.catch(async () => {
			const last = await page.evaluate((hzs) => (globalThis as unknown as { __outputLevels: Levels }).__outputLevels(hzs), hzs).catch((err: unknown) => String(err));
			throw new Error(
				`the mixer's output never held ${hzs.join(' and ')} Hz at a quarter of their decoded level within ${timeout} ms; last (levels a²/4): ${JSON.stringify(last)}; this page's tree, jitter buffers and audio trace:\n${await audioAccount(page)}`
			);
		});
}

/** Forgets the longest gaps seen so far (start of a measured interval). */
export async function resetGaps(page: Page): Promise<void> {
	await page.evaluate(() => {
		const probe = (globalThis as unknown as { __probe?: { gaps: Record<string, Record<number, number>> } }).__probe;
		if (probe) probe.gaps = {};
	});
}

/** The longest silence (ms) in `hz` from `speaker` since resetGaps(), measured on the page's own clock. */
export async function longestGap(page: Page, speaker: string, hz: number): Promise<number> {
	return page.evaluate(
		([speaker, hz]) => (globalThis as unknown as { __probe: { gaps: Record<string, Record<number, number>> } }).__probe.gaps[speaker as string]?.[hz as number] ?? 0,
		[speaker, hz] as const
	);
}

export async function treeOf(page: Page): Promise<{ speaker: boolean; capacity: number; depth: number | null; parent: string | null; children: string[]; standby: string | null }> {
	return page.evaluate(() => (globalThis as unknown as { __stanzaAudio: { tree(): never } }).__stanzaAudio.tree());
}

/** Waits until the page has a parent other than `lost` and hears `hz` from `speaker` again. */
export async function waitRepaired(page: Page, lost: string, speaker: string, hz: number, timeout = 15_000): Promise<void> {
	await page.waitForFunction(
		(lost) => {
			const parent = (globalThis as unknown as { __stanzaAudio: { tree(): { parent: string | null } } }).__stanzaAudio.tree().parent;
			return parent !== null && parent !== lost;
		},
		lost,
		{ timeout, polling: 20 }
	);
	// The old parent fell silent ≥ 500 ms before the switch, so a frame heard now came through the new one.
	await waitHears(page, speaker, hz, timeout);
}
