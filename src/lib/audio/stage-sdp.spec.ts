import { describe, expect, it } from 'vitest';
import { askShortFrames } from './stage-sdp';

const OFFER = [
	'v=0',
	'o=- 1 2 IN IP4 127.0.0.1',
	's=-',
	't=0 0',
	'a=group:BUNDLE 0 1',
	'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
	'a=mid:0',
	'm=audio 9 UDP/TLS/RTP/SAVPF 111 63',
	'a=mid:1',
	'a=rtpmap:111 opus/48000/2',
	'a=fmtp:111 minptime=10;useinbandfec=1',
	''
].join('\r\n');

describe('askShortFrames', () => {
	it('asks for 10 ms frames in the audio section only, keeping line endings', () => {
		const sdp = askShortFrames(OFFER);
		const lines = sdp.split('\r\n');
		expect(lines.filter((l) => l.startsWith('a=ptime:'))).toEqual(['a=ptime:10']);
		expect(lines.indexOf('a=ptime:10')).toBe(lines.indexOf('m=audio 9 UDP/TLS/RTP/SAVPF 111 63') + 1);
		expect(sdp.endsWith('\r\n')).toBe(true);
		expect(sdp.replace('a=ptime:10\r\n', '')).toBe(OFFER);
	});

	it('replaces a ptime already there instead of adding a second, and is idempotent', () => {
		const withPtime = OFFER.replace('a=mid:1\r\n', 'a=mid:1\r\na=ptime:20\r\n');
		const once = askShortFrames(withPtime);
		expect(once.match(/a=ptime:/g)).toHaveLength(1);
		expect(once).toContain('a=ptime:10');
		expect(askShortFrames(once)).toBe(once);
	});

	it('leaves a description without audio (a tree link: data channel only) as it was', () => {
		const treeOnly = OFFER.split('m=audio')[0];
		expect(askShortFrames(treeOnly)).toBe(treeOnly);
	});
});
