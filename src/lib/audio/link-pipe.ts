/**
 * The media-link port: what carries one audio link's messages once the two
 * ends agreed to link (media-link.ts does the asking, over the signaling
 * protocol). Two adapters:
 *
 * - webrtc-pipe.ts, what the app runs: an RTCPeerConnection of its own with
 *   one unordered, no-retransmit data channel, and between speakers a native
 *   voice track; offer, answer and ICE candidates go over the signaling stream.
 * - memory-links.ts, for unit tests: pipes in one process on the (virtual)
 *   clock, with latency, loss and crashes, so that a room of hundreds runs
 *   the AudioRoom that ships over the in-memory network.
 */
import type { SignalMessage } from './media-signal-protocol';

/** A fellow speaker's voice as WebRTC delivers it. */
export interface RemoteVoice {
	track: MediaStreamTrack;
	receiver: RTCRtpReceiver;
}

/** The signaling stream between the two ends, sealed and length-prefixed (media-link.ts). */
export interface SignalPort {
	send(message: SignalMessage): Promise<void>;
	receive(): Promise<SignalMessage>;
	readonly signal: AbortSignal;
}

/** One link's carrier: messages either way, each delivered at most once, in any order, or lost. */
export interface LinkPipe {
	/** Whether messages can be sent (set up, not closed). */
	readonly open: boolean;
	/** Bytes sent but not yet gone out: a pipe this far behind is congested. */
	readonly backlog: number;
	/** Sends one message; may throw when the pipe failed meanwhile. */
	send(bytes: Uint8Array): void;
	/** Closes both ends (the far end's onClose follows); safe twice. */
	close(): void;
	/** Resolves once messages can flow; rejects if the pipe closes first or `signal` aborts. */
	opened(signal: AbortSignal): Promise<void>;
	onMessage: (bytes: Uint8Array) => void;
	onOpen: () => void;
	/** The pipe closed, from either end or by failing. */
	onClose: () => void;
	/** A stage link: the far end's voice arrived as a native track. */
	onVoice: (voice: RemoteVoice) => void;
	/** A stage link: what we send as our voice (null: nothing). No renegotiation. */
	sendVoice(track: MediaStreamTrack | null): void;
}

/** A pipe made for one link request, connected by offer (the dialer) or answer (the one asked). */
export interface PendingPipe {
	readonly pipe: LinkPipe;
	/** The dialer's side, after the far end accepted: resolves once the pipe is open. */
	offer(port: SignalPort): Promise<void>;
	/** The far end's side, after accepting: resolves once the pipe is open. */
	answer(port: SignalPort): Promise<void>;
}

/** Makes pipes: one per node (audio-host.ts holds it for serving and dialing). */
export interface LinkTransport {
	/** A new pipe; `voice`: a stage link, which also carries each end's native voice. */
	create(options: { voice: boolean; iceServers: RTCIceServer[] }): PendingPipe;
}
