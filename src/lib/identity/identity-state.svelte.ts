/**
 * The UI's view of this device's identity, as runes, with the actions a
 * person can take on it. Storage and key handling are loaded lazily so the
 * first paint does not wait for cryptography.
 */
import { AVATAR_COLORS, AVATAR_EMOJI, type Avatar } from './avatar';

/** What the avatar picker offers, and the colour each index stands for (components read them here). */
export const avatarChoices = { emoji: AVATAR_EMOJI, colors: AVATAR_COLORS } as const;
import type { Identity, IdentityNotice, IdentityStore } from './identity-store';

export class IdentityState {
	peerId = $state<string | null>(null);
	name = $state('');
	avatar = $state<Avatar | null>(null);
	/** The profile picture, as a URL an <img> shows (an object URL), or null. */
	picture = $state<string | null>(null);
	/** Why the last picture picked could not be used ('not-an-image' | 'too-large' | a storage error), or null. */
	pictureError = $state<string | null>(null);
	notice = $state<IdentityNotice | null>(null);
	importError = $state<string | null>(null);
	saveError = $state<string | null>(null);

	#identity: Identity | null = null;
	#store: IdentityStore | null = null;
	/** The picture's digest (identity/picture.ts), once computed. */
	#pictureDigest: string | null = null;

	/** Loads (or on first run creates) the identity. */
	async load(): Promise<Identity> {
		const [{ IdentityStore }, { idbKeyValueStore }] = await Promise.all([
			import('./identity-store'),
			import('../storage/idb-store')
		]);
		this.#store = new IdentityStore(idbKeyValueStore());
		const { identity, notice } = await this.#store.loadOrCreate();
		this.#set(identity);
		this.notice = notice;
		return identity;
	}

	async rename(name: string): Promise<void> {
		if (!this.#store || !this.#identity) return;
		try {
			this.#set(await this.#store.rename(this.#identity, name));
			this.saveError = null;
		} catch (err) {
			// Keep the new name for this session even if the disk refused it.
			this.name = name.trim();
			this.#identity = { ...this.#identity, name: this.name };
			this.saveError = err instanceof Error ? err.message : String(err);
		}
	}

	async setAvatar(avatar: Avatar | null): Promise<void> {
		if (!this.#store || !this.#identity) return;
		try {
			this.#set(await this.#store.setAvatar(this.#identity, avatar));
			this.saveError = null;
		} catch (err) {
			// Keep it for this session even if the disk refused it.
			this.#set({ ...this.#identity, avatar });
			this.saveError = err instanceof Error ? err.message : String(err);
		}
	}

	/** Makes a profile picture from an image file the person picked (picture-file.ts), and keeps it. */
	async setPictureFrom(file: Blob): Promise<void> {
		if (!this.#store || !this.#identity) return;
		const { pictureFromFile } = await import('./picture-file');
		try {
			const bytes = await pictureFromFile(file);
			this.#set(await this.#store.setPicture(this.#identity, bytes));
			this.pictureError = null;
		} catch (err) {
			this.pictureError = err instanceof Error ? err.message : String(err);
		}
	}

	async removePicture(): Promise<void> {
		if (!this.#store || !this.#identity) return;
		try {
			this.#set(await this.#store.setPicture(this.#identity, null));
			this.pictureError = null;
		} catch (err) {
			this.pictureError = err instanceof Error ? err.message : String(err);
		}
	}

	async exportText(): Promise<string> {
		if (!this.#identity) throw new Error('identity not loaded');
		const { encodeIdentityFile } = await import('./identity-file');
		return encodeIdentityFile(this.#identity);
	}

	/** Replaces this device's identity; true on success (the caller then restarts the network). */
	async importText(text: string): Promise<boolean> {
		if (!this.#store) return false;
		const { decodeIdentityFile } = await import('./identity-file');
		try {
			const { privateKey, name, avatar } = decodeIdentityFile(text);
			this.#set(await this.#store.replace(privateKey, name, avatar));
			this.importError = null;
			this.notice = null;
			return true;
		} catch (err) {
			this.importError = err instanceof Error ? err.message : String(err);
			return false;
		}
	}

	/** The current display name, for protocols that announce it. */
	currentName = (): string => this.#identity?.name ?? '';
	/** The current avatar, for protocols that announce it. */
	currentAvatar = (): Avatar | null => this.#identity?.avatar ?? null;

	/** The profile picture with its digest, for protocols that announce it (null until the digest is known). */
	currentPicture = (): { digest: string; bytes: Uint8Array } | null => {
		const bytes = this.#identity?.picture;
		return bytes && this.#pictureDigest ? { digest: this.#pictureDigest, bytes } : null;
	};

	#set(identity: Identity): void {
		const pictureChanged = identity.picture !== this.#identity?.picture;
		this.#identity = identity;
		this.peerId = identity.peerId;
		this.name = identity.name;
		this.avatar = identity.avatar;
		if (pictureChanged) void this.#showPicture(identity.picture);
	}

	async #showPicture(bytes: Uint8Array | null): Promise<void> {
		if (this.picture) URL.revokeObjectURL(this.picture);
		this.picture = null;
		this.#pictureDigest = null;
		if (!bytes) return;
		const { pictureDigest, pictureType } = await import('./picture');
		const digest = await pictureDigest(bytes);
		if (this.#identity?.picture !== bytes) return; // changed again meanwhile
		this.#pictureDigest = digest;
		this.picture = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: pictureType(bytes) ?? 'application/octet-stream' }));
	}
}
