// @ts-check
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadOrCreateKey } from './key.js';

// Writes that create their file with `wx` can be made slow between creating and filling it, as on a loaded machine.
const slowWrites = vi.hoisted(() => ({ ms: 0 }));
// A file system without hard links: link() fails with this code.
const noHardLinks = vi.hoisted(() => ({ code: '' }));
vi.mock('node:fs/promises', async (importOriginal) => {
	/** @type {typeof import('node:fs/promises')} */
	const fs = await importOriginal();
	return {
		...fs,
		/** @type {typeof fs.link} */
		link: async (from, to) => {
			if (noHardLinks.code) throw Object.assign(new Error(`${noHardLinks.code}: operation not permitted, link`), { code: noHardLinks.code });
			return fs.link(from, to);
		},
		/** @type {typeof fs.writeFile} */
		writeFile: async (file, data, options) => {
			if (slowWrites.ms === 0 || typeof options !== 'object' || options?.flag !== 'wx') return fs.writeFile(file, data, options);
			const handle = await fs.open(/** @type {string} */ (file), 'wx', options.mode ?? 0o666);
			try {
				await new Promise((resolve) => setTimeout(resolve, slowWrites.ms));
				await handle.writeFile(/** @type {Uint8Array} */ (data));
			} finally {
				await handle.close();
			}
		}
	};
});

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

	it('never shows a racing start the file half-written, however long the write takes', async () => {
		// A start that read the key file after another had created it and before its bytes were in took it
		// for corrupt (a loop run of the unit tests, two files at a time, on 2026-12-06). Here every write
		// takes 30 ms between creating its file and filling it, and starts come every 5 ms meanwhile.
		const file = join(dir, 'relay-key');
		slowWrites.ms = 30;
		try {
			const starts = await Promise.all(Array.from({ length: 8 }, (_, i) => new Promise((resolve) => setTimeout(resolve, i * 5)).then(() => loadOrCreateKey(file))));
			expect(new Set(starts.map((s) => peerIdFromPrivateKey(s.privateKey).toString())).size).toBe(1);
			expect(starts.filter((s) => s.created)).toHaveLength(1);
		} finally {
			slowWrites.ms = 0;
		}
		// Nothing left beside the key, and the key is the creator's, readable by its owner only.
		expect(await readdir(dir)).toEqual(['relay-key']);
		expect((await stat(file)).mode & 0o777).toBe(0o600);
	});

	it('creates the file where the file system has no hard links, and still reuses it', async () => {
		const file = join(dir, 'relay-key');
		noHardLinks.code = 'EPERM';
		try {
			const first = await loadOrCreateKey(file);
			expect(first.created).toBe(true);
			expect(await readdir(dir)).toEqual(['relay-key']);
			expect((await stat(file)).mode & 0o777).toBe(0o600);
			const again = await loadOrCreateKey(file);
			expect(again.created).toBe(false);
			expect(peerIdFromPrivateKey(again.privateKey).equals(peerIdFromPrivateKey(first.privateKey))).toBe(true);
		} finally {
			noHardLinks.code = '';
		}
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
