/**
 * When a parent in the audio tree counts as withholding: it keeps its link
 * alive (keep-alives every 100 ms) but delivers no genuine audio while a
 * speaker is sending. Pure timing, on the child's own clock
 * (performance.now()); audio-room.ts feeds it what arrives and acts on the
 * verdict. The hard part is telling a withholder from an honest relay on a
 * loaded device: a tab that stalls for a second sends nothing, then its
 * keep-alives arrive before its backlog of audio is through, and a child that
 * stalled itself finds its parent's audio old. So the quiet is counted only
 * while both tabs demonstrably ran. Audio counts as coming only while it flows
 * (FLOWING_PACKETS in FLOW_WINDOW_MS): a relay that passes a packet on now and
 * then, to keep its verdict away, is withholding the rest. And each grace a
 * parent can ask for (it says it is repairing; its packets come again after a
 * gap) counts once between two spells of flowing audio: a withholder that
 * repeats them, or trickles a packet between them, buys one delay, never an
 * endless one; and a grace for repairing lasts no longer than the spell of
 * audio before it, so one that lets a short burst through between two
 * buys as much quiet as it let audio through, not a fresh 3.6 s each time.
 *
 * A relay can also hold audio back and pass it all on later: it flows, only
 * seconds late. The speaker's presence marks each seq it has sent
 * (stream-guard.ts), so a child knows a packet was sent no later than the
 * mark that covered it arrived. One that comes more than LATE_MS (and a step
 * per level) after that is late: it is neither played nor passed on, and a
 * parent that keeps delivering late packets for LATE_SPAN_MS has failed. An
 * honest relay whose tab stalled delivers its backlog in one burst, shorter
 * than that; a relay that delays its stream keeps delivering late for as long
 * as its delay exceeds the limit. Since a member passes nothing late on, the
 * late packets its children see are their own parent's doing.
 */

// Every member whose own audio stops flowing (from its parent, or a speaker's from its microphone)
// for QUIET_NOTICE_MS tells its children it is repairing (audio-room.ts): an honest relay has said so
// long before WITHHELD_MS, whatever happened above it, so a parent that lets no audio flow and says
// nothing is treated as failed after 0.8 s, 100 ms more per level of depth (the member right below a
// withholder moves first). That is under a second to depth 3, where it was 1.3 s while a relay said
// so only once it had given up on its own parent (PARENT_SILENCE_MS, 1 s). One voice that stops while
// others flow is told the same way (VOICE_QUIET, per voice) and judged by the same patience (heldBack):
// it was 1.3 s while no relay said which voice its parent stopped passing on.
export const QUIET_NOTICE_MS = 400;
export const WITHHELD_MS = 800;
export const WITHHELD_PER_DEPTH_MS = 100;
/**
 * A parent that said it is repairing gets this long before its silence counts against it (3 s after it gave up on its
 * own parent), if its audio had flowed as long before (earnedGrace); less if not.
 */
export const REPAIR_GRACE_MS = 3_600;
/** Packets that come again after this long without any came from (or reach) a tab that stalled. */
export const RESUME_GAP_MS = 400;
// Audio flows while the parent delivers at least 10 genuine packets within half a second: 40 % of
// one speaker's 25 (20 ms frames), so an honest relay on a lossy link or a loaded tab (which delivers
// in bursts) always passes, and one that trickles a packet now and then does not.
export const FLOWING_PACKETS = 10;
export const FLOW_WINDOW_MS = 500;
// A packet that comes 1.5 s after its speaker said it was sent is late: an honest path of a dozen
// loaded hops takes a few hundred ms. 100 ms more per level, as above, and a delaying relay is
// judged once late packets have come from it for half a second (a stalled tab's backlog comes in
// one burst): a delay of up to about 2 s goes unjudged, where the replay window alone allowed 5 s.
export const LATE_MS = 1_500;
export const LATE_PER_DEPTH_MS = 100;
export const LATE_SPAN_MS = 500;
// A relay can also pass every packet on, on time by the marks, but each after a different delay: the
// child's jitter buffer (at most 200 ms deep) then drops most of them as too late to play while every
// rule above sees the voice flow on time. So a parent whose packets of one speaker came, over the last
// 2 s, at least 25 of them (half that speaker's pace), more than half too late to play, has failed too.
// Not counted: packets due while our own tab stalled (the jitter buffer tells those apart). A stalled
// honest relay's backlog comes in one burst, late by as long as it stalled: under a second (the silence
// rule takes a parent quiet for longer), so at most ~45 of a window's 100, not more than half.
// A relay passes on what it gets as it gets it, so below an uneven one its whole subtree sees the same:
// the member right below it moves first (taking its subtree along), the others only once it has held a
// second longer per level.
export const UNEVEN_WINDOW_MS = 2_000;
export const UNEVEN_MIN_PACKETS = 25;
export const UNEVEN_LATE_SHARE = 0.5;
export const UNEVEN_PER_DEPTH_MS = 1_000;

/** When audio last flowed (see flow()), and the packets that tell. */
export interface Flow {
	/** When audio last flowed; for a parent's clock, also set when it became our parent. */
	audioAt?: number;
	/** The arrival times of the last FLOWING_PACKETS genuine audio packets, oldest first. */
	recentAudio?: number[];
	/** When the spell of flowing audio that `audioAt` ends began (undefined: none since it became our parent). */
	spellSince?: number;
}

/**
 * How long a grace asked for now may last: as long as the last spell of flowing audio, REPAIR_GRACE_MS
 * at most, FIRST_GRACE_MS at least for the parent's first; the whole of it while none has flowed yet (a parent just taken). A relay that let ten
 * packets through in one burst and then said it was repairing had bought a whole new grace each time,
 * and its subtree heard 6 % of the room for as long as it kept that up: now a grace is earned by the
 * audio before it, and a withholder buys at most as much quiet as it let through.
 */
function earnedGrace(clock: Flow, first: boolean): number {
	if (clock.spellSince === undefined || clock.audioAt === undefined) return REPAIR_GRACE_MS;
	const earned = Math.min(REPAIR_GRACE_MS, Math.max(0, clock.audioAt - clock.spellSince));
	return first ? Math.max(FIRST_GRACE_MS, earned) : earned;
}

/** The least the first grace a parent asks for lasts, however short the audio before it: a parent just taken whose own parent fails at once. */
export const FIRST_GRACE_MS = 1_400;
/** A spell of flowing audio goes on across a pause this short (a loaded tab's or a lossy link's, a stall of ours): the flow's own patience. */
export const SPELL_GAP_MS = WITHHELD_MS;

/**
 * One speaker's flow from a parent; when the parent said that voice stopped reaching it
 * (VOICE_QUIET), the first time since it last flowed; and its run of late packets (noteLag).
 */
export interface VoiceFlow extends Flow {
	quietAt?: number;
	/** How long that grace lasts (earnedGrace). */
	quietGraceMs?: number;
	/** When the late packets it delivers lately began to come (a run broken by an on-time packet or a pause). */
	lateSince?: number;
	/** When the last of them came, and how late it was (ms after its speaker marked it sent). */
	lateAt?: number;
	lateBy?: number;
	/** When the parent's packets came again after a gap, the first time since this voice last flowed (heldBack: a speaker's own voice). */
	resumedAt?: number;
	/** This voice's packets of the last UNEVEN_WINDOW_MS that count (notePlayable): when each came, and whether too late to play. */
	arrivals?: { at: number; late: boolean }[];
	/** Since when more than UNEVEN_LATE_SHARE of them have been too late (unevenVoice). */
	unevenSince?: number;
}

/** What a child knows of its parent's link, each a performance.now() of the child's: its flow, and more. */
export interface ParentClock extends Flow {
	/** The flow per speaker whose packets it passed on, or that it said stopped reaching it (PeerId → its flow). */
	speakers?: Map<string, VoiceFlow>;
	/** When it said it is repairing: the first time since its last audio. */
	repairingAt?: number;
	/** How long that grace lasts (earnedGrace). */
	repairGraceMs?: number;
	/** The last packet of any kind from it. */
	packetAt?: number;
	/** When its packets came again after a gap: the first time since its last audio. */
	resumedAt?: number;
	/** How late (ms after its speaker marked it sent) the last late packet it delivered came, for the trace. */
	lateBy?: number;
}

/** Whether a grace taken at `mark` is spent: taken after the parent's audio (or the one voice's) last flowed. */
function spent(clock: Flow, mark: number | undefined): boolean {
	return mark !== undefined && mark > (clock.audioAt ?? 0);
}

function flow(clock: Flow, now: number): void {
	const recent = (clock.recentAudio ??= []);
	recent.push(now);
	if (recent.length > FLOWING_PACKETS) recent.shift();
	if (recent.length < FLOWING_PACKETS || now - recent[0] > FLOW_WINDOW_MS) return;
	// A spell goes on while audio keeps flowing: it flowed within the last SPELL_GAP_MS.
	if (clock.spellSince === undefined || clock.audioAt === undefined || now - clock.audioAt > SPELL_GAP_MS) clock.spellSince = recent[0];
	clock.audioAt = now;
}

/**
 * A speaker sent a frame of its own `now`. Its own voice counts as flowing by the measure its
 * children judge it by (FLOWING_PACKETS within FLOW_WINDOW_MS), not from its last frame: a
 * microphone on a loaded device can drop most frames while one still goes out every few hundred ms,
 * and a speaker that then said nothing would be judged as holding its own voice back (quietToTell).
 */
export function noteSent(own: Flow, now: number): void {
	flow(own, now);
}

/** A genuine audio packet of `speaker`'s from the parent arrived `now` (signed by its speaker, fresh, not a copy already had). */
export function noteAudio(clock: ParentClock, now: number, speaker: string): void {
	flow(clock, now);
	flow(voice(clock, speaker), now);
}

function voice(clock: ParentClock, speaker: string): VoiceFlow {
	const speakers = (clock.speakers ??= new Map());
	let own = speakers.get(speaker);
	if (!own) speakers.set(speaker, (own = {}));
	return own;
}

/** Any packet from the parent arrived `now` (call before looking at what it is). */
export function notePacket(clock: ParentClock, now: number): void {
	if (clock.packetAt !== undefined && now - clock.packetAt > RESUME_GAP_MS) {
		if (!spent(clock, clock.resumedAt)) clock.resumedAt = now;
		for (const run of clock.speakers?.values() ?? []) if (!spent(run, run.resumedAt)) run.resumedAt = now;
	}
	clock.packetAt = now;
}

/** The parent said it lost its own parent and is repairing. */
export function noteRepairing(clock: ParentClock, now: number): void {
	if (spent(clock, clock.repairingAt)) return;
	clock.repairGraceMs = earnedGrace(clock, clock.repairingAt === undefined);
	clock.repairingAt = now;
}

/** The parent said `speaker`'s audio stopped reaching it (VOICE_QUIET): the grace for that voice, once between two spells of it flowing. */
export function noteVoiceQuiet(clock: ParentClock, speaker: string, now: number): void {
	const own = voice(clock, speaker);
	if (spent(own, own.quietAt)) return;
	own.quietGraceMs = earnedGrace(own, own.quietAt === undefined);
	own.quietAt = now;
}

/** Whether a packet that arrives `lagMs` after its speaker marked it sent is too late to play or pass on, at `depth`. */
export function isLate(lagMs: number, depth: number): boolean {
	return lagMs > LATE_MS + LATE_PER_DEPTH_MS * Math.max(0, depth - 1);
}

/**
 * A genuine packet of `speaker`'s from the parent arrived `now`, `lagMs` after its speaker marked it
 * sent (undefined: no mark covers it yet). A late one extends that speaker's run of late packets
 * from this parent (or starts one, after a pause of more than FLOW_WINDOW_MS); one on time ends it.
 * Runs are per speaker: speakers mark at their own times, so while a delaying relay's packets of
 * one speaker are late, another's may not be shown late yet (its mark is still to come), and those
 * must not end the first one's run (in the unit model, two speakers delayed 3 s were never judged late).
 */
export function noteLag(clock: ParentClock, now: number, lagMs: number | undefined, depth: number, speaker: string): void {
	if (lagMs === undefined) return;
	const run = voice(clock, speaker);
	if (!isLate(lagMs, depth)) {
		run.lateSince = undefined;
		return;
	}
	if (run.lateSince === undefined || now - (run.lateAt ?? -Infinity) > FLOW_WINDOW_MS) run.lateSince = now;
	run.lateAt = now;
	run.lateBy = clock.lateBy = lagMs;
}

/**
 * Whether the parent has kept delivering one speaker's packets late for LATE_SPAN_MS, the last of
 * them lately: it delays the audio. No grace applies: a relay that says it is repairing, or
 * stalled, has no reason to deliver a packet late again and again; its backlog comes in one burst.
 */
export function delayed(clock: ParentClock, now: number): boolean {
	for (const run of clock.speakers?.values() ?? []) {
		if (run.lateSince === undefined || run.lateAt === undefined || now - run.lateAt > FLOW_WINDOW_MS) continue;
		if (run.lateAt - run.lateSince >= LATE_SPAN_MS) return true;
	}
	return false;
}

/**
 * What became of a genuine packet of `speaker`'s from the parent, arrived `now`: in time to play, too
 * late to play (by the marks, or for the jitter buffer), or excused: due while our own tab stalled
 * (not counted).
 */
export function notePlayable(clock: ParentClock, now: number, speaker: string, outcome: 'on-time' | 'late' | 'excused'): void {
	const run = voice(clock, speaker);
	const arrivals = (run.arrivals ??= []);
	while (arrivals.length > 0 && now - arrivals[0].at > UNEVEN_WINDOW_MS) arrivals.shift();
	if (outcome === 'excused') return;
	arrivals.push({ at: now, late: outcome === 'late' });
}

/**
 * The speaker whose packets from the parent came mostly too late to play over the last
 * UNEVEN_WINDOW_MS (counted from our own last stall at the earliest), for UNEVEN_PER_DEPTH_MS per level
 * below the first, with how many of how many; null if none did. Call every tick: it keeps track of
 * since when.
 */
export function unevenVoice(clock: ParentClock, now: number, context: Pick<QuietContext, 'ownResumedAt' | 'depth'>): { speaker: string; late: number; counted: number } | null {
	const since = Math.max(now - UNEVEN_WINDOW_MS, context.ownResumedAt);
	let found: { speaker: string; late: number; counted: number } | null = null;
	for (const [speaker, run] of clock.speakers ?? []) {
		const counted = (run.arrivals ?? []).filter((a) => a.at >= since);
		const late = counted.filter((a) => a.late).length;
		if (counted.length < UNEVEN_MIN_PACKETS || late <= UNEVEN_LATE_SHARE * counted.length) {
			run.unevenSince = undefined;
			continue;
		}
		run.unevenSince ??= now;
		if (!found && now - run.unevenSince >= UNEVEN_PER_DEPTH_MS * Math.max(0, context.depth - 1)) found = { speaker, late, counted: counted.length };
	}
	return found;
}

export interface QuietContext {
	/** Since when some speaker has been sending, as far as we know. */
	expectingSince: number;
	/** When our own thread last came back from a stall (-Infinity: never). */
	ownResumedAt: number;
	/** Our depth in the tree (1: the speaker's own child). */
	depth: number;
	/** The parent's PeerId, where it matters (heldBack: a speaker's own voice gets the stall grace). */
	parent?: string;
}

function limitAt(depth: number): number {
	return WITHHELD_MS + WITHHELD_PER_DEPTH_MS * Math.max(0, depth - 1);
}

/**
 * Whether the audio that flowed from a source (a parent's clock, or a speaker's own microphone: its
 * `audioAt`) has stopped for QUIET_NOTICE_MS, and `toldAt` (when the children were last told) is
 * from before it last flowed: time to tell them we are repairing, once per quiet spell.
 */
export function quietToTell(lastFlowAt: number | undefined, toldAt: number, now: number): boolean {
	const flowed = lastFlowAt ?? Number.NEGATIVE_INFINITY;
	return flowed > toldAt && now - flowed > QUIET_NOTICE_MS;
}

/** Whether the parent has held back audio for longer than its grace allows, at `now`. */
export function withheldTooLong(clock: ParentClock, now: number, context: QuietContext): boolean {
	if (clock.repairingAt !== undefined && now - clock.repairingAt < (clock.repairGraceMs ?? REPAIR_GRACE_MS)) return false;
	// Judged only while the parent demonstrably runs (its keep-alives come): a parent that sends nothing
	// at all has stalled or died, which the silence rule (PARENT_SILENCE_MS) and the resumption judge.
	if (clock.packetAt === undefined || now - clock.packetAt > RESUME_GAP_MS) return false;
	const limit = limitAt(context.depth);
	const quietSince = Math.max(clock.audioAt ?? 0, context.expectingSince, clock.repairingAt ?? 0, clock.resumedAt ?? 0, context.ownResumedAt);
	return now - quietSince > limit;
}

/**
 * Whether the parent, whose audio flows, has held back `speaker`'s for longer than allowed at `now`:
 * it passes one speaker on and not another (a relay censoring a voice). `context.expectingSince`
 * is since when this speaker has been sending and the parent's branch has carried it (the speaker
 * the branch hangs from hears it: its advert's `h`), and no earlier than when the parent became
 * ours. The same patience as for all audio (WITHHELD_MS and a step per level), and the same
 * grace: a parent that said this voice stopped reaching it (VOICE_QUIET, sent by every member
 * whose inflow of a voice stops for QUIET_NOTICE_MS) gets REPAIR_GRACE_MS, once between two spells
 * of that voice flowing from it. A stalled parent's backlog carries every voice it relays alike,
 * so no stall grace applies to those. While no audio flows at all, this says no: withheldTooLong judges that.
 *
 * A speaker that is our parent is judged for its own voice too (it could send the others to its
 * children and not itself), with one difference: its own voice comes from its microphone, encoder
 * and signer, not from a link, so after its tab stalls the voices it relays flow again at once while
 * its own takes a moment longer, and it says so (VOICE_QUIET names itself) only once its tick runs.
 * So the stall grace applies to its own voice, once between two spells of that voice flowing: the
 * patience counts from when its packets came again. (In the e2e loop an honest speaker on a loaded
 * tab was judged for its own voice at 0.8 s without this grace; a stall is the likely cause.)
 */
export function heldBack(clock: ParentClock, speaker: string, now: number, context: QuietContext): boolean {
	if (clock.audioAt === undefined || now - clock.audioAt > FLOW_WINDOW_MS) return false;
	const own = clock.speakers?.get(speaker);
	if (own?.quietAt !== undefined && now - own.quietAt < (own.quietGraceMs ?? REPAIR_GRACE_MS)) return false;
	const stalled = speaker === context.parent ? (own?.resumedAt ?? -Infinity) : -Infinity;
	const quietSince = Math.max(own?.audioAt ?? -Infinity, own?.quietAt ?? -Infinity, context.expectingSince, context.ownResumedAt, stalled);
	return now - quietSince > limitAt(context.depth);
}

// A branch that lacks a voice another speaker's branch carries along with all the others is left
// after 4 s, and a second more per level below the first (the top of the branch moves first, and
// takes its subtree along): far longer than the verdicts above, because an honest speaker's branch
// is short too while a stage link of its fails or is still forming (a speaker just came on stage),
// and half a second without a fellow's audio takes that fellow out of its `h` (audio-room.ts).
export const SHORT_BRANCH_MS = 4_000;
export const SHORT_BRANCH_PER_DEPTH_MS = 1_000;

/** A speaker on stage, as its presence tells a listener: its tag, whether it sends, and the voices it passes on (its advert's `h`, tags). */
export interface StageVoice {
	peerId: string;
	tag: number;
	sending: boolean;
	passes: readonly number[] | undefined;
}

/**
 * The speaker whose branch carries every voice flowing in the room (a sending speaker's that some
 * speaker passes on) while the branch we hang from, `root`'s, leaves one out; null when ours
 * carries them all, or no other branch does either. A speaker decides what its branch carries: one
 * running modified code can leave a fellow out of its `h` and hold that voice back, and then
 * heldBack never expects it of our parent. Listeners hear the room only through their branch, so
 * a short one is worth leaving whether its speaker is honest (a stage link down) or not; when every
 * branch is short (two speakers who cannot reach each other), none is better, and this says null.
 */
export function fullerBranch(root: string, stage: readonly StageVoice[]): string | null {
	const carriesAll = carriesEveryVoice(stage);
	const ours = stage.find((s) => s.peerId === root);
	if (!ours || carriesAll(ours)) return null;
	return stage.find((s) => s.peerId !== root && carriesAll(s))?.peerId ?? null;
}

/**
 * Every speaker whose branch is short now (leaves out a voice that some other branch carries along
 * with all the rest): a listener leaving its own short branch keeps out of these as well, so that it
 * does not move from one short branch into another. Empty when no branch carries every voice.
 */
export function shortBranches(stage: readonly StageVoice[]): string[] {
	const carriesAll = carriesEveryVoice(stage);
	if (!stage.some(carriesAll)) return [];
	return stage.filter((s) => !carriesAll(s)).map((s) => s.peerId);
}

/** Whether a speaker's branch carries every voice flowing in the room: each sending speaker's that some speaker passes on. */
function carriesEveryVoice(stage: readonly StageVoice[]): (speaker: StageVoice) => boolean {
	const wanted = flowingVoices(stage);
	return (s) => wanted.every((tag) => s.passes?.includes(tag) ?? false);
}

/** The voices flowing in the room: each sending speaker's tag that some speaker passes on. */
export function flowingVoices(stage: readonly StageVoice[]): number[] {
	const flowing = new Set(stage.flatMap((s) => s.passes ?? []));
	return stage.filter((s) => s.sending && flowing.has(s.tag)).map((s) => s.tag);
}

/**
 * The voices every branch carries: each sending speaker's tag that every speaker with an advert passes on.
 * Whatever branch a parent hangs from, an honest one passes these on (or says a voice stopped reaching it).
 */
export function voicesEveryBranchCarries(stage: readonly StageVoice[]): number[] {
	const advertised = stage.filter((s) => s.passes !== undefined);
	if (advertised.length === 0) return [];
	return stage.filter((s) => s.sending && advertised.every((a) => a.passes!.includes(s.tag))).map((s) => s.tag);
}

/** Since when our parent's advertised chain has reached no speaker (brokenChain), and since when it has not, if it mended. */
export interface BrokenSpell {
	parent: string;
	since: number;
	mendedAt: number | null;
}

/**
 * The spell, updated for `now`, in which the chain our parent advertises has reached no speaker
 * (`broken`: a parent named that nobody advertises, or a loop), and whether it has lasted
 * SHORT_BRANCH_MS and a step per level (counted afresh for another parent and after our own stall).
 * A chain mended for less than SHORT_BRANCH_MS does not end it: a relay that names a real parent for a
 * moment now and then would otherwise start it over for ever. Until it is long, heldBack expects of
 * that parent only what a branch's speaker says the branch carries, and there is no branch to ask;
 * after, the voices every branch carries (voicesEveryBranchCarries), which an honest parent passes
 * on wherever it hangs, and SHORT_BRANCH_MS later every voice flowing in the room (flowingVoices), as
 * a short branch is left then: a parent that never passes a flowing voice on is worth leaving whether
 * its branch is short honestly or not. Otherwise a relay that names a parent nobody knows would
 * switch off the per-voice check and hold one voice back for ever.
 */
export function brokenChain(spell: BrokenSpell | null, parent: string, broken: boolean, now: number, context: { ownResumedAt: number; depth: number }): { spell: BrokenSpell | null; long: boolean } {
	const ours = spell?.parent === parent ? spell : null;
	if (!broken) {
		if (!ours || now - (ours.mendedAt ?? now) >= SHORT_BRANCH_MS) return { spell: null, long: false };
		return { spell: { ...ours, mendedAt: ours.mendedAt ?? now }, long: false };
	}
	// A mend that lasted SHORT_BRANCH_MS ended the spell, though no tick saw it end (our parent was silent meanwhile).
	const going = ours && (ours.mendedAt === null || now - ours.mendedAt < SHORT_BRANCH_MS) ? ours : null;
	const current = going ? { ...going, mendedAt: null } : { parent, since: now, mendedAt: null };
	const limit = SHORT_BRANCH_MS + SHORT_BRANCH_PER_DEPTH_MS * Math.max(0, context.depth - 1);
	return { spell: current, long: now - Math.max(current.since, context.ownResumedAt) > limit };
}

/** Since when the branch we hang from (`root`) has been short while another was fuller (fullerBranch), or null. */
export interface ShortSpell {
	root: string;
	since: number;
}

/**
 * The spell, updated for `now` (a fuller branch `fuller`, or null): it starts when ours turns short,
 * ends when it is not or when we hang from another speaker. `leave` once it has lasted
 * SHORT_BRANCH_MS and a step per level, counted from our own tab's last stall at the earliest
 * (a stalled tab's view of presence is old).
 */
export function shortBranch(spell: ShortSpell | null, root: string, fuller: string | null, now: number, context: { ownResumedAt: number; depth: number }): { spell: ShortSpell | null; leave: boolean } {
	if (fuller === null) return { spell: null, leave: false };
	const current = spell?.root === root ? spell : { root, since: now };
	const limit = SHORT_BRANCH_MS + SHORT_BRANCH_PER_DEPTH_MS * Math.max(0, context.depth - 1);
	return { spell: current, leave: now - Math.max(current.since, context.ownResumedAt) > limit };
}
