/**
 * What a stage link's session description asks of the far end's voice.
 *
 * `a=ptime:10` (RFC 4566: the packet duration the receiver prefers) makes
 * Chromium's Opus encoder send 10 ms frames instead of 20: 10 ms less
 * packetization, and a jitter buffer that can run shallower. In A/B runs of
 * bench:audio's stage phase alone (two pairs each way, a noisy measure), the
 * capture-to-track median read 37–50 ms with 20 ms frames and 25–37 ms with
 * 10 ms ones. The price is twice the packets: about 24 kbit/s more headers per stage link,
 * which a stage of up to ~20 speakers can afford and a listener never pays
 * (tree links carry no media section).
 *
 * Applied to the description we receive (setRemoteDescription): what the far
 * end's browser wrote is left as it was, and each side's encoder follows the
 * preference it reads.
 */
const SHORT_FRAME_MS = 10;

/** `sdp` with every audio media section asking for short frames (one ptime line, replacing any there was). */
export function askShortFrames(sdp: string): string {
	const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
	const sections = sdp.split(/(?=^m=)/m);
	return sections
		.map((section) => {
			if (!section.startsWith('m=audio')) return section;
			const lines = section.split(/\r?\n/);
			const trailing = lines.at(-1) === '' ? lines.pop() : undefined;
			const kept = lines.filter((line) => !line.startsWith('a=ptime:'));
			kept.splice(1, 0, `a=ptime:${SHORT_FRAME_MS}`);
			if (trailing !== undefined) kept.push(trailing);
			return kept.join(eol);
		})
		.join('');
}
