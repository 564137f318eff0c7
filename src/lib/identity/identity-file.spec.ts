import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { toString } from 'uint8arrays';
import { describe, expect, it } from 'vitest';
import { decodeIdentityFile, encodeIdentityFile, IdentityFileError } from './identity-file';

describe('identity file', () => {
	it('round-trips key and name', async () => {
		const privateKey = await generateKeyPair('Ed25519');
		const decoded = decodeIdentityFile(encodeIdentityFile({ privateKey, name: 'Ada' }));
		expect(decoded.name).toBe('Ada');
		expect(decoded.privateKey.equals(privateKey)).toBe(true);
	});

	it('carries the avatar, and imports files without one or with a damaged one (no avatar then)', async () => {
		const privateKey = await generateKeyPair('Ed25519');
		const avatar = { e: '🦉', c: 3 };
		expect(decodeIdentityFile(encodeIdentityFile({ privateKey, name: 'Ada', avatar })).avatar).toEqual(avatar);
		expect(decodeIdentityFile(encodeIdentityFile({ privateKey, name: 'Ada' })).avatar).toBeNull();
		expect(JSON.parse(encodeIdentityFile({ privateKey, name: 'Ada', avatar: null }))).not.toHaveProperty('avatar');
		const file = JSON.parse(encodeIdentityFile({ privateKey, name: 'Ada', avatar }));
		for (const damaged of [{ e: 'abc', c: 1 }, { e: '🦉', c: 99 }, '🦉', [1, 2], { e: '🦉', c: 1, x: 1 }]) {
			const decoded = decodeIdentityFile(JSON.stringify({ ...file, avatar: damaged }));
			expect(decoded.avatar, JSON.stringify(damaged)).toBeNull();
			expect(decoded.privateKey.equals(privateKey)).toBe(true);
			expect(decoded.name).toBe('Ada');
		}
	});

	it('accepts surrounding white space from a paste', async () => {
		const privateKey = await generateKeyPair('Ed25519');
		const text = `\n  ${encodeIdentityFile({ privateKey, name: 'Ada' })}  \n`;
		expect(decodeIdentityFile(text).privateKey.equals(privateKey)).toBe(true);
	});

	it.each([
		['empty text', '', /not JSON/],
		['plain text', 'hello', /not JSON/],
		['another JSON document', '{"a":1}', /not a Stanza identity/],
		['a future version', '{"stanza":"identity","v":2,"key":"AA"}', /Unsupported identity version/],
		['no key', '{"stanza":"identity","v":1,"name":"x"}', /no key/],
		['a broken key', '{"stanza":"identity","v":1,"key":"AAAA"}', /damaged/],
		['a key with bad base64', '{"stanza":"identity","v":1,"key":"!!!"}', /damaged/],
		['huge input', 'x'.repeat(10_000), /too long/]
	])('refuses %s with a clear message', (_label, text, message) => {
		expect(() => decodeIdentityFile(text)).toThrow(IdentityFileError);
		expect(() => decodeIdentityFile(text)).toThrow(message);
	});

	it('refuses keys that are not Ed25519', async () => {
		const key = await generateKeyPair('secp256k1');
		const text = JSON.stringify({ stanza: 'identity', v: 1, key: toString(privateKeyToProtobuf(key), 'base64url') });
		expect(() => decodeIdentityFile(text)).toThrow(/Unsupported key type/);
	});
});
