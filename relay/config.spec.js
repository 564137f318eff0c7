// @ts-check
import { describe, expect, it } from 'vitest';
import { DEFAULT_STATIC_DIR, parseConfig, usage } from './config.js';

const CWD = '/srv/stanza';

/**
 * Parses and expects success.
 *
 * @param {string[]} argv
 * @param {Record<string, string | undefined>} [env]
 */
function config(argv, env = {}) {
	const result = parseConfig(argv, env, { cwd: CWD });
	if (!('config' in result)) throw new Error(`expected a config, got ${JSON.stringify(result)}`);
	return result.config;
}

/**
 * Parses and expects an error.
 *
 * @param {string[]} argv
 * @param {Record<string, string | undefined>} [env]
 */
function error(argv, env = {}) {
	const result = parseConfig(argv, env, { cwd: CWD });
	if (!('error' in result)) throw new Error(`expected an error, got ${JSON.stringify(result)}`);
	return result.error;
}

describe('parseConfig defaults', () => {
	it('has finite, documented defaults', () => {
		expect(config([])).toEqual({
			host: '0.0.0.0',
			port: 8080,
			announce: [],
			federate: [],
			keyFile: '/srv/stanza/.stanza/relay-key',
			staticDir: DEFAULT_STATIC_DIR,
			maxReservations: 256,
			reservationTtl: 7200,
			circuitDataLimit: 1024 * 1024,
			circuitDurationLimit: 120,
			maxConnections: 1024,
			maxConnectionsPerIp: 32,
			connectionRate: 4,
			maxTopics: 4096,
			maxTopicsPerPeer: 32,
			maxTopicsPerIp: 128,
			maxHallwayRooms: 256,
			maxSocketsPerIp: 64,
			maxPendingPerIp: 16,
			headersTimeout: 10,
			requestTimeout: 30,
			idleTimeout: 30,
			maxWsFrame: 128 * 1024,
			maxReservationsPerIp: 16,
			maxCircuitsPerIp: 128,
			circuitRate: 8,
			maxGossipMessage: 264 * 1024,
			gossipRate: 50,
			gossipByteRate: 128 * 1024,
			gossipRatePerIp: 200,
			gossipByteRatePerIp: 512 * 1024,
			metricsPort: null,
			metricsHost: '127.0.0.1',
			trustProxy: false,
			privateFederation: false,
			noRelayDiscovery: false
		});
	});

	it('defaults the static folder to build/ next to the relay folder', () => {
		expect(DEFAULT_STATIC_DIR).toBe(new URL('../build', import.meta.url).pathname);
	});
});

describe('parseConfig abuse limits and metrics', () => {
	it('reads every limit from flags and STANZA_ variables', () => {
		expect(config(['--max-sockets-per-ip', '5', '--max-ws-frame=70000', '--gossip-rate', '3'], { STANZA_MAX_PENDING_PER_IP: '2' })).toMatchObject({
			maxSocketsPerIp: 5,
			maxPendingPerIp: 2,
			maxWsFrame: 70000,
			gossipRate: 3
		});
	});

	it('refuses a WebSocket frame limit below one Noise message', () => {
		expect(error(['--max-ws-frame', '65536'])).toMatch(/--max-ws-frame must be between 65537/);
	});

	it('serves metrics only when asked, on loopback unless told otherwise', () => {
		expect(config([])).toMatchObject({ metricsPort: null, metricsHost: '127.0.0.1' });
		expect(config(['--metrics-port', '0'])).toMatchObject({ metricsPort: 0, metricsHost: '127.0.0.1' });
		expect(config([], { STANZA_METRICS_PORT: '9100', STANZA_METRICS_HOST: '10.0.0.2' })).toMatchObject({ metricsPort: 9100, metricsHost: '10.0.0.2' });
		expect(error(['--metrics-port', '70000'])).toMatch(/--metrics-port must be a port number/);
		expect(error(['--metrics-port', 'on'])).toMatch(/--metrics-port must be a port number/);
		expect(error(['--metrics-host', 'localhost'])).toMatch(/--metrics-host must be an IP address/);
	});
});

describe('parseConfig flags', () => {
	it('reads --host and --port, with and without =', () => {
		expect(config(['--host', '127.0.0.1', '--port', '0'])).toMatchObject({ host: '127.0.0.1', port: 0 });
		expect(config(['--host=::1', '--port=9000'])).toMatchObject({ host: '::1', port: 9000 });
	});

	it('takes the last value of a repeated scalar flag', () => {
		expect(config(['--port', '1000', '--port', '2000']).port).toBe(2000);
	});

	it('collects --announce from repeats and commas, without duplicates', () => {
		const announce = config([
			'--announce',
			'/dns4/relay.example.org/tcp/443/tls/ws,/ip4/203.0.113.7/tcp/8080/ws',
			'--announce=/dns4/relay.example.org/tcp/443/tls/ws',
			'--announce',
			'/dns6/relay.example.org/tcp/443/wss'
		]).announce;
		expect(announce).toEqual([
			'/dns4/relay.example.org/tcp/443/tls/ws',
			'/ip4/203.0.113.7/tcp/8080/ws',
			'/dns6/relay.example.org/tcp/443/wss'
		]);
	});

	it('collects --federate from repeats, commas and STANZA_FEDERATE, and checks each names a relay', () => {
		const other = '/dns4/relay2.example.org/tcp/443/tls/ws/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';
		const lan = '/ip4/192.0.2.9/tcp/8080/ws/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';
		expect(config(['--federate', `${other},${lan}`, '--federate', other]).federate).toEqual([other, lan]);
		expect(config([], { STANZA_FEDERATE: lan }).federate).toEqual([lan]);
		expect(config(['--federate', other], { STANZA_FEDERATE: lan }).federate).toEqual([other]);
		expect(error(['--federate', '/dns4/relay2.example.org/tcp/443/tls/ws'])).toMatch(/must end in \/p2p\//);
		expect(error(['--federate', '/ip4/192.0.2.9/tcp/8080/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'])).toMatch(/WebSocket/);
		expect(error(['--federate', `${lan}/p2p-circuit/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp`])).toMatch(/circuit/);
		expect(error(['--federate', 'relay2.example.org'])).toMatch(/not a valid multiaddr/);
		const many = Array.from({ length: 17 }, (_, i) => `/ip4/192.0.2.${i + 1}/tcp/8080/ws/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp`);
		expect(error(['--federate', many.join(',')])).toMatch(/at most 16/);
	});

	it('resolves --key-file and --static against the working directory', () => {
		const c = config(['--key-file', 'keys/relay', '--static', 'dist']);
		expect(c.keyFile).toBe('/srv/stanza/keys/relay');
		expect(c.staticDir).toBe('/srv/stanza/dist');
		expect(config(['--key-file', '/etc/stanza/key']).keyFile).toBe('/etc/stanza/key');
	});

	it("disables the app with --static '' or --no-static", () => {
		expect(config(['--static', '']).staticDir).toBeNull();
		expect(config(['--static=']).staticDir).toBeNull();
		expect(config(['--no-static']).staticDir).toBeNull();
		expect(config(['--static', '/x', '--no-static']).staticDir).toBeNull();
	});

	it('reads every limit', () => {
		expect(
			config([
				'--max-reservations', '10',
				'--reservation-ttl', '600',
				'--circuit-data-limit', '65536',
				'--circuit-duration-limit', '30',
				'--max-connections', '50',
				'--max-connections-per-ip', '4',
				'--max-topics', '99'
			])
		).toMatchObject({
			maxReservations: 10,
			reservationTtl: 600,
			circuitDataLimit: 65536,
			circuitDurationLimit: 30,
			maxConnections: 50,
			maxConnectionsPerIp: 4,
			maxTopics: 99
		});
	});

	it('reads --trust-proxy as a boolean flag or with a value', () => {
		expect(config(['--trust-proxy']).trustProxy).toBe(true);
		expect(config(['--trust-proxy=false']).trustProxy).toBe(false);
		expect(config(['--trust-proxy=yes']).trustProxy).toBe(true);
	});

	it('reads --private-federation as a boolean flag, also from the environment', () => {
		expect(config(['--private-federation']).privateFederation).toBe(true);
		expect(config([], { STANZA_PRIVATE_FEDERATION: 'on' }).privateFederation).toBe(true);
		expect(config([]).privateFederation).toBe(false);
		expect(config(['--no-relay-discovery']).noRelayDiscovery).toBe(true);
		expect(config([], { STANZA_NO_RELAY_DISCOVERY: 'true' }).noRelayDiscovery).toBe(true);
	});
});

describe('parseConfig environment', () => {
	it('reads STANZA_* variables', () => {
		expect(
			config([], {
				STANZA_HOST: '127.0.0.1',
				STANZA_PORT: '9001',
				STANZA_ANNOUNCE: '/dns4/a.example/tcp/443/tls/ws, /dns4/b.example/tcp/443/tls/ws',
				STANZA_KEY_FILE: 'k',
				STANZA_STATIC: 'site',
				STANZA_MAX_RESERVATIONS: '7',
				STANZA_RESERVATION_TTL: '120',
				STANZA_CIRCUIT_DATA_LIMIT: '2048',
				STANZA_CIRCUIT_DURATION_LIMIT: '5',
				STANZA_MAX_CONNECTIONS: '8',
				STANZA_MAX_CONNECTIONS_PER_IP: '2',
				STANZA_MAX_TOPICS: '3',
				STANZA_TRUST_PROXY: '1'
			})
		).toMatchObject({
			host: '127.0.0.1',
			port: 9001,
			announce: ['/dns4/a.example/tcp/443/tls/ws', '/dns4/b.example/tcp/443/tls/ws'],
			keyFile: '/srv/stanza/k',
			staticDir: '/srv/stanza/site',
			maxReservations: 7,
			reservationTtl: 120,
			circuitDataLimit: 2048,
			circuitDurationLimit: 5,
			maxConnections: 8,
			maxConnectionsPerIp: 2,
			maxTopics: 3,
			trustProxy: true
		});
	});

	it('reads PORT, with STANZA_PORT and --port taking precedence', () => {
		expect(config([], { PORT: '3000' }).port).toBe(3000);
		expect(config([], { PORT: '3000', STANZA_PORT: '4000' }).port).toBe(4000);
		expect(config(['--port', '5000'], { PORT: '3000', STANZA_PORT: '4000' }).port).toBe(5000);
	});

	it('lets command-line --announce replace STANZA_ANNOUNCE', () => {
		expect(
			config(['--announce', '/dns4/cli.example/tcp/443/tls/ws'], { STANZA_ANNOUNCE: '/dns4/env.example/tcp/443/tls/ws' }).announce
		).toEqual(['/dns4/cli.example/tcp/443/tls/ws']);
	});

	it('treats empty variables as unset, except STANZA_STATIC which disables', () => {
		expect(config([], { PORT: '', STANZA_HOST: '' })).toMatchObject({ port: 8080, host: '0.0.0.0' });
		expect(config([], { STANZA_STATIC: '' }).staticDir).toBeNull();
		expect(config([], { STANZA_NO_STATIC: 'true' }).staticDir).toBeNull();
	});

	it('validates environment values like flags', () => {
		expect(error([], { STANZA_MAX_TOPICS: 'lots' })).toMatch(/--max-topics must be a whole number/);
		expect(error([], { STANZA_TRUST_PROXY: 'maybe' })).toMatch(/--trust-proxy must be true or false/);
	});
});

describe('parseConfig rejects bad values', () => {
	it.each([
		[['--port', '65536'], /--port must be between 0 and 65535/],
		[['--port', '-1'], /--port needs a value|whole number/],
		[['--port=-1'], /--port must be a whole number/],
		[['--port', '80.5'], /whole number/],
		[['--port', '1e3'], /whole number/],
		[['--port', '0x50'], /whole number/],
		[['--port', ''], /whole number/],
		[['--max-reservations', '0'], /between 1 and/],
		[['--reservation-ttl', '59'], /between 60 and/],
		[['--circuit-data-limit', '1023'], /between 1024 and/],
		[['--circuit-duration-limit', '0'], /between 1 and/],
		[['--max-connections', '999999999'], /between 1 and 65536/],
		[['--max-connections-per-ip', '0'], /between 1 and/],
		[['--max-topics', 'Infinity'], /whole number/],
		[['--host', 'example.org'], /--host must be an IP address/],
		[['--announce', 'not-a-multiaddr'], /--announce 'not-a-multiaddr' is not a valid multiaddr/],
		[['--announce', '/ip4/1.2.3.4/tcp/80'], /must be a WebSocket address/],
		[['--announce', '/ip4/1.2.3.4/udp/80/ws'], /needs a \/tcp/],
		[
			['--announce', '/ip4/1.2.3.4/tcp/80/ws/p2p/12D3KooWBL9vrgEBtA3Lc9H4J1xReba88i3X4ffNzQ2SNDmQHNrp'],
			/must not contain \/p2p/
		],
		[['--trust-proxy=perhaps'], /--trust-proxy must be true or false/]
	])('%j → %s', (argv, message) => {
		expect(error(argv)).toMatch(message);
	});

	it('needs a value after a value flag', () => {
		expect(error(['--port'])).toBe('--port needs a value');
		expect(error(['--announce', '--port', '1'])).toBe('--announce needs a value');
	});

	it('rejects unknown flags and stray arguments', () => {
		expect(error(['--bogus'])).toBe("unknown option '--bogus'");
		expect(error(['--bogus=1'])).toBe("unknown option '--bogus'");
		expect(error(['8080'])).toBe("unexpected argument '8080'");
		expect(error(['-p', '8080'])).toBe("unexpected argument '-p'");
	});
});

describe('--help', () => {
	it('wins over everything else, even errors', () => {
		expect(parseConfig(['--help'], {})).toEqual({ help: true });
		expect(parseConfig(['-h'], {})).toEqual({ help: true });
		expect(parseConfig(['--port', '1', '--bogus', '-h'], {})).toEqual({ help: true });
	});

	it('documents every flag', () => {
		const text = usage();
		for (const flag of [
			'--host', '--port', '--announce', '--key-file', '--static', '--no-static', '--max-reservations',
			'--reservation-ttl', '--circuit-data-limit', '--circuit-duration-limit', '--max-connections',
			'--max-connections-per-ip', '--max-topics', '--trust-proxy', '--help', '--max-topics-per-peer', '--max-topics-per-ip',
			'--max-sockets-per-ip', '--max-pending-per-ip', '--headers-timeout', '--request-timeout', '--idle-timeout',
			'--max-ws-frame', '--max-reservations-per-ip', '--max-gossip-message', '--gossip-rate', '--gossip-byte-rate',
			'--metrics-port', '--metrics-host', '--max-circuits-per-ip', '--circuit-rate', '--gossip-rate-per-ip', '--gossip-byte-rate-per-ip'
		]) {
			expect(text).toContain(flag);
		}
	});
});
