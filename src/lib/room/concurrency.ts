/**
 * Which ops are concurrent with which revocations of their author: the question behind "revocation wins"
 * (authority.ts), asked in every round of every replay.
 *
 * Two ops are concurrent when neither is in the other's history (reachable through parent links). A walk of
 * the room from every revocation answers it at a cost of revocations × room: a moderator's thousands of bans
 * of one member that has thousands of records (its own second identity, the records kept as the bans'
 * parents) took seconds a replay, for every member, on every update, and the room stored them.
 *
 * Here each member a revocation in effect names gets a line of bits: one per op of its, or one per revocation
 * in effect naming it, whichever are fewer (none when it made no op). One pass over the room each way builds,
 * for every op, a bitset over all lines of the ops in its history and of those made on top of it; only the
 * sets of the ops read later are kept. That costs (ops + parent links) × bits / 32 words, in time and (while
 * it is built) in memory. The first round builds over the revocations in effect; a later round where voiding
 * let others take effect builds over those alone, in a segment of their own (kept, with its sets, for the rest
 * of the replay). The segments' bits never exceed one per revocation that takes effect, nor a full build per
 * round: a chain that adds a few per round costs those few bits, plus a pass over the room each way in each
 * round that adds any. Revocations that take effect in no round (forged ones by someone without the role)
 * cost nothing.
 */
import type { SignedOp } from './room-op-codec';

interface Line {
	/** The member's ops, in replay order. */
	ops: SignedOp[];
	/** The revocations naming the member that this segment holds, in replay order. */
	revocations: SignedOp[];
	/** True: the line's bits stand for `ops` (read at each revocation); false: for `revocations` (read at each op). */
	overOps: boolean;
	/** Where the line's bits start in the segment's sets. */
	offset: number;
}

/** Lines built at once: those of the revocations that first took effect in one round. */
interface Segment {
	lines: Map<string, Line>;
	/** [in its history, made on top of it] for each op a line reads, over every line's bits. */
	sets: Map<string, [Uint32Array, Uint32Array]>;
	/** Words in each set. */
	words: number;
}

export class Concurrency {
	readonly #placed: Map<string, SignedOp>;
	readonly #targetOf: (op: SignedOp) => string | undefined;
	#byAuthor: Map<string, SignedOp[]> | null = null;
	/** Each op's place in the replay (to order the voiders found in two segments). */
	#rank: Map<string, number> | null = null;
	readonly #segments: Segment[] = [];
	/** The revocations some segment holds. */
	readonly #held = new Set<string>();
	#bits = 0;

	/**
	 * `placed`: the room's well-placed ops in replay order (every op's parents are among them, before it).
	 * `targetOf`: the member an op revokes, for the revocation kinds (never its author); undefined for every other op.
	 */
	constructor(placed: Map<string, SignedOp>, targetOf: (op: SignedOp) => string | undefined) {
		this.#placed = placed;
		this.#targetOf = targetOf;
	}

	/**
	 * Every op concurrent with one of `revocations` (revocations among the placed ops, each once, in replay order)
	 * of its author, with the first `keep` of those revocations in replay order.
	 */
	voided(revocations: readonly SignedOp[], keep: number): Map<string, string[]> {
		const fresh = revocations.filter((r) => !this.#held.has(r.id));
		if (fresh.length > 0) this.#segments.push(this.#segment(fresh));
		const effective = new Set(revocations.map((r) => r.id));
		const voided = new Map<string, string[]>();
		const add = (op: string, by: string[]) => {
			const before = voided.get(op);
			if (!before) return voided.set(op, by);
			// Found in two segments: the first `keep` of both in replay order.
			const rank = this.#ranks();
			voided.set(op, [...before, ...by].sort((x, y) => rank.get(x)! - rank.get(y)!).slice(0, keep));
		};
		for (const segment of this.#segments) {
			// Bits of ops that have `keep` revocations already, and of revocations not in effect: masked out.
			const full = new Uint32Array(segment.words);
			const idle = new Uint32Array(segment.words);
			for (const line of segment.lines.values()) {
				if (line.ops.length === 0 || !line.revocations.some((r) => effective.has(r.id))) continue;
				if (line.overOps) {
					// Read at each revocation in effect.
					const found = new Map<string, string[]>();
					for (const revocation of line.revocations) {
						if (!effective.has(revocation.id)) continue;
						const [before, after] = segment.sets.get(revocation.id)!;
						forEachClear(line.offset, line.ops.length, (w) => before[w] | after[w] | full[w], (i) => {
							const op = line.ops[i - line.offset].id;
							const by = found.get(op) ?? [];
							by.push(revocation.id);
							found.set(op, by);
							if (by.length >= keep) full[i >>> 5] |= 1 << (i & 31);
						});
					}
					for (const [op, by] of found) add(op, by);
				} else {
					// Read at each op.
					line.revocations.forEach((r, i) => {
						const at = line.offset + i;
						if (!effective.has(r.id)) idle[at >>> 5] |= 1 << (at & 31);
					});
					for (const op of line.ops) {
						const [before, after] = segment.sets.get(op.id)!;
						const by: string[] = [];
						forEachClear(line.offset, line.revocations.length, (w) => before[w] | after[w] | idle[w], (i) => {
							by.push(line.revocations[i - line.offset].id);
							return by.length >= keep;
						});
						if (by.length > 0) add(op.id, by);
					}
				}
			}
		}
		return voided;
	}

	/**
	 * The lines of revocations no segment holds yet: all in effect in the first round, then those a later round
	 * has take effect (voiding let them), in a segment of their own, so a round costs passes over the room
	 * for its new revocations only. Only revocations that take effect count: records that take none (forged,
	 * or by someone without the role) cost nothing here.
	 */
	#segment(revocations: SignedOp[]): Segment {
		if (!this.#byAuthor) {
			this.#byAuthor = new Map();
			for (const op of this.#placed.values()) push(this.#byAuthor, op.body.author, op);
		}
		const revocationsOf = new Map<string, SignedOp[]>();
		for (const r of revocations) {
			this.#held.add(r.id);
			push(revocationsOf, this.#targetOf(r)!, r);
		}
		const lines = new Map<string, Line>();
		const marks = new Map<string, number[]>();
		let bits = 0;
		for (const [target, held] of revocationsOf) {
			const ops = this.#byAuthor.get(target) ?? [];
			const overOps = ops.length <= held.length;
			// A member that made no op (a listener, as a rule) has nothing to void: no bits.
			const marked = ops.length === 0 ? [] : overOps ? ops : held;
			lines.set(target, { ops, revocations: held, overOps, offset: bits });
			for (const op of marked) push(marks, op.id, bits++);
		}
		const read = new Set<string>();
		for (const line of lines.values()) if (line.ops.length > 0) for (const op of line.overOps ? line.revocations : line.ops) read.add(op.id);
		this.#bits += bits;
		return { lines, sets: bits === 0 ? new Map() : this.#around(marks, bits, read), words: words(bits) };
	}

	/** Bits built in all segments so far: what the rounds cost (tests). */
	get bitsBuilt(): number {
		return this.#bits;
	}

	#ranks(): Map<string, number> {
		if (!this.#rank) this.#rank = new Map([...this.#placed.keys()].map((id, i) => [id, i]));
		return this.#rank;
	}

	/**
	 * For each op in `read`, bitsets over `count` bits (`marks`: the bits each op stands for): of the ops in its
	 * history, and of those made on top of it. One pass over the room each way (parents come before their
	 * children); an op that adds nothing to the set of its one parent (or child) that has bits shares it.
	 */
	#around(marks: Map<string, number[]>, count: number, read: Set<string>): Map<string, [Uint32Array, Uint32Array]> {
		const n = words(count);
		const none: Uint32Array = new Uint32Array(n);
		const sweep = (order: SignedOp[], next: (op: SignedOp) => readonly string[]) => {
			const sets = new Map<string, Uint32Array>();
			for (const op of order) {
				let bits = none;
				let own = false;
				for (const id of next(op)) {
					const theirs = sets.get(id)!;
					const mark = marks.get(id);
					if (mark === undefined && theirs === none) continue;
					if (mark === undefined && bits === none) {
						bits = theirs;
						continue;
					}
					if (!own) {
						bits = bits.slice();
						own = true;
					}
					if (theirs !== none) for (let w = 0; w < n; w++) bits[w] |= theirs[w];
					for (const i of mark ?? []) bits[i >>> 5] |= 1 << (i & 31);
				}
				sets.set(op.id, bits);
			}
			return sets;
		};
		const order = [...this.#placed.values()];
		const before = sweep(order, (op) => op.body.parents);
		const children = new Map<string, string[]>();
		for (const op of order) for (const p of op.body.parents) push(children, p, op.id);
		const after = sweep(order.reverse(), (op) => children.get(op.id) ?? []);
		return new Map([...read].map((id) => [id, [before.get(id)!, after.get(id)!]]));
	}
}

function words(bits: number): number {
	return (bits + 31) >>> 5;
}

/** Calls `each` with every index in [from, from + count) whose bit is clear in `set(word)`, in order, until it returns true. */
function forEachClear(from: number, count: number, set: (word: number) => number, each: (index: number) => boolean | void): void {
	if (count === 0) return;
	const end = from + count;
	for (let w = from >>> 5; w <= (end - 1) >>> 5; w++) {
		let clear = ~set(w);
		if (w === from >>> 5 && from % 32 !== 0) clear &= ~((1 << (from % 32)) - 1);
		if (w === (end - 1) >>> 5 && end % 32 !== 0) clear &= (1 << (end % 32)) - 1;
		while (clear !== 0) {
			const bit = 31 - Math.clz32(clear & -clear);
			clear &= clear - 1;
			if (each(w * 32 + bit)) return;
		}
	}
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
	const list = map.get(key);
	if (list) list.push(value);
	else map.set(key, [value]);
}
