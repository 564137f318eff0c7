// @ts-check
/**
 * The relay's libp2p node carries the finite limits it is given: checked on a
 * real node (loopback, one client) because the options pass through gossipsub
 * and yamux, which each keep their own copy and would silently fall back to
 * their defaults (5,000 messages a frame, Infinity queued) on a misspelt one.
 * And a federated link whose gossip stream is reset gets a new one from
 * gossipsub itself, without a hang-up (gossip-streams.js relies on it).
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { describe, expect, it } from 'vitest';
import { WebSocket as Ws } from 'ws';
import { StreamBufferError } from '@libp2p/interface';
import { FEDERATED_OUTBOUND_BUFFER_MESSAGES, MAX_MESSAGES_PER_FRAME, OUTBOUND_BUFFER_MESSAGES } from './config.js';
import { federatedPeers } from './federation.js';
import { createRelayNode } from './libp2p-node.js';

// libp2p dials with the global WebSocket, which Node 20 lacks without a flag.
/** @type {any} */ (globalThis).WebSocket ??= Ws;

const LIMITS = {
	maxReservations: 4,
	reservationTtl: 60,
	circuitDataLimit: 1024 * 1024,
	circuitDurationLimit: 60,
	maxConnections: 8,
	maxGossipMessage: 16 * 1024,
	maxTopics: 100
};

/** Generous for a loaded 2-core machine; each condition is normally met in a second or two. */
const WAIT_MS = 20_000;

/**
 * @param {() => boolean | Promise<boolean>} condition
 * @param {string} what
 */
async function waitFor(condition, what) {
	const deadline = Date.now() + WAIT_MS;
	while (!(await condition())) {
		if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS} ms`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

describe('createRelayNode', () => {
	it('bounds what it queues per peer, and what one gossip frame may carry', async () => {
		const { node, internalPort, gossipStreams } = await createRelayNode({ privateKey: await generateKeyPair('Ed25519'), announce: [], limits: LIMITS });
		const client = await createLibp2p({
			transports: [webSockets()],
			connectionEncrypters: [noise()],
			streamMuxers: [yamux()],
			services: { identify: identify(), pubsub: gossipsub() }
		});
		/** @type {Awaited<ReturnType<typeof createRelayNode>> | null} */
		let other = null;
		try {
			await client.dial(multiaddr(`/ip4/127.0.0.1/tcp/${internalPort}/ws/p2p/${node.peerId}`));
			const pubsub = /** @type {any} */ (node.services.pubsub);
			const id = client.peerId.toString();
			await waitFor(() => pubsub.streamsOutbound.has(id) && pubsub.streamsInbound.has(id), 'gossip streams with the client');

			// A browser's gossip stream: 8 of the largest messages. Every other stream: yamux's default is
			// Infinity; the backstop never undercuts --circuit-data-limit, so no honest circuit is cut.
			const gossipOut = pubsub.streamsOutbound.get(id).rawStream;
			expect(gossipOut.maxWriteBufferLength).toBe(OUTBOUND_BUFFER_MESSAGES * LIMITS.maxGossipMessage);
			const streams = node.getConnections(client.peerId).flatMap((c) => c.streams);
			expect(streams).toContain(pubsub.streamsInbound.get(id).rawStream);
			const backstop = Math.max(OUTBOUND_BUFFER_MESSAGES * LIMITS.maxGossipMessage, LIMITS.circuitDataLimit);
			for (const stream of streams) if (stream !== gossipOut) expect(stream.maxWriteBufferLength).toBe(backstop);
			// gossipsub's own option would overwrite the per-peer bound on every outbound stream.
			expect(pubsub.opts.maxOutboundBufferSize).toBeUndefined();
			expect(gossipStreams.queuedBytes()).toBe(0);

			// A relay that lists the client as federated gives its stream the federated bound.
			other = await createRelayNode({
				privateKey: await generateKeyPair('Ed25519'),
				announce: [],
				limits: LIMITS,
				federation: federatedPeers([`/ip4/127.0.0.1/tcp/9/ws/p2p/${client.peerId}`])
			});
			await client.dial(multiaddr(`/ip4/127.0.0.1/tcp/${other.internalPort}/ws/p2p/${other.node.peerId}`));
			const otherPubsub = /** @type {any} */ (other.node.services.pubsub);
			await waitFor(() => otherPubsub.streamsOutbound.has(id), 'gossip stream from the second relay');
			expect(otherPubsub.streamsOutbound.get(id).rawStream.maxWriteBufferLength).toBe(FEDERATED_OUTBOUND_BUFFER_MESSAGES * LIMITS.maxGossipMessage);

			// gossipsub's defaults let one frame carry 5,000 messages, each signature checked before any limit.
			expect(pubsub.decodeRpcLimits.maxMessages).toBe(MAX_MESSAGES_PER_FRAME);
			// A federated relay's full subscription list (every mirrored topic and the hallway) still decodes.
			expect(pubsub.decodeRpcLimits.maxSubscriptions).toBe(LIMITS.maxTopics + 1);
		} finally {
			await client.stop();
			other?.gossipStreams.stop();
			await other?.node.stop();
			gossipStreams.stop();
			await node.stop();
		}
	});

	it('forgets each peer that left (its identify would stay in the peer store for ever), never a federated relay or one still here', async () => {
		const federated = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
		const { node, internalPort, gossipStreams, peerStoreSweep } = await createRelayNode({
			privateKey: await generateKeyPair('Ed25519'),
			announce: [],
			limits: LIMITS,
			federation: federatedPeers([`/ip4/127.0.0.1/tcp/9/ws/p2p/${federated}`]) // listed, never reached
		});
		const relayAddr = multiaddr(`/ip4/127.0.0.1/tcp/${internalPort}/ws/p2p/${node.peerId}`);
		/** A fresh identity whose identify carries a padded agent string, as one attacker's thousands would. */
		const visitor = () =>
			createLibp2p({
				nodeInfo: { userAgent: `visitor/${'x'.repeat(4_000)}` },
				transports: [webSockets()],
				connectionEncrypters: [noise()],
				streamMuxers: [yamux()],
				services: { identify: identify() }
			});
		const stays = await visitor();
		try {
			const known = async () => new Set((await node.peerStore.all()).map((p) => p.id.toString()));
			const identified = async (/** @type {import('@libp2p/interface').PeerId} */ id) =>
				(await node.peerStore.get(id).catch(() => null))?.metadata.get('AgentVersion') !== undefined;
			await stays.dial(relayAddr);
			/** @type {string[]} */
			const left = [];
			for (let i = 0; i < 6; i++) {
				const client = await visitor();
				await client.dial(relayAddr);
				await waitFor(() => identified(client.peerId), `the relay identifies visitor ${i}`);
				left.push(client.peerId.toString());
				await client.stop();
			}
			await waitFor(async () => {
				const ids = await known();
				return left.every((id) => !ids.has(id));
			}, 'every visitor that left forgotten');
			// One whose identify landed after its disconnect is caught by the periodic sweep; none here was.
			expect(await peerStoreSweep.sweep()).toBe(0);
			const ids = await known();
			expect(ids.has(stays.peerId.toString())).toBe(true);
			expect(ids.has(federated.toString())).toBe(true);
		} finally {
			await stays.stop();
			peerStoreSweep.stop();
			gossipStreams.stop();
			await node.stop();
		}
	}, 60_000);

	it(
		'a federated link whose gossip stream overflowed gets a new one from gossipsub, and stays connected',
		async () => {
			const keys = { a: await generateKeyPair('Ed25519'), b: await generateKeyPair('Ed25519') };
			const ids = { a: peerIdFromPrivateKey(keys.a).toString(), b: peerIdFromPrivateKey(keys.b).toString() };
			// b lists a (at an address nothing listens on: a dials b), a lists b.
			const b = await createRelayNode({ privateKey: keys.b, announce: [], limits: LIMITS, federation: federatedPeers([`/ip4/127.0.0.1/tcp/9/ws/p2p/${ids.a}`]) });
			/** @type {string[]} */
			const hungUp = [];
			/** @type {Awaited<ReturnType<typeof createRelayNode>> | null} */
			let a = null;
			try {
				a = await createRelayNode({
					privateKey: keys.a,
					announce: [],
					limits: LIMITS,
					federation: federatedPeers([`/ip4/127.0.0.1/tcp/${b.internalPort}/ws/p2p/${ids.b}`]),
					onHangUp: (peer) => void hungUp.push(peer)
				});
				const topic = 'stanza/room/federated-reset';
				const [pa, pb] = [/** @type {any} */ (a.node.services.pubsub), /** @type {any} */ (b.node.services.pubsub)];
				pa.subscribe(topic);
				pb.subscribe(topic);
				await waitFor(() => pa.streamsOutbound.has(ids.b) && pb.streamsOutbound.has(ids.a), 'gossip streams between the relays');
				const first = pa.streamsOutbound.get(ids.b).rawStream;
				expect(first.maxWriteBufferLength).toBe(FEDERATED_OUTBOUND_BUFFER_MESSAGES * LIMITS.maxGossipMessage);
				await flows(pa, pb, topic);

				const connection = a.node.getConnections(peerIdFromPrivateKey(keys.b))[0];
				first.abort(new StreamBufferError('test: as if b had left 64 of the largest messages unread'));
				// Within DIRECT_CONNECT_TICKS heartbeats (5 s), on the same connection.
				await waitFor(() => {
					if (connection.status !== 'open') throw new Error('the federated link was closed');
					const next = pa.streamsOutbound.get(ids.b)?.rawStream;
					return next != null && next !== first && next.status === 'open';
				}, 'a new gossip stream to the federated relay');
				expect(pa.streamsOutbound.get(ids.b).rawStream.maxWriteBufferLength).toBe(FEDERATED_OUTBOUND_BUFFER_MESSAGES * LIMITS.maxGossipMessage);
				await flows(pa, pb, topic);
				await flows(pb, pa, topic);
				expect(connection.status).toBe('open');
				expect(hungUp).toEqual([]);
			} finally {
				a?.gossipStreams.stop();
				await a?.node.stop();
				b.gossipStreams.stop();
				await b.node.stop();
			}
		},
		60_000
	);
});

/**
 * Publishes from one relay's gossipsub until the other's has the message.
 *
 * @param {any} from
 * @param {any} to
 * @param {string} topic
 */
async function flows(from, to, topic) {
	const marker = crypto.getRandomValues(new Uint8Array(16));
	let got = false;
	/** @param {CustomEvent<{ topic: string, data: Uint8Array }>} event */
	const listener = (event) => {
		if (event.detail.topic === topic && event.detail.data.length === marker.length && marker.every((v, i) => event.detail.data[i] === v)) got = true;
	};
	to.addEventListener('message', listener);
	try {
		const deadline = Date.now() + WAIT_MS;
		while (!got) {
			if (Date.now() > deadline) throw new Error(`gossip on ${topic} did not flow within ${WAIT_MS} ms`);
			await from.publish(topic, marker).catch(() => {});
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	} finally {
		to.removeEventListener('message', listener);
	}
}
