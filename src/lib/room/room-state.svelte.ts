/* eslint-disable svelte/prefer-svelte-reactivity -- private bookkeeping; the UI reads the $state fields. */
/**
 * One open room, as the UI sees it: rune state derived from the verified room
 * document and live presence, and the named actions a person can take.
 * Actions sign ops; whether they take effect is decided by the same rules on
 * every peer (authority.ts), so the UI only offers what the rules allow.
 */
import { BrowserDevicePresence, type DevicePresence } from './device-presence';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { SPEAKING_LEVEL } from '../audio/level-meter';
import { speakerTag } from '../audio/packet-codec';
import type { FrameTap } from '../audio/audio-output';
import type { NetState } from '../net/net-state.svelte';
import { permittedActions, roleOf, type MemberAction, type Role, type RoomView } from './authority';
import { handQueue } from './presence';
import { REACTION_SHOW_MS, REACTIONS, type Reaction } from './reactions';
import { RoomKeys } from './room-keys';
import { RoomDoc } from './room-doc';
import type { RoomAddress } from './room-link';
import type { OpIntent, Visibility } from './room-op-codec';
import { normalizeDisplayName } from '../identity/display-name';
import { sameAvatar, type Avatar } from '../identity/avatar';
import { pictureType } from '../identity/picture';
import { Pictures } from './pictures';
import { RoomSession } from './room-session';
import type { RoomHost } from './room-host';
import type { AudioHost } from '../audio/audio-host';
import { settingsStore } from '../settings/settings-store';
import type { RoomStore } from './room-store';

/** turnedAway: members refuse us the room, saying it put us out (RoomSession.turnedAway); our own copy cannot tell. */
export type RoomStatus = 'loading' | 'waiting' | 'turnedAway' | 'live' | 'removed' | 'banned' | 'ended' | 'left';

export interface MemberView {
	peerId: string;
	name: string;
	/** Presence's, else the one kept in the room with the name; null: none (the name's initial is drawn). */
	avatar: Avatar | null;
	/** The member's profile picture, once fetched (a URL an <img> shows), else null: the avatar is drawn. */
	picture: string | null;
	role: Role;
	/** Here now; null while that is not known yet (just came in, and has not heard everyone's presence). */
	present: boolean | null;
	hand: number | null;
	/** Muted by themselves or by a moderator. */
	muted: boolean;
	modMuted: boolean;
	invited: boolean;
	isMe: boolean;
	/** What I may do to this member right now (empty unless I moderate). */
	actions: MemberAction[];
	/** Their voice is reaching us right now. */
	speaking: boolean;
	/** The reaction they sent in the last few seconds, if any. */
	reaction: Reaction | null;
}

/** The reactions a person can send, in the order offered. */
export const REACTION_CHOICES: readonly Reaction[] = REACTIONS;

/** Someone a moderator removed, as the moderator's list shows them. */
export interface RemovedView {
	peerId: string;
	/** The name their stage record kept, else the last one this device saw them use; '' if neither. */
	name: string;
}

export type AudioStatus = 'off' | 'unsupported' | 'starting' | 'on';

export interface AudioView {
	status: AudioStatus;
	/** False until the browser lets sound play (a click on "Turn on sound"). */
	soundOn: boolean;
	mic: import('../audio/audio-room').MicState;
	depth: number | null;
	children: number;
	/** This browser can encode Opus: checked before the stage is offered. */
	canSpeak: boolean;
	/** "Turn on sound" was clicked and the browser still would not play. */
	soundFailed: boolean;
	/** Your microphone's level, 0–1 (level-meter.ts), while it sends. */
	myLevel: number;
}
// The audio context gets this long to start after "Turn on sound" before the person is told it did not.
const SOUND_START_MS = 3_000;

export interface RoomDeps {
	/** ICE servers for audio links; none needed on a LAN or loopback. */
	iceServers?: RTCIceServer[];
	net: NetState;
	/** The rooms open on our node (one of each per node: app-state makes them with the node). */
	hosts: { room(): Promise<RoomHost>; audio(): Promise<AudioHost> };
	store: RoomStore;
	identity: {
		privateKey: Promise<PrivateKey>;
		name: () => string;
		avatar?: () => Avatar | null;
		/** The profile picture kept on this device, with its digest (identity/picture.ts), or null. */
		picture?: () => { digest: string; bytes: Uint8Array } | null;
	};
	/** The screen kept awake and the room named in the system's media controls while live (device-presence.ts). */
	device?: DevicePresence;
	/** Where the room's listing goes (the hallway: app-state wires hallway/hallway-announcer.ts). */
	listing?: ListingPort;
}

/** What the hallway should show of this room now. */
export interface RoomListing {
	/** The room should be listed: public, live, and we created it. */
	listed: boolean;
	title: string;
	/** Names of those present on stage. */
	stage: string[];
	/** Present members off the stage. */
	listeners: number;
}

export interface ListingPort {
	update(listing: RoomListing): void;
	/** We leave: no more listings from us. */
	stop(): void;
}

// RMS above this (about −34 dBFS) counts as speaking for the indicator.
// Writing the document at most twice a second keeps IndexedDB calm during bursts.
const SAVE_DEBOUNCE_MS = 500;
// Names seen in presence, remembered for the removed list (a listener's name lives only in presence):
// at most this many, the oldest forgotten first, so that a stream of new keys cannot grow it.
const SEEN_NAMES_MAX = 1_024;
/** How many of the audience (in presence order) have their pictures fetched: about two screens of a phone. */
const AUDIENCE_PICTURES = 48;

export class RoomState {
	status = $state<RoomStatus>('loading');
	title = $state('');
	description = $state('');
	visibility = $state<Visibility>('private');
	stage = $state<MemberView[]>([]);
	audience = $state<MemberView[]>([]);
	hands = $state<MemberView[]>([]);
	/** Removed (not banned) peers, shown to moderators so they can let them back in. */
	removed = $state<RemovedView[]>([]);
	myRole = $state<Role>('audience');
	/** A pending invitation to the stage for me. */
	invitedToStage = $state(false);
	handRaised = $state(false);
	selfMuted = $state(false);
	error = $state<string | null>(null);
	saveError = $state<string | null>(null);
	audio = $state<AudioView>({ status: 'off', soundOn: false, mic: 'off', depth: null, children: 0, canSpeak: true, soundFailed: false, myLevel: 0 });

	readonly address: RoomAddress;
	readonly #deps: RoomDeps;
	#doc: RoomDoc | null = null;
	#session: RoomSession | null = null;
	#signer: { peerId: PeerId; privateKey: PrivateKey } | null = null;
	#keys: RoomKeys | null = null;
	#wasOut = false;
	/** The name and avatar last put into the room's records (or asked to be). */
	#nameKept: string | null = null;
	/** peerId → the last name presence gave it, oldest first (SEEN_NAMES_MAX). */
	readonly #seenNames = new Map<string, string>();
	/** peerId → the picture digest presence last named for it (none: taken off), oldest first (SEEN_NAMES_MAX). */
	readonly #seenPictures = new Map<string, string>();
	/** Epoch keys gained since the last save (room-keys.ts). */
	#keysChanged = false;
	#saveTimer: ReturnType<typeof setTimeout> | undefined;
	#stopped = false;
	#audio: import('../audio/audio-room').AudioRoom | null = null;
	#output: import('../audio/audio-output').AudioOutput | null = null;
	#speaking = new Set<string>();
	/** Reactions on show, by member, each with the timer that takes it away. */
	#reactions = new Map<string, { reaction: Reaction; timer: ReturnType<typeof setTimeout> }>();
	/** Members' pictures fetched, as object URLs (pictures.ts); made with the session. */
	#pictures: Pictures<string> | null = null;

	constructor(address: RoomAddress, deps: RoomDeps) {
		this.address = address;
		this.#deps = deps;
	}

	#deviceOnce: DevicePresence | null = null;
	get #device(): DevicePresence {
		return (this.#deviceOnce ??= this.#deps.device ?? new BrowserDevicePresence());
	}

	get myPeerId(): string | null {
		return this.#signer?.peerId.toString() ?? null;
	}

	/** Loads the room from the device, then joins it on the network. Never throws. */
	async open(): Promise<void> {
		try {
			const { roomId, key } = this.address;
			const [host, privateKey, keys] = await Promise.all([this.#deps.hosts.room(), this.#deps.identity.privateKey, RoomKeys.create(roomId, key)]);
			const node = host.node;
			if (this.#stopped) return;
			this.#signer = { peerId: node.peerId, privateKey };
			const doc = new RoomDoc(roomId, key);
			this.#doc = doc;
			const saved = await this.#deps.store.loadDoc(roomId).catch(() => null);
			if (saved) await doc.applyUpdate(saved, 'storage').catch(() => {});
			for (const epochKey of await this.#deps.store.loadKeys(roomId).catch(() => [])) await keys.add(epochKey);
			this.#keys = keys;
			// Out already on the device: nothing new to keep at once when the first refresh says so.
			const me = node.peerId.toString();
			this.#wasOut = doc.view.removed.has(me) || doc.view.banned.has(me);
			doc.subscribe(() => this.#refresh());
			doc.doc.on('update', () => this.#scheduleSave());
			const session = (this.#session = new RoomSession(host, doc, keys, { peerId: node.peerId, privateKey, name: this.#deps.identity.name, avatar: this.#myAvatar, picture: this.#deps.identity.picture }, {
				onPresence: () => this.#refresh(),
				onReaction: (peerId, reaction) => this.#showReaction(peerId, reaction),
				onTurnedAway: () => this.#refresh(),
				onKeys: () => {
					// Written at once, not after the save's debounce: a page reloaded in that half second came
					// back without the room's new key, and read nothing until a member handed it over again.
					this.#keysChanged = true;
					clearTimeout(this.#saveTimer);
					void this.#save();
				}
			}, { tagOf: speakerTag }));
			this.#pictures = new Pictures<string>({
				fetch: (peerId, digest) => session.fetchPicture(peerId, digest),
				show: (bytes) => URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: pictureType(bytes) ?? 'application/octet-stream' })),
				release: (url) => URL.revokeObjectURL(url),
				onChange: () => this.#refresh()
			});
			this.#refresh();
			const out = this.status === 'removed' || this.status === 'banned';
			if (!out) performance.mark('stanza:room-joining');
			await this.#session.start({ out });
			// Diagnostics (and the end-to-end tests): what reached this page on the room topic, read or not.
			(globalThis as { __stanzaRoom?: unknown }).__stanzaRoom = { topic: () => ({ ...this.#session?.topicStats }) };
			this.#refresh();
			if (!out) await this.#startAudio();
		} catch (err) {
			this.error = describe(err);
		}
	}

	async #startAudio(): Promise<void> {
		const session = this.#session;
		if (!session || this.#stopped) return;
		const { audioSupport } = await import('../audio/opus-config');
		const support = await audioSupport();
		if (!support.listen.ok) {
			this.audio = { ...this.audio, status: 'unsupported', canSpeak: false };
			return;
		}
		this.audio = { ...this.audio, status: 'starting', canSpeak: support.speak.ok };
		const [{ AudioOutput, outputLatencyMs }, { AudioRoom }, { StageAudio }, { relayCapacity, RELAY_CAPACITY_KEY }, { MICROPHONE_KEY }, host] = await Promise.all([
			import('../audio/audio-output'),
			import('../audio/audio-room'),
			import('../audio/stage-audio'),
			import('../audio/relay-budget'),
			import('../audio/microphone-choice'),
			this.#deps.hosts.audio()
		]);
		const output = await AudioOutput.create();
		const stage = new StageAudio(output.context);
		const connection = (navigator as Navigator & { connection?: { type?: string; saveData?: boolean } }).connection;
		const audio = new AudioRoom(
			session,
			output,
			{ host, capacity: relayCapacity(settingsStore.get(RELAY_CAPACITY_KEY), connection), iceServers: this.#deps.iceServers ?? [], canSpeak: support.speak.ok, stage, microphone: () => settingsStore.get(MICROPHONE_KEY) },
			{
				onChange: () => this.#refreshAudio(),
				onLevels: (levels) => {
					const mine = levels.get(this.myPeerId ?? '') ?? 0;
					if (Math.abs(mine - this.audio.myLevel) > 0.005) this.audio = { ...this.audio, myLevel: mine };
					const speaking = new Set([...levels].filter(([, level]) => level > SPEAKING_LEVEL).map(([peerId]) => peerId));
					if ([...speaking].sort().join() !== [...this.#speaking].sort().join()) {
						this.#speaking = speaking;
						this.#refresh();
					}
				}
			}
		);
		if (this.#stopped) {
			await output.close();
			return;
		}
		this.#output = output;
		this.#audio = audio;
		output.context.onstatechange = () => this.#refreshAudio();
		await audio.start();
		audio.setSelfMuted(this.selfMuted);
		// Diagnostics (and the end-to-end tests): decoded frames and the tree as this page sees it.
		const { captureTaps } = await import('../audio/microphone');
		const { linkLab } = await import('../audio/media-link');
		(globalThis as { __stanzaAudio?: unknown }).__stanzaAudio = {
			// Decoded frames from the mixer and, on stage, the fellow speakers' native voices, with when each is heard.
			tap: (fn: FrameTap) => {
				output.tap(fn);
				stage.tap(fn);
			},
			stage: () => stage.paths(),
			stageDelays: () => stage.delays(),
			captureTap: (fn: (samples: Float32Array, wallMs: number) => void) => captureTaps.add(fn),
			stats: () => output.stats(),
			output: () => output.outputSamples(),
			tree: () => audio.snapshot(),
			latencyMs: () => outputLatencyMs(output.context),
			// Loss and redundancy on this page's audio links (bench:audio): { loss: 0..1, redundancy: boolean }.
			linkLab: (settings: Partial<typeof linkLab>) => Object.assign(linkLab, settings)
		};
		this.#refreshAudio();
	}

	#refreshAudio(): void {
		const audio = this.#audio;
		if (!audio) return;
		const soundOn = this.#output?.context.state === 'running';
		this.audio = {
			status: 'on',
			soundOn,
			mic: audio.micState,
			depth: audio.depth,
			children: audio.childCount,
			canSpeak: audio.canSpeak,
			soundFailed: this.audio.soundFailed && !soundOn,
			myLevel: audio.micState === 'on' ? this.audio.myLevel : 0
		};
	}

	/** Browsers only play sound after a gesture: called from a click. Says so if the browser still will not. */
	turnOnSound = async () => {
		const output = this.#output;
		if (!output) return;
		this.audio = { ...this.audio, soundFailed: false };
		// resume() can stay pending for good (no output device, a browser policy): do not wait on it forever.
		await Promise.race([output.resume().catch(() => {}), new Promise((resolve) => setTimeout(resolve, SOUND_START_MS))]);
		this.#refreshAudio();
		if (output.context.state !== 'running') this.audio = { ...this.audio, soundFailed: true };
	};

	/** After a microphone failure: try it again. */
	retryMic = () => {
		this.#audio?.retryMic();
		this.#refreshAudio();
	};

	// —— actions (named for what a person does) ——
	/** We just took a name (identity.rename): everyone sees it now, not at the next presence round. */
	nameChanged = () => this.#presence({});
	raiseHand = () => this.#presence({ hand: Date.now() });
	lowerHand = () => this.#presence({ hand: null });
	toggleSelfMute = async () => {
		const muted = !this.selfMuted;
		// Silent before we say so: the mark that presence carries is then our last packet, and every
		// listener refuses older ones of ours while we are muted (stream-guard.ts, beforeMute).
		this.#audio?.setSelfMuted(muted);
		await this.#presence({ muted });
		this.#audio?.setSelfMuted(this.selfMuted); // what the room now shows, should that presence not have gone out
	};
	inviteToStage = (peerId: string) => this.#op({ kind: 'invite', target: peerId });
	acceptInvitation = async () => {
		const invitation = this.#doc?.view.invitations.get(this.myPeerId ?? '');
		if (!invitation) return;
		await this.#op({ kind: 'accept', invitation: invitation.id });
		await this.#presence({ hand: null });
	};
	declineInvitation = async () => {
		const invitation = this.#doc?.view.invitations.get(this.myPeerId ?? '');
		if (invitation) await this.#op({ kind: 'decline', invitation: invitation.id });
	};
	moveToAudience = (peerId: string) => this.#op({ kind: 'moveToAudience', target: peerId });
	leaveStage = () => this.#op({ kind: 'moveToAudience', target: this.myPeerId ?? '' });
	mute = (peerId: string) => this.#op({ kind: 'mute', target: peerId });
	unmute = (peerId: string) => this.#op({ kind: 'unmute', target: peerId });
	remove = (peerId: string) => this.#putOut('remove', peerId);
	readmit = (peerId: string) => this.#op({ kind: 'readmit', target: peerId });
	ban = (peerId: string) => this.#putOut('ban', peerId);
	makeModerator = (peerId: string) => this.#op({ kind: 'makeModerator', target: peerId });
	revokeModerator = (peerId: string) => this.#op({ kind: 'revokeModerator', target: peerId });
	/** Runs a member action offered in `MemberView.actions`. */
	memberAction = (action: MemberAction, peerId: string): Promise<void> => {
		const run: Record<MemberAction, (p: string) => Promise<void>> = {
			invite: this.inviteToStage,
			mute: this.mute,
			unmute: this.unmute,
			moveToAudience: this.moveToAudience,
			makeModerator: this.makeModerator,
			revokeModerator: this.revokeModerator,
			remove: this.remove,
			ban: this.ban
		};
		return run[action](peerId);
	};
	/** Sends an emoji reaction; over the rate (one a second, bursts of three) it is not sent. */
	react = async (reaction: Reaction): Promise<void> => {
		if (this.status !== 'live') return;
		await this.#session?.react(reaction);
	};
	editDetails = (details: { title?: string; description?: string; visibility?: Visibility }) => this.#op({ kind: 'meta', ...details });
	end = () => this.#op({ kind: 'end' });

	/**
	 * The page is closing: what can be said synchronously is said now (the audio links' goodbye, and the room's,
	 * handed to the relays to publish after we are gone), then leave().
	 */
	hangUp(): void {
		this.#audio?.hangUp();
		// A tab whose network another tab took over goes quietly: the same PeerId lives on there, maybe in this room.
		if (!this.#deps.net.handedOver) this.#session?.sayGoodbye();
	}

	/** Leaves quietly (others see it within 2 s); the room stays on this device. */
	async leave(): Promise<void> {
		this.#stopped = true;
		for (const { timer } of this.#reactions.values()) clearTimeout(timer);
		this.#reactions.clear();
		this.#deps.listing?.stop();
		clearTimeout(this.#saveTimer);
		await this.#save();
		await this.#audio?.stop();
		this.#audio = null;
		await this.#session?.stop();
		this.#session = null;
		this.#pictures?.stop();
		this.#pictures = null;
		if (this.status === 'live' || this.status === 'waiting' || this.status === 'turnedAway') this.status = 'left';
		this.#device.end();
	}

	#showReaction(peerId: string, reaction: Reaction): void {
		clearTimeout(this.#reactions.get(peerId)?.timer);
		const timer = setTimeout(() => {
			this.#reactions.delete(peerId);
			this.#refresh();
		}, REACTION_SHOW_MS);
		this.#reactions.set(peerId, { reaction, timer });
		this.#refresh();
	}

	async #op(intent: OpIntent): Promise<void> {
		if (!this.#doc || !this.#signer) return;
		try {
			await this.#doc.addOp(intent, this.#signer);
			this.error = null;
		} catch (err) {
			this.error = describe(err);
		}
	}

	/** Remove or ban: the act also rotates the room's key (room-keys.ts), so the person put out reads nothing said after it. */
	async #putOut(kind: 'remove' | 'ban', target: string): Promise<void> {
		const epoch = await this.#session?.drawEpochKey().catch(() => undefined);
		await this.#op({ kind, target, ...(epoch ? { epoch } : {}) });
	}

	async #presence(change: { hand?: number | null; muted?: boolean }): Promise<void> {
		await this.#session?.setPresence(change);
		this.#refresh();
	}

	#refresh(): void {
		const doc = this.#doc;
		const me = this.myPeerId;
		if (!doc || !me) return;
		const view = doc.view;
		this.myRole = roleOf(view, me);
		const status = statusOf(view, this.myRole, this.status, this.#stopped, this.#session?.turnedAway ?? false);
		if (status === 'live' && this.status !== 'live') performance.mark('stanza:room-live');
		this.status = status;
		this.title = view.title;
		if (status === 'live') this.#device.show(view.title || 'Stanza');
		else this.#device.end();
		this.description = view.description;
		this.visibility = view.visibility;
		this.invitedToStage = view.invitations.has(me);

		const presence = this.#session?.presence.members ?? new Map();
		for (const [peerId, p] of presence) {
			if (p.name) this.#rememberName(peerId, p.name);
			this.#rememberPicture(peerId, p.picture);
		}
		const mine = this.#session?.myState;
		this.handRaised = mine?.hand != null;
		this.selfMuted = mine?.muted ?? false;
		const member = (peerId: string, wantPicture = true): MemberView => {
			const p = peerId === me ? { name: this.#deps.identity.name(), avatar: this.#myAvatar() ?? undefined, hand: mine?.hand ?? null, muted: mine?.muted ?? false } : presence.get(peerId);
			// Presence says the name now; the room's records keep the last one a member on stage gave.
			const kept = !p?.name;
			return {
				peerId,
				name: p?.name || view.names.get(peerId) || '',
				avatar: (kept ? view.avatars.get(peerId) : p?.avatar) ?? null,
				// Away, the photo last seen stays (as the name does) while it is still kept here: its owner is not there to ask.
				picture:
					peerId === me
						? this.#pictureOf(peerId, this.#deps.identity.picture?.(), wantPicture)
						: p
							? this.#pictureOf(peerId, p.picture, wantPicture)
							: this.#pictureOf(peerId, this.#seenPictures.get(peerId), false),
				role: roleOf(view, peerId),
				present: peerId === me ? this.status === 'live' : presence.has(peerId) || (this.#session?.presenceSettled ? false : null),
				hand: p?.hand ?? null,
				muted: (p?.muted ?? false) || view.modMuted.has(peerId),
				modMuted: view.modMuted.has(peerId),
				invited: view.invitations.has(peerId),
				isMe: peerId === me,
				actions: permittedActions(view, me, peerId),
				speaking: this.#speaking.has(peerId),
				reaction: this.#reactions.get(peerId)?.reaction ?? null
			};
		};
		const rank = (m: MemberView) => ['creator', 'moderator', 'speaker'].indexOf(m.role);
		this.stage = [...view.stage].map((p) => member(p)).sort((a, b) => rank(a) - rank(b) || Number(b.present) - Number(a.present));
		const inRoom = [...presence.keys(), ...(this.status === 'live' ? [me] : [])];
		const out = (p: string) => view.stage.has(p) || view.removed.has(p) || view.banned.has(p);
		// Pictures are fetched for the stage, hands and the first of the audience: what a screen shows first.
		this.audience = [...new Set(inRoom)]
			.filter((p) => !out(p))
			.map((p, i) => member(p, i < AUDIENCE_PICTURES))
			.sort((a, b) => a.name.localeCompare(b.name));
		const queue = handQueue(presence.values(), (p) => out(p) || view.invitations.has(p)).map((e) => member(e.peerId));
		if (mine?.hand != null && !out(me) && !view.invitations.has(me)) {
			queue.push(member(me));
			queue.sort((a, b) => (a.hand as number) - (b.hand as number) || (a.peerId < b.peerId ? -1 : 1));
		}
		this.hands = queue;
		this.removed = view.moderators.has(me) ? [...view.removed].sort().map((peerId) => ({ peerId, name: view.names.get(peerId) || this.#seenNames.get(peerId) || '' })) : [];
		this.#deps.listing?.update({
			listed: status === 'live' && view.visibility === 'public' && this.myRole === 'creator',
			title: view.title,
			stage: this.stage.filter((m) => m.present && m.name !== '').map((m) => m.name),
			listeners: this.audience.length
		});
		const iAmOut = this.status === 'removed' || this.status === 'banned';
		if (iAmOut && this.#audio) {
			void this.#audio.stop();
			void this.#output?.close();
			this.#audio = this.#output = null;
			this.audio = { ...this.audio, status: 'off', mic: 'off', depth: null, children: 0, myLevel: 0 };
		}
		// Out: silent, only watching for a readmission; back in: present again, with sound.
		this.#session?.setOut(iAmOut);
		if (!iAmOut && this.#wasOut && this.status === 'live') void this.#startAudio();
		// Put out: kept on the device at once, not after the save debounce. Members serve no sync to
		// someone out, so a page reloaded before a late save would never learn it was removed.
		if (iAmOut && !this.#wasOut && this.#session) {
			clearTimeout(this.#saveTimer);
			void this.#save();
		}
		this.#wasOut = iAmOut;
		this.#keepName(view, me);
	}

	#rememberPicture(peerId: string, digest: string | undefined): void {
		if (this.#seenPictures.get(peerId) === digest) return;
		this.#seenPictures.delete(peerId);
		if (digest === undefined) return; // taken off: not shown once away either
		this.#seenPictures.set(peerId, digest);
		if (this.#seenPictures.size > SEEN_NAMES_MAX) this.#seenPictures.delete(this.#seenPictures.keys().next().value as string);
	}

	#rememberName(peerId: string, name: string): void {
		if (this.#seenNames.get(peerId) === name) return;
		this.#seenNames.delete(peerId);
		this.#seenNames.set(peerId, name);
		if (this.#seenNames.size > SEEN_NAMES_MAX) this.#seenNames.delete(this.#seenNames.keys().next().value as string);
	}

	#myAvatar = (): Avatar | null => this.#deps.identity.avatar?.() ?? null;

	/** A member's picture to show: ours as kept, another's once fetched (asked for now if `fetch`, else only if kept); else null. */
	#pictureOf(peerId: string, picture: string | { digest: string; bytes: Uint8Array } | null | undefined, fetch: boolean): string | null {
		if (!picture || !this.#pictures) return null;
		if (typeof picture !== 'string') return this.#pictures.put(picture.digest, picture.bytes);
		return fetch ? this.#pictures.get(peerId, picture) : this.#pictures.peek(picture);
	}

	/**
	 * On stage, our name and avatar go into the room's records (a `profile`), so that people who come
	 * later see them when we are gone. Asked once per change: the rules allow a few each, and a refusal
	 * is quiet.
	 */
	#keepName(view: RoomView, me: string): void {
		const name = normalizeDisplayName(this.#deps.identity.name());
		const avatar = this.#myAvatar();
		const wanted = `${name}\n${avatar ? `${avatar.e}${avatar.c}` : ''}`;
		if (!name || this.status !== 'live' || !view.stage.has(me) || this.#nameKept === wanted) return;
		if (view.names.get(me) === name && sameAvatar(view.avatars.get(me), avatar)) return;
		this.#nameKept = wanted;
		const doc = this.#doc;
		const signer = this.#signer;
		if (doc && signer) void doc.addOp({ kind: 'profile', name, ...(avatar ? { avatar } : {}) }, signer).catch(() => {});
	}

	#scheduleSave(): void {
		clearTimeout(this.#saveTimer);
		this.#saveTimer = setTimeout(() => void this.#save(), SAVE_DEBOUNCE_MS);
	}

	async #save(): Promise<void> {
		const doc = this.#doc;
		if (!doc || !doc.view.exists) return;
		const { encodeStateAsUpdate } = await import('yjs');
		try {
			await this.#deps.store.saveDoc(doc.roomId, encodeStateAsUpdate(doc.doc));
			// Keys change only on a rotation: written then, not with every document save.
			if (this.#keys && this.#keysChanged) {
				this.#keysChanged = false;
				await this.#deps.store.saveKeys(doc.roomId, this.#keys.export()).catch((err: unknown) => {
					this.#keysChanged = true; // tried again at the next save
					throw err;
				});
			}
			await this.#deps.store.remember({
				roomId: doc.roomId,
				key: this.address.key,
				title: doc.view.title,
				lastOpened: Date.now(),
				createdByMe: doc.view.creator === this.myPeerId
			});
			this.saveError = null;
		} catch (err) {
			// Full or blocked storage: the room keeps working from memory and the peers.
			this.saveError = describe(err);
		}
	}
}

function statusOf(view: RoomView, role: Role, current: RoomStatus, stopped: boolean, turnedAway: boolean): RoomStatus {
	if (role === 'removed' || role === 'banned') return role;
	if (view.ended) return 'ended';
	if (stopped) return current;
	if (turnedAway) return 'turnedAway';
	return view.exists ? 'live' : 'waiting';
}

function describe(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}
