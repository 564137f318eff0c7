/**
 * The listener's side: for every speaker, an adaptive jitter buffer and an
 * Opus decoder; all speakers mixed in an AudioWorklet. Playout is clocked by
 * the AudioContext (the device's own audio clock), so the buffers, not the
 * main thread's timers, absorb network jitter and sender clock drift.
 *
 * Loss concealment: WebCodecs has no Opus PLC call, so a lost frame replays
 * the last decoded one fading to silence (no click), and further losses are
 * silence until audio returns.
 */
import { LevelMeter, QUIET_LEVEL } from './level-meter';
import { FRAME_MS, JitterBuffer, type PushOutcome } from './jitter-buffer';
import { DECODER_CONFIG, FRAME_SAMPLES, SAMPLE_RATE } from './opus-config';
import type { AudioPacket } from './packet-codec';
import mixerWorkletUrl from './worklets/mixer.worklet.js?url';

// The main thread takes a frame from the jitter buffer up to this long before its slot (one tick's
// worth), and the mixer plays it PLAY_OFFSET_MS after the slot: 10–20 ms to decode it and hand it over,
// so that it is there when due (mixer.worklet.js plays each frame at its time, never later).
const SCHEDULE_LEAD_MS = 10;
const PLAY_OFFSET_MS = 10;
// Decodes in flight whose play time is remembered: far more than the decoder ever holds.
const MAX_PENDING_DECODES = 32;
// Checked every 10 ms, half a frame: the schedule lead absorbs the rest, and
// a tab that wakes 200 times a second costs a phone (and a test machine) dearly.
const TICK_MS = 10;
// Level meters update the UI at most ~10 times a second.
const LEVEL_REPORT_MS = 100;

/** A frame as heard: `playAtMs` is when its first sample reaches the ears, on performance.now()'s clock. */
export type FrameTap = (speaker: string, samples: Float32Array, playAtMs: number) => void;

/** How long after the context renders a sample it is heard, as the context reports it (ms; 0 without a sound card). */
export function outputLatencyMs(context: AudioContext): number {
	return (context.baseLatency + (context.outputLatency || 0)) * 1000;
}

class SpeakerStream {
	readonly buffer = new JitterBuffer<AudioPacket>();
	decoder: AudioDecoder;
	last: Float32Array | null = null;
	concealed = 0;
	/** Decoded frames whose slot was not known (played as soon as they can be): should stay 0. */
	unplaced = 0;
	/** Decoders that failed and were replaced (a frame it could not decode). */
	restarts = 0;
	readonly level = new LevelMeter();
	/** The slot (AudioContext ms) of each frame being decoded, in order: the decoder gives one frame per chunk, in order. */
	#slots: number[] = [];
	#closed = false;

	readonly #onDecoded: (samples: Float32Array, slotMs: number | undefined) => void;

	constructor(onDecoded: (samples: Float32Array, slotMs: number | undefined) => void) {
		this.#onDecoded = onDecoded;
		this.decoder = this.#open();
	}

	/**
	 * A decoder for this speaker. One that fails (a frame it cannot decode) is closed for good by
	 * WebCodecs ("Close AudioDecoder" with an EncodingError: configure() then throws), so a fresh one
	 * takes its place; the frames the failed one held are never output.
	 */
	#open(): AudioDecoder {
		const decoder: AudioDecoder = new AudioDecoder({
			output: (data) => {
				const samples = new Float32Array(data.numberOfFrames);
				data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
				const slotMs = this.#slots.shift();
				data.close();
				this.#onDecoded(samples, slotMs);
			},
			error: () => {
				if (this.#closed || decoder !== this.decoder) return;
				this.#slots = [];
				this.restarts++;
				this.decoder = this.#open();
			}
		});
		decoder.configure(DECODER_CONFIG);
		return decoder;
	}

	decode(chunk: EncodedAudioChunk, slotMs: number): void {
		this.decoder.decode(chunk);
		this.#slots.push(slotMs);
		if (this.#slots.length > MAX_PENDING_DECODES) this.#slots.shift();
	}

	close(): void {
		this.#closed = true;
		if (this.decoder.state !== 'closed') this.decoder.close();
	}
}

export class AudioOutput {
	readonly context: AudioContext;
	readonly #mixer: AudioWorkletNode;
	readonly #speakers = new Map<string, SpeakerStream>();
	readonly #taps = new Set<FrameTap>();
	#nextFrameAt = 0; // AudioContext time (ms) of the next frame boundary
	#analyser: AnalyserNode | null = null;
	#timer: ReturnType<typeof setInterval>;
	#levelsTimer: ReturnType<typeof setInterval>;
	onLevels: (levels: Map<string, number>) => void = () => {};

	private constructor(context: AudioContext, mixer: AudioWorkletNode) {
		this.context = context;
		this.#mixer = mixer;
		this.#timer = setInterval(() => this.#tick(), TICK_MS);
		this.#levelsTimer = setInterval(() => this.#reportLevels(), LEVEL_REPORT_MS);
	}

	static async create(): Promise<AudioOutput> {
		const context = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: 'interactive' });
		await context.audioWorklet.addModule(mixerWorkletUrl);
		const mixer = new AudioWorkletNode(context, 'stanza-mixer', { numberOfInputs: 0, outputChannelCount: [1] });
		mixer.connect(context.destination);
		return new AudioOutput(context, mixer);
	}

	/** Browsers start audio suspended until a user gesture: call from a click. */
	async resume(): Promise<void> {
		if (this.context.state === 'suspended') await this.context.resume();
	}

	/** A packet from `speaker`, already authorized by the caller; what its jitter buffer did with it. */
	push(speaker: string, packet: AudioPacket): PushOutcome {
		let stream = this.#speakers.get(speaker);
		if (!stream) {
			const created = new SpeakerStream((samples, slotMs) => {
				if (slotMs === undefined) created.unplaced++;
				this.#play(speaker, created, samples, slotMs ?? this.#nowMs());
			});
			stream = created;
			this.#speakers.set(speaker, stream);
		}
		return stream.buffer.push(packet, this.#nowMs());
	}

	/** Stops playing a speaker (left the stage, muted by a moderator). */
	drop(speaker: string): void {
		const stream = this.#speakers.get(speaker);
		if (!stream) return;
		this.#speakers.delete(speaker);
		stream.close();
		this.#mixer.port.postMessage({ speaker, end: true });
	}

	/** Every decoded frame, for diagnostics and tests (tone detection). */
	tap(listener: FrameTap): () => void {
		this.#taps.add(listener);
		return () => this.#taps.delete(listener);
	}

	/** The last ~43 ms the mixer sent to the speakers (diagnostics and tests): an analyser made on first use. */
	outputSamples(): Float32Array {
		if (!this.#analyser) {
			this.#analyser = new AnalyserNode(this.context, { fftSize: 2048 });
			this.#mixer.connect(this.#analyser);
		}
		const samples = new Float32Array(this.#analyser.fftSize);
		this.#analyser.getFloatTimeDomainData(samples);
		return samples;
	}

	stats(): Record<string, ReturnType<JitterBuffer['stats']> & { concealed: number; unplaced: number; decoderRestarts: number }> {
		return Object.fromEntries([...this.#speakers].map(([id, s]) => [id, { ...s.buffer.stats(), concealed: s.concealed, unplaced: s.unplaced, decoderRestarts: s.restarts }]));
	}

	async close(): Promise<void> {
		clearInterval(this.#timer);
		clearInterval(this.#levelsTimer);
		for (const speaker of [...this.#speakers.keys()]) this.drop(speaker);
		await this.context.close().catch(() => {});
	}

	#nowMs(): number {
		return this.context.currentTime * 1000;
	}

	#tick(): void {
		const now = this.#nowMs();
		if (this.#nextFrameAt === 0 || now - this.#nextFrameAt > 10 * FRAME_MS) this.#nextFrameAt = now; // (re)start after a stall
		while (this.#nextFrameAt <= now + SCHEDULE_LEAD_MS) {
			for (const [speaker, stream] of this.#speakers) this.#playout(speaker, stream, this.#nextFrameAt);
			this.#nextFrameAt += FRAME_MS;
		}
	}

	#playout(speaker: string, stream: SpeakerStream, slotMs: number): void {
		const next = stream.buffer.pop(slotMs);
		if (next.kind === 'frame') {
			if (next.packet.payload.length === 0) return this.#play(speaker, stream, new Float32Array(FRAME_SAMPLES), slotMs);
			try {
				stream.decode(new EncodedAudioChunk({ type: 'key', timestamp: Math.round((next.packet.captureTs * 1_000_000) / SAMPLE_RATE), data: next.packet.payload }), slotMs);
			} catch {
				this.#conceal(speaker, stream, slotMs);
			}
		} else if (next.kind === 'conceal') {
			this.#conceal(speaker, stream, slotMs);
		}
	}

	#conceal(speaker: string, stream: SpeakerStream, slotMs: number): void {
		stream.concealed++;
		const last = stream.last;
		const samples = new Float32Array(FRAME_SAMPLES);
		if (last) {
			// Replay the last frame fading to silence: no discontinuity, no click.
			for (let i = 0; i < samples.length; i++) samples[i] = last[i % last.length] * (1 - i / samples.length);
			stream.last = null;
		}
		this.#post(speaker, samples, slotMs);
	}

	#play(speaker: string, stream: SpeakerStream, samples: Float32Array, slotMs: number): void {
		stream.last = samples;
		stream.buffer.noteQuiet(stream.level.add(samples) < QUIET_LEVEL);
		if (this.#taps.size > 0) {
			const playAtMs = this.#heardAt(slotMs + PLAY_OFFSET_MS);
			for (const tap of this.#taps) tap(speaker, samples, playAtMs);
		}
		this.#post(speaker, samples, slotMs);
	}

	/** The mixer plays the frame of `slotMs` at its sample frame PLAY_OFFSET_MS later (mixer.worklet.js). */
	#post(speaker: string, samples: Float32Array, slotMs: number): void {
		const copy = samples.slice(); // `samples` stays ours (concealment replays it); the copy moves
		const at = Math.round(((slotMs + PLAY_OFFSET_MS) * SAMPLE_RATE) / 1000);
		this.#mixer.port.postMessage({ speaker, samples: copy, at }, [copy.buffer]);
	}

	/** When what the context renders at `contextMs` comes out of the speakers, on performance.now()'s clock. */
	#heardAt(contextMs: number): number {
		const { contextTime, performanceTime } = this.context.getOutputTimestamp();
		if (contextTime !== undefined && performanceTime) return performanceTime + (contextMs - contextTime * 1000);
		// No timestamp from the device yet: the reported latency after the render clock.
		return performance.now() + (contextMs - this.#nowMs()) + outputLatencyMs(this.context);
	}

	#reportLevels(): void {
		const levels = new Map<string, number>();
		for (const [speaker, stream] of this.#speakers) levels.set(speaker, stream.level.take());
		this.onLevels(levels);
	}
}
