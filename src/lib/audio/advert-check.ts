/**
 * Tree adverts that cannot lie about depth. Every member advertises its place
 * in the audio tree in its (gossipsub-signed) presence: its depth, its parent,
 * and the speaker tags of its children. A depth counts only when the chain
 * up to the stage agrees at every step: the claimed parent's own depth is one
 * less (verified the same way), and that parent lists the member among its
 * children. A listener at depth 5 claiming depth 1 to be chosen as a parent
 * would need a speaker to list it, which only a real link to that speaker
 * gets it. An unverified depth is unknown: nobody picks that member as a
 * parent, backup or move target until its chain checks out (adverts settle
 * within a presence round, ~250 ms, after every change).
 */

/** What a member says about its place. */
export interface ClaimedPlace {
	depth: number | null;
	parent: string | null;
	/** speakerTag() of each child. */
	childTags: readonly number[];
}

// Deeper than any real tree (bench:tree: at most 18 at 1,000,000 listeners, during churn; 22 before orphaned relays took leaves' places): a longer chain is a lie or a loop.
const MAX_CHAIN = 64;

/**
 * The depth each member's chain supports: 0 for the verified stage, the
 * claimed depth where the chain to the stage checks out, otherwise null.
 */
export function verifiedDepths(claims: ReadonlyMap<string, ClaimedPlace>, stage: ReadonlySet<string>, tagOf: (peerId: string) => number): Map<string, number | null> {
	const verified = new Map<string, number | null>();
	const visiting = new Set<string>();
	const depthOf = (peerId: string, hops: number): number | null => {
		const known = verified.get(peerId);
		if (known !== undefined) return known;
		if (stage.has(peerId)) {
			verified.set(peerId, 0);
			return 0;
		}
		const claim = claims.get(peerId);
		if (!claim || claim.depth === null || claim.depth < 1 || !claim.parent || visiting.has(peerId) || hops > MAX_CHAIN) {
			verified.set(peerId, null);
			return null;
		}
		visiting.add(peerId);
		const parentClaim = claims.get(claim.parent);
		const parentDepth = parentClaim ? depthOf(claim.parent, hops + 1) : null;
		visiting.delete(peerId);
		const ok = parentDepth !== null && parentDepth === claim.depth - 1 && parentClaim!.childTags.includes(tagOf(peerId));
		const depth = ok ? claim.depth : null;
		verified.set(peerId, depth);
		return depth;
	};
	for (const peerId of claims.keys()) depthOf(peerId, 0);
	return verified;
}
