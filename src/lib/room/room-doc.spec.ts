import fc from 'fast-check';
import * as encoding from 'lib0/encoding';
import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { deriveRoom, roleOf } from './authority';
import { toString } from 'uint8arrays';
import { MAX_EXPOSING_READMITS, MAX_RECORDS_PER_UPDATE, OPS_MAP, RoomDoc, RoomUpdateError } from './room-doc';
import { OP_ID_BYTES, signOp, type OpIntent } from './room-op-codec';
import { forge, makeIdentity, makeRoom, recordsUpdate, sync, syncAll, type TestPeer } from './test-peers';

// The replay, counted: the gate must not run it on authority records it has not verified (see below).
vi.mock('./authority', async (importOriginal) => {
	const actual = await importOriginal<typeof import('./authority')>();
	return { ...actual, deriveRoom: vi.fn(actual.deriveRoom) };
});

/** What a cheater does: edits its own Yjs document directly and ships the update. */
function cheat(peer: TestPeer, edit: (doc: Y.Doc) => void): Uint8Array {
	const before = Y.encodeStateVector(peer.room.doc);
	const shadow = new Y.Doc();
	Y.applyUpdate(shadow, Y.encodeStateAsUpdate(peer.room.doc));
	edit(shadow);
	return Y.encodeStateAsUpdate(shadow, before);
}

describe('RoomDoc gate', () => {
	it('shows nobody as moderator when a peer writes a self-promotion straight into Yjs, and stores nothing', async () => {
		const { creator, peers, roomId } = await makeRoom(['cheater', 'honest']);
		const [cheater, honest] = peers;
		await syncAll([creator, ...peers]);
		const forged = await signOp(
			{ kind: 'makeModerator', target: cheater.id },
			{ roomId, author: cheater.peerId, privateKey: cheater.privateKey, ...cheater.room.placement(), now: 0 }
		);
		const before = Y.encodeStateAsUpdate(honest.room.doc);
		const update = cheat(cheater, (doc) => doc.getMap(OPS_MAP).set(forged.id, forged.bytes));
		await honest.room.applyUpdate(update, 'net'); // well-formed and signed, but refused by the rules: dropped
		expect(roleOf(honest.room.view, cheater.id)).toBe('audience');
		expect(honest.room.ops.has(forged.id)).toBe(false);
		expect(Y.encodeStateAsUpdate(honest.room.doc)).toEqual(before);
	});

	it('rejects records signed with someone else’s key, filed under a wrong id, or for another room', async () => {
		const { creator, peers, roomId } = await makeRoom(['cheater', 'honest']);
		const [cheater, honest] = peers;
		await syncAll([creator, ...peers]);
		const intent: OpIntent = { kind: 'makeModerator', target: cheater.id };
		const at = cheater.room.placement();
		// Claims the creator as author but is signed with the cheater's key.
		const impersonation = await signOp(intent, { roomId, author: creator.peerId, privateKey: cheater.privateKey, ...at, now: 0 });
		const elsewhere = await signOp(intent, { roomId: 'another-room-id-aaaaa', author: cheater.peerId, privateKey: cheater.privateKey, ...at, now: 0 });
		const genuine = await signOp(intent, { roomId, author: cheater.peerId, privateKey: cheater.privateKey, ...at, now: 0 });
		const before = Y.encodeStateAsUpdate(honest.room.doc);
		// Filed under another key: the key is not read (records are filed by their hash), and the rules refuse it.
		await honest.room.applyUpdate(cheat(cheater, (doc) => doc.getMap(OPS_MAP).set('AAAAAAAAAAAAAAAAAAAAAA', genuine.bytes)), 'net');
		for (const edit of [
			(doc: Y.Doc) => doc.getMap(OPS_MAP).set(impersonation.id, impersonation.bytes),
			(doc: Y.Doc) => doc.getMap(OPS_MAP).set(elsewhere.id, elsewhere.bytes),
			(doc: Y.Doc) => doc.getMap(OPS_MAP).set(genuine.id, new Uint8Array([1, 2, 3])),
			(doc: Y.Doc) => doc.getMap('other').set('x', 1),
			(doc: Y.Doc) => doc.getMap(OPS_MAP).set('k', 'not bytes' as unknown as Uint8Array)
		]) {
			await expect(honest.room.applyUpdate(cheat(cheater, edit), 'net')).rejects.toThrow(RoomUpdateError);
		}
		expect(Y.encodeStateAsUpdate(honest.room.doc)).toEqual(before);
		expect(roleOf(honest.room.view, creator.id)).toBe('creator');
	});

	it('rejects erasing or rewriting an existing record', async () => {
		const { creator, peers } = await makeRoom(['cheater', 'honest']);
		const [cheater, honest] = peers;
		await syncAll([creator, ...peers]);
		const [genesisId] = [...creator.room.ops.keys()];
		await expect(honest.room.applyUpdate(cheat(cheater, (doc) => doc.getMap(OPS_MAP).delete(genesisId)), 'net')).rejects.toThrow(/deletes/);
		await expect(
			honest.room.applyUpdate(cheat(cheater, (doc) => doc.getMap(OPS_MAP).set(genesisId, new Uint8Array([9]))), 'net')
		).rejects.toThrow(RoomUpdateError); // it deletes the old value, and the new one is no record
		expect(honest.room.view.title).toBe('Test room');
	});

	it('rejects a genesis by anyone but the creator bound into the room id', async () => {
		const { peers, roomId, key } = await makeRoom(['usurper']);
		const [usurper] = peers;
		await expect(usurper.room.addOp({ kind: 'genesis', title: 'Mine', description: '', visibility: 'public' }, usurper)).rejects.toThrow(
			/creator/
		);
		const forged = await signOp(
			{ kind: 'genesis', title: 'Mine', description: '', visibility: 'public' },
			{ roomId, author: usurper.peerId, privateKey: usurper.privateKey, lamport: 1, parents: [], now: 0 }
		);
		const victim = new RoomDoc(roomId, key); // a joiner that has nothing yet
		await expect(victim.applyUpdate(cheat(usurper, (doc) => doc.getMap(OPS_MAP).set(forged.id, forged.bytes)), 'net')).rejects.toThrow(
			/genesis/
		);
	});

	it.each([
		['random bytes', new Uint8Array([1, 2, 3, 4, 5])],
		['empty', new Uint8Array()],
		['a truncated real update', null]
	])('rejects %s without changing anything', async (_label, bytes) => {
		const { creator, peers } = await makeRoom(['honest']);
		const input = bytes ?? Y.encodeStateAsUpdate(creator.room.doc).slice(0, 20);
		const before = Y.encodeStateAsUpdate(peers[0].room.doc);
		await expect(peers[0].room.applyUpdate(input, 'net')).rejects.toThrow();
		expect(Y.encodeStateAsUpdate(peers[0].room.doc)).toEqual(before);
	});

	it('stops reading an update past the most records one can carry, at a deletion or at values, before Yjs has built the rest', async () => {
		const { creator, peers } = await makeRoom(['honest']);
		await sync(creator, peers[0]);
		const before = Y.encodeStateAsUpdate(peers[0].room.doc);
		// Yjs V1 updates by hand: 2-byte structs (a GC of length 0) in one client block, or empty client
		// blocks, one past the cap, then cut off. Read whole, an 8 MiB one made Yjs build 4 million objects;
		// one that is read to its end is "not a Yjs update" (cut off), one stopped at the cap is "too many".
		const structs = encoding.createEncoder();
		encoding.writeVarUint(structs, 1);
		encoding.writeVarUint(structs, 4_000_000);
		encoding.writeVarUint(structs, 7); // client
		encoding.writeVarUint(structs, 0); // clock
		for (let i = 0; i <= MAX_RECORDS_PER_UPDATE; i++) {
			encoding.writeUint8(structs, 0); // GC
			encoding.writeVarUint(structs, 0);
		}
		const blocks = encoding.createEncoder();
		encoding.writeVarUint(blocks, 4_000_000);
		for (let i = 0; i <= MAX_RECORDS_PER_UPDATE; i++) {
			encoding.writeVarUint(blocks, 0); // structs in the block
			encoding.writeVarUint(blocks, i); // client
			encoding.writeVarUint(blocks, 0); // clock
		}
		for (const update of [encoding.toUint8Array(structs), encoding.toUint8Array(blocks)]) {
			await expect(peers[0].room.applyUpdate(update, 'net')).rejects.toThrow(new RoomUpdateError('update carries too many records'));
		}
		// No structs, then a delete set of millions of ranges: stopped at the first.
		const deletes = encoding.createEncoder();
		encoding.writeVarUint(deletes, 0); // no client blocks
		encoding.writeVarUint(deletes, 1); // one client in the delete set
		encoding.writeVarUint(deletes, 7);
		encoding.writeVarUint(deletes, 4_000_000);
		for (let i = 0; i <= MAX_RECORDS_PER_UPDATE; i++) {
			encoding.writeVarUint(deletes, 2 * i); // clock
			encoding.writeVarUint(deletes, 1); // length
		}
		await expect(peers[0].room.applyUpdate(encoding.toUint8Array(deletes), 'net')).rejects.toThrow(new RoomUpdateError('update deletes'));
		// One struct whose content is millions of values (ContentAny of `undefined`s): stopped at the first.
		const values = encoding.createEncoder();
		encoding.writeVarUint(values, 1);
		encoding.writeVarUint(values, 1); // one struct
		encoding.writeVarUint(values, 7);
		encoding.writeVarUint(values, 0);
		encoding.writeUint8(values, 8); // an item of ContentAny, no origins, no parent key
		encoding.writeVarUint(values, 1); // its parent is a root type, named:
		encoding.writeVarString(values, OPS_MAP);
		encoding.writeVarUint(values, 4_000_000);
		for (let i = 0; i <= MAX_RECORDS_PER_UPDATE; i++) encoding.writeUint8(values, 127); // lib0's `undefined`
		await expect(peers[0].room.applyUpdate(encoding.toUint8Array(values), 'net')).rejects.toThrow(
			new RoomUpdateError('update carries something that is not a record')
		);
		expect(Y.encodeStateAsUpdate(peers[0].room.doc)).toEqual(before);
	});

	it('fuzzed updates never throw anything but RoomUpdateError and never change the room', async () => {
		const { creator, peers } = await makeRoom(['honest']);
		await sync(creator, peers[0]);
		const real = Y.encodeStateAsUpdate(creator.room.doc);
		await fc.assert(
			fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 }), async (noise, at, value) => {
				const mutated = real.slice();
				mutated[at] = value;
				for (const input of [noise, mutated]) {
					const before = JSON.stringify([...peers[0].room.ops.keys()]);
					try {
						await peers[0].room.applyUpdate(input, 'net');
					} catch (err) {
						expect(err).toBeInstanceOf(RoomUpdateError);
					}
					expect(JSON.stringify([...peers[0].room.ops.keys()])).toBe(before);
				}
			}),
			{ numRuns: 200 }
		);
	});

	it('lists the ids of the records it holds, whatever Yjs ids they sit under', async () => {
		const { creator, peers, key, roomId } = await makeRoom(['one']);
		await creator.room.addOp({ kind: 'makeModerator', target: peers[0].id }, creator);
		const apart = new RoomDoc(roomId, key, { clientIdFor: () => 7 });
		await apart.applyUpdate(Y.encodeStateAsUpdate(creator.room.doc), 'test');
		const listed = (doc: RoomDoc) => {
			const all = doc.recordIds();
			return Array.from({ length: all.length / OP_ID_BYTES }, (_, i) => toString(all.subarray(i * OP_ID_BYTES, (i + 1) * OP_ID_BYTES), 'base64url')).sort();
		};
		expect(listed(creator.room)).toEqual([...creator.room.ops.keys()].sort());
		expect(listed(apart)).toEqual(listed(creator.room));
		expect(Y.encodeStateVector(apart.doc)).not.toEqual(Y.encodeStateVector(creator.room.doc));
		// The list is kept between writes, and made again after one: a record written here, and one received.
		await creator.room.addOp({ kind: 'revokeModerator', target: peers[0].id }, creator);
		expect(listed(creator.room)).toEqual([...creator.room.ops.keys()].sort());
		expect(listed(apart)).toHaveLength(creator.room.ops.size - 1);
		await apart.applyUpdate(Y.encodeStateAsUpdate(creator.room.doc), 'test');
		expect(listed(apart)).toEqual(listed(creator.room));
	});
});

const KINDS = ['invite', 'accept', 'decline', 'moveToAudience', 'mute', 'unmute', 'remove', 'readmit', 'ban', 'makeModerator', 'revokeModerator', 'meta'] as const;

describe('placement', () => {
	it('puts an op on top of the highest heads, and of the records asked for first: a record no head names', async () => {
		const { creator } = await makeRoom(['listener']);
		const first = await creator.room.addOp({ kind: 'meta', title: 'One' }, creator);
		// Concurrent records: more heads than an op names (MAX_PARENTS), all above `first`.
		const heads = [];
		for (let i = 0; i < 34; i++) {
			const op = await signOp({ kind: 'meta', title: `T${i}` }, { roomId: creator.room.roomId, author: creator.peerId, privateKey: creator.privateKey, lamport: first.body.lamport + 1, parents: [first.id], now: i });
			heads.push(op);
		}
		const doc = new Y.Doc();
		Y.applyUpdate(doc, Y.encodeStateAsUpdate(creator.room.doc));
		for (const op of heads) doc.getMap(OPS_MAP).set(op.id, op.bytes);
		await creator.room.applyUpdate(Y.encodeStateAsUpdate(doc), 'net');
		const lowest = heads.map((op) => op.id).sort()[0];
		const plain = creator.room.placement();
		expect(plain.parents).toHaveLength(32);
		const asked = creator.room.placement([lowest, first.id]);
		expect(asked.parents).toHaveLength(32);
		expect(asked.parents).toEqual(expect.arrayContaining([lowest, first.id]));
		expect(asked.lamport).toBe(first.body.lamport + 2);
		// Ids not stored are left out.
		expect(creator.room.placement(['x'.repeat(43)]).parents).toEqual(plain.parents);
		// However many are asked for, the highest head comes too: the op sorts after everything held.
		const top = await creator.room.addOp({ kind: 'meta', title: 'Top' }, creator);
		const many = creator.room.placement([...heads.map((op) => op.id), first.id]);
		expect(many.parents).toHaveLength(32);
		expect(many.parents[0]).toBe(top.id);
		expect(many.lamport).toBe(top.body.lamport + 1);
		// One asked for many times (exposures that share an op) takes one place: the 31 after the highest head all differ.
		const repeated = creator.room.placement([...heads.slice(0, 20).flatMap((op) => [op.id, op.id]), ...heads.slice(20).map((op) => op.id)]);
		expect(repeated.parents.slice(1)).toEqual(heads.slice(0, 31).map((op) => op.id));
	});
});

describe('convergence (property)', () => {
	it('any interleaving and delivery order of valid and forged ops converges, and forged ones change nothing', async () => {
		const { creator, peers, roomId, key } = await makeRoom(['a', 'b', 'c']);
		const all = [creator, ...peers];
		const outsider = await makeIdentity();
		await syncAll(all);
		const base = Y.encodeStateAsUpdate(creator.room.doc);

		await fc.assert(
			fc.asyncProperty(
				fc.array(
					fc.record({ actor: fc.nat(3), kind: fc.constantFrom(...KINDS), target: fc.nat(3), forged: fc.boolean(), invitee: fc.nat(3) }),
					{ minLength: 1, maxLength: 14 }
				),
				fc.array(fc.nat(3 * 14), { minLength: 20, maxLength: 60 }),
				async (script, deliveries) => {
					// Fresh replicas of the set-up room for each run.
					const replicas = await Promise.all(
						all.map(async (p) => {
							const room = new RoomDoc(roomId, key);
							await room.applyUpdate(base, 'base');
							return { ...p, room };
						})
					);
					const updates: { from: number; update: Uint8Array }[] = [];
					for (const step of script) {
						const actor = replicas[step.actor];
						const target = replicas[step.target].id;
						const intent = makeIntent(step.kind, target, replicas[step.invitee].room.view.invitations.get(actor.id)?.id);
						if (step.forged) {
							// Signed by an outsider while claiming the actor: rejected (or, when the rules refuse it anyway, dropped) by everyone.
							const op = await signOp(intent, { roomId, author: actor.peerId, privateKey: outsider.privateKey, ...actor.room.placement(), now: 0 });
							const forgedUpdate = cheat(actor, (doc) => doc.getMap(OPS_MAP).set(op.id, op.bytes));
							for (const r of replicas) {
								await r.room.applyUpdate(forgedUpdate, 'net').catch((err) => expect(err).toBeInstanceOf(RoomUpdateError));
								expect(r.room.ops.has(op.id)).toBe(false);
							}
						} else {
							const sv = Y.encodeStateVector(actor.room.doc);
							try {
								await actor.room.addOp(intent, actor);
							} catch {
								continue; // malformed intent (e.g. empty title): never leaves the peer
							}
							updates.push({ from: step.actor, update: Y.encodeStateAsUpdate(actor.room.doc, sv) });
						}
					}
					// Deliver the updates to random peers in random order, then everything everywhere.
					for (const d of deliveries) {
						const u = updates[d % Math.max(1, updates.length)];
						if (u) await replicas[d % replicas.length].room.applyUpdate(u.update, 'net');
					}
					// Two rounds: a record one peer refused may take effect once others arrive, and is offered again.
					for (let round = 0; round < 2; round++) {
						for (const a of replicas) for (const b of replicas) await b.room.applyUpdate(Y.encodeStateAsUpdate(a.room.doc), 'net');
					}
					const views = replicas.map((r) => JSON.stringify(viewSummary(r.room.view)));
					expect(new Set(views).size).toBe(1);
					// The creator stays the creator whatever happened.
					expect(roleOf(replicas[0].room.view, creator.id)).toBe('creator');
				}
			),
			{ numRuns: 40 }
		);
	}, 120_000);
});

function makeIntent(kind: (typeof KINDS)[number], target: string, invitation: string | undefined): OpIntent {
	if (kind === 'meta') return { kind, title: `t-${target.slice(-4)}` };
	if (kind === 'accept' || kind === 'decline') return { kind, invitation: invitation ?? 'AAAAAAAAAAAAAAAAAAAAAA' };
	return { kind, target };
}

function viewSummary(v: TestPeer['room']['view']) {
	return {
		title: v.title,
		stage: [...v.stage].sort(),
		mods: [...v.moderators].sort(),
		invites: [...v.invitations].map(([k, i]) => `${k}:${i.id}`).sort(),
		muted: [...v.modMuted].sort(),
		removed: [...v.removed].sort(),
		banned: [...v.banned].sort()
	};
}

describe('offline edits', () => {
	it('verifies promotions and revocations by those who may hold authority before it replays the room, and every record once', async () => {
		const { creator, peers } = await makeRoom(['mod', 'attacker', 'joiner']);
		const [mod, attacker, joiner] = peers;
		await syncAll([creator, mod, attacker]);
		await creator.room.addOp({ kind: 'makeModerator', target: mod.id }, creator);
		await sync(creator, mod);
		await mod.room.addOp({ kind: 'ban', target: attacker.id, epoch: 'A'.repeat(43) }, mod);
		await sync(mod, creator);
		// A joiner takes the whole room in one update: each record verified once, the promotion and the ban first.
		await joiner.room.applyUpdate(Y.encodeStateAsUpdate(creator.room.doc), 'net');
		expect(joiner.room.ops.size).toBe(creator.room.ops.size);
		expect(joiner.room.signatureChecks).toBe(creator.room.ops.size);
		// The attacker sends a chain of 200 removals "by the creator" it signed with its own key, behind one it made
		// a moderator "by the creator": every one would take effect in a replay of records not yet verified, each
		// costing it a walk of the room. The first forged signature rejects the update, before any replay.
		const chain = [await forge(attacker, { kind: 'makeModerator', target: attacker.id }, { author: creator.peerId })];
		for (let i = 0; i < 200; i++) {
			const target = (await makeIdentity()).peerId;
			const last = chain.at(-1)!;
			chain.push(await forge(attacker, { kind: 'remove', target: target.toString() }, { author: creator.peerId, parents: [last.id], lamport: last.body.lamport + 1 }));
		}
		const replays = vi.mocked(deriveRoom).mock.calls.length;
		const checks = joiner.room.signatureChecks;
		await expect(joiner.room.applyUpdate(recordsUpdate(chain.reverse()), 'net')).rejects.toThrow(RoomUpdateError);
		expect(vi.mocked(deriveRoom).mock.calls.length).toBe(replays);
		expect(joiner.room.signatureChecks).toBe(checks + 1);
		expect(joiner.room.ops.size).toBe(creator.room.ops.size);
	});

	it('verifies before the replay the revocations of a moderator whose promotion waits for its parents', async () => {
		const { creator, peers } = await makeRoom(['mod', 'attacker', 'late']);
		const [mod, attacker, late] = peers;
		await creator.room.addOp({ kind: 'meta', title: 'Before' }, creator);
		const promotion = await creator.room.addOp({ kind: 'makeModerator', target: mod.id }, creator);
		// The attacker hands the newcomer the creator's real promotion alone: its parent unknown there, it waits.
		await late.room.applyUpdate(recordsUpdate([promotion]), 'net');
		expect(late.room.ops.size).toBe(0);
		// Then the rest of the room, with 100 removals "by the moderator" it signed with its own key.
		await sync(creator, attacker);
		const chain = [];
		let last = promotion;
		for (let i = 0; i < 100; i++) {
			const target = (await makeIdentity()).peerId.toString();
			last = await forge(attacker, { kind: 'remove', target }, { author: mod.peerId, parents: [last.id], lamport: last.body.lamport + 1 });
			chain.push(last);
		}
		const rest = [...creator.room.ops.values()].filter((op) => op.id !== promotion.id);
		const replays = vi.mocked(deriveRoom).mock.calls.length;
		await expect(late.room.applyUpdate(recordsUpdate([...rest, ...chain]), 'net')).rejects.toThrow(RoomUpdateError);
		expect(vi.mocked(deriveRoom).mock.calls.length).toBe(replays);
		expect(late.room.ops.size).toBe(0);
	});

	it('keeps a void readmission that leaves the current key with its member, one at a time, and none once an epoch follows the demotion', async () => {
		const { creator, peers, roomId } = await makeRoom(['mod', 'listener']);
		const [mod, listener] = peers;
		const all = [creator, ...peers];
		await syncAll(all);
		await creator.room.addOp({ kind: 'makeModerator', target: mod.id }, creator);
		await creator.room.addOp({ kind: 'remove', target: listener.id, epoch: 'A'.repeat(43) }, creator);
		await syncAll(all);
		// The moderator readmits the listener while the creator demotes it; the creator hears of the readmission
		// after its own demotion, so the readmission is refused there, and still kept.
		const readmitAt = mod.room.placement();
		const readmit = await mod.room.addOp({ kind: 'readmit', target: listener.id }, mod, 1);
		const demotion = await creator.room.addOp({ kind: 'revokeModerator', target: mod.id }, creator);
		// With it comes one that is not well placed (a lamport far ahead): not one the replay finds void, so not
		// kept; kept, it would be a head, and nothing the creator signs on top of it would be well placed.
		const far = await signOp({ kind: 'readmit', target: listener.id }, { roomId, author: mod.peerId, privateKey: mod.privateKey, parents: [readmit.id], lamport: 2 ** 40, now: 4 });
		await creator.room.applyUpdate(recordsUpdate([far, readmit]), 'net');
		expect(creator.room.ops.has(far.id)).toBe(false);
		expect(creator.room.view.refused.has(readmit.id)).toBe(true);
		expect(creator.room.ops.has(readmit.id)).toBe(true);
		expect(creator.room.view.keyExposedTo.get(listener.id)).toContain(demotion.id);
		// Another, signed as if at the same time: the listener is exposed already, so it is not kept.
		const again = await signOp({ kind: 'readmit', target: listener.id }, { roomId, author: mod.peerId, privateKey: mod.privateKey, ...readmitAt, now: 2 });
		await creator.room.applyUpdate(recordsUpdate([again]), 'net');
		expect(creator.room.ops.has(again.id)).toBe(false);
		// A rekey on top of the demotion ends it, and a readmission back-dated after that exposes nobody.
		await creator.room.addOp({ kind: 'rekey', epoch: 'B'.repeat(43) }, creator, Date.now(), creator.room.view.keyExposedTo.get(listener.id));
		expect(creator.room.view.keyExposedTo.size).toBe(0);
		const late = await signOp({ kind: 'readmit', target: listener.id }, { roomId, author: mod.peerId, privateKey: mod.privateKey, ...readmitAt, now: 3 });
		await creator.room.applyUpdate(recordsUpdate([late]), 'net');
		expect(creator.room.ops.has(late.id)).toBe(false);
		expect(creator.room.view.keyExposedTo.size).toBe(0);
	});

	it('keeps a void readmission made on top of its author\'s other void acts, with them, and again on a reload', async () => {
		const { creator, peers, roomId, key } = await makeRoom(['mod', 'speaker', 'listener']);
		const [mod, speaker, listener] = peers;
		const all = [creator, ...peers];
		await syncAll(all);
		await creator.room.addOp({ kind: 'makeModerator', target: mod.id }, creator);
		const invitation = await creator.room.addOp({ kind: 'invite', target: speaker.id }, creator);
		await sync(creator, speaker);
		await speaker.room.addOp({ kind: 'accept', invitation: invitation.id }, speaker);
		await sync(speaker, creator);
		await creator.room.addOp({ kind: 'remove', target: listener.id, epoch: 'A'.repeat(43) }, creator);
		await syncAll(all);
		// The moderator mutes the speaker, then readmits the listener on top of it, while the creator demotes it:
		// both are void where the demotion is held, and the mute is the readmission's parent.
		const mute = await mod.room.addOp({ kind: 'mute', target: speaker.id }, mod);
		const readmit = await mod.room.addOp({ kind: 'readmit', target: listener.id }, mod);
		expect(readmit.body.parents).toContain(mute.id);
		const demotion = await creator.room.addOp({ kind: 'revokeModerator', target: mod.id }, creator);
		await creator.room.applyUpdate(recordsUpdate([mute, readmit]), 'net');
		expect(creator.room.ops.has(readmit.id) && creator.room.ops.has(mute.id)).toBe(true);
		expect(creator.room.view.modMuted.has(speaker.id)).toBe(false);
		expect(creator.room.view.keyExposedTo.get(listener.id)).toContain(demotion.id);
		// Reloaded from what it stored (one update, nothing held yet): the same.
		const reloaded = new RoomDoc(roomId, key);
		await reloaded.applyUpdate(Y.encodeStateAsUpdate(creator.room.doc), 'storage');
		expect(reloaded.ops.has(readmit.id)).toBe(true);
		expect(reloaded.view.keyExposedTo.get(listener.id)).toEqual(creator.room.view.keyExposedTo.get(listener.id));
	});

	it('keeps one void readmission per member of many in one update, and at most MAX_EXPOSING_READMITS', async () => {
		const names = Array.from({ length: MAX_EXPOSING_READMITS + 2 }, (_, i) => `out${i}`);
		const { creator, peers, roomId } = await makeRoom(['mod', ...names]);
		const [mod, ...out] = peers;
		const all = [creator, ...peers];
		await syncAll(all);
		await creator.room.addOp({ kind: 'makeModerator', target: mod.id }, creator);
		for (const p of out) await creator.room.addOp({ kind: 'remove', target: p.id }, creator);
		await creator.room.addOp({ kind: 'rekey', epoch: 'A'.repeat(43) }, creator);
		await sync(creator, mod);
		expect(mod.room.view.keyExposedTo.size).toBe(0);
		// The moderator, demoted meanwhile, sends three readmissions of each member put out in one update.
		const at = mod.room.placement();
		const readmits = [];
		for (const p of out) {
			for (let n = 0; n < 3; n++) readmits.push(await signOp({ kind: 'readmit', target: p.id }, { roomId, author: mod.peerId, privateKey: mod.privateKey, ...at, now: n }));
		}
		await creator.room.addOp({ kind: 'revokeModerator', target: mod.id }, creator);
		await creator.room.applyUpdate(recordsUpdate(readmits), 'net');
		const kept = readmits.filter((op) => creator.room.ops.has(op.id));
		expect(kept).toHaveLength(MAX_EXPOSING_READMITS);
		expect(new Set(kept.map((op) => (op.body as { target: string }).target)).size).toBe(MAX_EXPOSING_READMITS);
		expect(creator.room.view.keyExposedTo.size).toBe(MAX_EXPOSING_READMITS);
		// One rekey on top of the demotion ends every exposure; then there is room again, and none is kept.
		const after = [...new Set([...creator.room.view.keyExposedTo.values()].flat())];
		await creator.room.addOp({ kind: 'rekey', epoch: 'B'.repeat(43) }, creator, Date.now(), after);
		expect(creator.room.view.keyExposedTo.size).toBe(0);
		await creator.room.applyUpdate(recordsUpdate(readmits), 'net');
		expect(readmits.filter((op) => creator.room.ops.has(op.id))).toHaveLength(MAX_EXPOSING_READMITS);
	});

	it('merge on reconnect: a title edited on a plane and an invitation made meanwhile both land', async () => {
		const { creator, peers } = await makeRoom(['mod', 'guest']);
		const [mod, guest] = peers;
		await creator.room.addOp({ kind: 'makeModerator', target: mod.id }, creator);
		await syncAll([creator, mod, guest]);
		// Apart: the creator renames the room offline while the moderator invites the guest.
		await creator.room.addOp({ kind: 'meta', title: 'Written at 10,000 m', description: 'offline' }, creator);
		await mod.room.addOp({ kind: 'invite', target: guest.id }, mod);
		await syncAll([creator, mod, guest]);
		for (const p of [creator, mod, guest]) {
			expect(p.room.view.title).toBe('Written at 10,000 m');
			expect(p.room.view.description).toBe('offline');
			expect(p.room.view.invitations.has(guest.id)).toBe(true);
		}
	});
});
