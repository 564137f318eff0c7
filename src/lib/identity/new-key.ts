/**
 * A new Ed25519 identity key. The browser's WebCrypto makes it natively
 * (Chromium, Firefox and Safari all have Ed25519); @libp2p/crypto's own
 * generateKeyPair computes the public key in JavaScript (noble), whose
 * first use builds its tables: on a phone, a long task on the very first
 * start. Where WebCrypto has no Ed25519, that is the fallback.
 */
import { generateKeyPair, privateKeyFromRaw } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { concat, fromString } from 'uint8arrays';

export async function newIdentityKey(subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle): Promise<PrivateKey> {
	try {
		if (!subtle) throw new Error('no WebCrypto');
		const pair = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
		const { d, x } = await subtle.exportKey('jwk', pair.privateKey);
		if (!d || !x) throw new Error('the key came out without its parts');
		// libp2p's raw Ed25519 private key: the 32-byte seed, then the 32-byte public key.
		return privateKeyFromRaw(concat([fromString(d, 'base64url'), fromString(x, 'base64url')]));
	} catch {
		return generateKeyPair('Ed25519');
	}
}
