/**
 * One room's Yjs document and the gate in front of it.
 *
 * The document holds one map, `ops`: op id → signed op bytes (see
 * room-op-codec.ts). Yjs is the container and the sync engine (state
 * vectors tell a member what a joiner lacks), never the judge: an update
 * from elsewhere is **never applied as it stands**. The gate decodes it,
 * takes out the records it carries, decides which to keep, and writes those
 * itself in one canonical form:
 *
 *   item id = (client = clientIdFor(op id), clock 0), key = op id, value = op bytes
 *
 * so every honest copy of a record is the same Yjs item, whoever sent it and
 * whatever item ids, keys, extra items, deletions or other types the sender
 * wrapped it in. Nothing a peer puts in an update can shadow, rewrite or
 * delete a record, make Yjs hold two values under one key, or leave
 * half-integrated structs behind: none of its items ever reach the document.
 * (A record's Yjs id is 53 bits of its hash: claiming it first takes a
 * second preimage. An author who grinds ~2^26.5 records of its own can make
 * two of them share a Yjs client id; the second one a peer gets is stored
 * at the next clock, and a state vector that counts a record there may
 * count the other one: sync also sends the ids of the records each side
 * holds, see room-sync-protocol.ts.)
 *
 * What is kept, in this order so refused input costs little:
 * 1. size caps: the update, the number of records in it (counted as Yjs
 *    reads them: it stops past the cap, at a deletion or at content that is
 *    not a record's bytes), each record;
 * 2. parse every record; one malformed rejects the update; verify the
 *    promotions and revocations by those who may hold authority (the creator,
 *    and whom a promotion by such an author names), promotions first: the
 *    replay runs on records not yet verified, and one that takes effect
 *    costs it bits over the room (concurrency.ts);
 * 3. replay the room with the new records (authority.ts): keep those that
 *    take effect, plus the records they name as parents (history others may
 *    need), and a void readmission that leaves the current key with the
 *    member it names (authority.ts, keyExposedTo); a record whose parents
 *    are unknown waits in a small in-memory pool until they come;
 *    everything else is dropped, never stored;
 * 4. verify the signatures of what is kept or pooled, and only of that (each once); one
 *    bad signature rejects the update whole (honest peers relay only
 *    verified records, so the sender is hostile);
 * 5. write the kept records; the room never grows past what one sync frame
 *    carries (MAX_ROOM_BYTES, MAX_ROOM_RECORDS, and a reserve above them for
 *    the creator's records alone).
 */
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { fromString } from 'uint8arrays';
import * as Y from 'yjs';
import { compareOps, deriveRoom, reach, type RoomView } from './authority';
import { roomIdFor } from './room-link';
import { ed25519PeerId, MAX_OP_BYTES, MAX_PARENTS, OP_ID_BYTES, OpError, parseOp, signOp, verifySignature, type OpIntent, type SignedOp } from './room-op-codec';

export const OPS_MAP = 'ops';
/** Origin tag for changes made by this peer through the API. */
export const LOCAL_ORIGIN = Symbol('stanza-local');
// The largest sync frame is 8 MiB (room-sync-protocol.ts): a whole room must fit in one with room to spare.
export const MAX_UPDATE_BYTES = 8 * 1024 * 1024;
// 4 MiB of records + ~40 B of Yjs framing each for 20,000 records (4.25 MiB and 21,000 with the creator's reserve
// below) stays under the 8 MiB sync frame. Records are ~250 B at least, so the bytes bind first (~17,800 records).
// An honest room after 10,000 joins and 1,000 hand raises holds ~100 KB (npm run bench:room).
export const MAX_ROOM_BYTES = 4 * 1024 * 1024;
export const MAX_ROOM_RECORDS = 20_000;
// Above the cap, room for the creator's records alone: a moderator that filled the room on purpose cannot
// stop the creator from demoting it, undoing its bans and readmitting (docs/PROTOCOL.md). Still one frame.
export const CREATOR_RESERVE_BYTES = 256 * 1024;
export const CREATOR_RESERVE_RECORDS = 1_000;
// Of the cap, what records no moderator's say put there may take: those refused but kept as history (a
// kept record names them), and the kinds anyone on stage may make (profiles, a later version's kinds).
// One invitation let a member hang 4 MiB of refused records on its answer, after which no moderator's
// act could be stored. Half the cap: an honest room holds ~100 KB in all (npm run bench:room), a profile
// record ~300 B, and records kept at one peer and refused at another (a share full there) split the room
// for whatever names them, so an attacker that can place its records differently at two peers needs as
// much as before (two shares).
export const MEMBERS_SHARE_BYTES = 2 * 1024 * 1024;
export const MEMBERS_SHARE_RECORDS = 10_000;
// Void readmissions kept though refused because they leave the current key with a member (#judge): one exposure
// is enough to start a rekey, which ends them; the bound keeps a demoted moderator from storing one per member out.
export const MAX_EXPOSING_READMITS = 8;
// Records that give or take a role: verified before the replay (#applyChecked).
const AUTHORITY_KINDS = new Set(['makeModerator', 'revokeModerator', 'remove', 'ban']);
// A whole room arrives in one update when a joiner syncs (its creator's reserve included); more than a room can hold is hostile.
export const MAX_RECORDS_PER_UPDATE = MAX_ROOM_RECORDS + CREATOR_RESERVE_RECORDS;
// Records waiting for their parents (gossip can deliver a child first); bounded, oldest out first.
const MAX_PENDING = 256;
// Signatures paid for pooling per update: a flood of orphans costs at most this many checks.
const MAX_PENDING_PER_UPDATE = 32;

export class RoomUpdateError extends Error {
	override name = 'RoomUpdateError';
}

/** Records a member makes for itself (not a moderator's act): profiles, a later version's kinds, answers to an invitation, stepping down. */
function isMembersKind(op: SignedOp): boolean {
	const body = op.body;
	return body.kind === 'profile' || body.kind === 'unknown' || body.kind === 'accept' || body.kind === 'decline' || (body.kind === 'moveToAudience' && body.target === body.author);
}

/**
 * Yjs's own V1 update decoder, stopped as soon as an update reads as more than records: past
 * MAX_RECORDS_PER_UPDATE structs or client blocks (its reader calls readInfo once per struct and
 * readClient once per block), at the first deletion (readDsClock, once per deleted range), at any
 * content but a record's bytes (readAny, readJSON, readKey, readTypeRef: values and types, many to a
 * struct), and past the two strings a record's item reads (its root's name and its key). So
 * Y.decodeUpdateV2 with this decoder never builds more than a room's worth: an 8 MiB update of
 * 2-byte structs made Yjs build 4 million objects first (380 MB of heap and 2.3 s here) before its
 * count was checked, and deletions or one struct of nested values as many.
 */
class BoundedDecoder extends Y.UpdateDecoderV1 {
	#structs = 0;
	#clients = 0;
	#strings = 0;

	override readInfo(): number {
		if (++this.#structs > MAX_RECORDS_PER_UPDATE) throw new RoomUpdateError('update carries too many records');
		return super.readInfo();
	}

	override readClient(): number {
		if (++this.#clients > MAX_RECORDS_PER_UPDATE) throw new RoomUpdateError('update carries too many records');
		return super.readClient();
	}

	override readString(): string {
		if (++this.#strings > 2 * MAX_RECORDS_PER_UPDATE) throw new RoomUpdateError('update carries something that is not a record');
		return super.readString();
	}

	override readDsClock(): number {
		throw new RoomUpdateError('update deletes');
	}

	override readAny(): never {
		throw new RoomUpdateError('update carries something that is not a record');
	}

	override readJSON(): never {
		throw new RoomUpdateError('update carries something that is not a record');
	}

	override readKey(): never {
		throw new RoomUpdateError('update carries something that is not a record');
	}

	override readTypeRef(): never {
		throw new RoomUpdateError('update carries something that is not a record');
	}
}

/** The Yjs client id a record is written under: 53 bits of its SHA-256 (the op id is its first 16 bytes). */
export function clientIdFor(opId: string): number {
	const digest = fromString(opId, 'base64url');
	let id = digest[0] & 0x1f;
	for (let i = 1; i < 7; i++) id = id * 256 + digest[i];
	return id;
}

export interface RoomDocOptions {
	/** The Yjs client id each record is written under (tests: a collision on demand); clientIdFor by default. */
	clientIdFor?: (opId: string) => number;
}

export class RoomDoc {
	readonly roomId: string;
	readonly doc = new Y.Doc();
	readonly #key: Uint8Array;
	readonly #clientIdFor: (opId: string) => number;
	/** recordIds() until the next write. */
	#recordIds: Uint8Array | null = null;
	readonly #ops: Y.Map<Uint8Array>;
	readonly #stored = new Map<string, SignedOp>();
	/** Stored ops no stored op names as a parent: what the next local op has seen. */
	readonly #heads = new Set<string>();
	/** Verified records whose parents have not arrived yet. Never stored, never shown. */
	readonly #pending = new Map<string, SignedOp>();
	readonly #listeners = new Set<(view: RoomView) => void>();
	#bytes = 0;
	#signatureChecks = 0;
	#view: RoomView;
	/** Serializes changes: each is judged against the document as the previous one left it. */
	#queue: Promise<unknown> = Promise.resolve();

	constructor(roomId: string, key: Uint8Array, options: RoomDocOptions = {}) {
		this.roomId = roomId;
		this.#key = key;
		this.#clientIdFor = options.clientIdFor ?? clientIdFor;
		this.#ops = this.doc.getMap<Uint8Array>(OPS_MAP);
		this.#view = deriveRoom([]);
	}

	get view(): RoomView {
		return this.#view;
	}

	/** The stored records (each verified, and either in effect or the history of one that is). */
	get ops(): ReadonlyMap<string, SignedOp> {
		return this.#stored;
	}

	/** Bytes of stored records: bounded by MAX_ROOM_BYTES, plus CREATOR_RESERVE_BYTES of the creator's. */
	get storedBytes(): number {
		return this.#bytes;
	}

	/** Signatures this document has checked: what hostile input cost it (tests, benchmarks). */
	get signatureChecks(): number {
		return this.#signatureChecks;
	}

	/**
	 * Every stored record's id (OP_ID_BYTES each), one after another: what sync sends beside the state
	 * vector, which counts records per Yjs client id but cannot tell two that share one apart.
	 */
	recordIds(): Uint8Array {
		if (!this.#recordIds) {
			const all = new Uint8Array(this.#stored.size * OP_ID_BYTES);
			let at = 0;
			for (const id of this.#stored.keys()) {
				all.set(fromString(id, 'base64url'), at);
				at += OP_ID_BYTES;
			}
			this.#recordIds = all;
		}
		return this.#recordIds;
	}

	/** The Yjs client id the record `opId` is stored under. */
	clientOf(opId: string): number {
		return this.#clientIdFor(opId);
	}

	/** Records waiting for their parents (in memory only). */
	get pendingCount(): number {
		return this.#pending.size;
	}

	/** Calls `listener` with the new view whenever the derived room changes. Returns an unsubscribe. */
	subscribe(listener: (view: RoomView) => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	/**
	 * Signs an op as `author` on top of everything this peer holds and adds it.
	 * Throws OpError when the op is malformed or the room's rules refuse it
	 * (then nothing is stored or sent).
	 */
	addOp(intent: OpIntent, author: { peerId: PeerId; privateKey: PrivateKey }, now = Date.now(), alsoAfter: readonly string[] = []): Promise<SignedOp> {
		const next = this.#queue.then(() => this.#addOp(intent, author, now, alsoAfter));
		this.#queue = next.catch(() => {});
		return next;
	}

	/**
	 * Where an op made now goes: on top of the heads this peer holds (the highest first, at most MAX_PARENTS),
	 * and of the stored records in `alsoAfter` right after the highest head (a rekey that must follow a
	 * removal: room-session.ts).
	 */
	placement(alsoAfter: readonly string[] = []): { lamport: number; parents: string[] } {
		const heads = [...this.#heads].map((id) => this.#stored.get(id)!).sort((a, b) => compareOps(b, a));
		// The highest head always: the op then sorts after everything held (a rekey is then the current epoch).
		// Each once: a rekey's list can name one op for several members (room-session.ts).
		const first = [...new Set(alsoAfter)].flatMap((id) => this.#stored.get(id) ?? []).slice(0, MAX_PARENTS - 1);
		const parents = [...new Set([...heads.slice(0, 1), ...first, ...heads])].slice(0, MAX_PARENTS);
		return { lamport: Math.max(0, ...parents.map((p) => p.body.lamport)) + 1, parents: parents.map((p) => p.id) };
	}

	async #addOp(intent: OpIntent, author: { peerId: PeerId; privateKey: PrivateKey }, now: number, alsoAfter: readonly string[]): Promise<SignedOp> {
		const genesis = intent.kind === 'genesis';
		const op = await signOp(intent, {
			roomId: this.roomId,
			author: author.peerId,
			privateKey: author.privateKey,
			...(genesis ? { lamport: 1, parents: [] } : this.placement(alsoAfter)),
			now
		});
		if (op.body.kind === 'genesis' && !(await this.#genesisBound(op))) throw new OpError('only the room’s creator can start it');
		if (!this.#judge([op]).has(op.id)) throw new OpError('the room’s rules do not allow this');
		this.#write([op], LOCAL_ORIGIN);
		return op;
	}

	/**
	 * Takes the records an update from elsewhere (a peer, or storage) carries,
	 * keeps those the gate admits (see the header) and writes them. Throws
	 * RoomUpdateError, storing nothing, when the update is malformed, too
	 * large, or carries a bad signature or a forged genesis.
	 */
	applyUpdate(update: Uint8Array, origin: unknown): Promise<void> {
		const next = this.#queue.then(() => this.#applyChecked(update, origin));
		this.#queue = next.catch(() => {});
		return next;
	}

	async #applyChecked(update: Uint8Array, origin: unknown): Promise<void> {
		const incoming = await this.#records(update);
		const fresh = new Map<string, SignedOp>();
		for (const op of incoming) if (!this.#stored.has(op.id) && !this.#pending.has(op.id)) fresh.set(op.id, op);
		if (fresh.size === 0) return;
		// Records that can carry authority (a promotion, a revocation) by someone who may hold it are verified
		// before the replay, which runs on records not yet verified: a revocation that takes effect there costs it
		// bits over the room (concurrency.ts; a walk of the room each before). An update of ~20,000 forged
		// removals "by the creator" cost every member tens of seconds of CPU before its first bad signature
		// rejected it; now it costs one check.
		const verified = new Set<string>();
		for (const op of this.#authorityRecords(fresh.values())) {
			await this.#verify(op);
			verified.add(op.id);
		}
		const candidates = [...this.#pending.values(), ...fresh.values()];
		const keep = this.#judge(candidates);
		// Orphans: parents not held here. Pool a few (verified) until the parents come.
		const known = (id: string) => this.#stored.has(id) || fresh.has(id) || this.#pending.has(id);
		const orphans = [...fresh.values()].filter((op) => !keep.has(op.id) && op.body.parents.some((p) => !known(p))).slice(0, MAX_PENDING_PER_UPDATE);
		for (const op of [...fresh.values()].filter((o) => keep.has(o.id)).concat(orphans)) if (!verified.has(op.id)) await this.#verify(op);
		for (const op of orphans) this.#pending.set(op.id, op);
		while (this.#pending.size > MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value!);
		const kept = candidates.filter((op) => keep.has(op.id));
		for (const op of kept) this.#pending.delete(op.id);
		if (kept.length > 0) this.#write(kept, origin);
	}

	async #verify(op: SignedOp): Promise<void> {
		try {
			this.#signatureChecks++;
			await verifySignature(op);
		} catch (err) {
			throw new RoomUpdateError(`update carries a bad record: ${(err as Error).message}`);
		}
	}

	/**
	 * Of `ops`, the promotions and revocations that may take effect in the replay: by the creator, or by someone
	 * a promotion by such an author (held here, waiting for its parents, or among `ops`) names. The promotions
	 * come first: a forged one is found before the revocations of whoever it would make a moderator are verified.
	 */
	#authorityRecords(ops: Iterable<SignedOp>): SignedOp[] {
		const all = [...ops];
		const everything = [...this.#stored.values(), ...this.#pending.values(), ...all];
		const promoted = new Map<string, string[]>();
		for (const op of everything) {
			if (op.body.kind !== 'makeModerator') continue;
			const list = promoted.get(op.body.author);
			if (list) list.push(op.body.target);
			else promoted.set(op.body.author, [op.body.target]);
		}
		const creators = everything.filter((op) => op.body.kind === 'genesis').map((op) => op.body.author);
		const mayHold = reach(creators, (author) => promoted.get(author) ?? []);
		const fresh = all.filter((op) => AUTHORITY_KINDS.has(op.body.kind) && mayHold.has(op.body.author));
		return [...fresh.filter((op) => op.body.kind === 'makeModerator'), ...fresh.filter((op) => op.body.kind !== 'makeModerator')];
	}

	/** Decodes an update and parses the records in it. Throws RoomUpdateError when it is anything else. */
	async #records(update: Uint8Array): Promise<SignedOp[]> {
		if (update.length > MAX_UPDATE_BYTES) throw new RoomUpdateError('update too large');
		let decoded: ReturnType<typeof Y.decodeUpdate>;
		try {
			decoded = Y.decodeUpdateV2(update, BoundedDecoder);
		} catch (err) {
			throw err instanceof RoomUpdateError ? err : new RoomUpdateError('not a Yjs update');
		}
		if (decoded.ds.clients.size > 0) throw new RoomUpdateError('update deletes');
		const ops: SignedOp[] = [];
		for (const struct of decoded.structs) {
			if (!(struct instanceof Y.Item) || !(struct.content instanceof Y.ContentBinary)) throw new RoomUpdateError('update carries something that is not a record');
			// Decoded (not yet integrated) items name a root type by its string name.
			if ((struct.parent as unknown) !== OPS_MAP && struct.parent !== null) throw new RoomUpdateError('update writes outside the records map');
			const bytes = struct.content.content;
			if (bytes.length > MAX_OP_BYTES) throw new RoomUpdateError('update carries an oversized record');
			let op: SignedOp;
			try {
				op = await parseOp(bytes, this.roomId);
			} catch (err) {
				throw new RoomUpdateError(`update carries a bad record: ${(err as Error).message}`);
			}
			if (op.body.kind === 'genesis' && !(await this.#genesisBound(op))) throw new RoomUpdateError('update carries a genesis by someone other than the creator');
			ops.push(op);
		}
		return ops;
	}

	/**
	 * Replays the room with `candidates` (unverified) added: which of them to
	 * keep: those that take effect, and the parents they need.
	 */
	#judge(candidates: SignedOp[]): Set<string> {
		const trial = deriveRoom([...this.#stored.values(), ...candidates]);
		const keep = new Set<string>();
		// A void readmission (its author demoted concurrently) that leaves the current key with the member it names
		// is kept though refused: members that held it without the demotion handed that member the key, and the
		// moderators, who may have had the demotion first, must hold it too to rekey (authority.ts, keyExposedTo).
		// Only one the replay found so (well placed and void), one per member, at most MAX_EXPOSING_READMITS
		// exposing at once: a rekey on top of the demotion ends them. Its parents come with it, refused or not (its
		// author's other acts since the demotion are void too), as history, in the members' share.
		const byId = new Map(candidates.map((op) => [op.id, op]));
		const exposing = new Set<string>();
		const storedExposing = [...trial.exposingReadmits].filter(([id]) => this.#stored.has(id));
		const covered = new Set(storedExposing.map(([, target]) => target));
		let room = MAX_EXPOSING_READMITS - storedExposing.length;
		for (const op of candidates) {
			const target = trial.exposingReadmits.get(op.id);
			if (target === undefined || covered.has(target) || room <= 0) continue;
			exposing.add(op.id);
			covered.add(target);
			room--;
		}
		const stack = candidates.filter((op) => !trial.refused.has(op.id) || exposing.has(op.id)).map((op) => op.id);
		while (stack.length) {
			const id = stack.pop()!;
			if (keep.has(id)) continue;
			keep.add(id);
			for (const p of byId.get(id)!.body.parents) if (byId.has(p)) stack.push(p);
		}
		let bytes = this.#bytes;
		let count = this.#stored.size;
		// The members' share (MEMBERS_SHARE_BYTES), by what each record is, not who its author is now (a moderator's
		// acts stay its acts after a demotion): the kinds anyone on stage may make, and refused records kept as
		// history, but for history a moderator's act in effect needs (through refused records only): a record
		// stored in effect can be voided later (a concurrent revocation, a concurrent duplicate mute), and the
		// acts on top of it must not be dropped for it, here or on a reload.
		const forModerators = new Set<string>();
		const everything = [...this.#stored.values(), ...candidates].sort(compareOps);
		for (let i = everything.length - 1; i >= 0; i--) {
			const op = everything[i];
			if (trial.refused.has(op.id) ? !forModerators.has(op.id) : isMembersKind(op)) continue;
			for (const p of op.body.parents) if (trial.refused.has(p)) forModerators.add(p);
		}
		const members = (op: SignedOp) =>
			trial.refused.has(op.id) ? !forModerators.has(op.id) && !exposing.has(op.id) : op.body.kind === 'profile' || op.body.kind === 'unknown';
		let membersBytes = 0;
		let membersCount = 0;
		for (const op of this.#stored.values()) {
			if (!members(op)) continue;
			membersBytes += op.bytes.length;
			membersCount++;
		}
		// Full: from the first record past the cap, nothing more is stored but the creator's, into its reserve
		// (a room this size was filled on purpose; see docs/PROTOCOL.md), and none that names a record dropped.
		// Past the members' share, none of its records is stored, nor any that names one dropped.
		let full = false;
		const dropped = new Set<string>();
		for (const op of [...keep].map((id) => byId.get(id)!).sort(compareOps)) {
			const creators = op.body.author === trial.creator;
			const over = (extraBytes: number, extraCount: number) => bytes + op.bytes.length > MAX_ROOM_BYTES + extraBytes || count + 1 > MAX_ROOM_RECORDS + extraCount;
			const share = !creators && members(op);
			if (!creators && !full && over(0, 0)) full = true;
			const overShare = share && (membersBytes + op.bytes.length > MEMBERS_SHARE_BYTES || membersCount + 1 > MEMBERS_SHARE_RECORDS);
			if ((!creators && full) || overShare || (creators && over(CREATOR_RESERVE_BYTES, CREATOR_RESERVE_RECORDS)) || op.body.parents.some((p) => dropped.has(p))) {
				keep.delete(op.id);
				dropped.add(op.id);
				continue;
			}
			bytes += op.bytes.length;
			count++;
			if (share) {
				membersBytes += op.bytes.length;
				membersCount++;
			}
		}
		// History that nothing kept names any more (what named it was dropped) is not stored either.
		const needed = new Set<string>();
		for (const op of [...keep].map((id) => byId.get(id)!).sort(compareOps).reverse()) {
			if (trial.refused.has(op.id) && !needed.has(op.id) && !exposing.has(op.id)) {
				keep.delete(op.id);
				continue;
			}
			for (const p of op.body.parents) needed.add(p);
		}
		return keep;
	}

	/** Stores `ops` (admitted, verified) in canonical form and publishes the new view. */
	#write(ops: SignedOp[], origin: unknown): void {
		const sorted = [...ops].sort(compareOps);
		const clientId = this.doc.clientID;
		this.doc.transact(() => {
			for (const op of sorted) {
				this.doc.clientID = this.#clientIdFor(op.id);
				this.#ops.set(op.id, op.bytes);
			}
		}, origin);
		this.doc.clientID = clientId;
		this.#recordIds = null;
		for (const op of sorted) {
			this.#stored.set(op.id, op);
			this.#bytes += op.bytes.length;
			for (const p of op.body.parents) this.#heads.delete(p);
			this.#heads.add(op.id);
		}
		this.#view = deriveRoom(this.#stored.values());
		for (const listener of this.#listeners) listener(this.#view);
	}

	async #genesisBound(op: SignedOp): Promise<boolean> {
		const author = ed25519PeerId(op.body.author);
		return author !== null && (await roomIdFor(this.#key, author.publicKey.raw)) === this.roomId;
	}
}

