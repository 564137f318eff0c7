import { generateKeyPair } from '@libp2p/crypto/keys';
import { describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from '../storage/key-value';
import { CORRUPT_IDENTITY_PREFIX, IDENTITY_KEY, IdentityStore } from './identity-store';

describe('IdentityStore', () => {
	it('creates an Ed25519 identity on first run and returns the same one afterwards', async () => {
		const kv = new MemoryKeyValueStore();
		const first = await new IdentityStore(kv).loadOrCreate();
		expect(first.notice).toBeNull();
		expect(first.identity.privateKey.type).toBe('Ed25519');
		expect(first.identity.peerId).toMatch(/^12D3KooW/);

		const second = await new IdentityStore(kv).loadOrCreate();
		expect(second.identity.peerId).toBe(first.identity.peerId);
		expect(second.notice).toBeNull();
	});

	it('keeps a renamed display name, normalized', async () => {
		const kv = new MemoryKeyValueStore();
		const store = new IdentityStore(kv);
		const { identity } = await store.loadOrCreate();
		const renamed = await store.rename(identity, '  Ada \n Lovelace  ');
		expect(renamed.name).toBe('Ada Lovelace');
		expect((await new IdentityStore(kv).loadOrCreate()).identity.name).toBe('Ada Lovelace');
	});

	it('keeps an avatar across loads; a record from before avatars, or with a damaged one, loads with none', async () => {
		const kv = new MemoryKeyValueStore();
		const store = new IdentityStore(kv);
		const { identity } = await store.loadOrCreate();
		expect(identity.avatar).toBeNull();
		await store.setAvatar(identity, { e: '🦊', c: 2 });
		const loaded = (await new IdentityStore(kv).loadOrCreate()).identity;
		expect(loaded.avatar).toEqual({ e: '🦊', c: 2 });
		expect(loaded.peerId).toBe(identity.peerId);
		kv.data.set(IDENTITY_KEY, { ...(kv.data.get(IDENTITY_KEY) as object), avatar: { e: 'not an emoji', c: 99 } });
		const damaged = await new IdentityStore(kv).loadOrCreate();
		expect(damaged.notice).toBeNull();
		expect(damaged.identity.peerId).toBe(identity.peerId);
		expect(damaged.identity.avatar).toBeNull();
	});

	it('keeps a profile picture across loads; refuses bytes that are not one; a damaged stored one loads as none', async () => {
		const kv = new MemoryKeyValueStore();
		const store = new IdentityStore(kv);
		const { identity } = await store.loadOrCreate();
		expect(identity.picture).toBeNull();
		const png = new Uint8Array(64);
		png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
		await store.setPicture(identity, png);
		expect((await new IdentityStore(kv).loadOrCreate()).identity.picture).toEqual(png);
		await expect(store.setPicture(identity, new TextEncoder().encode('<svg onload="alert(1)"/>'))).rejects.toThrow(/not a WebP, JPEG or PNG/);
		expect((await new IdentityStore(kv).loadOrCreate()).identity.picture).toEqual(png);
		kv.data.set(IDENTITY_KEY, { ...(kv.data.get(IDENTITY_KEY) as object), picture: 'not bytes' });
		const damaged = await new IdentityStore(kv).loadOrCreate();
		expect(damaged.identity.peerId).toBe(identity.peerId);
		expect(damaged.identity.picture).toBeNull();
		await store.setPicture(damaged.identity, null);
		expect((await new IdentityStore(kv).loadOrCreate()).identity.picture).toBeNull();
	});

	it.each([
		['a string', 'garbage'],
		['a record with a broken key', { v: 1, key: new Uint8Array([1, 2, 3]), name: 'x' }],
		['a record of another version', { v: 9, key: new Uint8Array(), name: '' }],
		['null', null]
	])('sets %s aside and starts a new identity', async (_label, bad) => {
		const kv = new MemoryKeyValueStore();
		kv.data.set(IDENTITY_KEY, bad);
		const { identity, notice } = await new IdentityStore(kv, () => 42).loadOrCreate();
		expect(notice).toEqual({ kind: 'recovered', keptAs: `${CORRUPT_IDENTITY_PREFIX}42` });
		expect(kv.data.get(`${CORRUPT_IDENTITY_PREFIX}42`)).toEqual(bad);
		expect((await new IdentityStore(kv).loadOrCreate()).identity.peerId).toBe(identity.peerId);
	});

	it('still gives an identity for this session when storage is full, and says so', async () => {
		const kv = new MemoryKeyValueStore();
		kv.failWrites = new DOMException('quota', 'QuotaExceededError');
		const { identity, notice } = await new IdentityStore(kv).loadOrCreate();
		expect(identity.peerId).toMatch(/^12D3KooW/);
		expect(notice).toMatchObject({ kind: 'not-saved' });
		expect(kv.data.size).toBe(0);
	});

	it('does not overwrite a damaged record it cannot keep aside', async () => {
		const kv = new MemoryKeyValueStore();
		kv.data.set(IDENTITY_KEY, 'garbage');
		kv.failWrites = new Error('disk full');
		const { notice } = await new IdentityStore(kv).loadOrCreate();
		expect(notice).toMatchObject({ kind: 'not-saved' });
		expect(kv.data.get(IDENTITY_KEY)).toBe('garbage');
	});

	it('replaces the identity with an imported key', async () => {
		const kv = new MemoryKeyValueStore();
		const store = new IdentityStore(kv);
		await store.loadOrCreate();
		const imported = await generateKeyPair('Ed25519');
		const next = await store.replace(imported, 'Grace', { e: '🐝', c: 4 });
		const reloaded = await new IdentityStore(kv).loadOrCreate();
		expect(reloaded.identity.peerId).toBe(next.peerId);
		expect(reloaded.identity.name).toBe('Grace');
		expect(reloaded.identity.avatar).toEqual({ e: '🐝', c: 4 });
		// An import without an avatar leaves none (not the previous identity's).
		await store.replace(await generateKeyPair('Ed25519'), 'Hopper');
		expect((await new IdentityStore(kv).loadOrCreate()).identity.avatar).toBeNull();
	});
});
