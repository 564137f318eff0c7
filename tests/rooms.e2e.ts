/**
 * Rooms: a creator and three peers join by link, roles change under the
 * moderator's hand, every page agrees, and the room outlives its creator and
 * a restart of its relay.
 */
import { describe, expect, it } from 'vitest';
import { AppPage } from './support/app-page';
import { e2eFixture } from './support/fixture';
import { RoomPage } from './support/room-page';

const fx = e2eFixture();
const person = (name: string) => fx.person(name);

describe('a room', () => {
	it('runs with a creator and three peers, and outlives its creator', async () => {
		const creator = await person('Cleo');
		await creator.pickAvatar('🐙', 6);
		const link = await creator.startRoom('Plane talk', 'Titles are encrypted too');
		const [ana, bo, cy] = await Promise.all(['Ana', 'Bo', 'Cy'].map((n) => person(n)));
		await ana.pickAvatar('🦊', 3);
		// Bo picks a photo: first a file that is no image (told so), then a wide one, red in the middle
		// and blue at both ends, of which the centre square is kept: all red.
		await bo.pickPhoto(Buffer.from('not an image'), 'notes.txt', true);
		const photo = await bo.page.evaluate(async () => {
			const canvas = new OffscreenCanvas(300, 200);
			const context = canvas.getContext('2d')!;
			context.fillStyle = '#2040e0';
			context.fillRect(0, 0, 300, 200);
			context.fillStyle = '#e02020';
			context.fillRect(50, 0, 200, 200);
			return [...new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer())];
		});
		await bo.pickPhoto(Buffer.from(photo));
		// Cy pastes the link into the home page; first a damaged copy, which is refused on the device.
		await cy.page.getByLabel('Paste a link someone shared with you').fill(link.slice(0, -1) + (link.endsWith('A') ? 'B' : 'A'));
		await cy.page.getByRole('button', { name: 'Open', exact: true }).click();
		await cy.page.getByRole('alert').filter({ hasText: 'This link is damaged' }).waitFor();
		await Promise.all([ana.open(link), bo.open(link), cy.openByPasting(link)]);
		const everyone = [creator, ana, bo, cy];
		const ids = Object.fromEntries(await Promise.all(everyone.map(async (p) => [p.name, await p.myPeerId()] as const)));

		// Everyone sees everyone: the creator on stage, the others in the audience, with their avatars.
		for (const p of everyone) {
			await p.waitMember('stage', ids.Cleo, { role: 'creator', avatar: '🐙5' });
			await p.waitMember('audience', ids.Ana, { avatar: '🦊2' });
			await p.waitMember('audience', ids.Bo, { avatar: '' });
			// Bo's photo reached every page (from Bo's own, checked against the digest Bo's presence names).
			for (const [x, y] of [[48, 48], [2, 2], [93, 93]]) {
				const [r, g, b] = await p.pictureColour('audience', ids.Bo, x, y).catch(async (err: unknown) => {
					throw new Error(`${String(err)}\n${p.name}: ${await p.diagnose()}\nBo: ${await bo.diagnose()}`, { cause: err });
				});
				expect(r > 180 && g < 80 && b < 80, `${p.name} sees Bo's photo at (${x}, ${y}) as ${r},${g},${b}`).toBe(true);
			}
			for (const other of [ana, bo, cy]) await p.waitMember('audience', ids[other.name]);
			expect(await p.title()).toBe('Plane talk');
		}
		// The room is named where the system shows what is playing (lock screen, media notification).
		await ana.page.waitForFunction(() => navigator.mediaSession.metadata?.title === 'Plane talk', null, { timeout: 10_000 });

		// A hand goes up; the moderator sees it in the queue.
		await ana.page.getByRole('button', { name: 'Raise hand' }).click();
		await creator.waitMember('hands', ids.Ana, { hand: true });
		// Drawn, not an emoji (which shows as an empty box where no emoji font is installed, as on this machine).
		const handBadge = creator.page.locator(`[data-testid=member][data-peer-id="${ids.Ana}"]`).first().getByRole('img', { name: 'Hand raised' });
		expect(await handBadge.locator('svg[data-icon=hand]').count()).toBe(1);

		// Invite → accept → Ana is a speaker on every page.
		await creator.memberAction('hands', ids.Ana, 'Invite to speak');
		await ana.page.getByTestId('invitation').waitFor();
		await ana.page.getByRole('button', { name: 'Join the stage' }).click();
		for (const p of everyone) await p.waitMember('stage', ids.Ana, { role: 'speaker', hand: false });
		await creator.waitGone('hands', ids.Ana);

		// A moderator's mute shows everywhere.
		await creator.memberAction('stage', ids.Ana, 'Mute');
		for (const p of everyone) await p.waitMember('stage', ids.Ana, { muted: true });
		// No pictogram of the app's own on the room screen is left to an emoji font (avatars are what people picked).
		const chrome = await creator.page.evaluate(() => {
			const main = document.querySelector('main')!.cloneNode(true) as HTMLElement;
			for (const avatar of main.querySelectorAll('[data-avatar]')) avatar.remove();
			return main.textContent ?? '';
		});
		expect(chrome).toContain('Plane talk');
		expect(chrome).not.toMatch(/\p{Extended_Pictographic}/u);
		// Ana is told, in place of her own mute button; the moderator's menu closed after the action.
		await ana.page.getByTestId('mod-muted').waitFor();
		expect(await ana.page.getByRole('button', { name: 'Mute myself' }).count()).toBe(0);
		const menu = (p: typeof creator, section: string, peerId: string) => p.page.locator(`[data-testid=${section}] [data-testid=member][data-peer-id="${peerId}"] details`);
		const isOpen = (p: typeof creator, section: string, peerId: string) => menu(p, section, peerId).evaluate((d) => (d as HTMLDetailsElement).open);
		expect(await isOpen(creator, 'stage', ids.Ana)).toBe(false);
		// Someone in the audience is invited, never made moderator straight onto the stage; Escape closes the menu.
		await menu(creator, 'audience', ids.Cy).locator('summary').click();
		expect(await isOpen(creator, 'audience', ids.Cy)).toBe(true);
		expect(await menu(creator, 'audience', ids.Cy).getByRole('button', { name: 'Make moderator' }).count()).toBe(0);
		await creator.page.keyboard.press('Escape');
		// The menu closes on the key's handler, which may run after press() returns: polled, not read once.
		await expect.poll(() => isOpen(creator, 'audience', ids.Cy)).toBe(false);

		// Remove: the removed page says so, and a reload does not bring Bo back.
		await creator.memberAction('audience', ids.Bo, 'Remove');
		await bo.waitStatus('removed');
		expect(await bo.page.getByTestId('room-status').textContent()).toContain('You were removed from this room.');
		for (const p of [creator, ana, cy]) await p.waitGone('audience', ids.Bo);
		await bo.page.reload();
		await bo.waitStatus('removed');
		for (const p of [creator, ana, cy]) expect(await p.memberCount('audience', ids.Bo)).toBe(0);

		// Ana reloads: the creator, present all along, is never shown away nor nameless on her new page.
		await ana.page.addInitScript((cleo) => {
			const seen: string[] = [];
			(globalThis as unknown as { __cleoCards: string[] }).__cleoCards = seen;
			new MutationObserver(() => {
				const card = document.querySelector<HTMLElement>(`[data-testid=stage] [data-testid=member][data-peer-id="${cleo}"]`);
				if (card) seen.push(`${card.dataset.present}:${card.querySelector('.name')?.textContent ?? ''}`);
			}).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
		}, ids.Cleo);
		await ana.page.reload();
		await ana.waitMember('stage', ids.Cleo, { role: 'creator', present: true }).catch(async (err: unknown) => {
			// What each side saw and did (a loop run once waited 20 s here): the failure explains itself.
			throw new Error(`${String(err)}\n${await ana.diagnose()}\n${await creator.diagnose()}`, { cause: err });
		});
		const cards = await ana.page.evaluate(() => (globalThis as unknown as { __cleoCards: string[] }).__cleoCards);
		expect(cards.filter((c) => c.startsWith('false'))).toEqual([]);
		expect(cards.filter((c) => c.startsWith('true') && !c.includes('Cleo'))).toEqual([]);
		await ana.waitMember('stage', ids.Ana, { role: 'speaker', present: true });

		// The creator closes the tab: the others keep the room, and see the creator leave, told by the
		// goodbye the closing page handed to the relay (not by the presence timeout).
		const goodbyes = (p: typeof creator) =>
			p.page.evaluate(() => (globalThis as unknown as { __stanzaRoom: { topic(): { goodbyes: number } } }).__stanzaRoom.topic().goodbyes);
		const before = { ana: await goodbyes(ana), cy: await goodbyes(cy) };
		await creator.page.close();
		for (const p of [ana, cy]) {
			await p.waitMember('stage', ids.Cleo, { present: false });
			expect(await goodbyes(p)).toBe(before[p.name === 'Ana' ? 'ana' : 'cy'] + 1);
			expect(await p.title()).toBe('Plane talk');
		}
		await creator.page.context().close();

		// A fresh peer joining afterwards gets the whole state from the others. It came by the link
		// (its first page is the room) with no name set: the room asks for one, and the others see it.
		const dee = new RoomPage(await fx.page({ url: link }), 'Dee');
		await dee.waitStatus('live', 20_000);
		const prompt = dee.page.getByTestId('name-prompt');
		await prompt.getByLabel('What should people here call you?').fill('Dee');
		await prompt.getByRole('button', { name: 'Save' }).click();
		await prompt.waitFor({ state: 'detached' });
		await ana.waitMember('audience', await dee.myPeerId(), { name: 'Dee' });
		// Names outlive presence: the creator is gone and Dee never saw it, yet Dee sees its name (kept in the room).
		await dee.waitMember('stage', ids.Cleo, { role: 'creator', present: false, name: 'Cleo', avatar: '🐙5' });
		await dee.waitMember('stage', ids.Ana, { role: 'speaker', muted: true, name: 'Ana', avatar: '🦊2' });
		await dee.waitMember('audience', ids.Cy);
		expect(await dee.title()).toBe('Plane talk');
		expect(await dee.page.getByTestId('room-description').textContent()).toBe('Titles are encrypted too');
		expect(await dee.memberCount('audience', ids.Bo)).toBe(0);
	});

	it('a removed member reads nothing said after its removal, and gets back in when let back in', async () => {
		const creator = await person('Cleo');
		const link = await creator.startRoom('Rotating', '');
		const [ana, bo] = await Promise.all(['Ana', 'Bo'].map((n) => person(n)));
		await Promise.all([ana, bo].map((p) => p.open(link)));
		const [anaId, boId] = await Promise.all([ana.myPeerId(), bo.myPeerId()]);
		for (const p of [creator, bo]) await p.waitMember('audience', anaId);
		const topic = (p: typeof ana) => p.page.evaluate(() => (globalThis as unknown as { __stanzaRoom: { topic(): { opened: number; unreadable: number } } }).__stanzaRoom.topic());
		const holdsNewKey = (p: typeof ana) => p.page.waitForFunction(() => String((globalThis as { __stanzaTrace?: unknown }).__stanzaTrace).includes('key:held'), null, { timeout: 15_000 });
		expect((await topic(ana)).opened, 'Ana reads the room before').toBeGreaterThan(0);

		await creator.memberAction('audience', anaId, 'Remove');
		await ana.waitStatus('removed');
		// The key rotated: the creator drew it, Bo got it from a member.
		await Promise.all([holdsNewKey(creator), holdsNewKey(bo)]);
		// Ana's page still gets the topic (it keeps watching for a readmission), and from now on reads none of it.
		const seen = await topic(ana);
		await expect.poll(async () => (await topic(ana)).unreadable, { timeout: 15_000 }).toBeGreaterThan(seen.unreadable);
		const settled = await topic(ana);
		await bo.page.getByRole('button', { name: 'Raise hand' }).click();
		await creator.waitMember('hands', boId, { hand: true });
		await expect.poll(async () => (await topic(ana)).unreadable, { timeout: 15_000 }).toBeGreaterThanOrEqual(settled.unreadable + 2);
		expect((await topic(ana)).opened, 'Ana opened nothing sealed after the rotation').toBe(settled.opened);

		// Let back in: the list names her (a listener's name lived only in her presence, now gone), and
		// Ana hears of it, gets the current key, and is in the room again with everyone's presence.
		await creator.page.locator('details.removed summary').click();
		expect(await creator.page.getByTestId('removed-member').allTextContents()).toEqual([expect.stringContaining('Ana')]);
		await creator.page.getByRole('button', { name: 'Let Ana back in' }).click();
		await ana.waitStatus('live', 30_000);
		await holdsNewKey(ana);
		await ana.waitMember('audience', boId, { hand: true });
		for (const p of [creator, bo]) await p.waitMember('audience', anaId, { present: true });
	});

	it('tells a removed member who brings its identity to a new device that it is turned away, and lets it in when let back in', async () => {
		const creator = await person('Cleo');
		const link = await creator.startRoom('Doorway', '');
		const ana = await person('Ana');
		const exported = await ana.exportIdentity();
		await ana.open(link);
		const anaId = await ana.myPeerId();
		await creator.waitMember('audience', anaId);
		await creator.memberAction('audience', anaId, 'Remove');
		await ana.waitStatus('removed');
		await ana.page.close();

		// Her identity on a fresh profile, with no copy of the room: members refuse her, and say why.
		const elsewhere = await person('Ana');
		await elsewhere.importIdentity(exported);
		await elsewhere.page.waitForSelector(`[data-testid=net-status][data-peer-id="${anaId}"]`, { timeout: 15_000 });
		await elsewhere.page.goto(link);
		await elsewhere.waitStatus('turnedAway', 20_000);
		expect(await elsewhere.page.getByRole('alert').textContent()).toContain('not letting you in');

		await creator.page.locator('details.removed summary').click();
		await creator.page.getByRole('button', { name: 'Let Ana back in' }).click();
		await elsewhere.waitStatus('live', 30_000);
		await creator.waitMember('audience', anaId, { present: true });
	});

	it('meets a member whose tab crashed again as soon as it opens the link, though the others still hold a connection to the dead page', async () => {
		const creator = await person('Cleo');
		const link = await creator.startRoom('Crash test', 'A tab goes down without a word');
		const ana = await person('Ana');
		await ana.open(link);
		const ids = { Cleo: await creator.myPeerId(), Ana: await ana.myPeerId() };
		await creator.waitMember('audience', ids.Ana, { present: true });
		await ana.waitMember('stage', ids.Cleo, { present: true });
		// The renderer dies: no unload, no goodbye, no close of its connections; the creator's end stays
		// open until libp2p's monitor gives up on it (up to 45 s), and meanwhile the creator took the new
		// page's announces for a neighbour's it already had (a reload in the rooms test once waited 12 s).
		const cdp = await ana.page.context().newCDPSession(ana.page);
		const crashed = ana.page.waitForEvent('crash');
		void cdp.send('Page.crash').catch(() => {}); // answered by no one: the page is gone
		await crashed;
		const again = new RoomPage(await ana.page.context().newPage(), 'Ana again');
		fx.watchErrors(again.page);
		await again.page.goto(link);
		// The creator asks the old connection, hears nothing, closes it, and meets the new page.
		const closedStale = () => creator.trace().then((t) => t.split('\n').some((line) => line.includes('meet:stale') && line.includes(ids.Ana.slice(-6))));
		await expect.poll(closedStale, { timeout: 15_000 }).toBe(true);
		await again.waitMember('stage', ids.Cleo, { role: 'creator', present: true }).catch(async (err: unknown) => {
			throw new Error(`${String(err)}\n${await again.diagnose()}\n${await creator.diagnose()}`, { cause: err });
		});
		await creator.waitMember('audience', ids.Ana, { present: true });
	});

	it('hands a room over to a second tab of the same device, with no goodbye for the person it still is', async () => {
		const creator = await person('Cleo');
		const link = await creator.startRoom('Two tabs', 'One person, two tabs');
		const ana = await person('Ana');
		await ana.open(link);
		const ids = { Cleo: await creator.myPeerId(), Ana: await ana.myPeerId() };
		await ana.waitMember('stage', ids.Cleo, { role: 'creator', present: true });
		const goodbyes = () => ana.page.evaluate(() => (globalThis as unknown as { __stanzaRoom: { topic(): { goodbyes: number } } }).__stanzaRoom.topic().goodbyes);
		const before = await goodbyes();

		// Cleo opens the link again in another tab of the same browser, and uses it there.
		const again = new RoomPage(await creator.page.context().newPage(), 'Cleo again');
		fx.watchErrors(again.page);
		await again.page.goto(link);
		await again.page.waitForSelector('[data-testid=net-status][data-status=elsewhere]', { timeout: 15_000 });
		// The room says why it cannot open here (not that it is looking for people).
		const elsewhere = (tab: RoomPage) => tab.page.locator('[data-testid=room-status][data-elsewhere=true]');
		expect(await elsewhere(again).textContent()).toContain('You can be in your rooms from one tab at a time. To join this room from this tab, choose “Use it in this tab” above.');
		const reloaded = creator.page.waitForEvent('load');
		await again.page.getByRole('button', { name: 'Use it in this tab' }).click();
		await reloaded;
		await elsewhere(again).waitFor({ state: 'detached', timeout: 15_000 });
		// The first tab now waits, and its room says so.
		await elsewhere(creator).waitFor({ timeout: 15_000 });

		// The new tab runs the room: it sees Ana's hand and invites her, and Ana gets the invitation.
		await ana.page.getByRole('button', { name: 'Raise hand' }).click();
		await again.waitMember('hands', ids.Ana, { hand: true }, 30_000);
		await again.memberAction('hands', ids.Ana, 'Invite to speak');
		await ana.page.getByTestId('invitation').waitFor({ timeout: 20_000 });
		// The old tab, reloading, said no goodbye: Cleo was never shown leaving.
		expect(await goodbyes()).toBe(before);
		await ana.waitMember('stage', ids.Cleo, { role: 'creator', present: true });
	});

	it('keeps drawing the photo of someone on stage who has left, as it keeps their name', async () => {
		const creator = await person('Cleo');
		const green = await creator.page.evaluate(async () => {
			const canvas = new OffscreenCanvas(120, 120);
			const context = canvas.getContext('2d')!;
			context.fillStyle = '#20c040';
			context.fillRect(0, 0, 120, 120);
			return [...new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer())];
		});
		await creator.pickPhoto(Buffer.from(green));
		const link = await creator.startRoom('Portraits', '');
		const ana = await person('Ana');
		await ana.open(link);
		const cleo = await creator.myPeerId();
		const isGreen = ([r, g, b]: number[]) => g > 160 && r < 80 && b < 100;
		expect(isGreen(await ana.pictureColour('stage', cleo, 48, 48))).toBe(true);
		await creator.page.close();
		await ana.waitMember('stage', cleo, { present: false, name: 'Cleo' });
		expect(isGreen(await ana.pictureColour('stage', cleo, 48, 48, 1_000))).toBe(true);
	});

	it('goes on through a relay restart: members redial within 5 s and a newcomer joins through it', async () => {
		const relay = await fx.relay();
		const { port, keyFile } = relay;
		const host = await person('Hana');
		const link = await host.startRoom('Restart night', 'The relay will blink');
		const guest = await person('Gus');
		await guest.open(link);
		const ids = { host: await host.myPeerId(), guest: await guest.myPeerId() };
		await host.waitMember('audience', ids.guest);
		const members = [host, guest].map((p) => new AppPage(p.page));
		await Promise.all(members.map((m) => m.waitReachable()));

		await fx.stopRelay();
		await Promise.all(members.map((m) => m.page.waitForSelector('[data-testid=net-status][data-retrying=true]', { timeout: 10_000 })));
		// Restarted with the same key on the same port: every member is back on it within 5 s.
		await fx.relay({ port, keyFile });
		await Promise.all(members.map((m) => m.page.waitForSelector('[data-testid=net-status][data-status=online]', { timeout: 5_000 })));

		// The room went on: a hand raised now reaches the host, and a newcomer finds everyone through the relay.
		await guest.page.getByRole('button', { name: 'Raise hand' }).click();
		await host.waitMember('hands', ids.guest, { hand: true });
		await Promise.all(members.map((m) => m.waitReachable()));
		const newcomer = await person('Nico');
		await newcomer.open(link);
		await newcomer.waitMember('stage', ids.host, { role: 'creator' });
		await newcomer.waitMember('audience', ids.guest, { hand: true });
		expect(await newcomer.title()).toBe('Restart night');
	});

	it('shows reactions to everyone for a few seconds, at most three at once from one person', async () => {
		const creator = await person('Cleo');
		const link = await creator.startRoom('Cheers', 'Reactions');
		const bo = await person('Bo');
		await bo.open(link);
		const boId = await bo.myPeerId();
		await creator.waitMember('audience', boId);

		// Cleo's page records every reaction it shows on Bo's card.
		await creator.page.evaluate((peer) => {
			const seen: string[] = [];
			(window as unknown as { seenReactions: string[] }).seenReactions = seen;
			const look = () => {
				for (const el of document.querySelectorAll(`[data-testid=member][data-peer-id="${peer}"] [data-testid=reaction]`)) {
					const name = el.getAttribute('data-reaction') ?? '';
					if (seen.at(-1) !== name) seen.push(name);
				}
			};
			new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true });
		}, boId);
		// Bo taps all six at once: three go (a burst), the rest are over the rate of one a second and are not sent.
		await bo.page.getByTestId('reactions').evaluate((group) => {
			for (const button of group.querySelectorAll('button')) button.click();
		});
		const card = creator.page.locator(`[data-testid=member][data-peer-id="${boId}"]`).first();
		await card.getByRole('img', { name: 'Laughter' }).waitFor({ timeout: 10_000 });
		// Bo's own card shows what went out, as everyone else sees it.
		await bo.page.locator(`[data-testid=member][data-peer-id="${boId}"]`).first().getByRole('img', { name: 'Laughter' }).waitFor({ timeout: 5_000 });
		// Gone again after a few seconds; by then anything sent has long arrived.
		await card.getByTestId('reaction').waitFor({ state: 'detached', timeout: 10_000 });
		const seen = await creator.page.evaluate(() => (window as unknown as { seenReactions: string[] }).seenReactions);
		expect(seen.at(-1)).toBe('laugh');
		expect(seen.every((r) => ['clap', 'heart', 'laugh'].includes(r)), seen.join()).toBe(true);
	});

	it('says a link with a wrong or missing key is not valid', async () => {
		const creator = await person('Cleo');
		const link = await creator.startRoom('Keyed', '');
		const [base, key] = [link.slice(0, link.lastIndexOf('/') + 1), link.slice(link.lastIndexOf('/') + 1)];

		const missing = await person('NoKey');
		await missing.page.goto(base.slice(0, -1));
		await missing.waitStatus('invalid');

		const damaged = await person('Damaged');
		await damaged.page.goto(base + key.slice(0, 10));
		await damaged.waitStatus('invalid');

		// One character changed: the link's check finds it on the device, before any network.
		const wrongKey = `${key[0] === 'A' ? 'B' : 'A'}${key.slice(1)}`;
		const wrong = await person('Wrong');
		await wrong.page.goto(base + wrongKey);
		await wrong.waitStatus('invalid');
		expect(await wrong.page.getByTestId('room-status').textContent()).toContain('This room link is not valid.');
		// Refused before any network (the page knows its own PeerId from its identity): it never enters the room.
		await wrong.page.waitForSelector('[data-testid=net-status][data-peer-id]:not([data-peer-id=""])', { timeout: 15_000 });
		expect(await creator.memberCount('audience', await wrong.myPeerId())).toBe(0);
	});

	it('opens a room link that arrives while the app is still starting', async () => {
		const creator = await person('Cleo');
		const link = await creator.startRoom('Early', '');
		// The root layout's script is held back: the router has read the address (it asks for the
		// layout in the same step) and waits for it, so the link comes before the router listens.
		const page = await fx.page({ url: 'about:blank' });
		let release = () => {};
		const held = new Promise<void>((resolve) => (release = resolve));
		let asked = () => {};
		const wasAsked = new Promise<void>((resolve) => (asked = resolve));
		await page.route('**/_app/immutable/nodes/0.*.js', async (route) => {
			asked();
			await held;
			await route.continue();
		});
		await page.goto((await fx.relay()).url, { waitUntil: 'domcontentloaded' });
		await wasAsked;
		await page.evaluate((hash) => void (location.hash = hash), new URL(link).hash);
		release();

		const early = new RoomPage(page, 'Early');
		await early.waitStatus('live', 20_000);
		expect(new URL(page.url()).hash).toBe(new URL(link).hash);
		expect(await early.title()).toBe('Early');
	});

	it('keeps rooms on the device: listed after a reload, and opened with no network at all', async () => {
		const relay = await fx.relay();
		const creator = await person('Cleo');
		const link = await creator.startRoom('Kept room', 'Still here offline');
		await creator.page.goto(relay.url);
		await creator.page.reload();
		await expect.poll(() => creator.page.getByTestId('saved-room').allTextContents()).toContain('Kept room');
		await creator.page.evaluate(async () => {
			await navigator.serviceWorker.ready;
		});

		// The relay that served the app is gone: the app still opens, with its rooms.
		await fx.stopRelay();
		await creator.page.reload();
		await expect.poll(() => creator.page.getByTestId('saved-room').allTextContents()).toContain('Kept room');
		// The home needs no relay but for its hallway, which says so.
		await creator.page.getByText('Live public rooms show here when you are online.').waitFor({ timeout: 15_000 });
		await creator.page.goto(link);
		await creator.waitStatus('live');
		// The room does need one: it keeps trying, in plain words.
		await creator.page.waitForSelector('[data-testid=net-status][data-retrying=true]');
		expect(await creator.title()).toBe('Kept room');
		expect(await creator.page.getByTestId('room-description').textContent()).toBe('Still here offline');
	});
});
