// @ts-check
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GOODBYE_PATH, MAX_GOODBYE_BODY } from './goodbye.js';
import { clientIp, createHttpServer, resolveStaticPath, WELL_KNOWN_PATH } from './http-server.js';
import { HALLWAY_PATH } from './hallway.js';
import { createMetrics } from './metrics.js';

/** @typedef {ReturnType<typeof createHttpServer>} HttpFront */

/** @type {string} */
let dir;
/** @type {string} the static folder, inside `dir` */
let site;
/** @type {Array<() => Promise<unknown> | void>} */
let cleanups;

/** @type {import('./log.js').Logger & { lines: string[] }} */
const log = {
	lines: [],
	info(m) { this.lines.push(`info ${m}`); },
	warn(m) { this.lines.push(`warn ${m}`); },
	error(m) { this.lines.push(`error ${m}`); }
};

beforeEach(async () => {
	cleanups = [];
	log.lines = [];
	dir = await mkdtemp(join(tmpdir(), 'stanza-http-'));
	site = join(dir, 'build');
	await mkdir(join(site, '_app', 'immutable', 'chunks'), { recursive: true });
	await writeFile(join(site, 'index.html'), '<!doctype html><title>Stanza</title>');
	await writeFile(join(site, '_app', 'immutable', 'chunks', 'app.123.js'), 'export const x = 1;');
	await writeFile(join(site, '_app', 'version.json'), '{"version":"1"}');
	await writeFile(join(site, 'style.css'), 'body{}');
	await writeFile(join(site, 'icon.svg'), '<svg/>');
	await writeFile(join(site, 'icon.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
	await writeFile(join(site, 'manifest.webmanifest'), '{}');
	await writeFile(join(site, 'codec.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
	await writeFile(join(site, 'favicon.ico'), Buffer.from([0, 0, 1, 0]));
	await writeFile(join(site, 'robots.txt'), 'User-agent: *');
	await writeFile(join(site, 'font.woff2'), Buffer.from('wOF2'));
	await writeFile(join(site, 'data.bin'), Buffer.from([1, 2, 3]));
	await writeFile(join(site, '.env'), 'SECRET=1');
	await writeFile(join(dir, 'secret.txt'), 'TOP SECRET');
});

afterEach(async () => {
	for (const cleanup of cleanups.reverse()) await cleanup();
	await rm(dir, { recursive: true, force: true });
});

/**
 * Starts a front on a free loopback port.
 *
 * @param {Partial<Parameters<typeof createHttpServer>[0]>} [overrides]
 */
async function startFront(overrides = {}) {
	const front = createHttpServer({
		host: '127.0.0.1',
		port: 0,
		staticDir: site,
		maxConnections: 100,
		maxConnectionsPerIp: 10,
		trustProxy: false,
		log,
		...overrides
	});
	const port = await front.listen();
	cleanups.push(() => front.close());
	return { front, port };
}

/**
 * A raw HTTP request (node:http keeps the path exactly as given, unlike fetch,
 * which would normalise `..` away before it reaches the server).
 *
 * @param {number} port
 * @param {string} path
 * @param {{ method?: string, headers?: Record<string, string>, body?: string }} [options]
 * @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders, body: string }>}
 */
function get(port, path, { method = 'GET', headers = {}, body: sent } = {}) {
	return new Promise((resolve, reject) => {
		const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (chunk) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
		});
		req.on('error', reject);
		req.end(sent);
	});
}

/**
 * Polls a condition that has no event of its own (the front's counters);
 * fails after `timeoutMs` instead of hanging.
 *
 * @param {() => boolean} condition
 * @param {number} [timeoutMs]
 */
async function waitFor(condition, timeoutMs = 2000) {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition}`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

/**
 * A TCP server standing in for libp2p's WebSocket listener: echoes every byte
 * back, so a client sees exactly what the front replayed upstream.
 */
async function startEcho() {
	/** @type {Set<import('node:net').Socket>} */
	const sockets = new Set();
	const server = createServer((socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
		socket.on('error', () => {});
		socket.pipe(socket);
	});
	server.listen(0, '127.0.0.1');
	await once(server, 'listening');
	cleanups.push(() => {
		for (const s of sockets) s.destroy();
		return new Promise((resolve) => server.close(resolve));
	});
	const address = server.address();
	if (address === null || typeof address === 'string') throw new Error('no echo port');
	return { port: address.port, sockets };
}

/**
 * Opens a WebSocket-style upgrade by hand and resolves once `expected` bytes
 * have come back (or the socket closed).
 *
 * @param {number} port
 * @param {{ path?: string, headers?: Record<string, string>, extra?: string }} [options]
 */
async function upgrade(port, { path = '/', headers = {}, extra = '' } = {}) {
	const socket = connect(port, '127.0.0.1');
	socket.on('error', () => {});
	cleanups.push(() => void socket.destroy());
	const head =
		`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
		'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
		Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
		'\r\n';
	socket.write(head + extra, 'latin1');
	let received = '';
	// latin1: one character per byte, so WebSocket frame bytes compare exactly.
	socket.setEncoding('latin1');
	socket.on('data', (chunk) => (received += chunk));
	/** Resolves when the received text satisfies `done`, rejects if the socket closes first. */
	const until = (/** @type {(text: string) => boolean} */ done) =>
		new Promise((resolve, reject) => {
			const check = () => {
				if (done(received)) {
					socket.off('data', check);
					socket.off('close', onClose);
					resolve(received);
				}
			};
			const onClose = () => (done(received) ? resolve(received) : reject(new Error(`closed after '${received}'`)));
			socket.on('data', check);
			socket.on('close', onClose);
			check();
		});
	return { socket, head, until, closed: closedEvenIfReset(socket) };
}

/**
 * A client WebSocket frame as a latin1 string: masked (as clients must), with
 * an all-zero key so the payload stays readable.
 *
 * @param {string} payload
 * @param {{ opcode?: number, fin?: boolean, length?: number }} [options] `length` overrides the announced length
 */
function frame(payload, { opcode = 2, fin = true, length = payload.length } = {}) {
	const first = String.fromCharCode((fin ? 0x80 : 0) | opcode);
	let size;
	if (length < 126) size = String.fromCharCode(0x80 | length);
	else if (length < 65536) size = String.fromCharCode(0x80 | 126, length >> 8, length & 0xff);
	else size = String.fromCharCode(0x80 | 127, 0, 0, 0, 0, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
	return first + size + '\0\0\0\0' + payload;
}

/**
 * Resolves on 'close' even when an 'error' (a reset) comes first, unlike `once(socket, 'close')`.
 *
 * @param {import('node:net').Socket} socket
 */
function closedEvenIfReset(socket) {
	return new Promise((resolve) => (socket.destroyed ? resolve(undefined) : socket.once('close', resolve)));
}

describe('static app', () => {
	it('serves index.html at / with no-cache', async () => {
		const { port } = await startFront();
		const res = await get(port, '/');
		expect(res.status).toBe(200);
		expect(res.body).toBe('<!doctype html><title>Stanza</title>');
		expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
		expect(res.headers['cache-control']).toBe('no-cache');
	});

	it.each([
		['/index.html', 'text/html; charset=utf-8'],
		['/_app/immutable/chunks/app.123.js', 'text/javascript; charset=utf-8'],
		['/style.css', 'text/css; charset=utf-8'],
		['/_app/version.json', 'application/json; charset=utf-8'],
		['/icon.svg', 'image/svg+xml'],
		['/icon.png', 'image/png'],
		['/manifest.webmanifest', 'application/manifest+json'],
		['/codec.wasm', 'application/wasm'],
		['/favicon.ico', 'image/x-icon'],
		['/robots.txt', 'text/plain; charset=utf-8'],
		['/font.woff2', 'font/woff2'],
		['/data.bin', 'application/octet-stream']
	])('serves %s as %s', async (path, type) => {
		const { port } = await startFront();
		const res = await get(port, path);
		expect(res.status).toBe(200);
		expect(res.headers['content-type']).toBe(type);
		expect(res.headers['x-content-type-options']).toBe('nosniff');
	});

	it('caches fingerprinted files for a year and revalidates the rest', async () => {
		const { port } = await startFront();
		expect((await get(port, '/_app/immutable/chunks/app.123.js')).headers['cache-control']).toBe(
			'public, max-age=31536000, immutable'
		);
		expect((await get(port, '/_app/version.json')).headers['cache-control']).toBe('no-cache');
	});

	it('answers a matching If-None-Match with 304', async () => {
		const { port } = await startFront();
		const first = await get(port, '/style.css');
		const etag = String(first.headers.etag);
		const second = await get(port, '/style.css', { headers: { 'If-None-Match': etag } });
		expect(second.status).toBe(304);
		expect(second.body).toBe('');
	});

	it('answers HEAD with headers only', async () => {
		const { port } = await startFront();
		const res = await get(port, '/style.css', { method: 'HEAD' });
		expect(res.status).toBe(200);
		expect(res.headers['content-length']).toBe('6');
		expect(res.body).toBe('');
	});

	it('answers 404 for missing files and folders without a trailing slash', async () => {
		const { port } = await startFront();
		expect((await get(port, '/nope.js')).status).toBe(404);
		expect((await get(port, '/_app')).status).toBe(404);
	});

	it('refuses other methods', async () => {
		const { port } = await startFront();
		const res = await get(port, '/', { method: 'POST' });
		expect(res.status).toBe(405);
		expect(res.headers.allow).toBe('GET, HEAD');
	});

	it.each([
		'/../secret.txt',
		'/%2e%2e/secret.txt',
		'/%2E%2E%2Fsecret.txt',
		'/_app/..%2f..%2fsecret.txt',
		'/..%5csecret.txt',
		'/%2e%2e%5c%2e%2e%5csecret.txt',
		'/.env',
		'/index.html%00.png',
		'/%E0%A4%A'
	])('refuses traversal and hidden files: %s', async (path) => {
		const { port } = await startFront();
		const res = await get(port, path);
		expect(res.status).toBe(400);
		expect(res.body).not.toContain('SECRET');
	});

	it('resolveStaticPath keeps every path inside the folder', () => {
		expect(resolveStaticPath('/srv/site', '/')).toBe('/srv/site/index.html');
		expect(resolveStaticPath('/srv/site', '/a/b/')).toBe('/srv/site/a/b/index.html');
		expect(resolveStaticPath('/srv/site', '/a//b.js')).toBe('/srv/site/a/b.js');
		expect(resolveStaticPath('/srv/site', '/./a.js')).toBe('/srv/site/a.js');
		expect(resolveStaticPath('/srv/site', '/a/../../x')).toBeNull();
		expect(resolveStaticPath('/srv/site', '/%2e%2e')).toBeNull();
	});

	it('explains how to build the app when the folder is missing', async () => {
		const { port } = await startFront({ staticDir: join(dir, 'not-built') });
		const res = await get(port, '/');
		expect(res.status).toBe(503);
		expect(res.body).toContain('not built');
		expect(res.body).toContain('npm run build');
		expect((await get(port, '/app.js')).status).toBe(404);
	});

	it('starts serving once the app is built, without a restart', async () => {
		const later = join(dir, 'later');
		const { port } = await startFront({ staticDir: later });
		expect((await get(port, '/')).status).toBe(503);
		await mkdir(later);
		await writeFile(join(later, 'index.html'), 'built');
		expect((await get(port, '/')).body).toBe('built');
	});

	it('says so when serving the app is disabled', async () => {
		const { port } = await startFront({ staticDir: null });
		const res = await get(port, '/');
		expect(res.status).toBe(404);
		expect(res.body).toContain('--no-static');
	});
});

describe('well-known and health', () => {
	it('answers 503 until the relay info is known, then the JSON with CORS and no-cache', async () => {
		const { front, port } = await startFront();
		const before = await get(port, WELL_KNOWN_PATH);
		expect(before.status).toBe(503);
		expect(before.headers['access-control-allow-origin']).toBe('*');

		const info = /** @type {const} */ ({
			version: 1,
			peerId: '12D3KooWBL9vrgEBtA3Lc9H4J1xReba88i3X4ffNzQ2SNDmQHNrp',
			multiaddrs: ['/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWBL9vrgEBtA3Lc9H4J1xReba88i3X4ffNzQ2SNDmQHNrp']
		});
		front.setRelayInfo({ ...info, multiaddrs: [...info.multiaddrs] });
		const res = await get(port, WELL_KNOWN_PATH);
		expect(res.status).toBe(200);
		expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
		expect(res.headers['access-control-allow-origin']).toBe('*');
		expect(res.headers['cache-control']).toBe('no-cache');
		expect(JSON.parse(res.body)).toEqual(info);
	});

	it('answers a CORS preflight', async () => {
		const { port } = await startFront();
		const res = await get(port, WELL_KNOWN_PATH, { method: 'OPTIONS' });
		expect(res.status).toBe(204);
		expect(res.headers['access-control-allow-origin']).toBe('*');
	});

	it('is served even when the app is not', async () => {
		const { front, port } = await startFront({ staticDir: null });
		front.setRelayInfo({ version: 1, peerId: 'p', multiaddrs: [] });
		expect((await get(port, WELL_KNOWN_PATH)).status).toBe(200);
	});

	it('serves the hallway list, to any origin, once the relay has one', async () => {
		const { front, port } = await startFront({ staticDir: null });
		expect((await get(port, HALLWAY_PATH)).status).toBe(503);
		front.setHallwaySource(() => '[{"room":"r"}]');
		const res = await get(port, HALLWAY_PATH);
		expect(res.status).toBe(200);
		expect(res.headers['access-control-allow-origin']).toBe('*');
		expect(JSON.parse(res.body)).toEqual([{ room: 'r' }]);
		expect((await get(port, HALLWAY_PATH, { method: 'POST' })).status).toBe(405);
	});

	it('lets one client IP download 1 MiB of the hallway a second in bursts of 16 s: 2 reads a second of a full list', async () => {
		const { front, port } = await startFront({ staticDir: null, trustProxy: true });
		// A full list at the default --max-hallway-rooms: 256 announcements of 2 KiB.
		const full = `[${Array.from({ length: 256 }, () => JSON.stringify({ pad: 'x'.repeat(2040) })).join(',')}]`;
		front.setHallwaySource(() => full);
		const from = (/** @type {string} */ ip) => get(port, HALLWAY_PATH, { headers: { 'X-Forwarded-For': ip } });
		// Read in a loop until refused: a burst's worth at once, then what refilled (1 MiB a second) while the loop ran.
		const started = Date.now();
		let read = 0;
		let refused = await from('198.51.100.1');
		while (refused.status === 200 && read < 200) {
			read++;
			refused = await from('198.51.100.1');
		}
		expect(refused.status).toBe(429);
		const kib = Math.ceil(Buffer.byteLength(full) / 1024);
		expect(read).toBeGreaterThanOrEqual(Math.floor((16 * 1024) / kib));
		expect(read).toBeLessThanOrEqual(Math.floor((16 * 1024) / kib) + Math.ceil((1024 * (Date.now() - started)) / 1000 / kib));
		expect(refused.headers['access-control-allow-origin']).toBe('*');
		expect(log.lines.some((l) => l.includes('hallway reads from 198.51.100.1'))).toBe(true);
		expect((await from('198.51.100.2')).status).toBe(200);

		// A usual list (a few rooms) is read far more often before any refusal.
		front.setHallwaySource(() => '[{"room":"r"}]');
		for (let i = 0; i < 200; i++) expect((await from('198.51.100.3')).status).toBe(200);
	});

	it('answers /healthz', async () => {
		const { port } = await startFront();
		const res = await get(port, '/healthz');
		expect(res.status).toBe(200);
		expect(res.body).toBe('ok\n');
	});
});

describe('goodbyes', () => {
	const body = `stanza/room/1/${'0f'.repeat(16)}\nAAAA`;

	it('hands a POST body and the client IP to the goodbye target, and answers with its status', async () => {
		const { front, port } = await startFront();
		expect((await get(port, GOODBYE_PATH, { method: 'POST', body })).status).toBe(503);
		/** @type {Array<[string, string]>} */
		const taken = [];
		front.setGoodbyeTarget((ip, text) => {
			taken.push([ip, text]);
			return { status: 202, text: 'published\n' };
		});
		const res = await get(port, GOODBYE_PATH, { method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
		expect(res.status).toBe(202);
		expect(res.headers['access-control-allow-origin']).toBe('*');
		expect(taken).toEqual([['127.0.0.1', body]]);
	});

	it('refuses other methods and a body above MAX_GOODBYE_BODY, without reading it', async () => {
		const { front, port } = await startFront();
		let calls = 0;
		front.setGoodbyeTarget(() => (calls++, { status: 202, text: '' }));
		expect((await get(port, GOODBYE_PATH)).status).toBe(405);
		expect((await get(port, GOODBYE_PATH, { method: 'OPTIONS' })).status).toBe(204);
		expect((await get(port, GOODBYE_PATH, { method: 'POST', body: 'x'.repeat(MAX_GOODBYE_BODY + 1) })).status).toBe(413);
		// Chunked, so no Content-Length tells the size up front.
		const chunked = await get(port, GOODBYE_PATH, { method: 'POST', body: 'x'.repeat(MAX_GOODBYE_BODY * 4), headers: { 'Transfer-Encoding': 'chunked' } });
		expect(chunked.status).toBe(413);
		expect(calls).toBe(0);
	});
});

describe('clientIp', () => {
	/**
	 * @param {string} remoteAddress
	 * @param {string} [forwardedFor]
	 */
	const req = (remoteAddress, forwardedFor) =>
		/** @type {import('node:http').IncomingMessage} */ (
			/** @type {unknown} */ ({ socket: { remoteAddress }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } })
		);

	it('keys an IPv6 client on its /64, which one line is handed whole, so it cannot spread over 2^64 addresses', () => {
		expect(clientIp(req('2001:db8:1:2::1'), false)).toBe('2001:db8:1:2::/64');
		expect(clientIp(req('2001:db8:1:2:ffff:ffff:ffff:fffe'), false)).toBe('2001:db8:1:2::/64');
		expect(clientIp(req('2001:0DB8:0001:0002:0:0:0:9'), false)).toBe('2001:db8:1:2::/64');
		expect(clientIp(req('2001:db8::9'), false)).toBe('2001:db8:0:0::/64');
		expect(clientIp(req('2001:db8:1:3::1'), false)).toBe('2001:db8:1:3::/64');
		expect(clientIp(req('fe80::1%eth0'), false)).toBe('fe80:0:0:0::/64');
		expect(clientIp(req('192.0.2.1', 'x, 2001:db8:7:8:1:2:3:4'), true)).toBe('2001:db8:7:8::/64');
	});

	it('keys IPv4, and IPv4 mapped into IPv6 in any spelling, on the IPv4 address', () => {
		expect(clientIp(req('192.0.2.1'), false)).toBe('192.0.2.1');
		expect(clientIp(req('::ffff:192.0.2.1'), false)).toBe('192.0.2.1');
		expect(clientIp(req('::FFFF:c000:201'), false)).toBe('192.0.2.1');
		expect(clientIp(req('0:0:0:0:0:ffff:192.0.2.1'), false)).toBe('192.0.2.1');
		expect(clientIp(req('::1', '::ffff:198.51.100.4'), true)).toBe('198.51.100.4');
	});
});

describe('WebSocket upgrades', () => {
	it('replays the request head and early bytes upstream, then pipes both ways', async () => {
		const echo = await startEcho();
		const { front, port } = await startFront();
		front.setUpgradeTarget(echo.port);
		const ws = await upgrade(port, { path: '/some/path?x=1', extra: frame('EARLY') });
		await ws.until((text) => text === ws.head + frame('EARLY'));
		ws.socket.write(frame('MORE'), 'latin1');
		await ws.until((text) => text.endsWith(frame('EARLY') + frame('MORE')));
		expect(front.pipedConnections).toBe(1);
	});

	it('refuses upgrades before libp2p listens, and non-WebSocket upgrades', async () => {
		const echo = await startEcho();
		const { front, port } = await startFront();
		const early = await upgrade(port);
		await early.closed;
		expect(await early.until(() => true)).toMatch(/^HTTP\/1\.1 503 /);

		front.setUpgradeTarget(echo.port);
		const h2c = connect(port, '127.0.0.1');
		h2c.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n');
		let text = '';
		h2c.on('data', (chunk) => (text += chunk));
		await once(h2c, 'close');
		expect(text).toMatch(/^HTTP\/1\.1 400 /);
		expect(echo.sockets.size).toBe(0);
	});

	it('limits connections per client IP and frees the slot on close', async () => {
		const echo = await startEcho();
		const { front, port } = await startFront({ maxConnectionsPerIp: 2 });
		front.setUpgradeTarget(echo.port);

		const a = await upgrade(port);
		const b = await upgrade(port);
		await a.until((t) => t === a.head);
		await b.until((t) => t === b.head);

		const c = await upgrade(port);
		await c.closed;
		expect(await c.until(() => true)).toMatch(/^HTTP\/1\.1 503 /);
		expect(front.pipedConnections).toBe(2);
		expect(log.lines.some((l) => l.includes('--max-connections-per-ip'))).toBe(true);

		// Closing one frees its slot.
		a.socket.destroy();
		await waitFor(() => front.pipedConnections === 1);

		const d = await upgrade(port);
		await d.until((t) => t === d.head);
		expect(front.pipedConnections).toBe(2);
	});

	it('limits how fast one client IP opens connections, and lets it open more as time passes', async () => {
		const echo = await startEcho();
		// 1 a second, so a burst of 16; the per-IP and total caps are far above what this opens.
		const { front, port } = await startFront({ connectionRate: 1, maxConnectionsPerIp: 100 });
		front.setUpgradeTarget(echo.port);
		/** Before the first of the burst was sent: the front took its first token no earlier. */
		const firstSent = Date.now();
		/** Before the last of the burst was sent. */
		let lastSent = 0;
		for (let i = 0; i < 16; i++) {
			lastSent = Date.now();
			const c = await upgrade(port);
			await c.until((t) => t === c.head);
			c.socket.destroy(); // connect and close, in a loop
		}
		const refused = await upgrade(port);
		await refused.closed;
		expect(await refused.until(() => true)).toMatch(/^HTTP\/1\.1 429 /);
		expect(log.lines.some((l) => l.includes('--connection-rate'))).toBe(true);

		// Another address is not held back (behind a proxy, its X-Forwarded-For).
		const { front: proxied, port: proxiedPort } = await startFront({ connectionRate: 1, maxConnectionsPerIp: 100, trustProxy: true });
		proxied.setUpgradeTarget(echo.port);
		for (let i = 0; i < 16; i++) {
			const c = await upgrade(proxiedPort, { headers: { 'X-Forwarded-For': '198.51.100.1' } });
			await c.until((t) => t === c.head);
			c.socket.destroy();
		}
		const other = await upgrade(proxiedPort, { headers: { 'X-Forwarded-For': '198.51.100.2' } });
		await other.until((t) => t === other.head);

		// The bucket refills at the rate, from the first token taken: the first address may open one
		// more a second after its burst began, not before (and a refused attempt takes nothing from it).
		// Not a second after the burst's last token: the bucket refilled while the burst went on (a
		// burst that took 30 ms on a busy machine let the next one through 970 ms after its last).
		for (;;) {
			const again = await upgrade(port);
			const answer = await again.until((t) => t.startsWith('HTTP/') || t === again.head);
			if (answer === again.head) break;
			expect(answer).toMatch(/^HTTP\/1\.1 429 /);
			expect(Date.now() - lastSent).toBeLessThan(10_000);
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		expect(Date.now() - firstSent).toBeGreaterThanOrEqual(990);
	});

	it('limits total connections', async () => {
		const echo = await startEcho();
		// Per-IP is not the limit here: X-Forwarded-For gives each client its own IP.
		const { front, port } = await startFront({ maxConnections: 2, maxConnectionsPerIp: 1, trustProxy: true });
		front.setUpgradeTarget(echo.port);
		const a = await upgrade(port, { headers: { 'X-Forwarded-For': '198.51.100.1' } });
		const b = await upgrade(port, { headers: { 'X-Forwarded-For': '198.51.100.2' } });
		await a.until((t) => t === a.head);
		await b.until((t) => t === b.head);
		const c = await upgrade(port, { headers: { 'X-Forwarded-For': '198.51.100.3' } });
		await c.closed;
		expect(await c.until(() => true)).toMatch(/^HTTP\/1\.1 503 /);
		expect(log.lines.some((l) => l.includes('--max-connections)'))).toBe(true);
	});

	it('with --trust-proxy counts the last X-Forwarded-For entry, which a client cannot forge', async () => {
		const echo = await startEcho();
		const { front, port } = await startFront({ maxConnectionsPerIp: 1, trustProxy: true });
		front.setUpgradeTarget(echo.port);
		const a = await upgrade(port, { headers: { 'X-Forwarded-For': 'forged-1, 203.0.113.9' } });
		await a.until((t) => t === a.head);
		const b = await upgrade(port, { headers: { 'X-Forwarded-For': 'forged-2, 203.0.113.9' } });
		await b.closed;
		expect(await b.until(() => true)).toMatch(/^HTTP\/1\.1 503 /);
	});

	it('without --trust-proxy ignores X-Forwarded-For', async () => {
		const echo = await startEcho();
		const { front, port } = await startFront({ maxConnectionsPerIp: 1 });
		front.setUpgradeTarget(echo.port);
		const a = await upgrade(port, { headers: { 'X-Forwarded-For': '198.51.100.1' } });
		await a.until((t) => t === a.head);
		const b = await upgrade(port, { headers: { 'X-Forwarded-For': '198.51.100.2' } });
		await b.closed;
		expect(await b.until(() => true)).toMatch(/^HTTP\/1\.1 503 /);
	});

	it('survives a client reset and an upstream that is gone', async () => {
		const echo = await startEcho();
		const { front, port } = await startFront();
		front.setUpgradeTarget(echo.port);
		const a = await upgrade(port);
		await a.until((t) => t === a.head);
		const upstreamClosed = once([...echo.sockets][0], 'close');
		a.socket.resetAndDestroy();
		await upstreamClosed;
		expect(front.pipedConnections).toBe(0);

		// Nothing listens on the upstream port any more: the client is closed, the server lives on.
		const gone = createServer();
		gone.listen(0, '127.0.0.1');
		await once(gone, 'listening');
		const address = gone.address();
		if (address === null || typeof address === 'string') throw new Error('no port');
		await new Promise((resolve) => gone.close(resolve));
		front.setUpgradeTarget(address.port);
		const b = await upgrade(port);
		await b.closed;
		expect(front.pipedConnections).toBe(0);
		expect((await get(port, '/healthz')).status).toBe(200);
	});

	it('cuts a client whose frame or fragmented message is above --max-ws-frame, before libp2p buffers it', async () => {
		const echo = await startEcho();
		const metrics = createMetrics();
		const { front, port } = await startFront({ maxWsFrame: 70_000, metrics });
		front.setUpgradeTarget(echo.port);

		const honest = await upgrade(port, { extra: frame('x'.repeat(65_537)) });
		await honest.until((t) => t.length === honest.head.length + frame('x'.repeat(65_537)).length);

		// Announces 50 MB, sends only the header: nothing of it may reach upstream.
		const big = await upgrade(port, { extra: frame('', { length: 50_000_000 }) });
		await closedEvenIfReset(big.socket);
		// Three fragments of 30 kB: each frame is small, the message is not.
		const part = 'y'.repeat(30_000);
		const fragmented = await upgrade(port, { extra: frame(part, { fin: false }) + frame(part, { opcode: 0, fin: false }) + frame(part, { opcode: 0 }) });
		await closedEvenIfReset(fragmented.socket);
		expect(metrics.value('refusals_total', { limit: 'ws_frame' })).toBe(2);
		await waitFor(() => front.pipedConnections === 1);
	});

	it('close() ends piped connections and is safe to call twice', async () => {
		const echo = await startEcho();
		const { front, port } = await startFront();
		front.setUpgradeTarget(echo.port);
		const a = await upgrade(port);
		await a.until((t) => t === a.head);
		await Promise.all([front.close(), front.close(), a.closed]);
		expect(front.pipedConnections).toBe(0);
	});
});
