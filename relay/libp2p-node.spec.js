// @ts-check
/**
 * The relay's libp2p node carries the finite limits it is given: checked on a
 * real node (loopback, one client) because the options pass through gossipsub,
 * which keeps its own copy and would silently fall back to its defaults
 * (5,000 messages a frame) on a misspelt one.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { describe, expect, it } from 'vitest';
import { WebSocket as Ws } from 'ws';
import { MAX_MESSAGES_PER_FRAME } from './config.js';
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

describe('createRelayNode', () => {
	it('bounds what one gossip frame may carry', async () => {
		const { node, internalPort } = await createRelayNode({ privateKey: await generateKeyPair('Ed25519'), announce: [], limits: LIMITS });
		const client = await createLibp2p({
			transports: [webSockets()],
			connectionEncrypters: [noise()],
			streamMuxers: [yamux()],
			services: { identify: identify(), pubsub: gossipsub() }
		});
		try {
			await client.dial(multiaddr(`/ip4/127.0.0.1/tcp/${internalPort}/ws/p2p/${node.peerId}`));
			const pubsub = /** @type {any} */ (node.services.pubsub);
			const id = client.peerId.toString();
			const deadline = Date.now() + 10_000;
			while (!pubsub.streamsOutbound.has(id)) {
				if (Date.now() > deadline) throw new Error('gossipsub never opened its stream to the client');
				await new Promise((resolve) => setTimeout(resolve, 20));
			}

			// gossipsub's defaults let one frame carry 5,000 messages, each signature checked before any limit.
			expect(pubsub.decodeRpcLimits.maxMessages).toBe(MAX_MESSAGES_PER_FRAME);
			// A federated relay's full subscription list (every mirrored topic and the hallway) still decodes.
			expect(pubsub.decodeRpcLimits.maxSubscriptions).toBe(LIMITS.maxTopics + 1);
		} finally {
			await client.stop();
			await node.stop();
		}
	});
});
