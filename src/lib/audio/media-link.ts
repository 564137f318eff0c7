/**
 * One edge of the audio tree, whatever carries it (link-pipe.ts: a WebRTC
 * connection of its own in the app, an in-memory pipe in unit tests). Audio
 * packets are forwarded on it as they are; a late packet is worth nothing, so
 * nothing is ever retransmitted or queued.
 *
 * A link between two speakers also carries each one's voice natively (the
 * pipe's voice): that is what a speaker hears the stage through
 * (stage-audio.ts), while the link still brings the signed packets it relays
 * to its own listeners.
 *
 * dialLink and serveLink ask and answer over /stanza/media/1.0.0
 * (media-signal-protocol.ts), then hand the signaling stream to the pipe to
 * connect over.
 */
import type { Stream } from '@libp2p/interface';
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils';
import type { RoomCipher } from '../room/room-crypto';
import { decodeLinkFrame, LinkFrameError, RedundantSender } from './link-frame';
import type { LinkPipe, LinkTransport, RemoteVoice, SignalPort } from './link-pipe';
import { decodeSignal, encodeSignal, MAX_SIGNAL_BYTES, SignalError, type AttachAs, type AttachRequest, type RefuseReason, type SignalMessage } from './media-signal-protocol';

export type { RemoteVoice } from './link-pipe';

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
	readonly #pipe: LinkPipe;
	#remoteVoice: RemoteVoice | null = null;
	#closed = false;
	readonly #redundancy = new RedundantSender(REDUNDANCY_KEEP_MS);

	constructor(peerId: string, role: LinkRole, pipe: LinkPipe) {
		this.peerId = peerId;
		this.role = role;
		this.#pipe = pipe;
		pipe.onMessage = (bytes) => {
			this.lastReceivedAt = performance.now();
			this.#receive(bytes);
		};
		// Silence is counted from when audio could first flow, not from when setup began (which can
		// take seconds on a busy device): otherwise a fresh link looks dead at its first check.
		pipe.onOpen = () => (this.lastReceivedAt = performance.now());
		pipe.onClose = () => this.close();
		if (role === 'speaker') {
			pipe.onVoice = (voice) => {
				if (this.#closed) return;
				this.#remoteVoice = voice;
				this.onVoice(voice);
			};
		}
	}

	/** The far end's voice, once its track arrived; null on a tree link or before. */
	get remoteVoice(): RemoteVoice | null {
		return this.#remoteVoice;
	}

	/** What we send as our voice on a stage link (null: nothing, as when the microphone is closed). No renegotiation. */
	sendVoice(track: MediaStreamTrack | null): void {
		if (!this.#closed) this.#pipe.sendVoice(track);
	}

	get open(): boolean {
		return !this.#closed && this.#pipe.open;
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
		if (!this.open || this.#pipe.backlog > MAX_SEND_BACKLOG_BYTES) {
			this.dropped++;
			return false;
		}
		if (linkLab.loss > 0 && Math.random() < linkLab.loss) return true; // lost on the way (diagnostics only)
		try {
			this.#pipe.send(bytes);
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
			this.#pipe.close();
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

/** The signaling stream as the pipe sees it: sealed messages either way. */
const portOf = (s: Signaling): SignalPort => ({ send: (message) => send(s, message), receive: () => receive(s), signal: s.signal });

/** Asks `peerId` (over `stream`) to link up as `as`; resolves once audio can flow. */
export async function dialLink(
	stream: Stream,
	peerId: string,
	as: AttachAs,
	ctx: { roomId: string; cipher: RoomCipher; iceServers: RTCIceServer[]; transport: LinkTransport; lost?: string; displace?: string }
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
		const pending = ctx.transport.create({ voice: as === 'speaker', iceServers: ctx.iceServers });
		link = new MediaLink(peerId, as === 'speaker' ? 'speaker' : 'parent', pending.pipe);
		await pending.offer(portOf(s));
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
	ctx: { lookupCipher: (roomId: string) => RoomCipher | null; iceServers: (roomId: string) => RTCIceServer[]; transport: LinkTransport },
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
		const pending = ctx.transport.create({ voice: verdict.role === 'speaker', iceServers: ctx.iceServers(roomId) });
		link = new MediaLink(peerId, verdict.role, pending.pipe);
		await pending.answer(portOf(s));
		void stream.close().catch(() => {});
		return { link, roomId };
	} catch (err) {
		link?.close();
		stream.abort(err instanceof Error ? err : new Error(String(err)));
		return null;
	}
}

async function send(s: Signaling, message: SignalMessage): Promise<void> {
	await s.lp.write(await s.cipher.seal('media', encodeSignal(message)), { signal: s.signal });
}

async function receive(s: Signaling): Promise<SignalMessage> {
	return decodeSignal(await s.cipher.open('media', (await s.lp.read({ signal: s.signal })).subarray()));
}
