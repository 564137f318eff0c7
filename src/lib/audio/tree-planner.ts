/**
 * Where a listener sits in its room's audio tree: decisions every peer makes
 * locally, from the adverts it knows. Pure functions, no I/O.
 *
 * The tree. The stage (every speaker, fully meshed) is depth 0. Each speaker
 * forwards every stage packet to its listener children; each listener
 * forwards every packet it receives to its own children verbatim, then
 * decodes it for itself. A node's fan-out is bounded by its upload
 * (uploadCapacity): a phone on cellular relays to nobody (capacity 0, a
 * "leaf"); a node with capacity ≥ 1 is a "relay".
 *
 * Adverts. Each peer publishes { peerId, depth (null while detached),
 * capacity, children, parent } now and then. Views may be stale: the parent
 * is authoritative and accepts or refuses each request.
 *
 * Join (planJoin → chooseParent). Candidates are nodes with a known depth and
 * a free slot. Prefer the smallest depth, then the most free slots, then a
 * hash of (self, candidate), so that simultaneous joiners spread over equal
 * candidates instead of all asking the same one. A refusal adds the
 * candidate to `exclude` and the joiner asks the next. A relay may instead
 * take the place of a leaf that is at least two levels shallower than the
 * best free slot: the leaf's parent swaps it for the relay and the leaf
 * becomes the relay's first child ("adopt"). This keeps relays above leaves,
 * and it is how a room whose slots are all held by phones still admits a
 * newcomer who can relay.
 *
 * Backup (chooseBackup). Every listener also keeps a backup parent: a node
 * with a free slot, not its parent, whose depth ≤ its own depth — a
 * descendant is always deeper, so the backup cannot be in its own subtree —
 * and whose parent chain, where known, does not pass through it. Shallowest
 * first, then as for join.
 *
 * Repair (chooseHeir, planRepair). When the parent leaves (it says so, and
 * names an heir) or goes silent for PARENT_SILENCE_MS (the orphans work out
 * the same heir from the adverts), the heir — the orphan with the most free
 * slots — takes the lost parent's slot at the grandparent, and the other
 * orphans become the heir's children: their subtrees keep their depth. An
 * orphan that does not fit switches to its backup, else re-joins with
 * planJoin (a full relay may then take a leaf's place and send the leaf
 * elsewhere, rather than sink its whole subtree). Subtrees move with their
 * root; every node below re-advertises its depth; each mover picks a new
 * backup. About one node reattaches per departure. Where the tree is full
 * (it is, above its bottom levels) an orphan that fits nowhere lands at the
 * shallowest free slot, its subtree deeper than before for a moment, until
 * rebalancing lifts its relays back up.
 *
 * Rebalance (planRebalance). A relay at depth d whose cooldown has passed
 * moves up if some node at depth ≤ d − 2 has a free slot (its subtree comes
 * along), or swaps places with a leaf at depth ≤ d − 2 (the relay takes the
 * leaf's parent, the leaf takes the relay's old one). Leaves never rebalance:
 * their depth only matters to themselves. Every move lowers the sum of the
 * relays' depths, so rebalancing always comes to rest. Planned moves are
 * make-before-break (connect to the new parent, then drop the old one; the
 * jitter buffer drops the duplicates), so they cost no audio. At rest, with R the
 * deepest relay, every level above R − 1 holds only full relays, so level by
 * level the tree grows at least g-fold (g: smallest capacity of any relaying
 * node, stage included): R ≤ ⌈log_g N⌉ and every listener is at depth
 * ≤ ⌈log_g N⌉ + 1 for N listeners (g ≥ 2). With relays in random order
 * the growth is the average relay capacity f instead of the minimum, which
 * the simulation measures (depth ≈ log_f N + 1).
 */

// A listener relays at most 8 streams: one departure then orphans at most 8
// subtrees, and sending to more DataChannels costs its event loop (~0.3 % of
// a core each, measured) without making the tree meaningfully shallower.
export const MAX_CHILDREN = 8;
// Relaying may use half of the measured upload: the rest is for the node's
// own traffic (signalling, adverts, its microphone if invited on stage) and
// for upload estimates that are optimistic, as they are on cellular.
export const RELAY_UPLOAD_SHARE = 0.5;
/**
 * One forwarded stream: 50 messages a second, each a link frame
 * (link-frame.ts, 2 bytes) carrying two signed packets (2-byte length +
 * 14-byte header + an 80-byte Opus frame at 32 kbps + 64-byte signature,
 * twice: the new packet and the one before it) + SCTP (12 common + 16 DATA
 * chunk) + DTLS 1.2 AES-GCM record (13 header + 8 nonce + 16 tag) +
 * UDP/IPv4 (28): 415 bytes × 50 × 8 ≈ 166 kbps. Signatures and the
 * redundant copy cost more than the audio itself; with several speakers
 * talking at once, multiply.
 */
export const STREAM_KBPS = 166;
// Silence from the parent that means it is gone (a link that closes is
// replaced at once; this is for crashes and lost networks). Every link
// carries a packet or a keep-alive at least every 100 ms, so 500 ms is five
// missed in a row: at 250 ms, tabs stalled by a loaded CPU (ten tabs on two
// cores in our end-to-end test) dropped parents that were alive. 500 ms plus
// ~150 ms to attach keeps a repair under the second the room promises.
export const PARENT_SILENCE_MS = 500;
// A relay moves at most once per 5 s: moves reconnect a whole subtree's
// audio path, so the tree settles in a few rounds rather than thrashing.
export const REBALANCE_COOLDOWN_MS = 5_000;
// Parent chains are walked at most this far: deeper than any tree we build,
// short enough that a stale loop in adverts cannot hang us.
const MAX_CHAIN_STEPS = 64;

export interface TreeAdvert {
	readonly peerId: string;
	/** 0 = stage speaker, 1 = child of a speaker, …; null while detached. */
	readonly depth: number | null;
	/** Most children it will take. */
	readonly capacity: number;
	/** Children it has now. */
	readonly children: number;
	readonly parent: string | null;
}

/** Finds a peer's advert, where the caller knows it; used to walk parent chains. */
export type AdvertLookup = (peerId: string) => TreeAdvert | undefined;

export type JoinPlan =
	| { kind: 'attach'; parent: TreeAdvert }
	/** Take `leaf`'s place under its parent; the leaf becomes our child. */
	| { kind: 'adopt'; leaf: TreeAdvert }
	/** Take `leaf`'s place under its parent; we are full, so the leaf re-joins elsewhere. */
	| { kind: 'replace'; leaf: TreeAdvert };

/** What an orphan knows when its parent is gone. */
export interface RepairContext {
	/** The lost parent's parent: it has just got a slot back. */
	grandparent?: TreeAdvert;
	/** The sibling designated to take the lost parent's place (see chooseHeir). */
	heir?: TreeAdvert;
	backup?: TreeAdvert;
}

export type RebalancePlan =
	| { kind: 'stay' }
	| { kind: 'move'; parent: TreeAdvert }
	/** Trade places with `leaf`: we go under its parent, it goes under ours. */
	| { kind: 'swap'; leaf: TreeAdvert };

export interface ParentLimits {
	/** Only candidates at this depth or shallower. */
	maxDepth?: number;
	/** Lets candidates whose parent chain passes through self be ruled out. */
	lookup?: AdvertLookup;
}

/**
 * How many children a node can feed from its upload: half of it, in whole
 * streams, at most MAX_CHILDREN. 1,000 kbps → 3; a cellular phone that
 * reports nothing or little → 0.
 */
export function uploadCapacity(uploadKbps: number, streamKbps: number = STREAM_KBPS): number {
	if (!(uploadKbps > 0) || !(streamKbps > 0)) return 0;
	return Math.min(MAX_CHILDREN, Math.floor((uploadKbps * RELAY_UPLOAD_SHARE) / streamKbps));
}

export function freeSlots(advert: TreeAdvert): number {
	return Math.max(0, advert.capacity - advert.children);
}

/** The best parent among `adverts` with a free slot: shallowest, then emptiest, then spread by hash. */
export function chooseParent(
	selfId: string,
	adverts: Iterable<TreeAdvert>,
	exclude: ReadonlySet<string>,
	limits: ParentLimits = {}
): TreeAdvert | null {
	let best: TreeAdvert | null = null;
	let bestHash = 0;
	for (const candidate of adverts) {
		if (candidate.depth === null || candidate.children >= candidate.capacity) continue;
		if (limits.maxDepth !== undefined && candidate.depth > limits.maxDepth) continue;
		if (candidate.peerId === selfId || exclude.has(candidate.peerId)) continue;
		if (best !== null) {
			const order = candidate.depth - best.depth! || freeSlots(best) - freeSlots(candidate);
			if (order > 0) continue;
			if (order === 0) {
				const hash = pairHash(selfId, candidate.peerId);
				if (hash >= bestHash) continue;
			}
		}
		if (limits.lookup && chainPassesThrough(candidate, selfId, limits.lookup)) continue;
		best = candidate;
		bestHash = pairHash(selfId, candidate.peerId);
	}
	return best;
}

/**
 * A backup parent for `self`: free slot, not its parent, depth ≤ its own
 * (so never one of its descendants), parent chain not through it. Null
 * while detached or when nothing qualifies.
 */
export function chooseBackup(self: TreeAdvert, adverts: Iterable<TreeAdvert>, lookup?: AdvertLookup): TreeAdvert | null {
	if (self.depth === null) return null;
	const exclude = self.parent === null ? NOTHING : new Set([self.parent]);
	return chooseParent(self.peerId, adverts, exclude, { maxDepth: self.depth, lookup });
}

/**
 * Whether `backup` may still be used by `self`, checked again at repair time
 * because either may have moved since it was chosen. `self.depth` is the
 * depth self had before losing its parent: a backup that has become deeper
 * might now be in self's subtree, and would push the subtree down anyway.
 */
export function isUsableBackup(self: TreeAdvert, backup: TreeAdvert, lookup?: AdvertLookup): boolean {
	return (
		backup.peerId !== self.peerId &&
		backup.peerId !== self.parent &&
		backup.depth !== null &&
		(self.depth === null || backup.depth <= self.depth) &&
		backup.children < backup.capacity &&
		!(lookup && chainPassesThrough(backup, self.peerId, lookup))
	);
}

/**
 * A leaf (capacity 0) at depth ≤ maxDepth whose place a relay could take:
 * shallowest first, then spread by hash. Stage nodes are never displaced.
 */
export function chooseLeafToDisplace(
	selfId: string,
	adverts: Iterable<TreeAdvert>,
	exclude: ReadonlySet<string>,
	maxDepth: number,
	lookup?: AdvertLookup
): TreeAdvert | null {
	let best: TreeAdvert | null = null;
	let bestHash = 0;
	for (const candidate of adverts) {
		if (candidate.capacity !== 0 || candidate.depth === null || candidate.depth < 1 || candidate.depth > maxDepth) continue;
		if (candidate.parent === null || candidate.peerId === selfId || exclude.has(candidate.peerId)) continue;
		const hash = pairHash(selfId, candidate.peerId);
		if (best !== null && (candidate.depth > best.depth! || (candidate.depth === best.depth && hash >= bestHash))) continue;
		if (lookup && chainPassesThrough(candidate, selfId, lookup)) continue;
		best = candidate;
		bestHash = hash;
	}
	return best;
}

/**
 * Where a detached node (a newcomer, or an orphan whose heir and backup
 * failed) should attach. A relay may take the place of a leaf at least two
 * levels above the best free slot, or of any leaf when no slot is free:
 * with a free slot of its own it adopts the leaf, otherwise the leaf
 * re-joins elsewhere (a leaf's depth only matters to itself; a relay's
 * matters to its whole subtree). Null: nothing available, wait for the next
 * adverts.
 */
export function planJoin(
	self: TreeAdvert,
	adverts: Iterable<TreeAdvert>,
	exclude: ReadonlySet<string>,
	lookup?: AdvertLookup
): JoinPlan | null {
	const list = Array.isArray(adverts) ? (adverts as TreeAdvert[]) : [...adverts];
	const parent = chooseParent(self.peerId, list, exclude, { lookup });
	if (self.capacity > 0) {
		const maxLeafDepth = parent === null ? Number.POSITIVE_INFINITY : parent.depth! - 1;
		const leaf = chooseLeafToDisplace(self.peerId, list, exclude, maxLeafDepth, lookup);
		if (leaf !== null) return self.children < self.capacity ? { kind: 'adopt', leaf } : { kind: 'replace', leaf };
	}
	return parent === null ? null : { kind: 'attach', parent };
}

/**
 * Who takes a lost parent's place: the orphan with the most free slots (then
 * the lowest hash of its id, so every orphan computes the same heir from
 * the same adverts). A leaving parent names it; after a crash the orphans
 * work it out themselves.
 */
export function chooseHeir(orphans: Iterable<TreeAdvert>): TreeAdvert | null {
	let heir: TreeAdvert | null = null;
	for (const orphan of orphans) {
		if (heir === null) {
			heir = orphan;
			continue;
		}
		const order = freeSlots(orphan) - freeSlots(heir) || orphan.capacity - heir.capacity;
		if (order > 0 || (order === 0 && pairHash('', orphan.peerId) < pairHash('', heir.peerId))) heir = orphan;
	}
	return heir;
}

/**
 * Where an orphan goes. `self.depth` is its depth before the loss. The heir
 * asks the grandparent for the slot its parent held (the subtree keeps its
 * depth, even gains a level); the other orphans ask the heir (they keep
 * theirs); then each its backup; then a fresh planJoin. Each step is
 * checked with isUsableBackup, so nothing that has moved into the orphan's
 * subtree or deeper than it is used.
 */
export function planRepair(
	self: TreeAdvert,
	known: RepairContext,
	adverts: Iterable<TreeAdvert>,
	exclude: ReadonlySet<string>,
	lookup?: AdvertLookup
): JoinPlan | null {
	const isHeir = known.heir?.peerId === self.peerId;
	const ordered = isHeir ? [known.grandparent] : [known.heir, known.backup];
	if (isHeir) ordered.push(known.backup);
	for (const candidate of ordered) {
		if (candidate && !exclude.has(candidate.peerId) && isUsableBackup(self, candidate, lookup)) return { kind: 'attach', parent: candidate };
	}
	return planJoin(self, adverts, exclude, lookup);
}

/**
 * Whether a relay should move up now: to a free slot at depth ≤ its depth − 2
 * (preferred: one reconnection), or by trading places with a leaf there.
 * At most once per REBALANCE_COOLDOWN_MS.
 */
export function planRebalance(
	self: TreeAdvert,
	adverts: Iterable<TreeAdvert>,
	timing: { nowMs: number; lastMoveMs: number },
	lookup?: AdvertLookup
): RebalancePlan {
	if (self.capacity === 0 || self.depth === null || self.depth < 2 || self.parent === null) return STAY;
	if (timing.nowMs - timing.lastMoveMs < REBALANCE_COOLDOWN_MS) return STAY;
	const list = Array.isArray(adverts) ? (adverts as TreeAdvert[]) : [...adverts];
	const maxDepth = self.depth - 2;
	const parent = chooseParent(self.peerId, list, new Set([self.parent]), { maxDepth, lookup });
	const leaf = chooseLeafToDisplace(self.peerId, list, NOTHING, maxDepth, lookup);
	if (parent !== null && (leaf === null || parent.depth! + 1 <= leaf.depth!)) return { kind: 'move', parent };
	if (leaf !== null) return { kind: 'swap', leaf };
	return STAY;
}

/** Whether `candidate`'s known parent chain reaches `ancestorId`, i.e. it sits in ancestorId's subtree. */
export function chainPassesThrough(candidate: TreeAdvert, ancestorId: string, lookup: AdvertLookup): boolean {
	let id = candidate.parent;
	for (let steps = 0; id !== null && steps < MAX_CHAIN_STEPS; steps++) {
		if (id === ancestorId) return true;
		id = lookup(id)?.parent ?? null;
	}
	return false;
}

/**
 * The depth every listener stays within once rebalancing has come to rest:
 * ⌈log_g N⌉ + 1 for N listeners, g the smallest capacity of any relaying node
 * (stage included). With g < 2 nothing better than N holds (a chain).
 */
export function restingDepthBound(listeners: number, smallestRelayCapacity: number): number {
	if (listeners <= 1) return listeners;
	if (smallestRelayCapacity < 2) return listeners;
	return ceilLog(listeners, smallestRelayCapacity) + 1;
}

/** ⌈log_base n⌉ without floating-point surprises at exact powers. */
export function ceilLog(n: number, base: number): number {
	let levels = 0;
	for (let reach = 1; reach < n; reach *= base) levels++;
	return levels;
}

const STAY: RebalancePlan = { kind: 'stay' };
const NOTHING: ReadonlySet<string> = new Set();

/**
 * FNV-1a over "self␀candidate", then murmur3's finaliser (FNV alone barely
 * mixes ids that differ in their last characters): a cheap, stable spread of
 * joiners over equal candidates.
 */
function pairHash(selfId: string, candidateId: string): number {
	let hash = 0x811c9dc5;
	for (let i = 0; i < selfId.length; i++) hash = Math.imul(hash ^ selfId.charCodeAt(i), 0x01000193);
	hash = Math.imul(hash, 0x01000193);
	for (let i = 0; i < candidateId.length; i++) hash = Math.imul(hash ^ candidateId.charCodeAt(i), 0x01000193);
	hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
	hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
	return (hash ^ (hash >>> 16)) >>> 0;
}
