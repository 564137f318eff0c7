// @ts-nocheck -- runs in the AudioWorkletGlobalScope, which TypeScript has no lib for.
// Plays decoded speech: one FIFO per speaker, mixed into the output.
// A speaker starts (and restarts after running dry) only once half a frame
// (10 ms) is queued: enough to ride out the main thread's scheduling jitter
// (it posts a frame 10 ms ahead of its play time), no more, since every
// sample queued here is delay. Messages: { speaker, samples } | { speaker, end: true }.
const FRAME = 960;
const START_AT = FRAME / 2;
// More than ~200 ms queued means the main thread fell behind and caught up in a burst: drop the excess.
const MAX_QUEUED = FRAME * 10;

class StanzaMixer extends AudioWorkletProcessor {
	constructor() {
		super();
		this.speakers = new Map();
		this.port.onmessage = (event) => {
			const { speaker, samples, end } = event.data;
			if (end) {
				this.speakers.delete(speaker);
				return;
			}
			let s = this.speakers.get(speaker);
			if (!s) {
				s = { chunks: [], offset: 0, queued: 0, playing: false };
				this.speakers.set(speaker, s);
			}
			s.chunks.push(samples);
			s.queued += samples.length;
			while (s.queued > MAX_QUEUED) {
				const dropped = s.chunks.shift();
				s.queued -= dropped.length - s.offset;
				s.offset = 0;
			}
		};
	}

	process(_inputs, outputs) {
		const out = outputs[0][0];
		if (!out) return true;
		out.fill(0);
		for (const s of this.speakers.values()) {
			if (!s.playing) {
				if (s.queued < START_AT) continue;
				s.playing = true;
			}
			let i = 0;
			while (i < out.length && s.chunks.length > 0) {
				const chunk = s.chunks[0];
				const n = Math.min(out.length - i, chunk.length - s.offset);
				for (let k = 0; k < n; k++) out[i + k] += chunk[s.offset + k];
				i += n;
				s.offset += n;
				s.queued -= n;
				if (s.offset === chunk.length) {
					s.chunks.shift();
					s.offset = 0;
				}
			}
			if (i < out.length) s.playing = false; // ran dry: wait for a whole frame again
		}
		for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
		return true;
	}
}

registerProcessor('stanza-mixer', StanzaMixer);
