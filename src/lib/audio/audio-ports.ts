/**
 * What a room's audio (audio-room.ts) needs of the device, as narrow ports:
 * the app's adapters are the microphone (microphone.ts), the Web Audio mixer
 * (audio-output.ts) and the stage's media elements (stage-audio.ts); unit
 * tests run the same AudioRoom with in-memory ones (memory-audio.ts). The
 * links between members are a port of their own (link-pipe.ts).
 */
import type { PushOutcome } from './jitter-buffer';
import type { RemoteVoice } from './link-pipe';
import type { EncodedFrame, MicFailure } from './microphone';
import type { AudioPacket } from './packet-codec';

/** An open microphone, encoding frames. */
export interface VoiceSource {
	/** Its track, for the stage's native voice; null where there is none (closed, or not a browser's). */
	readonly track: MediaStreamTrack | null;
	/** How loud it is, for the meter (level-meter.ts). */
	readonly level: { take(): number };
	/** Frames encoded so far (muted or not), and performance.now() of the last: the proof it works. */
	readonly framesEncoded: number;
	readonly lastEncodedAt: number;
	/** Self-mute: frames are dropped before they leave the device. */
	setMuted(muted: boolean): void;
	close(): void;
}

/** Opens the microphone (`deviceId`, else the system's); throws MicrophoneError; a later failure calls `onFailure`. */
export type OpenVoiceSource = (onFrame: (frame: EncodedFrame) => void, onFailure: (reason: MicFailure) => void, deviceId: string | null) => Promise<VoiceSource>;

/** Where the voices a member receives through the tree are played. */
export interface VoiceSink {
	/** Every voice's level, reported at the UI's rate. */
	onLevels: (levels: Map<string, number>) => void;
	/** A packet from `speaker`, already authorized by the caller; what its jitter buffer did with it. */
	push(speaker: string, packet: AudioPacket): PushOutcome;
	/** Stops playing a speaker. */
	drop(speaker: string): void;
	close(): Promise<void>;
}

/** Where a speaker plays its fellow speakers' native voices (the path the echo canceller covers). */
export interface StagePlayer {
	play(speaker: string, voice: RemoteVoice, heard: boolean): void;
	/** Whether `speaker`'s voice comes through a stage link (then it is not played anywhere else). */
	has(speaker: string): boolean;
	setHeard(speaker: string, heard: boolean): void;
	stop(speaker: string): void;
	levels(): Map<string, number>;
	close(): void;
}
