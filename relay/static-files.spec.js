// @ts-check
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpServer } from './http-server.js';
import { acceptedEncodings, cacheControlFor, IMMUTABLE_CACHE_CONTROL } from './static-files.js';

/** Compressible text, as a built chunk is. */
const SCRIPT = `export const words = ${JSON.stringify('stanza '.repeat(400))};\n`;
const PAGE = `<!doctype html><title>Stanza</title>${'<p>room</p>'.repeat(200)}`;

/** @type {string} */
let dir;
/** @type {Array<() => Promise<unknown>>} */
let cleanups;

/** @type {import('./log.js').Logger} */
const log = { info() {}, warn() {}, error() {} };

beforeEach(async () => {
	cleanups = [];
	dir = await mkdtemp(join(tmpdir(), 'stanza-static-'));
	const chunks = join(dir, '_app', 'immutable', 'chunks');
	await mkdir(chunks, { recursive: true });
	// What adapter-static's precompress leaves: the file, its .br and its .gz.
	for (const [file, text] of [
		[join(chunks, 'app.123.js'), SCRIPT],
		[join(dir, 'index.html'), PAGE],
		[join(dir, 'service-worker.js'), SCRIPT]
	]) {
		await writeFile(file, text);
		await writeFile(`${file}.br`, brotliCompressSync(text));
		await writeFile(`${file}.gz`, gzipSync(text));
	}
	// Only a gzip sibling.
	await writeFile(join(dir, 'only-gzip.css'), `body{}${' '.repeat(500)}`);
	await writeFile(join(dir, 'only-gzip.css.gz'), gzipSync(`body{}${' '.repeat(500)}`));
	// A "compressed" sibling larger than the file: not worth sending.
	await writeFile(join(dir, 'tiny.svg'), '<svg/>');
	await writeFile(join(dir, 'tiny.svg.br'), Buffer.alloc(64, 1));
	// No siblings at all.
	await writeFile(join(dir, 'icon.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
});

afterEach(async () => {
	for (const cleanup of cleanups.reverse()) await cleanup();
	await rm(dir, { recursive: true, force: true });
});

async function startFront() {
	const front = createHttpServer({
		host: '127.0.0.1',
		port: 0,
		staticDir: dir,
		maxConnections: 10,
		maxConnectionsPerIp: 10,
		trustProxy: false,
		log
	});
	const port = await front.listen();
	cleanups.push(() => front.close());
	return port;
}

/**
 * A raw request that leaves the body as sent (node:http never decodes it).
 *
 * @param {number} port
 * @param {string} path
 * @param {{ method?: string, headers?: Record<string, string> }} [options]
 * @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders, body: Buffer }>}
 */
function get(port, path, { method = 'GET', headers = {} } = {}) {
	return new Promise((resolve, reject) => {
		const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
			/** @type {Buffer[]} */
			const chunks = [];
			res.on('data', (chunk) => chunks.push(chunk));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
		});
		req.on('error', reject);
		req.end();
	});
}

describe('acceptedEncodings', () => {
	it.each([
		['gzip, deflate, br, zstd', ['br', 'gzip']],
		['gzip, deflate', ['gzip']],
		['br', ['br']],
		['', []],
		['identity', []],
		['gzip;q=1.0, br;q=0.5', ['gzip', 'br']],
		['br;q=0.9, gzip;q=0.9', ['br', 'gzip']],
		['br;q=0, gzip', ['gzip']],
		['*', ['br', 'gzip']],
		['*;q=0.5, gzip', ['gzip', 'br']],
		['*, br;q=0', ['gzip']],
		['BR, GZIP', ['br', 'gzip']],
		['br;q=banana, gzip', ['gzip']],
		['br;q=2, gzip', ['gzip']],
		[' , ;;, br ; q=0.3 ', ['br']]
	])('%j → %j', (header, expected) => {
		expect(acceptedEncodings(header)).toEqual(expected);
	});

	it('reads a header sent twice, and ignores codings past a sane count', () => {
		expect(acceptedEncodings(['gzip', 'br'])).toEqual(['br', 'gzip']);
		expect(acceptedEncodings(`${'x, '.repeat(40)}br`)).toEqual([]);
		expect(acceptedEncodings(undefined)).toEqual([]);
	});
});

describe('cacheControlFor', () => {
	it.each([
		['/_app/immutable/chunks/app.123.js', IMMUTABLE_CACHE_CONTROL],
		['/_app/immutable/assets/0.abc.css', IMMUTABLE_CACHE_CONTROL],
		['/', 'no-cache'],
		['/index.html', 'no-cache'],
		['/service-worker.js', 'no-cache'],
		['/_app/version.json', 'no-cache'],
		['/manifest.webmanifest', 'no-cache']
	])('%s → %s', (path, expected) => {
		expect(cacheControlFor(path)).toBe(expected);
	});
});

describe('serving precompressed files', () => {
	it('sends brotli to a browser that accepts it, with its length, Vary and immutable caching', async () => {
		const port = await startFront();
		const res = await get(port, '/_app/immutable/chunks/app.123.js', { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
		expect(res.status).toBe(200);
		expect(res.headers['content-encoding']).toBe('br');
		expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
		expect(res.headers.vary).toBe('Accept-Encoding');
		expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
		expect(Number(res.headers['content-length'])).toBe(res.body.length);
		expect(res.body.length).toBeLessThan(SCRIPT.length / 4);
		expect(brotliDecompressSync(res.body).toString()).toBe(SCRIPT);
	});

	it('sends gzip to a browser that accepts only gzip', async () => {
		const port = await startFront();
		const res = await get(port, '/_app/immutable/chunks/app.123.js', { headers: { 'Accept-Encoding': 'gzip' } });
		expect(res.headers['content-encoding']).toBe('gzip');
		expect(gunzipSync(res.body).toString()).toBe(SCRIPT);
	});

	it('sends the file as it is without Accept-Encoding, or when every coding is refused', async () => {
		const port = await startFront();
		/** @type {Record<string, string>[]} */
		const requests = [{}, { 'Accept-Encoding': 'br;q=0, gzip;q=0' }, { 'Accept-Encoding': 'identity' }];
		for (const headers of requests) {
			const res = await get(port, '/_app/immutable/chunks/app.123.js', { headers });
			expect(res.headers['content-encoding']).toBeUndefined();
			expect(res.headers.vary).toBe('Accept-Encoding');
			expect(res.body.toString()).toBe(SCRIPT);
		}
	});

	it('serves index.html at / and the service worker compressed, both revalidated on every load', async () => {
		const port = await startFront();
		for (const path of ['/', '/index.html']) {
			const res = await get(port, path, { headers: { 'Accept-Encoding': 'br' } });
			expect(res.headers['content-encoding']).toBe('br');
			expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
			expect(res.headers['cache-control']).toBe('no-cache');
			expect(brotliDecompressSync(res.body).toString()).toBe(PAGE);
		}
		const worker = await get(port, '/service-worker.js', { headers: { 'Accept-Encoding': 'gzip' } });
		expect(worker.headers['content-encoding']).toBe('gzip');
		expect(worker.headers['cache-control']).toBe('no-cache');
	});

	it('falls back to the next accepted coding the build left, and skips a sibling that is not smaller', async () => {
		const port = await startFront();
		const css = await get(port, '/only-gzip.css', { headers: { 'Accept-Encoding': 'br, gzip' } });
		expect(css.headers['content-encoding']).toBe('gzip');
		const svg = await get(port, '/tiny.svg', { headers: { 'Accept-Encoding': 'br' } });
		expect(svg.headers['content-encoding']).toBeUndefined();
		expect(svg.body.toString()).toBe('<svg/>');
		const png = await get(port, '/icon.png', { headers: { 'Accept-Encoding': 'br, gzip' } });
		expect(png.headers['content-encoding']).toBeUndefined();
		expect(png.headers['content-type']).toBe('image/png');
	});

	it('gives each encoding its own ETag and answers 304 only to the matching one', async () => {
		const port = await startFront();
		const path = '/_app/immutable/chunks/app.123.js';
		const br = await get(port, path, { headers: { 'Accept-Encoding': 'br' } });
		const gz = await get(port, path, { headers: { 'Accept-Encoding': 'gzip' } });
		const plain = await get(port, path);
		const tags = [br, gz, plain].map((r) => String(r.headers.etag));
		expect(new Set(tags).size).toBe(3);

		const again = await get(port, path, { headers: { 'Accept-Encoding': 'br', 'If-None-Match': tags[0] } });
		expect(again.status).toBe(304);
		expect(again.body.length).toBe(0);
		expect(again.headers.vary).toBe('Accept-Encoding');
		// A gzip copy's tag does not validate the brotli representation.
		const mismatched = await get(port, path, { headers: { 'Accept-Encoding': 'br', 'If-None-Match': tags[1] } });
		expect(mismatched.status).toBe(200);
		expect(mismatched.headers['content-encoding']).toBe('br');
	});

	it('answers HEAD with the compressed length and no body', async () => {
		const port = await startFront();
		const res = await get(port, '/index.html', { method: 'HEAD', headers: { 'Accept-Encoding': 'gzip' } });
		expect(res.status).toBe(200);
		expect(res.headers['content-encoding']).toBe('gzip');
		expect(Number(res.headers['content-length'])).toBe(gzipSync(PAGE).length);
		expect(res.body.length).toBe(0);
	});
});
