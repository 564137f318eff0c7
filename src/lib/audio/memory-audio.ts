/**
 * In-memory adapters of the device ports (audio-ports.ts), for unit tests
 * that run the AudioRoom that ships without a browser, on whatever clock
 * setTimeout answers to:
 *
 * - `frameSource`: a microphone that encodes a 20 ms frame every 20 ms, its
 *   payload numbering the frame, so a listener can tell the speaker's own
 *   frames from anything else; or drops the frames `drops` says (a loaded
 *   device's capture, which loses frames its reader came too late for);
 * - `PlayoutSink`: what a listener would play: a real jitter buffer per
 *   speaker (jitter-buffer.ts), popped every 20 ms, counting frames played
 *   and concealed, so "hears the speaker" means frames came out in time;
 * - `SilentStage`: a stage with no native voices (memory pipes carry none).
 */
import type { StagePlayer, VoiceSink, VoiceSource, OpenVoiceSource } from './audio-ports';
import { FRAME_MS, JitterBuffer, type PushOutcome } from './jitter-buffer';
import { FRAME_SAMPLES } from './opus-config';
import type { AudioPacket } from './packet-codec';

// An Opus frame at 32 kb/s is about 80 bytes: a packet the size the app sends.
const PAYLOAD_BYTES = 80;

/** A microphone that encodes a numbered frame every 20 ms from the moment it opens, less those `drops` says it lost. */
export function frameSource(drops: (frame: number) => boolean = () => false): OpenVoiceSource {
	return async (onFrame) => {
		let muted = false;
		let frame = 0;
		const source: VoiceSource & { framesEncoded: number; lastEncodedAt: number } = {
			track: null,
			level: { take: () => (muted ? 0 : 0.1) },
			framesEncoded: 0,
			lastEncodedAt: -Infinity,
			setMuted: (m) => (muted = m),
			close: () => clearInterval(timer)
		};
		const timer = setInterval(() => {
			frame++;
			if (drops(frame)) return;
			source.framesEncoded++;
			source.lastEncodedAt = performance.now();
			if (muted) return;
			const payload = new Uint8Array(PAYLOAD_BYTES);
			new DataView(payload.buffer).setUint32(0, frame);
			onFrame({ payload, captureTs: (frame * FRAME_SAMPLES) >>> 0 });
		}, FRAME_MS);
		return source;
	};
}

export interface PlayoutCounts {
	played: number;
	concealed: number;
	/** performance.now() of the last frame played (-Infinity: none yet). */
	lastPlayedAt: number;
}

/** Plays nothing, counts what would have been played: a jitter buffer per speaker, popped every frame. */
export class PlayoutSink implements VoiceSink {
	onLevels: (levels: Map<string, number>) => void = () => {};
	readonly #buffers = new Map<string, { buffer: JitterBuffer<AudioPacket>; counts: PlayoutCounts }>();
	readonly #timer: ReturnType<typeof setInterval>;

	constructor() {
		this.#timer = setInterval(() => this.#pop(), FRAME_MS);
	}

	push(speaker: string, packet: AudioPacket): PushOutcome {
		let entry = this.#buffers.get(speaker);
		if (!entry) {
			entry = { buffer: new JitterBuffer<AudioPacket>(), counts: { played: 0, concealed: 0, lastPlayedAt: -Infinity } };
			this.#buffers.set(speaker, entry);
		}
		return entry.buffer.push(packet, performance.now());
	}

	drop(speaker: string): void {
		this.#buffers.delete(speaker);
	}

	async close(): Promise<void> {
		clearInterval(this.#timer);
		this.#buffers.clear();
	}

	/** What has been played of `speaker` so far (zeros: nothing yet). */
	counts(speaker: string): PlayoutCounts {
		return { ...(this.#buffers.get(speaker)?.counts ?? { played: 0, concealed: 0, lastPlayedAt: -Infinity }) };
	}

	#pop(): void {
		const now = performance.now();
		for (const { buffer, counts } of this.#buffers.values()) {
			const out = buffer.pop(now);
			if (out.kind === 'frame') {
				counts.played++;
				counts.lastPlayedAt = now;
			} else if (out.kind === 'conceal' && out.reason === 'loss') counts.concealed++;
		}
	}
}

/** A stage with no native voices: in memory, speakers hear each other through the tree's packets. */
export class SilentStage implements StagePlayer {
	play(): void {}
	has(): boolean {
		return false;
	}
	setHeard(): void {}
	stop(): void {}
	levels(): Map<string, number> {
		return new Map();
	}
	close(): void {}
}
