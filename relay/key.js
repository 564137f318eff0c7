// @ts-check
/**
 * The relay's persistent identity.
 *
 * Browsers remember a relay by its multiaddr, which ends in `/p2p/<PeerId>`;
 * a new key on every start would break every saved address. So the Ed25519
 * private key is kept in a file (libp2p protobuf encoding, mode 0600) and
 * reused on later starts. A file that exists but cannot be read or decoded is
 * an error, never silently replaced: replacing it would change the PeerId.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';

/** @typedef {import('@libp2p/interface').PrivateKey} PrivateKey */

/**
 * Loads the private key from `file`, or creates one there if the file does
 * not exist.
 *
 * @param {string} file path of the key file
 * @returns {Promise<{ privateKey: PrivateKey, created: boolean }>}
 * @throws {Error} naming the file if it exists but is unreadable or corrupt
 */
export async function loadOrCreateKey(file) {
	const existing = await readKey(file);
	if (existing) return { privateKey: existing, created: false };

	const privateKey = await generateKeyPair('Ed25519');
	const written = await writeKeyExclusive(file, privateKeyToProtobuf(privateKey));
	if (written) return { privateKey, created: true };

	// Another process created the file between our read and write: use theirs.
	const theirs = await readKey(file);
	if (!theirs) throw new Error(`relay key file ${file} disappeared while it was being created`);
	return { privateKey: theirs, created: false };
}

/**
 * @param {string} file
 * @returns {Promise<PrivateKey | null>} null when the file does not exist
 */
async function readKey(file) {
	/** @type {Buffer} */
	let bytes;
	try {
		bytes = await readFile(file);
	} catch (err) {
		const code = /** @type {NodeJS.ErrnoException} */ (err).code;
		if (code === 'ENOENT') return null;
		throw new Error(`cannot read relay key file ${file}: ${/** @type {Error} */ (err).message}`, { cause: err });
	}
	try {
		return privateKeyFromProtobuf(bytes);
	} catch (err) {
		throw new Error(
			`relay key file ${file} is not a valid libp2p private key (${/** @type {Error} */ (err).message}); ` +
				'restore it from a backup, or move it away to start with a new relay identity',
			{ cause: err }
		);
	}
}

/**
 * Creates the key file with mode 0600, whole, and never replaces an existing
 * one, so two relays started at once cannot both win and end up with
 * different identities.
 *
 * The key is written to a file of its own beside the key file, then linked
 * under the key file's name, which fails if that name exists. Written in
 * place (`wx`), the file existed empty for as long as the write took, and a
 * start that read it then took it for corrupt (two starts racing, on a
 * loaded machine). A file system without hard links gets the `wx` write.
 *
 * @param {string} file
 * @param {Uint8Array} bytes
 * @returns {Promise<boolean>} false if the file already existed
 */
async function writeKeyExclusive(file, bytes) {
	const dir = dirname(file);
	const draft = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.new`;
	try {
		// 0700: the folder holds a secret; an existing folder keeps its mode.
		await mkdir(dir, { recursive: true, mode: 0o700 });
		await writeFile(draft, bytes, { mode: 0o600, flag: 'wx' });
		try {
			await link(draft, file);
		} catch (err) {
			if (!NO_HARD_LINKS.has(/** @type {NodeJS.ErrnoException} */ (err).code ?? '')) throw err;
			await writeFile(file, bytes, { mode: 0o600, flag: 'wx' });
		}
		return true;
	} catch (err) {
		if (/** @type {NodeJS.ErrnoException} */ (err).code === 'EEXIST') return false;
		throw new Error(`cannot write relay key file ${file}: ${/** @type {Error} */ (err).message}`, { cause: err });
	} finally {
		await rm(draft, { force: true }).catch(() => {});
	}
}

/** What link() fails with where the file system has no hard links (FAT, some network and FUSE mounts). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
