/**
 * A room's audio: speakers linked to each other, listeners in a tree below
 * them, packets forwarded verbatim, every decision local: where a member
 * hangs in the tree is decided by tree-engine.ts (the engine bench:tree's
 * simulator runs too); this file carries its steps out over media links.
 *
 * - Speakers (the verified stage) link to every other present speaker (the
 *   smaller PeerId dials) and encode their microphone once for the tree. A
 *   speaker hears the others through the native WebRTC voice each stage link
 *   also carries (stage-audio.ts: under the echo canceller), not the mixer.
 * - Listeners attach under the shallowest member with a free slot, keep a
 *   backup parent that cannot be in their own subtree, switch to it the
 *   moment their parent goes silent (PARENT_SILENCE_MS) or its link closes,
 *   and move up when a much shallower slot frees (tree-engine.ts).
 * - Every member advertises { depth, capacity, children, parent } in its
 *   presence, which is what the others plan with.
 * - Only packets tagged with a speaker the room's verified state has on
 *   stage, not muted by a moderator, and signed by that speaker
 *   (packet-auth.ts) are forwarded or played; forwarding happens before
 *   decoding. Everything else is dropped, and a link that delivers a forged
 *   packet is closed and its peer avoided: its children repair around it.
 * - A member the room removes or bans loses every audio link to us the
 *   moment our verified state says so, and cannot link again.
 */
import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { RoomView } from '../room/authority';
import type { RoomCipher } from '../room/room-crypto';
import type { PresenceEntry } from '../room/presence';
import type { RoomSession } from '../room/room-session';
import type { TreeWire } from '../room/room-topic-protocol';
import type { StanzaNode } from '../net/libp2p-node';
import { shortId, traceEvent } from '../diagnostics/trace';
import type { OpenVoiceSource, StagePlayer, VoiceSink, VoiceSource } from './audio-ports';
import { LinkRefusedError, dialLink, type LinkRole, type MediaLink, type RemoteVoice } from './media-link';
import type { AudioHost, HostedAudio, LinkDecision } from './audio-host';
import { MEDIA_PROTOCOL, type AttachAs, type AttachRequest } from './media-signal-protocol';
import { Microphone, MicrophoneError, type MicFailure } from './microphone';
import { verifiedDepths, type ClaimedPlace } from './advert-check';
import { PacketSigner, PacketVerifier } from './packet-auth';
import { CONTROL_TAG, FLAG_DTX, FLAG_MARKER, decodePacket, encodePacket, encodeVoiceQuiet, seqAdd, speakerTag, voiceQuietTag, type DecodedPacket } from './packet-codec';
import { SlotHolds } from './slot-holds';
import { beforeMute, StreamGuard } from './stream-guard';
import { chooseParent, type TreeAdvert } from './tree-planner';
import {
	admitChild,
	CHILD_SILENCE_MS,
	PARENT_SILENCE_MS,
	RETRY_CANDIDATE_AFTER_MS,
	TICK_MS,
	TreeEngine,
	type TreeView
} from './tree-engine';
import {
	FLOW_WINDOW_MS,
	SHORT_BRANCH_MS,
	brokenChain,
	delayed,
	flowingVoices,
	voicesEveryBranchCarries,
	fullerBranch,
	heldBack,
	isLate,
	noteAudio,
	noteLag,
	notePacket,
	notePlayable,
	noteRepairing,
	noteSent,
	noteVoiceQuiet,
	quietToTell,
	shortBranch,
	shortBranches,
	unevenVoice,
	withheldTooLong,
	type Flow,
	type ParentClock,
	type QuietContext,
	type ShortSpell,
	type StageVoice,
	type BrokenSpell
} from './withholding';

// A tick this late means our own thread stalled (a loaded CPU, a phone waking): the packets that
// arrived meanwhile wait in the queue behind the tick, so silence is not judged on that tick.
const STALLED_TICK_MS = 4 * TICK_MS;
// A link with nothing to send for 100 ms sends a keep-alive, so its far end never mistakes quiet for death.
const KEEPALIVE_MS = 100;
// A direct connection to a new parent or speaker: a WebRTC dial through the relay, slow on a busy device.
const CONNECT_TIMEOUT_MS = 15_000;
// Coalesce advert changes: presence goes out at most every 250 ms because of the tree.
const ADVERT_COALESCE_MS = 250;
/** Link-local, never forwarded or played: says the link is alive. */
const KEEPALIVE = encodePacket({ flags: FLAG_DTX, speakerTag: CONTROL_TAG, seq: 0, captureTs: 0, payload: new Uint8Array() });
/** Sent by a child on its standby link when its parent fails: "feed me now". */
const ACTIVATE = encodePacket({ flags: FLAG_DTX | FLAG_MARKER, speakerTag: CONTROL_TAG, seq: 0, captureTs: 0, payload: new Uint8Array() });
/** Sent by a parent to its children when it lost its own parent: "no audio for a moment, I am repairing". */
const REPAIRING = encodePacket({ flags: FLAG_MARKER, speakerTag: CONTROL_TAG, seq: 0, captureTs: 0, payload: new Uint8Array() });
/** Sent on every link as the page closes: "I am gone", so the far end repairs now instead of after a silence. */
const GOODBYE = encodePacket({ flags: FLAG_DTX, speakerTag: CONTROL_TAG, seq: 1, captureTs: 0, payload: new Uint8Array() });
// A speaker counts as sending while it advertises so and its own voice flowed this recently (as its children count a flow).
const SENDING_WITHIN_MS = 1_000;
// A speaker lists a voice as passed on (its advert's `h`) while it flowed this recently: a fellow's to it, or its own microphone's.
const HEARD_WITHIN_MS = FLOW_WINDOW_MS;
// Two parents in a row judged withholding the same way (all audio, one speaker's, or late) within this
// window means the fault is upstream of both (a speaker that says it sends and does not, or marks seqs
// it has not sent): stop judging for WITHHOLD_BACKOFF_MS instead of churning. Two different verdicts
// (another kind, or another speaker held back) are two different parents' doing.
const WITHHOLD_STREAK_MS = 10_000;
const WITHHOLD_BACKOFF_MS = 30_000;
// A member caught forging audio is not linked to again for the rest of the visit (well, 10 minutes).
const FORGER_AVOID_MS = 10 * 60_000;
/** 'on' only while encoded frames flow; 'starting' until the first one; otherwise why nothing is sent. */
export type MicState = 'off' | 'starting' | 'on' | MicFailure;
// An opened microphone that has encoded nothing after 3 s (or stops for 2 s) is not sending, whatever the
// browser says: shown as a capture failure. It stays open, and shows 'on' again the moment frames flow (a
// busy phone or test machine can stall capture for seconds without anything being broken).
const FIRST_FRAME_MS = 3_000;
const FRAMES_STALLED_MS = 2_000;

export interface AudioRoomEvents {
	onChange(): void;
	onLevels(levels: Map<string, number>): void;
}

/** A link, and as a parent's, what withholding.ts judges it by. */
interface LinkInfo extends ParentClock {
	link: MediaLink;
	lastSentAt: number;
	/** As a parent's: when it became ours. */
	adoptedAt?: number;
	/** As a child's: when we last told it our audio stopped flowing (REPAIRING), and each voice that did (VOICE_QUIET). */
	toldQuietAt?: number;
	toldVoicesAt?: Map<string, number>;
}

export class AudioRoom implements HostedAudio {
	readonly capacity: number;
	micState: MicState = 'off';
	/** Whether this browser can encode Opus (audioSupport().speak), checked before the microphone is ever opened. */
	readonly canSpeak: boolean;
	#micOpenedAt = 0;
	readonly #session: RoomSession;
	readonly #node: StanzaNode;
	readonly #cipher: RoomCipher;
	readonly #output: VoiceSink;
	readonly #stage: StagePlayer;
	readonly #openMicrophone: OpenVoiceSource;
	readonly #trace: (event: string, detail: string) => void;
	/** Our voice as stage links send it: a copy of the microphone's track, so self-mute can silence it alone. */
	#voice: MediaStreamTrack | null = null;
	readonly #events: AudioRoomEvents;
	readonly #iceServers: RTCIceServer[];
	readonly #host: AudioHost;
	/** The microphone the person chose (a device id), read each time the microphone opens; null for the system's. */
	readonly #microphone: () => string | null;
	readonly #me: string;
	#myTag = 0;
	#signer: PacketSigner | null = null;
	readonly #verifier: PacketVerifier;
	/** Own packets leave in the order they were captured, each once signed. */
	#sending: Promise<void> = Promise.resolve();
	readonly #tags = new Map<string, number>(); // peerId → tag, cached
	readonly #speakerTag: (peerId: string) => number;
	#allowed = new Map<number, string[]>(); // tag → the speakers allowed to be heard now (two only if one ground keys for a clash)
	#speaker = false;
	#parent: LinkInfo | null = null;
	/** Our place in the tree: depth, backup, whom to ask on repair, whom to leave alone (tree-engine.ts). */
	readonly #tree: TreeEngine;
	readonly #children = new Map<string, LinkInfo>();
	/** Children held in reserve: they activate the link when their own parent fails. */
	readonly #standbys = new Map<string, LinkInfo>();
	/** Slots promised to children and standbys whose links are still setting up (slot-holds.ts). */
	readonly #holds = new SlotHolds(CONNECT_TIMEOUT_MS);
	/** Our own reserve link to the backup parent, ready before it is needed. */
	#standby: LinkInfo | null = null;
	readonly #speakerLinks = new Map<string, LinkInfo>();
	readonly #dialing = new Set<string>();
	#mic: VoiceSource | null = null;
	#seq = Math.floor(Math.random() * 2 ** 32) >>> 0;
	/** Where this member's stream as a speaker starts: a new one (another random seq) with every reload. */
	readonly #streamStart = seqAdd(this.#seq, 1);
	/** The last seq actually handed to the links (signing is queued): the mark our presence gives (stream-guard.ts). */
	#sentSeq = this.#seq;
	/** Which speakers' packets are still fresh: refuses replays (stream-guard.ts). */
	readonly #guard = new StreamGuard();
	/** The presence message each speaker's mark was last taken from. */
	readonly #markedFrom = new Map<string, PresenceEntry>();
	/** Signed packets refused as not fresh (replays, or before their speaker's mark reached us). */
	#stale = 0;
	/** Of those, packets that came too late after their speaker marked them sent (withholding.ts isLate). */
	#late = 0;
	/** Packets taken from the copy a link carries again in its next message: what redundancy saved (link-frame.ts). */
	#recovered = 0;
	/** Packets whose signature is being checked, by speaker tag and seq. */
	readonly #verifying = new Set<string>();
	#selfMuted = false;
	/** Our own voice's flow, measured as our children measure it (withholding.ts noteSent): what `s`, `h` and #tellQuiet go by. */
	readonly #ownFlow: Flow = {};
	/** Each voice we pass on (a speaker's PeerId): when it last flowed to us, from whichever parent or stage link (#tellQuiet). */
	readonly #voicesFlowedAt = new Map<string, number>();
	/** When we last let a leaf child go for a relay (tree-engine.ts DISPLACE_EVERY_MS). */
	#displacedAt = -Infinity;
	/** Since when some speaker has been sending, as far as this member knows (null: nobody is). */
	#expectingSince: number | null = null;
	/** Per speaker: since when its audio has been expected from the parent we have now (#withholding). */
	#expectingFrom = new Map<string, number>();
	/** When each kind of withholding verdict (#withholding's answers) was last given. */
	readonly #withheldAt = new Map<string, number>();
	#judgeWithholdingAfter = 0;
	/** Since when the branch we hang from has lacked a voice another branch carries (#judgeBranch). */
	#shortSpell: ShortSpell | null = null;
	/** Since when our parent's advertised chain has reached no speaker (withholding.ts brokenChain). */
	#brokenSpell: BrokenSpell | null = null;
	/** When our own thread last came back from a stall: nothing we failed to take meanwhile was withheld. */
	#resumedAt = -Infinity;
	#timer: ReturnType<typeof setInterval> | undefined;
	#lastTickAt = 0;
	#noParentTracedAt = -Infinity;
	/** What each member claims of its place, as of the last #adverts(); verified or not. */
	#claims = new Map<string, ClaimedPlace>();
	#judgeNextTick = false;
	#advertTimer: ReturnType<typeof setTimeout> | undefined;
	#lastAdvert = '';
	#unsubscribe: (() => void) | null = null;
	#stopped = false;

	constructor(
		session: RoomSession,
		output: VoiceSink,
		options: {
			host: AudioHost;
			capacity: number;
			iceServers: RTCIceServer[];
			canSpeak?: boolean;
			stage: StagePlayer;
			microphone?: () => string | null;
			/** Opens the microphone: the browser's (microphone.ts) unless told otherwise (unit tests). */
			openMicrophone?: OpenVoiceSource;
			/** Where this room's audio events are recorded: the page's trace, or (many members in one process) one of their own. */
			trace?: (event: string, detail: string) => void;
			/** A member's speaker tag: speakerTag() (packet-codec.ts) unless a unit test makes two clash. */
			tagOf?: (peerId: string) => number;
		},
		events: AudioRoomEvents
	) {
		this.#session = session;
		this.#host = options.host;
		this.#node = session.node;
		this.#cipher = session.cipher;
		this.#output = output;
		this.#stage = options.stage;
		this.#events = events;
		this.#iceServers = options.iceServers;
		this.#microphone = options.microphone ?? (() => null);
		this.#trace = options.trace ?? traceEvent;
		this.#speakerTag = options.tagOf ?? speakerTag;
		this.#openMicrophone = options.openMicrophone ?? ((onFrame, onFailure, deviceId) => Microphone.open(onFrame, onFailure, deviceId));
		this.capacity = options.capacity;
		this.canSpeak = options.canSpeak ?? true;
		this.#me = session.me.peerId.toString();
		this.#tree = new TreeEngine(this.#me, this.capacity);
		this.#verifier = new PacketVerifier(session.room.roomId);
		// Our own voice joins the same report, measured the same way: the ring on our card and the meter by the mic.
		output.onLevels = (levels) => {
			for (const [peerId, level] of this.#stage.levels()) levels.set(peerId, level);
			if (this.#mic && this.micState === 'on') levels.set(this.#me, this.#selfMuted ? 0 : this.#mic.level.take());
			events.onLevels(levels);
		};
	}

	get depth(): number | null {
		return this.#tree.depth;
	}

	get parentId(): string | null {
		return this.#parent?.link.peerId ?? null;
	}

	get childCount(): number {
		return this.#children.size;
	}

	async start(): Promise<void> {
		performance.mark('stanza:audio-start');
		await this.#host.add(this);
		this.#myTag = this.#tagOf(this.#me);
		this.#signer = await PacketSigner.create(this.#session.me.privateKey, this.#session.room.roomId);
		if (this.#stopped) {
			// Stopped while starting (put out of the room as it opened): stop() ran before anything below was set.
			this.#host.remove(this);
			return;
		}
		this.#unsubscribe = this.#session.room.subscribe((view) => void this.#onView(view));
		// Every presence message of ours says how far our stream has come, so replays of it are refused.
		this.#session.setStreamMark(() => (this.#speaker ? { start: this.#streamStart, mark: this.#sentSeq } : undefined));
		// Links set up at our word: a child we gave a slot to, a fellow speaker while we are on stage.
		this.#session.setAudioSetups((peerId) => this.#holds.has(peerId, performance.now()) || (this.#speaker && this.#session.room.view.stage.has(peerId)));
		await this.#onView(this.#session.room.view);
		this.#lastTickAt = performance.now();
		this.#timer = setInterval(() => this.#tick(), TICK_MS);
	}

	async stop(): Promise<void> {
		if (this.#stopped) return;
		this.#stopped = true;
		clearInterval(this.#timer);
		clearTimeout(this.#advertTimer);
		this.#unsubscribe?.();
		this.#session.setStreamMark(null);
		this.#session.setAudioSetups(null);
		this.#host.remove(this);
		this.#mic?.close();
		this.#mic = null;
		this.#setVoice(null);
		for (const info of this.#links()) info.link.close();
		this.#stage.close();
		await this.#output.close();
	}

	/**
	 * The page is closing: says goodbye on every link, synchronously (a data channel's send is), so
	 * children repair and parents free the slot now; the page's end closes the connections.
	 */
	hangUp(): void {
		for (const info of this.#links()) info.link.send(GOODBYE);
	}

	/** Every audio link this member holds. */
	#links(): LinkInfo[] {
		const links = [...this.#children.values(), ...this.#standbys.values(), ...this.#speakerLinks.values()];
		if (this.#parent) links.push(this.#parent);
		if (this.#standby) links.push(this.#standby);
		return links;
	}

	/** Self-mute for a speaker: nothing leaves the device. */
	setSelfMuted(muted: boolean): void {
		this.#selfMuted = muted;
		this.#mic?.setMuted(muted);
		if (this.#voice) this.#voice.enabled = !muted;
		this.#advertise();
	}

	/** For diagnostics: this member's view of the tree. */
	snapshot() {
		return {
			speaker: this.#speaker,
			capacity: this.capacity,
			depth: this.#tree.depth,
			parent: this.parentId,
			backup: this.#tree.backup,
			standby: this.#standby?.link.peerId ?? null,
			children: [...this.#children.keys()],
			speakers: [...this.#speakerLinks.keys()],
			mic: this.micState,
			micLabel: this.#mic?.track?.label ?? null,
			stale: this.#stale,
			late: this.#late,
			recovered: this.#recovered,
			fromParent: this.#parentFlow()
		};
	}

	/** How long ago our parent's last packet, last audio, and each speaker's last audio through it came (ms; diagnostics). */
	#parentFlow(): { packetMs: number | null; audioMs: number | null; voices: Record<string, number | null> } | null {
		const parent = this.#parent;
		if (!parent) return null;
		const now = performance.now();
		const ago = (at: number | undefined) => (at === undefined ? null : Math.round(now - at));
		const voices: Record<string, number | null> = {};
		for (const [peerId, flow] of parent.speakers ?? []) voices[shortId(peerId)] = ago(flow.audioAt);
		return { packetMs: ago(parent.packetAt), audioMs: ago(parent.audioAt), voices };
	}

	// —— the room's verified state decides who is a speaker and who is heard ——

	async #onView(view: RoomView): Promise<void> {
		const heard = [...view.stage].filter((p) => !view.modMuted.has(p));
		// A speaker tag is 32 bits of the PeerId's hash: a member who ground keys for one that matches a
		// fellow speaker's would, with one speaker per tag, have silenced them (their packets checked
		// against the wrong key) or been silenced. Both stay heard: a packet under a shared tag is
		// checked against each of them, and belongs to the one whose key signed it (#resolveClash).
		const allowed = new Map<number, string[]>();
		for (const peerId of heard) {
			const tag = this.#tagOf(peerId);
			const holders = allowed.get(tag);
			if (!holders) allowed.set(tag, [peerId]);
			else {
				holders.push(peerId);
				this.#trace('audio: tag clash', `${shortId(peerId)} has ${shortId(holders[0])}'s speaker tag: each packet checked against both`);
			}
		}
		const still = new Set(heard);
		for (const peerIds of this.#allowed.values()) {
			for (const peerId of peerIds) {
				if (still.has(peerId)) continue;
				this.#output.drop(peerId);
				this.#guard.forget(peerId);
				this.#markedFrom.delete(peerId);
			}
		}
		this.#allowed = allowed;
		for (const info of this.#speakerLinks.values()) this.#stage.setHeard(info.link.peerId, this.#heard(info.link.peerId));
		// Out of the room is out of the audio: every link with a removed or banned member closes now, and a
		// stage link with a member no longer on stage (its voice is not played, but it would still get ours).
		for (const info of this.#links()) {
			const peer = info.link.peerId;
			if (!this.#mayHold(peer, info.link.role)) {
				this.#trace('audio: cut', `${shortId(peer)} ${view.removed.has(peer) || view.banned.has(peer) ? 'is out of the room' : 'left the stage'}`);
				info.link.close();
			}
		}

		const speaker = view.stage.has(this.#me);
		if (speaker !== this.#speaker) {
			this.#speaker = speaker;
			// Changing sides: drop the other side's links.
			this.#parent?.link.close();
			this.#parent = null;
			this.#standby?.link.close();
			this.#standby = null;
			for (const info of this.#speakerLinks.values()) info.link.close();
			this.#tree.setSpeaker(speaker);
			if (speaker && this.micState !== 'denied') this.micState = 'off'; // a new turn on stage tries the microphone again
		}
		const micWanted = speaker && !view.modMuted.has(this.#me);
		if (micWanted && !this.#mic && this.micState === 'off') void this.#openMic();
		if (!micWanted && this.#mic) {
			this.#mic.close();
			this.#mic = null;
			this.#setVoice(null);
			this.micState = 'off';
		}
		this.#advertise();
		this.#events.onChange();
	}

	/** After a failure: the person asks to try the microphone again. */
	retryMic(): void {
		const view = this.#session.room.view;
		if (!this.#speaker || view.modMuted.has(this.#me) || this.micState === 'starting' || this.micState === 'on') return;
		// An open microphone that sends nothing is closed and opened afresh.
		this.#mic?.close();
		this.#mic = null;
		this.#setVoice(null);
		void this.#openMic();
	}

	async #openMic(): Promise<void> {
		if (!this.canSpeak) {
			this.micState = 'unsupported';
			this.#events.onChange();
			return;
		}
		this.micState = 'starting';
		this.#events.onChange();
		try {
			let opened: VoiceSource | null = null;
			const mic = await this.#openMicrophone(
				(frame) => this.#sendOwn(frame.payload, frame.captureTs),
				(reason) => opened && this.#micFailed(opened, reason),
				this.#microphone()
			);
			opened = mic;
			if (this.#stopped || !this.#speaker) {
				mic.close();
				this.micState = 'off';
				return;
			}
			mic.setMuted(this.#selfMuted);
			this.#mic = mic;
			this.#setVoice(mic.track?.clone() ?? null);
			this.#micOpenedAt = performance.now();
			// Still 'starting': 'on' once the first frame is encoded (#watchMic).
		} catch (err) {
			this.micState = err instanceof MicrophoneError ? err.reason : 'capture';
			this.#trace('audio: mic', `did not open: ${String(err)}`);
		}
		this.#events.onChange();
	}

	#micFailed(mic: VoiceSource, reason: MicFailure): void {
		if (this.#mic !== mic) return;
		mic.close();
		this.#mic = null;
		this.#setVoice(null);
		this.micState = reason;
		this.#trace('audio: mic', `failed: ${reason}`);
		this.#advertise();
		this.#events.onChange();
	}

	/** The microphone state says what is sent: on while frames flow, a capture failure while they do not. */
	#watchMic(now: number): void {
		const mic = this.#mic;
		if (!mic) return;
		const flowing = mic.framesEncoded > 0 && now - mic.lastEncodedAt <= FRAMES_STALLED_MS;
		let state = this.micState;
		if (flowing) state = 'on';
		else if (state === 'on' || (state === 'starting' && now - this.#micOpenedAt > FIRST_FRAME_MS)) state = 'capture';
		if (state === this.micState) return;
		this.#trace('audio: mic', `${this.micState} → ${state}`);
		this.micState = state;
		this.#events.onChange();
	}

	/** What our stage links send as our voice from now on (null: nothing). */
	#setVoice(track: MediaStreamTrack | null): void {
		if (track === this.#voice) return;
		this.#voice?.stop();
		this.#voice = track;
		if (track) track.enabled = !this.#selfMuted;
		for (const info of this.#speakerLinks.values()) info.link.sendVoice(track);
	}

	/** A fellow speaker's voice arrived on its stage link: heard there from now on, not through the mixer. */
	#hearVoice(speaker: string, voice: RemoteVoice): void {
		if (this.#stopped) return;
		this.#output.drop(speaker);
		this.#stage.play(speaker, voice, this.#heard(speaker));
	}

	/** Whether the verified room lets `peerId` be heard now (on stage, not muted by a moderator). */
	#heard(peerId: string): boolean {
		return this.#allowed.get(this.#tagOf(peerId))?.includes(peerId) ?? false;
	}

	#sendOwn(payload: Uint8Array, captureTs: number): void {
		const signer = this.#signer;
		if (!signer) return;
		this.#seq = seqAdd(this.#seq, 1);
		const packet = { flags: 0, speakerTag: this.#myTag, seq: this.#seq, captureTs: captureTs >>> 0, payload };
		const signed = signer.encode(packet);
		this.#sending = this.#sending.then(async () => {
			const bytes = await signed.catch(() => null);
			if (!bytes) return;
			const now = performance.now();
			noteSent(this.#ownFlow, now);
			this.#sentSeq = packet.seq;
			for (const info of this.#speakerLinks.values()) if (info.link.sendAudio(bytes, now)) info.lastSentAt = now;
			for (const info of this.#children.values()) if (info.link.sendAudio(bytes, now)) info.lastSentAt = now;
		});
	}

	// —— packets ——

	/** `again`: the copy of an earlier packet that a link carries in its next message (link-frame.ts). */
	#onPacket(from: LinkInfo, bytes: Uint8Array, again: boolean): void {
		notePacket(from, performance.now());
		let packet: DecodedPacket;
		try {
			packet = decodePacket(bytes);
		} catch {
			return; // malformed: dropped
		}
		if (packet.speakerTag === CONTROL_TAG) {
			if (packet.seq === 1 && packet.flags === FLAG_DTX) {
				// The far end is closing (a hostile one can only end its own link with us this way).
				this.#trace('audio: goodbye', `${from.link.role} ${shortId(from.link.peerId)} closed`);
				if (from !== this.#parent) return from.link.close();
				// Our parent is closing: repair as for a silent one (its parent first, naming it), and do not ask it again.
				this.#dropParent(from, this.#adverts(), performance.now());
				return;
			}
			if (packet.flags & FLAG_MARKER && packet.flags & FLAG_DTX && from.link.role === 'standby') this.#activate(from);
			else if (packet.flags & FLAG_MARKER && from === this.#parent) noteRepairing(from, performance.now());
			else if (from === this.#parent) {
				for (const voice of this.#allowed.get(voiceQuietTag(packet) ?? CONTROL_TAG) ?? []) noteVoiceQuiet(from, voice, performance.now());
			}
			return; // otherwise link liveness only
		}
		if (from === this.#standby || from.link.role === 'standby') return; // idle until activated
		if (from.link.role === 'child') return; // audio flows down the tree only: a child cannot inject any
		const speakers = this.#allowed.get(packet.speakerTag);
		if (!speakers) return; // not someone the room lets speak
		if (speakers.length > 1) return void this.#resolveClash(from, packet, bytes, again, speakers);
		const speaker = speakers[0];
		if (speaker === this.#me) return; // a loop back to us
		this.#fromSpeaker(from, packet, bytes, again, speaker);
	}

	/**
	 * A packet under a tag two speakers share (one ground keys for it): it is the packet of whichever
	 * one's key signed it, then taken as any other. Signed by neither, it is a forgery.
	 */
	async #resolveClash(from: LinkInfo, packet: DecodedPacket, bytes: Uint8Array, again: boolean, speakers: string[]): Promise<void> {
		for (const speaker of speakers) {
			if (speaker === this.#me) continue;
			if (await this.#verifier.verify(speaker, packet)) return this.#fromSpeaker(from, packet, bytes, again, speaker);
		}
		if (!speakers.includes(this.#me)) this.#forged(from, speakers[0]);
	}

	/** A packet under `speaker`'s tag: checked for freshness and its signature, then played and passed on. */
	#fromSpeaker(from: LinkInfo, packet: DecodedPacket, bytes: Uint8Array, again: boolean, speaker: string): void {
		// Speakers hear each other directly; a speaker must not take a packet about
		// another speaker from anyone but that speaker.
		if (from.link.role === 'speaker' && from.link.peerId !== speaker) return;
		// Signed is not fresh: only the stream the speaker advertises now, each packet once.
		// A replay is dropped, not held against the link: an honest relay may pass one on too.
		const entry = this.#session.presence.members.get(speaker);
		const mark = entry?.tree?.q;
		const start = entry?.tree?.r;
		if (!entry || mark === undefined || start === undefined) {
			return this.#refuseStale(`unmarked ${shortId(speaker)} via ${shortId(from.link.peerId)}`); // its stream not marked to us yet
		}
		if (this.#markedFrom.get(speaker) !== entry) {
			this.#markedFrom.set(speaker, entry);
			// Muted, and a packet before our tick said so (a replay, most likely): the words before the mute stay refused.
			if (entry.muted) this.#guard.quietAt(speaker, start, mark);
			this.#guard.mark(speaker, start, mark, entry.lastSeen); // presence times are Date.now()
		}
		if (beforeMute(packet.seq, mark, entry.muted)) {
			return this.#refuseStale(`from ${shortId(speaker)} before it muted, via ${shortId(from.link.peerId)}`);
		}
		const arrivedAt = Date.now();
		const verdict = this.#guard.check(speaker, packet.seq, arrivedAt);
		if (verdict === 'replayed' && again) return; // its first copy came through: the usual case
		if (verdict !== 'ok') {
			return this.#refuseStale(`${verdict} from ${shortId(speaker)} via ${shortId(from.link.peerId)}`);
		}
		// A link carries each packet twice (link-frame.ts): the copy waits for the first one's verdict, not a second verify.
		const key = `${speaker}:${packet.seq}`;
		if (this.#verifying.has(key)) return;
		this.#verifying.add(key);
		void this.#verifier.verify(speaker, packet).then((genuine) => {
			this.#verifying.delete(key);
			if (!genuine) return this.#forged(from, speaker);
			if (!from.link.open || !this.#heard(speaker)) return; // cut or silenced meanwhile
			if (!this.#guard.commit(speaker, packet.seq, Date.now())) return; // a copy was taken meanwhile
			const now = performance.now();
			// How long after its speaker marked it sent it came: held back that long on the way.
			const sent = this.#guard.sentBefore(speaker, packet.seq);
			const lag = sent === undefined ? undefined : Math.max(0, arrivedAt - sent);
			const depth = this.#tree.depth ?? 1;
			if (from === this.#parent) noteLag(from, now, lag, depth, speaker);
			if (lag !== undefined && isLate(lag, depth)) {
				this.#late++;
				if (from === this.#parent) notePlayable(from, now, speaker, 'late');
				return this.#refuseStale(`late by ${Math.round(lag)} ms from ${shortId(speaker)} via ${shortId(from.link.peerId)}`);
			}
			noteAudio(from, now, speaker);
			if (again) this.#recovered++;
			for (const child of this.#children.values()) if (child !== from && child.link.sendAudio(bytes, now)) child.lastSentAt = now;
			// A fellow speaker's voice plays from its native track when its stage link carries one (#hearVoice).
			if (this.#stage.has(speaker)) return;
			const outcome = this.#output.push(speaker, packet);
			// Whether it came in time to play, for #withholding's unevenVoice (excused: due while our own tab stalled).
			if (from === this.#parent) notePlayable(from, now, speaker, outcome === 'late' ? 'late' : outcome === 'buffered' ? 'on-time' : 'excused');
		});
	}

	/** Counts a signed packet refused as not fresh; traced one in 50. */
	#refuseStale(what: string): void {
		this.#stale++;
		if (this.#stale % 50 === 1) this.#trace('audio: stale', `${what} (${this.#stale} so far)`);
	}

	/** A link delivered a packet its speaker did not sign: whoever sent it forged it. Cut it and never take audio from it again. */
	#forged(from: LinkInfo, speaker: string): void {
		if (!from.link.open) return;
		this.#trace('audio: forged', `a packet "from" ${shortId(speaker)} via ${shortId(from.link.peerId)}: link closed`);
		this.#tree.avoid(from.link.peerId, performance.now(), FORGER_AVOID_MS);
		from.link.close();
	}

	// —— links ——

	/** The room key, for the media handler to open this room's signaling. */
	cipherFor(): RoomCipher {
		return this.#cipher;
	}

	get roomId(): string {
		return this.#session.room.roomId;
	}

	get iceServers(): RTCIceServer[] {
		return this.#iceServers;
	}

	/**
	 * Whether the room's verified state lets `peerId` hold a link with us as `role` now: nobody out of the
	 * room, and a stage link only between two members on stage. Checked as a request arrives (decide), again
	 * as its link opens (adopt, #activate, #dial: the state may change while a link sets up), and at every
	 * change of the state (#onView).
	 */
	#mayHold(peerId: string, role: LinkRole): boolean {
		const view = this.#session.room.view;
		if (view.removed.has(peerId) || view.banned.has(peerId)) return false;
		return role !== 'speaker' || (this.#speaker && view.stage.has(peerId));
	}

	/** Whether to take an incoming link request, and as what. */
	decide({ as, lost, displace }: AttachRequest, remote: string): LinkDecision {
		const view = this.#session.room.view;
		if (view.removed.has(remote) || view.banned.has(remote)) return { accept: false, reason: 'not-allowed' };
		const now = performance.now();
		// One set-up per peer at a time: each admitted request costs an RTCPeerConnection, and a peer
		// that sent many at once would have had them all (its own pending hold is left out of the count).
		if (this.#holds.has(remote, now)) return { accept: false, reason: 'full' };
		if (as === 'speaker') {
			if (!this.#speaker || !view.stage.has(remote) || this.#speakerLinks.has(remote)) return { accept: false, reason: 'not-allowed' };
			this.#holds.hold(remote, 'speaker', now);
			return { accept: true, role: 'speaker' };
		}
		if (this.#children.has(remote) || (as === 'standby' && this.#standbys.has(remote))) return { accept: false, reason: 'full' };
		const dead = lost ? this.#children.get(lost) : undefined;
		// Capacities as their (gossip-signed) adverts say: a leaf's slot goes only to a member that relays.
		const capacityOf = (peerId: string) => this.#session.presence.members.get(peerId)?.tree?.c;
		const admission = admitChild(
			{
				depth: this.#tree.depth,
				capacity: this.capacity,
				children: this.#children.size + this.#holds.count('child', now, remote),
				standbys: this.#standbys.size + this.#holds.count('standby', now, remote)
			},
			as === 'standby' ? 'standby' : 'child',
			dead && lost ? { peerId: lost, silentMs: now - dead.link.lastReceivedAt } : undefined,
			displace && as === 'listener'
				? { peerId: displace, leafIsOurs: this.#children.has(displace) && capacityOf(displace) === 0, askerRelays: (capacityOf(remote) ?? 0) > 0, sinceLastMs: now - this.#displacedAt }
				: undefined
		);
		if (!admission.accept) return { accept: false, reason: 'full' };
		this.#holds.hold(remote, as === 'standby' ? 'standby' : 'child', now);
		// The slot is promised: the advert says so now, so others stop asking for it (#currentAdvert).
		this.#advertise();
		if (as === 'standby') return { accept: true, role: 'standby' };
		if (admission.releaseStandby) {
			// A real child outranks a reserve: release one standby (it picks another backup).
			const [, released] = this.#standbys.entries().next().value ?? [];
			released?.link.close();
		}
		if (admission.evict === displace && displace) {
			// A relay with nowhere else to go takes this leaf's slot; the leaf repairs, likely under the relay.
			this.#displacedAt = now;
			this.#trace('audio: displaced', `${shortId(displace)} (relays nothing) makes way for ${shortId(remote)}, which relays`);
			this.#children.get(displace)?.link.close();
		} else if (admission.evict) dead?.link.close(); // an orphan of our silent child: that slot would be freed a moment later anyway
		return { accept: true, role: 'child' };
	}

	adopt(link: MediaLink): void {
		this.#holds.release(link.peerId);
		this.#session.audioSetupEnded();
		if (this.#stopped || !this.#mayHold(link.peerId, link.role)) {
			// Admitted when it asked; the room's state changed while its link set up (a ban, a step down).
			this.#trace('audio: cut', `${shortId(link.peerId)}'s ${link.role} link opened after the room stopped allowing it: closed`);
			link.close();
			this.#advertise();
			return;
		}
		const info: LinkInfo = { link, lastSentAt: performance.now() };
		if (link.role === 'speaker') {
			this.#speakerLinks.get(link.peerId)?.link.close();
			this.#speakerLinks.set(link.peerId, info);
			link.onClose = () => {
				if (this.#speakerLinks.get(link.peerId) === info) {
					this.#speakerLinks.delete(link.peerId);
					this.#stage.stop(link.peerId);
				}
				this.#events.onChange();
			};
			link.sendVoice(this.#voice);
			link.onVoice = (voice) => this.#hearVoice(link.peerId, voice);
			if (link.remoteVoice) this.#hearVoice(link.peerId, link.remoteVoice);
		} else if (link.role === 'standby') {
			this.#standbys.get(link.peerId)?.link.close();
			this.#standbys.set(link.peerId, info);
			link.onClose = () => {
				if (this.#standbys.get(link.peerId) === info) this.#standbys.delete(link.peerId);
			};
		} else {
			// One link per child: decide refuses a second request while the first sets up, but a hold lapses
			// after CONNECT_TIMEOUT_MS, so a later link replaces an older one, which would otherwise stay open untracked.
			this.#children.get(link.peerId)?.link.close();
			if (this.#children.size >= this.capacity) {
				// Admitted with a slot held for it (decide), yet none is free now: our capacity was lowered
				// while its link set up, say. The child sees its new parent's link close, and repairs.
				this.#trace('audio: over capacity', `${shortId(link.peerId)}'s link opened after our last slot was taken: closed`);
				link.close();
				return;
			}
			this.#children.set(link.peerId, info);
			link.onClose = () => {
				if (this.#children.get(link.peerId) === info) this.#children.delete(link.peerId);
				this.#advertise();
				this.#events.onChange();
			};
		}
		link.onPacket = (bytes, again) => this.#onPacket(info, bytes, again);
		this.#advertise();
		this.#events.onChange();
	}

	/** `remote`'s link request ended without a link (refused, or its handshake failed): free what it held. */
	abandon(remote: string): void {
		this.#holds.release(remote);
		this.#session.audioSetupEnded();
		this.#advertise();
	}

	/** A standby child whose parent failed: feed it from now on, if a slot is still free. */
	#activate(info: LinkInfo): void {
		this.#standbys.delete(info.link.peerId);
		if (this.#children.size >= this.capacity || this.#tree.depth === null || !this.#mayHold(info.link.peerId, 'child') || this.#children.has(info.link.peerId)) {
			info.link.close(); // it falls back to its other repair paths
			return;
		}
		this.#children.set(info.link.peerId, info);
		info.link.onClose = () => {
			if (this.#children.get(info.link.peerId) === info) this.#children.delete(info.link.peerId);
			this.#advertise();
			this.#events.onChange();
		};
		this.#advertise();
		this.#events.onChange();
	}

	async #dial(peerId: string, as: AttachAs, lost?: string, displace?: string): Promise<MediaLink | null> {
		if (this.#dialing.has(peerId) || this.#stopped) return null;
		this.#dialing.add(peerId);
		try {
			// Tree and stage links are made on demand: the room's overlay connects us to a few members only.
			if (!(await this.#session.connectTo(peerId, AbortSignal.timeout(CONNECT_TIMEOUT_MS)))) throw new Error('no direct connection');
			if (this.#stopped) return null;
			const stream = await this.#node.dialProtocol(peerIdFromString(peerId) as PeerId, MEDIA_PROTOCOL, { signal: AbortSignal.timeout(5_000) });
			const link = await dialLink(stream, peerId, as, { roomId: this.#session.room.roomId, cipher: this.#cipher, iceServers: this.#iceServers, transport: this.#host.transport, lost, displace });
			if (this.#stopped || !this.#mayHold(peerId, link.role)) {
				this.#trace('audio: cut', `${as} link to ${shortId(peerId)} opened after the room stopped allowing it: closed`);
				link.close();
				return null;
			}
			return link;
		} catch (err) {
			this.#trace('audio: link failed', `${as} ${shortId(peerId)}: ${String(err)}`);
			this.#tree.avoid(peerId, performance.now(), err instanceof LinkRefusedError ? RETRY_CANDIDATE_AFTER_MS : RETRY_CANDIDATE_AFTER_MS / 5);
			return null;
		} finally {
			this.#dialing.delete(peerId);
			// The link runs on a connection of its own (link-pipe.ts): the room's overlay may trim this one.
			this.#session.release(peerId);
		}
	}

	// —— upkeep ——

	#tick(): void {
		if (this.#stopped) return;
		const now = performance.now();
		const late = now - this.#lastTickAt;
		this.#lastTickAt = now;
		this.#keepAlive(now);
		// Judged at the next tick instead, after what queued up behind this one (a background tab, whose
		// every tick is late, still judges every other tick).
		if (late > STALLED_TICK_MS && !this.#judgeNextTick) {
			this.#judgeNextTick = true;
			this.#resumedAt = now;
			if (late > 1_000) this.#trace('audio: stalled', `no tick for ${Math.round(late)} ms: silence judged at the next`);
			return;
		}
		this.#judgeNextTick = false;
		this.#reclaimSilentChildren(now);
		this.#tellQuiet(now);
		this.#noteQuietSpeakers();
		if (this.#speaker) {
			this.#watchMic(now);
			this.#linkSpeakers();
			// Starting or stopping to send, or a stage link coming or going, changes what listeners
			// expect to hear (#withholding); #advertise says it only when the advert changed.
			this.#advertise();
		} else this.#tendParent(now);
	}

	/** Every link carries something at least every KEEPALIVE_MS, both ways, so both ends can tell a dead peer from a quiet one. */
	#keepAlive(now: number): void {
		for (const info of this.#links()) {
			if (now - info.lastSentAt >= KEEPALIVE_MS && info.link.send(KEEPALIVE)) info.lastSentAt = now;
		}
	}

	/** Speakers muted now whose stream we know nothing of (we came during the mute): see StreamGuard.quietAt. */
	#noteQuietSpeakers(): void {
		const view = this.#session.room.view;
		const members = this.#session.presence.members;
		for (const peerId of view.stage) {
			const entry = members.get(peerId);
			const { q, r } = entry?.tree ?? {};
			if (peerId !== this.#me && entry && q !== undefined && r !== undefined && (entry.muted || view.modMuted.has(peerId))) this.#guard.quietAt(peerId, r, q);
		}
	}

	/** A child that went silent (tab closed without a goodbye, network gone) frees its slot. */
	#reclaimSilentChildren(now: number): void {
		for (const info of [...this.#children.values(), ...this.#standbys.values()]) {
			if (now - info.link.lastReceivedAt > CHILD_SILENCE_MS) info.link.close();
		}
	}

	#linkSpeakers(): void {
		const present = this.#session.presence.members;
		for (const peerId of this.#session.room.view.stage) {
			if (peerId === this.#me || this.#speakerLinks.has(peerId) || !present.has(peerId) || this.#tree.isAvoided(peerId, performance.now())) continue;
			if (this.#me > peerId) continue; // the smaller PeerId dials
			void this.#dial(peerId, 'speaker').then((link) => link && this.adopt(link));
		}
	}

	#tendParent(now: number): void {
		const parent = this.#parent;
		const adverts = this.#adverts();
		const silent = parent && (!parent.link.open || now - parent.link.lastReceivedAt > PARENT_SILENCE_MS);
		const withholding = parent && !silent ? this.#withholding(parent, now) : null;
		if (parent && (silent || withholding)) {
			if (withholding) this.#trace('audio: withheld', `${shortId(parent.link.peerId)} ${withholding}: repairing around it`);
			else this.#trace('audio: parent lost', `${shortId(parent.link.peerId)}: ${parent.link.open ? `silent for ${Math.round(now - parent.link.lastReceivedAt)} ms` : 'link closed'}`);
			this.#dropParent(parent, adverts, now);
		} else if (parent) this.#judgeBranch(parent, now);
		// The reserve link counts while it is up and alive: switching to it is one message, no new connection.
		const standbyReady = !!this.#standby?.link.open && now - this.#standby.link.lastReceivedAt < CHILD_SILENCE_MS;
		const step = this.#tree.step(now, this.#treeView(adverts), { standbyReady, dialing: this.#dialing.size > 0 });
		switch (step.kind) {
			case 'activate-standby': {
				const standby = this.#standby!;
				this.#standby = null;
				standby.link.send(ACTIVATE);
				this.#becomeChildOf(standby, adverts.get(standby.link.peerId)?.depth ?? this.#tree.depth ?? 0);
				return;
			}
			case 'attach':
				if (step.why === 'unconfirmed') {
					this.#trace('audio: unconfirmed parent', `no confirmed free slot for ${Math.round(step.waitedMs ?? 0)} ms: trying ${shortId(step.parent.peerId)}, which says depth ${step.parent.depth}`);
				}
				if (step.displace) this.#trace('audio: no free slot', `asking ${shortId(step.parent.peerId)} for ${shortId(step.displace)}'s place (it relays nothing)`);
				void this.#attach(step.parent.peerId, step.parent.depth!, step.lost ?? undefined, step.displace);
				return;
			case 'move':
				this.#trace('audio: moving', `to ${shortId(step.parent.peerId)} at depth ${step.parent.depth! + 1} (${step.why ?? 'a slot two levels up is free'}), from ${this.#parent ? shortId(this.#parent.link.peerId) : '-'}`);
				void this.#attach(step.parent.peerId, step.parent.depth!);
				break;
			case 'wait':
				if (this.#dialing.size === 0 && now - this.#noParentTracedAt > 5_000) this.#traceNoParent(adverts, now);
				return;
		}
		this.#keepStandby(this.#tree.backup === null ? null : (adverts.get(this.#tree.backup) ?? null));
		// Our depth follows our parent's (tree-engine.ts refreshDepth): say so when it moved.
		this.#advertise();
	}

	/** What the engine weighs: every advert we know, and the fallback of slots whose depth only their holder vouches for. */
	#treeView(adverts: Map<string, TreeAdvert>): TreeView {
		return { candidates: [...adverts.values()], lookup: (id) => adverts.get(id), unconfirmed: (exclude) => this.#unconfirmedSlot(adverts, exclude) };
	}

	#traceNoParent(adverts: Map<string, TreeAdvert>, now: number): void {
		this.#noParentTracedAt = now;
		const unverified = [...adverts.values()].filter((a) => a.depth === null && a.children < a.capacity).length;
		// Every advert as we see it (claimed depth → verified, children/capacity, parent): enough to tell a stale view from a full tree.
		const seen = [...adverts.values()].map((a) => `${shortId(a.peerId)} d${this.#claims.get(a.peerId)?.depth ?? '-'}→${a.depth ?? '?'} ${a.children}/${a.capacity} ↑${a.parent ? shortId(a.parent) : '-'}`);
		this.#trace('audio: no parent', `no free slot among ${adverts.size} adverts (${this.#tree.avoidedCount} avoided, ${unverified} free but with a depth their chain does not confirm): ${seen.join(', ')}`);
	}

	/**
	 * Whether `parent` keeps its link alive but holds back the audio of a speaker who is sending
	 * (its advert says so and nobody muted it): all of it (withheldTooLong), or one speaker's while
	 * it passes others on (heldBack; expected only when the speaker our branch hangs from says it
	 * passes that one on, its advert's `h`). Judged only after the link and the speaker have had time,
	 * not while the parent says it is repairing, not across a stall of either tab (a loaded device:
	 * the relay that stalled is honest, its keep-alives merely came before its backlog of audio),
	 * and not right after two alike such verdicts in a row (then the speaker, not the parents, is the likely fault).
	 * Or it passes audio on, but late (delayed): it keeps delivering packets seconds after their speakers
	 * marked them sent. Or it passes a voice on so unevenly that most of it comes too late to play
	 * (withholding.ts unevenVoice). Returns what it did, for the trace, or null.
	 */
	#withholding(parent: LinkInfo, now: number): string | null {
		const view = this.#session.room.view;
		const members = this.#session.presence.members;
		const sending = [...view.stage].filter((p) => p !== this.#me && this.#sends(p));
		if (sending.length === 0) {
			this.#expectingSince = null;
			this.#expectingFrom.clear();
			this.#brokenSpell = null;
			return null;
		}
		this.#expectingSince ??= now;
		// One speaker's audio is expected from the moment our branch carries it (the speaker it hangs
		// from lists it as passed on), and not before this parent became ours.
		const root = this.#branchRoot(parent.link.peerId);
		// A chain that has reached no speaker for long (withholding.ts brokenChain): what every branch carries is expected.
		const broken = brokenChain(this.#brokenSpell, parent.link.peerId, root === null, now, { ownResumedAt: this.#resumedAt, depth: this.#tree.depth ?? 1 });
		this.#brokenSpell = broken.spell;
		const voices = broken.long ? this.#stageVoices() : [];
		const carried = broken.long ? voicesEveryBranchCarries(voices) : [];
		const heard = root ? members.get(root)?.tree?.h : broken.long ? flowingVoices(voices) : undefined;
		// A tag two speakers share says nothing of which one the branch passes on: neither is expected.
		const expected = sending.filter((p) => (heard?.includes(this.#tagOf(p)) ?? false) && this.#allowed.get(this.#tagOf(p))?.length === 1);
		for (const p of this.#expectingFrom.keys()) if (!expected.includes(p)) this.#expectingFrom.delete(p);
		// With no branch to ask, a flowing voice not every branch carries is expected a short branch's patience later.
		for (const p of expected) if (!this.#expectingFrom.has(p)) this.#expectingFrom.set(p, root || carried.includes(this.#tagOf(p)) ? now : now + SHORT_BRANCH_MS);
		if (now < this.#judgeWithholdingAfter) return null;
		const verdict = this.#verdict(parent, now, { expectingSince: this.#expectingSince, ownResumedAt: this.#resumedAt, depth: this.#tree.depth ?? 1 }, expected);
		if (!verdict) return null;
		if (now - (this.#withheldAt.get(verdict.kind) ?? -Infinity) < WITHHOLD_STREAK_MS) {
			this.#judgeWithholdingAfter = now + WITHHOLD_BACKOFF_MS;
			this.#trace('audio: withheld twice', 'the fault looks upstream of our parents: not judging for 30 s');
		}
		this.#withheldAt.set(verdict.kind, now);
		return verdict.what;
	}

	/** The first rule `parent` fails, if any: its kind (alike verdicts in a row point upstream) and what it did, for the trace. */
	#verdict(parent: LinkInfo, now: number, context: QuietContext, expected: string[]): { kind: string; what: string } | null {
		// Late first: a delaying relay's late packets are dropped, so its audio may also look withheld.
		if (delayed(parent, now)) return { kind: 'late', what: `passes audio on ${Math.round(parent.lateBy ?? 0)} ms late` };
		if (withheldTooLong(parent, now, context)) return { kind: 'all', what: 'sends keep-alives but no audio' };
		const held = expected.find((p) => heldBack(parent, p, now, { ...context, parent: parent.link.peerId, expectingSince: Math.max(this.#expectingFrom.get(p)!, parent.adoptedAt ?? now) }));
		if (held) return { kind: held, what: `passes audio on but holds back ${shortId(held)}'s` };
		// Or it passes a voice on so unevenly that most of it comes too late to play.
		const uneven = unevenVoice(parent, now, context);
		if (uneven) return { kind: 'uneven', what: `passes ${shortId(uneven.speaker)}'s audio on too unevenly to play (${uneven.late} of ${uneven.counted} packets too late in 2 s)` };
		return null;
	}

	/**
	 * Whether the branch our parent hangs from has lacked, for long enough, a voice that another
	 * speaker's branch carries along with all the others (withholding.ts fullerBranch): if so, the
	 * engine moves us out of that branch to a free slot in another (make before break), and keeps out
	 * of it (longer each time in a row) and of every other branch short now (tree-engine.ts leaveBranch).
	 */
	#judgeBranch(parent: LinkInfo, now: number): void {
		// A chain that reaches no speaker for a moment does not end a short spell (a relay naming no parent now and
		// then would start it over); the broken-chain rule in #withholding judges a chain that stays broken.
		const root = this.#branchRoot(parent.link.peerId);
		if (root === null) return;
		const voices = this.#stageVoices();
		const fuller = fullerBranch(root, voices);
		const judged = shortBranch(this.#shortSpell, root, fuller, now, { ownResumedAt: this.#resumedAt, depth: this.#tree.depth ?? 1 });
		this.#shortSpell = judged.spell;
		if (!judged.leave) return;
		this.#shortSpell = null;
		const ms = this.#tree.leaveBranch(root, now, shortBranches(voices));
		this.#trace('audio: short branch', `${shortId(root)}'s branch leaves out a voice ${shortId(fuller!)}'s carries: moving out of it for ${ms / 1000} s`);
	}

	/** Each speaker on stage as its presence tells us (withholding.ts StageVoice). */
	#stageVoices(): StageVoice[] {
		const members = this.#session.presence.members;
		return [...this.#session.room.view.stage].map((peerId) => ({ peerId, tag: this.#tagOf(peerId), sending: this.#sends(peerId), passes: members.get(peerId)?.tree?.h }));
	}

	/** Whether speaker `peerId` sends, as far as we know: its advert says so (`s`), and neither it nor a moderator muted it. */
	#sends(peerId: string): boolean {
		const entry = this.#session.presence.members.get(peerId);
		return !this.#session.room.view.modMuted.has(peerId) && !entry?.muted && entry?.tree?.s === true;
	}

	/** The speaker at the top of `peerId`'s branch, by the adverts' parents (null: the chain breaks or loops). */
	#branchRoot(peerId: string): string | null {
		const stage = this.#session.room.view.stage;
		let at: string | null = peerId;
		for (let hops = 0; at !== null && hops <= 64; hops++) {
			if (stage.has(at)) return at;
			at = this.#claims.get(at)?.parent ?? null;
		}
		return null;
	}

	/** Closes the link to a parent that failed or is leaving, keeps away from it for a while, and repairs. */
	#dropParent(parent: LinkInfo, adverts: Map<string, TreeAdvert>, now: number): void {
		parent.link.onClose = () => {};
		parent.link.close();
		this.#tree.avoid(parent.link.peerId, now, RETRY_CANDIDATE_AFTER_MS);
		this.#loseParent(parent, adverts, now);
	}

	/** Our parent went silent or withheld: we repair, naming it, and our children are told to wait for us. */
	#loseParent(parent: LinkInfo, adverts: Map<string, TreeAdvert>, now: number): void {
		if (this.#parent !== parent) return;
		this.#parent = null;
		this.#tree.lost(parent.link.peerId, adverts.get(parent.link.peerId)?.parent ?? null);
		this.#tellRepairing(now);
		this.#advertise();
		this.#events.onChange();
	}

	/** Our children will hear nothing from us for a moment: say so, so they wait instead of leaving too (once per quiet spell counts for them). */
	#tellRepairing(now: number): void {
		for (const child of this.#children.values()) if (this.#tell(child, REPAIRING, now)) child.toldQuietAt = now;
	}

	/** Sends a control packet to a child; whether it went. */
	#tell(child: LinkInfo, bytes: Uint8Array, now: number): boolean {
		if (!child.link.send(bytes)) return false;
		child.lastSentAt = now;
		return true;
	}

	/**
	 * What stopped flowing to us, our children hear from us before their patience with us runs out
	 * (withholding.ts QUIET_NOTICE_MS), once per quiet spell: all our audio (our parent's, or a
	 * speaker's microphone's) as REPAIRING, and each voice we pass on that stopped while others may go
	 * on as VOICE_QUIET. A child adopted during a spell is told too.
	 */
	#tellQuiet(now: number): void {
		const all = this.#speaker ? this.#ownFlow.audioAt : this.#parent?.audioAt;
		const stage = this.#session.room.view.stage;
		const flows: [string, number | undefined][] = this.#speaker
			? [[this.#me, this.#ownFlow.audioAt], ...[...this.#speakerLinks].map(([peerId, info]): [string, number | undefined] => [peerId, info.audioAt])]
			: [...(this.#parent?.speakers ?? [])].map(([peerId, flow]): [string, number | undefined] => [peerId, flow.audioAt]);
		// Remembered across parents: a voice the last parent passed on and this one has not (yet) stops too.
		for (const [peerId, at] of flows) if (at !== undefined && at > (this.#voicesFlowedAt.get(peerId) ?? -Infinity)) this.#voicesFlowedAt.set(peerId, at);
		for (const peerId of this.#voicesFlowedAt.keys()) if (!stage.has(peerId)) this.#voicesFlowedAt.delete(peerId);
		for (const child of this.#children.values()) {
			if (quietToTell(all, child.toldQuietAt ?? -Infinity, now) && this.#tell(child, REPAIRING, now)) child.toldQuietAt = now;
			const told = (child.toldVoicesAt ??= new Map());
			for (const [peerId, at] of this.#voicesFlowedAt) {
				if (quietToTell(at, told.get(peerId) ?? -Infinity, now) && this.#tell(child, encodeVoiceQuiet(this.#tagOf(peerId)), now)) told.set(peerId, now);
			}
		}
	}

	async #attach(peerId: string, parentDepth: number, lost?: string, displace?: string): Promise<void> {
		const link = await this.#dial(peerId, 'listener', lost, displace);
		if (!link) return;
		if (this.#stopped || this.#speaker) {
			link.close();
			return;
		}
		performance.mark('stanza:audio-attached');
		this.#trace('audio: attached', `to ${shortId(peerId)} at depth ${parentDepth + 1}`);
		this.#becomeChildOf({ link, lastSentAt: performance.now() }, parentDepth);
	}

	#becomeChildOf(info: LinkInfo, parentDepth: number): void {
		const previous = this.#parent;
		info.audioAt = info.adoptedAt = performance.now();
		this.#brokenSpell = null; // a parent taken (again) starts with a chain of its own
		// Adopted now: whatever the setup cost, the silence clock starts here.
		info.link.lastReceivedAt = Math.max(info.link.lastReceivedAt, performance.now() - TICK_MS);
		this.#parent = info;
		this.#tree.attached(info.link.peerId, parentDepth);
		info.link.onPacket = (bytes, again) => this.#onPacket(info, bytes, again);
		info.link.onClose = () => {
			if (this.#parent === info) {
				this.#trace('audio: parent lost', `${shortId(info.link.peerId)}: link closed`);
				this.#parent = null;
				this.#tree.lost(info.link.peerId, null);
				this.#events.onChange();
			}
		};
		if (previous && previous !== info) {
			previous.link.onClose = () => {};
			previous.link.close();
		}
		this.#advertise();
		this.#events.onChange();
	}

	/**
	 * A free slot whose depth only its holder vouches for (the fallback after UNCONFIRMED_FALLBACK_MS):
	 * the shallowest such claim not in our own subtree by the claimed parents, not avoided. Once we
	 * hold the room's state, a claim to be on stage (depth 0) by someone it does not put there is a lie, not lag.
	 */
	#unconfirmedSlot(adverts: Map<string, TreeAdvert>, exclude: ReadonlySet<string>): TreeAdvert | null {
		const view = this.#session.room.view;
		const claimed = [...adverts.values()]
			.map((a) => ({ ...a, depth: a.depth ?? this.#claims.get(a.peerId)?.depth ?? null }))
			.filter((a) => !(a.depth === 0 && view.exists && !view.stage.has(a.peerId)));
		const byId = new Map(claimed.map((a) => [a.peerId, a]));
		return chooseParent(this.#me, claimed, exclude, { lookup: (id) => byId.get(id) });
	}

	/** Holds an idle link to the backup parent, so that a repair is one message, not a new connection. */
	#keepStandby(backup: TreeAdvert | null): void {
		const current = this.#standby;
		if (current && (!current.link.open || current.link.peerId !== backup?.peerId)) {
			current.link.onClose = () => {};
			current.link.close();
			this.#standby = null;
		}
		if (!backup || this.#standby || this.#dialing.size > 0) return;
		void this.#dial(backup.peerId, 'standby').then((link) => {
			if (!link) return;
			if (this.#stopped || this.#standby || this.#tree.backup !== link.peerId || this.#parent?.link.peerId === link.peerId) {
				link.close();
				return;
			}
			const info: LinkInfo = { link, lastSentAt: performance.now() };
			this.#standby = info;
			link.onPacket = (bytes, again) => this.#onPacket(info, bytes, again);
			link.onClose = () => {
				if (this.#standby === info) this.#standby = null;
			};
		});
	}

	/**
	 * Whether this member is a speaker whose microphone is sending right now: its voice flowed within
	 * `withinMs` by the measure its children judge a flow by, so a microphone that drops most frames on
	 * a loaded device stops counting as sending, as they see it, instead of one frame in a while keeping it up.
	 */
	#sendingNow(withinMs = SENDING_WITHIN_MS): boolean {
		return this.#speaker && this.#mic !== null && !this.#selfMuted && performance.now() - (this.#ownFlow.audioAt ?? -Infinity) < withinMs;
	}

	/**
	 * What we know of the tree: every present member's advert, with only the
	 * depth its chain to the stage supports (advert-check.ts). A link to one we
	 * hold no direct connection to makes that connection first (#dial).
	 */
	#adverts(): Map<string, TreeAdvert> {
		const view = this.#session.room.view;
		const claims = new Map<string, ClaimedPlace & { capacity: number; children: number }>();
		for (const [peerId, entry] of this.#session.presence.members) {
			const tree = entry.tree;
			if (!tree || peerId === this.#me || view.removed.has(peerId) || view.banned.has(peerId)) continue;
			claims.set(peerId, { depth: tree.d, parent: tree.p, childTags: tree.t ?? [], capacity: tree.c, children: tree.k });
		}
		const depths = verifiedDepths(claims, view.stage, (peerId) => this.#tagOf(peerId));
		this.#claims = claims;
		const adverts = new Map<string, TreeAdvert>();
		for (const [peerId, claim] of claims) {
			adverts.set(peerId, { peerId, depth: depths.get(peerId) ?? null, capacity: claim.capacity, children: claim.children, parent: claim.parent });
		}
		return adverts;
	}

	#currentAdvert(): TreeWire {
		return {
			d: this.#tree.depth,
			c: this.capacity,
			// Slots promised to links still setting up count as taken (slot-holds.ts): a free slot advertised
			// while one is held draws requests that can only be refused 'full'.
			k: this.#children.size + this.#holds.count('child', performance.now()),
			p: this.parentId,
			t: [...this.#children.keys()].map((peerId) => this.#tagOf(peerId)),
			...(this.#sendingNow() ? { s: true as const } : {}),
			...(this.#speaker ? this.#heardAdvert() : {})
		};
	}

	/**
	 * A speaker's `h`: the voices it passes on to its subtree now, so that its listeners expect them
	 * from their parents (#withholding): its own while its microphone sends, and the fellow speakers'
	 * whose audio flows to it. One that stops (a microphone or a tab that stalled, a link that failed)
	 * leaves the list within HEARD_WITHIN_MS and a presence round, before any listener's patience with
	 * its parent runs out (its `s` stays up to a second longer).
	 */
	#heardAdvert(): { h?: number[] } {
		const now = performance.now();
		const fellows = [...this.#speakerLinks.values()].filter((info) => info.link.open && now - (info.audioAt ?? -Infinity) <= HEARD_WITHIN_MS);
		const heard = [...(this.#sendingNow(HEARD_WITHIN_MS) ? [this.#me] : []), ...fellows.map((info) => info.link.peerId)];
		return heard.length > 0 ? { h: heard.map((peerId) => this.#tagOf(peerId)).sort((x, y) => x - y) } : {};
	}

	#advertise(): void {
		const key = JSON.stringify(this.#currentAdvert());
		if (key === this.#lastAdvert || this.#advertTimer) return;
		this.#advertTimer = setTimeout(() => {
			this.#advertTimer = undefined;
			const current = this.#currentAdvert();
			this.#lastAdvert = JSON.stringify(current);
			void this.#session.setPresence({ tree: current });
		}, this.#lastAdvert === '' ? 0 : ADVERT_COALESCE_MS);
	}

	#tagOf(peerId: string): number {
		let tag = this.#tags.get(peerId);
		if (tag === undefined) {
			tag = this.#speakerTag(peerId);
			this.#tags.set(peerId, tag);
		}
		return tag;
	}
}
