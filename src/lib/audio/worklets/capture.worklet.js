// @ts-nocheck -- runs in the AudioWorkletGlobalScope, which TypeScript has no lib for.
// Microphone capture where MediaStreamTrackProcessor is missing (Firefox,
// Safari): collects 20 ms mono frames and posts them to the main thread,
// which wraps them in AudioData for the Opus encoder.
const FRAME = 960;

class StanzaCapture extends AudioWorkletProcessor {
	constructor() {
		super();
		this.frame = new Float32Array(FRAME);
		this.filled = 0;
	}

	process(inputs) {
		const input = inputs[0] && inputs[0][0];
		if (!input) return true;
		let i = 0;
		while (i < input.length) {
			const n = Math.min(input.length - i, FRAME - this.filled);
			this.frame.set(input.subarray(i, i + n), this.filled);
			this.filled += n;
			i += n;
			if (this.filled === FRAME) {
				this.port.postMessage({ samples: this.frame, time: currentTime }, [this.frame.buffer]);
				this.frame = new Float32Array(FRAME);
				this.filled = 0;
			}
		}
		return true;
	}
}

registerProcessor('stanza-capture', StanzaCapture);
