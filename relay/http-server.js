// @ts-check
/**
 * The relay's one public HTTP port.
 *
 * It serves the built app, `/.well-known/stanza-relay.json` (how the app
 * learns the relay's PeerId and multiaddrs), `/healthz`, and takes closing
 * pages' goodbyes (`POST /v1/goodbye`, goodbye.js), and hands every
 * WebSocket upgrade to libp2p's WebSocket listener on a loopback port by
 * piping the raw socket. One port for app and libp2p means a single TLS
 * reverse-proxy line (or none on a LAN) is enough.
 *
 * libp2p sees every piped connection as coming from 127.0.0.1, so the limits
 * that need the real client address are enforced here: TCP connections and
 * unfinished requests per IP (at accept, before a byte is parsed), WebSocket
 * connections per IP and how fast one IP may open them, the size of WebSocket
 * frames (ws-frame-guard.js), and the time a request head may take. `ipOfUpstreamPort` tells the libp2p side
 * which client IP a piped connection belongs to (its loopback source port).
 */
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { connect, isIP } from 'node:net';
import { join, relative, sep, isAbsolute } from 'node:path';
import { GOODBYE_PATH, MAX_GOODBYE_BODY } from './goodbye.js';
import { HALLWAY_PATH } from './hallway.js';
import { refusalWarner } from './log.js';
import { PerIpCounter } from './per-ip-counter.js';
import { PerIpRate } from './per-ip-rate.js';
import { sendStaticFile } from './static-files.js';
import { WsFrameGuard } from './ws-frame-guard.js';

/** @typedef {import('./log.js').Logger} Logger */
/** @typedef {import('node:stream').Duplex} Duplex */
/** @typedef {import('node:http').IncomingMessage} IncomingMessage */
/** @typedef {import('node:http').ServerResponse} ServerResponse */
/** @typedef {import('node:net').Socket} Socket */
/** @typedef {import('./metrics.js').Metrics} Metrics */

/**
 * What `/.well-known/stanza-relay.json` answers.
 *
 * @typedef {object} RelayInfo
 * @property {1} version bumped on incompatible changes to this document
 * @property {string} peerId
 * @property {string[]} multiaddrs dialable addresses, each ending in `/p2p/<peerId>`
 * @property {string[]} [federation] the relays this one federates with (--federate), for browsers to keep as spares
 */

/**
 * @typedef {object} HttpServerOptions
 * @property {string} host
 * @property {number} port 0 = any free port
 * @property {string | null} staticDir built app folder, null = do not serve the app
 * @property {number} maxConnections WebSocket connections piped at once
 * @property {number} maxConnectionsPerIp WebSocket connections per client IP
 * @property {boolean} trustProxy take the client IP from `X-Forwarded-For`
 * @property {number} [maxSocketsPerIp] TCP connections of any kind per IP (not applied with trustProxy)
 * @property {number} [maxPendingPerIp] connections per IP that have not sent a complete request head
 * @property {number} [headersTimeout] seconds to send a request head
 * @property {number} [requestTimeout] seconds to send a whole request
 * @property {number} [idleTimeout] seconds an HTTP (not upgraded) socket may stay silent
 * @property {number} [maxWsFrame] largest WebSocket frame/message a client may send, bytes
 * @property {number} [connectionRate] WebSocket connections per second one client IP may open (bursts of
 *   CONNECTION_BURST_SECONDS)
 * @property {Metrics} [metrics] where refusals and traffic are counted
 * @property {Logger} log
 */

export const WELL_KNOWN_PATH = '/.well-known/stanza-relay.json';

/**
 * Sockets for plain HTTP (app files, well-known) beyond the WebSocket limit.
 * Node counts upgraded sockets against `server.maxConnections` too, so this is
 * the room left for page loads when every WebSocket slot is taken.
 */
const HTTP_CONNECTION_HEADROOM = 256;

/** How long Node waits between checks of `headersTimeout`/`requestTimeout` (its default is 30 s, which would triple a 10 s limit). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** 5 s, Node's own default: browsers reuse a keep-alive connection at once or not at all. */
const KEEP_ALIVE_TIMEOUT_MS = 5000;

/**
 * A client IP may open `connectionRate` × 16 WebSocket connections at once (64 by default, twice
 * --max-connections-per-ip: a household's tabs all redialling after a relay restart, and again).
 */
const CONNECTION_BURST_SECONDS = 16;

/**
 * KiB of the hallway list one client IP may download per second, in bursts of HALLWAY_BURST_SECONDS
 * (16 MiB). A few-byte request returns up to --max-hallway-rooms × 2 KiB (512 KiB by default), so
 * reads in a loop would spend the relay's upload on one address: this allows 2 reads a second of the
 * fullest list, and hundreds of a usual one (a few KiB), so many tabs behind one NAT (each reads it
 * when it shows the hallway, when it is seen again, and every 10 s) never meet it.
 */
const HALLWAY_KIB_RATE = 1024;
const HALLWAY_BURST_SECONDS = 16;

/** Defaults of the optional limits, equal to config.js's (for embedding and tests). */
const DEFAULT_LIMITS = {
	connectionRate: 4,
	maxSocketsPerIp: 64,
	maxPendingPerIp: 16,
	headersTimeout: 10,
	requestTimeout: 30,
	idleTimeout: 30,
	maxWsFrame: 128 * 1024
};

const NOT_BUILT_TEXT =
	'Stanza relay: the app is not built yet.\n\nRun `npm run build` in the Stanza folder, then reload this page.\n' +
	'(The relay itself is running; browsers that already have the app can use it.)\n';

const NO_STATIC_TEXT = 'Stanza relay: this relay does not serve the app (started with --no-static).\n';

/**
 * Creates the HTTP front. Call `listen()` to bind, `setUpgradeTarget()` once
 * libp2p listens, `setRelayInfo()` once its addresses are known.
 *
 * @param {HttpServerOptions} options
 */
export function createHttpServer(options) {
	const { log, metrics } = options;
	const limits = { ...DEFAULT_LIMITS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };

	/** @type {number | null} loopback port of libp2p's WebSocket listener */
	let upgradePort = null;
	/** @type {RelayInfo | null} */
	let relayInfo = null;
	/** @type {((ip: string, body: string) => { status: number, text: string }) | null} */
	let goodbyeTarget = null;
	/** @type {(() => string) | null} */
	let hallwaySource = null;
	let closing = false;

	/** Both sockets of every live pipe, so `close()` can end them. */
	const piped = new Set(/** @type {Duplex[]} */ ([]));
	let pipedCount = 0;
	/** @type {Map<string, number>} client IP → piped connections */
	const perIp = new Map();
	/** TCP connections of any kind per socket IP; unfinished request heads per socket IP. */
	const socketsPerIp = new PerIpCounter(limits.maxSocketsPerIp);
	const openings = new PerIpRate({ rate: limits.connectionRate, burstSeconds: CONNECTION_BURST_SECONDS });
	const hallwayReads = new PerIpRate({ rate: HALLWAY_KIB_RATE, burstSeconds: HALLWAY_BURST_SECONDS });
	const pendingPerIp = new PerIpCounter(limits.maxPendingPerIp);
	/** @type {WeakMap<Duplex, string>} sockets still counted in pendingPerIp → their IP */
	const pendingSockets = new WeakMap();
	/** @type {Map<number, string>} loopback source port of a pipe to libp2p → client IP */
	const upstreamIps = new Map();
	const warnRefusal = refusalWarner(log);

	/**
	 * Counts a refusal and logs it, at most once per interval per limit.
	 *
	 * @param {keyof typeof import('./metrics.js').LIMITS} limit
	 * @param {string} message
	 */
	const refused = (limit, message) => {
		metrics?.refuse(limit);
		warnRefusal(limit, message);
	};

	/**
	 * The socket has sent a complete request head: it no longer counts as pending.
	 *
	 * @param {Duplex} socket
	 */
	const headComplete = (socket) => {
		const ip = pendingSockets.get(socket);
		if (ip === undefined) return;
		pendingSockets.delete(socket);
		pendingPerIp.release(ip);
	};

	const server = createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS }, (req, res) => {
		headComplete(req.socket);
		handleRequest(req, res).catch((err) => {
			log.warn(`http ${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
			if (!res.headersSent) sendText(res, 500, 'internal error\n');
			else res.destroy();
		});
	});
	server.maxConnections = options.maxConnections + HTTP_CONNECTION_HEADROOM;
	server.headersTimeout = limits.headersTimeout * 1000;
	server.requestTimeout = limits.requestTimeout * 1000;
	server.keepAliveTimeout = Math.min(KEEP_ALIVE_TIMEOUT_MS, limits.idleTimeout * 1000);
	// Inactivity on HTTP sockets (a client that stops reading a response); upgraded sockets opt out.
	server.timeout = limits.idleTimeout * 1000;
	server.on('connection', onConnection);
	server.on('clientError', onClientError);
	server.on('upgrade', onUpgrade);

	/**
	 * Every TCP connection, before Node parses a byte: per-IP caps on sockets
	 * and on unfinished requests, so one address holding half-sent requests
	 * (slowloris) cannot use up `maxConnections` for everyone.
	 *
	 * @param {Socket} socket
	 */
	function onConnection(socket) {
		socket.on('error', () => socket.destroy());
		// Behind a trusted proxy every socket comes from the proxy: only it can limit per client.
		if (options.trustProxy) return;
		const ip = ipKey(socket.remoteAddress ?? 'unknown');
		if (!socketsPerIp.tryAcquire(ip)) {
			refused('sockets_per_ip', `closed a connection from ${ip}: it already has ${limits.maxSocketsPerIp} (--max-sockets-per-ip)`);
			socket.destroy();
			return;
		}
		if (!pendingPerIp.tryAcquire(ip)) {
			socketsPerIp.release(ip);
			refused('pending_per_ip', `closed a connection from ${ip}: ${limits.maxPendingPerIp} of its requests are unfinished (--max-pending-per-ip)`);
			socket.destroy();
			return;
		}
		pendingSockets.set(socket, ip);
		socket.once('close', () => {
			headComplete(socket);
			socketsPerIp.release(ip);
		});
	}

	/**
	 * Malformed requests and timeouts. With a listener here Node no longer
	 * answers for us, so answer (400/408) and close.
	 *
	 * @param {Error & { code?: string }} err
	 * @param {Duplex} socket
	 */
	function onClientError(err, socket) {
		const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
		if (timeout) refused('request_timeout', `closed a connection: request not complete within --headers-timeout/--request-timeout`);
		// Node's own rule: answer only if no response has started on this socket.
		const inFlight = /** @type {{ _httpMessage?: { headersSent?: boolean } }} */ (/** @type {unknown} */ (socket))._httpMessage;
		if (socket.writable && !inFlight?.headersSent) {
			const status = timeout ? '408 Request Timeout' : '400 Bad Request';
			socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
		}
		// Node's own handling: the status is flushed before the socket closes.
		socket.destroy();
	}

	/**
	 * @param {IncomingMessage} req
	 * @param {ServerResponse} res
	 */
	async function handleRequest(req, res) {
		const target = req.url ?? '/';
		if (!target.startsWith('/')) return sendText(res, 400, 'bad request\n');
		const pathname = target.split(/[?#]/, 1)[0];

		if (pathname === WELL_KNOWN_PATH) return serveJson(req, res, relayInfo ? JSON.stringify(relayInfo) : null);
		if (pathname === HALLWAY_PATH) return serveHallway(req, res);
		if (pathname === GOODBYE_PATH) return takeGoodbye(req, res);
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			res.setHeader('Allow', 'GET, HEAD');
			return sendText(res, 405, 'method not allowed\n');
		}
		if (pathname === '/healthz') return sendText(res, 200, 'ok\n', 'no-store');
		return serveStatic(req, res, pathname);
	}

	/**
	 * A closing page's sealed goodbye (goodbye.js). The body is read only up
	 * to MAX_GOODBYE_BODY; a longer one is answered 413 and its socket closed.
	 *
	 * @param {IncomingMessage} req
	 * @param {ServerResponse} res
	 */
	async function takeGoodbye(req, res) {
		// sendBeacon may come from an app hosted elsewhere; the answer carries nothing secret.
		res.setHeader('Access-Control-Allow-Origin', '*');
		if (req.method === 'OPTIONS') {
			res.setHeader('Access-Control-Allow-Methods', 'POST');
			res.writeHead(204).end();
			return;
		}
		if (req.method !== 'POST') {
			res.setHeader('Allow', 'POST, OPTIONS');
			return sendText(res, 405, 'method not allowed\n');
		}
		if (!goodbyeTarget) return sendText(res, 503, 'relay is starting\n');
		const declared = Number(req.headers['content-length'] ?? 0);
		if (declared > MAX_GOODBYE_BODY) {
			res.setHeader('Connection', 'close');
			return sendText(res, 413, 'goodbye too large\n');
		}
		const body = await readBody(req, MAX_GOODBYE_BODY);
		if (body === null) {
			// Answered, then the socket closes (Connection: close): the rest of the body is never read.
			res.setHeader('Connection', 'close');
			return sendText(res, 413, 'goodbye too large\n');
		}
		const { status, text } = goodbyeTarget(clientIp(req, options.trustProxy), body.toString('utf8'));
		return sendText(res, status, text, 'no-store');
	}

	/**
	 * A small JSON document any origin may read (the app may be hosted
	 * elsewhere than the relay): the relay's addresses, or the hallway.
	 *
	 * @param {IncomingMessage} req
	 * @param {ServerResponse} res
	 * @param {string | null} json null while the relay is starting
	 */
	function serveJson(req, res, json) {
		res.setHeader('Access-Control-Allow-Origin', '*');
		res.setHeader('Cache-Control', 'no-cache');
		if (req.method === 'OPTIONS') {
			res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD');
			res.writeHead(204).end();
			return;
		}
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			res.setHeader('Allow', 'GET, HEAD, OPTIONS');
			return sendText(res, 405, 'method not allowed\n');
		}
		const status = json !== null ? 200 : 503;
		const body = json ?? JSON.stringify({ error: 'relay is starting' });
		res.writeHead(status, {
			'Content-Type': 'application/json; charset=utf-8',
			'Content-Length': Buffer.byteLength(body)
		});
		res.end(req.method === 'HEAD' ? undefined : body);
	}

	/**
	 * The hallway list, to any origin, each client IP at most HALLWAY_KIB_RATE KiB of it a second.
	 *
	 * @param {IncomingMessage} req
	 * @param {ServerResponse} res
	 */
	function serveHallway(req, res) {
		const json = hallwaySource?.() ?? null;
		if (json !== null && req.method === 'GET') {
			const ip = clientIp(req, options.trustProxy);
			if (!hallwayReads.take(ip, Date.now(), Math.ceil(Buffer.byteLength(json) / 1024))) {
				refused('hallway_rate', `refused hallway reads from ${ip}: more than ${HALLWAY_KIB_RATE} KiB a second`);
				res.setHeader('Access-Control-Allow-Origin', '*');
				res.setHeader('Retry-After', '1');
				return sendText(res, 429, 'too many hallway reads\n');
			}
		}
		return serveJson(req, res, json);
	}

	/**
	 * @param {IncomingMessage} req
	 * @param {ServerResponse} res
	 * @param {string} pathname URL path, still percent-encoded
	 */
	async function serveStatic(req, res, pathname) {
		const root = options.staticDir;
		if (root === null) {
			return pathname === '/' ? sendText(res, 404, NO_STATIC_TEXT) : sendText(res, 404, 'not found\n');
		}
		if (!(await isDirectory(root))) {
			return pathname === '/' ? sendText(res, 503, NOT_BUILT_TEXT) : sendText(res, 404, 'not found\n');
		}

		const file = resolveStaticPath(root, pathname);
		if (file === null) return sendText(res, 400, 'bad path\n');

		const info = await statOrNull(file);
		// A folder without a trailing slash is a 404 rather than a redirect:
		// redirecting to a path taken from the request invites open redirects.
		if (!info?.isFile()) return sendText(res, 404, 'not found\n');
		return sendStaticFile(req, res, { file, urlPath: pathname, info, log });
	}

	/**
	 * Hands a WebSocket upgrade to libp2p: replays the request head on a
	 * loopback connection to its listener, then pipes both ways.
	 *
	 * @param {IncomingMessage} req
	 * @param {Duplex} socket
	 * @param {Buffer} head bytes the client sent after the request head
	 */
	function onUpgrade(req, socket, head) {
		// Registered first: a reset while we decide must not become an uncaught error.
		socket.on('error', () => socket.destroy());
		headComplete(socket);

		if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
			return refuse(socket, '400 Bad Request');
		}
		if (closing || upgradePort === null) return refuse(socket, '503 Service Unavailable');

		const ip = clientIp(req, options.trustProxy);
		const fromIp = perIp.get(ip) ?? 0;
		if (pipedCount >= options.maxConnections) {
			refused('connections', `refused WebSocket from ${ip}: ${options.maxConnections} connections (--max-connections) in use`);
			return refuse(socket, '503 Service Unavailable');
		}
		if (fromIp >= options.maxConnectionsPerIp) {
			refused('connections_per_ip', `refused WebSocket from ${ip}: it already has ${fromIp} (--max-connections-per-ip)`);
			return refuse(socket, '503 Service Unavailable');
		}
		// Each connection costs libp2p a Noise handshake, identify and gossip streams before it can be
		// judged: a client that connects and closes in a loop would keep the relay's CPU busy.
		if (!openings.take(ip, Date.now())) {
			refused('connection_rate', `refused WebSocket from ${ip}: it opens more than ${limits.connectionRate} a second (--connection-rate)`);
			return refuse(socket, '429 Too Many Requests');
		}

		pipedCount++;
		perIp.set(ip, fromIp + 1);
		const upstream = connect({ port: upgradePort, host: '127.0.0.1' });
		piped.add(socket);
		piped.add(upstream);
		/** @type {number | null} */
		let upstreamPort = null;
		upstream.once('connect', () => {
			upstreamPort = upstream.localPort ?? null;
			if (upstreamPort !== null && !released) upstreamIps.set(upstreamPort, ip);
		});

		let released = false;
		const teardown = () => {
			socket.destroy();
			upstream.destroy();
			if (released) return;
			released = true;
			piped.delete(socket);
			piped.delete(upstream);
			if (upstreamPort !== null) upstreamIps.delete(upstreamPort);
			pipedCount--;
			const left = (perIp.get(ip) ?? 1) - 1;
			if (left > 0) perIp.set(ip, left);
			else perIp.delete(ip);
		};
		socket.on('error', teardown);
		socket.on('close', teardown);
		upstream.on('error', teardown);
		upstream.on('close', teardown);

		// WebSocket frames are small and latency-bound: don't wait to coalesce them.
		upstream.setNoDelay(true);
		if ('setNoDelay' in socket && typeof socket.setNoDelay === 'function') socket.setNoDelay(true);

		// A WebSocket lives long and libp2p pings it: the HTTP inactivity timeout is not for it.
		if ('setTimeout' in socket && typeof socket.setTimeout === 'function') socket.setTimeout(0);

		upstream.write(requestHead(req));
		const guard = new WsFrameGuard(limits.maxWsFrame);
		/** @param {Buffer} chunk */
		const forward = (chunk) => {
			const problem = guard.push(chunk);
			if (problem !== null) {
				refused('ws_frame', `closed WebSocket from ${ip}: ${problem} (--max-ws-frame)`);
				teardown();
				return;
			}
			metrics?.count('piped_bytes_total', 'bytes piped between clients and libp2p, by direction', chunk.length, { direction: 'in' });
			if (!upstream.write(chunk)) socket.pause();
		};
		if (head.length > 0) forward(head);
		upstream.on('drain', () => socket.resume());
		socket.on('data', forward);
		socket.on('end', () => upstream.end());
		upstream.on('data', (chunk) => {
			metrics?.count('piped_bytes_total', 'bytes piped between clients and libp2p, by direction', chunk.length, { direction: 'out' });
			if (!socket.write(chunk)) upstream.pause();
		});
		socket.on('drain', () => upstream.resume());
		upstream.on('end', () => socket.end());
	}

	return {
		/** The underlying node:http server (for tests and embedding). */
		server,

		/**
		 * Binds host:port.
		 *
		 * @returns {Promise<number>} the bound port (useful when port is 0)
		 */
		listen() {
			return new Promise((resolve, reject) => {
				server.once('error', reject);
				server.listen({ host: options.host, port: options.port }, () => {
					server.off('error', reject);
					// Once listening, the server's own errors (rare: EMFILE on accept) must not kill the relay.
					server.on('error', (err) => log.warn(`http server: ${err.message}`));
					const address = server.address();
					resolve(typeof address === 'object' && address !== null ? address.port : options.port);
				});
			});
		},

		/**
		 * Where to pipe WebSocket upgrades: libp2p's loopback listener port.
		 *
		 * @param {number} port
		 */
		setUpgradeTarget(port) {
			upgradePort = port;
		},

		/** @param {RelayInfo} info */
		setRelayInfo(info) {
			relayInfo = info;
		},

		/** @param {(ip: string, body: string) => { status: number, text: string }} take answers a goodbye (goodbye.js) */
		setGoodbyeTarget(take) {
			goodbyeTarget = take;
		},

		/** @param {() => string} list the hallway's announcements as a JSON array (hallway.js) */
		setHallwaySource(list) {
			hallwaySource = list;
		},

		/** WebSocket connections currently piped to libp2p. */
		get pipedConnections() {
			return pipedCount;
		},

		/** TCP connections open now, of any kind (not counted behind --trust-proxy). */
		get openSockets() {
			return socketsPerIp.total;
		},

		/**
		 * The client IP behind a piped connection, from the loopback source port
		 * libp2p sees as its remote address; null when no live pipe has it.
		 *
		 * @param {number} port
		 * @returns {string | null}
		 */
		ipOfUpstreamPort(port) {
			return upstreamIps.get(port) ?? null;
		},

		/**
		 * Stops accepting, ends every open HTTP and piped connection. Safe to
		 * call twice.
		 *
		 * @returns {Promise<void>}
		 */
		close() {
			closing = true;
			return new Promise((resolve) => {
				if (!server.listening) {
					resolve();
				} else {
					server.close(() => resolve());
				}
				server.closeAllConnections();
				for (const s of piped) s.destroy();
			});
		}
	};
}

/**
 * Maps a URL path into the static folder, or null if it tries to leave it.
 * Decoding happens once, before the checks, so `%2e%2e%2f` is caught like
 * `../`; backslashes count as separators so Windows paths can't slip through.
 *
 * @param {string} root absolute folder
 * @param {string} pathname percent-encoded URL path starting with `/`
 * @returns {string | null}
 */
export function resolveStaticPath(root, pathname) {
	let decoded;
	try {
		decoded = decodeURIComponent(pathname);
	} catch {
		return null;
	}
	if (decoded.includes('\0')) return null;
	const segments = decoded.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
	// '..' never; other dot-files (.env, .git) are not part of a build either.
	if (segments.some((s) => s.startsWith('.'))) return null;
	const file = join(root, ...segments);
	const rel = relative(root, file);
	if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) return null;
	return segments.length === 0 || decoded.endsWith('/') ? join(file, 'index.html') : file;
}

/**
 * The client's IP, as the key per-IP limits count it under (`ipKey`: an IPv6 client by its
 * /64). Behind a reverse proxy (`--trust-proxy`) the socket peer
 * is the proxy, so the last `X-Forwarded-For` entry, the one our proxy
 * appended, is used; earlier entries come from the client and can be forged.
 *
 * @param {IncomingMessage} req
 * @param {boolean} trustProxy
 */
export function clientIp(req, trustProxy) {
	if (trustProxy) {
		const header = req.headers['x-forwarded-for'];
		const list = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
		const last = list[list.length - 1].trim();
		if (isIP(last) !== 0) return ipKey(last);
	}
	return ipKey(req.socket.remoteAddress ?? 'unknown');
}

/**
 * The key every per-IP limit counts a client under. IPv4 as it is; IPv4 mapped into IPv6
 * (`::ffff:1.2.3.4`, how a dual-stack socket reports IPv4, in any spelling) as that IPv4
 * address; any other IPv6 address by its /64, e.g. `2001:db8:1:2::/64`. A home or phone
 * line is routed a whole /64 (or more), so keyed on the full address one client had 2^64
 * addresses to spread its connections, reservations and topics over.
 *
 * @param {string} ip
 */
export function ipKey(ip) {
	// A zone index (fe80::1%eth0) names one of our interfaces, not part of the client's address.
	const address = ip.split('%')[0];
	if (isIP(address) !== 6) return ip;
	const groups = ipv6Groups(address);
	if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
		return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
	}
	return `${groups
		.slice(0, 4)
		.map((g) => g.toString(16))
		.join(':')}::/64`;
}

/**
 * The eight 16-bit groups of a valid IPv6 address: `::` expanded, a dotted IPv4 tail converted.
 *
 * @param {string} address an address `isIP` calls IPv6
 * @returns {number[]}
 */
function ipv6Groups(address) {
	let text = address.toLowerCase();
	const lastColon = text.lastIndexOf(':');
	const tail = text.slice(lastColon + 1);
	if (tail.includes('.')) {
		const [a, b, c, d] = tail.split('.').map(Number);
		text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
	}
	const [head, rest] = text.split('::');
	const left = head === '' ? [] : head.split(':');
	const right = rest === undefined || rest === '' ? [] : rest.split(':');
	const zeros = rest === undefined ? [] : Array(8 - left.length - right.length).fill('0');
	return [...left, ...zeros, ...right].map((g) => parseInt(g, 16));
}

/**
 * Rebuilds the request head exactly as received, for replay to libp2p.
 *
 * @param {IncomingMessage} req
 */
function requestHead(req) {
	let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
	for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
		head += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
	}
	return head + '\r\n';
}

/**
 * Answers an upgrade with a bare status and closes the socket.
 *
 * @param {Duplex} socket
 * @param {string} status e.g. `503 Service Unavailable`
 */
function refuse(socket, status) {
	if (socket.writable) {
		socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
	} else {
		socket.destroy();
	}
}

/**
 * A request body of at most `max` bytes; null when it is longer (the rest is
 * left unread) or the request fails.
 *
 * @param {IncomingMessage} req
 * @param {number} max
 * @returns {Promise<Buffer | null>}
 */
function readBody(req, max) {
	return new Promise((resolve) => {
		/** @type {Buffer[]} */
		const chunks = [];
		let size = 0;
		const onData = (/** @type {Buffer} */ chunk) => {
			size += chunk.length;
			if (size <= max) return void chunks.push(chunk);
			req.off('data', onData);
			req.pause();
			resolve(null);
		};
		req.on('data', onData);
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', () => resolve(null));
	});
}

/**
 * @param {ServerResponse} res
 * @param {number} status
 * @param {string} text
 * @param {string} [cacheControl]
 */
function sendText(res, status, text, cacheControl = 'no-cache') {
	res.writeHead(status, {
		'Content-Type': 'text/plain; charset=utf-8',
		'Content-Length': Buffer.byteLength(text),
		'Cache-Control': cacheControl,
		'X-Content-Type-Options': 'nosniff'
	});
	res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** @param {string} path */
async function statOrNull(path) {
	try {
		return await stat(path);
	} catch {
		return null;
	}
}

/** @param {string} path */
async function isDirectory(path) {
	return (await statOrNull(path))?.isDirectory() ?? false;
}
