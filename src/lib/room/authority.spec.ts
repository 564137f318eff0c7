import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MAX_PROFILES_PER_AUTHOR, MAX_UNKNOWN_PER_AUTHOR, permittedActions, roleOf, type MemberAction } from './authority';
import { RoomDoc } from './room-doc';
import { signOp, type OpIntent, type SignedOp } from './room-op-codec';
import { makeRoom, recordsUpdate, signRaw, summarize, syncAll, type TestPeer } from './test-peers';

/** Signs the act where the rules cannot stop the signer (a cheater's copy), delivers it, and says whether it took effect. */
async function act(peer: TestPeer, intent: OpIntent, everyone: TestPeer[]): Promise<boolean> {
	const op = await signOp(intent, { roomId: peer.room.roomId, author: peer.peerId, privateKey: peer.privateKey, ...peer.room.placement(), now: 0 });
	const local = await peer.room.addOp(intent, peer, 0).then(
		() => true,
		() => false
	);
	const update = Y.encodeStateAsUpdate(cheatWith(peer, op));
	for (const p of everyone) await p.room.applyUpdate(update, 'net');
	await syncAll(everyone);
	const inEffect = everyone.map((p) => p.room.ops.has(op.id) && !p.room.view.refused.has(op.id));
	expect(new Set([...inEffect, local]).size, 'every peer decides the same, the signer included').toBe(1);
	return inEffect[0];
}

/** The peer's document plus `op`, written the way a modified client would. */
function cheatWith(peer: TestPeer, op: SignedOp): Y.Doc {
	const doc = new Y.Doc();
	Y.applyUpdate(doc, Y.encodeStateAsUpdate(peer.room.doc));
	if (!doc.getMap('ops').has(op.id)) doc.getMap('ops').set(op.id, op.bytes);
	return doc;
}

async function setup() {
	const { creator, peers, key, roomId } = await makeRoom(['mod', 'speaker', 'listener', 'other']);
	const [mod, speaker, listener, other] = peers;
	const all = [creator, ...peers];
	await syncAll(all);
	expect(await act(creator, { kind: 'makeModerator', target: mod.id }, all)).toBe(true);
	expect(await act(mod, { kind: 'invite', target: speaker.id }, all)).toBe(true);
	const invitation = creator.room.view.invitations.get(speaker.id)!.id;
	expect(await act(speaker, { kind: 'accept', invitation }, all)).toBe(true);
	return { creator, mod, speaker, listener, other, all, key, roomId };
}

describe('authority: allowed actions', () => {
	it('sets up creator, moderator and speaker on every peer', async () => {
		const { creator, mod, speaker, listener, all } = await setup();
		for (const p of all) {
			expect(roleOf(p.room.view, creator.id)).toBe('creator');
			expect(roleOf(p.room.view, mod.id)).toBe('moderator');
			expect(roleOf(p.room.view, speaker.id)).toBe('speaker');
			expect(roleOf(p.room.view, listener.id)).toBe('audience');
			expect(p.room.view.title).toBe('Test room');
		}
	});

	it('lets a moderator invite, mute, unmute, move back, remove, readmit, ban and edit', async () => {
		const { creator, mod, speaker, listener, other, all } = await setup();
		expect(await act(mod, { kind: 'mute', target: speaker.id }, all)).toBe(true);
		expect(creator.room.view.modMuted.has(speaker.id)).toBe(true);
		expect(await act(mod, { kind: 'unmute', target: speaker.id }, all)).toBe(true);
		expect(await act(mod, { kind: 'moveToAudience', target: speaker.id }, all)).toBe(true);
		expect(roleOf(listener.room.view, speaker.id)).toBe('audience');
		expect(await act(mod, { kind: 'remove', target: listener.id }, all)).toBe(true);
		expect(roleOf(other.room.view, listener.id)).toBe('removed');
		expect(await act(mod, { kind: 'readmit', target: listener.id }, all)).toBe(true);
		expect(roleOf(other.room.view, listener.id)).toBe('audience');
		expect(await act(mod, { kind: 'ban', target: other.id }, all)).toBe(true);
		expect(roleOf(creator.room.view, other.id)).toBe('banned');
		expect(await act(mod, { kind: 'meta', title: 'Renamed' }, all)).toBe(true);
		expect(listener.room.view.title).toBe('Renamed');
	});

	it('lets an invitee decline, and a speaker step down by itself', async () => {
		const { mod, speaker, listener, all } = await setup();
		expect(await act(mod, { kind: 'invite', target: listener.id }, all)).toBe(true);
		const invitation = listener.room.view.invitations.get(listener.id)!.id;
		expect(await act(listener, { kind: 'decline', invitation }, all)).toBe(true);
		expect(roleOf(mod.room.view, listener.id)).toBe('audience');
		expect(mod.room.view.invitations.has(listener.id)).toBe(false);
		expect(await act(speaker, { kind: 'moveToAudience', target: speaker.id }, all)).toBe(true);
		expect(roleOf(mod.room.view, speaker.id)).toBe('audience');
	});

	it('lets only the creator demote a moderator and end the room', async () => {
		const { creator, mod, listener, all } = await setup();
		expect(await act(creator, { kind: 'revokeModerator', target: mod.id }, all)).toBe(true);
		expect(roleOf(listener.room.view, mod.id)).toBe('speaker');
		expect(await act(creator, { kind: 'end' }, all)).toBe(true);
		expect(listener.room.view.ended).toBe(true);
		expect(await act(creator, { kind: 'meta', title: 'After the end' }, all)).toBe(false);
	});
});

describe('authority: forbidden actions are refused everywhere', () => {
	it.each<[string, (s: Awaited<ReturnType<typeof setup>>) => [TestPeer, OpIntent]]>([
		['a listener promoting itself', (s) => [s.listener, { kind: 'makeModerator', target: s.listener.id }]],
		['a listener inviting itself', (s) => [s.listener, { kind: 'invite', target: s.listener.id }]],
		['a speaker inviting someone', (s) => [s.speaker, { kind: 'invite', target: s.listener.id }]],
		['a speaker muting another', (s) => [s.speaker, { kind: 'mute', target: s.mod.id }]],
		['a listener removing someone', (s) => [s.listener, { kind: 'remove', target: s.speaker.id }]],
		['a moderator removing the creator', (s) => [s.mod, { kind: 'remove', target: s.creator.id }]],
		['a moderator banning the creator', (s) => [s.mod, { kind: 'ban', target: s.creator.id }]],
		['a moderator demoting the creator', (s) => [s.mod, { kind: 'revokeModerator', target: s.creator.id }]],
		['a moderator demoting a moderator', (s) => [s.mod, { kind: 'revokeModerator', target: s.mod.id }]],
		['a moderator moving the creator off stage', (s) => [s.mod, { kind: 'moveToAudience', target: s.creator.id }]],
		['a moderator ending the room', (s) => [s.mod, { kind: 'end' }]],
		['a listener editing the title', (s) => [s.listener, { kind: 'meta', title: 'Mine now' }]],
		['a moderator muting someone in the audience', (s) => [s.mod, { kind: 'mute', target: s.listener.id }]],
		['a listener moving a speaker off stage', (s) => [s.listener, { kind: 'moveToAudience', target: s.speaker.id }]],
		['someone else accepting an invitation', (s) => [s.listener, { kind: 'accept', invitation: 'AAAAAAAAAAAAAAAAAAAAAA' }]]
	])('%s', async (_label, pick) => {
		const s = await setup();
		const [actor, intent] = pick(s);
		const before = JSON.stringify(summary(s.creator));
		expect(await act(actor, intent, s.all)).toBe(false);
		for (const p of s.all) expect(JSON.stringify(summary(p))).toBe(before);
	});

	it('refuses another peer accepting an invitation meant for someone else', async () => {
		const s = await setup();
		expect(await act(s.mod, { kind: 'invite', target: s.listener.id }, s.all)).toBe(true);
		const invitation = s.creator.room.view.invitations.get(s.listener.id)!.id;
		expect(await act(s.other, { kind: 'accept', invitation }, s.all)).toBe(false);
		expect(roleOf(s.creator.room.view, s.other.id)).toBe('audience');
		expect(roleOf(s.creator.room.view, s.listener.id)).toBe('audience');
	});

	it('strips a removed moderator of every right', async () => {
		const s = await setup();
		expect(await act(s.creator, { kind: 'remove', target: s.mod.id }, s.all)).toBe(true);
		expect(await act(s.mod, { kind: 'invite', target: s.listener.id }, s.all)).toBe(false);
		expect(roleOf(s.listener.room.view, s.mod.id)).toBe('removed');
	});
});

function summary(p: TestPeer) {
	const v = p.room.view;
	return {
		title: v.title,
		stage: [...v.stage].sort(),
		mods: [...v.moderators].sort(),
		invites: [...v.invitations.keys()].sort(),
		muted: [...v.modMuted].sort(),
		removed: [...v.removed].sort(),
		banned: [...v.banned].sort(),
		ended: v.ended
	};
}

describe('permittedActions', () => {
	it('offers exactly the targeted actions the replay accepts', async () => {
		const s = await setup();
		const actions: MemberAction[] = ['invite', 'mute', 'unmute', 'moveToAudience', 'makeModerator', 'revokeModerator', 'remove', 'ban'];
		await s.mod.room.addOp({ kind: 'mute', target: s.speaker.id }, s.mod);
		await syncAll(s.all);
		const state = Y.encodeStateAsUpdate(s.creator.room.doc);
		for (const actor of s.all) {
			for (const target of s.all) {
				if (actor === target) continue;
				const offered = permittedActions(actor.room.view, actor.id, target.id);
				for (const action of actions) {
					const copy = new RoomDoc(s.roomId, s.key);
					await copy.applyUpdate(state, 'test');
					const allowed = await copy.addOp({ kind: action, target: target.id }, actor).then(
						() => true,
						() => false
					);
					// The one act the rules allow but the app never offers: making someone off stage a moderator (it would put
					// them on stage, mic live, without their yes; they are invited first).
					const consent = action === 'makeModerator' && !actor.room.view.stage.has(target.id);
					expect(allowed && !consent, `${actor.name} ${action} ${target.name}`).toBe(offered.includes(action));
				}
			}
		}
	});
});

describe('authority: key epochs', () => {
	const epoch = (n: number) => String.fromCharCode(65 + n).repeat(43);

	it('lists the key commitments of removals and bans that take effect, in order', async () => {
		const { mod, speaker, listener, other, all } = await setup();
		expect(await act(mod, { kind: 'ban', target: listener.id, epoch: epoch(1) }, all)).toBe(true);
		expect(await act(mod, { kind: 'remove', target: other.id, epoch: epoch(2) }, all)).toBe(true);
		for (const p of all) expect(p.room.view.keyEpochs).toEqual([epoch(1), epoch(2)]);
		// Each commitment's author: the member to ask first for that key.
		for (const p of all) expect([...p.room.view.keyEpochAuthors]).toEqual([[epoch(1), mod.id], [epoch(2), mod.id]]);
		// A speaker cannot rotate the key: its ban does not take effect, nor does its commitment.
		expect(await act(speaker, { kind: 'ban', target: mod.id, epoch: epoch(3) }, all)).toBe(false);
		expect(all[0].room.view.keyEpochs).toEqual([epoch(1), epoch(2)]);
	});

	it('starts an epoch on a moderator’s rekey, with nobody put out; nobody else’s, and never a commitment twice', async () => {
		const { creator, mod, speaker, listener, all } = await setup();
		expect(await act(mod, { kind: 'ban', target: listener.id, epoch: epoch(1) }, all)).toBe(true);
		// The key of epoch 1 was lost with the one who drew it: the creator draws another.
		expect(await act(creator, { kind: 'rekey', epoch: epoch(2) }, all)).toBe(true);
		for (const p of all) expect(p.room.view.keyEpochs).toEqual([epoch(1), epoch(2)]);
		for (const p of all) expect(p.room.view.keyEpochAuthors.get(epoch(2))).toBe(creator.id);
		expect(roleOf(all[0].room.view, listener.id)).toBe('banned');
		expect(await act(speaker, { kind: 'rekey', epoch: epoch(3) }, all)).toBe(false);
		expect(await act(mod, { kind: 'rekey', epoch: epoch(1) }, all)).toBe(false);
		expect(await act(mod, { kind: 'rekey', epoch: epoch(3) }, all)).toBe(true);
		for (const p of all) expect(p.room.view.keyEpochs).toEqual([epoch(1), epoch(2), epoch(3)]);
	});

	it('takes a commitment only on a remove, ban or rekey, and only in its form', async () => {
		const { mod, listener } = await setup();
		const context = { roomId: mod.room.roomId, author: mod.peerId, privateKey: mod.privateKey, ...mod.room.placement(), now: 0 };
		await expect(signOp({ kind: 'ban', target: listener.id, epoch: 'short' }, context)).rejects.toThrow('key commitment');
		await expect(signOp({ kind: 'mute', target: listener.id, epoch: epoch(1) } as unknown as OpIntent, context)).rejects.toThrow('unexpected op field epoch');
		expect((await signOp({ kind: 'remove', target: listener.id, epoch: epoch(1) }, context)).body).toMatchObject({ epoch: epoch(1) });
		await expect(signOp({ kind: 'rekey' } as unknown as OpIntent, context)).rejects.toThrow('key commitment');
		await expect(signOp({ kind: 'rekey', epoch: epoch(1), target: listener.id } as unknown as OpIntent, context)).rejects.toThrow('unexpected op field target');
		expect((await signOp({ kind: 'rekey', epoch: epoch(1) }, context)).body).toMatchObject({ kind: 'rekey', epoch: epoch(1) });
	});

	it('says whom the current key may have reached: a member put out concurrently with the op that drew it, or with no epoch', async () => {
		const { creator, mod, speaker, listener, other, all } = await setup();
		// One after the other: the second ban is made on top of the first, whose member never held its key.
		expect(await act(mod, { kind: 'ban', target: listener.id, epoch: epoch(1) }, all)).toBe(true);
		expect(await act(creator, { kind: 'remove', target: speaker.id, epoch: epoch(2) }, all)).toBe(true);
		for (const p of all) expect(p.room.view.keyExposedTo.size).toBe(0);
		// Two moderators at once, neither having heard of the other's: whichever epoch sorts last is current,
		// and the member the other one puts out may have been handed its key by one who held only that op.
		await creator.room.addOp({ kind: 'readmit', target: speaker.id }, creator);
		await syncAll(all);
		const byMod = await mod.room.addOp({ kind: 'remove', target: other.id, epoch: epoch(3) }, mod);
		const byCreator = await creator.room.addOp({ kind: 'ban', target: speaker.id, epoch: epoch(4) }, creator);
		expect(byCreator.body.parents).not.toContain(byMod.id);
		await syncAll(all);
		const view = creator.room.view;
		expect(view.keyEpochs.slice(2).sort()).toEqual([epoch(3), epoch(4)]);
		const exposed = view.keyEpochs.at(-1) === epoch(4) ? other.id : speaker.id;
		for (const p of all) expect([...p.room.view.keyExposedTo.keys()]).toEqual([exposed]);
		// With the op that put it out: what a new epoch must be made on top of.
		expect(view.keyExposedTo.get(exposed)).toEqual([(exposed === other.id ? byMod : byCreator).id]);
		// A rekey on top of both ends it; so would letting the exposed member back in.
		expect(await act(mod, { kind: 'rekey', epoch: epoch(5) }, all)).toBe(true);
		for (const p of all) expect(p.room.view.keyExposedTo.size).toBe(0);
		// A removal that drew no key leaves the key it was made under with the member it puts out.
		expect(await act(creator, { kind: 'readmit', target: other.id }, all)).toBe(true);
		expect(await act(creator, { kind: 'readmit', target: speaker.id }, all)).toBe(true);
		expect(await act(mod, { kind: 'remove', target: other.id }, all)).toBe(true);
		for (const p of all) expect([...p.room.view.keyExposedTo.keys()]).toEqual([other.id]);
		expect(await act(mod, { kind: 'readmit', target: other.id }, all)).toBe(true);
		for (const p of all) expect(p.room.view.keyExposedTo.size).toBe(0);
	});

	it('exposes nobody to a key drawn by one of two bans of the same member at once', async () => {
		const { creator, mod, listener, all } = await setup();
		await mod.room.addOp({ kind: 'ban', target: listener.id, epoch: epoch(1) }, mod);
		await creator.room.addOp({ kind: 'ban', target: listener.id, epoch: epoch(2) }, creator);
		await syncAll(all);
		for (const p of all) {
			expect(p.room.view.keyEpochs).toHaveLength(2);
			expect(roleOf(p.room.view, listener.id)).toBe('banned');
			expect(p.room.view.keyExposedTo.size).toBe(0);
		}
	});

	it('exposes a member let back in by a moderator demoted at the same time, until an epoch follows the demotion', async () => {
		const { creator, mod, listener, all } = await setup();
		expect(await act(creator, { kind: 'remove', target: listener.id, epoch: epoch(1) }, all)).toBe(true);
		const removal = [...creator.room.ops.values()].find((op) => op.body.kind === 'remove')!.id;
		// The moderator readmits the listener and draws no key (a readmission does not rotate it) while the
		// creator demotes the moderator: members that held the readmission alone counted the listener in, and
		// could hand it the key of epoch 1, which the readmission was made on top of. A new epoch must follow the
		// demotion, and the removal.
		const readmit = await mod.room.addOp({ kind: 'readmit', target: listener.id }, mod);
		const demotion = await creator.room.addOp({ kind: 'revokeModerator', target: mod.id }, creator);
		await syncAll(all);
		for (const p of all) expect(roleOf(p.room.view, listener.id)).toBe('removed');
		for (const p of all) expect(p.room.view.keyExposedTo.get(listener.id)).toEqual([removal, demotion.id]);
		for (const p of all) expect([...p.room.view.exposingReadmits]).toEqual([[readmit.id, listener.id]]);
		// An epoch made on top of the readmission but not of the demotion (a moderator that held only the first;
		// the readmission comes with it as its history): still exposed.
		const atReadmit = { parents: [readmit.id], lamport: readmit.body.lamport + 1 };
		const rekey = await signOp({ kind: 'rekey', epoch: epoch(2) }, { roomId: creator.room.roomId, author: creator.peerId, privateKey: creator.privateKey, ...atReadmit, now: 0 });
		const update = Y.encodeStateAsUpdate(cheatWith(mod, rekey));
		for (const p of all) await p.room.applyUpdate(update, 'net');
		for (const p of all) expect(p.room.view.keyEpochs).toEqual([epoch(1), epoch(2)]);
		for (const p of all) expect(p.room.view.keyExposedTo.get(listener.id)).toEqual([removal, demotion.id]);
		// A rekey on top of both ends it.
		expect(await act(creator, { kind: 'rekey', epoch: epoch(3) }, all)).toBe(true);
		for (const p of all) expect(p.room.view.keyExposedTo.size).toBe(0);
	});

	it('exposes a member whose readmission a concurrent ban refuses, to an epoch made on top of the readmission alone', async () => {
		const { creator, mod, speaker, listener, other, all } = await setup();
		expect(await act(creator, { kind: 'makeModerator', target: speaker.id }, all)).toBe(true);
		expect(await act(creator, { kind: 'remove', target: listener.id, epoch: epoch(1) }, all)).toBe(true);
		// The moderator edits the title, then readmits the listener; the creator, meanwhile, bans it with no epoch
		// of its own: the ban sorts first (a lower lamport), and the readmission is refused, not void.
		await mod.room.addOp({ kind: 'meta', title: 'Busy' }, mod);
		const readmit = await mod.room.addOp({ kind: 'readmit', target: listener.id }, mod);
		const ban = await creator.room.addOp({ kind: 'ban', target: listener.id }, creator);
		expect(ban.body.lamport).toBeLessThan(readmit.body.lamport);
		// A third moderator that holds the readmission but not the ban puts someone else out with a new epoch:
		// whoever holds that epoch's op without the ban counts the listener in.
		await speaker.room.applyUpdate(Y.encodeStateAsUpdate(mod.room.doc), 'net');
		await speaker.room.addOp({ kind: 'remove', target: other.id, epoch: epoch(2) }, speaker);
		await syncAll(all);
		for (const p of all) {
			expect(roleOf(p.room.view, listener.id)).toBe('banned');
			expect(p.room.view.keyEpochs.at(-1)).toBe(epoch(2));
			expect(p.room.view.keyExposedTo.get(listener.id)).toEqual([ban.id]);
		}
		expect(await act(creator, { kind: 'rekey', epoch: epoch(3) }, all)).toBe(true);
		for (const p of all) expect(p.room.view.keyExposedTo.size).toBe(0);
	});

	it('does not expose a member whose void readmission is followed by a new removal, or whose key followed the demotion', async () => {
		const { creator, mod, speaker: second, listener, all } = await setup();
		expect(await act(creator, { kind: 'remove', target: listener.id, epoch: epoch(1) }, all)).toBe(true);
		// The demotion is in the history of the epoch that follows: nobody holding it counts the listener in.
		await mod.room.addOp({ kind: 'readmit', target: listener.id }, mod);
		await creator.room.addOp({ kind: 'revokeModerator', target: mod.id }, creator);
		await syncAll(all);
		expect(await act(creator, { kind: 'rekey', epoch: epoch(2) }, all)).toBe(true);
		for (const p of all) expect(p.room.view.keyExposedTo.size).toBe(0);
		// The creator makes the moderator again; it readmits the listener while the creator demotes it a second
		// time and, on top of the readmission but not the demotion, a second moderator bans the listener
		// with a new epoch: whoever holds that epoch holds the ban after the readmission.
		expect(await act(creator, { kind: 'makeModerator', target: mod.id }, all)).toBe(true);
		expect(await act(creator, { kind: 'makeModerator', target: second.id }, all)).toBe(true);
		const again = await mod.room.addOp({ kind: 'readmit', target: listener.id }, mod);
		await creator.room.addOp({ kind: 'revokeModerator', target: mod.id }, creator);
		await second.room.applyUpdate(Y.encodeStateAsUpdate(mod.room.doc), 'net');
		const ban = await second.room.addOp({ kind: 'ban', target: listener.id, epoch: epoch(3) }, second);
		expect(ban.body.parents).toContain(again.id);
		await syncAll(all);
		for (const p of all) {
			expect(roleOf(p.room.view, listener.id)).toBe('banned');
			expect(p.room.view.keyEpochs.at(-1)).toBe(epoch(3));
			expect(p.room.view.keyExposedTo.size).toBe(0);
		}
	});

	it('drops the commitment of a ban voided by the revocation of its author', async () => {
		const { creator, mod, listener, all } = await setup();
		const demoted = all.filter((p) => p !== mod);
		// The moderator bans while the creator, concurrently, demotes it: the ban is void, and so is its epoch.
		const [modPeer] = all.filter((p) => p === mod);
		await modPeer.room.addOp({ kind: 'ban', target: listener.id, epoch: epoch(4) }, modPeer);
		await creator.room.addOp({ kind: 'revokeModerator', target: mod.id }, creator);
		await syncAll(all);
		for (const p of [...demoted, mod]) {
			expect(p.room.view.keyEpochs).toEqual([]);
			expect(p.room.view.keyEpochAuthors.size).toBe(0);
		}
		expect(roleOf(creator.room.view, listener.id)).toBe('audience');
	});
});

describe('authority: names kept in the room', () => {
	it('keeps the name a member on stage gives itself, after it leaves the stage too; a listener’s is refused', async () => {
		const { creator, speaker, listener, all } = await setup();
		expect(await act(creator, { kind: 'profile', name: 'Cleo' }, all)).toBe(true);
		expect(await act(speaker, { kind: 'profile', name: 'Sam' }, all)).toBe(true);
		expect(await act(speaker, { kind: 'profile', name: 'Samuel' }, all)).toBe(true);
		expect(await act(listener, { kind: 'profile', name: 'Lurker' }, all)).toBe(false);
		expect(await act(speaker, { kind: 'moveToAudience', target: speaker.id }, all)).toBe(true);
		for (const p of all) expect([...p.room.view.names].sort()).toEqual([[creator.id, 'Cleo'], [speaker.id, 'Samuel']].sort());
		// Off stage, no more renames.
		expect(await act(speaker, { kind: 'profile', name: 'Sammy' }, all)).toBe(false);
	});

	it('keeps the avatar given with the latest name, and none when the latest came without one', async () => {
		const { creator, all } = await setup();
		expect(await act(creator, { kind: 'profile', name: 'Cleo', avatar: { e: '🐙', c: 5 } }, all)).toBe(true);
		for (const p of all) expect(p.room.view.avatars.get(creator.id)).toEqual({ e: '🐙', c: 5 });
		expect(await act(creator, { kind: 'profile', name: 'Cleo' }, all)).toBe(true);
		for (const p of all) expect(p.room.view.avatars.has(creator.id)).toBe(false);
	});

	it('takes at most MAX_PROFILES_PER_AUTHOR renames from one member', async () => {
		const { speaker, all } = await setup();
		for (let i = 0; i < MAX_PROFILES_PER_AUTHOR; i++) await speaker.room.addOp({ kind: 'profile', name: `Name ${i}` }, speaker);
		expect(await act(speaker, { kind: 'profile', name: 'One too many' }, all)).toBe(false);
		for (const p of all) expect(p.room.view.names.get(speaker.id)).toBe(`Name ${MAX_PROFILES_PER_AUTHOR - 1}`);
	});
});

describe('authority: a kind this version does not know (a later version’s)', () => {
	/** Delivers `record` to everyone and says who keeps it. */
	async function spread(record: { id: string; bytes: Uint8Array }, everyone: TestPeer[]): Promise<boolean[]> {
		for (const p of everyone) await p.room.applyUpdate(recordsUpdate([record]), 'net');
		await syncAll(everyone);
		return everyone.map((p) => p.room.ops.has(record.id) && !p.room.view.refused.has(record.id));
	}

	it('is kept with no effect when a member on stage signs it, so what is built on it lands everywhere', async () => {
		const { creator, speaker, listener, all, key } = await setup();
		const before = all.map((p) => summarize(p.room.view));
		const poll = await signRaw(speaker, { kind: 'poll', question: 'Tea or coffee?' });
		expect(await spread(poll, all)).toEqual(all.map(() => true));
		expect(all.map((p) => summarize(p.room.view)).map((v) => ({ ...v, maxLamport: 0 }))).toEqual(before.map((v) => ({ ...v, maxLamport: 0 })));
		// The creator's next act names it as a parent: every peer places that act and applies it.
		await syncAll(all);
		const act2 = await creator.room.addOp({ kind: 'mute', target: speaker.id }, creator);
		expect(act2.body.parents).toContain(poll.id);
		await syncAll(all);
		for (const p of all) expect(p.room.view.modMuted.has(speaker.id), p.name).toBe(true);
		// A newcomer gets it from anyone in the room, a listener included, and shows the same room.
		const fresh = new RoomDoc(creator.room.roomId, key);
		await fresh.applyUpdate(Y.encodeStateAsUpdate(listener.room.doc), 'net');
		expect(fresh.ops.has(poll.id)).toBe(true);
		expect(summarize(fresh.view)).toEqual(summarize(creator.room.view));
	});

	it('is not kept from someone in the audience, nor past MAX_UNKNOWN_PER_AUTHOR from one on stage', async () => {
		const { speaker, listener, all } = await setup();
		expect(await spread(await signRaw(listener, { kind: 'poll', question: 'Mine?' }), all)).toEqual(all.map(() => false));
		for (let i = 0; i < MAX_UNKNOWN_PER_AUTHOR; i++) expect((await spread(await signRaw(speaker, { kind: 'poll', n: i }), all))[0]).toBe(true);
		expect(await spread(await signRaw(speaker, { kind: 'poll', n: 'over' }), all)).toEqual(all.map(() => false));
	});
});
