/**
 * Audio trees, told as one room's story in scenarios that run in order and
 * share the room: two speakers and four listeners with fan-out 1 (depths 1
 * and 2); a relaying listener closes mid-stream; a relaying listener
 * withholds the audio but keeps its links alive; one holds a speaker back, one delays the
 * audio, one passes it on too unevenly to play; one forges what it forwards; one replays a
 * muted speaker's packets; a listener is banned while running code that ignores its
 * ban; the relay node stops; a moderator mutes a speaker. Every check detects
 * the tone itself. A refused microphone is its own room, and so is a room
 * whose one slot a phone took when a listener that relays arrives.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hears, installProbe, lastHeard, longestGap, resetGaps, roomAccount, treeOf, waitHears, waitOutputTones, waitRepaired, waitSilent } from './support/audio-probe';
import { e2eFixture } from './support/fixture';
import { hostileHooks } from './support/hostile-hooks';
import type { RoomPage } from './support/room-page';
import { writeToneWav } from './support/tone.js';

const A = 440; // the creator's fake microphone
const B = 660; // the second speaker's
const FANOUT = '1';
// Four listeners with fan-out 1 fill the speakers' two slots at depth 1 and two at depth 2, so
// some listeners relay and one has a subtree to repair. Every Chromium tab playing the room costs
// ~20 % of a core here (WebRTC, decoding, the audio thread): eight tabs kept both cores busy and
// WebRTC dials timed out, which tests the machine, not the app.
const LISTENERS = 4;

const tones = mkdtempSync(join(tmpdir(), 'stanza-tones-'));
writeToneWav(join(tones, 'a.wav'), A);
writeToneWav(join(tones, 'b.wav'), B);

// Each scenario may wait on the tree settling more than once (relayAndChild looks up to three times).
describe.sequential('an audio room of two speakers and four listeners', { timeout: 240_000 }, () => {
	const fx = e2eFixture({
		browsers: { a: { fakeAudioFile: join(tones, 'a.wav') }, b: { fakeAudioFile: join(tones, 'b.wav') } },
		scope: 'file'
	});
	let creator: RoomPage;
	let second: RoomPage;
	let link = '';
	let a = '';
	let b = '';
	const listeners: RoomPage[] = [];
	let remaining: RoomPage[] = [];

	type Tree = Awaited<ReturnType<typeof treeOf>>;

	/**
	 * Whether a listener sits two levels or more below a free slot (the speakers' included), so that it
	 * moves up once its 5 s cooldown, or its 5 s avoidance of a parent it just left, runs out
	 * (tree-planner.ts planRebalance): a tree can hold still for a second and a half and still be
	 * about to move (CI run of 03fd2f6: in three rounds running, the child picked moved up to a freed
	 * speaker slot before it judged its delaying relay).
	 */
	function moveUpPending(trees: Tree[]): boolean {
		const free = trees.filter((t) => t.depth !== null && t.children.length < t.capacity).map((t) => t.depth!);
		const shallowest = Math.min(...free);
		return trees.some((t) => !t.speaker && t.capacity > 0 && t.depth !== null && t.depth >= shallowest + 2);
	}

	/**
	 * The listeners' trees (the remaining ones by default) once they hold still: every one has a
	 * parent, `wanted` holds of them, and nothing changed for a second and a half with no move-up
	 * pending (repairs and move-ups done), or for 6 s (a move-up held back longer than its cooldown:
	 * a member keeps away from a forger for minutes).
	 */
	async function settledTrees(wanted: (trees: Tree[]) => boolean, pages = remaining) {
		let trees: Tree[] = [];
		let same = '';
		let since = 0;
		await expect
			.poll(
				async () => {
					const speakers = await Promise.all([creator, second].map((p) => treeOf(p.page)));
					trees = await Promise.all(pages.map((l) => treeOf(l.page)));
					const shape = JSON.stringify([...speakers, ...trees].map((t) => [t.parent, t.children, t.depth]));
					if (shape !== same) [same, since] = [shape, Date.now()];
					const still = Date.now() - since;
					return trees.every((t) => t.parent !== null) && wanted(trees) && still >= (moveUpPending([...speakers, ...trees]) ? 6_000 : 1_500);
				},
				{ timeout: 60_000, interval: 100 }
			)
			.toBe(true)
			.catch(async (err: unknown) => {
				// What the tree looked like, and what each page says it did: the failure explains itself.
				const traces = await Promise.all(pages.map(async (p) => `${p.name}:\n${(await p.trace()).split('\n').filter((l) => l.includes('audio')).slice(-15).join('\n')}`));
				throw new Error(`the tree did not settle: ${JSON.stringify(trees.map((t) => [t.depth, t.parent?.slice(-6), t.children.map((c) => c.slice(-6))]))}\n${traces.join('\n')}`, { cause: err });
			});
		return trees;
	}

	/**
	 * A relaying listener and its child, still paired once the child hears A (through it): the tree
	 * can move between one look and the next (a late move-up), so a pair that came apart is looked
	 * for again.
	 */
	async function relayAndChild(): Promise<{ relay: RoomPage; relayId: string; child: RoomPage }> {
		const ids = await Promise.all(remaining.map((l) => l.myPeerId()));
		for (let attempt = 1; ; attempt++) {
			const trees = await settledTrees((ts) => ts.some((t) => t.parent !== null && t.children.length > 0));
			const index = trees.findIndex((t) => t.children.length > 0);
			const child = remaining[ids.indexOf(trees[index].children[0])];
			await waitHears(child.page, a, A);
			if ((await treeOf(child.page)).parent === ids[index]) return { relay: remaining[index], relayId: ids[index], child };
			if (attempt === 3) throw new Error(`the tree kept moving: ${child.name} left ${remaining[index].name} each time before the scenario could start`);
		}
	}

	async function person(name: string, browser: string): Promise<RoomPage> {
		const p = await fx.person(name, { browser, initScript: hostileHooks });
		await p.setRelayCapacity(FANOUT);
		return p;
	}

	it('a creator starts the room and invites a second speaker, who accepts', async () => {
		creator = await person('Speaker A', 'a');
		link = await creator.startRoom('Tones', '');
		a = await creator.myPeerId();
		second = await person('Speaker B', 'b');
		await second.open(link);
		b = await second.myPeerId();
		// On failure both pages say what they saw and what reached them.
		const explain = async (err: unknown) => {
			throw new Error(`${String(err)}\n${await creator.diagnose()}\n${await second.diagnose()}`, { cause: err });
		};
		await creator.waitMember('audience', b).catch(explain);
		await creator.memberAction('audience', b, 'Invite to speak');
		await second.page.getByRole('button', { name: 'Join the stage' }).click({ timeout: 30_000 }).catch(explain);
		await creator.waitMember('stage', b, { role: 'speaker' }).catch(explain);
	});

	it('four listeners join one after another, each live with a place in the tree', { timeout: 300_000 }, async () => {
		for (let i = 0; i < LISTENERS; i++) {
			const listener = await person(`Listener ${i + 1}`, 'a');
			await listener.page.goto(link);
			await listener.waitStatus('live', 60_000);
			await listener.page.waitForSelector('[data-testid=audio][data-depth]:not([data-depth=""])', { timeout: 60_000 });
			listeners.push(listener);
		}
	});

	it('the two speakers hear each other, and each sees its own level and speaking ring', async () => {
		for (const p of [creator, second, ...listeners]) await installProbe(p.page);
		// On failure, the two speakers' own account of their audio (links, microphone) goes with the error.
		const audioTrace = async (p: RoomPage) => `${p.name}:\n${(await p.trace()).split('\n').filter((l) => l.includes('audio')).join('\n')}`;
		const explain = async (err: unknown) => {
			throw new Error(`${String(err)}\n${await audioTrace(creator)}\n${await audioTrace(second)}`, { cause: err });
		};
		await waitHears(creator.page, b, B).catch(explain);
		await waitHears(second.page, a, A).catch(explain);
		// Heard through the path Chromium's echo canceller takes its reference from: the remote WebRTC
		// track played by a media element, and nothing of the other speaker through the Web Audio mixer.
		for (const [p, other] of [[creator, b], [second, a]] as const) {
			const paths = await p.page.evaluate(() => (globalThis as unknown as { __stanzaAudio: { stage(): unknown[] } }).__stanzaAudio.stage());
			expect(paths).toContainEqual({ speaker: other, mediaElement: true, playing: true, heard: true, track: 'live' });
			const mixed = await p.page.evaluate(() => Object.keys((globalThis as unknown as { __stanzaAudio: { stats(): object } }).__stanzaAudio.stats()));
			expect(mixed).not.toContain(other);
		}
		for (const [p, id, other] of [[creator, a, b], [second, b, a]] as const) {
			await p.page.waitForFunction(() => ((document.querySelector('[data-testid=mic-level]') as HTMLMeterElement | null)?.value ?? 0) > 0.02, null, { timeout: 10_000 });
			await p.waitMember('stage', id, { speaking: true });
			// The fellow speaker's ring, from the level its packets carry.
			await p.waitMember('stage', other, { speaking: true });
		}
	});

	it('every listener hears both speakers, the tree settles at depth ≤ 3, and nobody relays to more than one', async () => {
		// Generous: four listeners finding their places while six real-time tabs share two cores can take
		// a while (how fast a join or repair is, is bench:audio's business).
		// On failure, every page's account of its audio: the silent listener's parent's side too.
		const explain = async (err: unknown) => {
			throw new Error(`${String(err)}\nthe whole room:\n${await roomAccount([creator, second, ...listeners])}`, { cause: err });
		};
		for (const listener of listeners) {
			await waitHears(listener.page, a, A, 45_000).catch(explain);
			await waitHears(listener.page, b, B, 45_000).catch(explain);
			// And both come out of its speakers, mixed: the mixer plays what was decoded. As patient as the
			// waits above: a listener that heard both may be repairing a moment later (CI stop 40: a depth-3
			// listener on a machine far slower than this one decoded nothing for the 15 s this once allowed).
			await waitOutputTones(listener.page, [A, B], 45_000).catch(explain);
		}
		// A joiner that saw a shallower slot's advert not yet confirmed (advert-check.ts) may land a level
		// deeper; move-ups (planRebalance, at most one per 5 s per member) bring such a chain back up. And
		// under load a relay can be dropped for a moment and repaired (its depth is then stale): the shape
		// is judged once every listener has a parent and the tree has held still.
		const trees = await settledTrees((ts) => Math.max(...ts.map((t) => t.depth ?? Infinity)) <= 3, listeners);
		const depths = trees.map((t) => t.depth!);
		expect(new Set(depths).size, `depths ${depths}`).toBeGreaterThanOrEqual(2);
		for (const t of [...trees, await treeOf(creator.page), await treeOf(second.page)]) expect(t.children.length).toBeLessThanOrEqual(Number(FANOUT));
	});

	it('when a relaying listener closes, its children hear again within the bound', async () => {
		// A relaying listener whose children each hold a standby link to a backup parent, looked for in fresh
		// looks at the tree. With fan-out 1 not every listener can have one, and a settled tree may have no
		// such relay at all: two chains A→L1→L2 and B→L3→L4 whose two free slots (at L2 and L4) went to L3's
		// and L1's standbys leave L2 and L4 with none, for good (a run waited 60 s for one). After 15 s any
		// relaying listener is taken: its children then repair with a fresh link, which the bound covers.
		const listenerIds = await Promise.all(listeners.map((l) => l.myPeerId()));
		let relayIndex = -1;
		let orphans: RoomPage[] = [];
		const lookingSince = Date.now();
		await expect
			.poll(
				async () => {
					const now = await Promise.all(listeners.map((l) => treeOf(l.page)));
					relayIndex = now.findIndex((t) => t.children.length > 0 && t.children.every((c) => now[listenerIds.indexOf(c)]?.standby));
					if (relayIndex < 0 && Date.now() - lookingSince > 15_000) relayIndex = now.findIndex((t) => t.children.length > 0);
					orphans = relayIndex >= 0 ? listeners.filter((_, i) => now[relayIndex].children.includes(listenerIds[i])) : [];
					return orphans.length;
				},
				{ timeout: 60_000, interval: 200 }
			)
			.toBeGreaterThan(0);
		await Promise.all(listeners.map((l) => resetGaps(l.page)));
		await listeners[relayIndex].page.context().close();
		remaining = listeners.filter((_, i) => i !== relayIndex);
		const closedId = listenerIds[relayIndex];
		for (const orphan of orphans) {
			await waitRepaired(orphan.page, closedId, a, A, 20_000);
			// The silence measured on the orphan's own clock, from its last frame before to its first after.
			const gap = await longestGap(orphan.page, a, A);
			// The goal is half a second, and an unloaded repair takes ~0.6 s (npm run bench:audio, where
			// speed is measured). Six real-time tabs share two cores here: when the standby cannot take the
			// orphan, a fresh WebRTC link took 5.0 s in one run and 8.6 s in another. The bound catches a
			// repair that waits for the dead link's ICE timeout (15–30 s) instead of repairing on its own.
			expect(gap, `repair gap at ${orphan.name}`).toBeLessThan(12_000);
		}
	});

	// A listener at depth 1 (the relay, or another) can leave its place first. In the 10-run loop of
	// 76e5021 one judged its honest speaker as holding that speaker's own voice back and left its slot,
	// and the child (now two levels below a free slot) moved up into it: 3 of 53 rounds proved nothing
	// (twice the relay, once another listener), all in runs 9 and 10, and run 9's scenario passed only
	// in its third and last round. That verdict's cause is fixed (a loaded speaker's microphone dropping
	// frames, withholding.ts noteSent), but in run 10 the relay also judged that speaker as passing its
	// fellow on too unevenly, which a loaded speaker tab may really do: a fresh pair is a fresh chance,
	// up to five, none begun past ROUNDS_BUDGET_MS (a round can wait a minute on the tree settling and
	// half a minute on the repair, inside the test's 240 s).
	const ROUNDS = 5;
	const ROUNDS_BUDGET_MS = 140_000;

	/**
	 * Turns a misbehaviour on in a relaying listener (`flag` among its hostile hooks, set to `value`) until
	 * its child has repaired around it and hears `hz` from `speaker` again, and passes when the child's
	 * own trace, since that round began, gives `verdict` about that relay. The child may leave for
	 * another reason first (a move-up planned meanwhile, or a loaded relay's tab stalling past the
	 * silence limit): that round proves nothing, a fresh pair is tried, up to ROUNDS in all, none begun
	 * past ROUNDS_BUDGET_MS (then it fails with every round's account, not the test's timeout).
	 */
	async function repairedAroundMisbehaviour(
		flag: '__withhold' | '__withholdTag' | '__delay' | '__jitter' | '__forge',
		verdict: (line: string, relayId: string) => boolean,
		what: string,
		{ value = true as unknown, speaker = a, hz = A } = {}
	): Promise<void> {
		const rounds: string[] = [];
		const began = Date.now();
		for (let round = 1; round <= ROUNDS && Date.now() - began < ROUNDS_BUDGET_MS; round++) {
			const { relay, relayId, child } = await relayAndChild();
			const since = await child.page.evaluate(() => performance.now());
			const everyone = [creator, second, ...remaining];
			const sinces = await Promise.all(everyone.map((p) => p.page.evaluate(() => performance.now())));
			await relay.page.evaluate(([flag, value]) => ((globalThis as Record<string, unknown>)[flag as string] = value), [flag, value]);
			try {
				// Repaired elsewhere: what the child hears now is the real speaker, signed. Judging takes about a
				// second; the new link may take seconds on two loaded cores, more when the free slots are full
				// and the orphan must wait for one (speed is bench:audio's business).
				await waitRepaired(child.page, relayId, speaker, hz, 30_000).catch(async (err: unknown) => {
					const account = (await child.trace()).split('\n').filter((l) => l.includes('audio: ') && parseFloat(l) >= since);
					throw new Error(`${child.name} was not repaired around ${relay.name} (${what}): ${String(err)}\n${account.join('\n')}`, { cause: err });
				});
			} finally {
				// Switched off whatever happens, so that a failure here does not spill into the next scenarios.
				await relay.page.evaluate((flag) => ((globalThis as Record<string, unknown>)[flag] = false), flag);
			}
			const lines = (await child.trace()).split('\n').filter((l) => l.includes('audio: ') && parseFloat(l) >= since);
			if (lines.some((l) => verdict(l, relayId))) return;
			// What every other page did meanwhile: the reason the child left may lie there (a slot freed).
			const others = await Promise.all(
				everyone.map(async (p, i) => (p === child ? '' : `  ${p.name}:\n${(await p.trace()).split('\n').filter((l) => l.includes('audio: ') && parseFloat(l) >= sinces[i]).map((l) => `    ${l}`).join('\n')}\n`))
			);
			rounds.push(`round ${round}: ${child.name} left ${relay.name} without judging it:\n${lines.join('\n')}\n${others.join('')}`);
			// In the log of a run that passes too: a scenario that often needs a second round is near failing.
			console.warn(`${what}: ${rounds.at(-1)}`);
		}
		throw new Error(`${what} was never the reason the child left, in ${rounds.length} rounds and ${Math.round((Date.now() - began) / 1000)} s:\n${rounds.join('\n')}`);
	}

	it('a relaying listener that keeps its links alive but withholds the audio is repaired around', async () => {
		await repairedAroundMisbehaviour('__withhold', (l, relayId) => l.includes('audio: withheld ') && l.includes(relayId.slice(-6)), 'the withholding');
	});

	it('a relaying listener that passes one speaker on and holds the other back is repaired around', async () => {
		const tag = [...createHash('sha256').update(b).digest().subarray(0, 4)];
		const verdict = (l: string, relayId: string) => l.includes('audio: withheld') && l.includes(`…${relayId.slice(-6)} passes audio on but holds back`);
		await repairedAroundMisbehaviour('__withholdTag', verdict, 'holding B back', { value: tag, speaker: b, hz: B });
	});

	it('a relaying listener that passes the audio on seconds late is repaired around', async () => {
		// Judged late by the marks, or too late to play: as the delay crosses the late mark, network jitter
		// makes its packets alternate between late and on time, which breaks the late run while most of
		// them already come too late to play (loop run 2 of e3d1dd2, round 1). Either verdict is about this
		// relay's timing; withholding.spec holds each rule to its own case.
		const verdict = (l: string, relayId: string) =>
			l.includes('audio: withheld') && l.includes(`…${relayId.slice(-6)} passes`) && (l.includes(' ms late') || l.includes('too unevenly to play'));
		await repairedAroundMisbehaviour('__delay', verdict, 'the delay', { value: 3_000 });
	});

	it('a relaying listener that passes the audio on too unevenly to play is repaired around', async () => {
		// Each message after its own delay below 1.2 s: none late by the marks (1.5 s), most too late for the child's jitter buffer.
		const verdict = (l: string, relayId: string) => l.includes('audio: withheld') && l.includes(`…${relayId.slice(-6)} passes`) && l.includes('too unevenly to play');
		await repairedAroundMisbehaviour('__jitter', verdict, 'the uneven delays', { value: 1_200 });
	});

	it('a relaying listener that forges what it forwards is cut off, and its child hears the real speaker again', async () => {
		// Three listeners, two speaker slots: one listener relays for another once the last repair has settled.
		await repairedAroundMisbehaviour('__forge', (l, relayId) => l.includes('audio: forged') && l.includes(`via …${relayId.slice(-6)}`), 'the forgery');
	});

	it('a relaying listener that replays a speaker’s packets while that speaker is muted is not heard', async () => {
		type Hooks = { __recordTag?: number[]; __recorded: unknown[]; __replay: () => Promise<number> };
		const tag = [...createHash('sha256').update(b).digest().subarray(0, 4)];
		const recorded = (page: RoomPage) => page.page.evaluate(() => (globalThis as unknown as Hooks).__recorded.length);
		// Two seconds of B's signed packets as the replayer forwards them to its child. The tree may move
		// the child to another parent meanwhile (CI run of f3b8da7: nothing forwarded for 10 s); then again.
		const recordB = async (attempt: number): Promise<{ relay: RoomPage; child: RoomPage }> => {
			const pair = await relayAndChild();
			await waitHears(pair.child.page, b, B);
			await pair.relay.page.evaluate((tag) => ((globalThis as unknown as Hooks).__recordTag = tag), tag);
			const full = await pair.relay.page
				.waitForFunction(() => (globalThis as unknown as Hooks).__recorded.length >= 100, null, { timeout: 10_000, polling: 50 })
				.then(() => true, () => false);
			await pair.relay.page.evaluate(() => ((globalThis as unknown as Hooks).__recordTag = undefined));
			if (full) return pair;
			const why = `${pair.relay.name} recorded ${await recorded(pair.relay)} of B's packets in 10 s; ${pair.child.name}'s tree now ${JSON.stringify(await treeOf(pair.child.page))}`;
			await pair.relay.page.evaluate(() => (globalThis as unknown as Hooks).__recorded.splice(0));
			if (attempt === 3) throw new Error(`${why}\n${(await pair.relay.trace()).split('\n').filter((l) => l.includes('audio')).slice(-15).join('\n')}`);
			return recordB(attempt + 1);
		};
		// The replay goes out on the links it was recorded on, seconds later (B mutes, the child falls
		// silent): if the tree moved the child meanwhile, those links are closed (loop run of 93360e9: 22
		// of 100 sent). Then record and replay again, up to three times.
		let heard: RoomPage;
		for (let attempt = 1; ; attempt++) {
			const { relay: replayer, child } = await recordB(1);
			heard = child;
			await second.page.getByRole('button', { name: 'Mute myself' }).click();
			try {
				// The child refuses B's packets from before the mute once B's presence saying so reaches it
				// (stream-guard.ts beforeMute). Until then a packet it missed, replayed, is as fresh as B's
				// own late audio (loop run of a6bdb65: one decoded 1.5 ms after the child went silent).
				await child.waitMember('stage', b, { muted: true });
				await waitSilent(child.page, b, B);
				const stale = async () => ((await treeOf(child.page)) as unknown as { stale: number }).stale;
				const silentSince = await child.page.evaluate(() => performance.now());
				const staleBefore = await stale();
				// Signed by B, sent again: each is refused as not fresh, so none reaches the child's speaker.
				const replayed = await replayer.page.evaluate(() => (globalThis as unknown as Hooks).__replay());
				if (replayed < 100 && attempt < 3) continue;
				expect(replayed, `${replayer.name} replayed ${replayed} on links still open; ${child.name}'s tree now ${JSON.stringify(await treeOf(child.page))}`).toBeGreaterThanOrEqual(100);
				// Most reach the child (the tree may still move it to another parent meanwhile): each is refused.
				await expect.poll(async () => (await stale()) - staleBefore, { timeout: 10_000 }).toBeGreaterThanOrEqual(replayed / 2);
				expect(await lastHeard(child.page, b, B)).toBeLessThan(silentSince);
				break;
			} finally {
				// (recordB waits until the next child hears B again.)
				await second.page.getByRole('button', { name: 'Unmute myself' }).click();
			}
		}
		await waitHears(heard.page, b, B);
	});

	it('a banned listener running code that ignores its ban is cut off by every peer it was linked to', async () => {
		const ids = await Promise.all(remaining.map((l) => l.myPeerId()));
		// Best a relaying listener: then both its parent and its child must cut it.
		const trees = await settledTrees((ts) => ts.some((t) => t.parent !== null && t.children.length > 0));
		const relaying = trees.findIndex((t) => t.parent !== null && t.children.length > 0);
		const index = relaying >= 0 ? relaying : trees.findIndex((t) => t.parent !== null);
		const banned = remaining[index];
		const bannedId = ids[index];
		const linked = [trees[index].parent!, ...trees[index].children];
		const pages = new Map([...remaining.map((l, i) => [ids[i], l] as const), [a, creator], [b, second]]);
		const openAudioLinks = () =>
			banned.page.evaluate(() => (globalThis as unknown as { __channels: RTCDataChannel[] }).__channels.filter((c) => c.label === 'stanza-audio' && c.readyState === 'open').length);
		const topic = () => banned.page.evaluate(() => (globalThis as unknown as { __stanzaRoom: { topic(): { opened: number; unreadable: number } } }).__stanzaRoom.topic());
		await banned.page.evaluate(() => ((globalThis as { __ignoreBan?: boolean }).__ignoreBan = true));
		expect(await openAudioLinks(), 'the listener holds open audio links before the ban').toBeGreaterThanOrEqual(linked.length);
		const before = await topic();
		await creator.memberAction('audience', bannedId, 'Ban');
		// Its own code closes nothing (see hostileHooks): each of its audio links must be closed by the far end.
		await banned.page
			.waitForFunction(
				() => (globalThis as unknown as { __channels: RTCDataChannel[] }).__channels.every((c) => c.label !== 'stanza-audio' || c.readyState !== 'open'),
				null,
				{ timeout: 10_000, polling: 50 }
			)
			.catch(async () => {
				throw new Error(`${await openAudioLinks()} audio links to the banned listener still open`);
			});
		// Whatever happens below, the banned page is out of the scenarios that follow (they expect it to hear nothing).
		remaining = remaining.filter((l) => l !== banned);
		// And each peer it was linked to no longer counts it as parent or child. A peer that closed its link
		// has let it go at once; this waits out only a peer whose verified state took the ban a moment later
		// (the banned page's end of a link that was still opening is not in its list of open channels).
		for (const peer of linked) {
			const page = pages.get(peer)!;
			await expect
				.poll(async () => {
					const tree = await treeOf(page.page);
					return [tree.parent, ...tree.children];
				}, { timeout: 5_000, interval: 100, message: `${page.name} still links the banned listener` })
				.not.toContain(bannedId);
		}
		for (const listener of remaining) await waitHears(listener.page, a, A);
		// It hears nothing more (bench:audio times the cut: banToCutMs)...
		await waitSilent(banned.page, a, A);
		// ...and reads nothing said after the ban: the key rotated (what reaches it is now unreadable), and a
		// hand raised since reaches the creator but opens nothing at the banned page.
		await expect.poll(async () => (await topic()).unreadable, { timeout: 15_000, message: 'the banned page still reads the topic' }).toBeGreaterThan(before.unreadable);
		const settled = await topic();
		const raiser = remaining[0];
		await raiser.page.getByRole('button', { name: 'Raise hand' }).click();
		await creator.waitMember('hands', await raiser.myPeerId(), { hand: true });
		await expect.poll(async () => (await topic()).unreadable, { timeout: 15_000 }).toBeGreaterThan(settled.unreadable);
		expect((await topic()).opened, 'the banned page opened nothing sealed after the rotation').toBe(settled.opened);
		await raiser.page.getByRole('button', { name: 'Lower hand' }).click();
	});

	it('with the relay node gone, audio keeps flowing over the direct links', async () => {
		await fx.stopRelay();
		for (const listener of remaining) {
			await waitHears(listener.page, a, A);
			await waitHears(listener.page, b, B);
		}
	});

	it('a moderator mutes speaker B: B falls silent at every listener, A goes on', async () => {
		await creator.memberAction('stage', b, 'Mute');
		// On stage too: B's voice is muted at A whatever B's own code would send.
		await waitSilent(creator.page, b, B);
		await creator.page.waitForFunction(
			(b) => (globalThis as unknown as { __stanzaAudio: { stage(): { speaker: string; heard: boolean }[] } }).__stanzaAudio.stage().some((v) => v.speaker === b && !v.heard),
			b
		);
		for (const listener of remaining) {
			await waitSilent(listener.page, b, B);
			expect(await hears(listener.page, b, B, 500)).toBe(false);
			await waitHears(listener.page, a, A);
		}
	});
});

describe('a speaker whose microphone is refused, busy or breaks', () => {
	const fx = e2eFixture();

	it('is told each reason plainly, can try again, and shows the microphone on only once it sends', async () => {
		const creator = await fx.person('Muted by the browser', {
			// The test decides what the browser does with the microphone and the Opus encoder.
			initScript: () => {
				const g = globalThis as unknown as { __micMode: string; __encoderFails: boolean };
				g.__micMode = 'denied';
				g.__encoderFails = false;
				const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
				navigator.mediaDevices.getUserMedia = (constraints) =>
					g.__micMode === 'denied'
						? Promise.reject(new DOMException('Permission denied', 'NotAllowedError'))
						: g.__micMode === 'busy'
							? Promise.reject(new DOMException('Could not start audio source', 'NotReadableError'))
							: real(constraints);
				const RealEncoder = AudioEncoder;
				globalThis.AudioEncoder = class extends RealEncoder {
					override configure(config: AudioEncoderConfig) {
						if (g.__encoderFails) throw new DOMException('Unsupported configuration', 'NotSupportedError');
						super.configure(config);
					}
				};
			}
		});
		await creator.startRoom('No mic', '');
		const audio = creator.page.getByTestId('audio');
		const retry = audio.getByRole('button', { name: 'Try the microphone again' });
		await creator.page.waitForSelector('[data-testid=audio][data-mic=denied]');
		expect(await audio.textContent()).toContain('Your microphone is blocked');

		await creator.page.evaluate(() => ((globalThis as unknown as { __micMode: string }).__micMode = 'busy'));
		await retry.click();
		await creator.page.waitForSelector('[data-testid=audio][data-mic=busy]');
		expect(await audio.textContent()).toContain('would not start');

		await creator.page.evaluate(() => Object.assign(globalThis, { __micMode: 'ok', __encoderFails: true }));
		await retry.click();
		await creator.page.waitForSelector('[data-testid=audio][data-mic=encoder]');
		expect(await audio.textContent()).toContain('could not be encoded');

		await creator.page.evaluate(() => ((globalThis as unknown as { __encoderFails: boolean }).__encoderFails = false));
		await retry.click();
		// 'on' means frames are being encoded.
		await creator.page.waitForSelector('[data-testid=audio][data-mic=on]', { timeout: 10_000 });
		expect(await retry.count()).toBe(0);
		expect(await creator.title()).toBe('No mic');
	});
});

describe('a room whose one free slot a phone took', () => {
	const fx = e2eFixture({ browsers: { a: { fakeAudioFile: join(tones, 'a.wav') } } });

	it('still lets in a listener that relays: the phone makes way, goes under it, and both hear the speaker', { timeout: 180_000 }, async () => {
		const speaker = await fx.person('Speaker', { browser: 'a' });
		await speaker.setRelayCapacity('1');
		const link = await speaker.startRoom('One slot', '');
		const a = await speaker.myPeerId();
		const phone = await fx.person('Phone', { browser: 'a' });
		await phone.setRelayCapacity('0');
		await phone.page.goto(link);
		await phone.waitStatus('live', 60_000);
		await installProbe(phone.page);
		await waitHears(phone.page, a, A, 30_000);
		const phoneId = await phone.myPeerId();
		expect(await treeOf(speaker.page)).toMatchObject({ children: [phoneId] });

		// The speaker's one slot is the phone's, and the phone relays nothing: no free slot anywhere.
		const laptop = await fx.person('Laptop', { browser: 'a' });
		await laptop.setRelayCapacity('1');
		await laptop.page.goto(link);
		await laptop.waitStatus('live', 60_000);
		await installProbe(laptop.page);
		const explain = async (err: unknown) => {
			const traces = await Promise.all([speaker, phone, laptop].map(async (p) => `${p.name}:\n${(await p.trace()).split('\n').filter((l) => l.includes('audio')).slice(-12).join('\n')}`));
			throw new Error(`${String(err)}\n${traces.join('\n')}`, { cause: err });
		};
		await waitHears(laptop.page, a, A, 60_000).catch(explain);
		await expect.poll(async () => (await treeOf(laptop.page)).children, { timeout: 30_000 }).toEqual([phoneId]).catch(explain);
		expect(await treeOf(laptop.page)).toMatchObject({ depth: 1, parent: a });
		expect(await laptop.trace()).toContain('audio: no free slot');
		await waitHears(phone.page, a, A, 30_000).catch(explain);
		expect(await treeOf(phone.page)).toMatchObject({ depth: 2, parent: await laptop.myPeerId() });
	});
});
