/**
 * In-memory room peers for unit tests: real keys, real signatures, real Yjs
 * documents, wired by hand instead of by a network.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import fc from 'fast-check';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { expect } from 'vitest';
import * as Y from 'yjs';
import type { RoomView } from './authority';
import { clientIdFor, CREATOR_RESERVE_BYTES, MAX_ROOM_BYTES, MEMBERS_SHARE_BYTES, OPS_MAP, RoomDoc, RoomUpdateError } from './room-doc';
import { newRoomKey, roomIdFor } from './room-link';
import { MAX_OP_BYTES, opId, signOp, type OpIntent, type SignedOp } from './room-op-codec';
import { MAX_SYNC_FRAME_BYTES } from './room-sync-protocol';

export interface TestPeer {
	name: string;
	id: string;
	peerId: PeerId;
	privateKey: PrivateKey;
	room: RoomDoc;
}

export async function makeIdentity(): Promise<{ peerId: PeerId; privateKey: PrivateKey }> {
	const privateKey = await generateKeyPair('Ed25519');
	return { privateKey, peerId: peerIdFromPrivateKey(privateKey) };
}

/** A creator and `others` peers sharing one room (each with its own empty document). */
export async function makeRoom(others: string[]): Promise<{ creator: TestPeer; peers: TestPeer[]; key: Uint8Array; roomId: string }> {
	const key = newRoomKey();
	const creatorId = await makeIdentity();
	const roomId = await roomIdFor(key, creatorId.peerId.publicKey!.raw);
	const make = (name: string, id: { peerId: PeerId; privateKey: PrivateKey }): TestPeer => ({
		name,
		id: id.peerId.toString(),
		...id,
		room: new RoomDoc(roomId, key)
	});
	const creator = make('creator', creatorId);
	const peers: TestPeer[] = [];
	for (const name of others) peers.push(make(name, await makeIdentity()));
	await creator.room.addOp({ kind: 'genesis', title: 'Test room', description: '', visibility: 'public' }, creator);
	return { creator, peers, key, roomId };
}

/** Full state from `from` into `to`, the way a sync would send it. */
export async function sync(from: TestPeer, to: TestPeer): Promise<void> {
	await to.room.applyUpdate(Y.encodeStateAsUpdate(from.room.doc, Y.encodeStateVector(to.room.doc)), 'test');
}

export async function syncAll(peers: TestPeer[]): Promise<void> {
	for (const a of peers) for (const b of peers) if (a !== b) await sync(a, b);
}

// —— Hostile peers ——————————————————————————————————————————————————————————
// A byzantine member holds the room link and runs its own code: it signs
// whatever it likes with its own key and hand-builds Yjs updates. The helpers
// below build what it sends; `checkHonest` states what must hold afterwards.

/** Signs `intent` as `as` with any placement and key the attacker chooses. */
export async function forge(
	as: TestPeer,
	intent: OpIntent,
	over: Partial<{ lamport: number; parents: string[]; privateKey: PrivateKey; author: PeerId; roomId: string; now: number }> = {}
): Promise<SignedOp> {
	return signOp(intent, {
		roomId: over.roomId ?? as.room.roomId,
		author: over.author ?? as.peerId,
		privateKey: over.privateKey ?? as.privateKey,
		...as.room.placement(),
		...(over.lamport !== undefined ? { lamport: over.lamport } : {}),
		...(over.parents !== undefined ? { parents: over.parents } : {}),
		now: over.now ?? 0
	});
}

/**
 * A record of any body at all, framed and signed as signOp would (a later version's kind, or one no
 * version has): `fields` are added to a well-placed header by `as`.
 */
export async function signRaw(as: TestPeer, fields: Record<string, unknown>, over: Partial<{ lamport: number; parents: string[] }> = {}): Promise<Pick<SignedOp, 'id' | 'bytes'>> {
	const body = { v: 2, room: as.room.roomId, author: as.id, ...as.room.placement(), ...over, ts: 0, ...fields };
	body.parents = [...(body.parents as string[])].sort();
	const payload = new TextEncoder().encode(JSON.stringify(body));
	const signature = await as.privateKey.sign(payload);
	const bytes = new Uint8Array([...varint(payload.length), ...payload, ...signature]);
	return { id: await opId(bytes), bytes };
}

/**
 * A Yjs update a modified client could send: each entry is written into the
 * `ops` map under `key` by its own Yjs client id (`client`, default random),
 * and the results merged into one update. Two entries with one key give one
 * update holding two values under that key.
 */
export function rawUpdate(entries: { key: string; value: unknown; client?: number }[]): Uint8Array {
	return Y.mergeUpdates(
		entries.map(({ key, value, client }) => {
			const doc = new Y.Doc();
			if (client !== undefined) doc.clientID = client;
			doc.getMap(OPS_MAP).set(key, value);
			return Y.encodeStateAsUpdate(doc);
		})
	);
}

/** Records as the update an honest peer would send them in. */
export function recordsUpdate(ops: Pick<SignedOp, 'id' | 'bytes'>[]): Uint8Array {
	return rawUpdate(ops.map((op) => ({ key: op.id, value: op.bytes, client: clientIdFor(op.id) })));
}

/** Delivers `update` and swallows the refusal (a hostile update is expected to be refused). */
export async function deliver(to: TestPeer, update: Uint8Array): Promise<'taken' | 'refused'> {
	try {
		await to.room.applyUpdate(update, 'net');
		return 'taken';
	} catch (err) {
		if (!(err instanceof RoomUpdateError)) throw err;
		return 'refused';
	}
}

export interface HostileWorld {
	roomId: string;
	key: Uint8Array;
	creator: TestPeer;
	mod: TestPeer;
	speaker: TestPeer;
	listener: TestPeer;
	/** The byzantine member: in the room (audience), running its own code. */
	attacker: TestPeer;
	/** Honest peers, all in sync with each other. */
	honest: TestPeer[];
}

/** A room with a creator, a moderator, a speaker, a listener and an attacker, all in sync. */
export async function hostileWorld(): Promise<HostileWorld> {
	const { creator, peers, key, roomId } = await makeRoom(['mod', 'speaker', 'listener', 'attacker']);
	const [mod, speaker, listener, attacker] = peers;
	const all = [creator, ...peers];
	await syncAll(all);
	await creator.room.addOp({ kind: 'makeModerator', target: mod.id }, creator);
	await syncAll(all);
	await mod.room.addOp({ kind: 'invite', target: speaker.id }, mod);
	await syncAll(all);
	await speaker.room.addOp({ kind: 'accept', invitation: speaker.room.view.invitations.get(speaker.id)!.id }, speaker);
	await syncAll(all);
	return { roomId, key, creator, mod, speaker, listener, attacker, honest: [creator, mod, speaker, listener] };
}

/** Lets honest peers act and spread it to every honest peer (the attacker gets it too: it is in the room). */
export async function honestAct(w: HostileWorld, who: TestPeer, intent: OpIntent): Promise<SignedOp> {
	const op = await who.room.addOp(intent, who);
	for (const p of [...w.honest, w.attacker]) if (p !== who) await p.room.applyUpdate(recordsUpdate([op]), 'net');
	return op;
}

export interface ViewSummary {
	exists: boolean;
	creator: string | null;
	title: string;
	description: string;
	visibility: string;
	stage: string[];
	moderators: string[];
	invitations: string[];
	modMuted: string[];
	removed: string[];
	banned: string[];
	ended: boolean;
	keyEpochs: string[];
	names: string[];
	maxLamport: number;
}

export function summarize(view: RoomView): ViewSummary {
	return {
		exists: view.exists,
		creator: view.creator,
		title: view.title,
		description: view.description,
		visibility: view.visibility,
		stage: [...view.stage].sort(),
		moderators: [...view.moderators].sort(),
		invitations: [...view.invitations].map(([k, i]) => `${k}:${i.id}`).sort(),
		modMuted: [...view.modMuted].sort(),
		removed: [...view.removed].sort(),
		banned: [...view.banned].sort(),
		ended: view.ended,
		keyEpochs: [...view.keyEpochs],
		names: [...view.names].map(([k, n]) => `${k}:${n}:${view.avatars.get(k)?.e ?? ''}${view.avatars.get(k)?.c ?? ''}`).sort(),
		maxLamport: view.maxLamport
	};
}

/**
 * What must hold after any attack, once honest peers have synced (twice
 * round, as anti-entropy would): every honest peer shows the same room; each
 * reloads from its own stored bytes to the same room and every record in effect; a
 * new joiner syncing from any of them gets it without an error; honest peers
 * sync each other without an error; stored bytes stay within MAX_ROOM_BYTES
 * (plus the creator's reserve)
 * and a whole room fits in one sync frame. Throws (vitest expect) otherwise.
 */
export async function checkHonest(w: HostileWorld): Promise<ViewSummary> {
	for (let round = 0; round < 2; round++) {
		for (const a of w.honest) for (const b of w.honest) if (a !== b) await b.room.applyUpdate(Y.encodeStateAsUpdate(a.room.doc, Y.encodeStateVector(b.room.doc)), 'sync');
	}
	const expected = summarize(w.honest[0].room.view);
	for (const p of w.honest) {
		expect(summarize(p.room.view), `${p.name} shows the same room`).toEqual(expected);
		const stored = Y.encodeStateAsUpdate(p.room.doc);
		expect(stored.length).toBeLessThan(MAX_SYNC_FRAME_BYTES);
		expect(p.room.storedBytes).toBeLessThanOrEqual(MAX_ROOM_BYTES + CREATOR_RESERVE_BYTES);
		const reloaded = new RoomDoc(w.roomId, w.key);
		await reloaded.applyUpdate(stored, 'storage');
		expect(summarize(reloaded.view), `${p.name} reloads to the same room`).toEqual(expected);
		// Every record in effect comes back (a stored record voided since may not: it changes nothing, and is offered again by sync).
		for (const id of p.room.ops.keys()) if (!p.room.view.refused.has(id)) expect(reloaded.ops.has(id), `${p.name} keeps ${id} on reload`).toBe(true);
		const joiner = new RoomDoc(w.roomId, w.key);
		await joiner.applyUpdate(Y.encodeStateAsUpdate(p.room.doc, Y.encodeStateVector(joiner.doc)), 'sync');
		expect(summarize(joiner.view), `a joiner syncing from ${p.name} sees the same room`).toEqual(expected);
	}
	expect(expected.creator).toBe(w.creator.id);
	return expected;
}

export interface Attack {
	name: string;
	/** Mounts the attack on a fresh world and asserts what must hold (throws when it broke something). */
	run(w: HostileWorld): Promise<void>;
}

const MB = 1024 * 1024;
const junk = (n: number, seed = 7) => {
	const bytes = new Uint8Array(n).fill(seed & 0xff);
	for (let i = 0; i < n; i += 97) bytes[i] = (i * 31 + seed) & 0xff;
	return bytes;
};

/** Every attack class of issue #7 and the ones that held before, each on its own. */
export const HOSTILE_ATTACKS: Attack[] = [
	{
		name: 'two values under one record key (two Yjs client ids): an honest record and the attacker’s',
		async run(w) {
			const honest = await w.creator.room.addOp({ kind: 'meta', title: 'Honest title' }, w.creator);
			const own = await forge(w.attacker, { kind: 'makeModerator', target: w.attacker.id });
			const update = rawUpdate([
				{ key: honest.id, value: honest.bytes, client: 1 },
				{ key: honest.id, value: own.bytes, client: 2 }
			]);
			for (const p of w.honest) if (p !== w.creator) await deliver(p, update);
			const view = await checkHonest(w);
			expect(view.title).toBe('Honest title');
			expect(view.moderators).not.toContain(w.attacker.id);
			for (const p of w.honest) expect(p.room.ops.has(own.id)).toBe(false);
		}
	},
	{
		name: 'two values under one record key: a record and junk bytes',
		async run(w) {
			const honest = await w.creator.room.addOp({ kind: 'meta', title: 'Honest title' }, w.creator);
			const update = rawUpdate([
				{ key: honest.id, value: honest.bytes, client: 1 },
				{ key: honest.id, value: junk(5000), client: 2 }
			]);
			for (const p of w.honest) if (p !== w.creator) expect(await deliver(p, update)).toBe('refused');
			expect((await checkHonest(w)).title).toBe('Honest title');
		}
	},
	{
		name: 'ten poison updates of a megabyte each',
		async run(w) {
			const before = w.listener.room.storedBytes;
			for (let i = 0; i < 10; i++) {
				const update = rawUpdate(Array.from({ length: 180 }, (_, k) => ({ key: `k${i}-${k}`, value: junk(6000, i + k), client: 1000 + i * 200 + k })));
				expect(update.length).toBeGreaterThan(MB);
				expect(await deliver(w.listener, update)).toBe('refused');
			}
			expect(w.listener.room.storedBytes).toBe(before);
			await checkHonest(w);
		}
	},
	{
		name: 'a record’s Yjs item id shadowed before a joiner syncs (the ban stays visible)',
		async run(w) {
			const ban = await honestAct(w, w.mod, { kind: 'ban', target: w.listener.id });
			const own = await forge(w.attacker, { kind: 'meta', title: 'Shadow' });
			const joiner: TestPeer = { ...w.listener, name: 'joiner', room: new RoomDoc(w.roomId, w.key) };
			// First the whole history but the ban, with the attacker's record at the ban's item id and key.
			const history = [...w.creator.room.ops.values()].filter((op) => op.id !== ban.id);
			await deliver(joiner, Y.mergeUpdates([recordsUpdate(history), rawUpdate([{ key: ban.id, value: own.bytes, client: clientIdFor(ban.id) }])]));
			await sync(w.speaker, joiner);
			expect(joiner.room.view.banned.has(w.listener.id)).toBe(true);
			expect(joiner.room.view.title).toBe('Test room');
			w.honest.push({ ...joiner, id: 'joiner' });
			await checkHonest(w);
		}
	},
	{
		name: 'a record at lamport 2^53−1 does not freeze the room',
		async run(w) {
			const frozen = await forge(w.attacker, { kind: 'accept', invitation: 'AAAAAAAAAAAAAAAAAAAAAA' }, { lamport: Number.MAX_SAFE_INTEGER });
			for (const p of w.honest) await deliver(p, recordsUpdate([frozen]));
			const next = await honestAct(w, w.creator, { kind: 'meta', title: 'Still moving' });
			const view = await checkHonest(w);
			expect(view.title).toBe('Still moving');
			expect(view.maxLamport).toBe(next.body.lamport);
			expect(next.body.lamport).toBeLessThan(100);
		}
	},
	{
		name: 'a moderator’s record at a lamport far beyond its parents is refused',
		async run(w) {
			const ahead = await forge(w.mod, { kind: 'meta', title: 'From the future' }, { lamport: w.mod.room.placement().lamport + 1000 });
			for (const p of w.honest) await deliver(p, recordsUpdate([ahead]));
			const view = await checkHonest(w);
			expect(view.title).toBe('Test room');
			expect(view.maxLamport).toBeLessThan(100);
		}
	},
	{
		name: 'a demoted moderator back-dates acts before its demotion (five times)',
		async run(w) {
			for (let round = 0; round < 5; round++) {
				const old = w.mod.room.placement();
				await honestAct(w, w.creator, { kind: 'revokeModerator', target: w.mod.id });
				const backDated = [
					await forge(w.mod, { kind: 'makeModerator', target: w.attacker.id }, old),
					await forge(w.mod, { kind: 'ban', target: w.speaker.id }, old),
					await forge(w.mod, { kind: 'meta', title: `Mine ${round}` }, old)
				];
				for (const p of w.honest) await deliver(p, recordsUpdate(backDated));
				await deliver(w.attacker, recordsUpdate(backDated));
				// The attacker, promoted in its own copy, re-promotes the moderator.
				await deliver(w.creator, recordsUpdate([await forge(w.attacker, { kind: 'makeModerator', target: w.mod.id }, w.attacker.room.placement())]));
				const view = await checkHonest(w);
				expect(view.moderators).toEqual([w.creator.id]);
				expect(view.banned).toEqual([]);
				expect(view.title).toBe('Test room');
				if (round < 4) await honestAct(w, w.creator, { kind: 'makeModerator', target: w.mod.id });
			}
		}
	},
	{
		name: 'a moderator acting while (concurrently with) being demoted: its acts are void',
		async run(w) {
			const offline = await w.mod.room.addOp({ kind: 'ban', target: w.speaker.id }, w.mod); // not yet sent
			await w.creator.room.addOp({ kind: 'revokeModerator', target: w.mod.id }, w.creator);
			for (const p of w.honest) await deliver(p, recordsUpdate([offline]));
			const view = await checkHonest(w);
			expect(view.banned).toEqual([]);
			expect(view.moderators).toEqual([w.creator.id]);
		}
	},
	{
		name: 'the creator undoes a moderator’s ban and removal',
		async run(w) {
			await honestAct(w, w.mod, { kind: 'ban', target: w.speaker.id });
			await honestAct(w, w.mod, { kind: 'remove', target: w.listener.id });
			await honestAct(w, w.creator, { kind: 'readmit', target: w.speaker.id });
			await honestAct(w, w.creator, { kind: 'readmit', target: w.listener.id });
			const view = await checkHonest(w);
			expect(view.banned).toEqual([]);
			expect(view.removed).toEqual([]);
			// A moderator cannot lift a ban; only the creator can.
			await honestAct(w, w.mod, { kind: 'ban', target: w.speaker.id });
			await expect(w.mod.room.addOp({ kind: 'readmit', target: w.speaker.id }, w.mod)).rejects.toThrow();
			expect((await checkHonest(w)).banned).toEqual([w.speaker.id]);
		}
	},
	{
		name: 'a removed moderator back-dates acts before its removal',
		async run(w) {
			const old = w.mod.room.placement();
			await honestAct(w, w.creator, { kind: 'remove', target: w.mod.id });
			const backDated = await forge(w.mod, { kind: 'remove', target: w.speaker.id }, old);
			for (const p of w.honest) await deliver(p, recordsUpdate([backDated]));
			const view = await checkHonest(w);
			expect(view.removed).toEqual([w.mod.id]);
		}
	},
	{
		name: 'a banned member forges its own readmission and back-dated acts',
		async run(w) {
			const old = w.speaker.room.placement();
			await honestAct(w, w.mod, { kind: 'ban', target: w.speaker.id });
			const unban = await forge(w.speaker, { kind: 'readmit', target: w.speaker.id });
			const stepDown = await forge(w.speaker, { kind: 'moveToAudience', target: w.speaker.id }, old);
			for (const p of w.honest) await deliver(p, recordsUpdate([unban, stepDown]));
			const view = await checkHonest(w);
			expect(view.banned).toEqual([w.speaker.id]);
			for (const p of w.honest) expect(p.room.ops.has(unban.id)).toBe(false);
		}
	},
	{
		name: 'a record larger than MAX_OP_BYTES',
		async run(w) {
			const before = w.listener.room.storedBytes;
			expect(await deliver(w.listener, rawUpdate([{ key: 'big', value: junk(MAX_OP_BYTES + 1) }]))).toBe('refused');
			expect(w.listener.room.storedBytes).toBe(before);
			await checkHonest(w);
		}
	},
	{
		name: 'a flood of validly signed records the rules refuse costs no signature check and is never stored',
		async run(w) {
			const throwaway = { ...w.attacker, ...(await makeIdentity()) };
			const flood: SignedOp[] = [];
			for (let i = 0; i < 300; i++) flood.push(await forge(throwaway, { kind: 'meta', description: 'x'.repeat(900), title: `spam ${i}` }));
			const checks = w.listener.room.signatureChecks;
			const before = w.listener.room.storedBytes;
			await deliver(w.listener, recordsUpdate(flood));
			for (const op of flood.slice(0, 50)) await deliver(w.listener, recordsUpdate([op]));
			expect(w.listener.room.signatureChecks).toBe(checks);
			expect(w.listener.room.storedBytes).toBe(before);
			await checkHonest(w);
		}
	},
	{
		name: 'a record signed with someone else’s key (claiming the creator)',
		async run(w) {
			const forged = await forge(w.attacker, { kind: 'makeModerator', target: w.attacker.id }, { author: w.creator.peerId });
			for (const p of w.honest) expect(await deliver(p, recordsUpdate([forged]))).toBe('refused');
			expect((await checkHonest(w)).moderators).not.toContain(w.attacker.id);
		}
	},
	{
		name: 'a record made for another room',
		async run(w) {
			const other = await forge(w.attacker, { kind: 'meta', title: 'x' }, { roomId: 'another-room-id-aaaaaa' });
			expect(await deliver(w.listener, recordsUpdate([other]))).toBe('refused');
			await checkHonest(w);
		}
	},
	{
		name: 'a genesis by someone other than the creator',
		async run(w) {
			const genesis = await forge(w.attacker, { kind: 'genesis', title: 'Mine', description: '', visibility: 'public' }, { lamport: 1, parents: [] });
			const joiner = new RoomDoc(w.roomId, w.key);
			await expect(joiner.applyUpdate(recordsUpdate([genesis]), 'net')).rejects.toThrow(/genesis/);
			expect(await deliver(w.listener, recordsUpdate([genesis]))).toBe('refused');
			expect(joiner.view.exists).toBe(false);
			await checkHonest(w);
		}
	},
	{
		name: 'records replayed (sent again, in another wrapping)',
		async run(w) {
			const all = [...w.creator.room.ops.values()];
			const bytes = Y.encodeStateAsUpdate(w.listener.room.doc);
			await deliver(w.listener, recordsUpdate(all));
			await deliver(w.listener, rawUpdate(all.map((op, i) => ({ key: `other-${i}`, value: op.bytes, client: 77 + i }))));
			expect(Y.encodeStateAsUpdate(w.listener.room.doc)).toEqual(bytes);
			await checkHonest(w);
		}
	},
	{
		name: 'deleting or overwriting a record',
		async run(w) {
			const shadow = new Y.Doc();
			Y.applyUpdate(shadow, Y.encodeStateAsUpdate(w.attacker.room.doc));
			const sv = Y.encodeStateVector(shadow);
			const [first, second] = [...w.attacker.room.ops.keys()];
			shadow.getMap(OPS_MAP).delete(first);
			shadow.getMap(OPS_MAP).set(second, w.attacker.room.ops.get(first)!.bytes);
			expect(await deliver(w.listener, Y.encodeStateAsUpdate(shadow, sv))).toBe('refused');
			await checkHonest(w);
		}
	},
	{
		name: 'other Yjs content: text, arrays, nested maps, strings, numbers, other roots, garbage-collected structs',
		async run(w) {
			const edits: ((doc: Y.Doc) => void)[] = [
				(d) => d.getText('ops').insert(0, 'hello'),
				(d) => d.getArray('ops').push([new Uint8Array([1])]),
				(d) => d.getMap(OPS_MAP).set('nested', new Y.Map()),
				(d) => d.getMap(OPS_MAP).set('s', 'string'),
				(d) => d.getMap(OPS_MAP).set('n', 42),
				(d) => d.getMap('elsewhere').set('k', new Uint8Array([1])),
				(d) => {
					d.getMap(OPS_MAP).set('g', new Uint8Array([1]));
					d.getMap(OPS_MAP).set('g', new Uint8Array([2])); // the first is deleted and garbage-collected
				}
			];
			for (const edit of edits) {
				const doc = new Y.Doc();
				edit(doc);
				expect(await deliver(w.listener, Y.encodeStateAsUpdate(doc))).toBe('refused');
			}
			await checkHonest(w);
		}
	},
	{
		name: 'a flood of records naming unknown parents: pooled in memory, bounded, never stored',
		async run(w) {
			const before = w.listener.room.storedBytes;
			const checks = w.listener.room.signatureChecks;
			for (let batch = 0; batch < 4; batch++) {
				const orphans: SignedOp[] = [];
				for (let i = 0; i < 100; i++) orphans.push(await forge(w.attacker, { kind: 'meta', title: `o${batch}-${i}` }, { parents: [`${'B'.repeat(19)}${String(batch * 100 + i).padStart(3, '0')}`] }));
				await deliver(w.listener, recordsUpdate(orphans));
			}
			expect(w.listener.room.pendingCount).toBeLessThanOrEqual(256);
			expect(w.listener.room.signatureChecks - checks).toBeLessThanOrEqual(4 * 32);
			expect(w.listener.room.storedBytes).toBe(before);
			await checkHonest(w);
		}
	},
	{
		name: 'malformed parents: unsorted, repeated, too many, a genesis with parents',
		async run(w) {
			const good = w.attacker.room.placement();
			const id = good.parents[0];
			const sign = async (parents: string[], lamport = good.lamport) => {
				const body = { kind: 'meta', title: 't', v: 2, room: w.roomId, author: w.attacker.id, lamport, parents, ts: 0 };
				const payload = new TextEncoder().encode(JSON.stringify(body));
				const signature = await w.attacker.privateKey.sign(payload);
				return Uint8Array.from([...varint(payload.length), ...payload, ...signature]);
			};
			for (const bytes of [
				await sign(['B'.repeat(22), 'A'.repeat(22)]),
				await sign([id, id]),
				await sign(Array.from({ length: 33 }, (_, i) => `${'C'.repeat(20)}${String(i).padStart(2, '0')}`)),
				await sign([], 5)
			]) {
				expect(await deliver(w.listener, rawUpdate([{ key: 'x', value: bytes }]))).toBe('refused');
			}
			await checkHonest(w);
		}
	},
	{
		name: 'an update larger than a sync frame',
		async run(w) {
			const huge = new Uint8Array(MAX_SYNC_FRAME_BYTES + 1);
			expect(await deliver(w.listener, huge)).toBe('refused');
			await checkHonest(w);
		}
	},
	{
		name: 'forged role changes by a non-moderator (self-promotion, bans, ending the room)',
		async run(w) {
			const acts = [
				await forge(w.attacker, { kind: 'makeModerator', target: w.attacker.id }),
				await forge(w.attacker, { kind: 'ban', target: w.creator.id }),
				await forge(w.attacker, { kind: 'revokeModerator', target: w.mod.id }),
				await forge(w.attacker, { kind: 'end' }),
				await forge(w.attacker, { kind: 'invite', target: w.attacker.id })
			];
			for (const p of w.honest) await deliver(p, recordsUpdate(acts));
			const view = await checkHonest(w);
			expect(view.moderators).toEqual([w.creator.id, w.mod.id].sort());
			expect(view.ended).toBe(false);
			for (const p of w.honest) for (const op of acts) expect(p.room.ops.has(op.id)).toBe(false);
		}
	},
	{
		name: 'an invited attacker hangs a chain of refused records on its one valid act: the room stays bounded',
		async run(w) {
			const invite = await honestAct(w, w.mod, { kind: 'invite', target: w.attacker.id });
			let at = w.attacker.room.placement();
			const chain: SignedOp[] = [];
			for (let i = 0; i < 40; i++) {
				const op = await forge(w.attacker, { kind: 'meta', title: `junk ${i}`, description: 'x'.repeat(900) }, at);
				chain.push(op);
				at = { lamport: op.body.lamport + 1, parents: [op.id] };
			}
			const accept = await forge(w.attacker, { kind: 'accept', invitation: invite.id }, at);
			for (const p of w.honest) await deliver(p, recordsUpdate([...chain, accept]));
			const view = await checkHonest(w);
			expect(view.stage).toContain(w.attacker.id);
			expect(view.title).toBe('Test room');
			for (const p of w.honest) expect(p.room.storedBytes).toBeLessThanOrEqual(MAX_ROOM_BYTES);
		}
	},
	{
		name: 'an invited attacker hangs refused records up to the room’s cap on its answer: nothing of it is stored, and a moderator still bans it',
		async run(w) {
			const invite = await honestAct(w, w.mod, { kind: 'invite', target: w.attacker.id });
			let at = w.attacker.room.placement();
			const chain: SignedOp[] = [];
			// ~1.3 KiB each, to within a few hundred bytes of the 4 MiB cap.
			let size = w.listener.room.storedBytes;
			for (let i = 0; size < MAX_ROOM_BYTES - 2 * 1024; i++) {
				const op = await forge(w.attacker, { kind: 'meta', title: `junk ${i}`, description: 'x'.repeat(1_000) }, at);
				chain.push(op);
				size += op.bytes.length;
				at = { lamport: op.body.lamport + 1, parents: [op.id] };
			}
			const decline = await forge(w.attacker, { kind: 'decline', invitation: invite.id }, at);
			for (const p of w.honest) await deliver(p, recordsUpdate([...chain, decline]));
			for (const p of w.honest) {
				expect(p.room.ops.has(decline.id)).toBe(false);
				expect(chain.filter((op) => p.room.ops.has(op.id))).toEqual([]);
				expect(p.room.storedBytes).toBeLessThan(64 * 1024);
			}
			await honestAct(w, w.mod, { kind: 'ban', target: w.attacker.id });
			const view = await checkHonest(w);
			expect(view.banned).toEqual([w.attacker.id]);
		}
	},
	{
		name: 'a moderator’s 2 MiB of acts, voided by its concurrent demotion after one moderator built on them: that moderator’s act is stored everywhere, and on a reload',
		async run(w) {
			// The speaker becomes a second moderator; the first one's acts reach only it.
			await honestAct(w, w.creator, { kind: 'makeModerator', target: w.speaker.id });
			let at = w.mod.room.placement();
			const chain: SignedOp[] = [];
			for (let size = 0, i = 0; size < MEMBERS_SHARE_BYTES + 64 * 1024; i++) {
				const op = await forge(w.mod, { kind: 'meta', title: `title ${i}`, description: 'x'.repeat(1_000) }, at);
				chain.push(op);
				size += op.bytes.length;
				at = { lamport: op.body.lamport + 1, parents: [op.id] };
			}
			expect(await deliver(w.speaker, recordsUpdate(chain))).toBe('taken');
			expect(w.speaker.room.ops.has(chain.at(-1)!.id)).toBe(true);
			// The creator, who has none of them, demotes it: they are concurrent with that, and void.
			await honestAct(w, w.creator, { kind: 'revokeModerator', target: w.mod.id });
			// The second moderator acts on top of what it holds: its act names the void ones as parents.
			const ban = await honestAct(w, w.speaker, { kind: 'ban', target: w.attacker.id });
			const view = await checkHonest(w);
			expect(view.banned).toEqual([w.attacker.id]);
			for (const p of w.honest) expect(p.room.ops.has(ban.id)).toBe(true);
		}
	},
	{
		name: 'a moderator fills the room to its cap with valid records: the creator still demotes it and undoes its ban',
		async run(w) {
			await honestAct(w, w.mod, { kind: 'ban', target: w.listener.id });
			let at = w.mod.room.placement();
			const chain: SignedOp[] = [];
			// ~1.3 KiB a record to near the 4 MiB cap, then mutes and unmutes (~0.4 KiB) past it, so that what is
			// left free is less than one of those.
			let size = w.mod.room.storedBytes;
			for (let i = 0; size < MAX_ROOM_BYTES + 64 * 1024; i++) {
				const big = size < MAX_ROOM_BYTES - 64 * 1024;
				const intent: OpIntent = big ? { kind: 'meta', title: `fill ${i}`, description: 'x'.repeat(1000) } : { kind: i % 2 ? 'mute' : 'unmute', target: w.speaker.id };
				const op = await forge(w.mod, intent, at);
				chain.push(op);
				size += op.bytes.length;
				at = { lamport: op.body.lamport + 1, parents: [op.id] };
			}
			for (const p of w.honest) if (p !== w.mod) await deliver(p, recordsUpdate(chain));
			await deliver(w.mod, recordsUpdate(chain));
			for (const p of w.honest) expect(p.room.storedBytes).toBeGreaterThan(MAX_ROOM_BYTES - 2 * 1024);
			// Full: a speaker's record is not stored anywhere...
			const speakers = await forge(w.speaker, { kind: 'profile', name: 'A name as long as a name can be: forty', avatar: { e: '🦊', c: 3 } }, w.speaker.room.placement());
			for (const p of w.honest) await deliver(p, recordsUpdate([speakers]));
			for (const p of w.honest) expect(p.room.ops.has(speakers.id)).toBe(false);
			// ...but the creator's are, on every peer: the moderator demoted, the ban undone.
			await honestAct(w, w.creator, { kind: 'revokeModerator', target: w.mod.id });
			await honestAct(w, w.creator, { kind: 'readmit', target: w.listener.id });
			const view = await checkHonest(w);
			expect(view.moderators).toEqual([w.creator.id]);
			expect(view.banned).toEqual([]);
			for (const p of w.honest) expect(p.room.storedBytes).toBeGreaterThan(MAX_ROOM_BYTES - 2 * 1024);
		}
	}
];

function varint(n: number): number[] {
	const out: number[] = [];
	while (n > 127) {
		out.push((n & 127) | 128);
		n >>>= 7;
	}
	out.push(n);
	return out;
}

// —— The byzantine member as a property ——————————————————————————————————————

type ByzantineMove =
	| { t: 'bytes'; bytes: Uint8Array; to: number }
	| { t: 'mutate'; at: number; value: number; to: number }
	| { t: 'edits'; edits: YEdit[]; to: number }
	| { t: 'dupKey'; to: number }
	| { t: 'shadow'; pick: number; to: number }
	| { t: 'lamport'; lamport: number; to: number }
	| { t: 'backDated'; kind: number; target: number; age: number; to: number }
	| { t: 'oversize'; extra: number; to: number }
	| { t: 'forgedSig'; kind: number; target: number; as: number; to: number }
	| { t: 'orphan'; kind: number; to: number }
	| { t: 'futureKind'; kind: number; size: number; to: number };
type YEdit = { op: 'set' | 'delete' | 'text' | 'array' | 'root'; key: number; value: number; bytes: Uint8Array };
type HonestMove = { t: 'honest'; actor: number; kind: number; target: number };

const BYZ_KINDS: OpIntent['kind'][] = ['makeModerator', 'ban', 'readmit', 'remove', 'revokeModerator', 'invite', 'mute', 'moveToAudience', 'end', 'meta', 'profile', 'rekey'];
const HONEST_KINDS: OpIntent['kind'][] = ['meta', 'invite', 'moveToAudience', 'mute', 'unmute', 'remove', 'readmit', 'ban', 'makeModerator', 'revokeModerator', 'profile', 'rekey'];
// Kinds no version of this code knows (a later version's, as far as this one can tell), and one it reserves.
const FUTURE_KINDS = ['poll', 'pinnedLink', 'unknown', 'Bad kind', 'x'.repeat(40)];

function intentFor(kind: OpIntent['kind'], target: string, title: string): OpIntent {
	if (kind === 'meta') return { kind, title };
	if (kind === 'profile') return title.length % 2 ? { kind, name: title } : { kind, name: title, avatar: { e: '🦊', c: title.length % 8 } };
	if (kind === 'end') return { kind };
	// A key commitment's form (43 base64url characters), one per title.
	if (kind === 'rekey') return { kind, epoch: `k${title.replace(/[^A-Za-z0-9]/g, '')}`.padEnd(43, '_').slice(0, 43) };
	return { kind, target } as OpIntent;
}

/** fast-check arbitraries for one run: honest acts interleaved with the byzantine member's updates. */
export function hostileScript() {
	const to = fc.nat(3);
	const edit = fc.record({
		op: fc.constantFrom('set', 'delete', 'text', 'array', 'root') as fc.Arbitrary<YEdit['op']>,
		key: fc.nat(20),
		value: fc.nat(8),
		bytes: fc.uint8Array({ maxLength: 64 })
	});
	const byzantine: fc.Arbitrary<ByzantineMove> = fc.oneof(
		fc.record({ t: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 300 }), to }),
		fc.record({ t: fc.constant('mutate' as const), at: fc.nat(), value: fc.nat(255), to }),
		fc.record({ t: fc.constant('edits' as const), edits: fc.array(edit, { minLength: 1, maxLength: 6 }), to }),
		fc.record({ t: fc.constant('dupKey' as const), to }),
		fc.record({ t: fc.constant('shadow' as const), pick: fc.nat(), to }),
		fc.record({ t: fc.constant('lamport' as const), lamport: fc.oneof(fc.constant(Number.MAX_SAFE_INTEGER), fc.integer({ min: 2, max: 2 ** 40 })), to }),
		fc.record({ t: fc.constant('backDated' as const), kind: fc.nat(BYZ_KINDS.length - 1), target: fc.nat(4), age: fc.nat(10), to }),
		fc.record({ t: fc.constant('oversize' as const), extra: fc.nat(MB), to }),
		fc.record({ t: fc.constant('forgedSig' as const), kind: fc.nat(BYZ_KINDS.length - 1), target: fc.nat(4), as: fc.nat(1), to }),
		fc.record({ t: fc.constant('orphan' as const), kind: fc.nat(BYZ_KINDS.length - 1), to }),
		fc.record({ t: fc.constant('futureKind' as const), kind: fc.nat(FUTURE_KINDS.length - 1), size: fc.nat(5000), to })
	);
	const honest: fc.Arbitrary<HonestMove> = fc.record({ t: fc.constant('honest' as const), actor: fc.nat(1), kind: fc.nat(HONEST_KINDS.length - 1), target: fc.nat(4) });
	return fc.array(fc.oneof({ arbitrary: byzantine, weight: 3 }, { arbitrary: honest, weight: 1 }), { minLength: 1, maxLength: 12 });
}

/**
 * One run: plays `script` on a fresh world, then checks that every honest
 * peer shows exactly the room the honest acts alone make (byzantine input
 * changed nothing, refused no honest act, showed no forged role or unban),
 * and checkHonest's invariants. Returns the move kinds it tried.
 */
export async function playHostileScript(script: (ByzantineMove | HonestMove)[]): Promise<Set<string>> {
	const w = await hostileWorld();
	const tried = new Set<string>();
	const honestOps: SignedOp[] = [...w.creator.room.ops.values()];
	const placements = [w.attacker.room.placement()];
	const people = [w.creator, w.mod, w.speaker, w.listener, w.attacker];
	for (const move of script) {
		tried.add(move.t);
		if (move.t === 'honest') {
			const actor = [w.creator, w.mod][move.actor];
			const kind = HONEST_KINDS[move.kind];
			// Honest peers never hand the attacker a role: what a moderator may do is not an attack.
			if (people[move.target] === w.attacker && (kind === 'makeModerator' || kind === 'invite')) continue;
			const intent = intentFor(kind, people[move.target].id, `title ${honestOps.length}`);
			const op = await actor.room.addOp(intent, actor).catch(() => null);
			if (!op) continue; // not permitted in the actor's view: the UI would not offer it
			honestOps.push(op);
			for (const p of [...w.honest, w.attacker]) if (p !== actor) await p.room.applyUpdate(recordsUpdate([op]), 'net');
			placements.push(w.attacker.room.placement());
			continue;
		}
		const target = w.honest[move.to];
		await deliver(target, await byzantineUpdate(w, move, placements, people));
	}
	const view = await checkHonest(w);
	const clean = new RoomDoc(w.roomId, w.key);
	await clean.applyUpdate(recordsUpdate(honestOps), 'clean');
	expect(view, 'the room is what the honest acts alone make').toEqual(summarize(clean.view));
	for (const p of w.honest) {
		for (const op of honestOps) expect(p.room.ops.has(op.id) && !p.room.view.refused.has(op.id), `honest act ${op.body.kind} in effect at ${p.name}`).toBe(true);
		expect(p.room.storedBytes).toBe(clean.storedBytes);
	}
	return tried;
}

async function byzantineUpdate(w: HostileWorld, move: ByzantineMove, placements: { lamport: number; parents: string[] }[], people: TestPeer[]): Promise<Uint8Array> {
	const a = w.attacker;
	const ops = [...w.creator.room.ops.values()];
	switch (move.t) {
		case 'bytes':
			return move.bytes;
		case 'mutate': {
			const real = Y.encodeStateAsUpdate(a.room.doc);
			real[move.at % real.length] = move.value;
			return real;
		}
		case 'edits': {
			const doc = new Y.Doc();
			Y.applyUpdate(doc, Y.encodeStateAsUpdate(a.room.doc));
			const sv = Y.encodeStateVector(doc);
			const map = doc.getMap<unknown>(OPS_MAP);
			const own = await forge(a, { kind: 'meta', title: 'edit' });
			for (const e of move.edits) {
				const key = e.key < ops.length ? ops[e.key].id : `key${e.key}`;
				const values: unknown[] = [e.bytes, own.bytes, ops[e.key % ops.length].bytes, 'text', e.value, new Y.Map(), new Y.Text('t'), null, { nested: true }];
				if (e.op === 'set') map.set(key, values[e.value]);
				else if (e.op === 'delete') map.delete(key);
				else if (e.op === 'text') doc.getText(OPS_MAP + e.key).insert(0, 'x');
				else if (e.op === 'array') doc.getArray('a').push([e.bytes]);
				else doc.getMap(`root${e.key}`).set('k', e.bytes);
			}
			return Y.encodeStateAsUpdate(doc, sv);
		}
		case 'dupKey': {
			const latest = ops.sort((x, y) => y.body.lamport - x.body.lamport)[0];
			const own = await forge(a, { kind: 'makeModerator', target: a.id });
			return rawUpdate([
				{ key: latest.id, value: latest.bytes, client: 11 },
				{ key: latest.id, value: own.bytes, client: 12 }
			]);
		}
		case 'shadow': {
			const victim = ops[move.pick % ops.length];
			const own = await forge(a, { kind: 'ban', target: w.speaker.id });
			return rawUpdate([{ key: victim.id, value: own.bytes, client: clientIdFor(victim.id) }]);
		}
		case 'lamport':
			return recordsUpdate([await forge(a, { kind: 'meta', title: 'clock' }, { lamport: move.lamport })]);
		case 'backDated': {
			const at = placements[Math.max(0, placements.length - 1 - move.age)];
			return recordsUpdate([await forge(a, intentFor(BYZ_KINDS[move.kind], people[move.target].id, 'back'), at)]);
		}
		case 'oversize':
			return rawUpdate([{ key: 'big', value: junk(MAX_OP_BYTES + 1 + (move.extra % 4096)) }]);
		case 'forgedSig':
			return recordsUpdate([await forge(a, intentFor(BYZ_KINDS[move.kind], people[move.target].id, 'forged'), { author: [w.creator, w.mod][move.as].peerId })]);
		case 'orphan':
			return recordsUpdate([await forge(a, intentFor(BYZ_KINDS[move.kind], w.speaker.id, 'orphan'), { parents: ['Z'.repeat(22)] })]);
		case 'futureKind': {
			// The attacker is in the audience: a kind it could only hope a later version knows is still not kept.
			return recordsUpdate([await signRaw(a, { kind: FUTURE_KINDS[move.kind], data: 'x'.repeat(move.size) })]);
		}
	}
}
