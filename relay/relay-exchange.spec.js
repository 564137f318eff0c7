// @ts-check
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket as Ws } from 'ws';
import { parseConfig } from './config.js';
import { silentLogger } from './log.js';
import { MAX_LIST_BYTES, MAX_LIST_ENTRIES, decodeRelayList, encodeRelayList } from './relay-exchange.js';
import { startRelay } from './relay.js';

// libp2p dials with the global WebSocket, which Node 20 lacks without a flag.
/** @type {any} */ (globalThis).WebSocket ??= Ws;

const ID = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';
const OTHER = '12D3KooWRBgezhW2KnjB5zKVkwxSQ5rD4CenT51wzBwGfbPZq6JE';
const bytes = (/** @type {unknown} */ value) => new TextEncoder().encode(JSON.stringify(value));

describe('relay list wire format', () => {
	it('round-trips a list of relays', () => {
		const relays = [`/dns4/relay2.example.org/tcp/443/tls/ws/p2p/${ID}`, `/ip4/192.0.2.10/tcp/8080/ws/p2p/${OTHER}`];
		expect(decodeRelayList(encodeRelayList(relays))).toEqual({ relays, skipped: [] });
		expect(decodeRelayList(encodeRelayList([]))).toEqual({ relays: [], skipped: [] });
	});

	it('skips, one by one, entries --federate would refuse', () => {
		const good = `/ip4/192.0.2.10/tcp/8080/ws/p2p/${OTHER}`;
		const { relays, skipped } = decodeRelayList(
			bytes({ relays: [`/ip4/192.0.2.9/tcp/8080/ws/p2p/${ID}/p2p-circuit/p2p/${OTHER}`, '/ip4/192.0.2.9/tcp/8080/ws', `/ip4/192.0.2.9/tcp/4001/p2p/${ID}`, 'not a multiaddr', good] })
		);
		expect(relays).toEqual([good]);
		expect(skipped).toHaveLength(4);
		expect(skipped.join('\n')).toMatch(/circuit/);
		expect(skipped.join('\n')).toMatch(/must end in \/p2p/);
		expect(skipped.join('\n')).toMatch(/WebSocket/);
	});

	it('drops a malformed answer whole, with a clear error', () => {
		expect(() => decodeRelayList(new Uint8Array([0xff, 0xfe]))).toThrow(/not UTF-8 JSON/);
		expect(() => decodeRelayList(bytes([`/ip4/192.0.2.10/tcp/8080/ws/p2p/${OTHER}`]))).toThrow(/must be \{ "relays"/);
		expect(() => decodeRelayList(bytes({ relays: 'x' }))).toThrow(/must be \{ "relays"/);
		expect(() => decodeRelayList(bytes({ relays: [7] }))).toThrow(/entries must be strings/);
		expect(() => decodeRelayList(bytes({ relays: Array(MAX_LIST_ENTRIES + 1).fill(`/ip4/192.0.2.10/tcp/8080/ws/p2p/${OTHER}`) }))).toThrow(/up to 64/);
		expect(() => decodeRelayList(new Uint8Array(MAX_LIST_BYTES + 1))).toThrow(/over/);
	});

	it('keeps what it sends within the frame', () => {
		expect(() => encodeRelayList(Array(MAX_LIST_ENTRIES).fill(`/dns4/${'r'.repeat(300)}.example.org/tcp/443/tls/ws/p2p/${ID}`))).toThrow(/over/);
	});
});

/** Generous for a loaded 2-core machine: discovery asks within a second of a relay's connection. */
const WAIT_MS = 30_000;

/**
 * @param {() => boolean | Promise<boolean>} condition
 * @param {string} what
 */
async function waitFor(condition, what) {
	const deadline = Date.now() + WAIT_MS;
	while (!(await condition())) {
		if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS} ms`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** @type {Array<{ stop: () => unknown }>} */
const running = [];
/** @type {string[]} */
const dirs = [];
afterAll(async () => {
	await Promise.all(running.map((r) => r.stop()));
	await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * A relay in this process with its own key file; `port` 0 the first time,
 * then its own again when it restarts with a list.
 *
 * @param {string} keyFile
 * @param {number} port
 * @param {string[]} args
 */
async function relayAt(keyFile, port, args = []) {
	const parsed = parseConfig(['--host', '127.0.0.1', '--port', String(port), '--no-static', '--key-file', keyFile, '--metrics-port', '0', ...args], {});
	if (!('config' in parsed)) throw new Error(JSON.stringify(parsed));
	const relay = await startRelay(parsed.config, { log: silentLogger });
	running.push(relay);
	return relay;
}

/** @param {Awaited<ReturnType<typeof startRelay>>} relay */
async function federatedRelays(relay) {
	const text = await (await fetch(/** @type {string} */ (relay.metricsUrl))).text();
	return Number(/^stanza_relay_federated_relays (\d+)$/m.exec(text)?.[1]);
}

/** @param {Awaited<ReturnType<typeof startRelay>>} relay */
async function toldBrowsers(relay) {
	const body = await (await fetch(`http://127.0.0.1:${relay.port}/.well-known/stanza-relay.json`)).json();
	return /** @type {string[]} */ (body.federation ?? []);
}

async function client() {
	const node = await createLibp2p({
		transports: [webSockets()],
		connectionEncrypters: [noise()],
		streamMuxers: [yamux()],
		services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
	});
	running.push(node);
	return node;
}

describe('relay discovery among federated relays', () => {
	it('two relays that each list only a third federate with each other, and carry a room when the third stops', { timeout: 120_000 }, async () => {
		const dir = await mkdtemp(join(tmpdir(), 'stanza-exchange-'));
		dirs.push(dir);
		const [keyA, keyB, keyC] = ['a', 'b', 'c'].map((n) => join(dir, n));
		// A and C first, to learn their ports and PeerIds; then B listing both; then A and C again, each listing B.
		let a = await relayAt(keyA, 0);
		let c = await relayAt(keyC, 0);
		const [portA, portC, addrA, addrC] = [a.port, c.port, a.multiaddrs[0], c.multiaddrs[0]];
		await a.stop();
		await c.stop();
		const b = await relayAt(keyB, 0, ['--federate', addrA, '--federate', addrC]);
		a = await relayAt(keyA, portA, ['--federate', b.multiaddrs[0]]);
		c = await relayAt(keyC, portC, ['--federate', b.multiaddrs[0]]);

		await waitFor(async () => (await federatedRelays(a)) === 2 && (await federatedRelays(c)) === 2, 'A and C learn each other through B');
		expect(await toldBrowsers(a)).toEqual([b.multiaddrs[0], addrC]);
		expect(await toldBrowsers(c)).toEqual([b.multiaddrs[0], addrA]);

		await b.stop();
		// A member on A and a member on C, in one room: its messages cross from C to A with B gone.
		const topic = 'stanza/room/1/exchange-test';
		const [onA, onC] = [await client(), await client()];
		await onA.dial(multiaddr(addrA));
		await onC.dial(multiaddr(addrC));
		onA.services.pubsub.subscribe(topic);
		onC.services.pubsub.subscribe(topic);
		/** @type {string[]} */
		const heard = [];
		onA.services.pubsub.addEventListener('message', (e) => {
			if (e.detail.topic === topic) heard.push(new TextDecoder().decode(e.detail.data));
		});
		let sent = 0;
		await waitFor(async () => {
			await onC.services.pubsub.publish(topic, new TextEncoder().encode(`hello ${++sent}`));
			return heard.length > 0;
		}, 'a message from a member on C reaches a member on A');
		expect(heard[0]).toMatch(/^hello \d+$/);
	});

	it('answers a relay it does not federate with nothing', { timeout: 60_000 }, async () => {
		const dir = await mkdtemp(join(tmpdir(), 'stanza-exchange-'));
		dirs.push(dir);
		const listed = await relayAt(join(dir, 'l'), 0);
		const relay = await relayAt(join(dir, 'r'), 0, ['--federate', listed.multiaddrs[0]]);
		const stranger = await client();
		const { RELAYS_PROTOCOL } = await import('./relay-exchange.js');
		const stream = await stranger.dialProtocol(multiaddr(relay.multiaddrs[0]), RELAYS_PROTOCOL);
		const { lpStream } = await import('@libp2p/utils');
		await expect(lpStream(stream).read({ signal: AbortSignal.timeout(10_000) })).rejects.toThrow();
		expect(await federatedRelays(relay)).toBe(1);
	});
});
