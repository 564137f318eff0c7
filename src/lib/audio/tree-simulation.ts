/**
 * A whole room's audio tree, simulated: S stage speakers, N listeners
 * joining, leaving, crashing and rebalancing, each listener placed by its own
 * TreeEngine (tree-engine.ts): the engine the app runs, with the same
 * repair order, backups, admission rule (admitChild) and rebalancing. What
 * the simulator adds is what the app gets from the network:
 *
 * - One consistent view of the adverts, sampled: a node weighs up to
 *   `viewSize` adverts from the shallowest depth with a free slot, which is
 *   what the few hundred adverts a real peer knows would contain at best.
 *   A request is checked against the parent's slots at that instant
 *   (admitChild); a refused one is avoided for RETRY_CANDIDATE_AFTER_MS and
 *   the node steps again at once (the app: at its next tick, 50 ms later).
 * - A parent tells a leaf's capacity and an asker's from their adverts
 *   (the app: from presence); a displaced leaf repairs at once (the app: on
 *   its link closing).
 * - Links are made at once (the app: a WebRTC dial) and there are no
 *   reserve (standby) links: a repair always asks for a slot.
 * - When a move or repair above a node changes its depth, its engine learns
 *   the new depth at once (the app: at its next tick after its parent's
 *   advert changes, up to 250 ms a level). Before, it learned only when the
 *   simulator stepped it, and a relay that had been lifted could repair
 *   into a backup as deep as its stale depth, its subtree sinking with it.
 * - A crashed parent's orphans notice after PARENT_SILENCE_MS plus a tick,
 *   and its own parent reclaims its slot after CHILD_SILENCE_MS plus a tick
 *   unless an orphan asked for it first; goodbyes act at once. Until noticed,
 *   a cut-off subtree advertises depth null (in the app its nodes learn it
 *   when their audio stops). Stage speakers never leave.
 * - Time advances only when told (advance()); relays that could move up two
 *   levels step once per REBALANCE_PASS_MS (the engine's cooldown holds them
 *   to one move per REBALANCE_COOLDOWN_MS).
 *
 * Deterministic for a given seed. Fast enough for 100,000 listeners: nodes
 * are indexed by depth (with free slots / leaves / relays), so no decision
 * scans the whole room.
 */
import { ceilLog, chainPassesThrough, REBALANCE_COOLDOWN_MS, type TreeAdvert } from './tree-planner';
import { admitChild, CHILD_SILENCE_MS, PARENT_SILENCE_MS, RETRY_CANDIDATE_AFTER_MS, TICK_MS, TreeEngine, type TreeView } from './tree-engine';

// Relays look at fresh adverts once a second (adverts are published about that often).
export const REBALANCE_PASS_MS = 1_000;
// Adverts a node weighs per decision.
const DEFAULT_VIEW_SIZE = 32;
// Steps a detached node takes in a row when its requests are refused, before it waits for the next pass.
const STEPS_PER_PLACE = 4;
// When a crash is noticed: by its orphans (silence), and by its parent (a silent child's slot reclaimed).
const NOTICED_AFTER_MS = PARENT_SILENCE_MS + TICK_MS;
const RECLAIMED_AFTER_MS = CHILD_SILENCE_MS + TICK_MS;

export interface SimulationOptions {
	seed: number;
	speakers: number;
	/** Children each stage speaker can feed. */
	speakerCapacity: number;
	viewSize?: number;
}

export interface SimulationMetrics {
	/** Listeners present (attached or not). */
	listeners: number;
	/** Listeners reachable from the stage. */
	attached: number;
	/** Detached subtree roots waiting for a free slot. */
	waiting: number;
	maxDepth: number;
	p95Depth: number;
	meanDepth: number;
	/** Deepest depth seen after any event since the simulation started. */
	peakMaxDepth: number;
	departures: number;
	/** Orphans placed again (each counted once per loss). */
	reattachments: number;
	reattachPerLeave: number;
	joins: number;
	planMsPerJoin: number;
	/** Slot requests a parent refused (full by the time the request came). */
	refusals: number;
	/** Leaves that made way for a relay with nowhere else to go. */
	displacements: number;
	rebalanceMoves: number;
	/** f: mean capacity of relaying listeners (capacity ≥ 1). */
	averageRelayCapacity: number;
	/** ⌈log_f N⌉ + 2: what a tree with relays in random order should stay within. */
	averageDepthBound: number;
}

class SimNode implements TreeAdvert {
	depth: number | null = null;
	children = 0;
	parent: string | null = null;
	parentNode: SimNode | null = null;
	kids: SimNode[] = [];
	alive = true;
	/** When it crashed (its slot is held until noticed), or null. */
	crashedAt: number | null = null;
	/** Lost its parent and not yet placed again. */
	orphaned = false;
	/** When it last let a leaf child go for a relay. */
	displacedAt = Number.NEGATIVE_INFINITY;
	/** The engine that places it: null on stage. */
	readonly engine: TreeEngine | null;

	constructor(
		readonly id: number,
		readonly peerId: string,
		readonly capacity: number,
		readonly stage: boolean
	) {
		this.engine = stage ? null : new TreeEngine(peerId, capacity);
	}
}

/** Nodes grouped by depth, O(1) add/remove, each node at most once. */
class DepthIndex {
	#levels: SimNode[][] = [];
	#depthOf: number[] = [];
	#posOf: number[] = [];

	/** Puts the node at `depth`, or takes it out with -1. */
	set(node: SimNode, depth: number): void {
		const current = this.#depthOf[node.id] ?? -1;
		if (current === depth) return;
		if (current !== -1) {
			const level = this.#levels[current];
			const pos = this.#posOf[node.id];
			const last = level.pop()!;
			if (last !== node) {
				level[pos] = last;
				this.#posOf[last.id] = pos;
			}
		}
		this.#depthOf[node.id] = depth;
		if (depth !== -1) {
			while (this.#levels.length <= depth) this.#levels.push([]);
			this.#posOf[node.id] = this.#levels[depth].length;
			this.#levels[depth].push(node);
		}
	}

	level(depth: number): readonly SimNode[] {
		return this.#levels[depth] ?? [];
	}

	shallowest(): number {
		for (let d = 0; d < this.#levels.length; d++) if (this.#levels[d].length > 0) return d;
		return -1;
	}

	deepest(): number {
		for (let d = this.#levels.length - 1; d >= 0; d--) if (this.#levels[d].length > 0) return d;
		return -1;
	}
}

/** A crash, noticed later: by its orphans, then (unless one of them took the slot) by its parent. */
interface PendingNotice {
	dueMs: number;
	dead: SimNode;
	orphans: SimNode[];
	grandparent: SimNode | null;
}

function advertOf(node: SimNode): TreeAdvert {
	return { peerId: node.peerId, depth: node.depth, capacity: node.capacity, children: node.children, parent: node.parent };
}

export class TreeSimulation {
	#random: () => number;
	#viewSize: number;
	#nowMs = 0;
	#nextPassMs = REBALANCE_PASS_MS;
	#nextId = 0;
	#byPeerId = new Map<string, SimNode>();
	#stage: SimNode[] = [];
	#listeners: SimNode[] = []; // alive listeners, for picking one at random
	#listenerPos: number[] = [];
	#open = new DepthIndex(); // alive, attached, with a free slot
	#leaves = new DepthIndex(); // attached listeners with capacity 0
	#relays = new DepthIndex(); // attached listeners with capacity ≥ 1
	#waiting = new Set<SimNode>();
	#notices: PendingNotice[] = []; // orphans notice a crash, in time order
	#reclaims: PendingNotice[] = []; // parents reclaim a crashed child's slot, in time order
	#lookup = (peerId: string): TreeAdvert | undefined => this.#byPeerId.get(peerId);
	#counts = { departures: 0, reattachments: 0, joins: 0, planMs: 0, refusals: 0, displacements: 0, rebalanceMoves: 0, peakMaxDepth: 0 };

	constructor(options: SimulationOptions) {
		this.#random = seededRandom(options.seed);
		this.#viewSize = options.viewSize ?? DEFAULT_VIEW_SIZE;
		for (let i = 0; i < options.speakers; i++) {
			const speaker = new SimNode(this.#nextId++, `S${i}`, options.speakerCapacity, true);
			speaker.depth = 0;
			this.#byPeerId.set(speaker.peerId, speaker);
			this.#stage.push(speaker);
			this.#reindex(speaker);
		}
	}

	get nowMs(): number {
		return this.#nowMs;
	}

	/** The simulation's seeded random source, for callers that draw capacities or pick events. */
	random(): number {
		return this.#random();
	}

	/** A newcomer with the given capacity asks for a place; returns its PeerId. */
	join(capacity: number): string {
		const id = this.#nextId++;
		const node = new SimNode(id, `L${id}`, capacity, false);
		this.#byPeerId.set(node.peerId, node);
		this.#listenerPos[node.id] = this.#listeners.length;
		this.#listeners.push(node);
		const started = performance.now();
		this.#place(node);
		this.#counts.planMs += performance.now() - started;
		this.#counts.joins++;
		this.#afterEvent();
		return node.peerId;
	}

	/** The listener says goodbye: its parent frees the slot and its children repair at once. */
	leave(peerId: string): void {
		this.#depart(peerId, false);
	}

	/** The listener vanishes: its children notice after PARENT_SILENCE_MS of silence, its parent a while later. */
	crash(peerId: string): void {
		this.#depart(peerId, true);
	}

	/** Lets time pass: crashes get noticed, relays rebalance, waiting nodes retry. */
	advance(ms: number): void {
		const until = this.#nowMs + ms;
		while (true) {
			const notice = this.#notices[0]?.dueMs ?? Number.POSITIVE_INFINITY;
			const reclaim = this.#reclaims[0]?.dueMs ?? Number.POSITIVE_INFINITY;
			const next = Math.min(notice, reclaim, this.#nextPassMs);
			if (next > until) break;
			this.#nowMs = Math.max(this.#nowMs, next);
			if (notice === next) this.#noticed(this.#notices.shift()!);
			else if (reclaim === next) this.#reclaimed(this.#reclaims.shift()!);
			else {
				this.#nextPassMs += REBALANCE_PASS_MS;
				this.#retryWaiting();
				this.rebalance();
			}
			this.#afterEvent();
		}
		this.#nowMs = until;
	}

	/** One round of rebalancing: every relay that could gain two levels steps (its engine decides). Returns how many moved. */
	rebalance(): number {
		let moves = 0;
		levels: for (let depth = this.#relays.deepest(); depth >= 2; depth--) {
			const level = this.#relays.level(depth);
			let view: TreeAdvert[] | null = null;
			for (let i = level.length - 1; i >= 0; i--) {
				if (i >= level.length) continue;
				const relay = level[i];
				// Within its cooldown its step could only refresh the backup: skipped, to keep 100,000 listeners fast.
				if (this.#nowMs - relay.engine!.lastMoveMs < REBALANCE_COOLDOWN_MS) continue;
				view ??= this.#rebalanceView(depth);
				if (view.length === 0) break levels;
				if (this.#upkeep(relay, view)) {
					moves++;
					view = null;
				}
			}
		}
		this.#counts.rebalanceMoves += moves;
		return moves;
	}

	/**
	 * Lets every pending crash be noticed and rebalancing come to rest (as
	 * much time as that takes), then runs one advert round in which every
	 * listener steps once more (its depth and backup brought up to date).
	 */
	settle(): void {
		while (this.#notices.length > 0 || this.#reclaims.length > 0) {
			this.advance(Math.min(this.#notices[0]?.dueMs ?? Infinity, this.#reclaims[0]?.dueMs ?? Infinity) - this.#nowMs);
		}
		for (let round = 0; round < 10_000; round++) {
			this.#nowMs += REBALANCE_COOLDOWN_MS;
			const placed = this.#retryWaiting();
			const stuck = [...this.#waiting].some((node) => this.#open.shallowest() !== -1 || (node.capacity > 0 && this.#leaves.shallowest() !== -1));
			if (this.rebalance() === 0 && placed === 0 && !stuck) break;
		}
		this.#nextPassMs = this.#nowMs + REBALANCE_PASS_MS;
		// One advert round, top down: every listener steps on fresh adverts, as it would at its next tick.
		for (let depth = 1; depth <= this.#relays.deepest() || depth <= this.#leaves.deepest(); depth++) {
			for (const node of [...this.#relays.level(depth), ...this.#leaves.level(depth)]) this.#upkeep(node, this.#backupView(node), false);
		}
		this.#afterEvent();
	}

	/** Starts measuring peakMaxDepth afresh (e.g. once the room has filled, to watch churn alone). */
	resetPeakDepth(): void {
		this.#counts.peakMaxDepth = 0;
		this.#afterEvent();
	}

	/** A snapshot of a peer's advert, as the others would see it. */
	advert(peerId: string): TreeAdvert | undefined {
		const node = this.#byPeerId.get(peerId);
		return node && advertOf(node);
	}

	/** A listener chosen at random, for churn. */
	randomListener(): string | undefined {
		if (this.#listeners.length === 0) return undefined;
		return this.#listeners[Math.floor(this.#random() * this.#listeners.length)].peerId;
	}

	metrics(): SimulationMetrics {
		const histogram: number[] = [];
		let attached = 0;
		let depthSum = 0;
		let relayCount = 0;
		let relayCapacity = 0;
		for (const node of this.#listeners) {
			if (node.capacity > 0) {
				relayCount++;
				relayCapacity += node.capacity;
			}
			if (node.depth === null) continue;
			attached++;
			depthSum += node.depth;
			histogram[node.depth] = (histogram[node.depth] ?? 0) + 1;
		}
		const maxDepth = histogram.length - 1 > 0 ? histogram.length - 1 : 0;
		let p95Depth = 0;
		for (let d = 0, seen = 0; d < histogram.length; d++) {
			seen += histogram[d] ?? 0;
			if (seen >= 0.95 * attached) {
				p95Depth = d;
				break;
			}
		}
		const f = relayCount > 0 ? relayCapacity / relayCount : 0;
		const { departures, reattachments, joins, planMs, refusals, displacements, rebalanceMoves, peakMaxDepth } = this.#counts;
		return {
			listeners: this.#listeners.length,
			attached,
			waiting: this.#waiting.size,
			maxDepth,
			p95Depth,
			meanDepth: attached > 0 ? depthSum / attached : 0,
			peakMaxDepth,
			departures,
			reattachments,
			reattachPerLeave: departures > 0 ? reattachments / departures : 0,
			joins,
			planMsPerJoin: joins > 0 ? planMs / joins : 0,
			refusals,
			displacements,
			rebalanceMoves,
			averageRelayCapacity: f,
			averageDepthBound: f > 1 ? ceilLog(attached, f) + 2 : attached
		};
	}

	/**
	 * Everything that must hold, as messages (empty = all good). `rested`:
	 * after settle(), when every crash has been noticed and rebalancing has
	 * come to rest, so orphans and backups are checked too.
	 */
	invariantViolations(rested: boolean): string[] {
		const problems: string[] = [];
		const all = [...this.#stage, ...this.#listeners];
		for (const node of all) {
			if (node.children !== node.kids.length) problems.push(`${node.peerId} advertises ${node.children} children, has ${node.kids.length}`);
			if (node.kids.length > node.capacity) problems.push(`${node.peerId} feeds ${node.kids.length} children, capacity ${node.capacity}`);
			for (const kid of node.kids) {
				if (kid.parentNode !== node) problems.push(`${kid.peerId} is listed under ${node.peerId} but is not its child`);
				if (!kid.alive && (kid.crashedAt === null || this.#nowMs > kid.crashedAt + RECLAIMED_AFTER_MS)) problems.push(`${kid.peerId} is gone but still holds a slot`);
			}
		}
		for (const node of this.#listeners) {
			if (node.depth !== null) {
				const reached = this.#stageReached(node);
				if (reached === null) problems.push(`${node.peerId} has depth ${node.depth} but no path to the stage`);
				else if (reached !== node.depth) problems.push(`${node.peerId} advertises depth ${node.depth}, is at ${reached}`);
				if (node.engine!.parent !== node.parent) problems.push(`${node.peerId}'s engine has parent ${node.engine!.parent}, the tree ${node.parent}`);
				if (node.engine!.depth !== node.depth) problems.push(`${node.peerId}'s engine says depth ${node.engine!.depth}, is at ${node.depth}`);
			} else if (rested) {
				const root = this.#detachedRoot(node);
				if (root === null) problems.push(`${node.peerId} is in a cycle`);
				else if (!this.#waiting.has(root)) problems.push(`${node.peerId} is cut off and ${root.peerId} is not waiting for a place`);
				else if (this.#open.shallowest() !== -1) problems.push(`${root.peerId} waits although a slot is free`);
				else if (root.capacity > 0 && this.#leaves.shallowest() !== -1) problems.push(`${root.peerId} relays and waits although it could take a leaf's place`);
			}
			if (rested && node.engine!.backup !== null && node.depth !== null && !this.#backupIsSafe(node)) {
				problems.push(`${node.peerId} has backup ${node.engine!.backup}: its parent, itself, gone, or inside its own subtree`);
			}
		}
		return problems;
	}

	#depart(peerId: string, crashed: boolean): void {
		const node = this.#byPeerId.get(peerId);
		if (!node || node.stage) return;
		node.alive = false;
		this.#byPeerId.delete(peerId);
		this.#waiting.delete(node);
		const pos = this.#listenerPos[node.id];
		const last = this.#listeners.pop()!;
		if (last !== node) {
			this.#listeners[pos] = last;
			this.#listenerPos[last.id] = pos;
		}
		const grandparent = node.parentNode;
		// A crashed node keeps its slot until the silence is noticed: by an orphan asking for it, or its parent.
		if (grandparent && !crashed) this.#detach(node);
		this.#setSubtreeDepth(node, null);
		const orphans = node.kids;
		node.kids = [];
		node.children = 0;
		for (const orphan of orphans) {
			orphan.parentNode = null;
			orphan.parent = null;
			orphan.orphaned = true;
		}
		this.#counts.departures++;
		const notice = { dueMs: this.#nowMs + NOTICED_AFTER_MS, dead: node, orphans, grandparent };
		if (crashed) {
			node.crashedAt = this.#nowMs;
			this.#notices.push(notice);
			if (grandparent) this.#reclaims.push({ ...notice, dueMs: this.#nowMs + RECLAIMED_AFTER_MS });
		} else this.#noticed(notice);
		this.#afterEvent();
	}

	/** The orphans of a departure learn of it: each tells its engine (lost, and that parent avoided) and steps until placed. */
	#noticed(notice: PendingNotice): void {
		for (const orphan of notice.orphans) {
			if (!orphan.alive || orphan.parentNode !== null) continue;
			const engine = orphan.engine!;
			engine.lost(notice.dead.peerId, notice.grandparent?.peerId ?? null);
			engine.avoid(notice.dead.peerId, this.#nowMs, RETRY_CANDIDATE_AFTER_MS);
			this.#place(orphan);
		}
	}

	/** A crashed child's parent gives up on it: the slot is free again, unless an orphan already took it. */
	#reclaimed(notice: PendingNotice): void {
		if (notice.dead.parentNode) this.#detach(notice.dead);
	}

	/** Places waiting nodes where possible; returns how many were placed. */
	#retryWaiting(): number {
		if (this.#waiting.size === 0) return 0;
		let placed = 0;
		for (const node of [...this.#waiting]) {
			// Nothing free: only a relay may still get in, in a leaf's place.
			if (this.#open.shallowest() === -1 && (node.capacity === 0 || this.#leaves.shallowest() === -1)) continue;
			this.#waiting.delete(node);
			if (this.#place(node)) placed++;
		}
		return placed;
	}

	/** A detached node steps until a parent takes it, STEPS_PER_PLACE at most; otherwise it waits. Returns whether it was placed. */
	#place(node: SimNode): boolean {
		const engine = node.engine!;
		const view = this.#view(this.#joinView(node.orphaned && node.capacity > 0));
		for (let steps = 0; steps < STEPS_PER_PLACE; steps++) {
			const step = engine.step(this.#nowMs, view, { standbyReady: false, dialing: false });
			if (step.kind !== 'attach') break;
			if (this.#request(node, step.parent.peerId, step.lost, step.displace ?? null)) {
				if (node.orphaned) {
					node.orphaned = false;
					this.#counts.reattachments++;
				}
				this.#upkeep(node, this.#backupView(node), false);
				return true;
			}
			engine.avoid(step.parent.peerId, this.#nowMs, RETRY_CANDIDATE_AFTER_MS);
		}
		this.#waiting.add(node);
		return false;
	}

	/**
	 * A listener with a parent steps on `view`: its depth and backup brought up to date, and a move up
	 * carried out if its engine plans one (`mayMove`). Returns whether it moved.
	 */
	#upkeep(node: SimNode, view: TreeAdvert[], mayMove = true): boolean {
		const engine = node.engine!;
		const step = engine.step(this.#nowMs, this.#view(view), { standbyReady: false, dialing: !mayMove });
		if (step.kind !== 'move') return false;
		if (!this.#request(node, step.parent.peerId, null, null)) {
			engine.avoid(step.parent.peerId, this.#nowMs, RETRY_CANDIDATE_AFTER_MS);
			return false;
		}
		this.#upkeep(node, this.#backupView(node), false);
		return true;
	}

	/**
	 * `node` asks `parentId` for a slot (naming the parent it lost, and the leaf whose place it would
	 * take): admitChild decides, as in the app. A displaced leaf then repairs.
	 */
	#request(node: SimNode, parentId: string, lost: string | null, displace: string | null): boolean {
		const parent = this.#byPeerId.get(parentId);
		if (!parent || parent.depth === null || parent === node || this.#inSubtree(parent, node)) return this.#refused();
		const dead = lost === null ? undefined : parent.kids.find((kid) => kid.peerId === lost && kid.crashedAt !== null);
		const leaf = displace === null ? undefined : parent.kids.find((kid) => kid.peerId === displace && kid.alive);
		const admission = admitChild(
			{ depth: parent.depth, capacity: parent.capacity, children: parent.children, standbys: 0 },
			'child',
			dead && { peerId: dead.peerId, silentMs: this.#nowMs - dead.crashedAt! },
			displace === null ? undefined : { peerId: displace, leafIsOurs: leaf?.capacity === 0, askerRelays: node.capacity > 0, sinceLastMs: this.#nowMs - parent.displacedAt }
		);
		if (!admission.accept) return this.#refused();
		if (admission.evict && admission.evict === dead?.peerId) this.#detach(dead);
		if (node.parentNode) this.#detach(node);
		if (leaf && admission.evict === leaf.peerId) {
			parent.displacedAt = this.#nowMs;
			this.#counts.displacements++;
			this.#detach(leaf);
			this.#setSubtreeDepth(leaf, null);
			this.#attach(node, parent);
			node.engine!.attached(parent.peerId, parent.depth);
			// The leaf's link closed: it repairs (no grandparent named), most likely into the relay's free slots.
			leaf.engine!.lost(parent.peerId, null);
			this.#place(leaf);
			return true;
		}
		this.#attach(node, parent);
		node.engine!.attached(parent.peerId, parent.depth);
		return true;
	}

	#refused(): false {
		this.#counts.refusals++;
		return false;
	}

	/** Whether `candidate` hangs below `node`. */
	#inSubtree(candidate: SimNode, node: SimNode): boolean {
		let steps = 0;
		for (let at = candidate.parentNode; at !== null; at = at.parentNode) {
			if (at === node) return true;
			if (++steps > this.#listeners.length + 1) return false;
		}
		return false;
	}

	#view(candidates: TreeAdvert[]): TreeView {
		return { candidates, lookup: this.#lookup };
	}

	/**
	 * What a detached node sees: the shallowest free slots; with none anywhere, the shallowest leaves (a
	 * relay may take one's place). An orphan that relays (`orphanRelay`) sees, beside the free slots,
	 * leaves of every level from the shallowest down to the free slots' parents: it takes a leaf's place
	 * rather than sink with its subtree, and passes over a leaf whose parent refused it (tree-engine.ts).
	 */
	#joinView(orphanRelay = false): TreeAdvert[] {
		const view: SimNode[] = [];
		const freeDepth = this.#open.shallowest();
		if (freeDepth !== -1) this.#sample(this.#open.level(freeDepth), view);
		const leafDepth = this.#leaves.shallowest();
		if (leafDepth === -1) return view;
		if (freeDepth === -1) this.#sample(this.#leaves.level(leafDepth), view);
		else if (orphanRelay) for (let depth = leafDepth; depth <= freeDepth; depth++) this.#sample(this.#leaves.level(depth), view);
		return view;
	}

	/** What a relay at `depth` sees that could improve it by two levels; empty when nothing could. */
	#rebalanceView(depth: number): TreeAdvert[] {
		const view: SimNode[] = [];
		const freeDepth = this.#open.shallowest();
		if (freeDepth !== -1 && freeDepth <= depth - 2) this.#sample(this.#open.level(freeDepth), view);
		return view;
	}

	/** What a node picks its backup from: the shallowest free slots, if no deeper than itself. */
	#backupView(node: SimNode): TreeAdvert[] {
		const view: SimNode[] = [];
		const freeDepth = this.#open.shallowest();
		if (node.depth !== null && freeDepth !== -1 && freeDepth <= node.depth) this.#sample(this.#open.level(freeDepth), view);
		return view;
	}

	#sample(level: readonly SimNode[], into: SimNode[]): void {
		if (level.length <= this.#viewSize) {
			into.push(...level);
			return;
		}
		for (let i = 0; i < this.#viewSize; i++) into.push(level[Math.floor(this.#random() * level.length)]);
	}

	#backupIsSafe(node: SimNode): boolean {
		const backupId = node.engine!.backup;
		const backup = backupId === null ? undefined : this.#byPeerId.get(backupId);
		return backup !== undefined && backup !== node && backup !== node.parentNode && !chainPassesThrough(backup, node.peerId, this.#lookup);
	}

	#attach(node: SimNode, parent: SimNode): void {
		node.parentNode = parent;
		node.parent = parent.peerId;
		parent.kids.push(node);
		parent.children++;
		this.#reindex(parent);
		this.#setSubtreeDepth(node, parent.depth === null ? null : parent.depth + 1);
	}

	#detach(node: SimNode): void {
		const parent = node.parentNode!;
		const at = parent.kids.indexOf(node);
		parent.kids[at] = parent.kids[parent.kids.length - 1];
		parent.kids.pop();
		parent.children--;
		node.parentNode = null;
		node.parent = null;
		this.#reindex(parent);
	}

	/** A subtree moved: every node in it re-advertises its depth. */
	#setSubtreeDepth(root: SimNode, depth: number | null): void {
		const stack: SimNode[] = [root];
		const depths: (number | null)[] = [depth];
		while (stack.length > 0) {
			const node = stack.pop()!;
			const d = depths.pop()!;
			node.depth = d;
			// Its engine follows its parent's advert at its next tick in the app (every 50 ms), not only
			// when the simulator steps it: a stale depth would let it repair into a backup deeper than it is.
			if (node !== root) node.engine?.refreshDepth(this.#lookup);
			this.#reindex(node);
			for (const kid of node.kids) {
				stack.push(kid);
				depths.push(d === null ? null : d + 1);
			}
		}
	}

	#reindex(node: SimNode): void {
		const attached = node.alive && node.depth !== null;
		this.#open.set(node, attached && node.children < node.capacity ? node.depth! : -1);
		if (node.stage) return;
		const depth = attached ? node.depth! : -1;
		(node.capacity === 0 ? this.#leaves : this.#relays).set(node, depth);
	}

	#afterEvent(): void {
		const deepest = Math.max(this.#leaves.deepest(), this.#relays.deepest());
		if (deepest > this.#counts.peakMaxDepth) this.#counts.peakMaxDepth = deepest;
	}

	/** Depth at which walking up reaches the stage, or null (a cycle or a cut). */
	#stageReached(node: SimNode): number | null {
		let steps = 0;
		for (let at: SimNode | null = node; at !== null; at = at.parentNode) {
			if (at.stage) return steps;
			if (++steps > this.#listeners.length + 1) return null;
		}
		return null;
	}

	/** The top of a cut-off subtree, or null if walking up loops. */
	#detachedRoot(node: SimNode): SimNode | null {
		let root = node;
		for (let steps = 0; root.parentNode !== null; steps++) {
			if (steps > this.#listeners.length) return null;
			root = root.parentNode;
		}
		return root;
	}
}

/**
 * Upload budgets of a plausible audience, as children per node:
 * 30 % phones on cellular relay nothing (0); 40 % phones and laptops on
 * Wi-Fi feed 2–4 (0.7–1.3 Mbps of upload at 166 kbps a stream, half the
 * budget); 30 % desktops on home broadband feed 5–6. Mean relaying capacity
 * f ≈ 4.1.
 */
export function realisticCapacity(random: () => number): number {
	const r = random();
	if (r < 0.3) return 0;
	if (r < 0.7) return 2 + Math.floor(random() * 3);
	return 5 + Math.floor(random() * 2);
}

export interface ChurnScenario {
	seed: number;
	listeners: number;
	/** Share of the room that leaves (and is replaced by as many newcomers) after it filled up. */
	churn: number;
	/** Share of departures that are crashes rather than goodbyes. */
	crashShare: number;
	speakers: number;
	speakerCapacity: number;
	/** Simulated time over which the room fills up, then over which the churn happens. */
	fillMs: number;
	churnMs: number;
	drawCapacity?: (random: () => number) => number;
}

export interface ChurnRun {
	/** The room at the end of the churn, not settled: repairs of the last crashes may still be pending. */
	sim: TreeSimulation;
	/** Metrics once the room had filled, before any churn. */
	filled: SimulationMetrics;
}

/**
 * Fills a room, then churns it: departures (a random present listener each,
 * crashing or saying goodbye) and as many joins, shuffled together.
 * peakMaxDepth in the end metrics covers the churn phase only.
 */
export function runChurnScenario(scenario: ChurnScenario): ChurnRun {
	const sim = new TreeSimulation({ seed: scenario.seed, speakers: scenario.speakers, speakerCapacity: scenario.speakerCapacity });
	const draw = scenario.drawCapacity ?? realisticCapacity;
	const random = () => sim.random();
	const fillGapMs = scenario.fillMs / scenario.listeners;
	for (let i = 0; i < scenario.listeners; i++) {
		sim.advance(fillGapMs);
		sim.join(draw(random));
	}
	const filled = sim.metrics();
	sim.resetPeakDepth();
	const departures = Math.round(scenario.listeners * scenario.churn);
	const events: boolean[] = [...Array<boolean>(departures).fill(true), ...Array<boolean>(departures).fill(false)];
	for (let i = events.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[events[i], events[j]] = [events[j], events[i]];
	}
	const churnGapMs = scenario.churnMs / Math.max(1, events.length);
	for (const departs of events) {
		sim.advance(churnGapMs);
		if (!departs) {
			sim.join(draw(random));
			continue;
		}
		const peerId = sim.randomListener();
		if (peerId === undefined) continue;
		if (random() < scenario.crashShare) sim.crash(peerId);
		else sim.leave(peerId);
	}
	return { sim, filled };
}

/** Small seeded PRNG (mulberry32): same seed, same room. */
export function seededRandom(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
