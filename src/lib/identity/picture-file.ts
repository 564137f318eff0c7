/**
 * A profile picture made, on this device, from an image file the person
 * picked: its centre square drawn at PICTURE_SIZE px, written as WebP (as
 * JPEG where the browser writes no WebP), smaller until it fits
 * MAX_PICTURE_BYTES. A browser adapter (createImageBitmap, OffscreenCanvas);
 * what is accepted is picture.ts's rule, tested there.
 */
import { PICTURE_SIZE, pictureType } from './picture';

/** Tried in turn until one gives a picture we send: most keep the first. */
const ENCODINGS: [type: string, quality: number][] = [
	['image/webp', 0.85],
	['image/webp', 0.6],
	['image/jpeg', 0.8],
	['image/jpeg', 0.5]
];

export class PictureFileError extends Error {
	override name = 'PictureFileError';
	constructor(readonly reason: 'not-an-image' | 'too-large') {
		super(reason);
	}
}

export async function pictureFromFile(file: Blob): Promise<Uint8Array> {
	let bitmap: ImageBitmap;
	try {
		bitmap = await createImageBitmap(file);
	} catch {
		throw new PictureFileError('not-an-image');
	}
	const side = Math.min(bitmap.width, bitmap.height);
	const canvas = new OffscreenCanvas(PICTURE_SIZE, PICTURE_SIZE);
	const context = canvas.getContext('2d');
	if (!context || side === 0) throw new PictureFileError('not-an-image');
	context.drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, PICTURE_SIZE, PICTURE_SIZE);
	bitmap.close();
	for (const [type, quality] of ENCODINGS) {
		const bytes = new Uint8Array(await (await canvas.convertToBlob({ type, quality })).arrayBuffer());
		if (pictureType(bytes)) return bytes;
	}
	throw new PictureFileError('too-large');
}
