import { beforeAll, describe, expect, it } from 'vitest';

// The mixer runs in an AudioWorkletGlobalScope; here the scope's three names are stood in for, and the
// processor is driven block by block as the audio thread would, with `currentFrame` advancing.
interface Mixer {
	receive(message: { speaker: string; samples?: Float32Array; at?: number; end?: boolean }): void;
	process(inputs: unknown[], outputs: Float32Array[][]): boolean;
	skipped: number;
}
let Processor: new () => Mixer;
const scope = globalThis as unknown as { currentFrame: number; AudioWorkletProcessor: unknown; registerProcessor: (name: string, c: unknown) => void };

beforeAll(async () => {
	scope.AudioWorkletProcessor = class {
		port = { onmessage: null as unknown, postMessage() {} };
	};
	scope.registerProcessor = (_name, c) => (Processor = c as typeof Processor);
	const worklet = './mixer.worklet.js'; // a script of the worklet scope, not a module with exports
	await import(/* @vite-ignore */ worklet);
});

const FRAME = 960;
const BLOCK = 128;

/** A 20 ms frame whose every sample is `value`. */
const frame = (value: number) => new Float32Array(FRAME).fill(value);

/** Renders blocks from `from` (a sample frame) for `blocks` blocks; returns all output samples in order. */
function render(mixer: Mixer, from: number, blocks: number): Float32Array {
	const all = new Float32Array(blocks * BLOCK);
	for (let b = 0; b < blocks; b++) {
		scope.currentFrame = from + b * BLOCK;
		const out = new Float32Array(BLOCK);
		mixer.process([], [[out]]);
		all.set(out, b * BLOCK);
	}
	return all;
}

/** Where in `samples` each run of `value` starts. */
const startOf = (samples: Float32Array, value: number) => samples.indexOf(value);

describe('mixer worklet', () => {
	it('plays each frame at its scheduled sample, silent until then', () => {
		const mixer = new Processor();
		mixer.receive({ speaker: 'a', samples: frame(0.5), at: 1_000 });
		mixer.receive({ speaker: 'a', samples: frame(0.25), at: 1_000 + FRAME });
		const out = render(mixer, 0, 30);
		expect(startOf(out, 0.5)).toBe(1_000);
		expect(startOf(out, 0.25)).toBe(1_000 + FRAME);
		expect(out[1_000 + 2 * FRAME]).toBe(0);
	});

	it('after a stall, skips what is overdue instead of playing everything late for good', () => {
		// The main thread was stalled 150 ms: the frames of that time arrive at once, all overdue.
		const mixer = new Processor();
		const now = 48_000;
		for (let k = 0; k < 10; k++) mixer.receive({ speaker: 'a', samples: frame(k + 1), at: now - 7 * FRAME + k * FRAME });
		const out = render(mixer, now, 30);
		// Frame 8 was due at now + 0: it plays now; the seven before it are skipped, not queued up.
		expect(out[0]).toBe(8);
		expect(startOf(out, 9)).toBe(FRAME);
		expect(startOf(out, 10)).toBe(2 * FRAME);
		expect(mixer.skipped).toBe(7 * FRAME);
	});

	it('plays a frame a little late at once, and those after it follow without a gap', () => {
		const mixer = new Processor();
		mixer.receive({ speaker: 'a', samples: frame(1), at: 100 }); // reaches us at 128: 28 samples late
		const out1 = render(mixer, 128, 1);
		expect(out1[0]).toBe(1);
		mixer.receive({ speaker: 'a', samples: frame(2), at: 100 + FRAME });
		const out = render(mixer, 256, 10);
		const second = startOf(out, 2) + 256;
		expect(second).toBe(128 + FRAME); // right after the first, 28 samples behind its slot
		expect(mixer.skipped).toBe(0);
	});

	it('puts a frame posted out of order back in its place, and drops one due before a frame already playing', () => {
		const mixer = new Processor();
		mixer.receive({ speaker: 'a', samples: frame(2), at: FRAME });
		mixer.receive({ speaker: 'a', samples: frame(1), at: 0 });
		const out = render(mixer, 0, 8);
		expect(out[0]).toBe(1);
		expect(startOf(out, 2)).toBe(FRAME);
		mixer.receive({ speaker: 'a', samples: frame(7), at: 0 }); // frame 2 is playing: too late
		const rest = render(mixer, 8 * BLOCK, 10);
		expect(rest.includes(7)).toBe(false);
	});

	it('mixes speakers, and forgets one that ended', () => {
		const mixer = new Processor();
		mixer.receive({ speaker: 'a', samples: frame(0.25), at: 0 });
		mixer.receive({ speaker: 'b', samples: frame(0.5), at: 0 });
		expect(render(mixer, 0, 1)[0]).toBe(0.75);
		mixer.receive({ speaker: 'b', end: true });
		expect(render(mixer, BLOCK, 1)[0]).toBe(0.25);
	});
});
