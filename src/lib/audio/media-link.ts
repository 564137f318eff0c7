/**
 * One edge of the audio tree: an RTCPeerConnection of its own (never
 * libp2p's, which libp2p may prune at any time) carrying a single unordered,
 * no-retransmit data channel. Audio packets are forwarded on it as they are;
 * a late packet is worth nothing, so nothing is ever retransmitted or queued.
 *
 * A link between two speakers also carries each one's voice as a native
 * WebRTC audio track (one sendrecv transceiver, negotiated with the data
 * channel in the same offer): that is what a speaker hears the stage through
 * (stage-audio.ts), while the data channel still brings the signed packets it
 * relays to its own listeners.
 */
import type { Stream } from '@libp2p/interface';
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils';
import type { RoomCipher } from '../room/room-crypto';
import { decodeLinkFrame, LinkFrameError, RedundantSender } from './link-frame';
import { askShortFrames } from './stage-sdp';
import { decodeSignal, encodeSignal, MAX_SIGNAL_BYTES, SignalError, type AttachAs, type AttachRequest, type RefuseReason, type SignalMessage } from './media-signal-protocol';

// 16 KiB ≈ 80 packets ≈ 1.6 s of one stream: a channel that far behind is
// congested, and queueing more would only add delay. Drop instead.
export const MAX_SEND_BACKLOG_BYTES = 16 * 1024;
// Setting up an edge takes ~100 ms on a LAN; 10 s means it will not happen.
const SETUP_TIMEOUT_MS = 10_000;
// A packet is carried again in the next audio message on its link (link-frame.ts) unless that comes more
// than 200 ms later (the jitter buffer's largest target): by then it is past playing.
const REDUNDANCY_KEEP_MS = 200;

/**
 * Diagnostics for bench:audio, reachable from the console as `__stanzaAudio.linkLab`: drop a share
 * of what this page's links send, as a lossy network would, and turn redundancy off, to measure what
 * it saves. Both touch only this page's own sending.
 */
export const linkLab = { loss: 0, redundancy: true };

/** How this end sees the other: its parent, its child, a standby child held in reserve, a fellow speaker. */
export type LinkRole = 'parent' | 'child' | 'standby' | 'speaker';

/** A fellow speaker's voice as WebRTC delivers it. */
export interface RemoteVoice {
	track: MediaStreamTrack;
	receiver: RTCRtpReceiver;
}

export class LinkRefusedError extends Error {
	override name = 'LinkRefusedError';
	constructor(readonly reason: RefuseReason) {
		super(`link refused: ${reason}`);
	}
}

export class MediaLink {
	readonly peerId: string;
	readonly role: LinkRole;
	/** performance.now() of the last packet received, for silence detection. */
	lastReceivedAt = performance.now();
	dropped = 0;
	/** Messages that were not link frames (link-frame.ts): dropped whole. */
	malformed = 0;
	/** A packet arrived; `again` when it is the copy carried in a later message (it may have arrived before). */
	onPacket: (bytes: Uint8Array, again: boolean) => void = () => {};
	onClose: () => void = () => {};
	/** A stage link: the far end's voice arrived as a native track (it may come before the link is adopted). */
	onVoice: (voice: RemoteVoice) => void = () => {};
	readonly #pc: RTCPeerConnection;
	readonly #channel: RTCDataChannel;
	#voice: RTCRtpTransceiver | null = null;
	#remoteVoice: RemoteVoice | null = null;
	#closed = false;
	readonly #redundancy = new RedundantSender(REDUNDANCY_KEEP_MS);

	constructor(peerId: string, role: LinkRole, pc: RTCPeerConnection) {
		this.peerId = peerId;
		this.role = role;
		this.#pc = pc;
		// negotiated: both sides create the same channel, so no extra round trip for it.
		this.#channel = pc.createDataChannel('stanza-audio', { negotiated: true, id: 0, ordered: false, maxRetransmits: 0 });
		this.#channel.binaryType = 'arraybuffer';
		this.#channel.onmessage = (event) => {
			this.lastReceivedAt = performance.now();
			if (event.data instanceof ArrayBuffer) this.#receive(new Uint8Array(event.data));
		};
		// Silence is counted from when audio could first flow, not from when setup began (which can
		// take seconds on a busy device): otherwise a fresh link looks dead at its first check.
		this.#channel.onopen = () => (this.lastReceivedAt = performance.now());
		this.#channel.onclose = () => this.close();
		pc.onconnectionstatechange = () => {
			if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.close();
		};
		if (role === 'speaker') {
			pc.ontrack = (event) => {
				if (event.track.kind !== 'audio' || this.#closed) return;
				this.#remoteVoice = { track: event.track, receiver: event.receiver };
				this.onVoice(this.#remoteVoice);
			};
		}
	}

	/** The dialing speaker offers a voice both ways. */
	offerVoice(): void {
		this.#voice = this.#pc.addTransceiver('audio', { direction: 'sendrecv' });
		withCaptureTimes(this.#voice);
	}

	/** The answering speaker takes the offered voice and sends its own back (call between the offer and the answer). */
	answerVoice(): void {
		this.#voice = this.#pc.getTransceivers().find((t) => t.receiver.track.kind === 'audio') ?? null;
		if (this.#voice) {
			this.#voice.direction = 'sendrecv';
			withCaptureTimes(this.#voice);
		}
	}

	/** The far end's voice, once its track arrived; null on a tree link or before. */
	get remoteVoice(): RemoteVoice | null {
		return this.#remoteVoice;
	}

	/** What we send as our voice on a stage link (null: nothing, as when the microphone is closed). No renegotiation. */
	sendVoice(track: MediaStreamTrack | null): void {
		if (!this.#voice || this.#closed || this.#voice.sender.track === track) return;
		this.#voice.sender.replaceTrack(track).catch(() => {}); // a link closing meanwhile: nothing to send on
	}

	get open(): boolean {
		return !this.#closed && this.#channel.readyState === 'open';
	}

	opened(signal: AbortSignal): Promise<void> {
		if (this.#channel.readyState === 'open') return Promise.resolve();
		return new Promise((resolve, reject) => {
			const fail = () => reject(new Error('audio link did not open'));
			this.#channel.addEventListener('open', () => resolve(), { once: true });
			this.#channel.addEventListener('close', fail, { once: true });
			signal.addEventListener('abort', fail, { once: true });
		});
	}

	#receive(bytes: Uint8Array): void {
		let packets: Uint8Array[];
		try {
			packets = decodeLinkFrame(bytes);
		} catch (error) {
			if (!(error instanceof LinkFrameError)) throw error;
			this.malformed++;
			return;
		}
		packets.forEach((packet, i) => this.onPacket(packet, i > 0));
	}

	/**
	 * Sends a speaker's signed packet, with the one sent before it on this link
	 * (link-frame.ts), unless the channel is backed up; returns whether it went.
	 */
	sendAudio(packet: Uint8Array, nowMs: number): boolean {
		const frame = this.#redundancy.frame(packet, nowMs);
		return this.send(linkLab.redundancy ? frame : packet);
	}

	/** Sends a message as it is (control packets) unless the channel is backed up; returns whether it went. */
	send(bytes: Uint8Array): boolean {
		if (!this.open || this.#channel.bufferedAmount > MAX_SEND_BACKLOG_BYTES) {
			this.dropped++;
			return false;
		}
		if (linkLab.loss > 0 && Math.random() < linkLab.loss) return true; // lost on the way (diagnostics only)
		try {
			this.#channel.send(bytes as Uint8Array<ArrayBuffer>);
			return true;
		} catch {
			this.dropped++;
			return false;
		}
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		try {
			this.#channel.close();
			this.#pc.close();
		} finally {
			this.onClose();
		}
	}
}

interface Signaling {
	lp: LengthPrefixedStream;
	cipher: RoomCipher;
	signal: AbortSignal;
}

/** Asks `peerId` (over `stream`) to link up as `as`; resolves once audio can flow. */
export async function dialLink(
	stream: Stream,
	peerId: string,
	as: AttachAs,
	ctx: { roomId: string; cipher: RoomCipher; iceServers: RTCIceServer[]; lost?: string; displace?: string }
): Promise<MediaLink> {
	const signal = AbortSignal.timeout(SETUP_TIMEOUT_MS);
	const s: Signaling = { lp: lpStream(stream, { maxDataLength: MAX_SIGNAL_BYTES }), cipher: ctx.cipher, signal };
	let link: MediaLink | null = null;
	try {
		await s.lp.write(new TextEncoder().encode(ctx.roomId), { signal });
		await send(s, { t: 'attach', as, ...(ctx.lost ? { lost: ctx.lost } : {}), ...(ctx.displace ? { displace: ctx.displace } : {}) });
		const reply = await receive(s);
		if (reply.t === 'refuse') throw new LinkRefusedError(reply.reason);
		if (reply.t !== 'accept') throw new SignalError('expected accept or refuse');
		const pc = new RTCPeerConnection({ iceServers: ctx.iceServers });
		link = new MediaLink(peerId, as === 'speaker' ? 'speaker' : 'parent', pc);
		if (as === 'speaker') link.offerVoice();
		trickle(pc, s);
		await pc.setLocalDescription(await pc.createOffer());
		await send(s, { t: 'offer', sdp: pc.localDescription!.sdp });
		await negotiate(pc, link, s, 'answer');
		void stream.close().catch(() => {});
		return link;
	} catch (err) {
		link?.close();
		stream.abort(err instanceof Error ? err : new Error(String(err)));
		throw err;
	}
}

/**
 * Serves one link request. `decide` says whether to take it (and as what);
 * returns the link, or null when refused or broken. Never throws.
 */
export async function serveLink(
	stream: Stream,
	peerId: string,
	ctx: { lookupCipher: (roomId: string) => RoomCipher | null; iceServers: (roomId: string) => RTCIceServer[] },
	decide: (roomId: string, request: AttachRequest) => { accept: true; role: LinkRole } | { accept: false; reason: RefuseReason }
): Promise<{ link: MediaLink; roomId: string } | null> {
	const signal = AbortSignal.timeout(SETUP_TIMEOUT_MS);
	const lp = lpStream(stream, { maxDataLength: MAX_SIGNAL_BYTES });
	let link: MediaLink | null = null;
	try {
		const roomId = new TextDecoder().decode((await lp.read({ signal })).subarray());
		const cipher = ctx.lookupCipher(roomId);
		if (!cipher) throw new SignalError('no such room here');
		const s: Signaling = { lp, cipher, signal };
		const request = await receive(s);
		if (request.t !== 'attach') throw new SignalError('expected attach');
		const verdict = decide(roomId, request);
		if (!verdict.accept) {
			await send(s, { t: 'refuse', reason: verdict.reason });
			await stream.close({ signal });
			return null;
		}
		await send(s, { t: 'accept' });
		const pc = new RTCPeerConnection({ iceServers: ctx.iceServers(roomId) });
		link = new MediaLink(peerId, verdict.role, pc);
		trickle(pc, s);
		const offer = await receive(s);
		if (offer.t !== 'offer') throw new SignalError('expected an offer');
		await pc.setRemoteDescription({ type: 'offer', sdp: askShortFrames(offer.sdp) });
		if (verdict.role === 'speaker') link.answerVoice();
		await pc.setLocalDescription(await pc.createAnswer());
		await send(s, { t: 'answer', sdp: pc.localDescription!.sdp });
		await negotiate(pc, link, s, null);
		void stream.close().catch(() => {});
		return { link, roomId };
	} catch (err) {
		link?.close();
		stream.abort(err instanceof Error ? err : new Error(String(err)));
		return null;
	}
}

/** Reads answer (if awaited) and candidates until the data channel opens. */
async function negotiate(pc: RTCPeerConnection, link: MediaLink, s: Signaling, awaiting: 'answer' | null): Promise<void> {
	const opened = link.opened(s.signal);
	let done = false;
	void opened.then(
		() => (done = true),
		() => (done = true)
	);
	const reading = (async () => {
		let needAnswer = awaiting === 'answer';
		while (!done) {
			let message: SignalMessage;
			try {
				message = await receive(s);
			} catch (err) {
				if (done) return;
				throw err;
			}
			if (message.t === 'answer' && needAnswer) {
				needAnswer = false;
				await pc.setRemoteDescription({ type: 'answer', sdp: askShortFrames(message.sdp) });
			} else if (message.t === 'ice') {
				if (message.candidate) await pc.addIceCandidate(message.candidate).catch(() => {});
			} else {
				throw new SignalError(`unexpected ${message.t}`);
			}
		}
	})();
	await Promise.race([opened, reading.then(() => opened)]);
}

function trickle(pc: RTCPeerConnection, s: Signaling): void {
	pc.onicecandidate = (event) => {
		void send(s, { t: 'ice', candidate: event.candidate ? event.candidate.toJSON() : null }).catch(() => {});
	};
}

async function send(s: Signaling, message: SignalMessage): Promise<void> {
	await s.lp.write(await s.cipher.seal('media', encodeSignal(message)), { signal: s.signal });
}

async function receive(s: Signaling): Promise<SignalMessage> {
	return decodeSignal(await s.cipher.open('media', (await s.lp.read({ signal: s.signal })).subarray()));
}

const ABS_CAPTURE_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time';

/**
 * Has a stage voice carry its capture time (the abs-capture-time RTP header extension, offered but
 * stopped by default in Chromium): the receiver's RTCRtpSynchronizationSource then gives
 * `captureTimestamp`, so the latency of a voice is read from WebRTC itself (stage-audio.ts, delays()).
 * 17 bytes a packet; where the API is missing (Firefox), nothing changes.
 */
function withCaptureTimes(transceiver: RTCRtpTransceiver): void {
	const t = transceiver as RTCRtpTransceiver & {
		getHeaderExtensionsToNegotiate?(): { uri: string; direction: RTCRtpTransceiverDirection | 'stopped' }[];
		setHeaderExtensionsToNegotiate?(extensions: { uri: string; direction: RTCRtpTransceiverDirection | 'stopped' }[]): void;
	};
	try {
		const extensions = t.getHeaderExtensionsToNegotiate?.();
		if (!extensions?.some((e) => e.uri === ABS_CAPTURE_TIME)) return;
		t.setHeaderExtensionsToNegotiate!(extensions.map((e) => (e.uri === ABS_CAPTURE_TIME ? { ...e, direction: 'sendrecv' } : e)));
	} catch {
		// An older browser's shape: the voice goes without capture times.
	}
}
