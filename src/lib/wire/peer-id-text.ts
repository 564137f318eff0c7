/**
 * Whether a string has the shape of a PeerId in its base58btc text form
 * (Ed25519 identities are 52 characters, "12D3KooW…"; RSA and secp256k1 ones
 * up to ~60). A shape check for wire fields that name a peer, done before any
 * parsing: whether the peer exists or holds a key is for the caller to judge.
 */
const PEER_ID_TEXT = /^[1-9A-HJ-NP-Za-km-z]{46,60}$/;

export function looksLikePeerId(value: unknown): value is string {
	return typeof value === 'string' && PEER_ID_TEXT.test(value);
}
