/** Tree adverts written short, for the planner's and the engine's unit tests. */
import type { TreeAdvert } from './tree-planner';

/** An advert: `peerId` at `depth` (null: detached), feeding `children` of `capacity`, under `parent`. */
export const advert = (peerId: string, depth: number | null, capacity: number, children = 0, parent: string | null = null): TreeAdvert => ({
	peerId,
	depth,
	capacity,
	children,
	parent
});

/** Looks adverts up by PeerId, as a member's view of the tree does. */
export const lookupIn = (adverts: readonly TreeAdvert[]) => {
	const byId = new Map(adverts.map((a) => [a.peerId, a]));
	return (id: string) => byId.get(id);
};
