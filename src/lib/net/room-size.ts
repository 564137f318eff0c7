/**
 * How many share a room-wide budget (presence beats, safety-net announces),
 * as one member can tell. A joiner counts few others: in a large room most
 * members are heard only at their next beat, minutes apart. But every beat it
 * hears declares its sender's interval, which says how many that sender
 * counted (interval × the budget per second). So a member takes the larger
 * of its own count and what the others' intervals imply, using their median,
 * never the largest: a member lying about its interval cannot slow everyone.
 */
export function sharedBy(counted: number, declaredIntervalsMs: readonly number[], perSecond: number): number {
	if (declaredIntervalsMs.length === 0) return counted;
	const sorted = [...declaredIntervalsMs].sort((a, b) => a - b);
	const median = sorted[(sorted.length - 1) >> 1];
	return Math.max(counted, Math.floor((median / 1000) * perSecond));
}
