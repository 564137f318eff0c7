/**
 * Several relays. A browser stays on two of the relays it knows and takes
 * another when one stops; two relays that list each other (`--federate`)
 * carry one room between members who each know only one of them, and the
 * room goes on through the second when the first is gone.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installProbe, waitHears } from './support/audio-probe';
import { AppPage } from './support/app-page';
import { RoomPage } from './support/room-page';
import { e2eFixture } from './support/fixture';
import { keepScreenshot, PHONE, seriousViolations } from './support/screens';
import { startRelay, type RelayProcess } from './support/relay-process.js';
import { writeToneWav } from './support/tone.js';

// Bo's fake microphone plays this tone, so his speech is recognised where Ana hears it.
const BO_TONE = 660;
const tones = mkdtempSync(join(tmpdir(), 'stanza-tones-'));
writeToneWav(join(tones, 'bo.wav'), BO_TONE);
const fx = e2eFixture({ browsers: { default: {}, bo: { fakeAudioFile: join(tones, 'bo.wav') } } });
const addrOf = (relay: { port: number; peerId: string }) => `/ip4/127.0.0.1/tcp/${relay.port}/ws/p2p/${relay.peerId}`;

/**
 * Two relays that name each other (`--federate`), neither telling browsers of the other
 * (`--private-federation`): each member knows only the relay its app came from. Each must name
 * the other, so the first starts twice: first to learn its port and PeerId. `one` is the
 * fixture's relay (fx.stopRelay() stops it).
 */
async function privatelyFederatedPair() {
	const first = await fx.relay();
	const { port, keyFile } = first;
	const second: RelayProcess = await startRelay({ args: ['--federate', addrOf(first), '--private-federation'] });
	fx.defer(async () => void (await second.stop()));
	await fx.stopRelay();
	const one = await fx.relay({ port, keyFile, args: ['--federate', addrOf(second), '--private-federation'] });
	await expect.poll(() => one.output()).toMatch(/federating with 1 relay/);
	return { one, second };
}

describe('two federated relays', () => {
	it('carry a room between members on different relays, and keep it going when one stops', async () => {
		const { one, second } = await privatelyFederatedPair();

		// Ana's app comes from relay 1 and knows only it; Bo's from relay 2.
		const ana = new RoomPage(await fx.page({ url: one.url }), 'Ana');
		await ana.setName('Ana');
		const link = await ana.startRoom('Two relays', 'One room');
		const bo = new RoomPage(await fx.page({ url: second.url }), 'Bo');
		await bo.setName('Bo');
		const fragment = new URL(link).hash;
		await bo.open(new URL(fragment, second.url).toString());
		const ids = { ana: await ana.myPeerId(), bo: await bo.myPeerId() };
		// Bo heard of Ana only through relay 2, which had it from relay 1.
		await bo.waitMember('stage', ids.ana, { role: 'creator' });
		await ana.waitMember('audience', ids.bo);
		expect(await bo.title()).toBe('Two relays');

		// Relay 1 stops: Ana and Bo go on over their direct link, and Cy joins through relay 2.
		await fx.stopRelay();
		await bo.page.getByRole('button', { name: 'Raise hand' }).click();
		await ana.waitMember('hands', ids.bo, { hand: true });
		const cy = new RoomPage(await fx.page({ url: second.url }), 'Cy');
		await cy.setName('Cy');
		await cy.open(new URL(fragment, second.url).toString());
		await cy.waitMember('stage', ids.ana, { role: 'creator' });
		await cy.waitMember('audience', ids.bo, { hand: true });
	});
});

describe('a relay that federates', () => {
	it('tells the browsers it serves of the other relay: they stay on both, and stay online when it stops', async () => {
		const first = await fx.relay();
		const second: RelayProcess = await startRelay({ args: ['--federate', addrOf(first)] });
		fx.defer(async () => void (await second.stop()));
		// The app comes from relay 2, which names relay 1 in its well-known document.
		const app = new AppPage(await fx.page({ url: second.url }));
		await app.openSettings();
		const inUse = app.page.getByTestId('relays-in-use').locator('li');
		const connected = () => inUse.evaluateAll((items) => items.filter((li) => li.getAttribute('data-connected') === 'true').map((li) => li.textContent ?? ''));
		await expect.poll(async () => (await connected()).length, { timeout: 15_000 }).toBe(2);
		await app.waitReachable();

		// Every status the page shows from here on is recorded: losing relay 2 must not take it offline.
		await app.page.evaluate(() => {
			const status = document.querySelector('[data-testid=net-status]')!;
			const seen: string[] = [];
			(window as unknown as { __statuses: string[] }).__statuses = seen;
			new MutationObserver(() => seen.push(status.getAttribute('data-status') ?? '')).observe(status, { attributes: true, attributeFilter: ['data-status'] });
		});
		await second.stop();
		await expect.poll(async () => await connected(), { timeout: 15_000 }).toEqual([expect.stringContaining(first.peerId)]);
		expect(await app.page.evaluate(() => (window as unknown as { __statuses: string[] }).__statuses.filter((s) => s !== 'online'))).toEqual([]);
		expect(await app.status().getAttribute('data-status')).toBe('online');
	});
});

describe('the hallway', () => {
	// The phone story of issue #10, on two relays: the hallway, joining from it, a hand, an invitation, speaking
	// (heard), made moderator, leaving quietly, settings; axe and a screenshot on each screen. Removal and
	// readmission are in rooms.e2e.ts, offline reload and installability in rooms.e2e.ts and pwa.e2e.ts.
	it('lists a public room, not a private one, to someone on another relay, who joins it from there, speaks and leaves', async () => {
		const { one, second } = await privatelyFederatedPair();

		// Ana, on relay 1 only, starts a private room, then a public one.
		const ana = new RoomPage(await fx.page({ url: one.url }), 'Ana');
		await ana.setName('Ana');
		await ana.startRoom('Secret plans', 'Private');
		await ana.page.goto(one.url);
		await ana.startRoom('Open mic', 'Anyone welcome', { public: true });

		// Bo, on relay 2 only and on a phone, sees it under "Live now", with who is on stage, and joins from there.
		const bo = new RoomPage(await fx.page({ url: second.url, browser: 'bo' }), 'Bo');
		await bo.page.setViewportSize(PHONE);
		await bo.setName('Bo');
		const listed = bo.page.getByTestId('hallway-room');
		// Within one round of announcements (30 s), even if relay 2 missed the first one.
		await expect.poll(() => listed.allTextContents(), { timeout: 45_000 }).toEqual([expect.stringContaining('Open mic')]);
		expect(await listed.textContent()).toContain('On stage: Ana');
		await bo.pickAvatar('🌻', 7);
		await bo.page.getByTestId('avatar-picker').locator('summary').click(); // open: its choices are checked too
		await keepScreenshot(bo.page, 'hallway');
		expect(await seriousViolations(bo.page), 'axe on the hallway').toEqual([]);
		await listed.getByRole('link', { name: 'Open mic' }).click();
		await bo.waitStatus('live', 20_000);
		await bo.waitMember('stage', await ana.myPeerId(), { role: 'creator' });
		await ana.waitMember('audience', await bo.myPeerId());

		// The room, for a listener and for its creator (with a listener's actions open), on a phone.
		await keepScreenshot(bo.page, 'room-listener');
		expect(await seriousViolations(bo.page), 'axe on the room, as a listener').toEqual([]);
		await ana.page.setViewportSize(PHONE);
		await ana.page.locator(`[data-peer-id="${await bo.myPeerId()}"] summary`).first().click();
		await keepScreenshot(ana.page, 'room-creator');
		expect(await seriousViolations(ana.page), 'axe on the room, as its creator').toEqual([]);
		await ana.page.keyboard.press('Escape');

		// Relay 2 keeps the announcement (it came from relay 1) for whoever opens the app next; only the public room.
		const kept = async () => ((await (await fetch(new URL('/v1/hallway', second.url))).json()) as Array<{ title: string; listeners: number }>);
		// Polled every 250 ms: the relay lets one address download only so much of its list a second, and the pages here share that address.
		await expect.poll(async () => (await kept()).map((a) => `${a.title}:${a.listeners}`), { timeout: 15_000, interval: 250 }).toEqual(['Open mic:1']);

		// Bo asks to speak: a hand, an invitation, his yes, and he is on stage; Ana hears him (his microphone's tone).
		const [anaId, boId] = [await ana.myPeerId(), await bo.myPeerId()];
		await bo.page.getByRole('button', { name: 'Raise hand' }).click();
		await ana.waitMember('hands', boId, { hand: true });
		await ana.memberAction('hands', boId, 'Invite to speak');
		await bo.page.getByTestId('invitation').waitFor();
		await keepScreenshot(bo.page, 'room-invited');
		await bo.page.getByRole('button', { name: 'Join the stage' }).click();
		await ana.waitMember('stage', boId, { role: 'speaker' });
		await installProbe(ana.page);
		await waitHears(ana.page, boId, BO_TONE, 30_000);
		// On stage, he is made moderator (someone in the audience is never offered that: rooms.e2e.ts).
		await ana.memberAction('stage', boId, 'Make moderator');
		await bo.waitMember('stage', boId, { role: 'moderator' });
		await bo.waitMember('stage', anaId, { role: 'creator' });
		await keepScreenshot(bo.page, 'room-moderator');
		expect(await seriousViolations(bo.page), 'axe on the room, as a moderator on stage').toEqual([]);
		// He leaves quietly: his phone says so, and Ana sees him go (his card stays on stage, away).
		await bo.page.getByRole('button', { name: 'Leave quietly' }).click();
		await bo.waitStatus('left');
		await ana.waitMember('stage', boId, { role: 'moderator', present: false });

		// Settings, on the same phone.
		await new AppPage(bo.page).openSettings();
		await keepScreenshot(bo.page, 'settings');
		expect(await seriousViolations(bo.page), 'axe on settings').toEqual([]);
	});
});

describe('a browser that knows three relays', () => {
	it('stays on two of them, and takes the third when one of those stops', async () => {
		const first = await fx.relay();
		const others: RelayProcess[] = [await startRelay(), await startRelay()];
		for (const r of others) fx.defer(async () => void (await r.stop()));
		const app = new AppPage(await fx.page({ url: first.url }));
		await app.openSettings();
		for (const r of others) {
			await app.page.locator('#relay-add').fill(r.url);
			await app.page.getByRole('button', { name: 'Add relay' }).click();
			await app.page.getByTestId('my-relays').getByText(r.peerId, { exact: false }).waitFor();
		}
		// Added relays are dialled from the next start.
		await app.page.reload();
		await app.page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
		const inUse = app.page.getByTestId('relays-in-use').locator('li');
		const connected = () => inUse.evaluateAll((items) => items.filter((li) => li.getAttribute('data-connected') === 'true').map((li) => li.textContent ?? ''));
		await expect.poll(() => inUse.count(), { timeout: 15_000 }).toBe(3);
		await expect.poll(async () => (await connected()).length, { timeout: 15_000 }).toBe(2);
		await app.waitReachable();

		// Stop one of the two it is on: it takes the third, and stays online throughout.
		const all = [first, ...others];
		const on = (await connected()).map((text) => all.find((r) => text.includes(r.peerId))!);
		const spare = all.find((r) => !on.includes(r))!;
		if (on[0] === first) await fx.stopRelay();
		else await on[0].stop();
		await expect.poll(async () => (await connected()).some((text) => text.includes(spare.peerId)), { timeout: 15_000 }).toBe(true);
		expect((await connected()).length).toBe(2);
		expect(await app.status().getAttribute('data-status')).toBe('online');
	});
});
