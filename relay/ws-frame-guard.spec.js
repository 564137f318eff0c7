// @ts-check
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WsFrameGuard } from './ws-frame-guard.js';

/**
 * A masked client frame header (+ payload of zeros).
 *
 * @param {number} length
 * @param {{ opcode?: number, fin?: boolean, masked?: boolean, payload?: boolean }} [options]
 */
function frame(length, { opcode = 2, fin = true, masked = true, payload = true } = {}) {
	const head = [(fin ? 0x80 : 0) | opcode];
	const m = masked ? 0x80 : 0;
	if (length < 126) head.push(m | length);
	else if (length < 65536) head.push(m | 126, length >> 8, length & 0xff);
	else head.push(m | 127, 0, 0, 0, 0, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
	if (masked) head.push(1, 2, 3, 4);
	return Buffer.concat([Buffer.from(head), Buffer.alloc(payload ? length : 0)]);
}

describe('WsFrameGuard', () => {
	it('passes frames up to the limit, of every header size', () => {
		const guard = new WsFrameGuard(70_000);
		for (const n of [0, 125, 126, 65_535, 65_536, 70_000]) expect(guard.push(frame(n))).toBeNull();
	});

	it('reads headers split anywhere across chunks', () => {
		const stream = Buffer.concat([frame(3), frame(300), frame(9, { opcode: 9 }), frame(66_000, { payload: false }), Buffer.alloc(66_000), frame(2)]);
		const guard = new WsFrameGuard(70_000);
		/** @type {Array<string | null>} */
		const results = [];
		// Small chunks of 1 to 13 bytes through the first headers, then 4000-byte chunks.
		let i = 0;
		for (let size = 1; i < 400; i += size, size = (size % 13) + 1) results.push(guard.push(stream.subarray(i, i + size)));
		for (; i < stream.length; i += 4000) results.push(guard.push(stream.subarray(i, i + 4000)));
		expect(results.every((r) => r === null)).toBe(true);
		expect(guard.push(frame(70_001, { payload: false }))).toMatch(/exceeds/);
	});

	it('refuses a frame announced above the limit from its header alone', () => {
		expect(new WsFrameGuard(70_000).push(frame(70_001, { payload: false }))).toMatch(/frame of 70001 bytes exceeds 70000/);
		expect(new WsFrameGuard(70_000).push(frame(100 * 1024 * 1024, { payload: false }))).toMatch(/exceeds/);
		// A 64-bit length with high bits set.
		const huge = Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]);
		expect(new WsFrameGuard(70_000).push(huge)).toMatch(/exceeds/);
	});

	it('refuses a fragmented message whose parts together exceed the limit, and stays refused', () => {
		const guard = new WsFrameGuard(1000);
		expect(guard.push(frame(600, { fin: false }))).toBeNull();
		expect(guard.push(frame(10, { opcode: 9 }))).toBeNull(); // a ping between fragments
		expect(guard.push(frame(600, { opcode: 0 }))).toMatch(/message of 1200 bytes/);
		expect(guard.push(frame(1))).toMatch(/message of 1200 bytes/);
	});

	it('counts a new message from zero after FIN', () => {
		const guard = new WsFrameGuard(1000);
		for (let i = 0; i < 5; i++) expect(guard.push(Buffer.concat([frame(600, { fin: false }), frame(400, { opcode: 0 })]))).toBeNull();
	});

	it('refuses unmasked client frames and oversized or fragmented control frames', () => {
		expect(new WsFrameGuard(1000).push(frame(5, { masked: false }))).toMatch(/unmasked/);
		expect(new WsFrameGuard(1000).push(frame(126, { opcode: 8 }))).toMatch(/control/);
		expect(new WsFrameGuard(1000).push(frame(5, { opcode: 9, fin: false }))).toMatch(/control/);
	});

	it('never throws on arbitrary bytes, and what it accepts holds no frame above the limit', () => {
		fc.assert(
			fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
				const guard = new WsFrameGuard(200);
				for (const c of chunks) guard.push(c);
			})
		);
	});
});
