import { afterEach, describe, expect, it, vi } from 'vitest';
import { shortId, trace } from '../diagnostics/trace';
import { isDirectConnection } from '../net/connection-kind';
import { InMemoryNetwork } from '../net/in-memory-network';
import { decodeMeetAnnounce, meetTopicFor } from '../net/meet-protocol';
import { PRESENCE_SETTLE_MS } from './presence';
import { ROOM_KEY_PROTOCOL } from './room-key-protocol';
import { SYNC_TIMEOUT_MS } from './room-host';
import { ROOM_SYNC_PROTOCOL, serveSync } from './room-sync-protocol';
import { encodeTopicMessage, roomTopicFor } from './room-topic-protocol';
import { epochCommitment, RoomKeys } from './room-keys';
import { RoomDoc } from './room-doc';
import { roleOf } from './authority';
import { turnedAwayBy, UNREADABLE_SYNC_MS } from './room-session';
import { makeRoom, recordsUpdate, signRaw, type TestPeer } from './test-peers';
import { directPeers, joinSession, leaveSession, settled, type SessionMember, type SessionOptions } from './test-sessions';

// The shipping RoomSession (meeting, topic, sync and key protocols) for a handful of members over the in-memory
// network: what the end-to-end tests show in browsers, here with every step of a key's spreading in view.

type Member = SessionMember;

const running: Member[] = [];
afterEach(async () => {
	for (const m of running.splice(0)) await leaveSession(m);
});

// Generous for a loaded 2-core machine: each step takes well under a second on a quiet one.
const WAIT = { timeout: 20_000, interval: 20 };

async function join(network: InMemoryNetwork, peer: TestPeer, key: Uint8Array, options: SessionOptions = {}): Promise<Member> {
	const member = await joinSession(network, peer, key, options);
	running.push(member);
	return member;
}

async function leave(member: Member): Promise<void> {
	running.splice(running.indexOf(member), 1);
	await leaveSession(member);
}

async function putOut(moderator: Member, kind: 'remove' | 'ban', target: TestPeer): Promise<string> {
	const epoch = await moderator.session.drawEpochKey();
	await moderator.peer.room.addOp({ kind, target: target.id, epoch }, moderator.peer);
	return epoch;
}

/** A room of `names` (the creator first), everyone in it and shown present to everyone. */
async function openRoom(names: string[], options: SessionOptions = {}, wait = WAIT) {
	const network = new InMemoryNetwork();
	const { creator, peers, key } = await makeRoom(names);
	const members = [await join(network, creator, key, { rekeyAfterMs: options.rekeyAfterMs })];
	for (const p of peers) members.push(await join(network, p, key, options));
	await settled(members, wait);
	return { network, key, members };
}

/** Who each short id in a trace is, for a failure's message. */
const namesOf = (members: Member[]) => JSON.stringify(Object.fromEntries(members.map((m) => [shortId(m.peer.id), m.peer.name])));

const holds = (m: Member, epoch: string) => m.keys.current === epoch && m.keys.has(epoch);

/** The creator makes `target` a moderator, and every member's verified room shows it. */
async function promote(creator: Member, target: Member, members: Member[]): Promise<void> {
	await creator.peer.room.addOp({ kind: 'makeModerator', target: target.peer.id }, creator.peer);
	await vi.waitFor(() => expect(members.every((m) => m.peer.room.view.moderators.has(target.peer.id))).toBe(true), WAIT);
}

/** `by` lets `out` back in: it hears of it (asking every OUT_CHECK_MS, 5 s: members serve no sync to someone out), gets the current key, and `reader` reads its next presence. */
async function letBackIn(by: Member, out: Member, epoch: string, reader: Member, hand: number): Promise<void> {
	await by.peer.room.addOp({ kind: 'readmit', target: out.peer.id }, by.peer);
	await vi.waitFor(() => expect(roleOf(out.peer.room.view, out.peer.id)).not.toMatch(/removed|banned/), WAIT);
	await vi.waitFor(() => expect(holds(out, epoch)).toBe(true), WAIT);
	await out.session.setPresence({ hand });
	await vi.waitFor(() => expect(reader.session.presence.members.get(out.peer.id)).toMatchObject({ hand }), WAIT);
}

describe('RoomSession: a ban rotates the room key (room-keys.ts)', () => {
	it('gives the new key to every member still in, never to the banned one, who reads nothing said after it', async () => {
		const { members } = await openRoom(['ana', 'ben', 'cy', 'dee']);
		const [host, ana, ben, cy, dee] = members;
		// Every key dee takes, and the call path it came by: should one reach it, the failure says how. (Twice
		// in about 20 runs of the suite over two days it held the new key, both by asking: a member handed a key
		// the ban had not yet named, then one the ban named while the request was read. Both are closed.)
		const taken: { commitment: string | null; at: number; path: string }[] = [];
		const add = dee.keys.add.bind(dee.keys);
		dee.keys.add = async (raw, options) => {
			const path = new Error().stack?.split('\n').slice(2, 9).map((l) => l.trim()).join(' < ') ?? '';
			const commitment = await add(raw, options);
			taken.push({ commitment, at: Math.round(performance.now()), path });
			return commitment;
		};

		// dee runs modified code: it stays, and keeps asking members for the key it now lacks.
		const epoch = await putOut(host, 'ban', dee.peer);
		await vi.waitFor(() => {
			for (const m of [host, ana, ben, cy]) expect(holds(m, epoch)).toBe(true);
		}, WAIT);
		// dee hears of its ban by the topic or a sync, a moment before or after the others hold the key.
		await vi.waitFor(() => expect(dee.peer.room.view.banned.has(dee.peer.id)).toBe(true), WAIT);
		expect(dee.keys.wanted).toBe(epoch);
		// Gone from everyone's room as soon as they read the ban, not when its presence would have expired.
		for (const m of [host, ana, ben, cy]) expect(m.session.presence.members.has(dee.peer.id)).toBe(false);

		const unreadable = dee.session.topicStats.unreadable;
		await ana.session.setPresence({ hand: 1 });
		await ana.session.setPresence({ muted: true });
		await vi.waitFor(() => expect(ben.session.presence.members.get(ana.peer.id)).toMatchObject({ hand: 1, muted: true }), WAIT);
		await vi.waitFor(() => expect(dee.session.topicStats.unreadable).toBeGreaterThanOrEqual(unreadable + 2), WAIT);
		expect(dee.session.presence.members.get(ana.peer.id)).toMatchObject({ hand: null, muted: false });
		// However often it asked, nobody handed it the key.
		expect(dee.keys.has(epoch), `${namesOf(members)}\n${JSON.stringify(taken.filter((t) => t.commitment === epoch))}\n${trace.toString().split('\n').filter((l) => /key:|sync:/.test(l)).slice(-40).join('\n')}`).toBe(false);
	}, 60_000);

	it('gives the key to a member who was away during the ban when it returns, from any member, the moderator gone', async () => {
		const { network, key, members } = await openRoom(['ana', 'ben', 'cy', 'dee']);
		const [host, ana, ben, cy, dee] = members;

		await leave(cy);
		const epoch = await putOut(host, 'ban', dee.peer);
		await vi.waitFor(() => expect(holds(ana, epoch) && holds(ben, epoch)).toBe(true), WAIT);
		await leave(host);
		await leave(dee);

		// cy comes back with the room as it kept it, which knows nothing of the ban.
		expect(cy.peer.room.view.keyEpochs).toEqual([]);
		const back = await join(network, cy.peer, key);
		await vi.waitFor(() => expect(holds(back, epoch)).toBe(true), WAIT);
		expect(back.peer.room.view.banned.has(dee.peer.id)).toBe(true);
		await back.session.setPresence({ hand: 2 });
		await vi.waitFor(() => expect(ana.session.presence.members.get(cy.peer.id)).toMatchObject({ hand: 2 }), WAIT);
	}, 60_000);

	it('shows nobody away to a member back with a room older than a ban until it holds the new key, however long that takes', async () => {
		const { network, key, members } = await openRoom(['ana', 'ben', 'cy']);
		const [host, ana, ben, cy] = members;
		await leave(cy);
		const epoch = await putOut(host, 'ban', ben.peer);
		await vi.waitFor(() => expect(holds(ana, epoch)).toBe(true), WAIT);

		// Those in hand out the key slowly: they hold every ask until let go.
		let letGo = () => {};
		const held = new Promise<void>((resolve) => (letGo = resolve));
		for (const m of [host, ana]) {
			const serve = m.node.handlers.get(ROOM_KEY_PROTOCOL)!;
			m.node.handlers.set(ROOM_KEY_PROTOCOL, async (...args) => {
				await held;
				return serve(...args);
			});
		}
		const back = await join(network, cy.peer, key);
		// Sealed under the old key, its presence reaches the others (who still read it) at once...
		await vi.waitFor(() => expect(ana.session.presence.members.has(cy.peer.id)).toBe(true), WAIT);
		// Once in a while (two loop runs of 9 on 2026-12-06) no sync reached it in 20 s: the failure says
		// what its connections and every sync of the run did.
		await vi.waitFor(() => expect(back.keys.wanted).toBe(epoch), WAIT).catch((err: unknown) => {
			const connections = back.node.connections.map((c) => `${c.remotePeer.toString().slice(-6)} ${isDirectConnection(c.remoteAddr.toString()) ? 'direct' : 'relayed'} ${c.status}`);
			const lines = trace.toString().split('\n').filter((l) => /sync:|meet|room:/.test(l)).slice(-60);
			throw new Error(`${String(err)}\ncy …${cy.peer.id.slice(-6)}'s connections: ${connections.join(', ')}\n${lines.join('\n')}`, { cause: err });
		});
		// ...but it reads nobody until it holds the new key. Past the time it gives a room to be heard in
		// (PRESENCE_SETTLE_MS after its presence first reached someone), it has still counted nobody away.
		await new Promise((resolve) => setTimeout(resolve, PRESENCE_SETTLE_MS + 1_000));
		expect(back.session.presenceSettled).toBe(false);
		letGo();
		await vi.waitFor(() => expect(back.session.presenceSettled).toBe(true), WAIT);
		expect(holds(back, epoch)).toBe(true);
		for (const m of [host, ana]) expect(back.session.presence.members.has(m.peer.id)).toBe(true);
		await back.session.setPresence({ hand: 2 });
		await vi.waitFor(() => expect(ana.session.presence.members.get(cy.peer.id)).toMatchObject({ hand: 2 }), WAIT);
	}, 60_000);

	it('brings up to date a member back with a room older than a ban whose syncs on connecting all missed: what it cannot read makes it sync', async () => {
		const { network, key, members } = await openRoom(['ana', 'ben', 'cy']);
		const [host, ana, ben, cy] = members;
		await leave(cy);
		const epoch = await putOut(host, 'ban', ben.peer);
		await vi.waitFor(() => expect(holds(ana, epoch)).toBe(true), WAIT);
		await leave(ben); // banned, it would still sync with cy

		// Every sync between cy and those in misses until let through (a busy peer, a timeout): theirs refuse
		// cy's. They start none with cy at all (their anti-entropy would, now and then): cy must find its own way.
		let missing = true;
		const notStarted = new Set<string>();
		for (const m of [host, ana]) {
			const serve = m.node.handlers.get(ROOM_SYNC_PROTOCOL)!;
			m.node.handlers.set(ROOM_SYNC_PROTOCOL, async (stream, connection) => {
				if (missing && connection.remotePeer.toString() === cy.peer.id) stream.abort(new Error('busy'));
				else await serve(stream, connection);
			});
			const syncWith = m.session.syncWith.bind(m.session);
			m.session.syncWith = async (peer, ...rest) => {
				if (!Array.isArray(peer) && peer.toString() === cy.peer.id) return void notStarted.add(m.peer.name);
				return syncWith(peer, ...rest);
			};
		}
		const since = performance.now();
		const back = await join(network, cy.peer, key);
		// cy's syncs over its direct connections to both failed (a relayed catch-up's label says so; theirs with
		// each other do not fail), and neither started one with cy.
		const missedDirect = () =>
			[host, ana].filter((m) => trace.entries.some((e) => e.at >= since && e.event === 'sync:failed' && e.detail.startsWith(`${shortId(m.peer.id)}: `))).length;
		await vi.waitFor(() => expect([missedDirect(), notStarted.size]).toEqual([2, 2]), WAIT).catch((err: unknown) => {
			const lines = trace.toString().split('\n').filter((l) => /sync:|meet|room:/.test(l)).slice(-60);
			throw new Error(`${String(err)}\nnot started: ${[...notStarted].join(', ')}\n${lines.join('\n')}`, { cause: err });
		});
		missing = false;
		expect(back.peer.room.view.banned.has(ben.peer.id)).toBe(false);

		// Those in speak under the new key, which cy cannot read: that makes it sync, well before its
		// anti-entropy would (20 s after it came; before this change never, picking only members whose
		// presence it reads: none, lacking the key).
		let hand = 0;
		await vi.waitFor(
			async () => {
				await ana.session.setPresence({ hand: ++hand });
				expect(back.peer.room.view.banned.has(ben.peer.id)).toBe(true);
			},
			{ timeout: 12_000, interval: 1_000 }
		).catch((err: unknown) => {
			// Failed once in about 60 runs (a loaded run of the suite, 2026-12-06): what cy did meanwhile, for the next time.
			const lines = trace.toString().split('\n').filter((l) => /sync:|key:|room:|meet:(connect|dial|trim|release)/.test(l)).slice(-80);
			const state = { current: back.keys.current?.slice(0, 8), wanted: back.keys.wanted?.slice(0, 8), direct: [...directPeers(back)].map(shortId), unreadable: back.session.topicStats.unreadable };
			throw new Error(`${String(err)}\n${namesOf([host, ana, ben, cy])} cy: ${JSON.stringify(state)}\n${lines.join('\n')}`, { cause: err });
		});
		await vi.waitFor(() => expect(holds(back, epoch)).toBe(true), WAIT);
		await vi.waitFor(() => expect(back.session.presence.members.get(ana.peer.id)?.hand).toBe(hand), WAIT);
	}, 60_000);

	it('syncs with a member whose topic messages it cannot read no sooner than a few seconds after the last such sync ended, however many it sends', async () => {
		const { members } = await openRoom(['ana', 'ben']);
		const [host, ana, ben] = members;
		const topic = await roomTopicFor(host.peer.room.roomId);
		// Only host hears it (the trace is one for all members: its syncs alone are counted).
		for (const m of [ana, ben]) m.node.pubsub.unsubscribe(topic);
		const unreadable = host.session.topicStats.unreadable;
		const from = performance.now();
		// Junk on the topic from ana for 8 s, twenty messages every 100 ms.
		let sent = 0;
		const start = Date.now();
		while (Date.now() - start < 8_000) {
			for (let i = 0; i < 20; i++, sent++) await ana.node.pubsub.publish(topic, crypto.getRandomValues(new Uint8Array(200)));
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		await vi.waitFor(() => expect(host.session.topicStats.unreadable).toBe(unreadable + sent), WAIT);
		const syncs = trace.entries.filter((e) => e.at >= from && e.event === 'sync:unreadable' && e.detail === shortId(ana.peer.id)).map((e) => e.at);
		expect(syncs.length).toBeGreaterThanOrEqual(2);
		for (let k = 1; k < syncs.length; k++) expect(syncs[k] - syncs[k - 1]).toBeGreaterThanOrEqual(UNREADABLE_SYNC_MS - 50);
	}, 60_000);

	it('takes at most a few updates a second from the audience, however many identities send them, and the stage\'s acts still land', async () => {
		const { network, members } = await openRoom(['ana', 'ben']);
		const [host, ana, ben] = members;
		const topic = await roomTopicFor(host.peer.room.roomId);
		// ben counts the updates from the topic it replays the room for.
		let applied = 0;
		const apply = ben.peer.room.applyUpdate.bind(ben.peer.room);
		ben.peer.room.applyUpdate = (update, origin) => {
			if (origin === 'topic') applied++;
			return apply(update, origin);
		};
		// ana, in the audience and running its own code, makes 100 fresh records, each refused (a listener's
		// profile) and each new to every member, and publishes them as fast as it can: half itself, half through
		// five fresh identities of its own connected to ben (a PeerId costs nothing).
		const records = await Promise.all(Array.from({ length: 100 }, (_, i) => signRaw(ana.peer, { kind: 'profile', name: `ana ${i}` })));
		const sybils = await Promise.all(Array.from({ length: 5 }, () => network.node()));
		for (const sybil of sybils) network.connect(sybil, ben.node);
		const started = Date.now();
		for (const [i, record] of records.entries()) {
			const sealed = await ana.keys.sealTopic(encodeTopicMessage({ type: 'update', update: recordsUpdate([record]) }));
			await (i < 50 ? ana.node : sybils[i % 5]).pubsub.publish(topic, sealed!);
		}
		await vi.waitFor(() => expect(applied + ben.session.topicStats.updatesDropped).toBeGreaterThanOrEqual(100), WAIT);
		const seconds = (Date.now() - started) / 1000;
		expect(applied).toBeLessThanOrEqual(40 + Math.ceil(5 * seconds) + 1);
		expect(ben.session.topicStats.updatesDropped).toBeGreaterThanOrEqual(100 - applied);
		// The creator's act, meanwhile, reaches ben by the topic at once.
		await host.peer.room.addOp({ kind: 'meta', title: 'Still ours' }, host.peer);
		await vi.waitFor(() => expect(ben.peer.room.view.title).toBe('Still ours'), WAIT);
	}, 60_000);

	it('takes an invitee\'s answer from the topic at once while fresh identities drain the audience\'s budget', async () => {
		const { network, members } = await openRoom(['ana', 'ben', 'cy']);
		const [host, ana, ben, cy] = members;
		const topic = await roomTopicFor(host.peer.room.roomId);
		const invitation = await host.peer.room.addOp({ kind: 'invite', target: cy.peer.id }, host.peer);
		await vi.waitFor(() => expect(cy.peer.room.view.invitations.get(cy.peer.id)?.id).toBe(invitation.id), WAIT);
		// What ben replays from the topic, as text (a record's id is a key in the update).
		const fromTopic: string[] = [];
		const apply = ben.peer.room.applyUpdate.bind(ben.peer.room);
		ben.peer.room.applyUpdate = (update, origin) => {
			if (origin === 'topic') fromTopic.push(new TextDecoder().decode(update));
			return apply(update, origin);
		};
		// ana's five fresh identities send ben fresh records all along, far past the audience's 5 a second.
		const sybils = await Promise.all(Array.from({ length: 5 }, () => network.node()));
		for (const sybil of sybils) network.connect(sybil, ben.node);
		let flooding = true;
		const flood = (async () => {
			for (let i = 0; flooding; i++) {
				const record = await signRaw(ana.peer, { kind: 'profile', name: `ana ${i}` });
				const sealed = await ana.keys.sealTopic(encodeTopicMessage({ type: 'update', update: recordsUpdate([record]) }));
				await sybils[i % 5].pubsub.publish(topic, sealed!);
				await new Promise((resolve) => setTimeout(resolve, 5));
			}
		})();
		try {
			await vi.waitFor(() => expect(ben.session.topicStats.updatesDropped).toBeGreaterThan(20), WAIT);
			// cy, invited, is in the audience until it answers: its answer has a budget of its own.
			const accept = await cy.peer.room.addOp({ kind: 'accept', invitation: invitation.id }, cy.peer);
			await vi.waitFor(() => expect(ben.peer.room.view.stage.has(cy.peer.id)).toBe(true), WAIT);
			expect(fromTopic.some((text) => text.includes(accept.id))).toBe(true);
		} finally {
			flooding = false;
			await flood;
		}
	}, 60_000);

	it('replays the room for no update from someone banned, though it seals them with a key still read', async () => {
		const { members } = await openRoom(['ana', 'ben']);
		const [host, ana, ben] = members;
		const topic = await roomTopicFor(host.peer.room.roomId);
		const epoch = await putOut(host, 'ban', ana.peer);
		await vi.waitFor(() => expect(ben.peer.room.view.banned.has(ana.peer.id) && ana.peer.room.view.banned.has(ana.peer.id)).toBe(true), WAIT);
		let applied = 0;
		const apply = ben.peer.room.applyUpdate.bind(ben.peer.room);
		ben.peer.room.applyUpdate = (update, origin) => {
			if (origin === 'topic') applied++;
			return apply(update, origin);
		};
		// ana runs its own code: fresh records, sealed with the key from before its ban (every member still reads it).
		const opened = ben.session.topicStats.opened;
		for (let i = 0; i < 30; i++) {
			const record = await signRaw(ana.peer, { kind: 'profile', name: `ana ${i}` });
			const sealed = await ana.keys.sealTopic(encodeTopicMessage({ type: 'update', update: recordsUpdate([record]) }), epoch);
			await ana.node.pubsub.publish(topic, sealed!);
		}
		await vi.waitFor(() => expect(ben.session.topicStats.opened).toBeGreaterThanOrEqual(opened + 30), WAIT);
		expect(applied).toBe(0);
	}, 60_000);

	it('syncs with a peer whose unreadable message came before its turn was due once it is, with no message more', async () => {
		const { network, members } = await openRoom(['ana']);
		const [host] = members;
		const topic = await roomTopicFor(host.peer.room.roomId);
		// A peer connected directly that sends only what host cannot read (a member lacking host's key would):
		// it serves no sync, so each turn is traced and fails at once.
		const stranger = await network.node();
		network.connect(stranger, host.node);
		const from = performance.now();
		const syncs = () => trace.entries.filter((e) => e.at >= from && e.event === 'sync:unreadable' && e.detail === shortId(stranger.id)).map((e) => e.at);
		const junk = () => stranger.pubsub.publish(topic, crypto.getRandomValues(new Uint8Array(200)));
		await junk();
		await vi.waitFor(() => expect(syncs().length).toBe(1), WAIT);
		// A second message before its turn is due, then none: a listener in a big room may say nothing more for
		// a minute. Before, that message was forgotten, and the next sync waited for the next message.
		await junk();
		await vi.waitFor(() => expect(syncs().length).toBe(2), WAIT);
		const [first, second] = syncs();
		expect(second - first).toBeGreaterThanOrEqual(UNREADABLE_SYNC_MS - 50);
		expect(host.session.topicStats.unreadable).toBe(2);
		stranger.stop();
	}, 60_000);

	it('lets no member stalling those syncs crowd out another: the others wait their turn', async () => {
		const { members } = await openRoom(['ana', 'ben']);
		const [host, ana, ben] = members;
		// ben holds every sync host asks of it until host gives up (SYNC_TIMEOUT_MS).
		let release = () => {};
		const released = new Promise<void>((resolve) => (release = resolve));
		const serve = ben.node.handlers.get(ROOM_SYNC_PROTOCOL)!;
		ben.node.handlers.set(ROOM_SYNC_PROTOCOL, async (stream, connection) => {
			if (connection.remotePeer.toString() === host.peer.id) await released;
			else await serve(stream, connection);
		});
		const topic = await roomTopicFor(host.peer.room.roomId);
		const junk = (m: Member) => m.node.pubsub.publish(topic, crypto.getRandomValues(new Uint8Array(200)));
		for (const m of [ana, ben]) m.node.pubsub.unsubscribe(topic);
		const unreadable = host.session.topicStats.unreadable;
		const from = performance.now();
		const syncsWith = (m: Member) => trace.entries.filter((e) => e.at >= from && e.event === 'sync:unreadable' && e.detail === shortId(m.peer.id)).map((e) => e.at);
		// Junk on the topic: ben's first, and once host's sync with ben runs, twenty messages from each every 100 ms for 6 s.
		await junk(ben);
		await vi.waitFor(() => expect(syncsWith(ben).length).toBe(1), WAIT);
		let sent = 1;
		const start = Date.now();
		while (Date.now() - start < 6_000) {
			for (let i = 0; i < 20; i++, sent += 2) await Promise.all([junk(ana), junk(ben)]);
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		await vi.waitFor(() => expect(host.session.topicStats.unreadable).toBe(unreadable + sent), WAIT);
		// ana, waiting its turn while ben's stalled sync ran (ben's junk coming all the while), is synced once it ends.
		await vi.waitFor(() => expect(syncsWith(ana).length).toBeGreaterThanOrEqual(1), WAIT);
		release();
		const [stalled] = syncsWith(ben);
		expect(syncsWith(ana)[0] - stalled).toBeGreaterThanOrEqual(SYNC_TIMEOUT_MS - 50);
	}, 60_000);

	it('draws a new key when the current one was lost with the moderator who drew it: the room reads itself again, the banned one still nothing', async () => {
		const { members } = await openRoom(['ana', 'ben', 'cy'], { rekeyAfterMs: 1_000 });
		const [host, ana, ben, cy] = members;
		await promote(host, ana, members);

		// ana bans cy under a key it never hands on (its tab closed first), and is gone.
		const lost = await epochCommitment(host.peer.room.roomId, crypto.getRandomValues(new Uint8Array(32)));
		await ana.peer.room.addOp({ kind: 'ban', target: cy.peer.id, epoch: lost }, ana.peer);
		await vi.waitFor(() => expect([host, ben].every((m) => m.keys.wanted === lost)).toBe(true), WAIT);
		await leave(ana);

		// The creator, a moderator still there, takes it for lost and rekeys; ben is given the new key.
		await vi.waitFor(() => expect(host.peer.room.view.keyEpochs.length).toBe(2), WAIT);
		const [, fresh] = host.peer.room.view.keyEpochs;
		expect(host.peer.room.view.keyEpochs[0]).toBe(lost);
		expect(host.peer.room.view.keyEpochAuthors.get(fresh)).toBe(host.peer.id);
		await vi.waitFor(() => expect(holds(host, fresh) && holds(ben, fresh)).toBe(true), WAIT);

		// Both speak on the topic again, under the new key; cy, banned and asking, is handed nothing and reads none of it.
		const unreadable = cy.session.topicStats.unreadable;
		await ben.session.setPresence({ hand: 4 });
		await vi.waitFor(() => expect(host.session.presence.members.get(ben.peer.id)).toMatchObject({ hand: 4 }), WAIT);
		await vi.waitFor(() => expect(cy.session.topicStats.unreadable).toBeGreaterThan(unreadable), WAIT);
		expect(cy.keys.has(fresh)).toBe(false);
		expect(cy.session.presence.members.get(ben.peer.id)?.hand ?? null).toBe(null);
		// Only a moderator draws: ben, who lacked the key as long, signed nothing.
		expect(host.peer.room.view.keyEpochAuthors.get(lost)).toBe(ana.peer.id);
		expect([...host.peer.room.view.keyEpochAuthors.values()].includes(ben.peer.id)).toBe(false);
	}, 60_000);

	it('draws a new key on top of two bans made at once: the key each banned member could have been handed reads nothing after', async () => {
		const { members } = await openRoom(['ana', 'ben', 'cy', 'dee']);
		const [host, ana, ben, cy, dee] = members;
		await promote(host, ana, members);

		// The creator bans cy while ana bans dee, neither having heard of the other's ban.
		const [hostEpoch, anaEpoch] = await Promise.all([putOut(host, 'ban', cy.peer), putOut(ana, 'ban', dee.peer)]);
		const opOf = (epoch: string) => [...host.peer.room.ops.values()].find((op) => 'epoch' in op.body && op.body.epoch === epoch);
		await vi.waitFor(() => expect(opOf(hostEpoch) && opOf(anaEpoch)).toBeTruthy(), WAIT);
		expect(opOf(hostEpoch)!.body.parents).not.toContain(opOf(anaEpoch)!.id);
		expect(opOf(anaEpoch)!.body.parents).not.toContain(opOf(hostEpoch)!.id);
		// The epoch that sorts last was current, and a member that held its op but not yet the other ban could
		// hand its key to the member the other ban puts out: that member holds it here, as it could have.
		const [first, second] = host.peer.room.view.keyEpochs;
		const exposed = first === hostEpoch ? cy : dee;
		expect(await exposed.keys.add((second === hostEpoch ? host : ana).keys.rawKey(second)!)).toBe(second);

		// A moderator draws a key on top of both bans; everyone still in holds it, and neither banned member does.
		await vi.waitFor(() => {
			for (const m of [host, ana, ben]) {
				expect(m.peer.room.view.keyEpochs.length).toBeGreaterThanOrEqual(3);
				expect(m.peer.room.view.keyExposedTo.size).toBe(0);
				expect(holds(m, m.keys.current!)).toBe(true);
			}
		}, WAIT);
		const fresh = host.peer.room.view.keyEpochs.at(-1)!;
		expect([host.peer.id, ana.peer.id]).toContain(host.peer.room.view.keyEpochAuthors.get(fresh));
		const unreadable = exposed.session.topicStats.unreadable;
		await ben.session.setPresence({ hand: 3 });
		await vi.waitFor(() => expect(host.session.presence.members.get(ben.peer.id)).toMatchObject({ hand: 3 }), WAIT);
		await vi.waitFor(() => expect(exposed.session.topicStats.unreadable).toBeGreaterThan(unreadable), WAIT);
		expect(exposed.session.presence.members.get(ben.peer.id)?.hand ?? null).toBe(null);
		for (const out of [cy, dee]) expect(out.keys.has(fresh)).toBe(false);
	}, 60_000);

	it('lets a removed member back in: it hears of its readmission, gets the current key and is shown again', async () => {
		const { members } = await openRoom(['ana', 'ben'], { honestOut: true });
		const [host, ana, ben] = members;

		const epoch = await putOut(host, 'remove', ben.peer);
		await vi.waitFor(() => expect(holds(ana, epoch)).toBe(true), WAIT);
		expect(ben.keys.has(epoch)).toBe(false);

		// Back in, it speaks with the current key, and those in read it.
		await letBackIn(host, ben, epoch, ana, 3);
	}, 60_000);
});

describe('RoomSession: a ban undone', () => {
	it('lets a banned member back in once the creator readmits it (a moderator cannot): it gets the current key and is heard again', async () => {
		const { members } = await openRoom(['ana', 'ben', 'cy'], { honestOut: true });
		const [host, ana, ben, cy] = members;
		await promote(host, ana, members);

		const epoch = await putOut(ana, 'ban', ben.peer);
		await vi.waitFor(() => expect([host, ana, cy].every((m) => holds(m, epoch))).toBe(true), WAIT);
		await vi.waitFor(() => expect(ben.peer.room.view.banned.has(ben.peer.id)).toBe(true), WAIT);
		await expect(ana.peer.room.addOp({ kind: 'readmit', target: ben.peer.id }, ana.peer)).rejects.toThrow('rules do not allow');

		await letBackIn(host, ben, epoch, cy, 5);
	}, 60_000);
});

describe('RoomSession: meet announces', () => {
	it('seals its announces with the room key: the relay and outsiders on the topic read no PeerId or address in them', async () => {
		const network = new InMemoryNetwork();
		const { creator, key, roomId } = await makeRoom([]);
		const spy = await network.node();
		const topic = await meetTopicFor(`room:${roomId}`);
		const seen: Uint8Array[] = [];
		spy.pubsub.subscribe(topic);
		spy.pubsub.addEventListener('message', (e) => {
			const { detail } = e as CustomEvent<{ topic: string; data: Uint8Array }>;
			if (detail.topic === topic) seen.push(detail.data);
		});
		const host = await join(network, creator, key);
		await vi.waitFor(() => expect(seen.length).toBeGreaterThan(0), WAIT);
		for (const data of seen) {
			expect(() => decodeMeetAnnounce(data, creator.id)).toThrow();
			expect(new TextDecoder().decode(data)).not.toContain(creator.id);
			expect(decodeMeetAnnounce(await host.keys.open('meet', data), creator.id).addrs.every((a) => a.endsWith(`/p2p/${creator.id}`))).toBe(true);
		}
	});
});

describe('turnedAwayBy', () => {
	it('takes two members’ word, or every member heard, never one member’s while others are heard', () => {
		expect(turnedAwayBy(new Set(), ['ana', 'ben'])).toBe(false);
		// One hostile member among honest ones: not enough (an honest one's sync lets the joiner in).
		expect(turnedAwayBy(new Set(['mal']), ['mal', 'ana', 'ben'])).toBe(false);
		expect(turnedAwayBy(new Set(['mal', 'ana']), ['mal', 'ana', 'ben'])).toBe(true);
		// The only member heard refused: that is all the room there is to ask.
		expect(turnedAwayBy(new Set(['ana']), ['ana'])).toBe(true);
		expect(turnedAwayBy(new Set(['ana']), [])).toBe(true);
	});
});

describe('RoomSession: turned away', () => {
	it('tells a removed member that brought its identity to a new device it is turned away, and lets it in once readmitted', async () => {
		const { network, key, members } = await openRoom(['ana', 'ben']);
		const [host, ana, ben] = members;
		await leave(ben);
		const epoch = await putOut(host, 'remove', ben.peer);
		await vi.waitFor(() => expect(holds(ana, epoch)).toBe(true), WAIT);

		// The same identity on a device with no copy of the room: nothing of its own says it is out.
		const events: boolean[] = [];
		const elsewhere = { ...ben.peer, room: new RoomDoc(ben.peer.room.roomId, key) };
		const back = await join(network, elsewhere, key, { honestOut: true, onTurnedAway: (away) => events.push(away) });
		await vi.waitFor(() => expect(back.session.turnedAway).toBe(true), WAIT);
		expect(back.peer.room.view.exists).toBe(false);
		expect(back.keys.has(epoch)).toBe(false);

		// A moderator lets it back in: it asks again every few seconds, and the next sync gets through.
		await host.peer.room.addOp({ kind: 'readmit', target: ben.peer.id }, host.peer);
		await vi.waitFor(() => expect(back.session.turnedAway).toBe(false), WAIT);
		expect(back.peer.room.view.exists).toBe(true);
		await vi.waitFor(() => expect(holds(back, epoch)).toBe(true), WAIT);
		expect(events).toEqual([true, false]);
	}, 60_000);
});

describe('RoomSession: a crowd with the room link', () => {
	it('counts peers it synced with among its neighbours, heard or not: a crowd that dials, answers the sync and says nothing more is trimmed like any', async () => {
		// Each of these holds the room's key, dials the member and answers its sync, and then neither announces
		// nor shows presence. The sync vouches for it (no stranger: stranger-guard.ts), and the meeting, which
		// counted only peers heard or present, never counted or trimmed it: enough of them held every connection.
		const network = new InMemoryNetwork();
		const { creator, peers, key } = await makeRoom(Array.from({ length: 21 }, (_, i) => `s${i}`));
		const ann = await join(network, creator, key);
		const keys = await RoomKeys.create(creator.room.roomId, key);
		for (const p of peers) {
			const node = await network.node(p.privateKey);
			await node.handle(ROOM_SYNC_PROTOCOL, (stream, connection) =>
				serveSync(stream, connection.remotePeer.toString(), () => ({ room: p.room, cipher: keys.base }), SYNC_TIMEOUT_MS)
			);
			network.connect(node, ann.node);
		}
		await vi.waitFor(() => expect(peers.filter((p) => ann.session.knows(p.peerId.toString()))).toHaveLength(21), WAIT);
		await vi.waitFor(() => expect(directPeers(ann).size).toBe(12), WAIT);
	}, 60_000);
});

describe('RoomSession: a room of forty on the in-memory network', () => {
	// The meeting, sync and topic code that ships, for 40 members: a bounded overlay that carries room
	// state on its own once every relay is gone, through members crashing.
	// Generous: 40 members' crypto on a loaded 2-core machine (about 3 s on a quiet one).
	const ROOM_WAIT = { timeout: 30_000, interval: 50 };

	it('keeps about 8 connections a member, and room state reaches everyone over the overlay with the relays gone', async () => {
		const { network, members } = await openRoom(
			Array.from({ length: 39 }, (_, i) => `member${i}`),
			{},
			ROOM_WAIT
		);
		const [host, ...others] = members;
		const peersOf = directPeers;
		await vi.waitFor(() => expect(Math.min(...members.map((m) => peersOf(m).size))).toBeGreaterThanOrEqual(4), ROOM_WAIT);
		// A member takes dials until it has 12 (maxNeighbours) and then announces `full`; members arriving back to
		// back can dial it before that announce reaches them, so the first members end up with 13 to 18 (more on a
		// loaded machine): the cap is soft, and no maximum is asserted here (bench:sim reports it). What holds is
		// the average: every link counts at both ends, so members keep about 8 each whatever the room's size.
		const degrees = members.map((m) => peersOf(m).size);
		const mean = degrees.reduce((a, b) => a + b) / degrees.length;
		expect(mean).toBeGreaterThan(6);
		expect(mean).toBeLessThanOrEqual(12);

		// Four members crash (no goodbye); the others' meetings make up the neighbours they lost.
		const crashed = others.splice(5, 4);
		for (const m of crashed) m.node.stop();
		const alive = [host, ...others];
		await vi.waitFor(() => expect(Math.min(...alive.map((m) => peersOf(m).size))).toBeGreaterThanOrEqual(4), ROOM_WAIT);

		network.relays = false;
		await host.peer.room.addOp({ kind: 'makeModerator', target: others[0].peer.id }, host.peer);
		await vi.waitFor(() => {
			for (const m of alive) expect(m.peer.room.view.moderators.has(others[0].peer.id)).toBe(true);
		}, ROOM_WAIT);
		// A moderator other than the creator acts, and that too reaches everyone.
		await others[0].peer.room.addOp({ kind: 'invite', target: others[1].peer.id }, others[0].peer);
		await vi.waitFor(() => {
			for (const m of alive) expect(m.peer.room.view.invitations.has(others[1].peer.id)).toBe(true);
		}, ROOM_WAIT);
		for (const m of crashed) expect(m.peer.room.view.moderators.has(others[0].peer.id)).toBe(false);
	}, 120_000);
});
