// @ts-check
/**
 * The Prometheus endpoint: `GET /metrics` on its own port, bound to loopback
 * unless the operator names another address. Never on the public port: the
 * figures (connections, refusals) help whoever plans an attack as much as
 * whoever defends against one.
 */
import { createServer } from 'node:http';

/** @typedef {import('./metrics.js').Metrics} Metrics */

/** Content type of the Prometheus text format. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * @param {{ host: string, port: number, metrics: Metrics }} options
 * @returns {Promise<{ port: number, url: string, close: () => Promise<void> }>}
 */
export async function startMetricsServer({ host, port, metrics }) {
	const server = createServer((req, res) => {
		const path = (req.url ?? '/').split('?', 1)[0];
		if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
			res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found; try /metrics\n');
			return;
		}
		const body = metrics.render();
		res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
		res.end(req.method === 'HEAD' ? undefined : body);
	});
	// A scraper needs one connection every few seconds; keep the rest out.
	server.maxConnections = 16;
	server.headersTimeout = 10_000;
	server.requestTimeout = 10_000;
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen({ host, port }, () => {
			server.off('error', reject);
			resolve(undefined);
		});
	});
	const address = server.address();
	const bound = typeof address === 'object' && address !== null ? address.port : port;
	let closing = /** @type {Promise<void> | null} */ (null);
	return {
		port: bound,
		url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
		close() {
			closing ??= new Promise((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			});
			return closing;
		}
	};
}
