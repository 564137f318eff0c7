/**
 * The speaker's side: microphone → Opus, once. Frames come out as encoded
 * payloads with their capture time in 48 kHz samples; what happens to them
 * (packets, links) is the caller's business.
 */
import { ENCODER_CONFIG, SAMPLE_RATE } from './opus-config';
import captureWorkletUrl from './worklets/capture.worklet.js?url';

export class MicrophoneError extends Error {
	override name = 'MicrophoneError';
	constructor(readonly reason: 'denied' | 'unavailable' | 'unsupported', message: string) {
		super(message);
	}
}

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
	#muted = false;
	#stopCapture: () => void = () => {};
	#closed = false;

	private constructor(stream: MediaStream, onFrame: (frame: EncodedFrame) => void) {
		this.#stream = stream;
		this.#encoder = new AudioEncoder({
			output: (chunk) => {
				if (this.#muted) return;
				const payload = new Uint8Array(chunk.byteLength);
				chunk.copyTo(payload);
				onFrame({ payload, captureTs: Math.round((chunk.timestamp * SAMPLE_RATE) / 1_000_000) });
			},
			error: () => this.close()
		});
	}

	/** Opens the microphone (echo cancellation, noise suppression, auto gain) and starts encoding. */
	static async open(onFrame: (frame: EncodedFrame) => void): Promise<Microphone> {
		if (typeof AudioEncoder === 'undefined' || !navigator.mediaDevices?.getUserMedia) {
			throw new MicrophoneError('unsupported', 'this browser cannot encode audio (no WebCodecs)');
		}
		let stream: MediaStream;
		try {
			stream = await navigator.mediaDevices.getUserMedia({
				audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 }
			});
		} catch (err) {
			const name = (err as DOMException)?.name;
			if (name === 'NotAllowedError' || name === 'SecurityError') throw new MicrophoneError('denied', 'microphone permission denied');
			throw new MicrophoneError('unavailable', `no microphone: ${(err as Error)?.message ?? name}`);
		}
		const mic = new Microphone(stream, onFrame);
		const track = stream.getAudioTracks()[0];
		const sampleRate = track.getSettings().sampleRate ?? SAMPLE_RATE;
		mic.#encoder.configure({ ...ENCODER_CONFIG, sampleRate });
		if (typeof MediaStreamTrackProcessor !== 'undefined') mic.#captureWithProcessor(track);
		else await mic.#captureWithWorklet(stream, sampleRate);
		return mic;
	}

	/** Self-mute: frames are dropped before they leave this device. */
	setMuted(muted: boolean): void {
		this.#muted = muted;
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
		if (captureTaps.size > 0) {
			const samples = new Float32Array(data.numberOfFrames);
			data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
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
				if (done || !value) return;
				this.#encode(value);
			}
		})();
	}

	/** Elsewhere: an AudioWorklet collects 20 ms frames; we wrap them as AudioData. */
	async #captureWithWorklet(stream: MediaStream, sampleRate: number): Promise<void> {
		const context = new AudioContext({ sampleRate });
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
