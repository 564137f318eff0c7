/**
 * Audio: one speaker and eight listeners with fan-out 2 (depths 1, 2 and 3),
 * a second speaker, a relaying listener closed mid-stream, the relay node
 * stopped, and a moderator's mute. Every check detects the tone itself.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hears, installProbe, longestGap, resetGaps, treeOf, waitHears, waitRepaired } from './support/audio-probe';
import { launchBrowser, newPeerPage } from './support/browser.js';
import { startRelay, type RelayProcess } from './support/relay-process.js';
import { RoomPage } from './support/room-page';
import { writeToneWav } from './support/tone.js';

const A = 440; // the creator's fake microphone
const B = 660; // the second speaker's
const FANOUT = '2';

let creatorBrowser: Browser;
let secondBrowser: Browser;
let relay: RelayProcess | null = null;
const pageErrors: string[][] = [];

beforeAll(async () => {
	const dir = mkdtempSync(join(tmpdir(), 'stanza-tones-'));
	writeToneWav(join(dir, 'a.wav'), A);
	writeToneWav(join(dir, 'b.wav'), B);
	creatorBrowser = await launchBrowser({ fakeAudioFile: join(dir, 'a.wav') });
	secondBrowser = await launchBrowser({ fakeAudioFile: join(dir, 'b.wav') });
});
afterEach(async () => {
	await relay?.stop();
	relay = null;
});
afterAll(async () => {
	await creatorBrowser?.close();
	await secondBrowser?.close();
});

async function person(browser: Browser, name: string): Promise<RoomPage> {
	const { page, errors } = await newPeerPage(browser);
	pageErrors.push(errors);
	await page.goto(relay!.url);
	await page.locator('#relay-capacity').selectOption(FANOUT);
	const p = new RoomPage(page, name);
	await p.setName(name);
	return p;
}

describe('audio trees', () => {
	it('carry every speaker to every listener, repair around a closed relay, survive the relay node, and honour mutes', async () => {
		relay = await startRelay();
		const creator = await person(creatorBrowser, 'Speaker A');
		const link = await creator.startRoom('Tones', '');
		const a = await creator.myPeerId();

		// A second speaker, invited onto the stage.
		const second = await person(secondBrowser, 'Speaker B');
		await second.open(link);
		const b = await second.myPeerId();
		await creator.waitMember('audience', b);
		await creator.memberAction('audience', b, 'Invite to speak');
		await second.page.getByRole('button', { name: 'Join the stage' }).click();
		await creator.waitMember('stage', b, { role: 'speaker' });

		// Eight listeners, one after another, each relaying to at most two.
		const listeners: RoomPage[] = [];
		for (let i = 0; i < 8; i++) {
			const listener = await person(creatorBrowser, `Listener ${i + 1}`);
			// Ten tabs share two cores here: joining gets slower as the room fills.
			await listener.page.goto(link);
			await listener.waitStatus('live', 60_000);
			await listener.page.waitForSelector('[data-testid=audio][data-depth]:not([data-depth=""])', { timeout: 60_000 });
			listeners.push(listener);
		}

		// Two speakers hear each other.
		for (const p of [creator, second, ...listeners]) await installProbe(p.page);
		await waitHears(creator.page, b, B);
		await waitHears(second.page, a, A);

		// Every listener hears both speakers, whatever its depth.
		for (const listener of listeners) {
			await waitHears(listener.page, a, A);
			await waitHears(listener.page, b, B);
		}
		const trees = await Promise.all(listeners.map((l) => treeOf(l.page)));
		const depths = trees.map((t) => t.depth!);
		expect(Math.max(...depths)).toBeLessThanOrEqual(3);
		expect(new Set(depths).size, `depths ${depths}`).toBeGreaterThanOrEqual(2);
		for (const t of [...trees, await treeOf(creator.page), await treeOf(second.page)]) expect(t.children.length).toBeLessThanOrEqual(2);

		// Close a listener that relays for others: its children hear again at once (see the bound below).
		// (Chosen from a fresh look at the tree: relays may have moved up since the snapshot above.)
		const listenerIds = await Promise.all(listeners.map((l) => l.myPeerId()));
		const now = await Promise.all(listeners.map((l) => treeOf(l.page)));
		const relayIndex = now.findIndex((t) => t.children.length > 0);
		expect(relayIndex, 'some listener relays for others').toBeGreaterThanOrEqual(0);
		const orphans = listeners.filter((_, i) => now[relayIndex].children.includes(listenerIds[i]));
		expect(orphans.length).toBeGreaterThan(0);
		// Each orphan-to-be holds a standby link to its backup parent (there are free slots in this room).
		for (const orphan of orphans) {
			await orphan.page.waitForFunction(
				() => Boolean((globalThis as unknown as { __stanzaAudio: { tree(): { standby: string | null } } }).__stanzaAudio.tree().standby),
				null,
				{ timeout: 30_000 }
			);
		}
		await Promise.all(listeners.map((l) => resetGaps(l.page)));
		await listeners[relayIndex].page.context().close();
		const remaining = listeners.filter((_, i) => i !== relayIndex);
		const closedId = listenerIds[relayIndex];
		for (const orphan of orphans) {
			await waitRepaired(orphan.page, closedId, a, A);
			// The silence measured on the orphan's own clock, from its last frame before to its first after.
			const gap = await longestGap(orphan.page, a, A);
			// The goal is a second, and an unloaded repair takes ~0.55 s (npm run bench:audio). Here ten
			// tabs share two cores and the same repair measured 0.5–2.5 s across CI runs, so the bound
			// leaves room for the machine; a repair that waits for the dead link's ICE timeout (15–30 s)
			// still fails it.
			expect(gap, `repair gap at ${orphan.name}`).toBeLessThan(5_000);
		}

		// The relay node goes away: audio keeps flowing over the direct links.
		await relay.stop();
		relay = null;
		for (const listener of remaining) {
			await waitHears(listener.page, a, A);
			await waitHears(listener.page, b, B);
		}

		// A moderator mutes speaker B: B's tone disappears at every listener, A's stays.
		await creator.memberAction('stage', b, 'Mute');
		for (const listener of remaining) {
			await listener.page.waitForFunction(
				([speaker, hz]) => {
					const at = (globalThis as unknown as { __probe: { last: Record<string, Record<number, number>> } }).__probe.last[speaker as string]?.[hz as number];
					return at === undefined || performance.now() - at > 500;
				},
				[b, B] as const,
				{ timeout: 10_000, polling: 100 }
			);
			expect(await hears(listener.page, b, B, 500)).toBe(false);
			await waitHears(listener.page, a, A);
		}

		expect(pageErrors.flat(), 'no page errors or unhandled rejections').toEqual([]);
	}, 300_000);
});

describe('a speaker whose microphone is refused', () => {
	it('is told so plainly, keeps the room, and nothing crashes', async () => {
		relay = await startRelay();
		const { page, errors } = await newPeerPage(secondBrowser);
		// The browser (or the person) refuses the microphone.
		await page.addInitScript(() => {
			navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
		});
		await page.goto(relay.url);
		const creator = new RoomPage(page, 'Muted by the browser');
		await creator.setName(creator.name);
		await creator.startRoom('No mic', '');
		await page.waitForSelector('[data-testid=audio][data-mic=denied]');
		expect(await page.getByTestId('audio').textContent()).toContain('Your microphone is blocked');
		expect(await creator.title()).toBe('No mic');
		expect(errors).toEqual([]);
		await page.context().close();
	});
});
