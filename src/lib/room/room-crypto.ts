/**
 * Everything a room sends on the network is sealed with the room key:
 * AES-256-GCM through WebCrypto, a fresh random 96-bit IV per message, and
 * the room id plus a purpose label as additional data, so a ciphertext from
 * one room (or one channel of a room) cannot be replayed into another.
 *
 *   sealed = iv (12 bytes) ‖ ciphertext ‖ GCM tag (16 bytes)
 *
 * Relays and anyone without the link see only these bytes.
 */
export const IV_BYTES = 12;
const TAG_BYTES = 16;
/** What sealing adds to a message: its IV and its GCM tag. */
export const SEAL_OVERHEAD_BYTES = IV_BYTES + TAG_BYTES;

export type SealPurpose = 'topic' | 'sync' | 'media' | 'meet' | 'key';

export class RoomCryptoError extends Error {
	override name = 'RoomCryptoError';
}

export class RoomCipher {
	readonly roomId: string;
	readonly #key: CryptoKey;

	private constructor(roomId: string, key: CryptoKey) {
		this.roomId = roomId;
		this.#key = key;
	}

	static async create(roomId: string, rawKey: Uint8Array): Promise<RoomCipher> {
		const key = await crypto.subtle.importKey('raw', rawKey as BufferSource, 'AES-GCM', false, ['encrypt', 'decrypt']);
		return new RoomCipher(roomId, key);
	}

	async seal(purpose: SealPurpose, plaintext: Uint8Array): Promise<Uint8Array> {
		const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
		const ciphertext = new Uint8Array(
			await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: this.#aad(purpose) as BufferSource }, this.#key, plaintext as BufferSource)
		);
		const sealed = new Uint8Array(IV_BYTES + ciphertext.length);
		sealed.set(iv);
		sealed.set(ciphertext, IV_BYTES);
		return sealed;
	}

	/** Throws RoomCryptoError when the bytes were not sealed with this room's key for this purpose. */
	async open(purpose: SealPurpose, sealed: Uint8Array): Promise<Uint8Array> {
		if (sealed.length < IV_BYTES + TAG_BYTES) throw new RoomCryptoError('sealed message too short');
		try {
			return new Uint8Array(
				await crypto.subtle.decrypt(
					{ name: 'AES-GCM', iv: sealed.subarray(0, IV_BYTES) as BufferSource, additionalData: this.#aad(purpose) as BufferSource },
					this.#key,
					sealed.subarray(IV_BYTES) as BufferSource
				)
			);
		} catch {
			throw new RoomCryptoError('message was not sealed with this room’s key');
		}
	}

	#aad(purpose: SealPurpose): Uint8Array {
		return new TextEncoder().encode(`stanza-room:${this.roomId}:${purpose}`);
	}
}
