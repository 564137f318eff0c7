// @ts-check
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateKey } from './key.js';

/** @type {string} */
let dir;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'stanza-key-'));
});

afterEach(async () => {
	await rm(dir, { recursive: true, force: true });
});

describe('loadOrCreateKey', () => {
	it('creates an Ed25519 key in a new folder, readable only by the owner', async () => {
		const file = join(dir, 'nested', 'deeper', 'relay-key');
		const { privateKey, created } = await loadOrCreateKey(file);
		expect(created).toBe(true);
		expect(privateKey.type).toBe('Ed25519');
		expect((await stat(file)).mode & 0o777).toBe(0o600);
		expect((await readFile(file)).length).toBeGreaterThan(32);
	});

	it('reloads the same key, so the PeerId survives restarts', async () => {
		const file = join(dir, 'relay-key');
		const first = await loadOrCreateKey(file);
		const bytesBefore = await readFile(file);
		const second = await loadOrCreateKey(file);
		expect(second.created).toBe(false);
		expect(peerIdFromPrivateKey(second.privateKey).toString()).toBe(peerIdFromPrivateKey(first.privateKey).toString());
		expect(await readFile(file)).toEqual(bytesBefore);
	});

	it('gives different files different identities', async () => {
		const a = await loadOrCreateKey(join(dir, 'a'));
		const b = await loadOrCreateKey(join(dir, 'b'));
		expect(peerIdFromPrivateKey(a.privateKey).equals(peerIdFromPrivateKey(b.privateKey))).toBe(false);
	});

	it('ends with one identity when two starts race to create the file', async () => {
		const file = join(dir, 'relay-key');
		const [a, b] = await Promise.all([loadOrCreateKey(file), loadOrCreateKey(file)]);
		expect(peerIdFromPrivateKey(a.privateKey).toString()).toBe(peerIdFromPrivateKey(b.privateKey).toString());
	});

	it('refuses a corrupt key file, names it, and leaves it untouched', async () => {
		const file = join(dir, 'relay-key');
		await writeFile(file, 'this is not a protobuf key');
		await expect(loadOrCreateKey(file)).rejects.toThrow(`relay key file ${file} is not a valid libp2p private key`);
		expect(await readFile(file, 'utf8')).toBe('this is not a protobuf key');
	});

	it('refuses an empty key file rather than replacing it', async () => {
		const file = join(dir, 'relay-key');
		await writeFile(file, '');
		await expect(loadOrCreateKey(file)).rejects.toThrow(file);
		expect((await readFile(file)).length).toBe(0);
	});

	it('reports a key path that cannot be read', async () => {
		// A folder where the file should be: reading it fails with EISDIR.
		const file = join(dir, 'relay-key');
		await mkdir(file);
		await expect(loadOrCreateKey(file)).rejects.toThrow(`cannot read relay key file ${file}`);
	});

	it('reports a key path whose folder is not a folder', async () => {
		// The parent "folder" is a regular file: fails the same way as root or not.
		const blocker = join(dir, 'not-a-folder');
		await writeFile(blocker, 'x');
		const file = join(blocker, 'relay-key');
		await expect(loadOrCreateKey(file)).rejects.toThrow(`cannot read relay key file ${file}: ENOTDIR`);
	});
});
