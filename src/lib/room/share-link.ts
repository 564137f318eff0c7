/**
 * Sharing a room's link: the system's share sheet where the browser has one
 * (Web Share API: phones, most desktops), the clipboard otherwise, and a QR
 * code for the person standing next to you. The link carries the room key in
 * its fragment, so all three hand over the room itself: the screen says so.
 */

/** The parts of `navigator` sharing uses, so tests can stand in for the browser. */
export interface ShareTarget {
	share?: (data: { title?: string; url?: string }) => Promise<void>;
	canShare?: (data: { url?: string }) => boolean;
	clipboard?: { writeText(text: string): Promise<void> };
}

/** 'cancelled': the person closed the share sheet; 'failed': neither sharing nor the clipboard worked (the link stays on screen to copy by hand). */
export type ShareOutcome = 'shared' | 'copied' | 'cancelled' | 'failed';

export async function shareLink(title: string, url: string, target: ShareTarget = navigator): Promise<ShareOutcome> {
	if (target.share && (target.canShare?.({ url }) ?? true)) {
		try {
			await target.share({ title, url });
			return 'shared';
		} catch (err) {
			if ((err as { name?: string } | null)?.name === 'AbortError') return 'cancelled';
			// NotAllowedError (no user gesture left, a policy): fall back to the clipboard.
		}
	}
	try {
		if (!target.clipboard) return 'failed';
		await target.clipboard.writeText(url);
		return 'copied';
	} catch {
		return 'failed';
	}
}

export interface QrDrawing {
	/** Modules per side, quiet zone included: the SVG's viewBox is 0 0 size size. */
	size: number;
	/** One SVG path drawing every dark module as a unit square. */
	d: string;
}

/** A QR code of `text` as one SVG path (medium error correction, the standard 4-module quiet zone). Loads the encoder on first use. */
export async function qrDrawing(text: string): Promise<QrDrawing> {
	const { encode } = await import('uqr');
	const qr = encode(text, { ecc: 'M', border: 4 });
	const parts: string[] = [];
	for (let y = 0; y < qr.size; y++) {
		for (let x = 0; x < qr.size; x++) if (qr.data[y][x]) parts.push(`M${x} ${y}h1v1h-1z`);
	}
	return { size: qr.size, d: parts.join('') };
}
