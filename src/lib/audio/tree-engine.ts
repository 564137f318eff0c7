/**
 * One member's place in the audio tree, decided: the engine the app runs
 * over real media links (audio-room.ts) and the simulator runs over
 * thousands of in-memory members (tree-simulation.ts, bench:tree). Pure:
 * adverts and time in, a step out; the caller carries the step out (dials,
 * switches links) and reports back what happened (attached, lost, refused).
 *
 * A listener without a parent asks, in order: the parent it lost's parent
 * (naming the lost one, so that parent may free that slot: admitChild), its
 * backup (chosen while it still knew its depth), the best free slot now
 * (tree-planner.ts chooseParent); a relay that finds no free slot at all,
 * or only one deeper than it was (its subtree would sink with it), asks the
 * parent of the shallowest leaf (at its old depth or above) to take it in the
 * leaf's place (the leaf repairs, most likely into the relay's free slots: a
 * room whose slots are all held by phones still admits a newcomer who can
 * relay, and an orphaned subtree keeps its height);
 * after UNCONFIRMED_FALLBACK_MS without any of these, a slot whose depth
 * only its holder vouches for. With a parent, it
 * keeps a backup and moves up when a slot two levels shallower frees
 * (planRebalance). A candidate that refused or failed is left alone for a
 * while (avoid). A speaker's whole branch can be left too (leaveBranch: it
 * does not carry every voice another branch does): the engine moves out of it
 * to a free slot elsewhere and keeps out of it for a while.
 */
import { chainPassesThrough, chooseBackup, chooseLeafToDisplace, chooseParent, isUsableBackup, planRebalance, type AdvertLookup, type TreeAdvert } from './tree-planner';

// Silence from the parent that means it is gone (a link that closes, or a parent that says goodbye
// as its tab closes, is replaced at once; this is for crashes and lost networks). Every link carries
// a packet or a keep-alive at least every 100 ms, so 1 s is ten missed in a row. At 250 ms, and again
// at 500 ms, tabs stalled by a loaded CPU (eight tabs on two cores in our end-to-end test stall for
// 0.5–1.1 s) dropped parents that were alive and the tree never held still: leaving a parent that is
// back a moment later costs a new link, which takes seconds under that load.
export const PARENT_SILENCE_MS = 1_000;
// A child is given longer than a parent before its slot is reclaimed unasked (an orphan asking
// for the slot gets it at once, see admitChild): a slot freed late costs a joiner a moment, a child
// dropped wrongly costs a listener its audio.
export const CHILD_SILENCE_MS = 2 * PARENT_SILENCE_MS;
// Tree upkeep (a step) runs every 50 ms: a twentieth of the silence threshold.
export const TICK_MS = 50;
// After a failed attach, leave that candidate alone for 5 s (it is full, gone, or refusing).
export const RETRY_CANDIDATE_AFTER_MS = 5_000;
// An orphan that has seen no free slot with a confirmed depth (advert-check.ts) for this long takes
// a free slot whose chain it cannot confirm. Its own view of the tree may be what is wrong (a
// presence or a stage grant that has not reached it); without this it stayed deaf (an e2e run: 100 s).
// A member that lied about its depth gains only orphans that had nowhere else to go, and audio is signed
// and watched for withholding there as anywhere.
export const UNCONFIRMED_FALLBACK_MS = 5_000;
// A parent lets at most one leaf go for a relay in this long: a hostile member that keeps leaving
// and asking again to push leaves around moves one leaf every 10 s, each repaired in a moment.
export const DISPLACE_EVERY_MS = 10_000;
// A speaker's branch that was left (leaveBranch) is kept out of this long: a listener that came back
// at once to a branch still short would hear one voice less again for a while before it left again.
export const LEFT_BRANCH_MS = 30_000;
// Leaving the same branch again within LEFT_AGAIN_WITHIN_MS of the last time doubles how long we keep
// out of it, up to LEFT_BRANCH_MAX_MS: a branch that stays short (a speaker that keeps a fellow out
// for good) is not tried again every 34 s, while one that was short for a moment (a stage link that
// failed once) is a place like any other after 30 s.
export const LEFT_AGAIN_WITHIN_MS = 600_000;
export const LEFT_BRANCH_MAX_MS = 240_000;

/** What a member knows of the tree when it takes a step. */
export interface TreeView {
	/** The adverts to weigh: every one the member knows (the app), or a sample of them (the simulator). Read more than once: not an iterator. */
	candidates: readonly TreeAdvert[];
	/** Any advert by PeerId, for the grandparent, the backup and parent chains. */
	lookup: AdvertLookup;
	/** The best free slot whose depth only its holder vouches for (asked only for the fallback). */
	unconfirmed?: (exclude: ReadonlySet<string>) => TreeAdvert | null;
}

export type TreeStep =
	/** A parent, and nothing better: keep it. */
	| { kind: 'stay' }
	/** No parent and a live link to the backup held in reserve: tell it to feed us (one message, no new link). */
	| { kind: 'activate-standby' }
	/** No parent: ask `parent` for a slot, naming the parent we lost (null: none), and the leaf whose place we would take (a relay with nowhere else to go). */
	| { kind: 'attach'; parent: TreeAdvert; lost: string | null; why: Why; displace?: string; waitedMs?: number }
	/** No parent and nowhere to go yet (`since`: as of when). */
	| { kind: 'wait'; since: number }
	/** A slot at least two levels shallower is free: move there (the old parent is let go once the new one feeds us). */
	| { kind: 'move'; parent: TreeAdvert; why?: 'fuller branch' };

type Why = 'grandparent' | 'backup' | 'free slot' | 'a leaf’s place' | 'unconfirmed';

export class TreeEngine {
	readonly me: string;
	readonly capacity: number;
	#depth: number | null = null;
	#parent: string | null = null;
	#backup: string | null = null;
	/** Our lost parent's parent, tried first on repair. */
	#grandparent: string | null = null;
	/** The parent we lost, named when we ask for a new one: only its own parent may free its slot for us. */
	#lost: string | null = null;
	readonly #avoid = new Map<string, number>();
	/** Speakers whose branches (each the speaker and everyone whose chain passes through it) we keep out of, until when. */
	readonly #leftBranches = new Map<string, number>();
	/** Per speaker whose branch we left: when we last did, and how many times in a row (LEFT_AGAIN_WITHIN_MS apart at most). */
	readonly #leaves = new Map<string, { at: number; times: number }>();
	#lastMoveMs = Number.NEGATIVE_INFINITY;
	/** Since when, as an orphan, we have found no free slot with a confirmed depth (null: we have one, or a parent). */
	#noConfirmedSince: number | null = null;

	constructor(me: string, capacity: number) {
		this.me = me;
		this.capacity = capacity;
	}

	/** 0 on stage; a listener's depth, kept through a repair (what it believed before the loss); null before its first parent. */
	get depth(): number | null {
		return this.#depth;
	}

	get parent(): string | null {
		return this.#parent;
	}

	get backup(): string | null {
		return this.#backup;
	}

	/** When this member last moved up (planRebalance's cooldown runs from it). */
	get lastMoveMs(): number {
		return this.#lastMoveMs;
	}

	/** Our own advert, as planning sees it. */
	advert(children: number): TreeAdvert {
		return { peerId: this.me, depth: this.#depth, capacity: this.capacity, children, parent: this.#parent };
	}

	/** Leaves `peerId` alone until `now + ms`, never shortening a longer wait already set (a forger's). */
	avoid(peerId: string, now: number, ms: number): void {
		const until = now + ms;
		if ((this.#avoid.get(peerId) ?? Number.NEGATIVE_INFINITY) < until) this.#avoid.set(peerId, until);
		if (this.#backup === peerId) this.#backup = null;
	}

	/**
	 * Moves out of `root`'s branch (at the next step, to a free slot outside it) and keeps out of it for
	 * LEFT_BRANCH_MS, doubled for each time in a row we left it (up to LEFT_BRANCH_MAX_MS); and out of
	 * `alsoShort`'s branches (short too, now) for LEFT_BRANCH_MS. Returns how long `root`'s is kept out of.
	 */
	leaveBranch(root: string, now: number, alsoShort: readonly string[] = []): number {
		const last = this.#leaves.get(root);
		const times = last && now - last.at <= LEFT_AGAIN_WITHIN_MS ? last.times + 1 : 1;
		this.#leaves.set(root, { at: now, times });
		const ms = Math.min(LEFT_BRANCH_MS * 2 ** (times - 1), LEFT_BRANCH_MAX_MS);
		this.#keepOut(root, now + ms);
		for (const other of alsoShort) if (other !== root) this.#keepOut(other, now + LEFT_BRANCH_MS);
		return ms;
	}

	#keepOut(root: string, until: number): void {
		if ((this.#leftBranches.get(root) ?? Number.NEGATIVE_INFINITY) < until) this.#leftBranches.set(root, until);
	}

	isAvoided(peerId: string, now: number): boolean {
		return (this.#avoid.get(peerId) ?? Number.NEGATIVE_INFINITY) >= now;
	}

	get avoidedCount(): number {
		return this.#avoid.size;
	}

	/** On stage (depth 0, no parent) or off it (no place until the first attach). */
	setSpeaker(speaker: boolean): void {
		this.#depth = speaker ? 0 : null;
		this.#parent = this.#backup = this.#grandparent = this.#lost = null;
		this.#noConfirmedSince = null;
	}

	/** `parent`, at `parentDepth`, feeds us now. */
	attached(parent: string, parentDepth: number): void {
		this.#parent = parent;
		this.#depth = parentDepth + 1;
		this.#lost = null;
		this.#noConfirmedSince = null;
		if (this.#backup === parent) this.#backup = null;
	}

	/** Our parent is gone (silent, closed, withholding, leaving); `grandparent` is its parent as we last knew it. */
	lost(parent: string, grandparent: string | null): void {
		if (this.#parent !== parent) return;
		this.#parent = null;
		this.#lost = parent;
		this.#grandparent = grandparent;
	}

	/**
	 * Our depth is our parent's plus one, as its advert now says: it changes when the parent (or
	 * anyone above it) moves. A parent whose depth is unknown (its chain does not check out yet)
	 * leaves ours as it was. Every step does this; the simulator also calls it when a move above
	 * changes a node's depth between its steps.
	 */
	refreshDepth(lookup: AdvertLookup): void {
		const parentDepth = this.#parent === null ? undefined : lookup(this.#parent)?.depth;
		if (parentDepth !== undefined && parentDepth !== null) this.#depth = parentDepth + 1;
	}

	/**
	 * What to do now. `standbyReady`: a live reserve link to the backup is held; `dialing`: an attach
	 * or move is under way (nothing new is started meanwhile).
	 */
	step(now: number, view: TreeView, links: { standbyReady: boolean; dialing: boolean }): TreeStep {
		for (const [peerId, until] of this.#avoid) if (until < now) this.#avoid.delete(peerId);
		for (const [root, until] of this.#leftBranches) if (until < now) this.#leftBranches.delete(root);
		for (const [root, last] of this.#leaves) if (now - last.at > LEFT_AGAIN_WITHIN_MS) this.#leaves.delete(root);
		if (this.#leftBranches.size > 0) view = { ...view, candidates: [...this.#outsideLeftBranches(view.candidates, view.lookup)] };
		if (this.#parent === null) {
			if (links.standbyReady) return { kind: 'activate-standby' };
			if (links.dialing) return { kind: 'wait', since: this.#noConfirmedSince ?? now };
			const attach = this.#choose(this.advert(0), view);
			if (attach) {
				this.#noConfirmedSince = null;
				return { kind: 'attach', parent: attach.parent, lost: this.#lost, why: attach.why, ...(attach.displace ? { displace: attach.displace } : {}) };
			}
			this.#noConfirmedSince ??= now;
			const fallback = now - this.#noConfirmedSince >= UNCONFIRMED_FALLBACK_MS ? (view.unconfirmed?.(new Set(this.#avoid.keys())) ?? null) : null;
			if (fallback) {
				const waitedMs = now - this.#noConfirmedSince;
				this.#noConfirmedSince = now;
				return { kind: 'attach', parent: fallback, lost: this.#lost, why: 'unconfirmed', waitedMs };
			}
			return { kind: 'wait', since: this.#noConfirmedSince };
		}
		this.#noConfirmedSince = null;
		this.refreshDepth(view.lookup);
		const self = this.advert(0);
		const backup = chooseBackup(self, this.#notAvoided(view.candidates), view.lookup);
		this.#backup = backup?.peerId ?? null;
		if (!links.dialing && this.#inLeftBranch(this.#parent, view.lookup)) {
			// Out of a branch we left, to the best free slot elsewhere (the parent we have is let go once the
			// new one feeds us); with none free, we stay: one voice less is better than none.
			const elsewhere = chooseParent(this.me, view.candidates, new Set(this.#avoid.keys()), { lookup: view.lookup });
			if (elsewhere) {
				this.#lastMoveMs = now;
				return { kind: 'move', parent: elsewhere, why: 'fuller branch' };
			}
		}
		if (!links.dialing) {
			// Never up to a member we keep away from (it refused us, withheld, forged): the slot it offers is the bait.
			const plan = planRebalance(self, this.#notAvoided(view.candidates), { nowMs: now, lastMoveMs: this.#lastMoveMs }, view.lookup);
			if (plan.kind === 'move') {
				this.#lastMoveMs = now;
				return plan;
			}
		}
		return { kind: 'stay' };
	}

	/** Repair: the grandparent first (it frees our dead parent's slot for us), then the backup, else the best free slot now. */
	#choose(self: TreeAdvert, view: TreeView): { parent: TreeAdvert; why: Why; displace?: string } | null {
		const grandparent = this.#grandparent ? view.lookup(this.#grandparent) : undefined;
		this.#grandparent = null;
		const usable = (advert: TreeAdvert | undefined): advert is TreeAdvert => !!advert && !this.#avoid.has(advert.peerId) && !this.#inLeftBranch(advert.peerId, view.lookup);
		if (usable(grandparent) && grandparent.depth !== null) return { parent: grandparent, why: 'grandparent' };
		const backup = this.#backup ? view.lookup(this.#backup) : undefined;
		if (usable(backup) && isUsableBackup(self, backup, view.lookup)) return { parent: backup, why: 'backup' };
		const avoided = new Set(this.#avoid.keys());
		const best = chooseParent(this.me, view.candidates, avoided, { lookup: view.lookup });
		// A relay whose best free slot lies deeper than it was would sink there with its whole subtree
		// (a full tree's free slots are at the bottom): it takes the place of a leaf that puts it higher
		// than that slot would, if one is there (the leaf repairs, likely into our slots): at its old
		// depth or above at best, else as little below it as there is a leaf (the orphans of a relay high
		// up find no leaf at their own depth). With no free slot at all, any leaf's place. A leaf whose
		// parent refused us (it lets one go once per DISPLACE_EVERY_MS) is passed over for another's.
		const sinks = best !== null && self.depth !== null && best.depth !== null && best.depth >= self.depth;
		if (this.capacity > 0 && (best === null || sinks)) {
			const place = this.#leafPlace(view, avoided, best === null ? Infinity : best.depth!);
			if (place) return place;
		}
		return best ? { parent: best, why: 'free slot' } : null;
	}

	/** The place of the shallowest leaf no deeper than `maxDepth` (not in our subtree, its parent not avoided), asked of its parent. */
	#leafPlace(view: TreeView, avoided: ReadonlySet<string>, maxDepth: number): { parent: TreeAdvert; why: Why; displace: string } | null {
		const leaf = chooseLeafToDisplace(this.me, this.#notUnder(view.candidates, avoided), avoided, view.lookup);
		if (!leaf || leaf.depth === null || leaf.depth > maxDepth || leaf.parent === null) return null;
		const parent = view.lookup(leaf.parent);
		// (Its parent is not avoided: #notUnder passed over such leaves.)
		return parent && parent.depth !== null ? { parent, why: 'a leaf’s place', displace: leaf.peerId } : null;
	}

	/** The adverts whose parent is not avoided: a leaf under a parent that just refused us is no place to ask for. */
	*#notUnder(adverts: Iterable<TreeAdvert>, avoided: ReadonlySet<string>): Iterable<TreeAdvert> {
		for (const advert of adverts) if (advert.parent === null || !avoided.has(advert.parent)) yield advert;
	}

	*#notAvoided(adverts: Iterable<TreeAdvert>): Iterable<TreeAdvert> {
		for (const advert of adverts) if (!this.#avoid.has(advert.peerId)) yield advert;
	}

	/** Whether `peerId` is in a branch we left: its speaker, or a member whose chain (by the adverts) passes through it. */
	#inLeftBranch(peerId: string, lookup: AdvertLookup): boolean {
		if (this.#leftBranches.size === 0) return false;
		if (this.#leftBranches.has(peerId)) return true;
		const advert = lookup(peerId);
		if (!advert) return false;
		for (const root of this.#leftBranches.keys()) if (chainPassesThrough(advert, root, lookup)) return true;
		return false;
	}

	*#outsideLeftBranches(adverts: Iterable<TreeAdvert>, lookup: AdvertLookup): Iterable<TreeAdvert> {
		for (const advert of adverts) if (!this.#inLeftBranch(advert.peerId, lookup)) yield advert;
	}
}

/** A parent's slots as it decides on a request. */
export interface Slots {
	/** Null: detached itself, so it feeds nobody. */
	depth: number | null;
	capacity: number;
	children: number;
	/** Reserve links held for others' backups: each holds a free slot until activated or released. */
	standbys: number;
}

/** A relay's request to take a leaf child's place (see admitChild). */
export interface Displacement {
	/** The child it names is ours, and its advert says it relays nothing. */
	leafIsOurs: boolean;
	/** The asker's advert says it relays. */
	askerRelays: boolean;
	/** How long since we last let a leaf go for a relay. */
	sinceLastMs: number;
}

export type Admission =
	| { accept: false }
	/** `releaseStandby`: a real child outranks a reserve, let one go; `evict`: the lost child whose slot this is. */
	| { accept: true; releaseStandby: boolean; evict: string | null };

/**
 * Whether a parent takes a child (or a standby) now. `lost`: the parent the asker lost, if it is our
 * child, and how long we have heard nothing from it: an orphan of our silent child gets that slot at
 * once (it would be reclaimed after CHILD_SILENCE_MS anyway), but a relay that merely stalled for a
 * moment keeps its place. `displace`: a relay with nowhere else to go takes a leaf child's slot
 * (the leaf repairs), at most once per DISPLACE_EVERY_MS.
 */
export function admitChild(
	slots: Slots,
	as: 'child' | 'standby',
	lost?: { peerId: string; silentMs: number },
	displace?: Displacement & { peerId: string }
): Admission {
	const refused = { accept: false } as const;
	if (slots.depth === null) return refused;
	if (as === 'standby') return slots.capacity - slots.children - slots.standbys > 0 ? { accept: true, releaseStandby: false, evict: null } : refused;
	const releaseStandby = slots.children < slots.capacity && slots.children + slots.standbys >= slots.capacity;
	if (slots.children < slots.capacity) return { accept: true, releaseStandby, evict: null };
	if (lost && lost.silentMs > PARENT_SILENCE_MS) return { accept: true, releaseStandby: false, evict: lost.peerId };
	if (displace && displace.leafIsOurs && displace.askerRelays && displace.sinceLastMs >= DISPLACE_EVERY_MS) {
		return { accept: true, releaseStandby: false, evict: displace.peerId };
	}
	return refused;
}
