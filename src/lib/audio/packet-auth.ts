/**
 * Who may make a listener play a sound: only the speaker. Every audio packet
 * (packet-codec.ts) ends with the speaker's Ed25519 signature over
 *
 *   "stanza-audio/2:" ‖ room id ‖ ":" ‖ header ‖ payload
 *
 * so a relaying listener can drop or delay packets but cannot change one,
 * make one up, or carry one over from another room. Every member checks the
 * signature before it plays a packet *and* before it forwards it, so a forged
 * packet goes no further than the first honest member below the forger.
 *
 * Ed25519 through WebCrypto (native in Chromium, Firefox, Safari and Node):
 * keys are imported once per speaker, not once per packet (which is what
 * @libp2p/crypto's verify does, a cost paid 50 times a second per stream).
 * The cost per packet is measured by `npm run bench:hostile`.
 */
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { toString } from 'uint8arrays';
import { SIGNATURE_BYTES, encodePacket, packetBody, type AudioPacket, type DecodedPacket } from './packet-codec';

const ED25519 = { name: 'Ed25519' };
const SEED_BYTES = 32;

/** The bytes a signature covers: the domain, the room, then the packet's header and payload. */
function signedBytes(prefix: Uint8Array, body: Uint8Array): Uint8Array<ArrayBuffer> {
	const bytes = new Uint8Array(prefix.length + body.length);
	bytes.set(prefix);
	bytes.set(body, prefix.length);
	return bytes;
}

function domain(roomId: string): Uint8Array {
	return new TextEncoder().encode(`stanza-audio/2:${roomId}:`);
}

/** A speaker's side: signs each packet it sends. */
export class PacketSigner {
	readonly #key: CryptoKey;
	readonly #prefix: Uint8Array;

	private constructor(key: CryptoKey, prefix: Uint8Array) {
		this.#key = key;
		this.#prefix = prefix;
	}

	/** From the member's identity key (Ed25519, as every Stanza identity is). */
	static async create(privateKey: PrivateKey, roomId: string): Promise<PacketSigner> {
		if (privateKey.type !== 'Ed25519') throw new Error(`audio packets are signed with an Ed25519 key, not ${privateKey.type}`);
		// libp2p's raw Ed25519 private key is seed (32) ‖ public key (32).
		const raw = privateKey.raw;
		const jwk: JsonWebKey = {
			kty: 'OKP',
			crv: 'Ed25519',
			d: toString(raw.subarray(0, SEED_BYTES), 'base64url'),
			x: toString(raw.subarray(SEED_BYTES), 'base64url')
		};
		const key = await crypto.subtle.importKey('jwk', jwk, ED25519, false, ['sign']);
		return new PacketSigner(key, domain(roomId));
	}

	/** The packet on the wire, signed. */
	async encode(packet: AudioPacket): Promise<Uint8Array> {
		const signature = new Uint8Array(await crypto.subtle.sign(ED25519, this.#key, signedBytes(this.#prefix, packetBody(packet))));
		return encodePacket(packet, signature);
	}
}

/** A listener's (and relay's) side: checks packets against the speakers' public keys. */
export class PacketVerifier {
	readonly #prefix: Uint8Array;
	readonly #keys = new Map<string, Promise<CryptoKey | null>>();

	constructor(roomId: string) {
		this.#prefix = domain(roomId);
	}

	/** True only when `packet` carries `speaker`'s valid signature for this room. Never throws. */
	async verify(speaker: string, packet: DecodedPacket): Promise<boolean> {
		if (packet.signature?.length !== SIGNATURE_BYTES) return false;
		const key = await this.#keyOf(speaker);
		if (!key) return false;
		try {
			return await crypto.subtle.verify(ED25519, key, packet.signature as Uint8Array<ArrayBuffer>, signedBytes(this.#prefix, packet.body));
		} catch {
			return false;
		}
	}

	/** Forgets a speaker's key (it left the stage). */
	forget(speaker: string): void {
		this.#keys.delete(speaker);
	}

	#keyOf(speaker: string): Promise<CryptoKey | null> {
		let key = this.#keys.get(speaker);
		if (!key) {
			key = importPublicKey(speaker);
			this.#keys.set(speaker, key);
		}
		return key;
	}
}

async function importPublicKey(peerId: string): Promise<CryptoKey | null> {
	try {
		const publicKey = peerIdFromString(peerId).publicKey;
		if (publicKey?.type !== 'Ed25519') return null;
		return await crypto.subtle.importKey('raw', publicKey.raw as Uint8Array<ArrayBuffer>, ED25519, false, ['verify']);
	} catch {
		return null;
	}
}
