// @ts-check
/**
 * The relay as users run it: `node relay/main.js …` in a child process (which
 * also proves the Node 20 polyfill loads before libp2p). Each test waits for
 * output lines or process exit, never for a fixed time.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const TWO_PEERS = fileURLToPath(new URL('./test-support/two-peers.js', import.meta.url));
/** Starting Node plus libp2p takes about a second; allow for a loaded 2-core machine. */
const PROCESS_TIMEOUT_MS = 30_000;
const PEER_ID = /12D3KooW[1-9A-HJ-NP-Za-km-z]{44}/;

/** @type {string} */
let dir;
/** @type {import('node:child_process').ChildProcess[]} */
let children;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'stanza-cli-'));
	await writeFile(join(dir, 'index.html'), '<!doctype html><title>Stanza test</title>');
	children = [];
});

afterEach(async () => {
	for (const child of children) {
		if (child.exitCode === null && child.signalCode === null) {
			child.kill('SIGKILL');
			await once(child, 'exit');
		}
	}
	await rm(dir, { recursive: true, force: true });
});

/**
 * Runs `node <script> …args` and collects its output.
 *
 * @param {string[]} args
 * @param {{ script?: string, nodeArgs?: string[] }} [options]
 */
function run(args, { script = MAIN, nodeArgs = [] } = {}) {
	const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
		cwd: dir,
		env: { ...process.env, PORT: '', STANZA_PORT: '' },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	children.push(child);
	let stdout = '';
	let stderr = '';
	child.stdout?.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
	child.stderr?.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
	// 'close', not 'exit': by then stdout and stderr have been read to the end.
	/** @type {Promise<{ code: number | null, signal: NodeJS.Signals | null }>} */
	const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
	return {
		child,
		exited,
		get stdout() {
			return stdout;
		},
		get stderr() {
			return stderr;
		},
		/**
		 * Resolves with stdout once it matches, rejects if the process exits first.
		 *
		 * @param {RegExp} pattern
		 * @returns {Promise<string>}
		 */
		waitForStdout(pattern) {
			return new Promise((resolve, reject) => {
				const check = () => {
					if (!pattern.test(stdout)) return;
					child.stdout?.off('data', check);
					child.off('close', onExit);
					resolve(stdout);
				};
				const onExit = () =>
					pattern.test(stdout) ? resolve(stdout) : reject(new Error(`exited before ${pattern}:\n${stdout}\n${stderr}`));
				child.stdout?.on('data', check);
				child.on('close', onExit);
				check();
			});
		}
	};
}

/**
 * Starts a relay and parses its startup block.
 *
 * @param {string[]} [extra]
 */
async function startRelay(extra = []) {
	const relay = run(['--port', '0', '--key-file', join(dir, 'key'), '--static', dir, ...extra]);
	// The block is written in one call; its last line is a libp2p address.
	const out = await relay.waitForStdout(/^ {2}libp2p {2}\S+\n/m);
	const lines = out.split('\n');
	const peerId = lines[0].replace('Stanza relay ', '');
	const appUrls = lines.filter((l) => l.startsWith('  app     ')).map((l) => l.slice(10));
	const multiaddrs = lines.filter((l) => l.startsWith('  libp2p  ')).map((l) => l.slice(10));
	const port = Number(new URL(appUrls[0]).port);
	// Object.assign, not a spread: a spread would freeze the stdout/stderr getters.
	return Object.assign(relay, { lines, peerId, appUrls, multiaddrs, port });
}

describe('stanza-relay command', () => {
	it(
		'prints its addresses, serves the app and the well-known, and exits 0 on SIGTERM',
		async () => {
			const relay = await startRelay();
			expect(relay.lines[0]).toMatch(new RegExp(`^Stanza relay ${PEER_ID.source}$`));
			expect(relay.appUrls[0]).toBe(`http://127.0.0.1:${relay.port}/`);
			for (const url of relay.appUrls) expect(url).toMatch(/^http:\/\/[\d.]+:\d+\/$/);
			expect(relay.multiaddrs[0]).toBe(`/ip4/127.0.0.1/tcp/${relay.port}/ws/p2p/${relay.peerId}`);
			for (const ma of relay.multiaddrs) expect(ma).toMatch(new RegExp(`^/ip4/[\\d.]+/tcp/${relay.port}/ws/p2p/${relay.peerId}$`));
			// Exactly: the header, the app lines, the libp2p lines, in that order.
			expect(relay.lines.slice(0, 1 + relay.appUrls.length + relay.multiaddrs.length)).toEqual([
				`Stanza relay ${relay.peerId}`,
				...relay.appUrls.map((u) => `  app     ${u}`),
				...relay.multiaddrs.map((m) => `  libp2p  ${m}`)
			]);

			const wellKnown = await fetch(`${relay.appUrls[0]}.well-known/stanza-relay.json`);
			expect(wellKnown.headers.get('access-control-allow-origin')).toBe('*');
			expect(await wellKnown.json()).toEqual({ version: 1, peerId: relay.peerId, multiaddrs: relay.multiaddrs });
			expect(await (await fetch(relay.appUrls[0])).text()).toContain('Stanza test');

			relay.child.kill('SIGTERM');
			expect(await relay.exited).toEqual({ code: 0, signal: null });
			expect(relay.stdout).toMatch(/stopping/);
			expect(relay.stderr).toBe('');
		},
		PROCESS_TIMEOUT_MS
	);

	it(
		'bound to one address, lists only that address',
		async () => {
			const relay = await startRelay(['--host', '127.0.0.1']);
			expect(relay.appUrls).toEqual([`http://127.0.0.1:${relay.port}/`]);
			expect(relay.multiaddrs).toEqual([`/ip4/127.0.0.1/tcp/${relay.port}/ws/p2p/${relay.peerId}`]);
		},
		PROCESS_TIMEOUT_MS
	);

	it(
		'advertises --announce addresses instead of local ones',
		async () => {
			const relay = await startRelay(['--host', '127.0.0.1', '--announce', '/dns4/relay.example.org/tcp/443/tls/ws']);
			expect(relay.multiaddrs).toEqual([`/dns4/relay.example.org/tcp/443/tls/ws/p2p/${relay.peerId}`]);
			expect(relay.appUrls).toEqual([`http://127.0.0.1:${relay.port}/`]);
		},
		PROCESS_TIMEOUT_MS
	);

	it(
		'keeps its PeerId across restarts with the same key file, and exits 0 on SIGINT',
		async () => {
			const first = await startRelay(['--host', '127.0.0.1']);
			first.child.kill('SIGINT');
			expect((await first.exited).code).toBe(0);
			expect(first.stdout).toContain('created a new relay identity');

			const second = await startRelay(['--host', '127.0.0.1']);
			expect(second.peerId).toBe(first.peerId);
			second.child.kill('SIGTERM');
			await second.exited;
			expect(second.stdout).not.toContain('created a new relay identity');

			const other = await startRelay(['--host', '127.0.0.1', '--key-file', join(dir, 'other-key')]);
			expect(other.peerId).not.toBe(first.peerId);
		},
		PROCESS_TIMEOUT_MS
	);

	it(
		'still stops on SIGTERM after whoever read its output has gone (EPIPE), instead of spinning',
		async () => {
			const relay = await startRelay(['--host', '127.0.0.1']);
			// Close our ends of its stdout and stderr: its next log line ("stopping") hits EPIPE.
			relay.child.stdout?.destroy();
			relay.child.stderr?.destroy();
			const exited = once(relay.child, 'exit');
			relay.child.kill('SIGTERM');
			const [code] = await exited;
			expect(code).toBe(0);
		},
		PROCESS_TIMEOUT_MS
	);

	it(
		'fails with one clear line when the port is taken',
		async () => {
			const first = await startRelay(['--host', '127.0.0.1']);
			const second = run(['--host', '127.0.0.1', '--port', String(first.port), '--key-file', join(dir, 'key2'), '--static', dir]);
			expect(await second.exited).toEqual({ code: 1, signal: null });
			expect(second.stderr).toBe(`stanza-relay: port ${first.port} is already in use; choose another with --port\n`);
			expect(second.stdout).toBe('');
		},
		PROCESS_TIMEOUT_MS
	);

	it(
		'fails with one clear line naming a corrupt key file',
		async () => {
			const keyFile = join(dir, 'corrupt-key');
			await writeFile(keyFile, 'garbage');
			const relay = run(['--port', '0', '--host', '127.0.0.1', '--key-file', keyFile]);
			expect((await relay.exited).code).toBe(1);
			expect(relay.stderr).toMatch(new RegExp(`^stanza-relay: relay key file ${keyFile} is not a valid libp2p private key.*\\n$`));
		},
		PROCESS_TIMEOUT_MS
	);

	it(
		'exits 2 with the error and usage on stderr for an unknown flag',
		async () => {
			const relay = run(['--bogus']);
			expect(await relay.exited).toEqual({ code: 2, signal: null });
			expect(relay.stderr).toMatch(/^stanza-relay: unknown option '--bogus'\n\nUsage: stanza-relay/);
			expect(relay.stdout).toBe('');
		},
		PROCESS_TIMEOUT_MS
	);

	it(
		'prints usage on stdout and exits 0 for --help',
		async () => {
			const relay = run(['--help']);
			expect(await relay.exited).toEqual({ code: 0, signal: null });
			expect(relay.stdout).toMatch(/^Usage: stanza-relay/);
			expect(relay.stderr).toBe('');
		},
		PROCESS_TIMEOUT_MS
	);

	it(
		'lets two libp2p peers reserve, gossip on a stanza/ topic and connect through it',
		async () => {
			const relay = await startRelay(['--host', '127.0.0.1', '--circuit-data-limit', '65536']);
			// Node 20 has a global WebSocket only behind this flag; Node 22+ always has one.
			const nodeArgs = typeof WebSocket === 'undefined' ? ['--experimental-websocket'] : [];
			const peers = run([relay.multiaddrs[0]], { script: TWO_PEERS, nodeArgs });
			const { code } = await peers.exited;
			expect(peers.stderr).toBe('');
			expect(code).toBe(0);
			const steps = peers.stdout.trim().split('\n').map((line) => JSON.parse(line));
			expect(steps.map((s) => s.step)).toEqual(['dialed', 'reserved', 'gossip', 'relayed']);
			expect(steps[1].address).toContain(`/p2p/${relay.peerId}/p2p-circuit/p2p/`);
			expect(steps[2].received).toBe('hello via relay');
			expect(steps[3].remoteAddr).toContain('/p2p-circuit/');
			// The relay's data limit reaches the client (less what the handshake used).
			expect(Number(steps[3].limitBytes)).toBeGreaterThan(0);
			expect(Number(steps[3].limitBytes)).toBeLessThanOrEqual(65536);
		},
		PROCESS_TIMEOUT_MS
	);
});
