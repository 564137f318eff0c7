/**
 * One room's Yjs document and the gate in front of it.
 *
 * The document holds one map, `ops`: op id → signed op bytes (see
 * room-op-codec.ts). Values are content-addressed (the key is the hash of the
 * value), signed, and checked before any update touches the document:
 * - every new value must hash to its key, verify, and belong to this room
 *   (a genesis must also match the room id's creator binding);
 * - an update must not make any known op disappear (no deletions of records,
 *   only the harmless replacement of a value by identical bytes);
 * - anything else in the update (other types, other content) rejects it whole.
 * A peer that writes straight into its own document can therefore only add
 * records that every other peer will re-check against the authority rules
 * (authority.ts); it cannot erase or rewrite anyone's.
 */
import type { PeerId, PrivateKey } from '@libp2p/interface';
import * as Y from 'yjs';
import { deriveRoom, type RoomView } from './authority';
import { roomIdFor } from './room-link';
import { ed25519PeerId, OpError, opId, signOp, verifyOp, type OpIntent, type SignedOp } from './room-op-codec';

export const OPS_MAP = 'ops';
/** Origin tag for changes made by this peer through the API. */
export const LOCAL_ORIGIN = Symbol('stanza-local');
// An update carrying more than this many records at once comes from a sync, not a person: 10,000 is generous.
const MAX_OPS_PER_UPDATE = 10_000;

export class RoomUpdateError extends Error {
	override name = 'RoomUpdateError';
}

export class RoomDoc {
	readonly roomId: string;
	readonly doc = new Y.Doc();
	readonly #key: Uint8Array;
	readonly #ops: Y.Map<Uint8Array>;
	readonly #verified = new Map<string, SignedOp>();
	readonly #listeners = new Set<(view: RoomView) => void>();
	#view: RoomView;
	/** Serializes incoming updates: each is checked against the document as the previous one left it. */
	#queue: Promise<unknown> = Promise.resolve();

	constructor(roomId: string, key: Uint8Array) {
		this.roomId = roomId;
		this.#key = key;
		this.#ops = this.doc.getMap<Uint8Array>(OPS_MAP);
		this.#view = deriveRoom([]);
	}

	get view(): RoomView {
		return this.#view;
	}

	get ops(): ReadonlyMap<string, SignedOp> {
		return this.#verified;
	}

	/** Calls `listener` with the new view whenever the derived room changes. Returns an unsubscribe. */
	subscribe(listener: (view: RoomView) => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	/** Signs an op as `author` and adds it. Throws OpError when the op is malformed. */
	async addOp(intent: OpIntent, author: { peerId: PeerId; privateKey: PrivateKey }, now = Date.now()): Promise<SignedOp> {
		const op = await signOp(intent, {
			roomId: this.roomId,
			author: author.peerId,
			privateKey: author.privateKey,
			lamport: this.#view.maxLamport + 1,
			now
		});
		if (op.body.kind === 'genesis' && !(await this.#genesisBound(op))) throw new OpError('only the room’s creator can start it');
		this.doc.transact(() => this.#ops.set(op.id, op.bytes), LOCAL_ORIGIN);
		this.#accept([op]);
		return op;
	}

	/**
	 * Checks and applies an update from elsewhere (a peer, or storage).
	 * Throws RoomUpdateError (and leaves the document untouched) when it fails.
	 */
	applyUpdate(update: Uint8Array, origin: unknown): Promise<void> {
		const next = this.#queue.then(() => this.#applyChecked(update, origin));
		this.#queue = next.catch(() => {});
		return next;
	}

	async #applyChecked(update: Uint8Array, origin: unknown): Promise<void> {
		let decoded: ReturnType<typeof Y.decodeUpdate>;
		try {
			decoded = Y.decodeUpdate(update);
		} catch {
			throw new RoomUpdateError('not a Yjs update');
		}
		const items = decoded.structs.filter((s): s is Y.Item => s instanceof Y.Item);
		if (decoded.structs.some((s) => s instanceof Y.GC)) throw new RoomUpdateError('update carries garbage-collected structs');
		if (items.length > MAX_OPS_PER_UPDATE) throw new RoomUpdateError('update carries too many records');
		for (const item of items) {
			if (!(item.content instanceof Y.ContentBinary)) throw new RoomUpdateError('update carries content that is not a record');
			const isNewKey = item.origin === null && item.rightOrigin === null;
			// Decoded (not yet integrated) items name a root type by its string name.
			if (isNewKey && ((item.parent as unknown) !== OPS_MAP || typeof item.parentSub !== 'string')) {
				throw new RoomUpdateError('update writes outside the records map');
			}
		}
		const simple = decoded.ds.clients.size === 0 && items.every((i) => i.origin === null && i.rightOrigin === null);
		const fresh = new Map<string, Uint8Array>();
		if (simple) {
			for (const item of items) {
				const key = item.parentSub as string;
				const bytes = (item.content as Y.ContentBinary).content;
				if (!this.#verified.has(key)) fresh.set(key, bytes);
				// A second value under a known key must be the same record, or it could win Yjs's tie-break.
				else if ((await opId(bytes)) !== key) throw new RoomUpdateError('update rewrites a record');
			}
		} else {
			// Overwrites or deletions: play the update on a copy and compare.
			const scratch = new Y.Doc();
			Y.applyUpdate(scratch, Y.encodeStateAsUpdate(this.doc));
			try {
				Y.applyUpdate(scratch, update);
			} catch {
				throw new RoomUpdateError('update does not apply');
			}
			const after = scratch.getMap<unknown>(OPS_MAP);
			for (const key of this.#verified.keys()) if (!after.has(key)) throw new RoomUpdateError('update would erase a record');
			for (const [key, value] of after) {
				if (!(value instanceof Uint8Array)) throw new RoomUpdateError('update stores something that is not a record');
				if (!this.#verified.has(key)) fresh.set(key, value);
			}
			for (const [key, value] of after) {
				if (this.#verified.has(key) && (await opId(value as Uint8Array)) !== key) throw new RoomUpdateError('update rewrites a record');
			}
		}
		const accepted: SignedOp[] = [];
		for (const [key, bytes] of fresh) {
			let op: SignedOp;
			try {
				op = await verifyOp(bytes, this.roomId);
			} catch (err) {
				throw new RoomUpdateError(`update carries a bad record: ${(err as Error).message}`);
			}
			if (op.id !== key) throw new RoomUpdateError('update files a record under the wrong id');
			if (op.body.kind === 'genesis' && !(await this.#genesisBound(op))) throw new RoomUpdateError('update carries a genesis by someone other than the creator');
			accepted.push(op);
		}
		Y.applyUpdate(this.doc, update, origin);
		this.#accept(accepted);
	}

	#accept(ops: SignedOp[]): void {
		for (const op of ops) this.#verified.set(op.id, op);
		if (ops.length === 0) return;
		this.#view = deriveRoom(this.#verified.values());
		for (const listener of this.#listeners) listener(this.#view);
	}

	async #genesisBound(op: SignedOp): Promise<boolean> {
		const author = ed25519PeerId(op.body.author);
		return author !== null && (await roomIdFor(this.#key, author.publicKey.raw)) === this.roomId;
	}
}
