import { lpStream, streamPair } from '@libp2p/utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PICTURE_BYTES, pictureDigest } from '../identity/picture';
import { PictureProtocolError, askPicture, decodeDigest, encodeDigest, servePicture } from './picture-protocol';

const PNG = new Uint8Array(200);
PNG.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
PNG.fill(7, 8);

describe('picture digests on the wire', () => {
	it('round-trips any 32 bytes, and refuses every other length or form', () => {
		fc.assert(
			fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
				expect(encodeDigest(decodeDigest(bytes))).toEqual(bytes);
			}),
			{ seed: 11, numRuns: 500 }
		);
		for (const n of [0, 31, 33, 64]) expect(() => decodeDigest(new Uint8Array(n))).toThrow(PictureProtocolError);
		for (const bad of ['', 'abc', 'x'.repeat(44), `${'A'.repeat(42)}+`]) expect(() => encodeDigest(bad)).toThrow(PictureProtocolError);
	});
});

describe('askPicture / servePicture', () => {
	it('hands a member the picture it asks for by digest, in the room it names', async () => {
		const digest = await pictureDigest(PNG);
		const [a, b] = await streamPair();
		const asked: string[] = [];
		const serving = servePicture(b, 'member', (roomId, remote, d) => (asked.push(`${roomId} ${remote} ${d}`), d === digest ? PNG : null), 2_000);
		expect(await askPicture(a, 'room-1', digest, AbortSignal.timeout(2_000))).toEqual(PNG);
		await serving;
		expect(asked).toEqual([`room-1 member ${digest}`]);
	});

	it('says none when it has no such picture to give (another, or the asker is out of the room)', async () => {
		const [a, b] = await streamPair();
		const serving = servePicture(b, 'banned', () => null, 2_000);
		expect(await askPicture(a, 'room-1', await pictureDigest(PNG), AbortSignal.timeout(2_000))).toBeNull();
		await serving;
	});

	it('refuses an answer that is not the picture asked for: other bytes, an SVG, too much', async () => {
		const digest = await pictureDigest(PNG);
		const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>');
		for (const answer of [PNG.map((b, i) => (i === 100 ? b ^ 1 : b)), svg]) {
			const [a, b] = await streamPair();
			const serving = servePicture(b, 'member', () => answer, 2_000);
			await expect(askPicture(a, 'room-1', digest, AbortSignal.timeout(2_000))).rejects.toThrow(PictureProtocolError);
			await serving;
		}
		const [a, b] = await streamPair();
		const serving = servePicture(b, 'member', () => new Uint8Array(MAX_PICTURE_BYTES + 1), 2_000);
		await expect(askPicture(a, 'room-1', digest, AbortSignal.timeout(2_000))).rejects.toThrow();
		await serving;
	});

	it('a listener fed junk (a long room id, a short digest) gives nothing and never throws', async () => {
		for (const frames of [[new Uint8Array(65)], [new TextEncoder().encode('room-1'), new Uint8Array(5)]]) {
			const [a, b] = await streamPair();
			let looked = false;
			const serving = servePicture(b, 'member', () => ((looked = true), PNG), 500);
			const lp = lpStream(a);
			for (const frame of frames) await lp.write(frame).catch(() => {});
			await expect(serving).resolves.toBeUndefined();
			expect(looked).toBe(false);
		}
	});
});
