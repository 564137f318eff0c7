/**
 * A room's content keys: the link's key, and one key per epoch since.
 *
 * The link carries the room key (the *base* key). It stays what a joiner
 * needs to find members (meet), catch up (sync) and set up audio: a link is
 * the invitation. What members say to each other on the room topic (presence:
 * names, hands, mutes, tree adverts; and records as they are made) is sealed
 * with the room's *current* key instead, and every remove or ban rotates it:
 *
 * 1. the moderator draws 32 random bytes K and signs the remove/ban with
 *    `epoch` = base64url(SHA-256("stanza-room-key:" ‖ room id ‖ ":" ‖ K)), the
 *    commitment to K (authority.ts lists those in effect: view.keyEpochs);
 * 2. K travels only over authenticated, end-to-end encrypted libp2p
 *    connections (Noise), from member to member, each refusing anyone the
 *    room's verified state says is out (room-key-protocol.ts); a key is
 *    believed only if it hashes to a commitment in view.keyEpochs;
 * 3. once a member knows a newer commitment than the newest key it holds, it
 *    publishes nothing on the topic until it has that key: nothing it says
 *    after learning of the ban is sealed with a key the banned member holds.
 *
 * Receiving, every held key is tried, newest first (members still on the old
 * key until theirs arrives are read, not refused). Keys are kept on the
 * device with the room, so the last member holding one can reload.
 */
import { toString } from 'uint8arrays';
import { RoomCipher, type SealPurpose } from './room-crypto';

export const ROOM_KEY_BYTES = 32;
// Epoch keys kept: a room's recent history of removals; older epochs only matter to stragglers.
const MAX_HELD_EPOCHS = 16;
// Keys that hash to no commitment in effect yet (sent just before the op that names them arrives),
// kept in two lots of this many: those we drew or a moderator gave us, and those anyone else gave
// (so that junk pushed by a member cannot crowd out the key a moderator just drew).
const MAX_UNNAMED_KEYS = 4;

/** The commitment a remove/ban op carries for the key `raw` (43 base64url characters). */
export async function epochCommitment(roomId: string, raw: Uint8Array): Promise<string> {
	const label = new TextEncoder().encode(`stanza-room-key:${roomId}:`);
	const input = new Uint8Array(label.length + raw.length);
	input.set(label);
	input.set(raw, label.length);
	return toString(new Uint8Array(await crypto.subtle.digest('SHA-256', input)), 'base64url');
}

interface EpochKey {
	raw: Uint8Array;
	cipher: RoomCipher;
}

export class RoomKeys {
	readonly roomId: string;
	/** The link's key: meet, sync, media signalling, and the topic before the first rotation. */
	readonly base: RoomCipher;
	readonly #held = new Map<string, EpochKey>();
	/** Held keys that came from us or a moderator. */
	readonly #trusted = new Set<string>();
	#epochs: readonly string[] = [];

	private constructor(roomId: string, base: RoomCipher) {
		this.roomId = roomId;
		this.base = base;
	}

	static async create(roomId: string, baseKey: Uint8Array): Promise<RoomKeys> {
		return new RoomKeys(roomId, await RoomCipher.create(roomId, baseKey));
	}

	/** The commitments in effect, oldest first (view.keyEpochs). */
	setEpochs(epochs: readonly string[]): void {
		this.#epochs = epochs;
		this.#trim();
	}

	/** The newest commitment in effect whose key this member lacks, or null when up to date. */
	get wanted(): string | null {
		const newest = this.#epochs.at(-1);
		return newest !== undefined && !this.#held.has(newest) ? newest : null;
	}

	/** The commitment the topic is sealed under now (null: the base key). */
	get current(): string | null {
		return this.#epochs.at(-1) ?? null;
	}

	has(commitment: string): boolean {
		return this.#held.has(commitment);
	}

	rawKey(commitment: string): Uint8Array | undefined {
		return this.#held.get(commitment)?.raw;
	}

	/**
	 * The key for `commitment` when we hold it and an op in our verified view names it: the only keys we
	 * hand to a member who asks. A key can reach us before the op that names it (a moderator pushes it as
	 * it signs), and the op is what puts someone out: until it is here, we cannot tell whom it was drawn
	 * against, and would hand it to the member it bans, who learned the commitment from the op first.
	 */
	namedKey(commitment: string): Uint8Array | undefined {
		return this.#epochs.includes(commitment) ? this.rawKey(commitment) : undefined;
	}

	/** Draws a fresh key for a new epoch and holds it; returns its commitment for the op. */
	async draw(): Promise<string> {
		const raw = crypto.getRandomValues(new Uint8Array(ROOM_KEY_BYTES));
		const commitment = await this.add(raw, { trusted: true });
		return commitment!;
	}

	/**
	 * Holds `raw` under its commitment and returns that, or null when it is not
	 * a key. Keys are computed, never claimed: a key someone sends counts only
	 * for the commitment it hashes to, and seals nothing until a verified op
	 * names that commitment. `trusted`: drawn by us or given by a moderator
	 * (by the verified state), which only decides which keys no op names yet are
	 * kept when there are too many.
	 */
	async add(raw: Uint8Array, { trusted = false }: { trusted?: boolean } = {}): Promise<string | null> {
		if (raw.length !== ROOM_KEY_BYTES) return null;
		const commitment = await epochCommitment(this.roomId, raw);
		if (trusted) this.#trusted.add(commitment);
		if (!this.#held.has(commitment)) {
			this.#held.set(commitment, { raw: raw.slice(), cipher: await RoomCipher.create(this.roomId, raw) });
		}
		this.#trim();
		return commitment;
	}

	/**
	 * Seals for the topic with the current key, or with the key in effect just
	 * before `epoch` (the update that carries our own remove/ban, so the others
	 * can read what rotated the key). Null when the key to use is not held yet:
	 * the caller stays quiet rather than fall back to a key the removed holds.
	 */
	async sealTopic(plaintext: Uint8Array, before?: string): Promise<Uint8Array | null> {
		const index = before === undefined ? this.#epochs.length : this.#epochs.indexOf(before);
		const commitment = index > 0 ? this.#epochs[index - 1] : index < 0 ? this.#epochs.at(-1) : null;
		if (commitment === undefined || commitment === null) return this.base.seal('topic', plaintext);
		const key = this.#held.get(commitment);
		return key ? key.cipher.seal('topic', plaintext) : null;
	}

	/** Opens a topic message under any key held, newest first. Throws RoomCryptoError when none opens it. */
	async openTopic(sealed: Uint8Array): Promise<Uint8Array> {
		const order = [...this.#held.keys()].sort((a, b) => this.#epochs.indexOf(b) - this.#epochs.indexOf(a));
		for (const commitment of order) {
			try {
				return await this.#held.get(commitment)!.cipher.open('topic', sealed);
			} catch {
				// another epoch's key: try the next
			}
		}
		return this.base.open('topic', sealed);
	}

	seal(purpose: Exclude<SealPurpose, 'topic'>, plaintext: Uint8Array): Promise<Uint8Array> {
		return this.base.seal(purpose, plaintext);
	}

	open(purpose: Exclude<SealPurpose, 'topic'>, sealed: Uint8Array): Promise<Uint8Array> {
		return this.base.open(purpose, sealed);
	}

	/** The held keys, for storing with the room. */
	export(): Uint8Array[] {
		return [...this.#held.values()].map((k) => k.raw);
	}

	/** Keeps the keys of the newest epochs in effect, plus, in each lot, the few latest not (yet) named by any op. */
	#trim(): void {
		const named = this.#epochs.filter((c) => this.#held.has(c));
		const unnamed = [...this.#held.keys()].filter((c) => !this.#epochs.includes(c));
		const drop = (c: string) => {
			this.#held.delete(c);
			this.#trusted.delete(c);
		};
		named.slice(0, Math.max(0, named.length - MAX_HELD_EPOCHS)).forEach(drop);
		for (const lot of [unnamed.filter((c) => this.#trusted.has(c)), unnamed.filter((c) => !this.#trusted.has(c))]) {
			lot.slice(0, Math.max(0, lot.length - MAX_UNNAMED_KEYS)).forEach(drop);
		}
		for (const c of this.#trusted) if (!this.#held.has(c)) this.#trusted.delete(c);
	}
}
