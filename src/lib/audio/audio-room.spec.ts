import { peerIdFromString } from '@libp2p/peer-id';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryNetwork } from '../net/in-memory-network';
import { STRANGER_LIMITS, type StrangerLimits } from '../net/stranger-guard';
import { pass, until, VirtualClock } from '../net/virtual-clock';
import { makeIdentity, makeRoom, sync } from '../room/test-peers';
import { shortId } from '../diagnostics/trace';
import { directPeers, joinSession, leaveSession, type SessionMember } from '../room/test-sessions';
import type { LinkTransport } from './link-pipe';
import { MemoryLinks } from './memory-links';
import { frameSource } from './memory-audio';
import { dialLink, type MediaLink } from './media-link';
import { MEDIA_PROTOCOL, type AttachAs } from './media-signal-protocol';
import { hears, joinAudio, leaveAudio, type AudioMember } from './test-audio-rooms';
import { seededRandom } from './tree-simulation';
import { decodePacket, speakerTag } from './packet-codec';
import { decodeLinkFrame, encodeLinkFrame } from './link-frame';

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
	await cleanup?.();
	cleanup = null;
});

const wallMs = () => Number(process.hrtime.bigint() / 1_000_000n);

// 100 members in `npm test` (about 1.5 minutes here); AUDIO_ROOM_N=200 runs the room the issue asks for (about
// 4 minutes, too long for the suite on two cores: the room's topic costs every member a decryption per message).
const N = Number(process.env.AUDIO_ROOM_N ?? 100);
// Each member runs the app's guard against strangers (net/stranger-guard.ts) as if a crowd of them were
// always at the door, with no bound on the strangers it keeps in their grace (that bound turns newcomers
// away too, and only while a crowd is there): no member of the room, joining, relaying, repairing or on
// stage, is still a stranger to any other once its grace is over.
const WATCHFUL: StrangerLimits = { ...STRANGER_LIMITS, crowd: 0, slots: Infinity };

describe(`AudioRoom: a room of ${N} on the in-memory network`, () => {
	// The AudioRoom and RoomSession that ship, N of them in one process on the virtual clock: real keys,
	// signatures on every packet, the real signaling over the in-memory network's streams, media links
	// as in-memory pipes (20–30 ms each way, 2 % of messages lost), each member's playout a real jitter
	// buffer. Virtual time passes only when the work due is done, so a slow machine makes the run longer,
	// not the room's timings worse.
	it('every listener hears the speakers, again through relays crashing and leaving and members joining, and a listener promoted to the stage', async () => {
		const clock = new VirtualClock();
		clock.install();
		const network = new InMemoryNetwork();
		const links = new MemoryLinks({ latencyMs: 20, jitterMs: 10, loss: 0.02, random: seededRandom(7) });
		const { creator, peers, key } = await makeRoom(Array.from({ length: N + 9 }, (_, i) => `member${i}`));
		const members: AudioMember[] = [];
		const gone = new Set<AudioMember>();
		cleanup = async () => {
			for (const m of members) if (!gone.has(m)) await leaveAudio(m).catch(() => {});
			clock.uninstall();
		};
		const wall = wallMs();
		const log = (what: string) => console.log(`${what} (virtual ${Math.round(clock.now - t0)} ms, wall ${wallMs() - wall} ms)`);
		const t0 = clock.now;

		// The creator invites a second speaker, who accepts, before anyone opens the room.
		const [second, ...rest] = peers;
		const invitation = await creator.room.addOp({ kind: 'invite', target: second.id }, creator);
		await sync(creator, second);
		await second.room.addOp({ kind: 'accept', invitation: invitation.id }, second);
		await sync(second, creator);
		const speakers = [creator.id, second.id];
		const arriving = rest.slice(N - 2);
		for (const p of [creator, second, ...rest.slice(0, N - 2)]) members.push(await joinAudio(network, links, p, key, 2, frameSource(), { strangers: WATCHFUL }));
		const present = () => members.filter((m) => !gone.has(m));
		const listeners = () => present().filter((m) => !speakers.includes(m.peer.id));
		const deaf = () => listeners().filter((m) => speakers.some((s) => !hears(m, s)));
		const account = () => {
			const stuck = deaf();
			const first = stuck[0];
			return `${stuck.length} of ${listeners().length} not hearing every speaker at ${Math.round(performance.now())} ms; the first, ${first.peer.name}: ${JSON.stringify(first.audio.snapshot())}\n${first.trace.toString().split('\n').slice(-10).join('\n')}`;
		};

		await until(clock, () => deaf().length === 0, 30_000, account);
		log(`all ${listeners().length} listeners hear both speakers`);
		// Churn: five relays crash (their far ends learn it from silence), five leave (goodbye), ten join.
		const relays = listeners().filter((m) => m.audio.childCount > 0);
		for (const m of relays.slice(0, 5)) {
			gone.add(m);
			links.crash(m.peer.id);
			m.node.vanish();
			await m.audio.stop();
			await m.session.stop();
		}
		for (const m of relays.slice(5, 10)) {
			gone.add(m);
			await leaveAudio(m);
		}
		for (const p of arriving) members.push(await joinAudio(network, links, p, key, 2, frameSource(), { strangers: WATCHFUL }));
		const repairMs = await until(clock, () => deaf().length === 0, 15_000, account);
		log(`all ${listeners().length} hear both again ${repairMs} ms after the churn`);
		expect(repairMs).toBeLessThanOrEqual(10_000);

		// Room state reaches every member present: the creator makes a listener moderator, which puts it on
		// stage; everyone's verified stage agrees, and every listener hears the three.
		const promoted = listeners()[0].peer.id;
		await creator.room.addOp({ kind: 'makeModerator', target: promoted }, creator);
		speakers.push(promoted);
		await until(clock, () => present().every((m) => m.peer.room.view.moderators.has(promoted)), 10_000, () => 'the act has not reached everyone');
		for (const m of present()) expect([...m.peer.room.view.stage].sort()).toEqual([...speakers].sort());
		const promotedMs = await until(clock, () => deaf().length === 0, 15_000, account);
		log(`all ${listeners().length} hear the promoted speaker too, ${promotedMs} ms later`);
		expect(promotedMs).toBeLessThanOrEqual(10_000);

		// Then steady, for 3 s: what each listener plays of each voice, and what it conceals. Not at once: a
		// jitter buffer just started (the promoted voice's everywhere, and every voice's at a listener that
		// moved) conceals 1 to 3 % of its first seconds under this jitter and loss while it grows to its target.
		await pass(clock, 5_000);
		const before = listeners().map((m) => speakers.map((s) => m.sink.counts(s)));
		await pass(clock, 3_000);
		const window = listeners().map((m, i) => speakers.map((s, j) => ({ played: m.sink.counts(s).played - before[i][j].played, concealed: m.sink.counts(s).concealed - before[i][j].concealed })));
		const played = window.flat().reduce((n, c) => n + c.played, 0);
		const concealed = window.flat().reduce((n, c) => n + c.concealed, 0);
		const least = Math.min(...window.flat().map((c) => c.played));
		const shares = window.map((voices) => voices.reduce((n, c) => n + c.concealed, 0) / voices.reduce((n, c) => n + c.played + c.concealed, 0)).sort((a, b) => a - b);
		const medianShare = shares[shares.length >> 1];
		log(`steady: ${played} frames played, ${concealed} concealed; the median listener concealed ${(medianShare * 100).toFixed(2)} %; the least any listener played of a voice: ${least}`);
		expect(deaf()).toEqual([]);
		// Each voice for 3 s is 150 frames of 20 ms, less what a buffer skips to shorten its delay or a move in
		// the tree costs.
		expect(least).toBeGreaterThan(100);
		// Concealed over all listeners: 0.16 to 2.4 % in twelve runs here on 2026-12-05 (with and without that
		// day's change to the meeting's trims alike). It is spread over the listeners, not a few moves: the
		// median listener's share (printed above) was 0 to 0.89 % in runs at 0.2 to 1.0 % overall, so it bounds
		// nothing the overall share does not.
		expect(concealed / (played + concealed)).toBeLessThan(0.03);

		// Few connections each: the room's overlay keeps about 8 a member, tree and stage links included, and
		// trims past 12 once it can tell who needs whom (topic-meeting.ts), a peer's "I need neighbours"
		// holding for 6 s (OPEN_HOLDS_MS). Members all opening the room at one instant leave some over that
		// at the end: in runs here with 100 members, a mean of 8.2 to 8.8 and at most 11 to 16 (11 to 25
		// over runs before that hold had a limit, 11 to 12 in three of them on the day it got one).
		const degrees = present().map((m) => directPeers(m).size);
		const most = present().reduce((a, b) => (directPeers(b).size > directPeers(a).size ? b : a));
		log(`direct connections per member: mean ${(degrees.reduce((a, b) => a + b) / degrees.length).toFixed(1)}, most ${Math.max(...degrees)} (${most.peer.name}, ${speakers.includes(most.peer.id) ? 'a speaker' : `a listener at depth ${most.audio.depth}`})`);
		expect(degrees.reduce((a, b) => a + b) / degrees.length).toBeLessThanOrEqual(12);
		expect(Math.max(...degrees)).toBeLessThanOrEqual(20);
		// Audio links: a parent, a standby, two children and their standbys at capacity 2, or a speaker's fellows.
		expect(Math.max(...present().map((m) => links.openPipes(m.peer.id)))).toBeLessThanOrEqual(6);
		const goneIds = new Set([...gone].map((m) => m.peer.id));
		const sentAway = members.flatMap((m) => m.sentAway.filter((p) => !goneIds.has(p)).map((p) => `${m.peer.name} sent ${members.find((o) => o.peer.id === p)?.peer.name ?? p} away`));
		expect(sentAway, 'members present whom another took for a stranger').toEqual([]);
	}, 600_000);
});

/**
 * A room on the virtual clock with two speakers: the creator and `b`, who accepted its invitation (both
 * documents hold it before anyone joins), and `listeners` not joined yet; in-memory links 20–30 ms, no
 * loss, seeded by `seed`. The caller joins them into `members`, which the test's cleanup leaves.
 */
async function twoSpeakers(listeners: string[], seed: number) {
	const clock = new VirtualClock();
	clock.install();
	const network = new InMemoryNetwork();
	const links = new MemoryLinks({ latencyMs: 20, jitterMs: 5, loss: 0, random: seededRandom(seed) });
	const { creator, peers, key } = await makeRoom(['b', ...listeners]);
	const members: AudioMember[] = [];
	cleanup = async () => {
		for (const m of members) await leaveAudio(m).catch(() => {});
		clock.uninstall();
	};
	const [second, ...rest] = peers;
	const invitation = await creator.room.addOp({ kind: 'invite', target: second.id }, creator);
	await sync(creator, second);
	await second.room.addOp({ kind: 'accept', invitation: invitation.id }, second);
	await sync(second, creator);
	return { clock, network, links, creator, second, rest, key, members };
}

describe('AudioRoom: a speaker whose microphone drops most of its frames', () => {
	// A loaded device's capture loses the frames its reader comes too late for: the speaker still sends one
	// every 100 ms, so its last frame is never 400 ms old, while its voice no longer flows by the measure
	// its children judge it by (withholding.ts FLOWING_PACKETS). It must say so, in its `h` and to its
	// children (VOICE_QUIET), or they judge it as holding its own voice back, leave it, and free its slot
	// for a subtree to move into; and its fellow, which no longer gets that voice in full either, must not
	// look like the one whose branch leaves a voice out.
	it('says its own voice stopped, so that no listener leaves it or its fellow', async () => {
		const { clock, network, links, creator, second, rest, key, members } = await twoSpeakers(['l1', 'l2'], 3);
		let dropping = false;
		members.push(await joinAudio(network, links, creator, key, 1));
		members.push(await joinAudio(network, links, second, key, 1, frameSource((frame) => dropping && frame % 5 !== 0)));
		for (const p of rest) members.push(await joinAudio(network, links, p, key, 1));
		const listeners = members.slice(2);
		const speakers = [creator.id, second.id];
		const state = () => JSON.stringify(listeners.map((m) => [m.peer.name, m.audio.parentId?.slice(-6), speakers.map((s) => hears(m, s))]));
		// Each speaker's one slot holds a listener: one of them hangs from B, the other from A.
		await until(
			clock,
			() => listeners.every((m) => speakers.every((s) => hears(m, s))) && speakers.every((s) => listeners.some((m) => m.audio.parentId === s)),
			30_000,
			state
		);
		await pass(clock, 2_000);
		const parents = listeners.map((m) => m.audio.parentId);
		expect([...parents].sort()).toEqual([...speakers].sort());
		const before = listeners.map((m) => m.trace.entries.length);
		// Four frames in five lost for 6 s: longer than the grace a notice buys (REPAIR_GRACE_MS), far
		// longer than WITHHELD_MS and SHORT_BRANCH_MS.
		dropping = true;
		await pass(clock, 6_000);
		const judged = listeners.flatMap((m, i) => m.trace.entries.slice(before[i]).filter((e) => /^audio: (withheld|short branch|moving)/.test(e.event)));
		expect(judged.map((e) => `${e.event} ${e.detail}`)).toEqual([]);
		expect(listeners.map((m) => m.audio.parentId)).toEqual(parents);
		for (const m of listeners) expect(hears(m, creator.id), m.peer.name).toBe(true);
		// Its microphone well again, every listener hears it through the same parent: 100 frames in 2 s (100 for
		// each listener in 80 runs here), where the trickle played 20. Before the virtual clock waited for
		// WebCrypto work, a busy process let each signature take up to 630 virtual ms, the speaker's packets fell
		// further behind its microphone, and listeners played 43 to 100.
		dropping = false;
		await pass(clock, 1_000);
		const played = listeners.map((m) => m.sink.counts(second.id).played);
		await pass(clock, 2_000);
		listeners.forEach((m, i) => expect(m.sink.counts(second.id).played - played[i], m.peer.name).toBeGreaterThanOrEqual(90));
		expect(listeners.map((m) => m.audio.parentId)).toEqual(parents);
	}, 60_000);
});

describe('AudioRoom: a relay whose advertised chain reaches no speaker', () => {
	// A relaying listener running its own code names a parent nobody advertises, so that no branch's speaker
	// says what its subtree should carry, and holds one speaker's voice back while it passes the other on.
	it('is held to pass on the voices every branch carries once its chain has stayed broken, mended now and then, and its child hears the voice again elsewhere', async () => {
		const { clock, network, links, creator, second, rest, key, members } = await twoSpeakers(['l1', 'l2', 'l3'], 7);
		members.push(await joinAudio(network, links, creator, key, 1));
		members.push(await joinAudio(network, links, second, key, 1));
		for (const p of rest) members.push(await joinAudio(network, links, p, key, 1));
		const listeners = members.slice(2);
		const speakers = [creator.id, second.id];
		const state = () => JSON.stringify(listeners.map((m) => [m.peer.name, m.audio.parentId?.slice(-6), speakers.map((s) => hears(m, s))]));
		// Each speaker's one slot holds a listener, and the third hangs from one of those.
		await until(clock, () => listeners.every((m) => speakers.every((s) => hears(m, s))) && listeners.some((m) => listeners.some((o) => o.peer.id === m.audio.parentId)), 30_000, state);
		const child = listeners.find((m) => listeners.some((o) => o.peer.id === m.audio.parentId))!;
		const relay = listeners.find((m) => m.peer.id === child.audio.parentId)!;

		// The relay passes every packet on but B's, and says its parent is a peer nobody knows.
		const censored = speakerTag(second.id);
		links.tamper(relay.peer.id, (bytes) => {
			let packets: Uint8Array[];
			try {
				packets = decodeLinkFrame(bytes);
			} catch {
				return bytes;
			}
			const kept = packets.filter((p) => decodePacket(p).speakerTag !== censored);
			return kept.length === packets.length ? bytes : kept.length === 0 ? null : kept.length === 1 ? kept[0] : encodeLinkFrame(kept);
		});
		// It names its real parent again for 0.6 s every 4 s: a chain mended now and then must not start the count over.
		const nobody = (await makeIdentity()).peerId.toString();
		const realParent = relay.audio.parentId!;
		const advert = child.session.presence.members.get(relay.peer.id)!.tree!;
		let lying = true;
		let flipping = true;
		const setPresence = relay.session.setPresence.bind(relay.session);
		relay.session.setPresence = (change) => setPresence(change.tree ? { ...change, tree: { ...change.tree, p: lying ? nobody : realParent } } : change);
		await relay.session.setPresence({ tree: advert });
		const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
		void (async () => {
			while (flipping) {
				await wait(3_400);
				lying = false;
				await relay.session.setPresence({ tree: advert });
				await wait(600);
				lying = true;
				await relay.session.setPresence({ tree: advert });
			}
		})();
		const stopFlipping = cleanup;
		cleanup = async () => {
			flipping = false;
			await stopFlipping?.();
		};
		await until(clock, () => child.session.presence.members.get(relay.peer.id)?.tree?.p === nobody, 10_000, () => 'the relay’s broken advert never reached its child');

		// The child judges it for holding B back, once the chain has stayed broken for SHORT_BRANCH_MS and a
		// second a level (B is a voice every branch carries: A passes it on), and hears B again through another parent.
		const verdict = () => child.trace.entries.find((e) => e.event === 'audio: withheld' && e.detail.includes(`holds back ${shortId(second.id)}`));
		await until(clock, () => verdict() !== undefined, 20_000, () => `${state()} ${child.trace.entries.slice(-10).map((e) => `${e.event} ${e.detail}`).join(' | ')}`);
		expect(verdict()!.detail).toContain(shortId(relay.peer.id));
		await until(clock, () => child.audio.parentId !== relay.peer.id && hears(child, second.id) && hears(child, creator.id), 20_000, state);
	}, 60_000);
});

describe('AudioRoom: a relay that kept a speaker\'s words from before it muted', () => {
	// A member that came while the speaker was muted never had its stream to forget (StreamGuard.quietAt): the
	// relays above it replay the words from before the mute once the speaker talks again.
	it('plays none of them to a member that came during the mute, though they fall in the window of its first mark', async () => {
		const { clock, network, links, creator, second, rest, key, members } = await twoSpeakers(['l1', 'l2', 'late'], 11);
		const [l1, l2, late] = rest;
		members.push(await joinAudio(network, links, creator, key, 1));
		const speakerB = await joinAudio(network, links, second, key, 1);
		members.push(speakerB);
		for (const p of [l1, l2]) members.push(await joinAudio(network, links, p, key, 1));
		const relays = members.slice(2);
		await until(clock, () => relays.every((m) => hears(m, creator.id) && hears(m, second.id)), 30_000, () => 'the listeners never heard both speakers');

		// Everyone the newcomer may hang from keeps B's last 50 packets from before the mute (here: as the speakers
		// send them) and, once told, adds one of them to everything it sends.
		const tagB = speakerTag(second.id);
		const kept = new Map<number, Uint8Array>();
		let recording = true;
		let replaying = false;
		let old: Uint8Array[] = [];
		let next = 0;
		for (const sender of [creator.id, second.id, l1.id, l2.id]) {
			links.tamper(sender, (bytes) => {
				let packets: Uint8Array[];
				try {
					packets = decodeLinkFrame(bytes);
				} catch {
					return bytes;
				}
				for (const p of recording && (sender === creator.id || sender === second.id) ? packets : []) {
					const decoded = decodePacket(p);
					if (decoded.speakerTag !== tagB || decoded.signature === null) continue;
					kept.set(decoded.seq, p.slice());
					if (kept.size > 50) kept.delete(kept.keys().next().value!);
				}
				// A frame carries at most 3 packets (link-frame.ts): the newest, and one of those kept in turn.
				return replaying ? encodeLinkFrame([packets[0], old[next++ % old.length]]) : bytes;
			});
		}
		// B mutes as the app does (room-state.svelte.ts, toggleSelfMute): silent, then says so.
		const selfMute = async (muted: boolean) => {
			speakerB.audio.setSelfMuted(muted);
			await speakerB.session.setPresence({ muted });
		};
		await pass(clock, 2_000);
		await selfMute(true);
		await until(clock, () => relays.every((m) => !hears(m, second.id, 1_000)), 10_000, () => 'B never went quiet');
		recording = false;
		expect(kept.size).toBe(50);

		// The member comes during the mute, and hears A.
		const newcomer = await joinAudio(network, links, late, key, 1);
		members.push(newcomer);
		await until(clock, () => hears(newcomer, creator.id), 30_000, () => 'the newcomer never heard A');
		const push = newcomer.sink.push.bind(newcomer.sink);
		let replayed = 0;
		newcomer.sink.push = (speaker, packet) => {
			if (speaker === second.id && kept.has(packet.seq)) replayed++;
			return push(speaker, packet);
		};
		// B talks again; the relays replay what they kept with every frame from then on.
		await selfMute(false);
		old = [...kept.values()];
		replaying = true;
		await until(clock, () => hears(newcomer, second.id), 10_000, () => 'the newcomer never heard B after the unmute');
		await pass(clock, 2_000);
		expect(hears(newcomer, second.id)).toBe(true);
		expect(replayed).toBe(0);
	}, 60_000);
});

describe('AudioRoom: a link the room stops allowing while it sets up', () => {
	// A member running its own code asks for links and finishes their handshakes when it likes: what it was
	// admitted to when it asked must not outlast the room's state saying otherwise once the link opens.
	async function room(names: string[]) {
		const clock = new VirtualClock();
		clock.install();
		const network = new InMemoryNetwork();
		const links = new MemoryLinks({ latencyMs: 20, jitterMs: 5, loss: 0, random: seededRandom(5) });
		const { creator, peers, key } = await makeRoom(names);
		const members: AudioMember[] = [];
		const sessions: SessionMember[] = [];
		cleanup = async () => {
			for (const m of members) await leaveAudio(m).catch(() => {});
			for (const m of sessions) await leaveSession(m).catch(() => {});
			clock.uninstall();
		};
		return { clock, network, links, creator, peers, key, members, sessions };
	}

	/** `from` (a session with no AudioRoom: its own code) asks `to` for a link as `as`; once accepted, it runs `beforeOffer` before it makes its offer. */
	async function askLink(from: SessionMember, to: string, as: AttachAs, links: MemoryLinks, beforeOffer: () => Promise<void> = async () => {}): Promise<MediaLink> {
		const own = links.transport(from.peer.id);
		const transport: LinkTransport = {
			create: (options) => {
				const pending = own.create(options);
				return { pipe: pending.pipe, answer: (port) => pending.answer(port), offer: async (port) => (await beforeOffer(), pending.offer(port)) };
			}
		};
		expect(await from.session.connectTo(to, AbortSignal.timeout(5_000))).toBe(true);
		const stream = await from.node.asNode.dialProtocol(peerIdFromString(to), MEDIA_PROTOCOL);
		return dialLink(stream, to, as, { roomId: from.peer.room.roomId, cipher: from.session.cipher, iceServers: [], transport });
	}

	/** What `asking` settles to, the clock running meanwhile. */
	async function settle<T>(clock: VirtualClock, asking: Promise<T>): Promise<PromiseSettledResult<T>> {
		let result: PromiseSettledResult<T> | undefined;
		asking.then(
			(value) => (result = { status: 'fulfilled', value }),
			(reason: unknown) => (result = { status: 'rejected', reason })
		);
		await until(clock, () => result !== undefined, 15_000, () => 'the link request never settled');
		return result!;
	}

	it('closes a link whose asker was banned between its request and its link opening, and sends it nothing', async () => {
		const { clock, network, links, creator, peers, key, members, sessions } = await room(['relay', 'mallory']);
		const [relay, mallory] = peers;
		members.push(await joinAudio(network, links, creator, key, 1));
		members.push(await joinAudio(network, links, relay, key, 4));
		const [host, listener] = members;
		await until(clock, () => hears(listener, creator.id), 30_000, () => `the relay does not hear the speaker: ${JSON.stringify(listener.audio.snapshot())}`);
		const attacker = await joinSession(network, mallory, key);
		sessions.push(attacker);
		// Admitted while in good standing; its offer held back until the ban has reached the relay.
		const asked = await settle(
			clock,
			askLink(attacker, relay.id, 'listener', links, async () => {
				const epoch = await host.session.drawEpochKey();
				await creator.room.addOp({ kind: 'ban', target: mallory.id, epoch }, creator);
				await sync(creator, relay);
				expect(relay.room.view.banned.has(mallory.id)).toBe(true);
			})
		);
		if (asked.status === 'rejected') throw asked.reason;
		const link = asked.value;
		let packets = 0;
		link.onPacket = () => packets++;
		await pass(clock, 2_000);
		expect(link.open).toBe(false);
		expect(packets).toBe(0);
		expect(listener.audio.childCount).toBe(0);
		expect(links.openPipes(mallory.id)).toBe(0);
	}, 60_000);

	it('keeps one link per child however many requests it sends at once: one set-up at a time, the others refused', async () => {
		const { clock, network, links, creator, peers, key, members, sessions } = await room(['relay', 'mallory']);
		const [relay, mallory] = peers;
		members.push(await joinAudio(network, links, creator, key, 1));
		members.push(await joinAudio(network, links, relay, key, 4));
		const [, listener] = members;
		await until(clock, () => hears(listener, creator.id), 30_000, () => `the relay does not hear the speaker: ${JSON.stringify(listener.audio.snapshot())}`);
		const attacker = await joinSession(network, mallory, key);
		sessions.push(attacker);
		const asked = await settle(clock, Promise.allSettled([0, 1, 2].map(() => askLink(attacker, relay.id, 'listener', links))));
		if (asked.status === 'rejected') throw asked.reason;
		const opened = asked.value.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
		// Sent at once, before any link opened: the first is set up, the other two refused (each would be an RTCPeerConnection).
		expect(opened.length).toBe(1);
		expect(asked.value.filter((r) => r.status === 'rejected').length).toBe(2);
		await pass(clock, 1_000);
		expect(listener.audio.childCount).toBe(1);
		expect(opened.filter((l) => l.open).length).toBe(1);
		expect(links.openPipes(mallory.id)).toBe(1);
	}, 60_000);

	it('keeps one stage link set-up per fellow speaker however many it asks for at once', async () => {
		const { clock, network, links, creator, peers, key, members, sessions } = await room(['mallory']);
		const [mallory] = peers;
		const invitation = await creator.room.addOp({ kind: 'invite', target: mallory.id }, creator);
		await sync(creator, mallory);
		await mallory.room.addOp({ kind: 'accept', invitation: invitation.id }, mallory);
		await sync(mallory, creator);
		members.push(await joinAudio(network, links, creator, key, 1));
		const attacker = await joinSession(network, mallory, key);
		sessions.push(attacker);
		const asked = await settle(clock, Promise.allSettled([0, 1, 2].map(() => askLink(attacker, creator.id, 'speaker', links))));
		if (asked.status === 'rejected') throw asked.reason;
		const opened = asked.value.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
		// Each admitted request is an RTCPeerConnection: one is set up, the other two refused.
		expect(opened.length).toBe(1);
		expect(asked.value.filter((r) => r.status === 'rejected').length).toBe(2);
		await pass(clock, 1_000);
		expect(opened.filter((l) => l.open).length).toBe(1);
		expect(links.openPipes(mallory.id)).toBe(1);
	}, 60_000);

	it('keeps one set-up per peer when its requests come one after another: a refused one does not free the hold of the one under way', async () => {
		const { clock, network, links, creator, peers, key, members, sessions } = await room(['relay', 'mallory']);
		const [relay, mallory] = peers;
		members.push(await joinAudio(network, links, creator, key, 1));
		members.push(await joinAudio(network, links, relay, key, 4));
		const [, listener] = members;
		await until(clock, () => hears(listener, creator.id), 30_000, () => `the relay does not hear the speaker: ${JSON.stringify(listener.audio.snapshot())}`);
		const attacker = await joinSession(network, mallory, key);
		sessions.push(attacker);
		/** The later requests, each asked (and settled) while the first is accepted and held before its offer. */
		const later: PromiseSettledResult<MediaLink>[] = [];
		const first = await settle(
			clock,
			askLink(attacker, relay.id, 'listener', links, async () => {
				for (let i = 0; i < 3; i++) later.push(await settle(clock, askLink(attacker, relay.id, 'listener', links)));
			})
		);
		expect(later.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
		expect(first.status).toBe('fulfilled');
		await pass(clock, 1_000);
		expect(listener.audio.childCount).toBe(1);
		expect(links.openPipes(mallory.id)).toBe(1);
	}, 60_000);

	it('hears both speakers who share a speaker tag (keys ground for a clash): each packet is the one whose key signed it', async () => {
		const { clock, network, links, creator, peers, key, members } = await room(['second', 'l1']);
		const [second, l1] = peers;
		// Grinding about 2^32 keys gives a 32-bit tag clash; here every member's code sees one at once.
		const tagOf = (peerId: string) => speakerTag(peerId === second.id ? creator.id : peerId);
		const invitation = await creator.room.addOp({ kind: 'invite', target: second.id }, creator);
		await sync(creator, second);
		await second.room.addOp({ kind: 'accept', invitation: invitation.id }, second);
		await sync(second, creator);
		await sync(creator, l1);
		for (const peer of [creator, second, l1]) members.push(await joinAudio(network, links, peer, key, 2, frameSource(), { tagOf }));
		const listener = members[2];
		const both = () => hears(listener, creator.id) && hears(listener, second.id);
		await until(clock, both, 30_000, () => `the listener does not hear both: ${JSON.stringify(listener.audio.snapshot())}`);
		await pass(clock, 2_000);
		expect(both()).toBe(true);
		expect(listener.audio.snapshot().parent).not.toBeNull(); // nobody's link closed as a forger's
		expect(listener.trace.entries.filter((e) => e.event === 'audio: forged')).toEqual([]);
		expect(listener.trace.entries.filter((e) => e.event === 'audio: tag clash').map((e) => e.detail)).toContain(`${shortId(second.id)} has ${shortId(creator.id)}'s speaker tag: each packet checked against both`);
	}, 60_000);

	it('closes the stage link with a speaker moved to the audience, though that speaker\'s own code does not: it no longer gets the others\' voice', async () => {
		const { clock, network, links, creator, peers, key, members } = await room(['second', 'l1']);
		const [second, l1] = peers;
		const invitation = await creator.room.addOp({ kind: 'invite', target: second.id }, creator);
		await sync(creator, second);
		await second.room.addOp({ kind: 'accept', invitation: invitation.id }, second);
		await sync(second, creator);
		members.push(await joinAudio(network, links, creator, key, 2));
		members.push(await joinAudio(network, links, second, key, 2));
		members.push(await joinAudio(network, links, l1, key, 2));
		const [a, b] = members;
		await until(clock, () => a.audio.snapshot().speakers.length > 0 && hears(b, creator.id), 30_000, () => `no stage link: ${JSON.stringify(a.audio.snapshot())}`);
		expect(a.audio.snapshot().speakers).toEqual([second.id]);
		// Its node cut off from the room (its stage link runs on a pipe of its own), it never learns that the
		// creator moves it to the audience: like code that ignores it, it keeps its end of the link open.
		b.node.stop();
		await creator.room.addOp({ kind: 'moveToAudience', target: second.id }, creator);
		expect(creator.room.view.stage.has(second.id)).toBe(false);
		await pass(clock, 1_000);
		expect(a.audio.snapshot().speakers).toEqual([]);
		expect(b.audio.snapshot().speakers).toEqual([]);
		expect(a.trace.entries.filter((e) => e.event === 'audio: cut').map((e) => e.detail)).toContain(`${shortId(second.id)} left the stage`);
	}, 60_000);
});
