/**
 * Who may do what in a room, decided by every peer for itself.
 *
 * The room's state is not stored: it is *derived* from the set of verified,
 * signed ops, replayed in one total order — (lamport, author, id) — that every
 * peer computes the same way. Each op takes effect only if its author had the
 * right to do it at that point of the replay; otherwise it is ignored. Two
 * peers holding the same set of ops therefore show the same room, whatever
 * order the ops arrived in, and an op nobody was entitled to make never shows
 * anywhere.
 *
 * Ranks: creator > moderators > speakers > audience. Moderators are always on
 * stage. Rules (also in docs/PROTOCOL.md):
 * - genesis: the first (bound) genesis makes its author the creator.
 * - meta: moderators edit title, description, visibility (later op wins).
 * - invite X: a moderator invites X (not on stage, not removed, not banned).
 * - accept / decline: only the invitee, naming a pending invitation.
 * - moveToAudience X: a moderator acting on X, or X stepping down itself
 *   (speakers only: a moderator stays on stage until the creator demotes it).
 * - mute / unmute X: a moderator acting on a speaker X. Holds until unmuted.
 * - remove X / readmit X: out of the room until readmitted.
 * - ban X: out of the room until the creator readmits X.
 *   A remove or ban that takes effect and carries `epoch` (a key commitment)
 *   starts a new content-key epoch: view.keyEpochs, oldest first.
 * - rekey: a moderator starts a new epoch with nobody put out (a new
 *   commitment only): the remedy when an epoch's key was lost with the one
 *   who drew it (room-session.ts), or when the current key may have reached
 *   someone put out (view.keyExposedTo).
 * - makeModerator X: a moderator promotes X (onto the stage).
 * - revokeModerator X: the creator only.
 * - end: the creator only; nothing takes effect afterwards.
 * - profile: someone on stage names themselves, with an avatar or none (both
 *   outlive their presence: view.names, view.avatars); at most
 *   MAX_PROFILES_PER_AUTHOR take effect each.
 * - a kind this version does not know (a later version's, read as
 *   `unknown`): kept with no effect when its author is on stage, at most
 *   MAX_UNKNOWN_PER_AUTHOR each, so that peers of both versions hold the
 *   same records and later records can name it as a parent. A later
 *   version's new kinds must stay inside this envelope (docs/PROTOCOL.md).
 * "A moderator acting on X" requires X ≠ creator and, when X is a moderator,
 * that the actor is the creator. Nobody removed or banned can act.
 *
 * Time and revocation (the hostile cases; docs/PROTOCOL.md compares them
 * with Matrix and Keyhive):
 * - An op is well placed only if its parents are all known, well placed ops
 *   and its lamport is exactly 1 + the highest parent's (the genesis: no
 *   parents, lamport 1). Anything else is refused and counts for nothing,
 *   not even for `maxLamport`: nobody can push the clock out of reach.
 * - Revocation wins: once a revokeModerator, remove or ban of X takes effect,
 *   every op by X that is concurrent with it — neither in its history nor
 *   made on top of it — is void. Back-dating (naming old parents) makes an
 *   act concurrent, so it is void too. Ops made on top of the revocation are
 *   judged normally (X no longer holds the role). Voiding an op can void a
 *   revocation in turn, so the replay repeats until the void set is stable
 *   (bounded; the same input gives the same rounds on every peer).
 */
import type { Avatar } from '../identity/avatar';
import { Concurrency } from './concurrency';
import type { OpBody, SignedOp, Visibility } from './room-op-codec';

export interface Invitation {
	id: string;
	by: string;
	ts: number;
}

export interface RoomView {
	/** False until a valid genesis op is known. */
	exists: boolean;
	creator: string | null;
	title: string;
	description: string;
	visibility: Visibility;
	createdAt: number;
	moderators: ReadonlySet<string>;
	/** Everyone on stage, moderators included. */
	stage: ReadonlySet<string>;
	/** Pending invitations by invitee. */
	invitations: ReadonlyMap<string, Invitation>;
	/** Muted by a moderator (self-mute is presence, not authority). */
	modMuted: ReadonlySet<string>;
	removed: ReadonlySet<string>;
	banned: ReadonlySet<string>;
	ended: boolean;
	/**
	 * Commitments to the room's content keys, oldest first: each remove, ban or
	 * rekey that takes effect and carries one starts a new key epoch (room-keys.ts).
	 * The last is the key the room seals its topic with now.
	 */
	keyEpochs: readonly string[];
	/** Who signed the op behind each commitment in keyEpochs: the member that surely holds that key. */
	keyEpochAuthors: ReadonlyMap<string, string>;
	/**
	 * Members out of the room (removed or banned) the current key may have reached, each with the ops a new
	 * epoch must be made on top of to keep its key from them. The op that started the current epoch can be
	 * held without what puts them out, and a member holding it so judges them in and hands them its key
	 * (room-key-protocol.ts judges by the giver's view): when none of the ops that put them out since they
	 * were last let in is in that op's history (made concurrently with it: two moderators putting out two
	 * members at once; or carrying no epoch of their own), or when a readmission of theirs that is void
	 * (its author demoted concurrently) could be held with that op but without the revocation that voids
	 * it: that revocation is not in the op's history, nor an op putting them out again after the
	 * readmission. The readmission itself may be in that history, on top of the op, or concurrent. While
	 * this is not empty, a moderator starts an epoch on top of those ops (`rekey`, room-session.ts).
	 */
	keyExposedTo: ReadonlyMap<string, readonly string[]>;
	/**
	 * The void readmissions behind keyExposedTo's second case, each with the member it names: the gate keeps
	 * them though refused, so that a moderator that had the demotion first sees the exposure (room-doc.ts).
	 */
	exposingReadmits: ReadonlyMap<string, string>;
	/** The name each member on stage last gave itself (`profile`); kept after they leave the stage. */
	names: ReadonlyMap<string, string>;
	/** The avatar given with that name, when there was one. */
	avatars: ReadonlyMap<string, Avatar>;
	/** Highest lamport among well-placed ops (see the header). */
	maxLamport: number;
	/** Ops that were refused or voided, for diagnostics and tests; never shown. */
	refused: ReadonlySet<string>;
}

// A revocation voiding another revocation voiding another: three ranks need 3 rounds; 8 is a generous, finite bound.
const MAX_VOID_ROUNDS = 8;
const REVOCATIONS = new Set(['revokeModerator', 'remove', 'ban']);
// The revocations kept per void op, and the ops an exposure lists per member: enough for a new epoch to follow
// (any one voiding revocation in its history keeps the member out), few enough that a rekey names them all.
const MAX_VOIDERS_KEPT = 2;
const MAX_EXPOSURE_OPS = 8;
// A name changed 16 times is plenty for one room; the bound keeps a speaker from filling the room with renames.
export const MAX_PROFILES_PER_AUTHOR = 16;
// Records of kinds this version does not know, per author: the envelope a later version's kinds must fit in.
export const MAX_UNKNOWN_PER_AUTHOR = 32;

/** Orders ops the same way on every peer. */
export function compareOps(a: SignedOp, b: SignedOp): number {
	return a.body.lamport - b.body.lamport || cmp(a.body.author, b.body.author) || cmp(a.id, b.id);
}

/**
 * Replays `ops` (verified; any genesis among them already checked to match the
 * room id) and returns the room they describe.
 */
export function deriveRoom(ops: Iterable<SignedOp>): RoomView {
	const sorted = [...ops].sort(compareOps);
	const placed = wellPlaced(sorted);
	let voided = new Map<string, string[]>();
	let result = replay(sorted, placed, voided);
	const concurrency = new Concurrency(placed, (op) => (REVOCATIONS.has(op.body.kind) ? (op.body as { target: string }).target : undefined));
	for (let round = 0; round < MAX_VOID_ROUNDS; round++) {
		// Ops concurrent with a revocation of their author that takes effect: void (see the header). Each with the
		// revocations that void it, at most MAX_VOIDERS_KEPT (what a new epoch must follow to keep a void
		// readmission's member out), the first in replay order.
		const next = concurrency.voided(result.revocations, MAX_VOIDERS_KEPT);
		const same = next.size === voided.size && [...next.keys()].every((id) => voided.has(id));
		voided = next; // the same set, and the revocations that void each as the last replay found them
		if (same) break;
		result = replay(sorted, placed, voided);
	}
	const { view, outBy, epochOps, voidedReadmits } = result;
	if (outBy.size > 0) {
		const current = view.keyEpochs.at(-1);
		const epochOp = current === undefined ? undefined : placed.get(epochOps.get(current)!);
		// Lamports fall strictly along parent links: the walk stops below the oldest op it looks for.
		let floor = Infinity;
		for (const ids of outBy.values()) for (const id of ids) floor = Math.min(floor, placed.get(id)!.body.lamport);
		for (const r of voidedReadmits) for (const id of [r.id, ...(voided.get(r.id) ?? [])]) floor = Math.min(floor, placed.get(id)!.body.lamport);
		const history = epochOp === undefined ? new Set<string>() : reach(epochOp.id, (id) => ((placed.get(id)?.body.lamport ?? 0) > floor ? placed.get(id)!.body.parents : []));
		for (const [peerId, putOut] of outBy) {
			// The newest op that put the member out: a member holding the epoch's op without it may have judged
			// the member let back in by a readmission this view refuses for it (a ban concurrent with both).
			const newest = putOut.at(-1)!;
			if (!history.has(newest)) {
				view.keyExposedTo.set(peerId, [newest]);
				continue;
			}
			for (const readmit of voidedReadmits) {
				if ((readmit.body as { target: string }).target !== peerId) continue;
				// A member holding the epoch's op and this readmission (whether in that op's history, made on top of
				// it or concurrently) but no revocation that voids it counted the member in and could hand it the
				// key: unless such a revocation is in the epoch op's history, or an op putting the member out again
				// after the readmission is.
				const voids = voided.get(readmit.id) ?? [];
				if (voids.length === 0 || voids.some((id) => history.has(id))) continue;
				if (putOut.some((id) => history.has(id) && compareOps(placed.get(id)!, readmit) > 0)) continue;
				const list = view.keyExposedTo.get(peerId) ?? [newest];
				if (list.length + voids.length <= MAX_EXPOSURE_OPS) view.keyExposedTo.set(peerId, [...new Set([...list, ...voids])]);
				view.exposingReadmits.set(readmit.id, peerId);
			}
		}
	}
	return view;
}

/** `from` (one id or several) and every id `next` leads to from it, transitively. */
export function reach(from: string | readonly string[], next: (id: string) => readonly string[]): Set<string> {
	const starts = typeof from === 'string' ? [from] : [...from];
	const seen = new Set<string>(starts);
	const stack = starts;
	while (stack.length) {
		for (const id of next(stack.pop()!)) {
			if (seen.has(id)) continue;
			seen.add(id);
			stack.push(id);
		}
	}
	return seen;
}

/** Ops whose parents are known and well placed and whose lamport is 1 + the highest parent's. */
function wellPlaced(sorted: SignedOp[]): Map<string, SignedOp> {
	const placed = new Map<string, SignedOp>();
	for (const op of sorted) {
		const { parents, lamport, kind } = op.body;
		if (kind === 'genesis') {
			if (parents.length === 0 && lamport === 1) placed.set(op.id, op);
			continue;
		}
		let max = 0;
		let known = parents.length > 0;
		for (const id of parents) {
			const parent = placed.get(id);
			if (!parent) known = false;
			else max = Math.max(max, parent.body.lamport);
		}
		if (known && lamport === max + 1) placed.set(op.id, op);
	}
	return placed;
}

function replay(
	sorted: SignedOp[],
	placed: Map<string, SignedOp>,
	voided: ReadonlyMap<string, readonly string[]>
): {
	view: RoomView & { keyExposedTo: Map<string, readonly string[]>; exposingReadmits: Map<string, string> };
	revocations: SignedOp[];
	outBy: Map<string, string[]>;
	epochOps: Map<string, string>;
	voidedReadmits: SignedOp[];
} {
	const revocations: SignedOp[] = [];
	/** Each member out of the room now, and the ops that put it out since it was last let in. */
	const outBy = new Map<string, string[]>();
	/** Readmissions void for a revocation of their author's (voidedBy). */
	const voidedReadmits: SignedOp[] = [];
	/** The op that started each key epoch. */
	const epochOps = new Map<string, string>();
	const s = {
		exists: false,
		creator: null as string | null,
		title: '',
		description: '',
		visibility: 'private' as Visibility,
		createdAt: 0,
		moderators: new Set<string>(),
		stage: new Set<string>(),
		invitations: new Map<string, Invitation>(),
		modMuted: new Set<string>(),
		removed: new Set<string>(),
		banned: new Set<string>(),
		ended: false,
		keyEpochs: [] as string[],
		keyEpochAuthors: new Map<string, string>(),
		keyExposedTo: new Map<string, readonly string[]>(),
		exposingReadmits: new Map<string, string>(),
		names: new Map<string, string>(),
		avatars: new Map<string, Avatar>(),
		maxLamport: 0,
		refused: new Set<string>()
	};
	const invitationTargets = new Map<string, string>();
	const profiles = new Map<string, number>();
	const unknowns = new Map<string, number>();
	/** Counts one more of `author`'s in `counts`, unless it has `max` already. */
	const within = (counts: Map<string, number>, author: string, max: number) => {
		const n = counts.get(author) ?? 0;
		if (n >= max) return false;
		counts.set(author, n + 1);
		return true;
	};

	const isModerator = (p: string) => s.moderators.has(p);
	const isOut = (p: string) => s.removed.has(p) || s.banned.has(p);
	const epochsSeen = new Set<string>();
	const newEpoch = (epoch: string, op: SignedOp) => {
		if (epochsSeen.has(epoch)) return;
		epochsSeen.add(epoch);
		s.keyEpochs.push(epoch);
		s.keyEpochAuthors.set(epoch, op.body.author);
		epochOps.set(epoch, op.id);
	};
	/** A moderator may act on X unless X is the creator, or X is a moderator and the actor is not the creator. */
	const mayActOn = (actor: string, target: string) =>
		isModerator(actor) && target !== s.creator && target !== actor && (!isModerator(target) || actor === s.creator);
	const leaveStage = (p: string) => {
		s.stage.delete(p);
		s.moderators.delete(p);
		s.modMuted.delete(p);
		s.invitations.delete(p);
	};

	const apply = (op: SignedOp): boolean => {
		const body: OpBody = op.body;
		const author = body.author;
		if (body.kind === 'genesis') {
			if (s.exists) return false;
			Object.assign(s, { exists: true, creator: author, title: body.title, description: body.description, visibility: body.visibility, createdAt: body.ts });
			s.moderators.add(author);
			s.stage.add(author);
			return true;
		}
		if (!s.exists || s.ended || isOut(author)) return false;
		switch (body.kind) {
			case 'meta':
				if (!isModerator(author)) return false;
				if (body.title !== undefined) {
					if (body.title.trim() === '') return false;
					s.title = body.title;
				}
				if (body.description !== undefined) s.description = body.description;
				if (body.visibility !== undefined) s.visibility = body.visibility;
				return true;
			case 'invite':
				if (!isModerator(author) || s.stage.has(body.target) || isOut(body.target) || body.target === author) return false;
				s.invitations.set(body.target, { id: op.id, by: author, ts: body.ts });
				invitationTargets.set(op.id, body.target);
				return true;
			case 'accept':
			case 'decline': {
				const pending = s.invitations.get(author);
				if (!pending || pending.id !== body.invitation || invitationTargets.get(body.invitation) !== author) return false;
				s.invitations.delete(author);
				if (body.kind === 'accept') s.stage.add(author);
				return true;
			}
			case 'moveToAudience': {
				const self = body.target === author && !isModerator(author);
				if (!s.stage.has(body.target) && !s.invitations.has(body.target)) return false;
				if (!self && !mayActOn(author, body.target)) return false;
				leaveStage(body.target);
				return true;
			}
			case 'mute':
				if (!s.stage.has(body.target) || s.modMuted.has(body.target) || !mayActOn(author, body.target)) return false;
				s.modMuted.add(body.target);
				return true;
			case 'unmute':
				if (!s.modMuted.has(body.target) || !mayActOn(author, body.target)) return false;
				s.modMuted.delete(body.target);
				return true;
			case 'remove':
			case 'ban':
				if (!mayActOn(author, body.target)) return false;
				if (body.kind === 'remove' && isOut(body.target)) return false;
				leaveStage(body.target);
				if (outBy.has(body.target)) outBy.get(body.target)!.push(op.id);
				else outBy.set(body.target, [op.id]);
				if (body.kind === 'ban') {
					s.removed.delete(body.target);
					s.banned.add(body.target);
				} else s.removed.add(body.target);
				if (body.epoch !== undefined) newEpoch(body.epoch, op);
				return true;
			case 'rekey':
				if (!isModerator(author) || epochsSeen.has(body.epoch)) return false;
				newEpoch(body.epoch, op);
				return true;
			case 'readmit':
				// A removal any moderator may undo; a ban only the creator (who can undo every moderator's act).
				if (s.banned.has(body.target) ? author !== s.creator : !isModerator(author) || !s.removed.has(body.target)) return false;
				s.removed.delete(body.target);
				s.banned.delete(body.target);
				outBy.delete(body.target);
				return true;
			case 'makeModerator':
				if (!isModerator(author) || isModerator(body.target) || isOut(body.target)) return false;
				s.moderators.add(body.target);
				s.stage.add(body.target);
				s.invitations.delete(body.target);
				return true;
			case 'revokeModerator':
				if (author !== s.creator || body.target === s.creator || !isModerator(body.target)) return false;
				s.moderators.delete(body.target);
				return true;
			case 'end':
				if (author !== s.creator) return false;
				s.ended = true;
				return true;
			case 'profile':
				if (!s.stage.has(author) || !within(profiles, author, MAX_PROFILES_PER_AUTHOR)) return false;
				s.names.set(author, body.name);
				if (body.avatar) s.avatars.set(author, body.avatar);
				else s.avatars.delete(author);
				return true;
			case 'unknown':
				return s.stage.has(author) && within(unknowns, author, MAX_UNKNOWN_PER_AUTHOR);
		}
	};

	for (const op of sorted) {
		if (!placed.has(op.id)) {
			s.refused.add(op.id);
			continue;
		}
		s.maxLamport = Math.max(s.maxLamport, op.body.lamport);
		// Only a removal's readmission can be void: a ban only the creator undoes, and nobody revokes the creator.
		if (voided.has(op.id) && op.body.kind === 'readmit' && s.removed.has(op.body.target)) voidedReadmits.push(op);
		if (voided.has(op.id) || !apply(op)) s.refused.add(op.id);
		else if (REVOCATIONS.has(op.body.kind)) revocations.push(op);
	}
	return { view: s, revocations, outBy, epochOps, voidedReadmits };
}

export type Role = 'creator' | 'moderator' | 'speaker' | 'audience' | 'removed' | 'banned';

export function roleOf(view: RoomView, peerId: string): Role {
	if (view.banned.has(peerId)) return 'banned';
	if (view.removed.has(peerId)) return 'removed';
	if (view.creator === peerId) return 'creator';
	if (view.moderators.has(peerId)) return 'moderator';
	if (view.stage.has(peerId)) return 'speaker';
	return 'audience';
}

function cmp(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

export type MemberAction = 'invite' | 'mute' | 'unmute' | 'moveToAudience' | 'makeModerator' | 'revokeModerator' | 'remove' | 'ban';

/**
 * What `actor` may do to `target` right now, by the same rules the replay
 * applies: the UI offers exactly these, so a button never signs an op that
 * every peer would refuse.
 */
export function permittedActions(view: RoomView, actor: string, target: string): MemberAction[] {
	const isMod = (p: string) => view.moderators.has(p);
	const out = (p: string) => view.removed.has(p) || view.banned.has(p);
	if (!view.exists || view.ended || out(actor) || !isMod(actor) || actor === target || target === view.creator) return [];
	if (isMod(target) && actor !== view.creator) return [];
	if (out(target)) return [];
	const actions: MemberAction[] = [];
	const onStage = view.stage.has(target);
	if (!onStage && !view.invitations.has(target)) actions.push('invite');
	if (onStage) actions.push(view.modMuted.has(target) ? 'unmute' : 'mute');
	if (onStage || view.invitations.has(target)) actions.push('moveToAudience');
	// Nobody goes on stage without saying yes: someone off stage is invited first, and made moderator once there.
	if (isMod(target)) {
		if (actor === view.creator) actions.push('revokeModerator');
	} else if (onStage) actions.push('makeModerator');
	actions.push('remove', 'ban');
	return actions;
}
