/**
 * Keeps this device's identity: an Ed25519 key made on first run, plus an
 * editable display name. The key is the person's PeerId, so losing it means
 * losing who they are in every room: a damaged record is set aside (never
 * deleted) before a new identity is made, and the caller is told.
 */
import { privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { newIdentityKey } from './new-key';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { KeyValueStore } from '../storage/key-value';
import { readAvatar, type Avatar } from './avatar';
import { normalizeDisplayName } from './display-name';
import { decodeEd25519Key } from './identity-file';
import { pictureType } from './picture';

export const IDENTITY_KEY = 'identity';
export const CORRUPT_IDENTITY_PREFIX = 'identity.corrupt.';

interface StoredIdentity {
	v: 1;
	key: Uint8Array;
	name: string;
	/** Added later: absent in older records (then no avatar). */
	avatar?: Avatar;
	/** Added later still: a profile picture (identity/picture.ts), kept on this device only. */
	picture?: Uint8Array;
}

export interface Identity {
	privateKey: PrivateKey;
	peerId: string;
	name: string;
	avatar: Avatar | null;
	/** The profile picture's bytes (WebP, JPEG or PNG), or null. */
	picture: Uint8Array | null;
}

export type IdentityNotice =
	/** The stored identity was unreadable: it was kept aside and a new one made. */
	| { kind: 'recovered'; keptAs: string }
	/** The identity could not be saved (full or blocked storage): it lasts this session only. */
	| { kind: 'not-saved'; reason: string };

export interface LoadedIdentity {
	identity: Identity;
	notice: IdentityNotice | null;
}

export class IdentityStore {
	readonly #kv: KeyValueStore;
	readonly #now: () => number;

	constructor(kv: KeyValueStore, now: () => number = Date.now) {
		this.#kv = kv;
		this.#now = now;
	}

	/** Loads the stored identity, or makes (and saves) a new one. Never throws on bad data. */
	async loadOrCreate(): Promise<LoadedIdentity> {
		let raw: unknown;
		try {
			raw = await this.#kv.get<unknown>(IDENTITY_KEY);
		} catch (err) {
			return this.#createUnsaved(`storage unavailable: ${errorMessage(err)}`);
		}
		if (raw === undefined) return this.#create(null);
		const parsed = parseStored(raw);
		if (parsed) return { identity: parsed, notice: null };

		const keptAs = `${CORRUPT_IDENTITY_PREFIX}${this.#now()}`;
		try {
			await this.#kv.set(keptAs, raw);
		} catch (err) {
			// Cannot keep the damaged record aside: do not overwrite it either.
			return this.#createUnsaved(`damaged identity could not be kept aside: ${errorMessage(err)}`);
		}
		return this.#create({ kind: 'recovered', keptAs });
	}

	/** Saves a new display name; returns the normalized name. */
	async rename(identity: Identity, name: string): Promise<Identity> {
		const next = { ...identity, name: normalizeDisplayName(name) };
		await this.#save(next);
		return next;
	}

	/** Saves a new avatar (null: none); returns the identity with it. */
	async setAvatar(identity: Identity, avatar: Avatar | null): Promise<Identity> {
		const next = { ...identity, avatar: readAvatar(avatar) };
		await this.#save(next);
		return next;
	}

	/** Saves a new profile picture (null: none); returns the identity with it. Throws on bytes that are not a picture we show. */
	async setPicture(identity: Identity, picture: Uint8Array | null): Promise<Identity> {
		if (picture && !pictureType(picture)) throw new Error('not a WebP, JPEG or PNG picture of at most 16 KiB');
		const next = { ...identity, picture };
		await this.#save(next);
		return next;
	}

	/** Replaces this device's identity with an imported one (its picture stays with the device it was chosen on). */
	async replace(privateKey: PrivateKey, name: string, avatar: Avatar | null = null): Promise<Identity> {
		const next = toIdentity(privateKey, normalizeDisplayName(name), readAvatar(avatar));
		await this.#save(next);
		return next;
	}

	async #create(notice: IdentityNotice | null): Promise<LoadedIdentity> {
		const identity = toIdentity(await newIdentityKey(), '');
		try {
			await this.#save(identity);
		} catch (err) {
			return { identity, notice: { kind: 'not-saved', reason: errorMessage(err) } };
		}
		return { identity, notice };
	}

	async #createUnsaved(reason: string): Promise<LoadedIdentity> {
		const identity = toIdentity(await newIdentityKey(), '');
		return { identity, notice: { kind: 'not-saved', reason } };
	}

	async #save(identity: Identity): Promise<void> {
		const record: StoredIdentity = {
			v: 1,
			key: privateKeyToProtobuf(identity.privateKey),
			name: identity.name,
			...(identity.avatar ? { avatar: identity.avatar } : {}),
			...(identity.picture ? { picture: identity.picture } : {})
		};
		await this.#kv.set(IDENTITY_KEY, record);
	}
}

function toIdentity(privateKey: PrivateKey, name: string, avatar: Avatar | null = null, picture: Uint8Array | null = null): Identity {
	return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), name, avatar, picture };
}

function parseStored(raw: unknown): Identity | null {
	if (typeof raw !== 'object' || raw === null) return null;
	const { v, key, name, avatar, picture } = raw as Partial<StoredIdentity>;
	if (v !== 1 || !(key instanceof Uint8Array) || typeof name !== 'string') return null;
	try {
		// A damaged avatar or picture is only dropped: the key and name are what matter.
		const shown = picture instanceof Uint8Array && pictureType(picture) ? picture : null;
		return toIdentity(decodeEd25519Key(key), normalizeDisplayName(name), readAvatar(avatar), shown);
	} catch {
		return null;
	}
}

function errorMessage(err: unknown): string {
	return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
