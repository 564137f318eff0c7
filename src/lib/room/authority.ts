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
 * - ban X: out of the room for good.
 * - makeModerator X: a moderator promotes X (onto the stage).
 * - revokeModerator X: the creator only.
 * - end: the creator only; nothing takes effect afterwards.
 * "A moderator acting on X" requires X ≠ creator and, when X is a moderator,
 * that the actor is the creator. Nobody removed or banned can act.
 */
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
	/** Highest lamport seen, valid or not: the next local op uses one more. */
	maxLamport: number;
	/** Ops that were refused, for diagnostics and tests; never shown. */
	refused: ReadonlySet<string>;
}

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
		maxLamport: 0,
		refused: new Set<string>()
	};
	const invitationTargets = new Map<string, string>();

	const isModerator = (p: string) => s.moderators.has(p);
	const isOut = (p: string) => s.removed.has(p) || s.banned.has(p);
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
				if (body.kind === 'ban') {
					s.removed.delete(body.target);
					s.banned.add(body.target);
				} else s.removed.add(body.target);
				return true;
			case 'readmit':
				if (!isModerator(author) || !s.removed.has(body.target)) return false;
				s.removed.delete(body.target);
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
		}
	};

	for (const op of sorted) {
		s.maxLamport = Math.max(s.maxLamport, op.body.lamport);
		if (!apply(op)) s.refused.add(op.id);
	}
	return s;
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
	actions.push(isMod(target) ? 'revokeModerator' : 'makeModerator');
	if (isMod(target) && actor !== view.creator) actions.pop();
	actions.push('remove', 'ban');
	return actions;
}
