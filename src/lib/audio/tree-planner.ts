/**
 * Where a listener sits in its room's audio tree: the choices every peer makes
 * locally, from the adverts it knows. Pure functions, no I/O; tree-engine.ts
 * puts them in order (the one engine the app and the simulator run).
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
 * is authoritative and accepts or refuses each request (tree-engine.ts
 * admitChild).
 *
 * Join (chooseParent). Candidates are nodes with a known depth and a free
 * slot. Prefer the smallest depth, then the most free slots, then a hash of
 * (self, candidate), so that simultaneous joiners spread over equal
 * candidates instead of all asking the same one. A refused candidate is left
 * alone for a while and the joiner asks the next.
 *
 * Backup (chooseBackup). Every listener also keeps a backup parent: a node
 * with a free slot, not its parent, whose depth ≤ its own depth — a
 * descendant is always deeper, so the backup cannot be in its own subtree —
 * and whose parent chain, where known, does not pass through it. Shallowest
 * first, then as for join. Re-checked at repair time (isUsableBackup).
 *
 * Repair. An orphan asks its lost parent's parent first, naming the lost
 * one: that parent frees the lost one's slot for the first orphan to ask, so
 * one orphan's subtree keeps its depth. The others, refused there, go to
 * their backups, then to the best free slot. About one node reattaches per
 * departure. Where the tree is full (it is, above its bottom levels) an
 * orphan lands at the shallowest free slot, its subtree deeper than before
 * for a moment, until rebalancing lifts its relays back up.
 *
 * Rebalance (planRebalance). A relay at depth d whose cooldown has passed
 * moves up if some node at depth ≤ d − 2 has a free slot (its subtree comes
 * along). Leaves never rebalance: their depth only matters to themselves.
 * Every move lowers the sum of the relays' depths, so rebalancing comes to
 * rest. Moves are make-before-break (connect to the new parent, then drop
 * the old one), so they cost no audio. A leaf that joined early keeps a
 * shallow slot, so a level grows by the mean capacity of the nodes on it,
 * leaves counted as 0: with relays and leaves in random order that is the
 * mean relaying capacity f times the relays' share; bench:tree measures the
 * depth it gives (and compares it with ⌈log_f N⌉ + 2). Only a relay that
 * finds no free slot at all takes a leaf's place (chooseLeafToDisplace), so
 * that a room whose slots are all held by leaves still admits it.
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

export type RebalancePlan = { kind: 'stay' } | { kind: 'move'; parent: TreeAdvert };

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
 * Whether a relay should move up now: to a free slot at depth ≤ its depth − 2.
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
	const parent = chooseParent(self.peerId, adverts, new Set([self.parent]), { maxDepth: self.depth - 2, lookup });
	return parent === null ? STAY : { kind: 'move', parent };
}

/**
 * A leaf (capacity 0, not on stage, with a parent) whose place a relay with nowhere else to go could
 * take: the shallowest, then spread by hash; never one in the relay's own subtree.
 */
export function chooseLeafToDisplace(selfId: string, adverts: Iterable<TreeAdvert>, exclude: ReadonlySet<string>, lookup?: AdvertLookup): TreeAdvert | null {
	let best: TreeAdvert | null = null;
	let bestHash = 0;
	for (const candidate of adverts) {
		if (candidate.capacity !== 0 || candidate.depth === null || candidate.depth < 1 || candidate.parent === null) continue;
		if (candidate.peerId === selfId || exclude.has(candidate.peerId)) continue;
		const hash = pairHash(selfId, candidate.peerId);
		if (best !== null && (candidate.depth > best.depth! || (candidate.depth === best.depth && hash >= bestHash))) continue;
		if (lookup && chainPassesThrough(candidate, selfId, lookup)) continue;
		best = candidate;
		bestHash = hash;
	}
	return best;
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
