/**
 * One measure of "how loud" for every voice in the room: your own microphone
 * (the meter by your mic, the ring on your card) and everyone you hear (the
 * ring on theirs: decoded frames, or a fellow speaker's RTP audio level). RMS of each 20 ms frame, held at its peak and halved at
 * every report (~10 a second), so a ring neither flickers between syllables
 * nor lingers after the speaker stops.
 */

/** Above this a member counts as speaking (RMS of full scale: about −34 dBFS). */
export const SPEAKING_LEVEL = 0.02;

/**
 * Below this a frame counts as quiet (about −50 dBFS: a pause, with the browser's noise suppression on):
 * the jitter buffer may drop or hold it unheard (jitter-buffer.ts, noteQuiet).
 */
export const QUIET_LEVEL = 0.003;

export class LevelMeter {
	#level = 0;

	/** Takes one frame of samples in [−1, 1]; returns its RMS. */
	add(samples: Float32Array): number {
		let sum = 0;
		for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
		const rms = samples.length > 0 ? Math.sqrt(sum / samples.length) : 0;
		this.addLevel(rms);
		return rms;
	}

	/**
	 * Takes one frame's RMS measured elsewhere: a WebRTC voice's RTP audio level
	 * (RFC 6464, as `RTCRtpSynchronizationSource.audioLevel`) is the RMS of its
	 * 20 ms frame relative to full scale, the measure `add` computes: a sine of
	 * amplitude 0.5 reads 0.355 both ways (measured in Chromium).
	 */
	addLevel(rms: number): void {
		this.#level = Math.max(rms, this.#level * 0.8);
	}

	/** The level since the last report, then lets it fall by half. */
	take(): number {
		const level = this.#level;
		this.#level *= 0.5;
		return level;
	}
}
