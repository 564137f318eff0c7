/**
 * The browser's libp2p node. This module (and libp2p with it) is only ever
 * loaded with a dynamic import after first paint, so it never weighs on the
 * initial bundle.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { MAX_RELAYS } from './relay-choice';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { identify, type Identify } from '@libp2p/identify';
import type { PrivateKey } from '@libp2p/interface';
import { noise } from '@libp2p/noise';
import { ping, type Ping } from '@libp2p/ping';
import { webRTC } from '@libp2p/webrtc';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { createLibp2p, type Libp2p } from 'libp2p';
import { connectionGaterFor } from './connection-gater';
import { openGossipStreamsConcurrently } from './gossip-outbound.js';
import { StrangerGuard } from './stranger-guard';

export type StanzaServices = { identify: Identify; ping: Ping; pubsub: GossipSub };
export type StanzaNode = Libp2p<StanzaServices>;

export interface NodeOptions {
	privateKey: PrivateKey;
	/** ICE servers for WebRTC; none on a LAN or loopback. */
	iceServers: RTCIceServer[];
	pageProtocol: string;
	/** Whether a peer connected to us is vouched for (a relay, a room's member…): others are strangers (stranger-guard.ts). */
	vouched: (peerId: string) => boolean;
}

// Enough direct peers for a stage plus tree neighbours, far below what a phone can hold. Strangers
// keep a quarter of it at most (stranger-guard.ts).
const MAX_CONNECTIONS = 64;
// How long a connection's ping may take before the connection counts as dead.
const PING_TIMEOUT_MS = 20_000;
const PING_INTERVAL_MS = 25_000;
// The longest a single address dial may take (see topic-meeting.ts, which bounds its dials the same).
const WEBRTC_DIAL_TIMEOUT_MS = 20_000;

export async function createStanzaNode(options: NodeOptions): Promise<StanzaNode> {
	const node = await createLibp2p({
		// Started below, once gossipsub no longer opens its streams one peer at a time.
		start: false,
		privateKey: options.privateKey,
		addresses: {
			// Each '/p2p-circuit' holds a reservation on one connected relay (the
			// app stays on up to MAX_RELAYS, relay-choice.ts); '/webrtc' accepts
			// direct connections signaled through them.
			listen: [...Array<string>(MAX_RELAYS).fill('/p2p-circuit'), '/webrtc']
		},
		transports: [
			webSockets(),
			// Passing the ICE servers also stops the default public STUN servers being contacted.
			webRTC({ rtcConfiguration: { iceServers: options.iceServers } }),
			circuitRelayTransport()
		],
		connectionEncrypters: [noise()],
		streamMuxers: [yamux()],
		connectionGater: connectionGaterFor(options.pageProtocol),
		// libp2p pings every connection each 10 s and drops it when a ping takes over 5 s. A phone
		// that pauses a tab, or a busy machine, stalls longer than that: the relay connection (and
		// with it our reservation, so nobody can reach us) and direct links went down under load.
		// A peer that is really gone is still noticed, within PING_TIMEOUT_MS.
		// The interval stays above the timeout: a second ping on a connection whose first is still
		// out is refused by the ping protocol (one stream at a time), and that too drops the connection.
		connectionMonitor: { pingInterval: PING_INTERVAL_MS, pingTimeout: { minTimeout: PING_TIMEOUT_MS } },
		connectionManager: {
			maxConnections: MAX_CONNECTIONS,
			// libp2p gives each address 6 s by default. A WebRTC dial through a relay is an SDP
			// exchange, ICE and a noise handshake: on a busy phone or a loaded machine it can take
			// longer, and cutting it at 6 s only starts it over. The meeting's own 20 s bound holds.
			addressDialTimeout: WEBRTC_DIAL_TIMEOUT_MS
		},
		services: {
			identify: identify(),
			ping: ping(),
			pubsub: gossipsub({
				allowPublishToZeroTopicPeers: true,
				emitSelf: false,
				// Peers reached over WebRTC through a relay all carry the relay's IP in
				// their address: the IP-colocation penalty would mute a busy room.
				scoreParams: { IPColocationFactorWeight: 0 }
			})
		}
	});
	// A peer that connects and never answers would hold our gossip to every peer after it for 10 s
	// each (gossip-outbound.js).
	openGossipStreamsConcurrently(node.services.pubsub);
	// Before the node starts: a crowd of strangers finds no moment without it.
	const guard = new StrangerGuard(node, options.vouched);
	guard.start();
	node.addEventListener('stop', () => guard.stop(), { once: true });
	try {
		await node.start();
	} catch (err) {
		// libp2p stops a node whose start fails, and that 'stop' stops the guard; should that stop throw
		// too, the guard would sweep a dead node every 5 s for the page's life.
		guard.stop();
		throw err;
	}
	return node;
}
