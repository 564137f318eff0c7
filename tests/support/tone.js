// @ts-check
/**
 * Test tones: WAV files for Chromium's fake microphone
 * (--use-file-for-fake-audio-capture), and a Goertzel detector that runs in
 * the page on decoded audio to tell which tone arrived.
 */
import { writeFileSync } from 'node:fs';

/**
 * Writes a 48 kHz mono 16-bit WAV of a sine at `hz` (Chromium loops it).
 * @param {string} path @param {number} hz @param {number} [seconds]
 */
export function writeToneWav(path, hz, seconds = 4) {
	const rate = 48_000;
	const n = rate * seconds;
	const data = Buffer.alloc(n * 2);
	for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 0.5 * 32767), i * 2);
	writeWav(path, data, rate);
}

/**
 * Writes a WAV of short bursts (a "click" a benchmark can time): `burstMs` of
 * a 1 kHz tone every `everyMs`, silence between.
 * @param {string} path @param {number} [everyMs] @param {number} [burstMs] @param {number} [seconds]
 */
export function writeBurstWav(path, everyMs = 500, burstMs = 30, seconds = 4) {
	const rate = 48_000;
	const n = rate * seconds;
	const data = Buffer.alloc(n * 2);
	const every = (rate * everyMs) / 1000;
	const burst = (rate * burstMs) / 1000;
	for (let i = 0; i < n; i++) {
		const inBurst = i % every < burst;
		const v = inBurst ? Math.sin((2 * Math.PI * 1000 * i) / rate) * 0.8 : 0;
		data.writeInt16LE(Math.round(v * 32767), i * 2);
	}
	writeWav(path, data, rate);
}

/** 16-bit mono PCM in a RIFF/WAVE container. @param {string} path @param {Buffer} data @param {number} rate */
function writeWav(path, data, rate) {
	const header = Buffer.alloc(44);
	header.write('RIFF', 0);
	header.writeUInt32LE(36 + data.length, 4);
	header.write('WAVE', 8);
	header.write('fmt ', 12);
	header.writeUInt32LE(16, 16);
	header.writeUInt16LE(1, 20); // PCM
	header.writeUInt16LE(1, 22); // mono
	header.writeUInt32LE(rate, 24);
	header.writeUInt32LE(rate * 2, 28);
	header.writeUInt16LE(2, 32);
	header.writeUInt16LE(16, 34);
	header.write('data', 36);
	header.writeUInt32LE(data.length, 40);
	writeFileSync(path, Buffer.concat([header, data]));
}
