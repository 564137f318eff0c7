// @ts-check
/**
 * Starts the real relay (`node relay/main.js`) as a child process on
 * 127.0.0.1 and an OS-chosen port, and reads its startup lines to learn the
 * app URL and PeerId. Used by the end-to-end tests and the benchmarks.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
// The relay prints its addresses within a second or two; 20 s means it is broken.
const STARTUP_TIMEOUT_MS = 20_000;

/**
 * @typedef {object} RelayProcess
 * @property {string} url        app URL, e.g. http://127.0.0.1:41234/
 * @property {number} port
 * @property {string} peerId
 * @property {string} keyFile
 * @property {() => string} output  everything the relay printed so far
 * @property {() => Promise<number | null>} stop  SIGTERM, resolves with the exit code
 */

/**
 * @param {{ port?: number, keyFile?: string, args?: string[], env?: Record<string, string> }} [options]
 * @returns {Promise<RelayProcess>}
 */
export async function startRelay(options = {}) {
	const keyFile = options.keyFile ?? join(mkdtempSync(join(tmpdir(), 'stanza-relay-')), 'key');
	const child = spawn(
		process.execPath,
		[
			join(ROOT, 'relay/main.js'),
			'--host', '127.0.0.1',
			'--port', String(options.port ?? 0),
			'--key-file', keyFile,
			'--static', join(ROOT, 'build'),
			...(options.args ?? [])
		],
		{ stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(options.env ?? {}) } }
	);
	/** @type {Promise<number | null>} */
	const exited = new Promise((res) => child.once('exit', (code) => res(code)));
	// Never outlive the test process, even when it is killed mid-test.
	const killChild = () => child.kill('SIGKILL');
	process.once('exit', killChild);
	void exited.then(() => process.off('exit', killChild));
	let output = '';
	child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
	child.stderr.setEncoding('utf8').on('data', (d) => (output += d));

	const started = await new Promise((res, rej) => {
		const timer = setTimeout(() => rej(new Error(`relay did not start:\n${output}`)), STARTUP_TIMEOUT_MS);
		const check = () => {
			const url = /app\s+(http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(output);
			const peer = /Stanza relay (12D3KooW\w+)/.exec(output);
			if (url && peer && /libp2p\s+\//.test(output)) {
				clearTimeout(timer);
				child.stdout.off('data', check);
				res({ url: url[1], port: Number(url[2]), peerId: peer[1] });
			}
		};
		child.stdout.on('data', check);
		void exited.then((code) => {
			clearTimeout(timer);
			rej(new Error(`relay exited with ${code} before starting:\n${output}`));
		});
	});

	return {
		...started,
		keyFile,
		output: () => output,
		stop: async () => {
			if (child.exitCode === null) child.kill('SIGTERM');
			return exited;
		}
	};
}
