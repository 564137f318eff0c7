import { describe, expect, it } from 'vitest';
import { MAX_PICTURE_BYTES, checkedPicture, pictureDigest, pictureType, readPictureDigest } from './picture';

const bytesOf = (head: number[], length = 64) => {
	const bytes = new Uint8Array(length);
	bytes.set(head);
	return bytes;
};
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const WEBP = bytesOf([...ascii('RIFF'), 0x20, 0, 0, 0, ...ascii('WEBP')]);
const JPEG = bytesOf([0xff, 0xd8, 0xff, 0xe0]);
const PNG = bytesOf([0x89, ...ascii('PNG'), 0x0d, 0x0a, 0x1a, 0x0a]);

describe('pictureType', () => {
	it('tells WebP, JPEG and PNG by their first bytes', () => {
		expect(pictureType(WEBP)).toBe('image/webp');
		expect(pictureType(JPEG)).toBe('image/jpeg');
		expect(pictureType(PNG)).toBe('image/png');
	});

	it('refuses anything else: SVG, HTML, GIF, a cut-off header, nothing, too much', () => {
		expect(pictureType(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'))).toBeNull();
		expect(pictureType(new TextEncoder().encode('<!doctype html><script>alert(1)</script>'))).toBeNull();
		expect(pictureType(bytesOf(ascii('GIF89a')))).toBeNull();
		expect(pictureType(WEBP.subarray(0, 11))).toBeNull();
		expect(pictureType(new Uint8Array())).toBeNull();
		expect(pictureType(bytesOf([...WEBP.subarray(0, 12)], MAX_PICTURE_BYTES))).toBe('image/webp');
		expect(pictureType(bytesOf([...WEBP.subarray(0, 12)], MAX_PICTURE_BYTES + 1))).toBeNull();
	});
});

describe('picture digests', () => {
	it('names a picture by its SHA-256 in base64url, and reads back only that form', async () => {
		const digest = await pictureDigest(PNG);
		expect(digest).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(await pictureDigest(PNG.slice())).toBe(digest);
		expect(readPictureDigest(digest)).toBe(digest);
		for (const bad of [digest.slice(1), `${digest}=`, digest.replace(/^./, '+'), 42, null, undefined, {}]) expect(readPictureDigest(bad)).toBeNull();
	});

	it('takes fetched bytes only when they are a picture and hash to the digest asked for', async () => {
		const digest = await pictureDigest(PNG);
		expect(await checkedPicture(PNG, digest)).toBe(PNG);
		const swapped = PNG.slice();
		swapped[40] ^= 1;
		expect(await checkedPicture(swapped, digest)).toBeNull();
		const svg = new TextEncoder().encode('<svg/>');
		expect(await checkedPicture(svg, await pictureDigest(svg))).toBeNull();
	});
});
