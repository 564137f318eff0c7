// @ts-check
/**
 * gossip-streams.js: the bound each gossip stream gets, and the hang-up when gossip with a browser
 * breaks while its connection stays up. First with small fakes of libp2p's registrar, streams and
 * connections and of gossipsub's stream maps (fake timers); then against a real relay and real
 * libp2p clients on loopback.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocket as Ws } from 'ws';
import { OUTBOUND_BUFFER_MESSAGES, parseConfig } from './config.js';
import { guardGossipStreams, LOSS_GRACE_MS, PROBE_MS } from './gossip-streams.js';
import { startRelay } from './relay.js';

// libp2p dials with the global WebSocket, which Node 20 lacks without a flag.
/** @type {any} */ (globalThis).WebSocket ??= Ws;

const PROTOCOLS = ['/meshsub/1.2.0', '/meshsub/1.1.0', '/meshsub/1.0.0'];
const BOUND = 1000;
const FEDERATED_BOUND = 8000;

/** @typedef {(stream: any, connection: any, next: (s: any, c: any) => void) => void | Promise<void>} Middleware */

/** libp2p's Connection.runMiddlewareChain (connection.js), as installed. */
async function runMiddlewareChain(/** @type {any} */ stream, /** @type {any} */ connection, /** @type {Middleware[]} */ middleware) {
	for (let i = 0; i < middleware.length; i++) {
		const mw = middleware[i];
		await new Promise((resolve, reject) => {
			try {
				const result = mw(stream, connection, (s, c) => {
					stream = s;
					connection = c;
					resolve(undefined);
				});
				if (result instanceof Promise) result.catch(reject);
			} catch (err) {
				reject(err);
			}
		});
	}
	return stream;
}

/**
 * libp2p's registrar and connection as far as middleware goes, bug included: `use` keeps the array
 * it is given, and an inbound stream appends its handler to that very array (connection.js
 * onIncomingStream, libp2p 3.3.11).
 */
function fakeNode() {
	/** @type {Map<string, Middleware[]>} */
	const middleware = new Map();
	/** @type {Array<{ stream: FakeStream }>} */
	const handled = [];
	const handler = (/** @type {FakeStream} */ stream) => void handled.push({ stream });
	/** @type {FakeConnection[]} */
	const connections = [];
	/** @type {Set<(event: CustomEvent<any>) => void>} */
	const onOpen = new Set();
	return {
		middleware,
		handled,
		use: vi.fn((/** @type {string} */ protocol, /** @type {Middleware[]} */ mw) => void middleware.set(protocol, mw)),
		unuse: vi.fn((/** @type {string} */ protocol) => void middleware.delete(protocol)),
		/** @param {{ toString(): string }} peer */
		getConnections: (peer) => connections.filter((c) => c.remotePeer.toString() === peer.toString()),
		addEventListener: (/** @type {'connection:open'} */ _type, /** @type {(event: CustomEvent<any>) => void} */ listener) => void onOpen.add(listener),
		removeEventListener: (/** @type {'connection:open'} */ _type, /** @type {(event: CustomEvent<any>) => void} */ listener) => void onOpen.delete(listener),
		/** libp2p has upgraded a connection. @param {FakeConnection} connection */
		open(connection) {
			connections.push(connection);
			for (const listener of onOpen) listener(new CustomEvent('connection:open', { detail: connection }));
		},
		/** What the caller of newStream gets. @param {FakeStream} stream @param {FakeConnection} connection */
		async outbound(stream, connection, protocol = PROTOCOLS[0]) {
			return runMiddlewareChain(stream, connection, middleware.get(protocol) ?? []);
		},
		/** @param {FakeStream} stream @param {FakeConnection} connection */
		async inbound(stream, connection, protocol = PROTOCOLS[0]) {
			const chain = middleware.get(protocol) ?? [];
			chain.push(async (s, c, next) => {
				handler(s);
				next(s, c);
			});
			await runMiddlewareChain(stream, connection, chain);
		}
	};
}

class FakeStream extends EventTarget {
	/** @param {'inbound' | 'outbound'} direction */
	constructor(direction) {
		super();
		this.direction = direction;
		this.status = 'open';
		this.remoteWriteStatus = 'writable';
		/** @type {number | undefined} */
		this.maxWriteBufferLength = undefined;
		this.writeBufferLength = 0;
	}

	/** As a StreamBufferError abort, a reset or a graceful close end it. @param {Error} [error] */
	end(error) {
		this.status = error ? 'aborted' : 'closed';
		this.remoteWriteStatus = 'closed';
		this.dispatchEvent(Object.assign(new Event('close'), { error }));
	}

	/** The peer closed its side (FIN). */
	remoteEnd() {
		this.remoteWriteStatus = 'closed';
		this.dispatchEvent(new Event('remoteCloseWrite'));
	}
}

class FakeConnection {
	/** @param {string} peer */
	constructor(peer, { closeFails = false } = {}) {
		this.remotePeer = { toString: () => peer };
		this.status = 'open';
		// Stays 'open' while its streams close, here longer than the grace: a second hang-up must not follow.
		this.close = vi.fn(async () => {
			await new Promise((resolve) => setTimeout(resolve, 3 * LOSS_GRACE_MS));
			if (closeFails) throw new Error('close timed out');
			this.status = 'closed';
		});
		this.abort = vi.fn(() => void (this.status = 'closed'));
	}
}

const bufferError = () => Object.assign(new Error('Write buffer length of 1001 exceeded limit of 1000'), { name: 'StreamBufferError' });

/** @param {{ federated?: string[], answers?: (connection: any) => Promise<boolean> }} [options] */
function setup({ federated = ['relay-b'], answers = async () => false } = {}) {
	const node = fakeNode();
	const pubsub = {
		protocols: [...PROTOCOLS],
		/** @type {Map<string, { rawStream: FakeStream }>} */
		streamsOutbound: new Map(),
		/** @type {Map<string, { rawStream: FakeStream }>} */
		streamsInbound: new Map(),
		started: true,
		isStarted() {
			return this.started;
		}
	};
	/** @type {Array<[string, string]>} */
	const hangUps = [];
	const guard = guardGossipStreams({
		node,
		pubsub,
		bound: BOUND,
		federatedBound: FEDERATED_BOUND,
		isFederated: (peer) => federated.includes(peer),
		onHangUp: (peer, reason) => void hangUps.push([peer, reason]),
		onKept: (peer) => void hangUps.push([peer, 'kept']),
		answers
	});
	/** Both gossip streams with a peer, opened through the middleware and kept in gossipsub's maps. @param {string} peer */
	const connect = async (peer, connection = new FakeConnection(peer)) => {
		node.open(connection);
		const out = new FakeStream('outbound');
		const inb = new FakeStream('inbound');
		expect(await node.outbound(out, connection)).toBe(out);
		await node.inbound(inb, connection);
		pubsub.streamsOutbound.set(peer, { rawStream: out });
		pubsub.streamsInbound.set(peer, { rawStream: inb });
		return { connection, out, inb };
	};
	return { node, pubsub, guard, hangUps, connect };
}

describe('guardGossipStreams (fakes)', () => {
	beforeEach(() => void vi.useFakeTimers());
	afterEach(() => void vi.useRealTimers());

	it('bounds each outbound gossip stream by the kind of peer, leaves inbound ones alone, and passes every stream on', async () => {
		const { node, connect } = setup();
		expect(node.use).toHaveBeenCalledTimes(PROTOCOLS.length);
		const browser = await connect('browser');
		const relay = await connect('relay-b');
		expect(browser.out.maxWriteBufferLength).toBe(BOUND);
		expect(relay.out.maxWriteBufferLength).toBe(FEDERATED_BOUND);
		expect(browser.inb.maxWriteBufferLength).toBeUndefined();
		expect(node.handled.map((h) => h.stream)).toEqual([browser.inb, relay.inb]);
	});

	it('hands each inbound stream to gossipsub once and no outbound one, though libp2p appends the handler to the chain it was given', async () => {
		const { node, connect } = setup();
		const streams = [];
		for (const peer of ['a', 'b', 'c']) streams.push(await connect(peer));
		const extra = new FakeStream('outbound');
		await node.outbound(extra, new FakeConnection('d'));
		expect(node.handled.map((h) => h.stream)).toEqual(streams.map((s) => s.inb));
		for (const protocol of PROTOCOLS) expect(node.middleware.get(protocol)).toHaveLength(1);
	});

	it('an inbound handler that fails still fails its stream', async () => {
		const { node } = setup();
		const chain = node.middleware.get(PROTOCOLS[0]) ?? [];
		chain.push(async () => {
			throw new Error('handler failed');
		});
		await expect(runMiddlewareChain(new FakeStream('inbound'), new FakeConnection('a'), chain)).rejects.toThrow('handler failed');
		expect(chain).toHaveLength(1);
	});

	it('hangs up at once, and once, on a browser whose outbound gossip stream overflowed', async () => {
		const { connect, hangUps } = setup();
		const { connection, out, inb } = await connect('browser');
		out.end(bufferError());
		inb.remoteEnd();
		inb.end();
		expect(connection.close).not.toHaveBeenCalled(); // on the next turn, after gossipsub's own handling
		await vi.advanceTimersByTimeAsync(0);
		expect(connection.close).toHaveBeenCalledTimes(1);
		expect(hangUps).toEqual([['browser', 'backlog']]);
		await vi.advanceTimersByTimeAsync(LOSS_GRACE_MS * 2);
		expect(connection.close).toHaveBeenCalledTimes(1);
		expect(hangUps).toHaveLength(1);
	});

	it('aborts a connection whose close fails', async () => {
		const { connect } = setup();
		const { connection, out } = await connect('browser', new FakeConnection('browser', { closeFails: true }));
		out.end(bufferError());
		await vi.advanceTimersByTimeAsync(0);
		expect(connection.close).toHaveBeenCalledTimes(1);
		await vi.advanceTimersByTimeAsync(3 * LOSS_GRACE_MS);
		expect(connection.abort).toHaveBeenCalledTimes(1);
	});

	it('hangs up on a browser whose gossip stream ended, after the grace, once gossipsub has not two working streams', async () => {
		const { connect, hangUps, pubsub } = setup();
		const deaf = await connect('deaf'); // the browser dropped the relay: FIN on both its streams
		const muted = await connect('muted'); // only the browser's stream to the relay ended: it hears but is not heard
		deaf.out.remoteEnd();
		deaf.inb.remoteEnd();
		muted.inb.remoteEnd();
		pubsub.streamsInbound.delete('muted');
		await vi.advanceTimersByTimeAsync(LOSS_GRACE_MS - 10);
		expect(hangUps).toEqual([]);
		await vi.advanceTimersByTimeAsync(20);
		expect(hangUps.sort()).toEqual([
			['deaf', 'lost'],
			['muted', 'lost']
		]);
		expect(deaf.connection.close).toHaveBeenCalledTimes(1);
		expect(muted.connection.close).toHaveBeenCalledTimes(1);
	});

	it('leaves a browser whose ended stream gossipsub has replaced within the grace', async () => {
		const { connect, hangUps, node, pubsub } = setup();
		const { connection, inb } = await connect('browser');
		inb.remoteEnd();
		inb.end();
		// The browser opened a new stream meanwhile; gossipsub took it as the peer's inbound stream.
		const again = new FakeStream('inbound');
		await node.inbound(again, connection);
		pubsub.streamsInbound.set('browser', { rawStream: again });
		await vi.advanceTimersByTimeAsync(LOSS_GRACE_MS * 2);
		expect(hangUps).toEqual([]);
		expect(connection.close).not.toHaveBeenCalled();
	});

	it('leaves a connection that is closing on its own, a relay that is stopping, and federated relays', async () => {
		const { connect, hangUps, pubsub } = setup();
		const closing = await connect('closing');
		const relay = await connect('relay-b');
		closing.out.end();
		closing.connection.status = 'closing';
		relay.out.end(bufferError());
		relay.inb.remoteEnd();
		await vi.advanceTimersByTimeAsync(LOSS_GRACE_MS * 2);
		expect(hangUps).toEqual([]);
		expect(relay.connection.close).not.toHaveBeenCalled();

		const browser = await connect('browser');
		browser.out.remoteEnd();
		pubsub.started = false;
		await vi.advanceTimersByTimeAsync(LOSS_GRACE_MS * 2);
		expect(hangUps).toEqual([]);
		expect(browser.connection.close).not.toHaveBeenCalled();
	});

	it("closes a browser's older connection once it opens a newer one, if the older answers no ping; no federated relay's", async () => {
		/** @type {Map<any, PromiseWithResolvers<boolean>>} */
		const pings = new Map();
		const { connect, hangUps, node } = setup({
			answers: (connection) => {
				const ping = Promise.withResolvers();
				pings.set(connection, ping);
				return ping.promise;
			}
		});
		const old = await connect('phone');
		const relayOld = await connect('relay-b');
		const other = await connect('other');
		await connect('phone');
		expect([...pings.keys()]).toEqual([old.connection]);
		expect(old.connection.close).not.toHaveBeenCalled();
		pings.get(old.connection)?.resolve(false);
		await vi.advanceTimersByTimeAsync(0);
		expect(old.connection.close).toHaveBeenCalledTimes(1);
		expect(hangUps).toEqual([['phone', 'superseded']]);
		await connect('relay-b');
		expect(pings.has(relayOld.connection)).toBe(false);
		expect(relayOld.connection.close).not.toHaveBeenCalled();
		expect(other.connection.close).not.toHaveBeenCalled();
		// One that is already closing is not pinged again.
		await vi.advanceTimersByTimeAsync(LOSS_GRACE_MS);
		const third = new FakeConnection('phone');
		node.open(third);
		expect(pings.has(old.connection)).toBe(true);
		expect(pings.size).toBe(2);
	});

	it("keeps a browser's older connection that answers: two live tabs with one identity", async () => {
		const { connect, hangUps } = setup({ answers: async () => true });
		const first = await connect('twin');
		const second = await connect('twin');
		await vi.advanceTimersByTimeAsync(0);
		expect(hangUps).toEqual([['twin', 'kept']]);
		expect(first.connection.close).not.toHaveBeenCalled();
		expect(second.connection.close).not.toHaveBeenCalled();
	});

	it('stop() cancels pending checks and takes the middleware off every protocol', async () => {
		const { connect, guard, hangUps, node } = setup();
		const lost = await connect('lost');
		const overflowed = await connect('overflowed');
		lost.out.remoteEnd();
		overflowed.out.end(bufferError());
		expect(vi.getTimerCount()).toBeGreaterThan(0);
		guard.stop();
		expect(vi.getTimerCount()).toBe(0);
		expect(node.unuse.mock.calls.map(([protocol]) => protocol).sort()).toEqual([...PROTOCOLS].sort());
		expect(node.middleware.size).toBe(0);
		await vi.advanceTimersByTimeAsync(LOSS_GRACE_MS * 2);
		expect(hangUps).toEqual([]);
		guard.stop();
		expect(node.unuse).toHaveBeenCalledTimes(PROTOCOLS.length);
		// Nor is an older connection closed any more.
		node.open(new FakeConnection('lost'));
		expect(lost.connection.close).not.toHaveBeenCalled();
	});

	it('counts the bytes queued on outbound gossip streams', async () => {
		const { connect, guard } = setup();
		const a = await connect('a');
		const b = await connect('b');
		a.out.writeBufferLength = 300;
		b.out.writeBufferLength = 40;
		b.inb.writeBufferLength = 5000; // the relay's inbound streams carry nothing of its own
		expect(guard.queuedBytes()).toBe(340);
	});

	it('refuses a gossipsub it cannot read', () => {
		expect(() => guardGossipStreams({ node: fakeNode(), pubsub: {}, bound: 1, federatedBound: 1, isFederated: () => false })).toThrow(/cannot guard/);
	});
});

/** Generous bounds for a loaded 2-core machine: each condition is normally met within a few seconds. */
const WAIT_MS = 30_000;
const TEST_MS = 90_000;
const MAX_GOSSIP_MESSAGE = 16 * 1024;
/** What a browser's gossip stream may queue on this relay: 128 KiB. */
const RELAY_BOUND = OUTBOUND_BUFFER_MESSAGES * MAX_GOSSIP_MESSAGE;

/**
 * @param {() => boolean | Promise<boolean>} condition
 * @param {string} what
 */
async function waitFor(condition, what, ms = WAIT_MS) {
	const deadline = Date.now() + ms;
	while (!(await condition())) {
		if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

describe('guardGossipStreams on a real relay', () => {
	/** @type {Awaited<ReturnType<typeof startRelay>>} */
	let relay;
	/** @type {string} */
	let dir;
	/** @type {string[]} */
	const warnings = [];
	/** @type {Array<{ stop: () => unknown }>} */
	let clients = [];

	beforeAll(async () => {
		dir = await mkdtemp(join(tmpdir(), 'stanza-gossip-streams-'));
		// Rates far above what the tests send: only the stream bound may act.
		const argv = ['--host', '127.0.0.1', '--port', '0', '--no-static', '--key-file', join(dir, 'key')];
		argv.push('--max-gossip-message', String(MAX_GOSSIP_MESSAGE), '--gossip-rate', '100000', '--gossip-byte-rate', String(512 * 1024 * 1024));
		argv.push('--gossip-rate-per-ip', '100000', '--gossip-byte-rate-per-ip', String(512 * 1024 * 1024));
		const parsed = parseConfig(argv, {});
		if (!('config' in parsed)) throw new Error(JSON.stringify(parsed));
		const log = { info() {}, warn: (/** @type {string} */ m) => void warnings.push(m), error() {} };
		relay = await startRelay(parsed.config, { log });
	});

	afterAll(async () => {
		await relay?.stop();
		if (dir) await rm(dir, { recursive: true, force: true });
	});

	afterEach(async () => {
		await Promise.all(clients.map((c) => c.stop()));
		clients = [];
	});

	/** A Node libp2p peer shaped like a browser (stopped after the test), not yet dialled. @param {{ privateKey?: import('@libp2p/interface').PrivateKey }} [options] */
	async function peer({ privateKey } = {}) {
		const node = await createLibp2p({
			...(privateKey ? { privateKey } : {}),
			transports: [webSockets()],
			connectionEncrypters: [noise()],
			streamMuxers: [yamux()],
			services: { identify: identify(), ping: ping(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
		});
		clients.push(node);
		return node;
	}

	async function client() {
		const node = await peer();
		await node.dial(multiaddr(relay.multiaddrs[0]));
		return node;
	}

	/** @typedef {Awaited<ReturnType<typeof client>>} Client */

	const relayId = () => peerIdFromString(relay.peerId);
	/** @param {Client} node */
	const connected = (node) => node.getConnections(relayId()).some((c) => c.status === 'open');
	/** @param {Client} node */
	const gossipWithRelay = (node) => /** @type {any} */ (node.services.pubsub);
	const lost = () => relay.metrics.value('gossip_streams_lost_total');
	const superseded = () => relay.metrics.value('connections_superseded_total');
	const kept = () => relay.metrics.value('connections_kept_total');
	const backlog = () => relay.metrics.value('refusals_total', { limit: 'gossip_backlog' });
	const queued = () => Number(/^stanza_relay_gossip_queued_bytes (\S+)$/m.exec(relay.metrics.render())?.[1]);

	/**
	 * Publishes a marker from `from` until every one of `to` has it: the relay carries the topic and
	 * forwards to each.
	 *
	 * @param {Client} from @param {Client[]} to @param {string} topic
	 */
	async function proveGossip(from, to, topic) {
		const marker = crypto.getRandomValues(new Uint8Array(16));
		const got = new Set();
		const listeners = to.map((node, i) => {
			/** @param {CustomEvent<import('@libp2p/gossipsub').Message>} event */
			const listener = (event) => {
				const data = event.detail.data;
				if (event.detail.topic === topic && data.length === marker.length && marker.every((v, j) => data[j] === v)) got.add(i);
			};
			node.services.pubsub.addEventListener('message', listener);
			return listener;
		});
		try {
			const deadline = Date.now() + WAIT_MS;
			while (got.size < to.length) {
				if (Date.now() > deadline) throw new Error(`gossip on ${topic} reached ${got.size} of ${to.length} within ${WAIT_MS} ms`);
				await from.services.pubsub.publish(topic, marker).catch(() => {});
				await new Promise((resolve) => setTimeout(resolve, 100));
			}
		} finally {
			to.forEach((node, i) => node.services.pubsub.removeEventListener('message', listeners[i]));
		}
	}

	it(
		'hangs up on a client that answers pings but reads no gossip, counts it, and leaves a reading client on the same topic connected and served',
		async () => {
			const topic = 'stanza/room/gossip-streams/stall';
			const [staller, honest, publisher] = [await client(), await client(), await client()];
			for (const node of [staller, honest, publisher]) node.services.pubsub.subscribe(topic);
			await proveGossip(publisher, [staller, honest], topic);
			const before = { backlog: backlog(), lost: lost(), warnings: warnings.length };

			// The staller stops reading the relay's gossip stream: no more yamux window for it, while
			// the connection, its pings and every other stream carry on.
			gossipWithRelay(staller).streamsInbound.get(relay.peerId).rawStream.pause();
			expect(await staller.services.ping.ping(relayId())).toBeGreaterThanOrEqual(0);

			/** @type {Set<number>} */
			const heard = new Set();
			honest.services.pubsub.addEventListener('message', (event) => {
				const data = event.detail.data;
				if (event.detail.topic === topic && data.length === 12 * 1024) heard.add(data[0] | (data[1] << 8));
			});
			// 12 KiB messages until the relay hangs up on the staller: its window (256 KiB) and the
			// bound (128 KiB) fill after about 32. Capped at 400 (4.8 MB).
			let sent = 0;
			const started = Date.now();
			while (connected(staller)) {
				if (sent >= 400) throw new Error(`still connected after ${sent} messages of 12 KiB`);
				const data = new Uint8Array(12 * 1024).fill(7);
				data[0] = sent & 0xff;
				data[1] = sent >> 8;
				await publisher.services.pubsub.publish(topic, data);
				sent++;
				await new Promise((resolve) => setTimeout(resolve, 5));
			}
			// Well before the 20 s ping timeout could have dropped it.
			expect(Date.now() - started).toBeLessThan(15_000);
			await waitFor(() => backlog() - before.backlog === 1, 'gossip_backlog refusal counted');
			expect(lost() - before.lost).toBe(0);
			expect(warnings.slice(before.warnings).filter((w) => w.includes('unread'))).toHaveLength(1);
			// What the relay still queues is the reading clients' share, and it drains.
			await waitFor(() => queued() < RELAY_BOUND, 'queued gossip drained');

			// The reading client is still connected and has every message.
			await waitFor(() => heard.size === sent, `the reading client heard ${heard.size} of ${sent}`);
			expect(connected(honest)).toBe(true);
			expect(connected(publisher)).toBe(true);

			// The staller redials, as a browser does, and hears the room again.
			await staller.dial(multiaddr(relay.multiaddrs[0]));
			await proveGossip(publisher, [staller, honest], topic);
			expect(backlog() - before.backlog).toBe(1);
		},
		TEST_MS
	);

	/**
	 * A path to the relay that can be cut as a phone's network change cuts it: the client's side
	 * closes at once, while the relay's side stays open and silent (nothing reaches it, and it hears
	 * of no close) until its pings fail.
	 */
	async function cuttablePath() {
		/** @type {Array<{ client: import('node:net').Socket, upstream: import('node:net').Socket }>} */
		const pairs = [];
		const port = Number(multiaddr(relay.multiaddrs[0]).getComponents().find((c) => c.name === 'tcp')?.value);
		const server = createServer((client) => {
			const upstream = connect(port, '127.0.0.1');
			client.pipe(upstream);
			upstream.pipe(client);
			client.on('error', () => {});
			upstream.on('error', () => {});
			pairs.push({ client, upstream });
		});
		await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
		const address = /** @type {import('node:net').AddressInfo} */ (server.address());
		const stop = () => {
			for (const { client, upstream } of pairs) {
				client.destroy();
				upstream.destroy();
			}
			server.close();
		};
		clients.push({ stop });
		return {
			addr: multiaddr(`/ip4/127.0.0.1/tcp/${address.port}/ws/p2p/${relay.peerId}`),
			cut() {
				for (const { client, upstream } of pairs) {
					client.unpipe(upstream);
					upstream.unpipe(client);
					upstream.pause();
					client.destroy();
				}
			}
		};
	}

	it(
		'a client that redials while its old connection lingers on the relay hears the room again within seconds, on one connection',
		async () => {
			const topic = 'stanza/room/gossip-streams/redial';
			const path = await cuttablePath();
			const other = await client();
			const phone = await peer();
			await phone.dial(path.addr);
			for (const node of [phone, other]) node.services.pubsub.subscribe(topic);
			await proveGossip(other, [phone], topic);
			const relayConnections = () => Number(/^stanza_relay_libp2p_connections (\S+)$/m.exec(relay.metrics.render())?.[1]);
			expect(relayConnections()).toBe(2);

			const before = { backlog: backlog(), lost: lost(), superseded: superseded(), kept: kept() };
			// The network changes: the phone's side closes, the relay's lingers (its pings fail only after 20 s or more).
			path.cut();
			await waitFor(() => !connected(phone), 'the phone saw its connection close');
			expect(relayConnections()).toBe(2);

			// The phone redials, as the app does, over its new network.
			const redialed = Date.now();
			await phone.dial(multiaddr(relay.multiaddrs[0]));
			await proveGossip(other, [phone], topic);
			// The old connection answered no ping within PROBE_MS, long before the relay's own pings
			// (every 25 s, 20 s to answer) would have dropped it.
			expect(Date.now() - redialed).toBeLessThan(PROBE_MS + 10_000);
			await waitFor(() => relayConnections() === 2, 'the relay dropped the old connection');
			// Moved, not hung up on and redialled once more.
			expect({ backlog: backlog(), lost: lost(), superseded: superseded(), kept: kept() }).toEqual({ ...before, superseded: before.superseded + 1 });
			expect(connected(phone)).toBe(true);
			await proveGossip(phone, [other], topic);
		},
		TEST_MS
	);

	it(
		'keeps both connections of two live nodes with one identity (two tabs of a device), rather than knocking each off in turn',
		async () => {
			const privateKey = await generateKeyPair('Ed25519');
			const [first, second] = [await peer({ privateKey }), await peer({ privateKey })];
			const before = { superseded: superseded(), kept: kept() };
			await first.dial(multiaddr(relay.multiaddrs[0]));
			await second.dial(multiaddr(relay.multiaddrs[0]));
			await waitFor(() => kept() === before.kept + 1, 'the older connection answered the ping and was kept');
			expect(superseded()).toBe(before.superseded);
			expect(connected(first)).toBe(true);
			expect(connected(second)).toBe(true);
		},
		TEST_MS
	);

	it(
		'hangs up, after the grace, on a client whose gossip streams with the relay ended while its connection stayed up',
		async () => {
			const topic = 'stanza/room/gossip-streams/lost';
			const [deaf, other] = [await client(), await client()];
			for (const node of [deaf, other]) node.services.pubsub.subscribe(topic);
			await proveGossip(other, [deaf], topic);
			const before = { backlog: backlog(), lost: lost() };

			// What its gossipsub does after a read error: drop the relay, closing both streams (FIN),
			// and keep the connection.
			const ended = Date.now();
			gossipWithRelay(deaf).onPeerDisconnected(relayId());
			await waitFor(() => !connected(deaf), 'the relay hung up');
			// Node may fire a timer a millisecond early.
			expect(Date.now() - ended).toBeGreaterThanOrEqual(LOSS_GRACE_MS - 50);
			await waitFor(() => lost() - before.lost === 1, 'gossip_streams_lost_total counted');
			expect(backlog() - before.backlog).toBe(0);
			expect(connected(other)).toBe(true);

			await deaf.dial(multiaddr(relay.multiaddrs[0]));
			await proveGossip(other, [deaf], topic);
		},
		TEST_MS
	);
});
