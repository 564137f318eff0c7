/**
 * A whole room's audio tree, simulated: S stage speakers, N listeners
 * joining, leaving, crashing and rebalancing, each decision taken by the
 * planner's local functions (tree-planner.ts) exactly as a peer would.
 *
 * Simplifications, on purpose:
 * - One consistent view of the adverts: a node's view is up to `viewSize`
 *   adverts sampled from the shallowest depth that has what it looks for
 *   (free slots, leaves), which is what the few hundred adverts a real peer
 *   knows would contain at best. Requests are never refused because views
 *   are never stale; the real protocol retries with the next candidate.
 * - A detached subtree (its root lost its parent) advertises depth null at
 *   once; in the real app its nodes learn it when their audio stops.
 * - Crashed parents are noticed PARENT_SILENCE_MS later, graceful leaves at
 *   once; until then a crashed node keeps its slot at its parent, which then
 *   goes to its heir. Stage speakers never leave.
 * - Time advances only when told (advance()); relays look for a better
 *   place once per REBALANCE_PASS_MS, each at most once per cooldown.
 *
 * Deterministic for a given seed. Fast enough for 100,000 listeners: nodes
 * are indexed by depth (with free slots / leaves / relays), so no decision
 * scans the whole room.
 */
import {
	ceilLog,
	chainPassesThrough,
	chooseBackup,
	chooseHeir,
	isUsableBackup,
	PARENT_SILENCE_MS,
	planJoin,
	REBALANCE_COOLDOWN_MS,
	planRebalance,
	planRepair,
	restingDepthBound,
	type JoinPlan,
	type TreeAdvert
} from './tree-planner';

// Relays look at fresh adverts once a second (adverts are published about that often).
export const REBALANCE_PASS_MS = 1_000;
// Adverts a node weighs per decision.
const DEFAULT_VIEW_SIZE = 32;

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
	/** Nodes that changed parent because of a departure (orphaned children, and leaves they displaced). */
	reattachments: number;
	reattachPerLeave: number;
	joins: number;
	planMsPerJoin: number;
	/** Leaves displaced by joining relays. */
	displacements: number;
	rebalanceMoves: number;
	/** f: mean capacity of relaying listeners (capacity ≥ 1). */
	averageRelayCapacity: number;
	/** g: smallest capacity of any relaying node, stage included. */
	smallestRelayCapacity: number;
	/** ⌈log_g N⌉ + 1: guaranteed once rebalancing has come to rest. */
	restingDepthBound: number;
	/** ⌈log_f N⌉ + 2: what a tree with relays in random order should stay within. */
	averageDepthBound: number;
}

class SimNode implements TreeAdvert {
	depth: number | null = null;
	children = 0;
	parent: string | null = null;
	parentNode: SimNode | null = null;
	kids: SimNode[] = [];
	backup: string | null = null;
	alive = true;
	lastMoveMs = Number.NEGATIVE_INFINITY;
	/** Depth before its parent was lost: what it still believes while repairing. */
	depthBeforeLoss: number | null = null;

	constructor(
		readonly id: number,
		readonly peerId: string,
		readonly capacity: number,
		readonly stage: boolean
	) {}
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

interface PendingRepair {
	dueMs: number;
	dead: SimNode;
	orphans: SimNode[];
	grandparent: SimNode | null;
}

const NOTHING: ReadonlySet<string> = new Set();

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
	#pending: PendingRepair[] = [];
	#lookup = (peerId: string): TreeAdvert | undefined => this.#byPeerId.get(peerId);
	#counts = { departures: 0, reattachments: 0, joins: 0, planMs: 0, displacements: 0, rebalanceMoves: 0, peakMaxDepth: 0 };

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
		const plan = planJoin(node, this.#joinView(node), NOTHING, this.#lookup);
		this.#counts.planMs += performance.now() - started;
		this.#counts.joins++;
		if (plan) this.#counts.displacements += this.#apply(node, plan);
		else this.#waiting.add(node);
		this.#afterEvent();
		return node.peerId;
	}

	/** The listener says goodbye: its children switch to their backups at once. */
	leave(peerId: string): void {
		this.#depart(peerId, false);
	}

	/** The listener vanishes: its children notice after PARENT_SILENCE_MS of silence. */
	crash(peerId: string): void {
		this.#depart(peerId, true);
	}

	/** Lets time pass: crashed parents get noticed, relays rebalance, waiting nodes retry. */
	advance(ms: number): void {
		const until = this.#nowMs + ms;
		while (true) {
			const nextRepair = this.#pending[0]?.dueMs ?? Number.POSITIVE_INFINITY;
			const next = Math.min(nextRepair, this.#nextPassMs);
			if (next > until) break;
			this.#nowMs = Math.max(this.#nowMs, next);
			if (nextRepair <= this.#nextPassMs) {
				const repair = this.#pending.shift()!;
				this.#repairAll(repair);
			} else {
				this.#nextPassMs += REBALANCE_PASS_MS;
				this.#retryWaiting();
				this.rebalance();
			}
			this.#afterEvent();
		}
		this.#nowMs = until;
	}

	/** One round of rebalancing: every relay whose cooldown has passed may move up. Returns how many moved. */
	rebalance(): number {
		let moves = 0;
		levels: for (let depth = this.#relays.deepest(); depth >= 2; depth--) {
			const level = this.#relays.level(depth);
			let view: TreeAdvert[] | null = null;
			for (let i = level.length - 1; i >= 0; i--) {
				if (i >= level.length) continue;
				const relay = level[i];
				if (this.#nowMs - relay.lastMoveMs < REBALANCE_COOLDOWN_MS) continue;
				view ??= this.#rebalanceView(depth);
				if (view.length === 0) break levels;
				const plan = planRebalance(relay, view, { nowMs: this.#nowMs, lastMoveMs: relay.lastMoveMs }, this.#lookup);
				if (plan.kind === 'stay') continue;
				const formerParent = relay.parentNode!;
				this.#detach(relay);
				if (plan.kind === 'move') {
					this.#attach(relay, plan.parent as SimNode);
				} else {
					const leaf = plan.leaf as SimNode;
					const leafParent = leaf.parentNode!;
					this.#detach(leaf);
					this.#attach(relay, leafParent);
					this.#attach(leaf, formerParent);
					this.#refreshBackup(leaf);
				}
				relay.lastMoveMs = this.#nowMs;
				this.#refreshBackup(relay);
				moves++;
				view = null;
			}
		}
		this.#counts.rebalanceMoves += moves;
		return moves;
	}

	/**
	 * Lets every pending crash be noticed and rebalancing come to rest (as
	 * much time as that takes), then runs one advert round in which every
	 * listener re-checks its backup.
	 */
	settle(): void {
		while (this.#pending.length > 0) this.advance(this.#pending[0].dueMs - this.#nowMs);
		for (let round = 0; round < 10_000; round++) {
			this.#nowMs += REBALANCE_COOLDOWN_MS;
			const placed = this.#retryWaiting();
			if (this.rebalance() === 0 && placed === 0) break;
		}
		this.#nextPassMs = this.#nowMs + REBALANCE_PASS_MS;
		// One advert round: every listener re-checks its backup as it would on fresh adverts.
		for (const node of this.#listeners) {
			if (node.depth === null) continue;
			const backup = node.backup === null ? undefined : this.#byPeerId.get(node.backup);
			if (!backup || !isUsableBackup(node, backup, this.#lookup)) this.#refreshBackup(node);
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
		let smallest = Number.POSITIVE_INFINITY;
		for (const node of this.#stage) if (node.capacity > 0) smallest = Math.min(smallest, node.capacity);
		for (const node of this.#listeners) {
			if (node.capacity > 0) {
				relayCount++;
				relayCapacity += node.capacity;
				smallest = Math.min(smallest, node.capacity);
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
		const g = Number.isFinite(smallest) ? smallest : 0;
		const { departures, reattachments, joins, planMs, displacements, rebalanceMoves, peakMaxDepth } = this.#counts;
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
			displacements,
			rebalanceMoves,
			averageRelayCapacity: f,
			smallestRelayCapacity: g,
			restingDepthBound: restingDepthBound(attached, g),
			averageDepthBound: f > 1 ? ceilLog(attached, f) + 2 : attached
		};
	}

	/**
	 * Everything that must hold, as messages (empty = all good). `rested`:
	 * after settle(), when every crash has been noticed and rebalancing has
	 * come to rest, so orphans and depth are checked too.
	 */
	invariantViolations(rested: boolean): string[] {
		const problems: string[] = [];
		const all = [...this.#stage, ...this.#listeners];
		for (const node of all) {
			if (node.children !== node.kids.length) problems.push(`${node.peerId} advertises ${node.children} children, has ${node.kids.length}`);
			if (node.kids.length > node.capacity) problems.push(`${node.peerId} feeds ${node.kids.length} children, capacity ${node.capacity}`);
			for (const kid of node.kids) {
				if (kid.parentNode !== node) problems.push(`${kid.peerId} is listed under ${node.peerId} but is not its child`);
				if (!kid.alive && !this.#pending.some((repair) => repair.dead === kid)) problems.push(`${kid.peerId} is gone but still holds a slot`);
			}
		}
		for (const node of this.#listeners) {
			if (node.depth !== null) {
				const reached = this.#stageReached(node);
				if (reached === null) problems.push(`${node.peerId} has depth ${node.depth} but no path to the stage`);
				else if (reached !== node.depth) problems.push(`${node.peerId} advertises depth ${node.depth}, is at ${reached}`);
			} else if (rested) {
				const root = this.#detachedRoot(node);
				if (root === null) problems.push(`${node.peerId} is in a cycle`);
				else if (!this.#waiting.has(root)) problems.push(`${node.peerId} is cut off and ${root.peerId} is not waiting for a place`);
				else if (this.#open.shallowest() !== -1) problems.push(`${root.peerId} waits although a slot is free`);
				else if (root.capacity > 0 && this.#leaves.shallowest() !== -1) problems.push(`${root.peerId} waits although it could take a leaf's place`);
			}
			if (rested && node.backup !== null && node.depth !== null && !this.#backupIsSafe(node)) {
				problems.push(`${node.peerId} has backup ${node.backup}: its parent, itself, gone, or inside its own subtree`);
			}
		}
		if (rested) {
			const m = this.metrics();
			if (m.maxDepth > m.restingDepthBound) problems.push(`max depth ${m.maxDepth} exceeds ⌈log_g N⌉ + 1 = ${m.restingDepthBound}`);
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
		// A crashed node keeps its slot until the silence is noticed: its heir then takes it over.
		if (grandparent && !crashed) this.#detach(node);
		for (const orphan of node.kids) orphan.depthBeforeLoss = orphan.depth;
		this.#setSubtreeDepth(node, null);
		const orphans = node.kids;
		node.kids = [];
		node.children = 0;
		for (const orphan of orphans) {
			orphan.parentNode = null;
			orphan.parent = null;
		}
		this.#counts.departures++;
		const repair = { dueMs: this.#nowMs + PARENT_SILENCE_MS, dead: node, orphans, grandparent };
		if (crashed) this.#pending.push(repair);
		else this.#repairAll(repair);
		this.#afterEvent();
	}

	/** The orphans of one departure: the heir first (the others may attach to it), then the rest. */
	#repairAll(repair: PendingRepair): void {
		if (repair.dead.parentNode) this.#detach(repair.dead);
		const heir = chooseHeir(repair.orphans) as SimNode | null;
		const exclude = new Set([repair.dead.peerId]);
		const ordered = heir === null ? repair.orphans : [heir, ...repair.orphans.filter((o) => o !== heir)];
		for (const orphan of ordered) {
			if (!orphan.alive || orphan.parentNode !== null) continue;
			const backup = orphan.backup === null ? undefined : this.#byPeerId.get(orphan.backup);
			const known = {
				grandparent: repair.grandparent?.alive ? repair.grandparent : undefined,
				heir: heir?.alive ? heir : undefined,
				backup
			};
			// As the orphan believes: its depth before the loss.
			const self: TreeAdvert = { ...advertOf(orphan), depth: orphan.depthBeforeLoss };
			const plan = planRepair(self, known, this.#joinView(orphan), exclude, this.#lookup);
			if (plan) this.#counts.reattachments += 1 + this.#apply(orphan, plan);
			else this.#waiting.add(orphan);
			this.#refreshBackup(orphan);
		}
	}

	/** Places waiting nodes where possible; returns how many were placed. */
	#retryWaiting(): number {
		if (this.#waiting.size === 0) return 0;
		let placed = 0;
		for (const node of [...this.#waiting]) {
			if (this.#open.shallowest() === -1 && this.#leaves.shallowest() === -1) break;
			const plan = planJoin(node, this.#joinView(node), NOTHING, this.#lookup);
			if (!plan) continue;
			this.#waiting.delete(node);
			this.#apply(node, plan);
			this.#refreshBackup(node);
			placed++;
		}
		return placed;
	}

	/** Carries out a join plan; returns how many other nodes had to change parent (a displaced leaf). */
	#apply(node: SimNode, plan: JoinPlan): number {
		if (plan.kind === 'attach') {
			this.#attach(node, plan.parent as SimNode);
			this.#refreshBackup(node);
			return 0;
		}
		const leaf = plan.leaf as SimNode;
		const parent = leaf.parentNode!;
		this.#detach(leaf);
		this.#attach(node, parent);
		this.#refreshBackup(node);
		if (plan.kind === 'adopt') {
			this.#attach(leaf, node);
		} else {
			this.#setSubtreeDepth(leaf, null);
			const again = planJoin(leaf, this.#joinView(leaf), NOTHING, this.#lookup);
			if (again) this.#apply(leaf, again);
			else this.#waiting.add(leaf);
		}
		this.#refreshBackup(leaf);
		return 1;
	}

	/** What a detached node sees: the shallowest free slots, and the shallowest leaves if it could adopt one. */
	#joinView(node: SimNode): TreeAdvert[] {
		const view: SimNode[] = [];
		const freeDepth = this.#open.shallowest();
		if (freeDepth !== -1) this.#sample(this.#open.level(freeDepth), view);
		if (node.capacity > 0) {
			const leafDepth = this.#leaves.shallowest();
			if (leafDepth !== -1 && (freeDepth === -1 || leafDepth < freeDepth)) this.#sample(this.#leaves.level(leafDepth), view);
		}
		return view;
	}

	/** What a relay at `depth` sees that could improve it by two levels; empty when nothing could. */
	#rebalanceView(depth: number): TreeAdvert[] {
		const view: SimNode[] = [];
		const freeDepth = this.#open.shallowest();
		if (freeDepth !== -1 && freeDepth <= depth - 2) this.#sample(this.#open.level(freeDepth), view);
		const leafDepth = this.#leaves.shallowest();
		if (leafDepth !== -1 && leafDepth <= depth - 2) this.#sample(this.#leaves.level(leafDepth), view);
		return view;
	}

	#sample(level: readonly SimNode[], into: SimNode[]): void {
		if (level.length <= this.#viewSize) {
			into.push(...level);
			return;
		}
		for (let i = 0; i < this.#viewSize; i++) into.push(level[Math.floor(this.#random() * level.length)]);
	}

	#refreshBackup(node: SimNode): void {
		if (node.depth === null) return;
		const view: SimNode[] = [];
		const freeDepth = this.#open.shallowest();
		if (freeDepth !== -1 && freeDepth <= node.depth) this.#sample(this.#open.level(freeDepth), view);
		node.backup = chooseBackup(node, view, this.#lookup)?.peerId ?? null;
	}

	#backupIsSafe(node: SimNode): boolean {
		const backup = node.backup === null ? undefined : this.#byPeerId.get(node.backup);
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
