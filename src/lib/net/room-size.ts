/**
 * Room-wide budgets (RFC 3550, 6.2–6.3, as RTCP does it): members beat at
 * intervals that grow with the room, so the room as a whole sends a fixed
 * number of presence beats and safety-net announces a second, and a
 * newcomer's arrival sets off a bounded number of answers. Shared by the
 * meeting (topic-meeting.ts) and the room session (room-session.ts).
 */

// A beat is drawn between this share of its interval and all of it, so that beats spread out instead of
// bunching (RFC 3550, 6.3.1), and one never comes later than its sender declared.
export const BEAT_SPREAD = 0.25;
// How many members, on average, answer a newcomer with a message of their own: in a room of up to this
// many, all do; in a larger one each answers with the odds that keep about this many, or every newcomer
// would set off a message from every member (n² a join). The rest it hears at their next beat.
export const ANSWERS_PER_NEWCOMER = 16;

/** How long until the next beat of an `intervalMs` beat: in [1 − BEAT_SPREAD, 1] × the interval. */
export function nextBeatMs(intervalMs: number, random: () => number = Math.random): number {
	return intervalMs * (1 - BEAT_SPREAD * random());
}

/** Whether this member answers a newcomer, in a room of `members` (see ANSWERS_PER_NEWCOMER). */
export function answersNewcomer(members: number, random: () => number = Math.random): boolean {
	return random() * members < ANSWERS_PER_NEWCOMER;
}

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
