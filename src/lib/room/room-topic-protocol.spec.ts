import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import {
	decodeTopicMessage,
	encodeTopicMessage,
	goodbyeIsGenuine,
	MAX_TOPIC_UPDATE_BYTES,
	roomTopicFor,
	signGoodbye,
	TopicMessageError,
	type TopicMessage
} from './room-topic-protocol';

const raw = (type: number, s: string) => new Uint8Array([type, ...new TextEncoder().encode(s)]);

describe('room topic messages', () => {
	it.each<TopicMessage>([
		{ type: 'update', update: new Uint8Array([1, 2, 3]) },
		{ type: 'presence', seq: 1_700_000_000_001, name: 'Ada', hand: 1_700_000_000_000, muted: false },
		{ type: 'presence', seq: 7, name: '', hand: null, muted: true },
		{ type: 'presence', seq: 11, name: 'Ada', hand: null, muted: false, avatar: { e: '🦊', c: 3 } },
		{ type: 'presence', seq: 12, name: 'Ada', hand: null, muted: false, picture: 'A'.repeat(42) + 'w' },
		{ type: 'presence', seq: 12, name: 'Ada', hand: null, muted: false, beatSeconds: 1 },
		{ type: 'presence', seq: 13, name: 'Ada', hand: null, muted: false, beatSeconds: 3600 },
		{ type: 'presence', seq: 14, name: 'Ada', hand: null, muted: false, joining: true },
		{ type: 'leave', seq: 9 },
		{ type: 'reaction', seq: 13, reaction: 'clap' },
		{ type: 'goodbye', peer: '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp', seq: 11, sig: new Uint8Array(64).map((_, i) => i * 3) },
		{ type: 'presence', seq: 8, name: 'L', hand: null, muted: false, tree: { d: 2, c: 2, k: 1, p: '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp' } },
		{ type: 'presence', seq: 9, name: 'L', hand: null, muted: false, tree: { d: null, c: 0, k: 0, p: null } },
		{ type: 'presence', seq: 10, name: 'S', hand: null, muted: false, tree: { d: 0, c: 2, k: 2, p: null, t: [1, 0xffffffff], s: true, h: [3, 0xfffffffe], q: 0xfffffff0, r: 7 } }
	])('round-trip %j', (message) => {
		expect(decodeTopicMessage(encodeTopicMessage(message))).toEqual(message);
	});

	it.each([
		['empty', new Uint8Array()],
		['unknown type', raw(9, '{}')],
		['presence without seq', raw(2, '{"name":"a","hand":null,"muted":false}')],
		['presence with a text hand', raw(2, '{"seq":1,"name":"a","hand":"up","muted":false}')],
		['presence with a negative seq', raw(2, '{"seq":-1,"name":"a","hand":null,"muted":false}')],
		['presence not JSON', raw(2, 'nope')],
		['presence as an array', raw(2, '[1]')],
		['presence with a false "j"', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"j":false}')],
		['presence with a zero beat', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"b":0}')],
		['presence with a beat past an hour', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"b":3601}')],
		['presence with a fractional beat', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"b":1.5}')],
		['presence with a text beat', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"b":"4"}')],
		['leave without seq', raw(3, '{}')],
		['reaction without seq', raw(5, '{"r":"clap"}')],
		['reaction not in the set', raw(5, '{"seq":1,"r":"poop"}')],
		['reaction named after an object property', raw(5, '{"seq":1,"r":"constructor"}')],
		['goodbye without a peer', raw(4, `{"seq":1,"sig":"${'A'.repeat(86)}=="}`)],
		['goodbye naming no PeerId', raw(4, `{"peer":"x","seq":1,"sig":"${'A'.repeat(86)}=="}`)],
		['goodbye without seq', raw(4, `{"peer":"12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp","sig":"${'A'.repeat(86)}=="}`)],
		['goodbye with a short signature', raw(4, '{"peer":"12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp","seq":1,"sig":"AAAA"}')],
		['goodbye with a signature that is not base64', raw(4, `{"peer":"12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp","seq":1,"sig":"${'*'.repeat(86)}=="}`)],
		['a tree with a negative depth', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":-1,"c":1,"k":0,"p":null}}')],
		['a tree with a silly fan-out', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":1,"c":1000,"k":0,"p":null}}')],
		['a tree with a bogus parent', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":1,"c":1,"k":0,"p":"x"}}')],
		['a tree with child tags that are not u32', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":1,"c":1,"k":0,"p":null,"t":[-1]}}')],
		['a tree with too many child tags', raw(2, `{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":1,"c":1,"k":0,"p":null,"t":[${Array(17).fill(1)}]}}`)],
		['a tree whose stream mark is not u32', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":0,"c":1,"k":0,"p":null,"q":4294967296,"r":1}}')],
		['a tree whose stream mark is a string', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":0,"c":1,"k":0,"p":null,"q":"7","r":1}}')],
		['a tree whose stream start is negative', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":0,"c":1,"k":0,"p":null,"q":7,"r":-1}}')],
		['a tree with a stream mark but no start', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":0,"c":1,"k":0,"p":null,"q":7}}')],
		['a tree with heard tags that are not u32', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":0,"c":1,"k":0,"p":null,"h":[1.5]}}')],
		['a tree with too many heard tags', raw(2, `{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":0,"c":1,"k":0,"p":null,"h":[${Array(33).fill(1)}]}}`)],
		['a tree whose heard tags are not a list', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":0,"c":1,"k":0,"p":null,"h":7}}')],
		['a tree whose sending flag is not true', raw(2, '{"seq":1,"name":"a","hand":null,"muted":false,"tree":{"d":0,"c":1,"k":0,"p":null,"s":1}}')],
		['oversized presence', raw(2, JSON.stringify({ seq: 1, name: 'x'.repeat(2000), hand: null, muted: false }))],
		['oversized update', new Uint8Array(MAX_TOPIC_UPDATE_BYTES + 2).fill(1)]
	])('refuses %s', (_label, bytes) => {
		expect(() => decodeTopicMessage(bytes)).toThrow(TopicMessageError);
	});

	it('leaves the picture out of a presence that would not fit with it, and refuses one that does not fit at all', () => {
		const tree = { d: 12, c: 8, k: 8, p: `12D3KooW${'A'.repeat(44)}`, t: Array(16).fill(2 ** 32 - 1), s: true as const, h: Array(32).fill(2 ** 32 - 1), q: 2 ** 32 - 1, r: 2 ** 32 - 1 };
		const longest = { type: 'presence' as const, seq: 2 ** 52, name: '𝓐'.repeat(40), hand: 2 ** 52, muted: true, avatar: { e: '👩🏽‍🚀👩🏽‍🚀', c: 7 }, tree, beatSeconds: 3600, joining: true as const };
		const picture = 'A'.repeat(43);
		// The longest a member can say still carries its picture…
		expect(decodeTopicMessage(encodeTopicMessage({ ...longest, picture }))).toMatchObject({ picture });
		// …and one longer still (a member's own code) goes without it rather than unread.
		const longer = { ...longest, avatar: { e: '👩🏽‍🚀👩🏽‍🚀', c: 7, x: 'y'.repeat(20) } as unknown as typeof longest.avatar };
		const decoded = decodeTopicMessage(encodeTopicMessage({ ...longer, picture }));
		expect(decoded).toMatchObject({ type: 'presence', seq: longest.seq });
		expect(decoded).not.toHaveProperty('picture');
		expect(() => encodeTopicMessage({ ...longest, name: 'x'.repeat(1_000) })).toThrow(TopicMessageError);
	});

	it('drops a picture digest that does not read, and keeps the presence', () => {
		for (const i of ['abc', 'A'.repeat(44), 42, null, { d: 'x' }]) {
			const message = decodeTopicMessage(raw(2, JSON.stringify({ seq: 1, name: 'Ada', hand: null, muted: false, i })));
			expect(message, JSON.stringify(i)).toEqual({ type: 'presence', seq: 1, name: 'Ada', hand: null, muted: false });
		}
	});

	it('drops an avatar that does not read, and keeps the presence', () => {
		for (const avatar of ['🦊', { e: 'Ada', c: 1 }, { e: '🦊', c: 99 }, { e: '🦊', c: 1, x: 1 }, null]) {
			const message = decodeTopicMessage(raw(2, JSON.stringify({ seq: 1, name: 'Ada', hand: null, muted: false, avatar })));
			expect(message, JSON.stringify(avatar)).toEqual({ type: 'presence', seq: 1, name: 'Ada', hand: null, muted: false });
		}
	});

	it('never throws anything but TopicMessageError on random input', () => {
		fc.assert(
			fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
				try {
					decodeTopicMessage(bytes);
				} catch (err) {
					expect(err).toBeInstanceOf(TopicMessageError);
				}
			})
		);
	});

	it('takes a goodbye only as signed: by the peer it names, for this topic and this seq', async () => {
		const key = await generateKeyPair('Ed25519');
		const me = { peerId: peerIdFromPrivateKey(key), privateKey: key };
		const other = await generateKeyPair('Ed25519');
		const goodbye = await signGoodbye('stanza/room/1/aa', me, 41);
		const wire = decodeTopicMessage(encodeTopicMessage(goodbye));
		expect(wire).toEqual({ ...goodbye, sig: Uint8Array.from(goodbye.sig) });
		expect(await goodbyeIsGenuine('stanza/room/1/aa', goodbye)).toBe(true);
		expect(await goodbyeIsGenuine('stanza/room/1/bb', goodbye)).toBe(false); // moved to another room
		expect(await goodbyeIsGenuine('stanza/room/1/aa', { ...goodbye, seq: 43 })).toBe(false); // a later seq, to outlive a return
		expect(await goodbyeIsGenuine('stanza/room/1/aa', { ...goodbye, peer: peerIdFromPrivateKey(other).toString() })).toBe(false); // someone else sent away
		expect(await goodbyeIsGenuine('stanza/room/1/aa', { ...goodbye, sig: goodbye.sig.map((b, i) => (i === 5 ? b ^ 1 : b)) })).toBe(false);
		expect(await goodbyeIsGenuine('stanza/room/1/aa', { ...goodbye, peer: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' })).toBe(false); // not Ed25519
	});

	it('derives topic names that hide the room id', async () => {
		const topic = await roomTopicFor('room-id-123');
		expect(topic).toMatch(/^stanza\/room\/1\/[0-9a-f]{32}$/);
		expect(topic).not.toContain('room-id-123');
	});
});
