import { describe, expect, it } from 'vitest';
import {
	decodeMeetAnnounce,
	encodeMeetAnnounce,
	MAX_MEET_ADDRS,
	MEET_TOPIC_PREFIX,
	MeetProtocolError,
	meetTopicFor,
	webrtcAddrs,
	addrsToDial,
	MAX_OTHER_RELAYS
} from './meet-protocol';

const ME = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';
const RELAY = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo';
const addr = `/ip4/127.0.0.1/tcp/8080/ws/p2p/${RELAY}/p2p-circuit/webrtc/p2p/${ME}`;
const bytes = (s: string) => new TextEncoder().encode(s);

describe('meet announce codec', () => {
	it('round-trips', () => {
		expect(decodeMeetAnnounce(encodeMeetAnnounce({ addrs: [addr], open: true }), ME)).toEqual({ addrs: [addr], open: true, full: false });
		expect(decodeMeetAnnounce(encodeMeetAnnounce({ addrs: [addr], open: false }), ME)).toEqual({ addrs: [addr], open: false, full: false });
		expect(decodeMeetAnnounce(encodeMeetAnnounce({ addrs: [addr], open: false, full: true }), ME)).toEqual({ addrs: [addr], open: false, full: true });
		expect(decodeMeetAnnounce(encodeMeetAnnounce({ addrs: [addr], open: true, joining: true }), ME)).toEqual({ addrs: [addr], open: true, full: false, joining: true });
		for (const intervalSeconds of [1, 50, 3600]) {
			expect(decodeMeetAnnounce(encodeMeetAnnounce({ addrs: [addr], open: false, full: true, intervalSeconds }), ME)).toEqual({ addrs: [addr], open: false, full: true, intervalSeconds });
		}
	});

	it('reads an announce without "open" as open (older peers)', () => {
		expect(decodeMeetAnnounce(bytes(JSON.stringify({ addrs: [addr] })), ME)).toEqual({ addrs: [addr], open: true, full: false });
	});

	it.each([
		['not JSON', bytes('nope')],
		['not UTF-8', new Uint8Array([0xc3, 0x28])],
		['no addresses', bytes('{"addrs":[]}')],
		['addresses not a list', bytes('{"addrs":"x"}')],
		['a number as address', bytes('{"addrs":[1]}')],
		['too many addresses', bytes(JSON.stringify({ addrs: Array(MAX_MEET_ADDRS + 1).fill(addr) }))],
		['someone else’s address', bytes(JSON.stringify({ addrs: [addr.replace(ME, RELAY)] }))],
		['"open" that is not a boolean', bytes(JSON.stringify({ addrs: [addr], open: 'yes' }))],
		['"full" that is not a boolean', bytes(JSON.stringify({ addrs: [addr], full: 1 }))],
		['"j" that is not true', bytes(JSON.stringify({ addrs: [addr], j: false }))],
		['a zero interval', bytes(JSON.stringify({ addrs: [addr], i: 0 }))],
		['an interval past an hour', bytes(JSON.stringify({ addrs: [addr], i: 3601 }))],
		['a fractional interval', bytes(JSON.stringify({ addrs: [addr], i: 2.5 }))],
		['an interval as text', bytes(JSON.stringify({ addrs: [addr], i: '15' }))],
		['an oversized payload', bytes(JSON.stringify({ addrs: [addr], pad: 'x'.repeat(4096) }))]
	])('refuses %s', (_label, input) => {
		expect(() => decodeMeetAnnounce(input, ME)).toThrow(MeetProtocolError);
	});
});

describe('meetTopicFor', () => {
	it('hides the topic name behind a stable hash', async () => {
		const a = await meetTopicFor('secret-room');
		expect(a).toBe(await meetTopicFor('secret-room'));
		expect(a).not.toContain('secret');
		expect(a.startsWith(MEET_TOPIC_PREFIX)).toBe(true);
		expect(a).not.toBe(await meetTopicFor('other-room'));
	});
});

describe('webrtcAddrs', () => {
	it('keeps only circuit WebRTC addresses', () => {
		expect(webrtcAddrs([addr, `/ip4/127.0.0.1/tcp/8080/ws/p2p/${RELAY}/p2p-circuit/p2p/${ME}`])).toEqual([addr]);
	});
});

describe('addrsToDial', () => {
	const via = (relay: string) => `/dns4/${relay}.example/tcp/443/tls/ws/p2p/${relay}/p2p-circuit/webrtc/p2p/${ME}`;
	it('dials through the relays we hold reservations on first, then through at most MAX_OTHER_RELAYS others', () => {
		const named = ['r1', 'r2', 'ours-a', 'r3', 'r4', 'ours-b', 'r5', 'r6'].map(via);
		expect(addrsToDial(named, new Set(['ours-a', 'ours-b']))).toEqual([via('ours-a'), via('ours-b'), via('r1'), via('r2')]);
		expect(MAX_OTHER_RELAYS).toBe(2);
		// On none of ours (or before our first reservation): the first two relays named, every address through them.
		const twice = [via('r1'), via('r2'), via('r3'), via('r1').replace('/dns4/r1.example/', '/ip4/192.0.2.1/')];
		expect(addrsToDial(twice, new Set())).toEqual([via('r1'), via('r2'), twice[3]]);
		expect(addrsToDial([], new Set(['ours-a']))).toEqual([]);
	});
});
