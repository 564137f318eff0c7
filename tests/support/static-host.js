// @ts-check
/**
 * A plain static file server, standing in for "any static host" (GitHub
 * Pages, S3, nginx): files only, no relay, no well-known document, no
 * rewrites. Listens on 127.0.0.1 and an OS-chosen port, and records every
 * request so a test can say which paths the app asked for.
 */
import { createReadStream } from 'node:fs';
import { cp, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = /** @type {Record<string, string>} */ ({
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.json': 'application/json',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.webmanifest': 'application/manifest+json'
});

/**
 * @typedef {object} StaticHost
 * @property {string} origin e.g. http://127.0.0.1:41234
 * @property {{ path: string, status: number }[]} requests every request so far, in order
 * @property {() => Promise<void>} stop closes the server and every open connection (safe twice)
 */

/**
 * @param {string} root folder to serve as `/`
 * @returns {Promise<StaticHost>}
 */
export async function startStaticHost(root) {
	/** @type {{ path: string, status: number }[]} */
	const requests = [];
	const server = createServer(async (req, res) => {
		const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
		const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
		const info = file.startsWith(root + sep) ? await stat(file).catch(() => null) : null;
		const status = info?.isFile() ? 200 : 404;
		requests.push({ path, status });
		if (!info?.isFile()) {
			res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
			return;
		}
		res.writeHead(200, {
			'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
			'Content-Length': info.size,
			'Cache-Control': 'no-cache'
		});
		createReadStream(file).pipe(res);
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
	const address = server.address();
	if (typeof address !== 'object' || address === null) throw new Error('static host has no address');
	return {
		origin: `http://127.0.0.1:${address.port}`,
		requests,
		stop: () =>
			new Promise((resolve) => {
				if (!server.listening) return resolve();
				server.close(() => resolve());
				server.closeAllConnections();
			})
	};
}

/**
 * What a deployer does: copies `build/` into `folder` (e.g. `/apps/stanza/`)
 * of a fresh site, optionally names relays in `stanza-relays.json` beside its
 * index.html, and serves the site. `stop()` also removes the site.
 *
 * @param {string} folder URL path of the app's folder, with slashes around it
 * @param {{ relays?: string[] }} [options]
 * @returns {Promise<StaticHost & { app: string, dir: string }>} `app`: the app's URL; `dir`: its folder on disk
 */
export async function deployBuild(folder, options = {}) {
	const siteRoot = await mkdtemp(join(tmpdir(), 'stanza-site-'));
	const dir = join(siteRoot, ...folder.split('/').filter(Boolean));
	await cp('build', dir, { recursive: true });
	if (options.relays) await writeFile(join(dir, 'stanza-relays.json'), JSON.stringify({ relays: options.relays }));
	const host = await startStaticHost(siteRoot);
	return {
		...host,
		app: `${host.origin}${folder}`,
		dir,
		stop: async () => {
			await host.stop();
			await rm(siteRoot, { recursive: true, force: true });
		}
	};
}
