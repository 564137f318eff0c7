/**
 * Firefox in a room made in Chromium: Debian's Firefox ESR, driven over
 * WebDriver BiDi (tests/support/browser.js), loads the app, goes online,
 * joins by link, hears the creator, and, invited on stage, is heard. Both
 * directions are proved by detecting each fake microphone's tone where it
 * plays, as in the Chromium tests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installProbe, waitHears } from './support/audio-probe';
import { e2eFixture } from './support/fixture';
import { writeToneWav } from './support/tone.js';

const A = 440; // Chromium's fake microphone
const F = 660; // Firefox's fake microphone (a sine it makes itself)

const tones = mkdtempSync(join(tmpdir(), 'stanza-tones-'));
writeToneWav(join(tones, 'a.wav'), A);

describe('Firefox', { timeout: 240_000 }, () => {
	const fx = e2eFixture({ browsers: { chromium: { fakeAudioFile: join(tones, 'a.wav') }, firefox: { firefox: { fakeToneHz: F } } } });

	it('joins a room made in Chromium, hears it, and speaks in it', async () => {
		const creator = await fx.person('Cleo', { browser: 'chromium' });
		const link = await creator.startRoom('Across browsers', '');
		const cleo = await creator.myPeerId();

		const fern = await fx.person('Fern', { browser: 'firefox' });
		expect(await fern.page.evaluate(() => navigator.userAgent)).toContain('Firefox/');
		const explain = async (err: unknown) => {
			throw new Error(`${String(err)}\n${await creator.diagnose()}\n${await fern.diagnose()}`, { cause: err });
		};
		await fern.open(link).catch(explain);
		const fernId = await fern.myPeerId();
		await creator.waitMember('audience', fernId).catch(explain);
		await fern.waitMember('stage', cleo, { role: 'creator', present: true }).catch(explain);

		// A listener in Firefox: Chromium's Opus packets, decoded by Firefox's WebCodecs, played by its mixer.
		await installProbe(fern.page);
		await installProbe(creator.page);
		await waitHears(fern.page, cleo, A, 45_000);

		// On stage, Firefox's microphone (captured through an AudioWorklet: no MediaStreamTrackProcessor there) reaches Chromium.
		await creator.memberAction('audience', fernId, 'Invite to speak');
		await fern.page.getByRole('button', { name: 'Join the stage' }).click({ timeout: 30_000 }).catch(explain);
		await creator.waitMember('stage', fernId, { role: 'speaker' }).catch(explain);
		await fern.page.locator('[data-testid=audio][data-mic=on]').waitFor({ timeout: 30_000 }).catch(explain);
		await waitHears(creator.page, fernId, F, 45_000);
		// And the two speakers still hear each other, now over their stage link.
		await waitHears(fern.page, cleo, A, 45_000);
	});
});
