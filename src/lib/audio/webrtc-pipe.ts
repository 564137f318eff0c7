/**
 * The media-link port's real adapter (link-pipe.ts): an RTCPeerConnection of
 * its own (never libp2p's, which libp2p may prune at any time) carrying a
 * single unordered, no-retransmit data channel. A link between two speakers
 * also carries each one's voice as a native WebRTC audio track (one sendrecv
 * transceiver, negotiated with the data channel in the same offer): that is
 * what a speaker hears the stage through (stage-audio.ts).
 *
 * Offer, answer and ICE candidates travel over the signaling port
 * (media-signal-protocol.ts); the pipe is open when the data channel is. The
 * far end is a member that may run code of its own: a description with other
 * media sections than the link's (stage-sdp.ts, linkSdpProblem) or more than
 * MAX_REMOTE_CANDIDATES candidates fails the setup, which closes the pipe, and
 * a data channel it announces (ours is negotiated: none ever is) is closed.
 */
import type { LinkPipe, LinkTransport, PendingPipe, RemoteVoice, SignalPort } from './link-pipe';
import { MAX_REMOTE_CANDIDATES, SignalError } from './media-signal-protocol';
import { askShortFrames, linkSdpProblem, sdpCandidateCount } from './stage-sdp';

class RtcPipe implements LinkPipe {
	onMessage: (bytes: Uint8Array) => void = () => {};
	onOpen: () => void = () => {};
	onClose: () => void = () => {};
	onVoice: (voice: RemoteVoice) => void = () => {};
	readonly pc: RTCPeerConnection;
	/** A stage link: one voice each way beside the data channel. */
	readonly stage: boolean;
	readonly #channel: RTCDataChannel;
	#voice: RTCRtpTransceiver | null = null;
	#closed = false;

	constructor(pc: RTCPeerConnection, voice: boolean) {
		this.pc = pc;
		this.stage = voice;
		// negotiated: both sides create the same channel, so no extra round trip for it.
		this.#channel = pc.createDataChannel('stanza-audio', { negotiated: true, id: 0, ordered: false, maxRetransmits: 0 });
		this.#channel.binaryType = 'arraybuffer';
		this.#channel.onmessage = (event) => {
			if (event.data instanceof ArrayBuffer) this.onMessage(new Uint8Array(event.data));
		};
		this.#channel.onopen = () => this.onOpen();
		this.#channel.onclose = () => this.close();
		// A negotiated channel is never announced, so any channel that is comes from the far end's own code.
		pc.ondatachannel = (event) => event.channel.close();
		pc.onconnectionstatechange = () => {
			if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.close();
		};
		if (voice) {
			pc.ontrack = (event) => {
				if (event.track.kind !== 'audio' || this.#closed) return;
				this.onVoice({ track: event.track, receiver: event.receiver });
			};
		}
	}

	/** The dialing speaker offers a voice both ways. */
	offerVoice(): void {
		this.#voice = this.pc.addTransceiver('audio', { direction: 'sendrecv' });
		withCaptureTimes(this.#voice);
	}

	/** The answering speaker takes the offered voice and sends its own back (call between the offer and the answer). */
	answerVoice(): void {
		this.#voice = this.pc.getTransceivers().find((t) => t.receiver.track.kind === 'audio') ?? null;
		if (this.#voice) {
			this.#voice.direction = 'sendrecv';
			withCaptureTimes(this.#voice);
		}
	}

	sendVoice(track: MediaStreamTrack | null): void {
		if (!this.#voice || this.#closed || this.#voice.sender.track === track) return;
		this.#voice.sender.replaceTrack(track).catch(() => {}); // a link closing meanwhile: nothing to send on
	}

	get open(): boolean {
		return !this.#closed && this.#channel.readyState === 'open';
	}

	get backlog(): number {
		return this.#channel.bufferedAmount;
	}

	send(bytes: Uint8Array): void {
		this.#channel.send(bytes as Uint8Array<ArrayBuffer>);
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

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		try {
			this.#channel.close();
			this.pc.close();
		} finally {
			this.onClose();
		}
	}
}

class PendingRtcPipe implements PendingPipe {
	readonly pipe: RtcPipe;

	constructor(options: { voice: boolean; iceServers: RTCIceServer[] }) {
		// max-bundle: one transport gathers candidates, not one per section (a stage link's offer has two), so
		// an honest end stays well under MAX_REMOTE_CANDIDATES. Every browser the app runs in bundles.
		this.pipe = new RtcPipe(new RTCPeerConnection({ iceServers: options.iceServers, bundlePolicy: 'max-bundle' }), options.voice);
	}

	offer(port: SignalPort): Promise<void> {
		return this.#settingUp(async () => {
			const pc = this.pipe.pc;
			if (this.pipe.stage) this.pipe.offerVoice();
			trickle(pc, port);
			await pc.setLocalDescription(await pc.createOffer());
			await port.send({ t: 'offer', sdp: pc.localDescription!.sdp });
			await negotiate(this.pipe, port, 'answer');
		});
	}

	answer(port: SignalPort): Promise<void> {
		return this.#settingUp(async () => {
			const pc = this.pipe.pc;
			trickle(pc, port);
			const offer = await port.receive();
			if (offer.t !== 'offer') throw new SignalError('expected an offer');
			const inOffer = checkDescription('offer', offer.sdp, this.pipe.stage, 0);
			await pc.setRemoteDescription({ type: 'offer', sdp: askShortFrames(offer.sdp) });
			if (this.pipe.stage) this.pipe.answerVoice();
			await pc.setLocalDescription(await pc.createAnswer());
			await port.send({ t: 'answer', sdp: pc.localDescription!.sdp });
			await negotiate(this.pipe, port, null, inOffer);
		});
	}

	/** A setup that fails closes the pipe (media-link.ts closes its link too: closing twice is safe). */
	async #settingUp(setup: () => Promise<void>): Promise<void> {
		try {
			await setup();
		} catch (err) {
			this.pipe.close();
			throw err;
		}
	}
}

/**
 * Refuses a description whose media sections are not the link's (stage-sdp.ts), or whose own
 * candidates take the far end past MAX_REMOTE_CANDIDATES, before the browser sets any of them up;
 * gives the candidates counted so far.
 */
function checkDescription(type: 'offer' | 'answer', sdp: string, voice: boolean, counted: number): number {
	const problem = linkSdpProblem(sdp, voice);
	if (problem) throw new SignalError(`the far end's ${type} ${problem}`);
	return countCandidates(counted, sdpCandidateCount(sdp));
}

function countCandidates(counted: number, more: number): number {
	if (counted + more > MAX_REMOTE_CANDIDATES) throw new SignalError(`the far end sent more than ${MAX_REMOTE_CANDIDATES} ICE candidates`);
	return counted + more;
}

/** The app's transport: every link a WebRTC connection of its own. */
export const webrtcTransport: LinkTransport = {
	create: (options) => new PendingRtcPipe(options)
};

/** Reads answer (if awaited) and candidates until the data channel opens. */
async function negotiate(pipe: RtcPipe, port: SignalPort, awaiting: 'answer' | null, counted = 0): Promise<void> {
	const pc = pipe.pc;
	const opened = pipe.opened(port.signal);
	let done = false;
	void opened.then(
		() => (done = true),
		() => (done = true)
	);
	const reading = (async () => {
		let needAnswer = awaiting === 'answer';
		let candidates = counted;
		while (!done) {
			let message;
			try {
				message = await port.receive();
			} catch (err) {
				if (done) return;
				throw err;
			}
			if (done || pipe.open) return; // open: what comes later is not setup (`done` follows the open event a few ticks late)
			if (message.t === 'answer' && needAnswer) {
				needAnswer = false;
				candidates = checkDescription('answer', message.sdp, pipe.stage, candidates);
				await pc.setRemoteDescription({ type: 'answer', sdp: askShortFrames(message.sdp) });
			} else if (message.t === 'ice') {
				if (!message.candidate) continue;
				candidates = countCandidates(candidates, 1);
				await pc.addIceCandidate(message.candidate).catch(() => {});
			} else {
				throw new SignalError(`unexpected ${message.t}`);
			}
		}
	})();
	await Promise.race([opened, reading.then(() => opened)]);
}

function trickle(pc: RTCPeerConnection, port: SignalPort): void {
	pc.onicecandidate = (event) => {
		void port.send({ t: 'ice', candidate: event.candidate ? event.candidate.toJSON() : null }).catch(() => {});
	};
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
