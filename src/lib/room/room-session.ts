/**
 * A room on the network: the link between one RoomDoc and the libp2p node.
 *
 * - Topic: sealed Yjs updates and presence on the room's gossipsub topic.
 * - Meeting: members find each other (net/topic-meeting.ts) and connect
 *   directly, so the room lives on without the relay or its creator.
 * - Sync: on every direct connection, every ANTI_ENTROPY_MS with a random
 *   member, and with a member whose topic message we cannot open
 *   (UNREADABLE_SYNC_MS), the two sides exchange state vectors over
 *   /stanza/room-sync.
 * - Keys: after a remove or ban the topic is sealed with a new key
 *   (room-keys.ts); members hand it to each other over /stanza/room-key,
 *   never to someone the verified state says is out.
 * Everything arriving goes through the RoomDoc gate or the presence rules;
 * nothing here decides authority.
 */
import type { Connection, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { StanzaNode } from '../net/libp2p-node';
import { isDirectConnection } from '../net/connection-kind';
import { TopicMeeting } from '../net/topic-meeting';
import { shortId, traceEvent } from '../diagnostics/trace';
import { sameAvatar, type Avatar } from '../identity/avatar';
import { roleOf, type RoomView } from './authority';
import { LISTENER_BEATS_PER_SEC, PRESENCE_BEAT_MS, PRESENCE_SETTLE_MS, presenceBeatMs, PresenceTable, type PresenceState } from './presence';
import { answersNewcomer, nextBeatMs, sharedBy } from '../net/room-size';
import { SEAL_OVERHEAD_BYTES, type RoomCipher } from './room-crypto';
import { askKey, giveKey, ROOM_KEY_PROTOCOL, type KeyParty } from './room-key-protocol';
import type { RoomKeys } from './room-keys';
import { LOCAL_ORIGIN, type RoomDoc } from './room-doc';
import { ROOM_SYNC_PROTOCOL, RoomSyncRefusedError, syncAsDialer, type SyncParty } from './room-sync-protocol';
import { decodeTopicMessage, encodeTopicMessage, goodbyeIsGenuine, roomTopicFor, signGoodbye, type TopicMessage } from './room-topic-protocol';
import { sendGoodbye } from '../net/goodbye-beacon';
import { ReactionLimiter, SenderLimiter, type Reaction } from './reactions';
import { askPicture, PICTURE_PROTOCOL } from './picture-protocol';
import { KEY_TIMEOUT_MS, PICTURE_TIMEOUT_MS, SYNC_TIMEOUT_MS, type HostedRoom, type RoomHost } from './room-host';

// Direct connections a member makes on its own to others in the room; the audio tree adds its
// links on top. A room of up to nine is a full mesh, as a small room should be (every tree
// candidate already connected); past that, each member dials four and takes others' dials up to
// twelve (topic-meeting.ts): about eight each on average, which keeps the overlay connected for
// gossip when every relay is gone, while no member's connections grow with the room.
const ROOM_NEIGHBOURS = 8;
// Gossip can drop a message while meshes form; a periodic sync repairs it. 20 s keeps the cost trivial.
const ANTI_ENTROPY_MS = 20_000;
// A topic message we cannot open, from a member we hold a direct connection to, most likely means our copy
// of the room lacks a key epoch: we came back with a room older than a remove or ban, and the syncs on
// connecting missed (a busy peer, a timeout). Until we hold the key we read nobody's presence, so
// anti-entropy alone could wait its full period. We sync with that member instead, one such sync at a
// time, and with each member no sooner than this after the last one ended (#syncOnUnreadable): junk on
// the topic costs us a state-vector exchange with its sender every few seconds, no more.
export const UNREADABLE_SYNC_MS = 5_000;
// Members waiting their turn for such a sync: as many as a node keeps connections (libp2p-node.ts).
const MAX_UNREADABLE_WAITING = 64;
const EXPIRY_SWEEP_MS = 1_000;
// How long a count of the room's listeners is reused (#listenersShown).
const LISTENER_COUNT_MS = 1_000;
// Put out of the room, a member asks this often whether it was let back in (members refuse its syncs until then).
const OUT_CHECK_MS = 5_000;
// Coalesces a burst of new subscribers into one presence message.
const PRESENCE_COALESCE_MS = 100;
// And at most twice a second: a peer that keeps coming back (or says it reloaded) must not make
// every member talk at its rate.
const PRESENCE_SOON_SPACING_MS = 500;
// Every listener answers a newcomer's first presence in a small room, about ANSWERS_PER_NEWCOMER of them in
// a large one (room-size.ts); those on the stage, with a hand up or relaying audio to others always do: a
// joiner needs every name on the stage, every hand and every advert up its chosen parent's chain.
// A member missing the current key asks again this often, a few peers at a time, until it has it.
const KEY_RETRY_MS = [250, 500, 1_000, 2_000, 4_000] as const;
const KEY_ASKS_PER_ROUND = 3;
// A moderator that has lacked the current key this long (asking all the while) takes it for lost, say with
// the moderator who drew it and vanished before handing it on, and starts a new epoch (a `rekey`): until
// then every member that knows of the epoch stays silent on the topic. Up to half again at random, so that
// several moderators rarely draw at once (if they do, the later epoch wins and the earlier key is unused).
export const REKEY_AFTER_MS = 20_000;
// Two moderators putting out two members at once: the epoch that sorts last is current, and a member that
// held its op but not yet the other removal may have handed its key to the member that removal puts out
// (view.keyExposedTo). A moderator then draws a new key on top of both: the author of the current epoch at
// once, any other after a random wait up to this (should that author be gone), so that they seldom all do.
const EXPOSED_REKEY_MS = 2_000;
// Records as they are made, per member on the topic: each update with a record new to us costs a replay of
// the whole room (room-doc.ts #judge), so a member sending fresh junk as fast as gossip carries it would
// take every member's CPU. An honest member publishes one per act of its own: a moderator clicking through
// a queue of hands stays well within. What is dropped is not lost: the next sync brings it (ANTI_ENTROPY_MS).
const UPDATES_PER_SECOND = 2;
const UPDATE_BURST = 20;
// A PeerId costs nothing, so senders off the stage (the audience, and identities the room does not know)
// share one budget besides: an honest listener publishes almost nothing, and a crowd of fresh identities gets
// no more than one sender's worth. Members on the stage keep their own, and so do those invited to it (their
// answer must not wait for a sync while that crowd drains the shared budget).
const AUDIENCE_UPDATES_PER_SECOND = 5;
const AUDIENCE_UPDATE_BURST = 40;
// A member asks for a picture once per digest (room/pictures.ts); a few more for reloads, no floods.
const PICTURES_PER_MINUTE = 3;
const PICTURE_BURST = 3;

export interface RoomSessionEvents {
	/** Presence changed (someone came, went, raised a hand, muted). */
	onPresence(): void;
	/** A new room key is held (to be kept with the room on the device). */
	onKeys?(): void;
	/** A member reacted (ourselves included), within the rate every receiver holds senders to (reactions.ts). */
	onReaction?(peerId: string, reaction: Reaction): void;
	/** Members turn us away (see turnedAway), or a sync got through at last. */
	onTurnedAway?(turnedAway: boolean): void;
}

export interface RoomMember {
	peerId: PeerId;
	privateKey: PrivateKey;
	name(): string;
	/** The avatar chosen on this device (none: null; older callers may leave it out). */
	avatar?(): Avatar | null;
	/** The profile picture kept on this device, with its digest (identity/picture.ts), or null. */
	picture?(): { digest: string; bytes: Uint8Array } | null;
}

export class RoomSession implements HostedRoom {
	readonly room: RoomDoc;
	readonly presence: PresenceTable;
	readonly #host: RoomHost;
	readonly #node: StanzaNode;
	readonly #keys: RoomKeys;
	readonly #me: RoomMember;
	readonly #events: RoomSessionEvents;
	#topic = '';
	#meeting: TopicMeeting | null = null;
	#seq = Date.now();
	/** The seq of the last presence or leave handed to gossipsub. */
	#sentSeq = 0;
	/** Our goodbye, sealed in advance with the seq after the last one sent, for a page that closes (sayGoodbye). */
	#goodbye: { seq: number; sealed: Uint8Array } | null = null;
	#saidGoodbye = false;
	#myState: PresenceState = { name: '', hand: null, muted: false };
	#timers: ReturnType<typeof setInterval>[] = [];
	#presenceSettled = false;
	/** A sync has completed with someone: the first catch-up is done. */
	#caughtUp = false;
	/**
	 * Peers a sync completed with: they sealed with the room's key, so they are members, and the first we can
	 * ask for a newer key (a reloaded page with a stored room older than a removal) before any announce of
	 * theirs reaches us. Pruned of those we no longer hold a connection to.
	 */
	#syncedWith = new Set<string>();
	/** See turnedAway. */
	#turnedAway = false;
	/** Members that refused us a sync, saying the room put us out, since a sync last got through (see turnedAway). */
	readonly #refusedBy = new Set<string>();
	#catchingUp = false;
	/** Syncs because a member's topic message was unreadable to us (#syncOnUnreadable): when each member's last one ended, the member of the one running, and those waiting their turn. */
	readonly #unreadableSyncAt = new Map<string, number>();
	#unreadableSyncing: string | null = null;
	/** Members whose messages we could not read while their turn was not due: synced with once it is (#syncUnreadableLater). */
	readonly #unreadableLater = new Set<string>();
	#unreadableLaterTimer: ReturnType<typeof setTimeout> | undefined;
	readonly #unreadableWaiting = new Set<string>();
	#stopped = false;
	#presenceSoon: ReturnType<typeof setTimeout> | undefined;
	#lastSoon = 0;
	#beat: ReturnType<typeof setTimeout> | undefined;
	/**
	 * When a presence of ours first reached someone since we came (back) in, or null: until then and for
	 * PRESENCE_SETTLE_MS after, our presence says we just came (we may lack the key, or anyone to hear us).
	 */
	#reachedAt: number | null = null;
	#settleTimer: ReturnType<typeof setTimeout> | undefined;
	/** Whether we beat every few seconds (on the stage, or a hand up) rather than at a listener's share. */
	#beatsOften = false;
	#listenerCount: { at: number; value: number } | null = null;
	/** The commitment of a key we drew for our own remove/ban: its update is sealed with the key before it. */
	#rekeying: string | null = null;
	#keyRetry: ReturnType<typeof setTimeout> | undefined;
	#keyAttempt = 0;
	#fetchingKey = false;
	/** The commitment we lack and the timer after which, a moderator, we take its key for lost (REKEY_AFTER_MS). */
	#lostKey: { commitment: string; timer: ReturnType<typeof setTimeout> } | null = null;
	readonly #rekeyAfterMs: number;
	/** The members the current key may have reached (view.keyExposedTo) we will rekey for, and when. */
	#exposedRekey: { exposed: string; timer: ReturnType<typeof setTimeout> } | null = null;
	/** What we last rekeyed for (exposure()), while it stands: not again for the same, should our rekey not end it. */
	#rekeyedFor = '';
	#unsubscribeView: (() => void) | null = null;
	#streamMark: (() => { start: number; mark: number } | undefined) | null = null;
	/** The audio side's word on which peers an audio link is being set up with that it took on (setAudioSetups). */
	#audioSetups: ((peerId: string) => boolean) | null = null;
	#started = false;
	/** Removed or banned: we say nothing and only watch for being let back in. */
	#out = false;
	/** How many the room has put out, as the meeting last heard (it shuns them: they hold no neighbour's place). */
	#outCount = 0;
	readonly #reactionLimit = new ReactionLimiter();
	readonly #pictureLimit = new SenderLimiter(PICTURES_PER_MINUTE / 60, PICTURE_BURST);
	readonly #updateLimit = new SenderLimiter(UPDATES_PER_SECOND, UPDATE_BURST);
	readonly #audienceUpdateLimit = new SenderLimiter(AUDIENCE_UPDATES_PER_SECOND, AUDIENCE_UPDATE_BURST);
	#outCheck: ReturnType<typeof setInterval> | undefined;
	/** What reached us on the topic: opened with a key we hold, or not, genuine goodbyes of closed pages, updates over a member's rate (diagnostics, e2e). */
	readonly topicStats = { opened: 0, unreadable: 0, goodbyes: 0, updatesDropped: 0 };

	/**
	 * `options.tagOf` gives a member's speaker tag (audio/packet-codec.ts), which tree adverts name
	 * children by: with it, a listener that left the audio tree without a word is counted away once its
	 * parent stops listing it (presence.ts), not only when its beats run out. `host`: the rooms open
	 * on our node, which serves this one's streams while it runs.
	 */
	constructor(
		host: RoomHost,
		room: RoomDoc,
		keys: RoomKeys,
		me: RoomMember,
		events: RoomSessionEvents,
		options: { tagOf?: (peerId: string) => number; rekeyAfterMs?: number } = {}
	) {
		this.presence = new PresenceTable(options.tagOf);
		this.#rekeyAfterMs = options.rekeyAfterMs ?? REKEY_AFTER_MS;
		this.#host = host;
		this.#node = host.node;
		this.room = room;
		this.#keys = keys;
		this.#me = me;
		this.#events = events;
		this.#myState.name = me.name();
	}

	/**
	 * Whether a member we have not heard from is known to be away: not until every member present has
	 * had a beat's time to speak since we came (a reloaded page would otherwise show them away).
	 */
	get presenceSettled(): boolean {
		return this.#presenceSettled;
	}

	get myState(): Readonly<PresenceState> {
		return this.#myState;
	}

	/** Joins the room on the network; `out` (removed or banned): only to watch for a readmission (setOut). */
	async start(options: { out?: boolean } = {}): Promise<void> {
		this.#out = options.out === true;
		await this.#host.add(this);
		this.#topic = await roomTopicFor(this.room.roomId);
		const pubsub = this.#node.services.pubsub;
		pubsub.addEventListener('message', this.#onTopicMessage);
		pubsub.addEventListener('subscription-change', this.#onSubscriptionChange);
		pubsub.subscribe(this.#topic);
		this.room.doc.on('update', this.#onDocUpdate);
		this.#unsubscribeView = this.room.subscribe(() => this.#onView());
		this.#node.addEventListener('connection:open', this.#onConnection);
		this.#meeting = new TopicMeeting(
			this.#node,
			`room:${this.room.roomId}`,
			{ onDialError: () => {}, onHeard: (peerId) => void this.#catchUpThroughRelay(peerId) },
			{
				targetNeighbours: ROOM_NEIGHBOURS,
				// Sealed: the relay and outsiders see that someone announces, not who is in the room.
				seal: {
					seal: (announce) => this.#keys.seal('meet', announce),
					open: (sealed) => this.#keys.open('meet', sealed),
					overhead: SEAL_OVERHEAD_BYTES
				},
				shunned: (peerId) => this.#isOut(peerId),
				// Presence reaches a newcomer from every member that moves in the audio tree, the peers that link to
				// it most, long before their next announce (in a room of 100, minutes apart). A peer we synced with
				// holds the key and counts too, heard or not: it is vouched for (knows()), and one that announced
				// nothing and showed no presence was never counted nor trimmed, so a crowd of them, each with the
				// room's link, could hold every connection we take.
				member: (peerId) => this.presence.members.has(peerId) || this.#syncedWith.has(peerId),
				population: () => this.presence.members.size + 1,
				settingUp: (peerId) => this.#audioSetups?.(peerId) ?? false
			}
		);
		await this.#meeting.join();
		this.#timers.push(
			setInterval(() => this.#sweep(), EXPIRY_SWEEP_MS),
			setInterval(() => void this.#antiEntropy(), ANTI_ENTROPY_MS)
		);
		this.#started = true;
		if (this.#out) this.#outCheck = setInterval(() => void this.#checkLetBackIn(), OUT_CHECK_MS);
		this.#onView();
		this.#reachedAt = null;
		await this.#publishPresence();
		for (const connection of this.#node.getConnections()) this.#onConnection(new CustomEvent('connection:open', { detail: connection }));
	}

	/**
	 * Draws the key for a remove or ban we are about to sign (room-keys.ts) and
	 * returns its commitment for the op. The update carrying that op is sealed
	 * with the key before it, so the room can read what rotated the key; then
	 * the key goes to every member we are connected to.
	 */
	async drawEpochKey(): Promise<string> {
		const commitment = await this.#keys.draw();
		this.#rekeying = commitment;
		this.#events.onKeys?.();
		return commitment;
	}

	/**
	 * Removed or banned (out = true): we leave the room's presence and say
	 * nothing more, but keep syncing now and then, so that when a moderator
	 * lets us back in we hear it (members serve no sync to someone out, so
	 * the first that succeeds carries the readmission). Back in: presence again,
	 * and the current key from a member.
	 */
	setOut(out: boolean): void {
		if (out === this.#out || this.#stopped || !this.#started) return; // before start: start({ out }) says it
		this.#out = out;
		clearInterval(this.#outCheck);
		if (out) {
			void this.#publish({ type: 'leave', seq: this.#nextSeq() });
			this.#outCheck = setInterval(() => void this.#checkLetBackIn(), OUT_CHECK_MS);
		} else {
			traceEvent('room:back-in');
			this.#reachedAt = null;
			void this.#publishPresence();
			if (this.#keys.wanted) this.#fetchKeySoon(0);
		}
	}

	async #checkLetBackIn(): Promise<void> {
		const heard = new Set(this.#meeting?.heard() ?? []);
		const peers = this.#node.getConnections().filter((c) => c.status === 'open' && heard.has(c.remotePeer.toString()));
		for (const c of shuffle(peers).slice(0, 2)) await this.syncWith(c.remotePeer);
	}

	/** Updates our presence (hand, self-mute, place in the audio tree) and tells the room at once. */
	async setPresence(change: Partial<Omit<PresenceState, 'name'>>): Promise<void> {
		this.#myState = { ...this.#myState, ...change };
		await this.#publishPresence();
	}

	/** Sends a reaction; false when it is over the rate (as every receiver would drop it) or we are out. */
	async react(reaction: Reaction): Promise<boolean> {
		if (this.#stopped || this.#out || !this.#reactionLimit.take(this.#me.peerId.toString(), Date.now())) return false;
		this.#events.onReaction?.(this.#me.peerId.toString(), reaction);
		await this.#publish({ type: 'reaction', seq: this.#nextSeq(), reaction });
		return true;
	}

	/**
	 * A direct connection to a room member (an audio parent, a speaker), made
	 * now from the addresses it announced if there is none. False when it
	 * cannot be had; never throws.
	 */
	async connectTo(peerId: string, signal: AbortSignal): Promise<boolean> {
		return (await this.#meeting?.connect(peerId, signal)) ?? false;
	}

	/** What connectTo was for is done (its link set up or refused): that connection may be trimmed again. */
	release(peerId: string): void {
		this.#meeting?.release(peerId);
	}

	get roomId(): string {
		return this.room.roomId;
	}

	/** The libp2p node the session runs on (for the audio tree, which shares it). */
	get node(): StanzaNode {
		return this.#node;
	}

	/** The link's key, which seals sync, meet and media signalling (the topic has its own, room-keys.ts). */
	get cipher(): RoomCipher {
		return this.#keys.base;
	}

	get keys(): RoomKeys {
		return this.#keys;
	}

	get me(): RoomMember {
		return this.#me;
	}

	/**
	 * The page is closing: hands our goodbye, sealed in advance, to the relays
	 * (net/goodbye-beacon.ts), which publish it for us after we are gone; the
	 * room then shows us gone at once instead of at the presence timeout.
	 * Synchronous, for `pagehide`. Returns how many relays took it.
	 */
	sayGoodbye(): number {
		const goodbye = this.#goodbye;
		// A goodbye older than our last message would be refused by everyone: better none.
		if (this.#stopped || this.#out || !goodbye || goodbye.seq <= this.#sentSeq) return 0;
		const relays = sendGoodbye(this.#node, this.#topic, goodbye.sealed);
		// Said: the leave that stop() would publish (if the closing page still runs it) would only race it.
		if (relays > 0) this.#saidGoodbye = true;
		return relays;
	}

	/** Leaves quietly: others see us go within a couple of seconds. Safe to call twice. */
	async stop(): Promise<void> {
		if (this.#stopped) return;
		this.#stopped = true;
		this.#timers.forEach(clearInterval);
		clearTimeout(this.#presenceSoon);
		clearTimeout(this.#beat);
		clearTimeout(this.#settleTimer);
		clearTimeout(this.#keyRetry);
		clearTimeout(this.#unreadableLaterTimer);
		clearTimeout(this.#lostKey?.timer);
		clearTimeout(this.#exposedRekey?.timer);
		clearInterval(this.#outCheck);
		this.#unsubscribeView?.();
		this.#meeting?.leave();
		this.room.doc.off('update', this.#onDocUpdate);
		this.#node.removeEventListener('connection:open', this.#onConnection);
		this.#host.remove(this);
		if (!this.#saidGoodbye) await this.#publish({ type: 'leave', seq: this.#nextSeq() });
		const pubsub = this.#node.services.pubsub;
		pubsub.removeEventListener('message', this.#onTopicMessage);
		pubsub.removeEventListener('subscription-change', this.#onSubscriptionChange);
		pubsub.unsubscribe(this.#topic);
	}

	/**
	 * Whether this room vouches for a peer connected to us (net/stranger-guard.ts): a sync with it
	 * completed (it holds the room's key), or its meeting heard it announce, counts it a member
	 * (presence) or asked to reach it; never one removed or banned.
	 */
	knows(remotePeer: string): boolean {
		if (this.#isOut(remotePeer)) return false;
		return this.#syncedWith.has(remotePeer) || (this.#meeting?.knows(remotePeer) ?? false);
	}

	/** Serves a sync stream for this room, unless the remote is out of the room: then it is told so. */
	syncPartyFor(remotePeer: string): SyncParty | 'refused' {
		return this.#isOut(remotePeer) ? 'refused' : { room: this.room, cipher: this.#keys.base };
	}

	/**
	 * Members refused us a sync, saying the room put us out (two of them, or
	 * every one we heard: turnedAwayBy), and none has served us one since we
	 * came. Our own copy of the room cannot say so: we
	 * may hold none (an identity brought to a new device) or one from before
	 * the removal. Only a hint, as the refusing member says it: the first sync
	 * that gets through clears it, and until one does we ask again every
	 * OUT_CHECK_MS, so a readmission lets us in.
	 */
	get turnedAway(): boolean {
		return this.#turnedAway;
	}

	/**
	 * Our picture for `remotePeer`, asked for by `digest`: only our current one, never to someone out
	 * of the room, and to each member at most PICTURES_PER_MINUTE times a minute (PICTURE_BURST at once).
	 */
	pictureFor(remotePeer: string, digest: string): Uint8Array | null {
		const mine = this.#me.picture?.();
		if (!mine || mine.digest !== digest || this.#isOut(remotePeer)) return null;
		return this.#pictureLimit.take(remotePeer, Date.now()) ? mine.bytes : null;
	}

	/**
	 * Asks `peerId` for the picture its presence names by `digest`: over our connection to it, or
	 * through the relays it is reachable at. Resolves null when it has none to give or cannot be reached.
	 */
	async fetchPicture(peerId: string, digest: string): Promise<Uint8Array | null> {
		if (this.#stopped) return null;
		const signal = AbortSignal.timeout(PICTURE_TIMEOUT_MS);
		const connected = this.#node.getConnections().find((c) => c.status === 'open' && c.remotePeer.toString() === peerId);
		const target = connected ? connected.remotePeer : (this.#meeting?.relayedAddrs(peerId) ?? []);
		if (Array.isArray(target) && target.length === 0) {
			traceEvent('picture:failed', `${shortId(peerId)}: not reachable yet`);
			return null;
		}
		try {
			const stream = await this.#node.dialProtocol(target, PICTURE_PROTOCOL, { signal, runOnLimitedConnection: true });
			const picture = await askPicture(stream, this.room.roomId, digest, signal);
			traceEvent(picture ? 'picture:fetched' : 'picture:failed', `${shortId(peerId)}${picture ? '' : ': none to give'}`);
			return picture;
		} catch (err) {
			traceEvent('picture:failed', `${shortId(peerId)}: ${String(err)}`);
			return null;
		}
	}

	/** Serves a key stream for this room, unless the remote is out of the room. */
	keyPartyFor(remotePeer: string): KeyParty | null {
		return this.#isOut(remotePeer) ? null : this.#keyPartyWith(remotePeer);
	}

	get #keyParty(): KeyParty {
		return this.#keyPartyWith(null);
	}

	/** Our side of a key stream with `remote` (null: we dialled; keys we receive come from serving). */
	#keyPartyWith(remote: string | null): KeyParty {
		return {
			keys: this.#keys,
			received: async (key) => {
				const wanted = this.#keys.wanted;
				const role = remote === null ? null : roleOf(this.room.view, remote);
				// A moderator's key no op names yet is kept apart from what anyone else pushes (room-keys.ts).
				const trusted = role === 'creator' || role === 'moderator';
				// Only a key we lacked is news: the same key from each neighbour is not passed on again.
				if (wanted && (await this.#keys.add(key, { trusted })) === wanted) this.#gotKey(wanted, 'given');
				else if (!wanted) await this.#keys.add(key, { trusted }); // may be named by an op still on its way
			}
		};
	}

	#isOut(peerId: string): boolean {
		const role = roleOf(this.room.view, peerId);
		return role === 'removed' || role === 'banned';
	}

	// —— room keys (room-keys.ts) ——

	#onView(): void {
		if (this.#stopped) return;
		const { removed, banned } = this.room.view;
		if (removed.size + banned.size !== this.#outCount) {
			this.#outCount = removed.size + banned.size;
			this.#meeting?.shunChanged();
			// Put out: gone from the room now, not when its presence would have expired (minutes, in a large room).
			let dropped = false;
			for (const peerId of [...this.presence.members.keys()]) if (this.#isOut(peerId) && this.presence.drop(peerId)) dropped = true;
			if (dropped) this.#events.onPresence();
		}
		const before = this.#keys.current;
		this.#keys.setEpochs(this.room.view.keyEpochs);
		const current = this.#keys.current;
		if (current && current !== before && this.#keys.has(current)) this.#gotKey(current, 'held');
		if (this.#keys.wanted) this.#fetchKeySoon(0);
		this.#watchForLostKey();
		this.#watchExposedKey();
		// Onto the stage or off it: the room hears our new beat now, not at the end of the old one.
		if (this.#started && this.#beatsOften !== this.#shouldBeatOften()) this.#presenceSoonAfter();
	}

	/** We hold the current key: say so (trace), keep it, and hand it on to the members we are connected to. */
	#gotKey(commitment: string, how: 'held' | 'given' | 'fetched'): void {
		if (this.#out) return;
		this.#events.onKeys?.();
		if (commitment !== this.#keys.current) return; // not (yet) named by a verified op: held, not spread
		traceEvent('key:held', `${commitment.slice(0, 8)} (${how})`);
		this.#keyAttempt = 0;
		if (how !== 'held') void this.#publishPresence(); // what we held back while we lacked it
		this.#settleSoon();
		void this.#spreadKey(commitment);
	}

	async #spreadKey(commitment: string): Promise<void> {
		const key = this.#keys.rawKey(commitment);
		if (!key) return;
		await Promise.all(
			this.#roomConnections().map(async (peerId) => {
				const signal = AbortSignal.timeout(KEY_TIMEOUT_MS);
				try {
					const stream = await this.#node.dialProtocol(peerId, ROOM_KEY_PROTOCOL, { signal, runOnLimitedConnection: true });
					await giveKey(stream, this.#keyParty, key, signal);
				} catch {
					// gone, or out of the room in its view: it asks for itself when it needs the key
				}
			})
		);
	}

	/** While we lack the current key, a timer runs (reset when another epoch is wanted): see REKEY_AFTER_MS. */
	#watchForLostKey(): void {
		const wanted = this.#keys.wanted;
		if (this.#lostKey && this.#lostKey.commitment === wanted) return;
		clearTimeout(this.#lostKey?.timer);
		this.#lostKey = null;
		if (!wanted || this.#stopped) return;
		const waitMs = this.#rekeyAfterMs * (1 + Math.random() / 2);
		this.#lostKey = { commitment: wanted, timer: setTimeout(() => void this.#rekeyIfLost(wanted), waitMs) };
	}

	/**
	 * Nobody handed us the current key in all this time: as a moderator, we draw a new one and sign a `rekey`. No
	 * member can read a topic message sealed with the lost key, so the record goes by sync to every member we
	 * are connected to (and on from them), and the key after it to each (#gotKey). Not a moderator: we wait on.
	 */
	async #rekeyIfLost(commitment: string): Promise<void> {
		this.#lostKey = null;
		if (this.#stopped || this.#keys.wanted !== commitment) return;
		if (!this.#mayRekey()) {
			this.#watchForLostKey();
			return;
		}
		traceEvent('key:lost', `${commitment.slice(0, 8)}: none of the room handed it on in ${Math.round(this.#rekeyAfterMs / 1000)} s; drawing a new one`);
		if (!(await this.#rekey())) {
			this.#watchForLostKey();
			return;
		}
		await Promise.all(this.#roomConnections().map((peerId) => this.syncWith(peerId)));
	}

	/** As a moderator, a timer runs while the current key may have reached someone put out: see EXPOSED_REKEY_MS. */
	#watchExposedKey(): void {
		const view = this.room.view;
		const exposed = exposure(view);
		if (!exposed) this.#rekeyedFor = '';
		if (this.#exposedRekey?.exposed === exposed) return;
		clearTimeout(this.#exposedRekey?.timer);
		this.#exposedRekey = null;
		// Not before our first sync: a copy kept on the device may show what the room has long put right.
		if (!exposed || exposed === this.#rekeyedFor || this.#stopped || !this.#caughtUp || !this.#mayRekey()) return;
		const drewCurrent = view.keyEpochAuthors.get(view.keyEpochs.at(-1) ?? '') === this.#me.peerId.toString();
		const waitMs = drewCurrent ? 0 : EXPOSED_REKEY_MS * Math.random();
		this.#exposedRekey = { exposed, timer: setTimeout(() => void this.#rekeyExposed(exposed), waitMs) };
	}

	/**
	 * The current key may have reached `exposed` and no moderator has rekeyed since: we do, on top of what put
	 * them out, and sync the record to every member we are connected to (we may lack the current key ourselves,
	 * and then publish nothing on the topic).
	 */
	async #rekeyExposed(exposed: string): Promise<void> {
		this.#exposedRekey = null;
		const view = this.room.view;
		if (this.#stopped || exposure(view) !== exposed || !this.#mayRekey()) return;
		traceEvent('key:exposed', `the current key may have reached ${[...view.keyExposedTo.keys()].map(shortId).join(', ')}, put out concurrently with it; drawing a new one`);
		this.#rekeyedFor = exposed;
		if (!(await this.#rekey([...view.keyExposedTo.values()].flat()))) {
			this.#rekeyedFor = '';
			return;
		}
		await Promise.all(this.#roomConnections().map((peerId) => this.syncWith(peerId)));
	}

	#mayRekey(): boolean {
		return !this.#out && this.room.view.moderators.has(this.#me.peerId.toString());
	}

	/**
	 * Draws a new key and signs the `rekey` that starts its epoch, on top of the records in `alsoAfter` too; the
	 * key goes to each member once the op is in our view (#gotKey).
	 */
	async #rekey(alsoAfter: readonly string[] = []): Promise<boolean> {
		try {
			const epoch = await this.drawEpochKey();
			await this.room.addOp({ kind: 'rekey', epoch }, this.#me, Date.now(), alsoAfter);
			return true;
		} catch (err) {
			traceEvent('key:rekey-failed', String(err));
			return false;
		}
	}

	#fetchKeySoon(delayMs: number): void {
		if (this.#keyRetry !== undefined || this.#fetchingKey || this.#stopped) return;
		this.#keyRetry = setTimeout(() => {
			this.#keyRetry = undefined;
			void this.#fetchKey();
		}, delayMs);
	}

	/** Asks a few members for the current key; again later, backing off, until one has it. */
	async #fetchKey(): Promise<void> {
		const wanted = this.#keys.wanted;
		if (!wanted || this.#stopped || this.#out || this.#fetchingKey) return;
		this.#fetchingKey = true;
		try {
			const author = this.room.view.keyEpochAuthors.get(wanted) ?? null;
			const peers = this.#roomConnections();
			const isAuthor = (p: PeerId) => p.toString() === author;
			const order = [...peers.filter(isAuthor), ...shuffle(peers.filter((p) => !isAuthor(p)))].slice(0, KEY_ASKS_PER_ROUND);
			for (const peerId of order) {
				const signal = AbortSignal.timeout(KEY_TIMEOUT_MS);
				try {
					const stream = await this.#node.dialProtocol(peerId, ROOM_KEY_PROTOCOL, { signal, runOnLimitedConnection: true });
					if (await askKey(stream, this.#keyParty, wanted, signal)) {
						this.#gotKey(wanted, 'fetched');
						return;
					}
				} catch (err) {
					traceEvent('key:ask-failed', `${shortId(peerId.toString())}: ${String(err)}`);
				}
				if (this.#keys.has(wanted)) return; // given meanwhile
			}
		} finally {
			this.#fetchingKey = false;
		}
		if (this.#keys.wanted) this.#fetchKeySoon(KEY_RETRY_MS[Math.min(this.#keyAttempt++, KEY_RETRY_MS.length - 1)]);
	}

	/** Peers we hold a connection to (direct or through a relay) that are in the room as far as we know and not out of it. */
	#roomConnections(): PeerId[] {
		const known = new Set([...this.presence.members.keys(), ...(this.#meeting?.heard() ?? []), ...this.#syncedWith]);
		const peers = new Map<string, PeerId>();
		for (const c of this.#node.getConnections()) {
			const peerId = c.remotePeer.toString();
			if (c.status === 'open' && known.has(peerId) && !this.#isOut(peerId)) peers.set(peerId, c.remotePeer);
		}
		for (const peerId of this.#syncedWith) if (!peers.has(peerId)) this.#syncedWith.delete(peerId);
		return [...peers.values()];
	}

	/**
	 * The first catch-up, through the relay: a joiner shows the room as soon
	 * as one member answers, without waiting for a WebRTC connection (which a
	 * busy phone may take seconds to set up). One at a time, and only until a
	 * sync has succeeded; everything after that goes over direct connections.
	 * The relay carries sealed bytes it cannot read, within its circuit limits.
	 */
	async #catchUpThroughRelay(peerId: string): Promise<void> {
		if (this.#caughtUp || this.#catchingUp || this.#stopped || !this.#meeting) return;
		const addrs = this.#meeting.relayedAddrs(peerId);
		if (addrs.length === 0) return;
		this.#catchingUp = true;
		try {
			await this.syncWith(addrs, `${shortId(peerId)} (relayed)`, peerId);
		} finally {
			this.#catchingUp = false;
		}
	}

	/**
	 * Syncs with `peer`: a PeerId (our direct connection to it), or its relayed addresses, then
	 * named by `remote` (the first catch-up, #catchUpThroughRelay).
	 */
	async syncWith(peer: PeerId | Multiaddr[], label = shortId(peer.toString()), remote = Array.isArray(peer) ? null : peer.toString()): Promise<void> {
		// A sync hands the other side what it lacks: never to someone the room put out, whoever dials.
		if (!Array.isArray(peer) && this.#isOut(peer.toString())) return;
		const signal = AbortSignal.timeout(SYNC_TIMEOUT_MS);
		let stream: Stream;
		try {
			// Addresses are the relayed catch-up (see #catchUpThroughRelay); a PeerId means its direct connection.
			stream = await this.#node.dialProtocol(peer, ROOM_SYNC_PROTOCOL, { signal, runOnLimitedConnection: Array.isArray(peer) });
		} catch (err) {
			traceEvent('sync:no-stream', `${label}: ${String(err)}`);
			return; // not in this room, or gone
		}
		try {
			await syncAsDialer(stream, { room: this.room, cipher: this.#keys.base }, signal);
			traceEvent('sync:done', `${label}: exists=${this.room.view.exists}`);
			if (!this.#caughtUp) {
				this.#caughtUp = true;
				this.#watchExposedKey();
			}
			if (!Array.isArray(peer) && !this.#syncedWith.has(peer.toString())) {
				// A relayed catch-up's peer was heard already.
				this.#syncedWith.add(peer.toString());
				this.#meeting?.lookAgain();
			}
			this.#setTurnedAway(false);
		} catch (err) {
			// Gone, refusing, or not holding our key (a link is judged on the device, never by what peers send: room-link.ts).
			traceEvent('sync:failed', `${label}: ${String(err)}`);
			if (err instanceof RoomSyncRefusedError && !this.#caughtUp && remote) {
				this.#refusedBy.add(remote);
				const me = this.#me.peerId.toString();
				const heard = [...(this.#meeting?.heard() ?? []), ...this.presence.members.keys()].filter((p) => p !== me);
				if (turnedAwayBy(this.#refusedBy, heard)) this.#setTurnedAway(true);
			}
		}
	}

	#setTurnedAway(turnedAway: boolean): void {
		if (!turnedAway) this.#refusedBy.clear(); // a sync got through: refusals count afresh
		if (turnedAway === this.#turnedAway || this.#stopped) return;
		this.#turnedAway = turnedAway;
		traceEvent(turnedAway ? 'room:turned-away' : 'room:let-in');
		if (!this.#out) {
			// While our own copy says we are out, setOut runs the same check.
			clearInterval(this.#outCheck);
			this.#outCheck = turnedAway ? setInterval(() => void this.#checkLetBackIn(), OUT_CHECK_MS) : undefined;
		}
		this.#events.onTurnedAway?.(turnedAway);
	}

	#onConnection = (event: CustomEvent<Connection>) => {
		const connection = event.detail;
		if (this.#stopped || !isDirectConnection(connection.remoteAddr.toString())) return;
		void this.syncWith(connection.remotePeer).then(() => {
			if (this.#keys.wanted) this.#fetchKeySoon(0);
		});
	};

	/** Someone (a member, or the relay on a member's behalf) joined the topic: say we are here now, not at the next beat. */
	#onSubscriptionChange = (event: CustomEvent<{ subscriptions: { topic: string; subscribe: boolean }[] }>) => {
		if (event.detail.subscriptions.some((s) => s.topic === this.#topic && s.subscribe)) this.#presenceSoonAfter();
	};

	/**
	 * Publishes our presence once within PRESENCE_COALESCE_MS, however many reasons come up meanwhile,
	 * and no sooner than PRESENCE_SOON_SPACING_MS after the last time.
	 */
	#presenceSoonAfter(): void {
		if (this.#presenceSoon || this.#stopped) return;
		const wait = Math.max(PRESENCE_COALESCE_MS, this.#lastSoon + PRESENCE_SOON_SPACING_MS - Date.now());
		this.#presenceSoon = setTimeout(() => {
			this.#presenceSoon = undefined;
			this.#lastSoon = Date.now();
			void this.#publishPresence();
		}, wait);
	}

	#onDocUpdate = (update: Uint8Array, origin: unknown) => {
		if (origin !== LOCAL_ORIGIN) return;
		// Our own remove/ban: sealed with the key before it, so everyone still in can read it and ask for the new one.
		const rekeying = this.#rekeying ?? undefined;
		this.#rekeying = null;
		void this.#publish({ type: 'update', update }, rekeying);
	};

	#onTopicMessage = (event: CustomEvent<{ type: string; topic: string; data: Uint8Array; from?: PeerId }>) => {
		const message = event.detail;
		if (message.topic !== this.#topic || message.type !== 'signed' || !message.from) return;
		void this.#receive(message.from.toString(), message.data);
	};

	async #receive(from: string, sealed: Uint8Array): Promise<void> {
		if (from === this.#me.peerId.toString()) return;
		let message: TopicMessage;
		try {
			message = decodeTopicMessage(await this.#keys.openTopic(sealed));
			this.topicStats.opened++;
			this.#unreadableLater.delete(from); // we read it now: no sync owed
		} catch {
			this.topicStats.unreadable++;
			void this.#syncOnUnreadable(from);
			return; // junk, a key we do not hold (yet), or malformed: dropped without a word
		}
		const role = roleOf(this.room.view, from);
		const now = Date.now();
		if (message.type === 'update') {
			// Nothing someone out of the room signs takes effect, and others' records reach us by sync: not worth a replay.
			if (role === 'removed' || role === 'banned') return;
			// An invitee's answer is the one record an honest listener makes: it keeps a budget of its own too.
			const own = this.room.view.stage.has(from) || this.room.view.invitations.has(from);
			if (!(own ? this.#updateLimit.take(from, now) : this.#audienceUpdateLimit.take('audience', now))) {
				if (this.topicStats.updatesDropped++ % 100 === 0) traceEvent('room:updates-dropped', `${shortId(from)}: over ${own ? 'its' : 'the audience’s'} updates a second (${this.topicStats.updatesDropped} dropped so far)`);
				return;
			}
			await this.room.applyUpdate(message.update, 'topic').catch(() => {});
		} else if (role === 'removed' || role === 'banned') {
			return; // out of the room: never shown
		} else if (message.type === 'presence') {
			const { name, avatar, hand, muted, tree, picture } = message;
			const isNew = !this.presence.members.has(from) || this.presence.restarted(from, message.seq);
			const beatMs = (message.beatSeconds ?? PRESENCE_BEAT_MS / 1000) * 1000;
			if (this.presence.present(from, message.seq, { name, avatar, hand, muted, tree, picture }, now, beatMs)) this.#events.onPresence();
			// A newcomer (or someone back, or reloaded): the relay's mirror hides its subscription from us, so
			// its first presence is our cue to say where we are now rather than at our next beat (a joiner
			// needs every advert up its chosen parent's chain, advert-check.ts, and every name and hand).
			// A member we had simply not heard yet (in a large room, listeners' beats are minutes apart) knows the room.
			if (isNew && message.joining && this.presence.members.has(from) && this.#answersNewcomers()) this.#presenceSoonAfter();
		} else if (message.type === 'goodbye') {
			// Published by a relay for a page that closed: the leaver's own signature says it is theirs.
			// Only someone shown can go; this also spares the signature check for strangers' goodbyes.
			if (!this.presence.members.has(message.peer) || !(await goodbyeIsGenuine(this.#topic, message))) return;
			this.topicStats.goodbyes++;
			if (this.presence.leave(message.peer, message.seq, Date.now())) this.#events.onPresence();
		} else if (message.type === 'reaction') {
			if (this.presence.react(from, message.seq, now) && this.#reactionLimit.take(from, now)) this.#events.onReaction?.(from, message.reaction);
		} else if (this.presence.leave(from, message.seq, now)) {
			this.#events.onPresence();
		}
	}

	/**
	 * The next seq for a message of ours. Seqs go up in twos: the odd one between is kept for the goodbye
	 * sealed meanwhile, so that it is newer than everything we sent before it and older than what follows.
	 */
	#nextSeq(): number {
		this.#seq += 2;
		void this.#prepareGoodbye(this.#seq + 1);
		return this.#seq;
	}

	async #prepareGoodbye(seq: number): Promise<void> {
		try {
			const sealed = await this.#keys.sealTopic(encodeTopicMessage(await signGoodbye(this.#topic, this.#me, seq)));
			if (sealed && seq > (this.#goodbye?.seq ?? 0)) this.#goodbye = { seq, sealed };
		} catch {
			// Keeps the one before (a stale goodbye is never sent): the room then sees us go at the presence timeout.
		}
	}

	async #publishPresence(): Promise<void> {
		if (this.#stopped || this.#out) return;
		this.#myState.name = this.#me.name();
		const avatar = this.#me.avatar?.() ?? undefined;
		this.#myState.avatar = avatar;
		const picture = this.#me.picture?.()?.digest;
		this.#myState.picture = picture;
		const { name, hand, muted, tree: advert } = this.#myState;
		const stream = advert ? this.#streamMark?.() : undefined;
		const tree = advert && stream ? { ...advert, q: stream.mark, r: stream.start } : advert;
		// Every message is a beat: the next is due a full interval from now.
		this.#beatsOften = this.#shouldBeatOften();
		const beatMs = presenceBeatMs(this.#listenersShown(), this.#beatsOften);
		clearTimeout(this.#beat);
		this.#beat = setTimeout(() => void this.#publishPresence(), nextBeatMs(beatMs));
		const beat = beatMs === PRESENCE_BEAT_MS ? {} : { beatSeconds: Math.ceil(beatMs / 1000) };
		const joining = this.#reachedAt === null || Date.now() - this.#reachedAt < PRESENCE_SETTLE_MS ? { joining: true as const } : {};
		const message = {
			type: 'presence' as const,
			seq: this.#nextSeq(),
			name,
			hand,
			muted,
			...(avatar ? { avatar } : {}),
			...(tree ? { tree } : {}),
			...beat,
			...joining,
			...(picture ? { picture } : {})
		};
		if ((await this.#publish(message)) && this.#reachedAt === null) this.#reached();
	}

	/**
	 * Our presence reached someone for the first time since we came (back): from now on, every member on the
	 * stage or with a hand up beats to us (and answers us) within PRESENCE_SETTLE_MS. Until then, one not heard
	 * is not known to be away: a reloaded page that takes long to reach the relay must not show them away.
	 */
	#reached(): void {
		this.#reachedAt = Date.now();
		this.#settleSoon();
	}

	/**
	 * Starts the settle clock once our presence reached someone and we hold the room's current key. A page
	 * that opens with a stored room older than a removal seals with the key before it and is heard, but reads
	 * nobody until it has fetched the new one: the clock waits for that key, and stops if a newer one turns
	 * out to be needed before it runs out.
	 */
	#settleSoon(): void {
		if (this.#presenceSettled || this.#settleTimer !== undefined || this.#reachedAt === null || this.#keys.wanted) return;
		this.#settleTimer = setTimeout(() => {
			this.#settleTimer = undefined;
			if (this.#keys.wanted) return; // #gotKey starts it again
			this.#presenceSettled = true;
			this.#events.onPresence();
		}, PRESENCE_SETTLE_MS);
	}

	/** On the stage or with a hand up: the room hears from us every few seconds. */
	#shouldBeatOften(): boolean {
		const role = roleOf(this.room.view, this.#me.peerId.toString());
		return role === 'creator' || role === 'moderator' || role === 'speaker' || this.#myState.hand !== null;
	}

	/**
	 * Listeners in the room, ourselves included: those we show, or as many as the others' beats imply (room-size.ts).
	 * Counted afresh at most once per LISTENER_COUNT_MS: it walks and sorts the whole presence table, and every
	 * newcomer's first presence asks for it (#answersNewcomers), so in a room of 10,000 a burst of joins would
	 * cost each member a 10,000-entry sort per joiner. The count moves slowly; a second's staleness changes
	 * only how soon we answer one newcomer, or our next beat's interval by as little.
	 */
	#listenersShown(): number {
		const now = Date.now();
		if (this.#listenerCount === null || now - this.#listenerCount.at >= LISTENER_COUNT_MS || now < this.#listenerCount.at) {
			this.#listenerCount = { at: now, value: this.#countListeners() };
		}
		return this.#listenerCount.value;
	}

	#countListeners(): number {
		let listeners = 1;
		const beats: number[] = [];
		for (const [peerId, entry] of this.presence.members) {
			if (roleOf(this.room.view, peerId) !== 'audience') continue;
			listeners++;
			beats.push(entry.beatMs);
		}
		return sharedBy(listeners, beats, LISTENER_BEATS_PER_SEC);
	}

	/** Whether we tell a newcomer where we are now rather than at our next beat (room-size.ts). */
	#answersNewcomers(): boolean {
		if (this.#beatsOften || (this.#myState.tree?.k ?? 0) > 0) return true;
		return answersNewcomer(this.#listenersShown());
	}

	/**
	 * A speaker's audio stream: where it started and its mark (the last seq sent), read at every presence message so that
	 * listeners can tell its live packets from replays (audio/stream-guard.ts); null to stop.
	 */
	setStreamMark(read: (() => { start: number; mark: number } | undefined) | null): void {
		this.#streamMark = read;
	}

	/**
	 * Tells the room which peers an audio link is being set up with that the audio side took on (a
	 * child given a slot, a fellow speaker): the meeting's trim spares their links while it runs.
	 */
	setAudioSetups(read: ((peerId: string) => boolean) | null): void {
		this.#audioSetups = read;
	}

	/** An audio link the audio side took on is set up or given up: its connection is an ordinary link again. */
	audioSetupEnded(): void {
		this.#meeting?.lookAgain();
	}

	/**
	 * Seals with the current key (or the one before `before`); says nothing while that key is not held yet.
	 * Records the seq sent, so that a goodbye older than it is never handed out (sayGoodbye). Returns
	 * whether it went to anyone (gossipsub publishes to nobody without an error).
	 */
	async #publish(message: TopicMessage, before?: string): Promise<boolean> {
		try {
			const sealed = await this.#keys.sealTopic(encodeTopicMessage(message), before);
			if (!sealed) return false; // the key that seals this is on its way (#fetchKey); sync carries records meanwhile
			if (message.type === 'presence' || message.type === 'leave') this.#sentSeq = Math.max(this.#sentSeq, message.seq);
			const { recipients } = await this.#node.services.pubsub.publish(this.#topic, sealed);
			return recipients.length > 0;
		} catch {
			// Nobody reachable right now: presence beats again, and sync carries the updates.
			return false;
		}
	}

	#sweep(): void {
		const changed = this.#me.name() !== this.#myState.name || !sameAvatar(this.#me.avatar?.(), this.#myState.avatar);
		if (changed || this.#me.picture?.()?.digest !== this.#myState.picture) void this.#publishPresence();
		if (this.presence.expire(Date.now())) this.#events.onPresence();
	}

	/**
	 * See UNREADABLE_SYNC_MS. Members whose messages we cannot read wait their turn, oldest first, and
	 * one sync runs at a time: several members stalling the syncs they get (up to SYNC_TIMEOUT_MS each)
	 * delay another by one sync each, no more. A member's turn comes no sooner than UNREADABLE_SYNC_MS
	 * after its last such sync ended. The queue holds directly connected members only, at most
	 * MAX_UNREADABLE_WAITING, and only while a sync runs; one that left or was put out meanwhile is
	 * skipped. None of it while we are out (members refuse us) or lack a key the room already names
	 * (the key fetch is on it). A message that comes before a member's turn is due is not forgotten:
	 * its turn comes when due (#syncUnreadableLater), unless we read that member meanwhile: a listener
	 * in a big room may speak up once a minute. Each sync is given SYNC_TIMEOUT_MS and a second more,
	 * whatever part of it does not heed its signal, so the turns cannot stall.
	 */
	async #syncOnUnreadable(from: string): Promise<void> {
		if (this.#out || this.#stopped || this.#keys.wanted || this.#isOut(from) || !this.#directTo(from)) return;
		this.#forgetUnreadableSyncs();
		if (this.#unreadableSyncAt.has(from) || from === this.#unreadableSyncing) return this.#syncUnreadableLater(from);
		if (this.#unreadableWaiting.size < MAX_UNREADABLE_WAITING) this.#unreadableWaiting.add(from);
		if (this.#unreadableSyncing !== null) return; // the loop below, running, comes to it
		while (this.#unreadableWaiting.size > 0 && !this.#out && !this.#stopped && !this.#keys.wanted) {
			const [peerId] = this.#unreadableWaiting;
			this.#unreadableWaiting.delete(peerId);
			this.#forgetUnreadableSyncs();
			const direct = this.#directTo(peerId);
			if (!direct || this.#unreadableSyncAt.has(peerId) || this.#isOut(peerId)) continue;
			this.#unreadableSyncing = peerId;
			let bound: ReturnType<typeof setTimeout> | undefined;
			try {
				traceEvent('sync:unreadable', shortId(peerId));
				const timedOut = new Promise<void>((resolve) => (bound = setTimeout(resolve, SYNC_TIMEOUT_MS + 1_000)));
				await Promise.race([this.syncWith(direct.remotePeer), timedOut]);
			} finally {
				clearTimeout(bound);
				this.#unreadableSyncing = null;
				this.#unreadableSyncAt.set(peerId, performance.now());
			}
		}
		this.#unreadableWaiting.clear();
		if (this.#keys.wanted) this.#fetchKeySoon(0);
	}

	/** Our open direct connections (a relayed circuit is not one). */
	#directConnections(): Connection[] {
		return this.#node.getConnections().filter((c) => c.status === 'open' && isDirectConnection(c.remoteAddr.toString()));
	}

	#directTo(peerId: string): Connection | undefined {
		return this.#directConnections().find((c) => c.remotePeer.toString() === peerId);
	}

	#forgetUnreadableSyncs(): void {
		const now = performance.now();
		for (const [peerId, at] of this.#unreadableSyncAt) if (now - at >= UNREADABLE_SYNC_MS) this.#unreadableSyncAt.delete(peerId);
	}

	/** `from` sent what we cannot read before its turn was due: its turn comes when due (see #syncOnUnreadable). */
	#syncUnreadableLater(from: string): void {
		if (!this.#unreadableLater.has(from) && this.#unreadableLater.size < MAX_UNREADABLE_WAITING) {
			this.#unreadableLater.add(from);
			traceEvent('sync:unreadable-later', shortId(from));
		}
		if (this.#unreadableLaterTimer !== undefined || this.#stopped) return;
		// The first turn due; one still syncing is due UNREADABLE_SYNC_MS after it ends, so look again then at the latest.
		const now = performance.now();
		let due = now + UNREADABLE_SYNC_MS;
		for (const peerId of this.#unreadableLater) {
			const at = this.#unreadableSyncAt.get(peerId);
			if (at !== undefined) due = Math.min(due, at + UNREADABLE_SYNC_MS);
		}
		this.#unreadableLaterTimer = setTimeout(() => {
			this.#unreadableLaterTimer = undefined;
			this.#forgetUnreadableSyncs();
			for (const peerId of [...this.#unreadableLater]) {
				if (this.#unreadableSyncAt.has(peerId) || peerId === this.#unreadableSyncing) continue;
				this.#unreadableLater.delete(peerId);
				void this.#syncOnUnreadable(peerId);
			}
			if (this.#unreadableLater.size > 0) this.#syncUnreadableLater([...this.#unreadableLater][0]);
		}, Math.max(0, due - now));
	}

	async #antiEntropy(): Promise<void> {
		if (this.#out) return; // #checkLetBackIn syncs, more often, with whoever we heard
		// Those we heard announce count too: a member lacking the current key reads nobody's presence.
		const members = new Set([...this.presence.members.keys(), ...(this.#meeting?.heard() ?? [])]);
		const candidates = this.#directConnections().filter((c) => members.has(c.remotePeer.toString()));
		const pick = candidates[Math.floor(Math.random() * candidates.length)];
		if (pick) await this.syncWith(pick.remotePeer);
	}

}

/**
 * Whether members' refusals (`refusedBy`: they refused us a sync, saying the room put us out) are
 * enough to tell the person so: two members' word, or that of every member heard. One member's word
 * alone, while others are heard, is not: a hostile member could otherwise show a joiner it is turned
 * away until an honest member's sync got through.
 */
export function turnedAwayBy(refusedBy: ReadonlySet<string>, heard: Iterable<string>): boolean {
	if (refusedBy.size >= 2) return true;
	for (const peerId of heard) if (!refusedBy.has(peerId)) return false;
	return refusedBy.size > 0;
}

function shuffle<T>(items: T[]): T[] {
	for (let i = items.length - 1; i > 0; i--) {
		const j = Math.floor(Math.random() * (i + 1));
		[items[i], items[j]] = [items[j], items[i]];
	}
	return items;
}

/**
 * Whom the current key may have reached, and what a new epoch must follow, as one string: a rekey that left
 * some of it standing (a parent list cut short) changes it, and may be followed by another; one that changed
 * nothing is not tried again.
 */
function exposure(view: RoomView): string {
	return [...view.keyExposedTo]
		.map(([peerId, ops]) => `${peerId}:${ops.join(',')}`)
		.sort()
		.join(' ');
}
