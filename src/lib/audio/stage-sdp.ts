/**
 * What a link's session description from the far end must hold
 * (linkSdpProblem), and what a stage link's asks of the far end's voice
 * (askShortFrames).
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

/**
 * What is wrong with the media sections of a link's session description from
 * the far end, or null when nothing is: a tree link holds the data channel's
 * section (`m=application`) alone, a stage link that and one voice
 * (`m=audio`). Checked before setRemoteDescription, since the far end may run
 * code of its own: a browser would take extra sections (more voices, video, a
 * second data section) and set them up.
 *
 * Only the count of each kind matters, not the order: Chromium and Firefox
 * both write the voice first when the transceiver is added after the data
 * channel (as webrtc-pipe.ts does), but nothing in JSEP makes that a rule. A
 * port of 0 is no fault either: Firefox offers the data section bundle-only
 * (`m=application 0 …`) under the max-bundle policy.
 */
export function linkSdpProblem(sdp: string, voice: boolean): string | null {
	const kinds = sdp
		.split(/\r?\n/)
		.filter((line) => line.startsWith('m='))
		.map((line) => line.slice(2).split(' ', 1)[0]);
	const audio = kinds.filter((k) => k === 'audio').length;
	const application = kinds.filter((k) => k === 'application').length;
	const other = kinds.filter((k) => k !== 'audio' && k !== 'application');
	const wanted = voice ? 'one m=audio and one m=application section' : 'one m=application section and no other';
	if (other.length > 0) return `has an m=${other[0].slice(0, 20)} section (a ${voice ? 'stage' : 'tree'} link takes ${wanted})`;
	if (application !== 1 || audio !== (voice ? 1 : 0)) {
		return `has ${application} m=application and ${audio} m=audio sections (a ${voice ? 'stage' : 'tree'} link takes ${wanted})`;
	}
	return null;
}

/**
 * How many ICE candidates a description carries in itself (`a=candidate:`
 * lines): the browser checks them as it checks trickled ones, so they count
 * towards the same cap (MAX_REMOTE_CANDIDATES, webrtc-pipe.ts).
 */
export function sdpCandidateCount(sdp: string): number {
	let count = 0;
	// Any case: what a browser's parser might take, the count must not miss.
	for (const line of sdp.split(/\r?\n/)) if (line.slice(0, 12).toLowerCase() === 'a=candidate:') count++;
	return count;
}
