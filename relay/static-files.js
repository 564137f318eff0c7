// @ts-check
/**
 * Sends one file of the built app: its type, how long it may be cached, and
 * the smallest encoding the browser accepts.
 *
 * The build writes `x.br` and `x.gz` beside each text file (adapter-static's
 * `precompress`, at maximum compression, once): the relay compresses nothing
 * per request, it only picks a sibling file. A browser that names `br` in
 * `Accept-Encoding` gets the brotli file, one that names only `gzip` the gzip
 * file, any other the original; `Vary: Accept-Encoding` tells caches to keep
 * them apart, and each encoding has its own ETag.
 *
 * Caching: kit fingerprints every file under `/_app/immutable/`, so those are
 * cached for a year and never revalidated; everything else (index.html, the
 * service worker, the manifest, version.json) is `no-cache`, revalidated
 * cheaply by ETag, so a new build is seen on the next load.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';

/** @typedef {import('./log.js').Logger} Logger */
/** @typedef {import('node:http').IncomingMessage} IncomingMessage */
/** @typedef {import('node:http').ServerResponse} ServerResponse */
/** @typedef {'br' | 'gzip'} Encoding */

/** Content types by extension: only what a SvelteKit static build contains. */
const CONTENT_TYPES = /** @type {Record<string, string>} */ ({
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.mjs': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.json': 'application/json; charset=utf-8',
	'.map': 'application/json; charset=utf-8',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.webmanifest': 'application/manifest+json',
	'.wasm': 'application/wasm',
	'.ico': 'image/x-icon',
	'.txt': 'text/plain; charset=utf-8',
	'.woff2': 'font/woff2'
});

/** Kit fingerprints every file under this path: it never changes, cache it for a year. */
export const IMMUTABLE_PREFIX = '/_app/immutable/';
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** Sibling file suffix per encoding, in the order preferred when the browser rates them equal (brotli is smaller). */
const SIBLINGS = /** @type {const} */ ([
	['br', '.br'],
	['gzip', '.gz']
]);

// Real Accept-Encoding headers name a handful of codings; more is junk not worth parsing.
const MAX_CODINGS = 32;

/**
 * The encodings a browser accepts, by the q-values of its `Accept-Encoding`
 * (RFC 9110 §12.5.3): a coding with q=0 is refused, `*` stands for every
 * coding not named, and ties go to brotli. A coding with a malformed q-value
 * counts as refused.
 *
 * @param {string | string[] | undefined} header
 * @returns {Encoding[]} best first; empty means send the file as it is
 */
export function acceptedEncodings(header) {
	const text = Array.isArray(header) ? header.join(',') : (header ?? '');
	/** @type {Map<string, number>} */
	const q = new Map();
	for (const part of text.split(',').slice(0, MAX_CODINGS)) {
		const [name, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
		if (!name) continue;
		let weight = 1;
		for (const param of params) {
			if (!param.startsWith('q=')) continue;
			const match = /^q=([01](?:\.\d{0,3})?)$/.exec(param);
			weight = match ? Math.min(1, Number(match[1])) : 0;
		}
		if (!q.has(name)) q.set(name, weight);
	}
	const star = q.get('*') ?? 0;
	return SIBLINGS.map(([coding]) => /** @type {const} */ ([coding, q.get(coding) ?? star]))
		.filter(([, weight]) => weight > 0)
		.sort((a, b) => b[1] - a[1])
		.map(([coding]) => coding);
}

/**
 * @param {string} urlPath URL path of the file
 * @returns {string} the Cache-Control header for it
 */
export function cacheControlFor(urlPath) {
	return urlPath.startsWith(IMMUTABLE_PREFIX) ? IMMUTABLE_CACHE_CONTROL : 'no-cache';
}

/**
 * Sends `file` (which exists: `info` is its stat) for a GET or HEAD of
 * `urlPath`, in the best encoding the request accepts that the build left
 * beside it, answering 304 when the browser's copy is current.
 *
 * @param {IncomingMessage} req
 * @param {ServerResponse} res
 * @param {{ file: string, urlPath: string, info: import('node:fs').Stats, log: Logger }} what
 */
export async function sendStaticFile(req, res, { file, urlPath, info, log }) {
	let path = file;
	let size = info.size;
	let mtimeMs = info.mtimeMs;
	/** @type {Encoding | null} */
	let encoding = null;
	for (const coding of acceptedEncodings(req.headers['accept-encoding'])) {
		const suffix = SIBLINGS.find(([c]) => c === coding)?.[1] ?? '';
		const sibling = await statOrNull(file + suffix);
		// Only a sibling that is a file and actually smaller is worth the header.
		if (sibling?.isFile() && sibling.size < info.size) {
			path = file + suffix;
			size = sibling.size;
			mtimeMs = sibling.mtimeMs;
			encoding = coding;
			break;
		}
	}

	// Weak validator from size and mtime (and the encoding: each is its own representation).
	const etag = `W/"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}${encoding ? `-${encoding}` : ''}"`;
	res.setHeader('Cache-Control', cacheControlFor(urlPath));
	res.setHeader('ETag', etag);
	res.setHeader('Vary', 'Accept-Encoding');
	res.setHeader('X-Content-Type-Options', 'nosniff');
	if (req.headers['if-none-match'] === etag) {
		res.writeHead(304).end();
		return;
	}
	/** @type {Record<string, string | number>} */
	const headers = {
		'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
		'Content-Length': size
	};
	if (encoding) headers['Content-Encoding'] = encoding;
	res.writeHead(200, headers);
	if (req.method === 'HEAD') {
		res.end();
		return;
	}
	const stream = createReadStream(path);
	stream.on('error', (err) => {
		log.warn(`reading ${path}: ${err.message}`);
		res.destroy();
	});
	stream.pipe(res);
}

/** @param {string} path */
async function statOrNull(path) {
	try {
		return await stat(path);
	} catch {
		return null;
	}
}
