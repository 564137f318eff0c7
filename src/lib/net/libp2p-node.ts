/**
 * The browser's libp2p node. This module (and libp2p with it) is only ever
 * loaded with a dynamic import after first paint, so it never weighs on the
 * initial bundle.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2';
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

export type StanzaServices = { identify: Identify; ping: Ping; pubsub: GossipSub };
export type StanzaNode = Libp2p<StanzaServices>;

export interface NodeOptions {
	privateKey: PrivateKey;
	/** ICE servers for WebRTC; none on a LAN or loopback. */
	iceServers: RTCIceServer[];
	pageProtocol: string;
}

// Enough direct peers for a stage plus tree neighbours, far below what a phone can hold.
const MAX_CONNECTIONS = 64;

export async function createStanzaNode(options: NodeOptions): Promise<StanzaNode> {
	return createLibp2p({
		privateKey: options.privateKey,
		addresses: {
			// '/p2p-circuit' asks every connected relay for a reservation;
			// '/webrtc' accepts direct connections signaled through it.
			listen: ['/p2p-circuit', '/webrtc']
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
		connectionManager: { maxConnections: MAX_CONNECTIONS },
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
}
