// @ts-check
/**
 * One abusive IP against a real relay (issue #11). Each test runs a bounded
 * attack (a fixed count, loopback only) from 127.0.0.2 while honest clients
 * use 127.0.0.1, and checks three things: the honest client still gets its
 * well-known JSON, libp2p dial, reservation or gossip; the abuser is refused;
 * the refusal is counted on the metrics endpoint.
 *
 * The relay runs with small limits so each attack stays short; the defaults
 * themselves are checked in config.spec.js.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { ping } from '@libp2p/ping';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as Ws } from 'ws';
import { parseConfig } from './config.js';
import { createLogger, silentLogger } from './log.js';
import { startRelay } from './relay.js';
import { answerStops, hopConnect, hopReserve } from './test-support/hop-reserve.js';

// libp2p dials with the global WebSocket, which Node 20 lacks without a flag.
/** @type {any} */ (globalThis).WebSocket ??= Ws;

const ABUSER = fileURLToPath(new URL('./test-support/abuser.js', import.meta.url));
const ABUSER_IP = '127.0.0.2';
/** Generous bounds for a loaded 2-core machine: each condition is normally met in about a second, each test in under 10 s. */
const WAIT_MS = 30_000;
const TEST_MS = 120_000;

const LIMITS = {
	'max-sockets-per-ip': 20,
	'max-pending-per-ip': 6,
	'max-connections-per-ip': 12,
	'headers-timeout': 2,
	'request-timeout': 3,
	'max-ws-frame': 65_537 + 1024,
	'max-reservations': 8,
	'max-reservations-per-ip': 3,
	'max-topics': 64,
	'max-topics-per-peer': 4,
	'max-gossip-message': 16 * 1024,
	'gossip-rate': 10,
	'gossip-byte-rate': 32 * 1024,
	'max-circuits-per-ip': 4,
	// Bursts of 16 s: 16 circuits.
	'circuit-rate': 1
};

/** @type {Awaited<ReturnType<typeof startRelay>>} */
let relay;
/** @type {string} */
let dir;
/** @type {import('@multiformats/multiaddr').Multiaddr} */
let relayAddr;

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'stanza-abuse-'));
	const argv = ['--host', '127.0.0.1', '--port', '0', '--no-static', '--key-file', join(dir, 'key'), '--metrics-port', '0'];
	for (const [flag, value] of Object.entries(LIMITS)) argv.push(`--${flag}`, String(value));
	const parsed = parseConfig(argv, {});
	if (!('config' in parsed)) throw new Error(JSON.stringify(parsed));
	relay = await startRelay(parsed.config, { log: process.env.ABUSE_DEBUG ? createLogger() : silentLogger });
	relayAddr = multiaddr(relay.multiaddrs[0]);
});

afterAll(async () => {
	await relay?.stop();
	await rm(dir, { recursive: true, force: true });
});

/** @returns {Promise<Map<string, number>>} every sample on the metrics page, `name{labels}` → value */
async function scrape() {
	if (!relay.metricsUrl) throw new Error('no metrics endpoint');
	const text = await (await fetch(relay.metricsUrl)).text();
	const samples = new Map();
	for (const line of text.split('\n')) {
		if (line === '' || line.startsWith('#')) continue;
		const space = line.lastIndexOf(' ');
		samples.set(line.slice(0, space), Number(line.slice(space + 1)));
	}
	return samples;
}

/** @param {string} limit */
const refusals = async (limit) => (await scrape()).get(`stanza_relay_refusals_total{limit="${limit}"}`) ?? NaN;

/**
 * @param {() => boolean | Promise<boolean>} condition
 * @param {string} what
 */
async function waitFor(condition, what) {
	const deadline = Date.now() + WAIT_MS;
	while (!(await condition())) {
		if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS} ms`);
		await new Promise((resolve) => setTimeout(resolve, 25));
	}
}

/** An honest libp2p client from 127.0.0.1, stopped after the test. */
async function honestPeer() {
	const node = await createLibp2p({
		transports: [webSockets()],
		connectionEncrypters: [noise()],
		streamMuxers: [yamux()],
		services: { identify: identify(), ping: ping(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
	});
	return node;
}

/** @param {Array<{ stop: () => unknown }>} nodes */
const stopAll = (nodes) => Promise.all(nodes.map((n) => n.stop()));

async function wellKnownStatus() {
	const res = await fetch(`http://127.0.0.1:${relay.port}/.well-known/stanza-relay.json`);
	const body = await res.json();
	return { status: res.status, peerId: body.peerId };
}

/**
 * Starts the abuser process and resolves with its one-line report; `leave()`
 * closes its stdin, so it disconnects everything and exits.
 *
 * @param {string[]} args
 */
async function abuse(args) {
	const child = spawn(process.execPath, [ABUSER, relay.multiaddrs[0], ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ABUSER_SOURCE_IP: ABUSER_IP } });
	const exited = once(child, 'exit');
	let stderr = '';
	child.stderr.on('data', (chunk) => (stderr += chunk));
	const lines = createInterface({ input: child.stdout });
	const [line] = await Promise.race([
		once(lines, 'line'),
		exited.then(() => {
			throw new Error(`abuser exited before reporting: ${stderr}`);
		})
	]);
	const report = JSON.parse(line);
	if (report.error) throw new Error(`abuser: ${report.error}`);
	return {
		report,
		async leave() {
			child.stdin.end();
			await exited;
		}
	};
}

/**
 * A raw TCP connection from the abuser's address.
 *
 * @returns {Promise<import('node:net').Socket>}
 */
function abuserSocket() {
	const socket = connect({ host: '127.0.0.1', port: relay.port, localAddress: ABUSER_IP });
	socket.on('error', () => {});
	// Read (and drop) whatever comes back, so the socket sees the relay's close.
	socket.resume();
	return once(socket, 'connect').then(() => socket);
}

/**
 * Resolves on 'close', even after an error (a reset), unlike `once(socket, 'close')`.
 *
 * @param {import('node:net').Socket} socket
 * @returns {Promise<void>}
 */
const closed = (socket) => new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

/**
 * @param {import('node:net').Socket} socket
 * @param {'data' | 'drain'} event
 * @returns {Promise<void>}
 */
const eventOrClose = (socket, event) => new Promise((resolve) => {
	socket.once(event, () => resolve());
	socket.once('close', () => resolve());
});

describe('one abusive IP against a real relay', () => {
	it(
		'half-finished requests (slowloris): refused past the per-IP cap, the rest timed out; honest HTTP and libp2p keep working',
		async () => {
			const before = { pending: await refusals('pending_per_ip'), timeout: await refusals('request_timeout') };
			// 40 sockets, each sending a request head that never ends.
			const sockets = await Promise.all(Array.from({ length: 40 }, () => abuserSocket()));
			for (const s of sockets) s.write('GET / HTTP/1.1\r\nHost: relay\r\nX-Slow: ');
			await waitFor(async () => (await refusals('pending_per_ip')) - before.pending >= 40 - LIMITS['max-pending-per-ip'], 'refusals counted');

			expect(await wellKnownStatus()).toEqual({ status: 200, peerId: relay.peerId });
			const honest = await honestPeer();
			try {
				await honest.dial(relayAddr);
				expect(await honest.services.ping.ping(relayAddr)).toBeGreaterThanOrEqual(0);
			} finally {
				await honest.stop();
			}

			// The few let in are closed by --headers-timeout.
			await Promise.all(sockets.map(closed));
			expect((await refusals('request_timeout')) - before.timeout).toBeGreaterThanOrEqual(1);
		},
		TEST_MS
	);

	it(
		'many idle keep-alive sockets: refused past --max-sockets-per-ip, honest requests still answered',
		async () => {
			const before = await refusals('sockets_per_ip');
			/** @type {import('node:net').Socket[]} */
			const sockets = [];
			// In small batches, each finishing its request, so they are open but no longer pending.
			for (let batch = 0; batch < 6; batch++) {
				const opened = await Promise.all(Array.from({ length: 5 }, () => abuserSocket()));
				await Promise.all(
					opened.map(async (s) => {
						s.write('GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n');
						await eventOrClose(s, 'data');
					})
				);
				sockets.push(...opened);
			}
			try {
				expect((await refusals('sockets_per_ip')) - before).toBeGreaterThanOrEqual(30 - LIMITS['max-sockets-per-ip']);
				expect(await wellKnownStatus()).toEqual({ status: 200, peerId: relay.peerId });
			} finally {
				for (const s of sockets) s.destroy();
			}
		},
		TEST_MS
	);

	it(
		'oversized WebSocket frames before any handshake: cut at the header, memory stays bounded, honest dial works',
		async () => {
			const before = await refusals('ws_frame');
			const rssBefore = process.memoryUsage.rss();
			const key = 'dGhlIHNhbXBsZSBub25jZQ==';
			// 8 connections, each announcing a 100 MiB binary frame and trying to send 16 MiB of it.
			const attacks = Array.from({ length: 8 }, async () => {
				const s = await abuserSocket();
				s.write(`GET / HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
				const length = 100 * 1024 * 1024;
				s.write(Buffer.from([0x82, 0xff, 0, 0, 0, 0, length >>> 24, (length >> 16) & 0xff, 0, 0, 0, 0, 0, 0]));
				const chunk = Buffer.alloc(1024 * 1024);
				for (let i = 0; i < 16 && !s.destroyed; i++) {
					if (!s.write(chunk)) await eventOrClose(s, 'drain');
				}
				await closed(s);
			});
			await Promise.all(attacks);
			expect((await refusals('ws_frame')) - before).toBe(8);
			// Without the guard, ws buffers what arrives of each frame: 8 × 16 MiB here.
			expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(64 * 1024 * 1024);

			const honest = await honestPeer();
			try {
				await honest.dial(relayAddr);
				expect(await honest.services.ping.ping(relayAddr)).toBeGreaterThanOrEqual(0);
			} finally {
				await honest.stop();
			}
		},
		TEST_MS
	);

	it(
		'reservations: capped per IP, released when the holder disconnects; an honest peer still gets one',
		async () => {
			const before = await refusals('reservations_per_ip');
			const first = await abuse(['reserve', '5']);
			expect(first.report).toEqual({ ok: LIMITS['max-reservations-per-ip'], refused: 5 - LIMITS['max-reservations-per-ip'] });
			expect((await refusals('reservations_per_ip')) - before).toBe(2);

			const honest = await honestPeer();
			try {
				expect(await hopReserve(honest, relayAddr)).toBe('OK');
				expect((await scrape()).get('stanza_relay_reservations')).toBe(LIMITS['max-reservations-per-ip'] + 1);

				// The abuser leaves: its slots come back at once, not after the 2 h TTL.
				await first.leave();
				await waitFor(async () => (await scrape()).get('stanza_relay_reservations') === 1, 'abuser reservations released');
				const second = await abuse(['reserve', '3']);
				expect(second.report).toEqual({ ok: 3, refused: 0 });
				await second.leave();
			} finally {
				await honest.stop();
			}
			await waitFor(async () => (await scrape()).get('stanza_relay_reservations') === 0, 'all reservations released');
		},
		TEST_MS
	);

	it(
		'junk topics: one peer gets only its share mirrored; a new room between honest peers still carries gossip',
		async () => {
			const before = await refusals('topics_per_peer');
			const junk = await abuse(['topics', '200']);
			try {
				await waitFor(async () => (await refusals('topics_per_peer')) - before >= 200 - LIMITS['max-topics-per-peer'], 'junk topics refused');
				expect((await scrape()).get('stanza_relay_topics')).toBe(LIMITS['max-topics-per-peer']);

				const [a, b] = [await honestPeer(), await honestPeer()];
				try {
					await expect(gossipBetween(a, b, 'stanza/room/1/after-junk', 1000)).resolves.toBe(true);
				} finally {
					await stopAll([a, b]);
				}
			} finally {
				await junk.leave();
			}
			await waitFor(async () => (await scrape()).get('stanza_relay_topics') === 0, 'topics left after everyone disconnected');
		},
		TEST_MS
	);

	it(
		'circuits: one IP holds at most --max-circuits-per-ip and opens them at --circuit-rate; an honest peer still reaches the same browser',
		async () => {
			const before = { count: await refusals('circuits_per_ip'), rate: await refusals('circuit_rate') };
			// The destination: reserved on the relay, accepting every circuit and holding it open.
			const [browser, honest] = [await honestPeer(), await honestPeer()];
			try {
				const stops = await answerStops(browser);
				expect(await hopReserve(browser, relayAddr)).toBe('OK');
				const target = browser.peerId.toString();

				// Ten circuits, each held: four pass, the others are refused while those four stay open.
				const holders = await abuse(['circuits', '10', target, '1']);
				try {
					expect(holders.report).toEqual({ OK: LIMITS['max-circuits-per-ip'], PERMISSION_DENIED: 10 - LIMITS['max-circuits-per-ip'] });
					expect(await refusals('circuits_per_ip')).toBe(before.count + 10 - LIMITS['max-circuits-per-ip']);
					await waitFor(() => stops.held() === LIMITS['max-circuits-per-ip'], 'the granted circuits reached the browser');
					// Another address reaches the same browser.
					const { status, stream } = await hopConnect(honest, relayAddr, browser.peerId);
					expect(status).toBe('OK');
					await waitFor(() => stops.held() === LIMITS['max-circuits-per-ip'] + 1, 'the honest circuit reached the browser');
					await stream.close();
				} finally {
					await holders.leave();
				}

				// Forty, each closed at once: the count never binds, the rate does (four of its tokens are spent).
				const churn = await abuse(['circuits', '40', target, '0']);
				try {
					const { OK: ok = 0, PERMISSION_DENIED: denied = 0 } = churn.report;
					expect(ok + denied).toBe(40);
					expect(ok).toBeGreaterThan(0);
					expect(denied).toBeGreaterThan(0);
					expect(await refusals('circuit_rate')).toBe(before.rate + denied);
					expect((await hopConnect(honest, relayAddr, browser.peerId)).status).toBe('OK');
				} finally {
					await churn.leave();
				}
			} finally {
				await stopAll([browser, honest]);
			}
		},
		TEST_MS
	);

	it(
		'unanswered gossip streams: peers that never answer the relay do not hold gossip to the peers after them',
		async () => {
			// gossipsub opened its outbound streams one at a time, each waiting up to 10 s for an answer:
			// these 5 would have held every later peer's gossip for 50 s.
			const before = await refusals('gossip_unanswered');
			const stallers = await abuse(['stall', '5']);
			try {
				expect(stallers.report.stalled).toBe(5);
				const [a, b] = [await honestPeer(), await honestPeer()];
				try {
					await expect(gossipBetween(a, b, 'stanza/room/1/after-stall', 1000)).resolves.toBe(true);
				} finally {
					await stopAll([a, b]);
				}
				// Each would hear nothing for as long as it stayed (gossipsub does not try again): hung up on after 10 s.
				await waitFor(async () => (await refusals('gossip_unanswered')) - before === 5, 'the peers that never answered hung up on');
			} finally {
				await stallers.leave();
			}
		},
		TEST_MS
	);

	it(
		'gossip flood: oversized messages rejected, one peer throttled to its rate and then hung up on, honest messages still flow',
		async () => {
			const topic = 'stanza/room/1/flooded';
			const [a, b] = [await honestPeer(), await honestPeer()];
			try {
				// b listens on the flooded topic; a and b first prove the topic carries messages.
				expect(await gossipBetween(a, b, topic, 1000)).toBe(true);
				let floodReceived = 0;
				b.services.pubsub.addEventListener('message', (event) => {
					if (event.detail.topic === topic && event.detail.data.length >= 8 * 1024 && event.detail.data[2] === 7) floodReceived++;
				});

				const beforeRate = await refusals('gossip_rate');
				const beforeSize = await refusals('gossip_message_size');
				const beforeFlood = await refusals('gossip_flood');
				const big = await abuse(['flood', '3', String(LIMITS['max-gossip-message'] + 1), topic]);
				await waitFor(async () => (await refusals('gossip_message_size')) - beforeSize === 3, 'oversized messages rejected');
				await big.leave();

				const started = Date.now();
				const flood = await abuse(['flood', '400', String(8 * 1024), topic]);
				// Dropped beyond its rate, and once it has kept on at over twice its rate, hung up on.
				await waitFor(async () => (await refusals('gossip_flood')) - beforeFlood >= 1, 'flooder hung up');
				expect((await refusals('gossip_rate')) - beforeRate).toBeGreaterThanOrEqual(16);
				// Honest messages still reach b.
				expect(await gossipBetween(a, b, topic, 1000)).toBe(true);
				const elapsedS = (Date.now() - started) / 1000;
				await flood.leave();

				// At most a full bucket plus the refill over the whole attack (messages and bytes both bound it).
				const byBytes = (LIMITS['gossip-byte-rate'] * (4 + elapsedS)) / (8 * 1024);
				const byCount = LIMITS['gossip-rate'] * (4 + elapsedS);
				expect(floodReceived).toBeLessThanOrEqual(Math.ceil(Math.min(byBytes, byCount)) + 1);
				expect(floodReceived).toBeLessThan(400);
				const samples = await scrape();
				expect(samples.get('stanza_relay_gossip_messages_total')).toBeGreaterThan(0);
			} finally {
				await stopAll([a, b]);
			}
		},
		TEST_MS
	);
});

/**
 * Connects both to the relay, subscribes both to `topic`, and republishes from
 * `a` until `b` has a message (the relay has to learn and mirror the topic
 * first). Resolves true once delivered; throws after WAIT_MS.
 *
 * @param {Awaited<ReturnType<typeof honestPeer>>} a
 * @param {Awaited<ReturnType<typeof honestPeer>>} b
 * @param {string} topic
 * @param {number} size
 */
async function gossipBetween(a, b, topic, size) {
	await a.dial(relayAddr);
	await b.dial(relayAddr);
	a.services.pubsub.subscribe(topic);
	b.services.pubsub.subscribe(topic);
	const marker = crypto.getRandomValues(new Uint8Array(8));
	let delivered = false;
	/** @param {CustomEvent<import('@libp2p/gossipsub').Message>} event */
	const onMessage = (event) => {
		const data = event.detail.data;
		if (event.detail.topic === topic && data.length === size && marker.every((v, i) => data[i] === v)) delivered = true;
	};
	b.services.pubsub.addEventListener('message', onMessage);
	try {
		const payload = new Uint8Array(size);
		payload.set(marker);
		const deadline = Date.now() + WAIT_MS;
		while (!delivered) {
			if (Date.now() > deadline) throw new Error(`gossip on ${topic} did not arrive within ${WAIT_MS} ms`);
			await a.services.pubsub.publish(topic, payload).catch(() => {});
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		return true;
	} finally {
		b.services.pubsub.removeEventListener('message', onMessage);
	}
}
