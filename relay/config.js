// @ts-check
/**
 * Command-line and environment configuration of the relay.
 *
 * Pure: no I/O, no process globals except the defaults of `options`, so every
 * rule is unit-tested in `config.spec.js`. Precedence: command line, then
 * `STANZA_…` environment variables, then defaults.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { multiaddr } from '@multiformats/multiaddr';

/**
 * @typedef {object} RelayConfig
 * @property {string} host IP address the HTTP server binds to.
 * @property {number} port TCP port; 0 picks any free port.
 * @property {string[]} announce Public multiaddrs to advertise (without `/p2p/…`); empty = derive from the interfaces.
 * @property {string[]} federate Other relays to stay connected to and share room topics with (multiaddrs ending in `/p2p/<id>`).
 * @property {string} keyFile Absolute path of the persistent private key.
 * @property {string | null} staticDir Absolute path of the built app, or null when disabled.
 * @property {number} maxReservations Circuit relay reservations held at once.
 * @property {number} reservationTtl Seconds a reservation lasts before the client must renew it.
 * @property {number} circuitDataLimit Bytes each relayed connection may carry (each direction).
 * @property {number} circuitDurationLimit Seconds each relayed connection may stay open.
 * @property {number} maxConnections WebSocket connections piped to libp2p at once.
 * @property {number} maxConnectionsPerIp WebSocket connections one client IP may hold.
 * @property {number} connectionRate WebSocket connections per second one client IP may open (sustained).
 * @property {number} maxTopics Gossipsub topics the relay mirrors at once.
 * @property {number} maxTopicsPerPeer Mirrored topics one peer's subscriptions may account for.
 * @property {number} maxTopicsPerIp Mirrored topics the peers behind one client IP (an IPv6 /64) may account for.
 * @property {number} maxHallwayRooms Public rooms whose latest hallway announcement the relay keeps.
 * @property {number} maxSocketsPerIp TCP connections of any kind (page loads, WebSockets, half-open) one client IP may hold.
 * @property {number} maxPendingPerIp Connections from one IP that have not yet sent a complete request head.
 * @property {number} headersTimeout Seconds a client has to send a complete request head.
 * @property {number} requestTimeout Seconds a client has to send a whole HTTP request.
 * @property {number} idleTimeout Seconds an HTTP (not WebSocket) connection may stay idle.
 * @property {number} maxWsFrame Largest WebSocket frame or message, in bytes, a client may send.
 * @property {number} maxReservationsPerIp Circuit relay reservations held by peers behind one client IP.
 * @property {number} maxCircuitsPerIp Relayed connections the peers behind one client IP may hold open through the relay.
 * @property {number} circuitRate Relayed connections per second the peers behind one client IP may open (sustained).
 * @property {number} maxGossipMessage Largest gossipsub message, in bytes, the relay accepts and forwards.
 * @property {number} gossipRate Gossipsub messages per second one peer may have forwarded (sustained).
 * @property {number} gossipByteRate Gossipsub bytes per second one peer may have forwarded (sustained).
 * @property {number} gossipRatePerIp Gossipsub messages per second the peers behind one client IP may have forwarded, together.
 * @property {number} gossipByteRatePerIp Gossipsub bytes per second the peers behind one client IP may have forwarded, together.
 * @property {number | null} metricsPort Loopback port of the Prometheus endpoint, null = no endpoint.
 * @property {string} metricsHost Address the metrics endpoint binds to.
 * @property {boolean} trustProxy Take the client IP from `X-Forwarded-For` (only behind a reverse proxy).
 * @property {boolean} privateFederation Keep the --federate list out of the well-known document (browsers then learn only this relay).
 * @property {boolean} noRelayDiscovery Federate with the --federate list only, not with the relays they federate with (relay-exchange.js).
 */

/** @typedef {{ config: RelayConfig } | { help: true } | { error: string }} ParseResult */

/** The app's static build: `<repo>/build`, next to this `relay/` folder. */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../build', import.meta.url));

const MIB = 1024 * 1024;

/** The bursts --circuit-rate allows, in seconds of its rate (circuit-guard.js). */
export const CIRCUIT_BURST_SECONDS = 16;

/** Relays one relay keeps connections to: a community's handful, not a mesh of the world. */
export const MAX_FEDERATED = 16;

/**
 * How long the relay stays on a topic after its last peer left (topic-mirror.js). Leaving at once
 * let one gossip frame of alternating subscribe/unsubscribe entries make the relay join and leave
 * 5,000 times, each announced to every connected peer. 30 s also covers a page reload or a
 * reconnect, which would otherwise cost the room a leave and a join.
 */
export const TOPIC_GRACE_MS = 30_000;

/**
 * New topics the peers behind one client IP may make the relay join: 2 a second, in bursts of 64
 * (NEW_TOPIC_RATE × NEW_TOPIC_BURST_SECONDS). Each join (and the leave that follows it) is announced
 * to every connected peer; a browser joins 2 topics a room, so the burst is 32 rooms opened at once
 * behind one address, and a topic already carried costs nothing.
 */
export const NEW_TOPIC_RATE = 2;
export const NEW_TOPIC_BURST_SECONDS = 32;

/**
 * Subscription entries one browser's gossip frame may carry (gossip-limits.js). A browser sends all
 * its topics in one frame when it connects: 2 a room plus the hallway, and --max-topics-per-peer
 * (32) already stops mirroring past 16 rooms. Federated relays, which send every topic they carry,
 * are held only to gossipsub's decode limit (libp2p-node.js).
 */
export const MAX_SUBSCRIPTIONS_PER_FRAME = 64;

/**
 * Messages one gossip frame may carry: gossipsub checks each one's signature before Stanza's
 * per-peer limits see it, so this bounds the work one frame costs (gossipsub's default is 5,000:
 * about half a second of signature checks in one frame). A browser publishes and forwards one
 * message per frame, but its answer to the relay's IWANT carries every message asked for in one
 * frame, and a frame over this limit is dropped whole: the relay would then miss messages it
 * forwards to members it alone reaches. 128 is a busy room's few seconds of messages (most are
 * a few hundred bytes) and about 13 ms of checks; invalid ones are strikes towards a hang-up.
 */
export const MAX_MESSAGES_PER_FRAME = 128;

/**
 * Largest gossip messages (--max-gossip-message) the relay queues on one browser's gossip stream
 * when the browser does not read it: 8 × 264 KiB ≈ 2.06 MiB by default, on top of the yamux window
 * already in flight (256 KiB at first, up to 16 MiB for a fast reader). Past it the stream is reset
 * and the relay hangs up (gossip-streams.js), so the browser redials and both sides rebuild gossip:
 * gossipsub never reopens a stream to a peer that stays connected. A room's usual traffic is tens of
 * KB/s, so a stalled honest tab is dropped by the 20 s ping timeout long before this; it takes a peer
 * that answers pings but reads no gossip, one that reads more slowly than its rooms speak until this
 * much is behind, or 8 of the largest messages at once, unread.
 */
export const OUTBOUND_BUFFER_MESSAGES = 8;

/**
 * The same for a federated relay, which carries every room of both relays: 64 × 264 KiB ≈ 16.5 MiB,
 * the yamux window's own ceiling, so a busy link can stall for seconds. At most MAX_FEDERATED (16)
 * links: 264 MiB in all. Past it the stream is reset and gossipsub reopens it within
 * DIRECT_CONNECT_TICKS (federated relays are its direct peers); the connection stays.
 */
export const FEDERATED_OUTBOUND_BUFFER_MESSAGES = 64;

/**
 * Integer options: default, accepted range, unit for messages, and why.
 *
 * @type {Record<string, { def: number, min: number, max: number, unit: string }>}
 */
const INTEGER_OPTIONS = {
	// 0 asks the OS for any free port (tests, several relays on one host).
	port: { def: 8080, min: 0, max: 65535, unit: '' },
	// One reservation per listening browser; 256 covers several busy rooms.
	'max-reservations': { def: 256, min: 1, max: 100_000, unit: '' },
	// 2 h, the libp2p default; clients renew before it ends. At least a minute so renewals don't storm.
	'reservation-ttl': { def: 7200, min: 60, max: 7 * 24 * 3600, unit: 's' },
	// 1 MiB: a relayed browser-to-browser connection only carries WebRTC signaling before it upgrades.
	'circuit-data-limit': { def: MIB, min: 1024, max: 1024 * MIB, unit: ' bytes' },
	// 120 s: ample for an SDP/ICE exchange; media never flows through the relay.
	'circuit-duration-limit': { def: 120, min: 1, max: 24 * 3600, unit: 's' },
	// One WebSocket per browser; bounded so a flood cannot exhaust file descriptors.
	'max-connections': { def: 1024, min: 1, max: 65_536, unit: '' },
	// A household or office behind one NAT has a handful of tabs; 32 leaves room without letting one host take all.
	'max-connections-per-ip': { def: 32, min: 1, max: 65_536, unit: '' },
	// A browser opens one and redials at most every half second or so; 4 a second (bursts of 16 s:
	// 64, so a household's tabs all redial after a restart) keeps one address from spending the
	// relay's CPU on handshakes by connecting and closing in a loop.
	'connection-rate': { def: 4, min: 1, max: 100_000, unit: '/s' },
	// Each room uses a few topics; bounded because every mirrored topic costs memory and heartbeat work.
	'max-topics': { def: 4096, min: 1, max: 1_000_000, unit: '' },
	// A browser joins 2 topics per room (room + meet); 32 is 16 rooms at once. With 32 connections
	// per IP one address can account for at most 1024 mirrored topics, a quarter of the default cap.
	'max-topics-per-peer': { def: 32, min: 1, max: 1_000_000, unit: '' },
	// Peer ids cost nothing, so the per-peer cap alone let 4 addresses (32 connections × 32 topics each)
	// fill --max-topics. 128 is 64 rooms from one household or office (2 topics a room), and it takes
	// 32 addresses to fill the default cap.
	'max-topics-per-ip': { def: 128, min: 1, max: 1_000_000, unit: '' },
	// Each kept announcement is at most 2 KiB: 256 rooms are 512 KiB at most, and the list a newcomer fetches stays small.
	'max-hallway-rooms': { def: 256, min: 1, max: 100_000, unit: '' },
	// The 32 WebSockets per IP plus page loads (a browser opens up to 6 per origin, a few tabs behind one NAT).
	'max-sockets-per-ip': { def: 64, min: 1, max: 65_536, unit: '' },
	// A browser has at most 6 requests in flight per origin; 16 covers a few tabs behind one NAT.
	// Half-finished requests are what slowloris holds open, so this is the limit it hits.
	'max-pending-per-ip': { def: 16, min: 1, max: 65_536, unit: '' },
	// 10 s to send a request head: a browser sends it at once, even on a slow phone link.
	'headers-timeout': { def: 10, min: 1, max: 600, unit: 's' },
	// 30 s for a whole request: the relay only serves GETs without bodies.
	'request-timeout': { def: 30, min: 1, max: 3600, unit: 's' },
	// 30 s idle before an HTTP keep-alive socket is closed; WebSockets are exempt (libp2p pings them).
	'idle-timeout': { def: 30, min: 1, max: 3600, unit: 's' },
	// 128 KiB. libp2p sends one WebSocket message per Noise message: at most 65,535 bytes plus its
	// 2-byte length, before and after the handshake. Twice that leaves room for a client that joins
	// a length prefix and its message; ws's own default (100 MiB) let 8 connections grow the relay by 750 MB.
	'max-ws-frame': { def: 128 * 1024, min: 65_537, max: 64 * MIB, unit: ' bytes' },
	// A household's browsers each hold one; 16 of the 256 keeps 16 addresses from taking them all.
	'max-reservations-per-ip': { def: 16, min: 1, max: 100_000, unit: '' },
	// A browser holds a circuit only while it sets up a direct connection (libp2p may keep it idle up
	// to --circuit-duration-limit after). 128 is 4 for each of the 32 WebSockets one IP may hold;
	// libp2p alone allowed 32 each.
	'max-circuits-per-ip': { def: 128, min: 1, max: 1_000_000, unit: '' },
	// A joiner opens a few, one per member it meets or links to for audio. 8 a second (bursts of 16 s:
	// 128) bounds what one address makes the relay carry (each circuit up to --circuit-data-limit).
	'circuit-rate': { def: 8, min: 1, max: 100_000, unit: '/s' },
	// 264 KiB: the app's largest topic message is a 256 KiB room update, plus its seal and gossipsub envelope.
	'max-gossip-message': { def: 264 * 1024, min: 1024, max: 16 * MIB, unit: ' bytes' },
	// 50 messages/s sustained per peer (bursts of 4 s worth): presence and edits come at a few per second.
	'gossip-rate': { def: 50, min: 1, max: 1_000_000, unit: '/s' },
	// 128 KiB/s sustained per peer (bursts of 4 s, and always one largest message): edits are small, a
	// full room update is rare. A flood from one peer is cut to this; everyone else's messages still flow.
	'gossip-byte-rate': { def: 128 * 1024, min: 1024, max: 1024 * MIB, unit: ' bytes/s' },
	// The peers behind one IP together: four peers' worth. Peer ids cost nothing, and 32 of them (one per
	// WebSocket) each at its own rate had 32 times it forwarded to a whole room. A household's or an
	// office's tabs send presence and edits at a few messages a second each.
	'gossip-rate-per-ip': { def: 200, min: 1, max: 1_000_000, unit: '/s' },
	'gossip-byte-rate-per-ip': { def: 512 * 1024, min: 1024, max: 1024 * MIB, unit: ' bytes/s' }
};

const STRING_OPTIONS = ['host', 'announce', 'federate', 'key-file', 'static', 'metrics-port', 'metrics-host'];
const BOOLEAN_OPTIONS = ['trust-proxy', 'no-static', 'private-federation', 'no-relay-discovery'];

/** Accepted spellings of booleans in the environment. */
const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

/**
 * Turns a flag name into its environment variable: `max-topics` → `STANZA_MAX_TOPICS`.
 *
 * @param {string} flag
 */
function envName(flag) {
	return `STANZA_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** @returns {string} the `--help` text. */
export function usage() {
	return `Usage: stanza-relay [options]

Serves the Stanza app and a libp2p relay (WebSocket, circuit relay v2,
gossipsub) on one HTTP port. Every option can also be set in the environment
as STANZA_<NAME> (e.g. STANZA_MAX_TOPICS=100); the command line wins.

Options:
  --host <ip>                    address to bind (default 0.0.0.0: all interfaces)
  --port <n>                     TCP port, 0 = any free port (default 8080; env PORT too)
  --announce <multiaddr,...>     public addresses to advertise, repeatable, e.g.
                                 /dns4/relay.example.org/tcp/443/tls/ws
                                 (default: /ip4/<each local IPv4>/tcp/<port>/ws)
  --federate <multiaddr,...>     other relays to stay connected to, repeatable, e.g.
                                 /dns4/relay2.example.org/tcp/443/tls/ws/p2p/12D3KooW…:
                                 rooms whose members are on either relay meet across
                                 them (list each relay on both sides); browsers are
                                 told of them too, and keep a second relay
  --private-federation           do not tell browsers of the relays federated with
  --no-relay-discovery           federate with the --federate relays only, not also
                                 with the relays they federate with (up to 16 in all)
  --key-file <path>              persistent relay identity (default .stanza/relay-key)
  --static <dir>                 built app to serve (default <repo>/build); '' disables
  --no-static                    do not serve the app
  --max-reservations <n>         circuit relay reservations at once (default 256)
  --reservation-ttl <seconds>    reservation lifetime (default 7200)
  --circuit-data-limit <bytes>   data per relayed connection (default 1048576)
  --circuit-duration-limit <s>   lifetime of a relayed connection (default 120)
  --max-connections <n>          WebSocket connections at once (default 1024)
  --max-connections-per-ip <n>   WebSocket connections per client IP (default 32)
  --connection-rate <n>          WebSocket connections/s one client IP may open (default 4,
                                 bursts of 16 s)
  --max-topics <n>               gossipsub topics mirrored at once (default 4096)
  --max-topics-per-peer <n>      mirrored topics one peer's subscriptions may add (default 32)
  --max-topics-per-ip <n>        mirrored topics the peers behind one client IP may add
                                 (default 128; an IPv6 client counts by its /64)
  --max-hallway-rooms <n>        public rooms kept for GET /v1/hallway (default 256;
                                 4 per creator, 8 per client IP)
  --trust-proxy                  client IP from X-Forwarded-For (behind a reverse proxy only)
  -h, --help                     show this help

Limits against one abusive address (each refusal is counted in the metrics):
  --max-sockets-per-ip <n>       TCP connections of any kind per client IP (default 64;
                                 not applied behind --trust-proxy: the proxy must limit)
  --max-pending-per-ip <n>       connections per IP still sending a request head (default 16)
  --headers-timeout <s>          time to send a complete request head (default 10)
  --request-timeout <s>          time to send a whole HTTP request (default 30)
  --idle-timeout <s>             silent HTTP (not WebSocket) connections closed after (default 30)
  --max-ws-frame <bytes>         largest WebSocket frame/message a client may send (default 131072)
  --max-reservations-per-ip <n>  reservations held by peers behind one IP (default 16)
  --max-circuits-per-ip <n>      relayed connections the peers behind one IP hold open
                                 through the relay (default 128)
  --circuit-rate <n>             relayed connections/s the peers behind one IP may open
                                 (default 8, bursts of 16 s)
  --max-gossip-message <bytes>   largest gossipsub message accepted (default 270336)
  --gossip-rate <n>              gossipsub messages/s one peer may have forwarded (default 50)
  --gossip-byte-rate <bytes>     gossipsub bytes/s one peer may have forwarded (default 131072)
  --gossip-rate-per-ip <n>       gossipsub messages/s the peers behind one IP may have
                                 forwarded together (default 200)
  --gossip-byte-rate-per-ip <bytes>
                                 gossipsub bytes/s the peers behind one IP may have
                                 forwarded together (default 524288)

Metrics (Prometheus text format, off by default):
  --metrics-port <n>             serve /metrics on this port, 0 = any free port
  --metrics-host <ip>            address for /metrics (default 127.0.0.1; anything else
                                 exposes relay internals: put it behind a firewall)
`;
}

/**
 * @param {string} flag
 * @param {string} raw
 * @returns {number | string} the integer, or an error message
 */
function parseInteger(flag, raw) {
	const spec = INTEGER_OPTIONS[flag];
	const text = raw.trim();
	// Digits only: no signs, exponents, hex or fractions that Number() would accept.
	if (!/^\d{1,16}$/.test(text)) return `--${flag} must be a whole number, got '${raw}'`;
	const value = Number(text);
	if (value < spec.min || value > spec.max) {
		return `--${flag} must be between ${spec.min} and ${spec.max}${spec.unit}, got ${value}`;
	}
	return value;
}

/**
 * @param {string} flag
 * @param {string} raw
 * @returns {boolean | string} the boolean, or an error message
 */
function parseBoolean(flag, raw) {
	const word = raw.trim().toLowerCase();
	if (TRUE_WORDS.has(word)) return true;
	if (FALSE_WORDS.has(word)) return false;
	return `--${flag} must be true or false, got '${raw}'`;
}

/**
 * The protocol names of a multiaddr (`['ip4', 'tcp', 'ws', 'p2p']`), or why it is not one.
 *
 * @param {string} flag
 * @param {string} raw
 * @returns {string[] | { error: string }}
 */
function protocolNames(flag, raw) {
	try {
		return multiaddr(raw)
			.getComponents()
			.map((c) => c.name);
	} catch (err) {
		return { error: `--${flag} '${raw}' is not a valid multiaddr: ${/** @type {Error} */ (err).message}` };
	}
}

/**
 * Validates one announce address. Browsers can only dial WebSocket addresses,
 * and the relay appends its own `/p2p/<id>`, so both are checked here rather
 * than failing later inside libp2p.
 *
 * @param {string} raw
 * @returns {{ value: string } | { error: string }}
 */
function parseAnnounce(raw) {
	const names = protocolNames('announce', raw);
	if ('error' in names) return names;
	if (names.includes('p2p') || names.includes('p2p-circuit')) {
		return { error: `--announce '${raw}' must not contain /p2p or /p2p-circuit: the relay appends its own /p2p/<id>` };
	}
	if (!names.includes('ws') && !names.includes('wss')) {
		return { error: `--announce '${raw}' must be a WebSocket address ending in /ws, /wss or /tls/ws (browsers dial nothing else)` };
	}
	if (!names.includes('tcp')) {
		return { error: `--announce '${raw}' needs a /tcp/<port> part` };
	}
	return { value: multiaddr(raw).toString() };
}

/**
 * Validates one relay to federate with: a multiaddr this relay can dial
 * (WebSocket, as every Stanza relay listens) that names the relay's PeerId,
 * so the connection is checked to be that relay and no other.
 *
 * @param {string} raw
 * @returns {{ value: string } | { error: string }}
 */
export function parseFederate(raw) {
	const names = protocolNames('federate', raw);
	if ('error' in names) return names;
	if (names.includes('p2p-circuit')) return { error: `--federate '${raw}' must be a relay's own address, not a circuit through it` };
	if (names.at(-1) !== 'p2p') return { error: `--federate '${raw}' must end in /p2p/<the relay's PeerId> (its well-known JSON lists it)` };
	if (!names.includes('ws') && !names.includes('wss')) return { error: `--federate '${raw}' must be a WebSocket address (/ws, /wss or /tls/ws)` };
	return { value: multiaddr(raw).toString() };
}

/**
 * Splits `argv` into flag → raw values. `--name value` and `--name=value` are
 * both accepted; a value that starts with `--` is treated as a missing value
 * (so `--port --host x` is an error rather than a port named `--host`).
 *
 * @param {string[]} argv
 * @returns {{ values: Map<string, string[]> } | { error: string }}
 */
function tokenize(argv) {
	/** @type {Map<string, string[]>} */
	const values = new Map();
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (!arg.startsWith('--') || arg === '--') {
			return { error: `unexpected argument '${arg}'` };
		}
		const eq = arg.indexOf('=');
		const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
		/** @type {string} */
		let value;
		if (BOOLEAN_OPTIONS.includes(name)) {
			value = eq === -1 ? 'true' : arg.slice(eq + 1);
		} else if (name in INTEGER_OPTIONS || STRING_OPTIONS.includes(name)) {
			if (eq !== -1) {
				value = arg.slice(eq + 1);
			} else {
				const next = argv[i + 1];
				if (next === undefined || next.startsWith('--')) return { error: `--${name} needs a value` };
				value = next;
				i++;
			}
		} else {
			return { error: `unknown option '--${name}'` };
		}
		values.set(name, [...(values.get(name) ?? []), value]);
	}
	return { values };
}

/**
 * Parses the relay's configuration.
 *
 * @param {string[]} argv arguments after the script name (`process.argv.slice(2)`)
 * @param {Record<string, string | undefined>} env usually `process.env`
 * @param {{ cwd?: string }} [options] directory relative paths resolve against
 * @returns {ParseResult}
 */
export function parseConfig(argv, env, { cwd = process.cwd() } = {}) {
	// Asking for help wins over any mistake made next to it.
	if (argv.includes('--help') || argv.includes('-h')) return { help: true };
	const tokens = tokenize(argv);
	if ('error' in tokens) return tokens;
	const { values } = tokens;

	/**
	 * The last command-line value of a flag, else its environment variable.
	 * Empty environment variables count as unset, except where noted.
	 *
	 * @param {string} flag
	 * @param {string[]} [extraEnv] further variables to consult, in order
	 * @returns {string | undefined}
	 */
	const pick = (flag, extraEnv = []) => {
		const fromArgs = values.get(flag);
		if (fromArgs) return fromArgs[fromArgs.length - 1];
		for (const name of [envName(flag), ...extraEnv]) {
			const v = env[name];
			if (v !== undefined && v !== '') return v;
		}
		return undefined;
	};

	/** @type {Record<string, number>} flag name → value */
	const numbers = {};
	for (const [flag, spec] of Object.entries(INTEGER_OPTIONS)) {
		const raw = pick(flag, flag === 'port' ? ['PORT'] : []);
		if (raw === undefined) {
			numbers[flag] = spec.def;
			continue;
		}
		const parsed = parseInteger(flag, raw);
		if (typeof parsed === 'string') return { error: parsed };
		numbers[flag] = parsed;
	}

	const host = (pick('host') ?? '0.0.0.0').trim();
	if (isIP(host) === 0) {
		return { error: `--host must be an IP address such as 0.0.0.0, 127.0.0.1 or ::, got '${host}'` };
	}

	// Command-line --announce values replace STANZA_ANNOUNCE rather than adding to it.
	const announceRaw = values.get('announce') ?? [env.STANZA_ANNOUNCE ?? ''];
	/** @type {string[]} */
	const announce = [];
	for (const entry of announceRaw.flatMap((v) => v.split(','))) {
		const trimmed = entry.trim();
		if (trimmed === '') continue;
		const parsed = parseAnnounce(trimmed);
		if ('error' in parsed) return parsed;
		if (!announce.includes(parsed.value)) announce.push(parsed.value);
	}

	// As with --announce, command-line values replace STANZA_FEDERATE.
	/** @type {string[]} */
	const federate = [];
	for (const entry of (values.get('federate') ?? [env.STANZA_FEDERATE ?? '']).flatMap((v) => v.split(','))) {
		const trimmed = entry.trim();
		if (trimmed === '') continue;
		const parsed = parseFederate(trimmed);
		if ('error' in parsed) return parsed;
		if (!federate.includes(parsed.value)) federate.push(parsed.value);
	}
	if (federate.length > MAX_FEDERATED) return { error: `--federate names ${federate.length} relays; at most ${MAX_FEDERATED}` };

	const keyFileRaw = pick('key-file') ?? '.stanza/relay-key';
	const keyFile = resolve(cwd, keyFileRaw);

	/** A boolean option: false when not given; a string (the error) when it is neither true nor false. */
	const flag = (/** @type {string} */ name) => {
		const raw = pick(name);
		return raw === undefined ? false : parseBoolean(name, raw);
	};
	const trustProxy = flag('trust-proxy');
	if (typeof trustProxy === 'string') return { error: trustProxy };
	const privateFederation = flag('private-federation');
	if (typeof privateFederation === 'string') return { error: privateFederation };
	const noRelayDiscovery = flag('no-relay-discovery');
	if (typeof noRelayDiscovery === 'string') return { error: noRelayDiscovery };

	// --static '' disables, and so does an empty STANZA_STATIC (set but empty).
	/** @type {string | null} */
	let staticDir = DEFAULT_STATIC_DIR;
	const staticArgs = values.get('static');
	const staticRaw = staticArgs ? staticArgs[staticArgs.length - 1] : env.STANZA_STATIC;
	if (staticRaw !== undefined) staticDir = staticRaw.trim() === '' ? null : resolve(cwd, staticRaw);
	const noStatic = flag('no-static');
	if (typeof noStatic === 'string') return { error: noStatic };
	if (noStatic) staticDir = null;

	/** @type {number | null} */
	let metricsPort = null;
	const metricsPortRaw = pick('metrics-port');
	if (metricsPortRaw !== undefined) {
		const text = metricsPortRaw.trim();
		if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
			return { error: `--metrics-port must be a port number between 0 and 65535, got '${metricsPortRaw}'` };
		}
		metricsPort = Number(text);
	}
	const metricsHost = (pick('metrics-host') ?? '127.0.0.1').trim();
	if (isIP(metricsHost) === 0) {
		return { error: `--metrics-host must be an IP address such as 127.0.0.1, got '${metricsHost}'` };
	}

	return {
		config: {
			host,
			port: numbers['port'],
			announce,
			federate,
			keyFile,
			staticDir,
			maxReservations: numbers['max-reservations'],
			reservationTtl: numbers['reservation-ttl'],
			circuitDataLimit: numbers['circuit-data-limit'],
			circuitDurationLimit: numbers['circuit-duration-limit'],
			maxConnections: numbers['max-connections'],
			maxConnectionsPerIp: numbers['max-connections-per-ip'],
			connectionRate: numbers['connection-rate'],
			maxTopics: numbers['max-topics'],
			maxTopicsPerPeer: numbers['max-topics-per-peer'],
			maxTopicsPerIp: numbers['max-topics-per-ip'],
			maxHallwayRooms: numbers['max-hallway-rooms'],
			maxSocketsPerIp: numbers['max-sockets-per-ip'],
			maxPendingPerIp: numbers['max-pending-per-ip'],
			headersTimeout: numbers['headers-timeout'],
			requestTimeout: numbers['request-timeout'],
			idleTimeout: numbers['idle-timeout'],
			maxWsFrame: numbers['max-ws-frame'],
			maxReservationsPerIp: numbers['max-reservations-per-ip'],
			maxCircuitsPerIp: numbers['max-circuits-per-ip'],
			circuitRate: numbers['circuit-rate'],
			maxGossipMessage: numbers['max-gossip-message'],
			gossipRate: numbers['gossip-rate'],
			gossipByteRate: numbers['gossip-byte-rate'],
			gossipRatePerIp: numbers['gossip-rate-per-ip'],
			gossipByteRatePerIp: numbers['gossip-byte-rate-per-ip'],
			metricsPort,
			metricsHost,
			trustProxy,
			privateFederation,
			noRelayDiscovery
		}
	};
}
