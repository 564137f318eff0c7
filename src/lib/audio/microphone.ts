/**
 * The speaker's side: microphone → Opus, once. Frames come out as encoded
 * payloads with their capture time in 48 kHz samples; what happens to them
 * (packets, links) is the caller's business.
 */
import { LevelMeter } from './level-meter';
import { chosenDeviceMissing, microphoneConstraints } from './microphone-choice';
import { ENCODER_CONFIG, SAMPLE_RATE } from './opus-config';
import captureWorkletUrl from './worklets/capture.worklet.js?url';

/**
 * Why the microphone sends nothing, each with its own message for the person:
 * - denied: the browser or the person refused it;
 * - unavailable: there is no microphone;
 * - busy: there is one, but it could not be started (another app holds it, a driver failed);
 * - unsupported: this browser cannot encode Opus;
 * - capture: it opened, but no sound comes out of it (an audio context that would not start, a track that ended);
 * - encoder: the Opus encoder failed.
 */
export type MicFailure = 'denied' | 'unavailable' | 'busy' | 'unsupported' | 'capture' | 'encoder';

export class MicrophoneError extends Error {
	override name = 'MicrophoneError';
	constructor(
		readonly reason: MicFailure,
		message: string
	) {
		super(message);
	}
}

/** What a getUserMedia refusal means for the person (DOMException names from the Media Capture spec). */
export function getUserMediaFailure(err: unknown): MicFailure {
	const name = (err as DOMException | undefined)?.name;
	if (name === 'NotAllowedError' || name === 'SecurityError') return 'denied';
	if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'unavailable';
	if (name === 'NotReadableError' || name === 'AbortError') return 'busy';
	return 'capture';
}

// A capture context that has not started within 2 s will not start on its own.
const CONTEXT_START_MS = 2_000;

export interface EncodedFrame {
	payload: Uint8Array;
	/** Capture time in 48 kHz samples (wraps at 2^32 where packed). */
	captureTs: number;
}

/** Diagnostics and benchmarks: every captured frame with the wall-clock time it was read (ms). */
export type CaptureTap = (samples: Float32Array, wallMs: number) => void;
export const captureTaps = new Set<CaptureTap>();

export class Microphone {
	readonly #stream: MediaStream;
	readonly #encoder: AudioEncoder;
	readonly #onFailure: (reason: MicFailure) => void;
	#muted = false;
	#stopCapture: () => void = () => {};
	#closed = false;
	/** Frames the encoder has produced (muted or not): the proof that the microphone works. */
	framesEncoded = 0;
	/** performance.now() of the last encoded frame. */
	lastEncodedAt = -Infinity;
	/** How loud the microphone is (measured before self-mute: the meter shows you are heard, or would be). */
	readonly level = new LevelMeter();

	private constructor(stream: MediaStream, onFrame: (frame: EncodedFrame) => void, onFailure: (reason: MicFailure) => void) {
		this.#stream = stream;
		this.#onFailure = onFailure;
		this.#encoder = new AudioEncoder({
			output: (chunk) => {
				this.framesEncoded++;
				this.lastEncodedAt = performance.now();
				if (this.#muted) return;
				const payload = new Uint8Array(chunk.byteLength);
				chunk.copyTo(payload);
				onFrame({ payload, captureTs: Math.round((chunk.timestamp * SAMPLE_RATE) / 1_000_000) });
			},
			error: () => this.#fail('encoder')
		});
	}

	/**
	 * Opens the microphone (the chosen one, else the system's; echo cancellation,
	 * noise suppression, auto gain) and starts encoding. Throws MicrophoneError with the reason; a failure later on
	 * (encoder error, the track ending) closes the microphone and calls `onFailure`.
	 */
	static async open(
		onFrame: (frame: EncodedFrame) => void,
		onFailure: (reason: MicFailure) => void = () => {},
		deviceId: string | null = null
	): Promise<Microphone> {
		if (typeof AudioEncoder === 'undefined' || !navigator.mediaDevices?.getUserMedia) {
			throw new MicrophoneError('unsupported', 'this browser cannot encode audio (no WebCodecs)');
		}
		let stream: MediaStream;
		try {
			stream = await navigator.mediaDevices.getUserMedia({ audio: microphoneConstraints(deviceId) }).catch((err: unknown) => {
				// The chosen microphone is not plugged in: the system's, rather than no voice.
				if (deviceId && chosenDeviceMissing(err)) return navigator.mediaDevices.getUserMedia({ audio: microphoneConstraints(null) });
				throw err;
			});
		} catch (err) {
			throw new MicrophoneError(getUserMediaFailure(err), `the microphone did not open: ${(err as Error)?.message ?? String(err)}`);
		}
		let mic: Microphone | null = null;
		try {
			const opened = new Microphone(stream, onFrame, onFailure);
			mic = opened;
			const track = stream.getAudioTracks()[0];
			if (!track) throw new MicrophoneError('unavailable', 'the browser gave no audio track');
			track.addEventListener('ended', () => opened.#fail('capture'));
			const sampleRate = track.getSettings().sampleRate ?? SAMPLE_RATE;
			try {
				mic.#encoder.configure({ ...ENCODER_CONFIG, sampleRate });
			} catch (err) {
				throw new MicrophoneError('encoder', `the Opus encoder refused its settings: ${(err as Error)?.message ?? String(err)}`);
			}
			if (typeof MediaStreamTrackProcessor !== 'undefined') mic.#captureWithProcessor(track);
			else await mic.#captureWithWorklet(stream, sampleRate);
			return mic;
		} catch (err) {
			if (mic) mic.close();
			else for (const t of stream.getTracks()) t.stop();
			throw err instanceof MicrophoneError ? err : new MicrophoneError('capture', `capture did not start: ${(err as Error)?.message ?? String(err)}`);
		}
	}

	/** The microphone's own track (for the stage's native audio, stage-audio.ts); null once closed. */
	get track(): MediaStreamTrack | null {
		return this.#closed ? null : (this.#stream.getAudioTracks()[0] ?? null);
	}

	/** Self-mute: frames are dropped before they leave this device. */
	setMuted(muted: boolean): void {
		this.#muted = muted;
	}

	#fail(reason: MicFailure): void {
		if (this.#closed) return;
		this.close();
		this.#onFailure(reason);
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#stopCapture();
		for (const track of this.#stream.getTracks()) track.stop();
		if (this.#encoder.state !== 'closed') this.#encoder.close();
	}

	#encode(data: AudioData): void {
		if (this.#closed || this.#encoder.state !== 'configured') {
			data.close();
			return;
		}
		const samples = new Float32Array(data.numberOfFrames);
		data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
		this.level.add(samples);
		if (captureTaps.size > 0) {
			const wallMs = performance.timeOrigin + performance.now();
			for (const tap of captureTaps) tap(samples, wallMs);
		}
		this.#encoder.encode(data);
		data.close();
	}

	/** Chrome: AudioData straight from the track. */
	#captureWithProcessor(track: MediaStreamTrack): void {
		const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
		this.#stopCapture = () => void reader.cancel().catch(() => {});
		void (async () => {
			for (;;) {
				const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
				if (done || !value) {
					this.#fail('capture'); // nothing once closed; otherwise the track stopped giving sound
					return;
				}
				this.#encode(value);
			}
		})();
	}

	/** Elsewhere: an AudioWorklet collects 20 ms frames; we wrap them as AudioData. */
	async #captureWithWorklet(stream: MediaStream, sampleRate: number): Promise<void> {
		const context = new AudioContext({ sampleRate });
		this.#stopCapture = () => void context.close();
		// A context made outside a click may start suspended (Firefox without sound playing): start it,
		// and give up with a reason if it will not, instead of showing a live microphone that sends nothing.
		if (context.state !== 'running') {
			await Promise.race([context.resume(), new Promise((resolve) => setTimeout(resolve, CONTEXT_START_MS))]);
			if ((context.state as AudioContextState) !== 'running') throw new MicrophoneError('capture', `the capture audio context stayed ${context.state}`);
		}
		await context.audioWorklet.addModule(captureWorkletUrl);
		const source = context.createMediaStreamSource(stream);
		const node = new AudioWorkletNode(context, 'stanza-capture');
		let timestampUs = 0;
		node.port.onmessage = (event: MessageEvent<{ samples: Float32Array }>) => {
			const { samples } = event.data;
			this.#encode(
				new AudioData({ format: 'f32-planar', sampleRate, numberOfFrames: samples.length, numberOfChannels: 1, timestamp: timestampUs, data: samples as Float32Array<ArrayBuffer> })
			);
			timestampUs += (samples.length * 1_000_000) / sampleRate;
		};
		source.connect(node);
		this.#stopCapture = () => {
			source.disconnect();
			void context.close();
		};
	}
}
