/**
 * The rooms with audio open on one node. An inbound media link names its
 * room in its first (sealed) message, so one handler serves every room the
 * node has open: it asks the host for the room's key and decision.
 *
 * Made once per node by whoever made the node (app-state.svelte.ts) and
 * handed to each AudioRoom: no module keeps rooms of its own. It holds the
 * node's link transport (link-pipe.ts), for the links it serves and those its
 * rooms dial: WebRTC in the app, in-memory pipes in unit tests.
 */
import type { Connection, Stream } from '@libp2p/interface';
import { RoomDirectory } from '../net/room-directory';
import type { RoomCipher } from '../room/room-crypto';
import type { StanzaNode } from '../net/libp2p-node';
import type { LinkTransport } from './link-pipe';
import { serveLink, type MediaLink } from './media-link';
import { MEDIA_PROTOCOL, type AttachRequest } from './media-signal-protocol';
import { webrtcTransport } from './webrtc-pipe';

export type LinkDecision = { accept: true; role: 'child' | 'standby' | 'speaker' } | { accept: false; reason: 'full' | 'not-allowed' | 'no-audio' };

/** What a room with audio open here answers to a member's link request (audio-room.ts). */
export interface HostedAudio {
	readonly roomId: string;
	readonly iceServers: RTCIceServer[];
	cipherFor(): RoomCipher;
	decide(request: AttachRequest, remote: string): LinkDecision;
	adopt(link: MediaLink): void;
	abandon(remote: string): void;
}

export class AudioHost extends RoomDirectory<HostedAudio> {
	readonly transport: LinkTransport;

	constructor(node: StanzaNode, transport: LinkTransport = webrtcTransport) {
		super(node);
		this.transport = transport;
	}

	protected async register(find: (roomId: string) => HostedAudio | undefined): Promise<void> {
		await this.node.handle(
			MEDIA_PROTOCOL,
			async (stream: Stream, connection: Connection) => {
				const remote = connection.remotePeer.toString();
				let chosen: HostedAudio | undefined;
				let accepted = false;
				const result = await serveLink(
					stream,
					remote,
					{ lookupCipher: (roomId) => find(roomId)?.cipherFor() ?? null, iceServers: (roomId) => find(roomId)?.iceServers ?? [], transport: this.transport },
					(roomId, request) => {
						chosen = find(roomId);
						const decision = chosen ? chosen.decide(request, remote) : ({ accept: false, reason: 'no-audio' } as const);
						accepted = decision.accept;
						return decision;
					}
				);
				if (result) chosen?.adopt(result.link);
				// Only a request that was accepted holds anything: a refused one (a second set-up while the first is
				// under way) must not free the first one's hold.
				else if (accepted) chosen?.abandon(remote);
			},
			{ maxInboundStreams: 16, runOnLimitedConnection: false }
		);
	}
}
