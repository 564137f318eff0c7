import { describe, expect, it } from 'vitest';
import { askShortFrames, linkSdpProblem, sdpCandidateCount } from './stage-sdp';

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

// Descriptions as Chromium 156 and Firefox 153 ESR write them for a link (webrtc-pipe.ts: the negotiated
// data channel, then for a stage link the audio transceiver; max-bundle), cut to the lines that
// matter here and a few around them.
const sdp = (...lines: string[]) => [...lines, ''].join('\r\n');
const CHROMIUM_SESSION = ['v=0', 'o=- 5614016131168874491 2 IN IP4 127.0.0.1', 's=-', 't=0 0'];
const CHROMIUM_AUDIO = [
	'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
	'c=IN IP4 0.0.0.0',
	'a=rtcp:9 IN IP4 0.0.0.0',
	'a=ice-ufrag:aghZ',
	'a=ice-pwd:nwQlkeyIe2vE1Z7SsxpxpX8S',
	'a=ice-options:trickle',
	'a=setup:actpass',
	'a=mid:0',
	'a=sendrecv',
	'a=rtcp-mux',
	'a=rtpmap:111 opus/48000/2',
	'a=fmtp:111 minptime=10;useinbandfec=1',
	'a=ssrc:1589077919 cname:a+VJiWAqKEKPoGxh'
];
const chromiumData = (mid: number) => [
	'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
	'c=IN IP4 0.0.0.0',
	'a=ice-ufrag:aghZ',
	'a=ice-pwd:nwQlkeyIe2vE1Z7SsxpxpX8S',
	'a=setup:actpass',
	`a=mid:${mid}`,
	'a=sctp-port:5000',
	'a=max-message-size:262144'
];
const CHROMIUM_STAGE_OFFER = sdp(...CHROMIUM_SESSION, 'a=group:BUNDLE 0 1', 'a=extmap-allow-mixed', 'a=msid-semantic: WMS', ...CHROMIUM_AUDIO, ...chromiumData(1));
const CHROMIUM_TREE_OFFER = sdp(...CHROMIUM_SESSION, 'a=group:BUNDLE 0', 'a=extmap-allow-mixed', 'a=msid-semantic: WMS', ...chromiumData(0));
const FIREFOX_SESSION = ['v=0', 'o=mozilla...THIS_IS_SDPARTA-99.0 2096954379141746947 0 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=sendrecv'];
// Firefox offers every section but the first bundle-only, port 0, under max-bundle.
const FIREFOX_STAGE_OFFER = sdp(
	...FIREFOX_SESSION,
	'a=group:BUNDLE 0 1',
	'a=ice-options:trickle',
	'a=msid-semantic:WMS *',
	'm=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101',
	'c=IN IP4 0.0.0.0',
	'a=sendrecv',
	'a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1',
	'a=ice-pwd:c5dbb9d376ffde7915372cb7b355a7ce',
	'a=ice-ufrag:c77f3d43',
	'a=mid:0',
	'a=rtcp-mux',
	'a=rtpmap:109 opus/48000/2',
	'a=setup:actpass',
	'm=application 0 UDP/DTLS/SCTP webrtc-datachannel',
	'c=IN IP4 0.0.0.0',
	'a=bundle-only',
	'a=sendrecv',
	'a=mid:1',
	'a=setup:actpass',
	'a=sctp-port:5000',
	'a=max-message-size:1073741823'
);
const FIREFOX_TREE_ANSWER = sdp(
	...FIREFOX_SESSION,
	'a=group:BUNDLE 0',
	'a=ice-options:trickle',
	'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
	'c=IN IP4 0.0.0.0',
	'a=ice-pwd:7aa9d720958d9daa94e936669befa7d2',
	'a=ice-ufrag:2418638e',
	'a=mid:0',
	'a=setup:active',
	'a=sctp-port:5000',
	'a=max-message-size:1073741823'
);
const VIDEO = ['m=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:2', 'a=sendrecv', 'a=rtpmap:96 VP8/90000'];
const withBundle = (description: string, group: string) => description.replace(/a=group:BUNDLE[^\r]*/, `a=group:BUNDLE ${group}`);

describe('linkSdpProblem', () => {
	it.each([
		['a Chromium stage offer (audio, then data)', CHROMIUM_STAGE_OFFER, true],
		['a Firefox stage offer (data bundle-only, port 0)', FIREFOX_STAGE_OFFER, true],
		['a stage description with the data section first', OFFER, true],
		['a Chromium tree offer', CHROMIUM_TREE_OFFER, false],
		['a Firefox tree answer', FIREFOX_TREE_ANSWER, false],
		['a tree offer with bare LF line ends', CHROMIUM_TREE_OFFER.replaceAll('\r\n', '\n'), false]
	])('takes %s', (_label, description, voice) => {
		expect(linkSdpProblem(description, voice)).toBeNull();
	});

	it.each([
		['a tree offer with a voice', CHROMIUM_STAGE_OFFER, false, /1 m=application and 1 m=audio .*tree link/],
		['a stage offer without one', CHROMIUM_TREE_OFFER, true, /1 m=application and 0 m=audio .*stage link/],
		['a stage offer with a video too', withBundle(CHROMIUM_STAGE_OFFER, '0 1 2') + sdp(...VIDEO), true, /m=video/],
		['a tree offer with a video instead of a voice', withBundle(CHROMIUM_TREE_OFFER, '0 2') + sdp(...VIDEO), false, /m=video/],
		['a tree offer with a second data section', withBundle(CHROMIUM_TREE_OFFER, '0 1') + sdp(...chromiumData(1)), false, /2 m=application/],
		['a stage offer with a second voice', CHROMIUM_STAGE_OFFER.replace('m=application', `${CHROMIUM_AUDIO.join('\r\n').replace('a=mid:0', 'a=mid:2')}\r\nm=application`), true, /2 m=audio/],
		['a description with no section', sdp(...CHROMIUM_SESSION), false, /0 m=application/],
		['a section of a made-up kind', CHROMIUM_TREE_OFFER + sdp(`m=${'x'.repeat(5000)} 9 UDP 0`), false, /m=x{20} section/]
	])('refuses %s, saying what is wrong', (_label, description, voice, problem) => {
		expect(linkSdpProblem(description, voice)).toMatch(problem);
	});

	it('reads the section lines only, not attributes that mention a kind', () => {
		const tricky = CHROMIUM_TREE_OFFER.replace('a=mid:0', 'a=mid:0\r\na=label:m=video');
		expect(linkSdpProblem(tricky, false)).toBeNull();
	});
});

describe('sdpCandidateCount', () => {
	it('counts the candidate lines a description carries, whatever their line ends or case, and nothing else', () => {
		expect(sdpCandidateCount(CHROMIUM_TREE_OFFER)).toBe(0);
		const two = CHROMIUM_TREE_OFFER.replace('a=mid:0', 'a=mid:0\r\na=candidate:1 1 udp 2113937151 192.0.2.1 4000 typ host\na=candidate:2 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active\r\na=end-of-candidates\r\na=x-candidate:3\r\na=CANDIDATE:4 1 udp 1 192.0.2.2 4000 typ host');
		expect(sdpCandidateCount(two)).toBe(3);
	});
});
