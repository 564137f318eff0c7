import { describe, expect, it } from 'vitest';
import { LevelMeter, SPEAKING_LEVEL } from './level-meter';

const tone = (amplitude: number) => Float32Array.from({ length: 960 }, (_, i) => amplitude * Math.sin((2 * Math.PI * 440 * i) / 48_000));

describe('the level meter', () => {
	it('reads a sine at RMS (amplitude / √2) and silence as 0', () => {
		const meter = new LevelMeter();
		meter.add(tone(0.5));
		expect(meter.take()).toBeCloseTo(0.5 / Math.SQRT2, 2);
		const quiet = new LevelMeter();
		quiet.add(new Float32Array(960));
		expect(quiet.take()).toBe(0);
	});

	it('holds a peak across quieter frames, then falls by half at each report', () => {
		const meter = new LevelMeter();
		meter.add(tone(0.5));
		meter.add(tone(0.01));
		const peak = meter.take();
		expect(peak).toBeGreaterThan(0.25);
		expect(meter.take()).toBeCloseTo(peak / 2, 5);
	});

	it('takes a level measured elsewhere (RTP audio level) on the same scale and with the same hold', () => {
		const fromSamples = new LevelMeter();
		const fromLevels = new LevelMeter();
		for (const amplitude of [0.5, 0.01, 0.2]) {
			fromSamples.add(tone(amplitude));
			fromLevels.addLevel(amplitude / Math.SQRT2); // what WebRTC reports for that sine
		}
		expect(fromLevels.take()).toBeCloseTo(fromSamples.take(), 2);
		expect(fromLevels.take()).toBeCloseTo(fromSamples.take(), 2);
	});

	it('calls a normal voice speaking and room noise not', () => {
		const voice = new LevelMeter();
		voice.add(tone(0.1));
		expect(voice.take()).toBeGreaterThan(SPEAKING_LEVEL);
		const noise = new LevelMeter();
		noise.add(tone(0.01));
		expect(noise.take()).toBeLessThan(SPEAKING_LEVEL);
	});
});
