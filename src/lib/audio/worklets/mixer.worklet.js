// @ts-nocheck -- runs in the AudioWorkletGlobalScope, which TypeScript has no lib for.
/* global currentFrame */
// Plays decoded speech: one queue per speaker, mixed into the output, each
// frame at the time the main thread scheduled it for (`at`, in sample
// frames of the AudioContext's clock, as the scope's `currentFrame`).
//
// Playing by the schedule, not first come first played, keeps the delay
// what the jitter buffer chose. A main thread that stalls for 150 ms and
// then posts the missed frames at once would otherwise leave them queued
// here, 150 ms later than their time, for as long as the speaker talks
// (measured: 147–160 ms more after such a stall, none of it seen by the
// jitter buffer). So:
// - a frame due later waits (silence until then);
// - a frame a little late (≤ MAX_LAG: the main thread ran a little late)
//   plays at once, and the frames after it follow on without a gap;
// - past MAX_LAG, what is overdue is skipped, back onto the schedule;
// - frames are kept in `at` order (a concealed frame can be posted before
//   the decoded one due before it), and one due before a frame that has
//   started playing is dropped.
// Messages: { speaker, samples, at } | { speaker, end: true }.
const FRAME = 960;
// 10 ms: a frame late by more than this is skipped down to its schedule. The main thread posts a
// frame 10–20 ms before its time (audio-output.ts), so only a stall of 20 ms or more makes one this late.
const MAX_LAG = FRAME / 2;
// 1 s of frames per speaker: a bound, never reached while the main thread posts as it should.
const MAX_CHUNKS = 50;

class StanzaMixer extends AudioWorkletProcessor {
	constructor() {
		super();
		this.speakers = new Map();
		/** Sample frames skipped to get back onto the schedule, for diagnostics. */
		this.skipped = 0;
		this.port.onmessage = (event) => this.receive(event.data);
	}

	receive({ speaker, samples, at, end }) {
		if (end) {
			this.speakers.delete(speaker);
			return;
		}
		let s = this.speakers.get(speaker);
		if (!s) {
			s = { chunks: [], offset: 0 };
			this.speakers.set(speaker, s);
		}
		let index = s.chunks.length;
		while (index > 0 && s.chunks[index - 1].at > at) index--;
		// Due before the frame already playing: too late to place.
		if (index === 0 && s.offset > 0) return;
		s.chunks.splice(index, 0, { samples, at });
		if (s.chunks.length > MAX_CHUNKS) {
			s.chunks.shift();
			s.offset = 0;
		}
	}

	process(_inputs, outputs) {
		const out = outputs[0][0];
		if (!out) return true;
		out.fill(0);
		for (const s of this.speakers.values()) this.mix(s, out, currentFrame);
		for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
		return true;
	}

	/** Adds the speaker's frames due within [start, start + out.length) to `out`. */
	mix(s, out, start) {
		let i = 0;
		while (i < out.length && s.chunks.length > 0) {
			const chunk = s.chunks[0];
			const lag = start + i - (chunk.at + s.offset); // > 0: the next sample is late
			if (lag < 0 && s.offset === 0) {
				i += Math.min(-lag, out.length - i); // due later: silence until then
				continue;
			}
			if (lag > MAX_LAG) {
				const skip = Math.min(lag, chunk.samples.length - s.offset);
				this.skipped += skip;
				this.advance(s, skip);
				continue;
			}
			const n = Math.min(out.length - i, chunk.samples.length - s.offset);
			for (let k = 0; k < n; k++) out[i + k] += chunk.samples[s.offset + k];
			i += n;
			this.advance(s, n);
		}
	}

	/** Moves past `n` samples of the head frame; the next frame is due right after it, wherever this one was played. */
	advance(s, n) {
		const chunk = s.chunks[0];
		s.offset += n;
		if (s.offset < chunk.samples.length) return;
		s.chunks.shift();
		s.offset = 0;
	}
}

registerProcessor('stanza-mixer', StanzaMixer);
