/**
 * The identity export format: a small JSON document a person can save as a
 * file or paste as text to move their identity to another device.
 *
 *   { "stanza": "identity", "v": 1, "name": "Ada", "key": "<base64url protobuf Ed25519 private key>",
 *     "avatar": { "e": "🦊", "c": 2 } }
 *
 * `avatar` came later and is optional (identity/avatar.ts): files without it
 * import with no avatar, and a damaged one is dropped rather than refusing
 * the identity — the key and name are what matter. The version stays 1, so
 * older versions of the app still read the file (they ignore the avatar).
 *
 * Decoding validates everything and throws IdentityFileError with a message
 * meant for people; it never returns a half-valid identity.
 */
import { privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { fromString, toString } from 'uint8arrays';
import { readAvatar, type Avatar } from './avatar';
import { normalizeDisplayName } from './display-name';

export const IDENTITY_FILE_VERSION = 1;
// Far above a real export (~200 bytes): refuse pasted novels before parsing them.
const MAX_IDENTITY_FILE_CHARS = 4096;

export class IdentityFileError extends Error {
	override name = 'IdentityFileError';
}

export interface PortableIdentity {
	privateKey: PrivateKey;
	name: string;
	/** Absent or null: none. */
	avatar?: Avatar | null;
}

export function encodeIdentityFile(identity: PortableIdentity): string {
	return JSON.stringify({
		stanza: 'identity',
		v: IDENTITY_FILE_VERSION,
		name: identity.name,
		key: toString(privateKeyToProtobuf(identity.privateKey), 'base64url'),
		...(identity.avatar ? { avatar: identity.avatar } : {})
	});
}

export function decodeIdentityFile(text: string): PortableIdentity & { avatar: Avatar | null } {
	if (text.length > MAX_IDENTITY_FILE_CHARS) throw new IdentityFileError('This is too long to be a Stanza identity.');
	let doc: unknown;
	try {
		doc = JSON.parse(text.trim());
	} catch {
		throw new IdentityFileError('This is not a Stanza identity (not JSON).');
	}
	if (typeof doc !== 'object' || doc === null || (doc as { stanza?: unknown }).stanza !== 'identity') {
		throw new IdentityFileError('This is not a Stanza identity.');
	}
	const { v, name, key, avatar } = doc as { v?: unknown; name?: unknown; key?: unknown; avatar?: unknown };
	if (v !== IDENTITY_FILE_VERSION) throw new IdentityFileError(`Unsupported identity version: ${String(v)}.`);
	if (typeof key !== 'string') throw new IdentityFileError('The identity has no key.');
	return {
		privateKey: decodeEd25519Key(fromBase64url(key)),
		name: normalizeDisplayName(typeof name === 'string' ? name : ''),
		avatar: readAvatar(avatar)
	};
}

/** Parses a protobuf private key and insists on Ed25519, the only kind Stanza issues. */
export function decodeEd25519Key(bytes: Uint8Array): PrivateKey {
	let key: PrivateKey;
	try {
		key = privateKeyFromProtobuf(bytes);
	} catch {
		throw new IdentityFileError('The identity key is damaged.');
	}
	if (key.type !== 'Ed25519') throw new IdentityFileError(`Unsupported key type: ${key.type}.`);
	return key;
}

function fromBase64url(text: string): Uint8Array {
	try {
		return fromString(text, 'base64url');
	} catch {
		throw new IdentityFileError('The identity key is damaged.');
	}
}
