/**
 * What a speaker hears of the stage: every fellow speaker's voice as the
 * native WebRTC audio track their stage link carries (media-link.ts), played
 * by a media element of its own.
 *
 * Why not the Web Audio mixer every listener uses (audio-output.ts): Chromium
 * cancels echo only against audio it renders for WebRTC remote tracks, not
 * against Web Audio output, so a speaker on a loudspeaker would send the
 * others back into the room. A remote track played this way is the echo
 * canceller's reference, and comes with WebRTC's own jitter buffer (NetEq) and
 * loss concealment. The platform facts: docs/ARCHITECTURE.md, "Speakers hear each other natively".
 *
 * Who may be heard is the caller's business (the verified stage, moderator
 * mutes): a voice not heard is muted here, whatever its sender's code does.
 */
import { outputLatencyMs, type FrameTap } from './audio-output';
import { LevelMeter } from './level-meter';
import type { RemoteVoice } from './media-link';

// Diagnostics only (tests, bench): the tap reads each voice every 20 ms, one frame.
const TAP_EVERY_MS = 20;
const TAP_SAMPLES = 1024;

interface Voice extends RemoteVoice {
	element: HTMLAudioElement;
	heard: boolean;
	level: LevelMeter;
	/** Analysis for taps, made only while someone taps. */
	analyser?: { source: MediaStreamAudioSourceNode; node: AnalyserNode };
}

/** One speaker's voice as played, for diagnostics: it proves the path the echo canceller covers. */
export interface VoicePath {
	speaker: string;
	/** Played by a media element whose source is the remote track itself. */
	mediaElement: boolean;
	playing: boolean;
	heard: boolean;
	track: MediaStreamTrackState;
}

export interface VoiceDelay {
	speaker: string;
	captureToTrackMs: number | null;
	playoutMs: number | null;
}

// NTP time (abs-capture-time's clock) counts from 1900, the page's wall clock from 1970.
const NTP_TO_UNIX_MS = 2_208_988_800_000;

export class StageAudio {
	readonly #context: AudioContext;
	readonly #voices = new Map<string, Voice>();
	readonly #taps = new Set<FrameTap>();
	#tapTimer: ReturnType<typeof setInterval> | undefined;

	/** `context` is only used to analyse voices for taps. */
	constructor(context: AudioContext) {
		this.#context = context;
	}

	/** Plays `speaker`'s voice from now on (replacing one before it), heard or not as said. */
	play(speaker: string, voice: RemoteVoice, heard: boolean): void {
		if (this.#voices.get(speaker)?.track === voice.track) return this.setHeard(speaker, heard);
		this.stop(speaker);
		const element = new Audio();
		element.autoplay = true;
		element.srcObject = new MediaStream([voice.track]);
		element.muted = !heard;
		const entry: Voice = { ...voice, element, heard, level: new LevelMeter() };
		this.#voices.set(speaker, entry);
		voice.track.addEventListener('ended', () => this.#voices.get(speaker) === entry && this.stop(speaker), { once: true });
		this.#start(entry);
		if (this.#taps.size > 0) this.#analyse(entry);
	}

	/** Whether `speaker`'s voice comes through a stage link (then it is not played anywhere else). */
	has(speaker: string): boolean {
		return this.#voices.has(speaker);
	}

	setHeard(speaker: string, heard: boolean): void {
		const voice = this.#voices.get(speaker);
		if (!voice || voice.heard === heard) return;
		voice.heard = heard;
		voice.element.muted = !heard;
	}

	stop(speaker: string): void {
		const voice = this.#voices.get(speaker);
		if (!voice) return;
		this.#voices.delete(speaker);
		voice.element.pause();
		voice.element.srcObject = null;
		voice.analyser?.source.disconnect();
		if (this.#voices.size === 0) this.#stopTapping();
	}

	/**
	 * Each heard voice's level, on the scale and with the hold of every other level in the room
	 * (level-meter.ts), from the RTP audio level WebRTC reads anyway: no decoding here. Call at the
	 * UI's report rate.
	 */
	levels(): Map<string, number> {
		const levels = new Map<string, number>();
		for (const [speaker, voice] of this.#voices) {
			if (!voice.heard) continue;
			const [source] = voice.receiver.getSynchronizationSources();
			if (source?.audioLevel !== undefined) voice.level.addLevel(source.audioLevel);
			levels.set(speaker, voice.level.take());
		}
		return levels;
	}

	/** For diagnostics and tests: how each voice is rendered. */
	paths(): VoicePath[] {
		return [...this.#voices].map(([speaker, v]) => ({
			speaker,
			mediaElement: v.element.srcObject instanceof MediaStream && v.element.srcObject.getTracks().includes(v.track),
			playing: !v.element.paused,
			heard: !v.element.muted,
			track: v.track.readyState
		}));
	}

	/**
	 * Diagnostics (bench:audio): for each voice, WebRTC's own timing of it. `captureToTrackMs`: from
	 * its capture at the speaker (abs-capture-time, media-link.ts) to its delivery to the track here,
	 * jitter buffer included, on one machine's clock (null where the browser gives no capture time);
	 * `playoutMs`: WebRTC's mean delay from there to the audio device (media-playout stats).
	 */
	async delays(): Promise<VoiceDelay[]> {
		return Promise.all(
			[...this.#voices].map(async ([speaker, voice]) => {
				const [source] = voice.receiver.getSynchronizationSources() as (RTCRtpSynchronizationSource & { captureTimestamp?: number })[];
				const captured = source?.captureTimestamp;
				const captureToTrackMs = captured ? source.timestamp - (captured - NTP_TO_UNIX_MS) : null;
				let playoutMs: number | null = null;
				(await voice.receiver.getStats().catch(() => new Map())).forEach((s: { type: string; totalPlayoutDelay?: number; totalSamplesCount?: number }) => {
					if (s.type === 'media-playout' && s.totalSamplesCount) playoutMs = ((s.totalPlayoutDelay ?? 0) / s.totalSamplesCount) * 1000;
				});
				return { speaker, captureToTrackMs, playoutMs };
			})
		);
	}

	/** Every 20 ms of every heard voice as played (diagnostics and tests: tone detection). */
	tap(listener: FrameTap): () => void {
		this.#taps.add(listener);
		for (const voice of this.#voices.values()) this.#analyse(voice);
		return () => {
			this.#taps.delete(listener);
			if (this.#taps.size === 0) this.#stopTapping();
		};
	}

	close(): void {
		for (const speaker of [...this.#voices.keys()]) this.stop(speaker);
	}

	/** Browsers may refuse to play before a gesture: then the next one anywhere on the page starts it. */
	#start(voice: Voice): void {
		voice.element.play().catch(() => {
			const retry = () => {
				if ([...this.#voices.values()].includes(voice)) void voice.element.play().catch(() => {});
			};
			document.addEventListener('pointerdown', retry, { once: true });
			document.addEventListener('keydown', retry, { once: true });
		});
	}

	#analyse(voice: Voice): void {
		if (!voice.analyser) {
			const source = this.#context.createMediaStreamSource(new MediaStream([voice.track]));
			const node = new AnalyserNode(this.#context, { fftSize: TAP_SAMPLES });
			source.connect(node);
			voice.analyser = { source, node };
		}
		this.#tapTimer ??= setInterval(() => this.#readTaps(), TAP_EVERY_MS);
	}

	#readTaps(): void {
		for (const [speaker, voice] of this.#voices) {
			if (!voice.heard || !voice.analyser) continue;
			const samples = new Float32Array(TAP_SAMPLES);
			voice.analyser.node.getFloatTimeDomainData(samples);
			// The analyser holds the last TAP_SAMPLES just rendered: heard after the context's reported latency.
			const playAtMs = performance.now() + outputLatencyMs(this.#context) - (TAP_SAMPLES / this.#context.sampleRate) * 1000;
			for (const tap of this.#taps) tap(speaker, samples, playAtMs);
		}
	}

	#stopTapping(): void {
		clearInterval(this.#tapTimer);
		this.#tapTimer = undefined;
	}
}
