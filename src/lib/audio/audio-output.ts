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
import { LevelMeter } from './level-meter';
import { FRAME_MS, JitterBuffer } from './jitter-buffer';
import { DECODER_CONFIG, FRAME_SAMPLES, SAMPLE_RATE } from './opus-config';
import type { AudioPacket } from './packet-codec';
import mixerWorkletUrl from './worklets/mixer.worklet.js?url';

// The main thread schedules a frame this far ahead of its play time, so the
// worklet always has it before it is due: one tick's worth.
const SCHEDULE_LEAD_MS = 10;
// Checked every 10 ms, half a frame: the schedule lead absorbs the rest, and
// a tab that wakes 200 times a second costs a phone (and a test machine) dearly.
const TICK_MS = 10;
// Level meters update the UI at most ~10 times a second.
const LEVEL_REPORT_MS = 100;

export type FrameTap = (speaker: string, samples: Float32Array) => void;

class SpeakerStream {
	readonly buffer = new JitterBuffer<AudioPacket>();
	readonly decoder: AudioDecoder;
	last: Float32Array | null = null;
	concealed = 0;
	readonly level = new LevelMeter();

	constructor(onDecoded: (samples: Float32Array) => void) {
		this.decoder = new AudioDecoder({
			output: (data) => {
				const samples = new Float32Array(data.numberOfFrames);
				data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
				data.close();
				onDecoded(samples);
			},
			error: () => {
				// A corrupt frame can break the decoder: start it afresh.
				try {
					this.decoder.configure(DECODER_CONFIG);
				} catch {
					/* closed */
				}
			}
		});
		this.decoder.configure(DECODER_CONFIG);
	}
}

export class AudioOutput {
	readonly context: AudioContext;
	readonly #mixer: AudioWorkletNode;
	readonly #speakers = new Map<string, SpeakerStream>();
	readonly #taps = new Set<FrameTap>();
	#nextFrameAt = 0; // AudioContext time (ms) of the next frame boundary
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

	/** A packet from `speaker`, already authorized by the caller. */
	push(speaker: string, packet: AudioPacket): void {
		let stream = this.#speakers.get(speaker);
		if (!stream) {
			const created = new SpeakerStream((samples) => this.#play(speaker, created, samples));
			stream = created;
			this.#speakers.set(speaker, stream);
		}
		stream.buffer.push(packet, this.#nowMs());
	}

	/** Stops playing a speaker (left the stage, muted by a moderator). */
	drop(speaker: string): void {
		const stream = this.#speakers.get(speaker);
		if (!stream) return;
		this.#speakers.delete(speaker);
		if (stream.decoder.state !== 'closed') stream.decoder.close();
		this.#mixer.port.postMessage({ speaker, end: true });
	}

	/** Every decoded frame, for diagnostics and tests (tone detection). */
	tap(listener: FrameTap): () => void {
		this.#taps.add(listener);
		return () => this.#taps.delete(listener);
	}

	stats(): Record<string, ReturnType<JitterBuffer['stats']> & { concealed: number }> {
		return Object.fromEntries([...this.#speakers].map(([id, s]) => [id, { ...s.buffer.stats(), concealed: s.concealed }]));
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

	#playout(speaker: string, stream: SpeakerStream, atMs: number): void {
		const next = stream.buffer.pop(atMs);
		if (next.kind === 'frame') {
			if (next.packet.payload.length === 0) return this.#play(speaker, stream, new Float32Array(FRAME_SAMPLES));
			try {
				stream.decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: (next.packet.captureTs * 1_000_000) / SAMPLE_RATE, data: next.packet.payload }));
			} catch {
				this.#conceal(speaker, stream);
			}
		} else if (next.kind === 'conceal') {
			this.#conceal(speaker, stream);
		}
	}

	#conceal(speaker: string, stream: SpeakerStream): void {
		stream.concealed++;
		const last = stream.last;
		const samples = new Float32Array(FRAME_SAMPLES);
		if (last) {
			// Replay the last frame fading to silence: no discontinuity, no click.
			for (let i = 0; i < samples.length; i++) samples[i] = last[i % last.length] * (1 - i / samples.length);
			stream.last = null;
		}
		this.#post(speaker, samples);
	}

	#play(speaker: string, stream: SpeakerStream, samples: Float32Array): void {
		stream.last = samples;
		stream.level.add(samples);
		for (const tap of this.#taps) tap(speaker, samples);
		this.#post(speaker, samples);
	}

	#post(speaker: string, samples: Float32Array): void {
		const copy = samples.slice(); // `samples` stays ours (concealment replays it); the copy moves
		this.#mixer.port.postMessage({ speaker, samples: copy }, [copy.buffer]);
	}

	#reportLevels(): void {
		const levels = new Map<string, number>();
		for (const [speaker, stream] of this.#speakers) levels.set(speaker, stream.level.take());
		this.onLevels(levels);
	}
}
