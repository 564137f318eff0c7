import { qrDrawing, shareLink, type QrDrawing, type ShareOutcome, type ShareTarget } from './share-link';

/** The room screen's share controls: what the last share did, and the QR code when shown. */
export class ShareState {
	outcome = $state<ShareOutcome | null>(null);
	qr = $state<QrDrawing | null>(null);
	readonly #target: ShareTarget | undefined;
	#clear: ReturnType<typeof setTimeout> | undefined;

	constructor(target?: ShareTarget) {
		this.#target = target;
	}

	async share(title: string, url: string): Promise<void> {
		clearTimeout(this.#clear);
		this.outcome = await shareLink(title, url, this.#target);
		// "Link copied" shows for 2 s; a failure stays until the next try.
		if (this.outcome === 'copied') this.#clear = setTimeout(() => (this.outcome = null), 2_000);
	}

	async toggleQr(url: string): Promise<void> {
		this.qr = this.qr ? null : await qrDrawing(url);
	}
}
