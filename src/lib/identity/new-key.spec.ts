import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys';
import { describe, expect, it } from 'vitest';
import { newIdentityKey } from './new-key';

const message = new TextEncoder().encode('stanza');

describe('newIdentityKey', () => {
	it('makes an Ed25519 key whose public half is the one its seed gives, and whose signatures verify', async () => {
		const key = await newIdentityKey();
		expect(key.type).toBe('Ed25519');
		// The public key stored beside the seed is the one the seed derives (@libp2p/crypto's own arithmetic).
		expect(key.publicKey.raw).toEqual((await generateKeyPairFromSeed('Ed25519', key.raw.subarray(0, 32))).publicKey.raw);
		const signature = await key.sign(message);
		expect(await publicKeyFromRaw(key.publicKey.raw).verify(message, signature)).toBe(true);
		expect(await key.publicKey.verify(new TextEncoder().encode('other'), signature)).toBe(false);
	});

	it('makes a different key each time', async () => {
		const [a, b] = await Promise.all([newIdentityKey(), newIdentityKey()]);
		expect(a.equals(b)).toBe(false);
	});

	it('falls back to @libp2p/crypto where WebCrypto has no Ed25519', async () => {
		const noEd25519 = { generateKey: () => Promise.reject(new DOMException('Unrecognized name', 'NotSupportedError')) } as unknown as SubtleCrypto;
		const key = await newIdentityKey(noEd25519);
		expect(key.publicKey.raw).toEqual((await generateKeyPairFromSeed('Ed25519', key.raw.subarray(0, 32))).publicKey.raw);
		expect(await key.publicKey.verify(message, await key.sign(message))).toBe(true);
	});
});
