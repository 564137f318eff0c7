/**
 * The rooms open on one node. Each inbound sync, key or picture stream
 * names its room in its first message, so one handler per protocol serves
 * every room the node has open: it asks the host for the room's party.
 *
 * Made once per node by whoever made the node (app-state.svelte.ts for the
 * app, test-sessions.ts for the in-memory rooms) and handed to each
 * RoomSession: no module keeps rooms of its own.
 */
import type { Connection, Stream } from '@libp2p/interface';
import { RoomDirectory } from '../net/room-directory';
import { ROOM_KEY_PROTOCOL, serveKey, type KeyParty } from './room-key-protocol';
import { ROOM_SYNC_PROTOCOL, serveSync, type SyncParty } from './room-sync-protocol';
import { PICTURE_PROTOCOL, servePicture } from './picture-protocol';

// A sync that has not finished in 10 s is stuck; the next trigger tries again.
export const SYNC_TIMEOUT_MS = 10_000;
export const KEY_TIMEOUT_MS = 3_000;
export const PICTURE_TIMEOUT_MS = 5_000;

/** What a room open here answers to a member's stream (room-session.ts). */
export interface HostedRoom {
	readonly roomId: string;
	syncPartyFor(remotePeer: string): SyncParty | 'refused';
	keyPartyFor(remotePeer: string): KeyParty | null;
	pictureFor(remotePeer: string, digest: string): Uint8Array | null;
	/** Whether the room vouches for a peer connected to us (net/stranger-guard.ts). */
	knows(remotePeer: string): boolean;
}

export class RoomHost extends RoomDirectory<HostedRoom> {
	/** Whether any room open here vouches for `remotePeer`: a connection to it is no stranger's. */
	knows(remotePeer: string): boolean {
		return this.some((room) => room.knows(remotePeer));
	}

	protected async register(find: (roomId: string) => HostedRoom | undefined): Promise<void> {
		await this.node.handle(
			ROOM_KEY_PROTOCOL,
			(stream: Stream, connection: Connection) =>
				serveKey(stream, connection.remotePeer.toString(), (roomId, remote) => find(roomId)?.keyPartyFor(remote) ?? null, KEY_TIMEOUT_MS),
			{ maxInboundStreams: 8, runOnLimitedConnection: true }
		);
		await this.node.handle(
			PICTURE_PROTOCOL,
			(stream: Stream, connection: Connection) =>
				servePicture(stream, connection.remotePeer.toString(), (roomId, remote, digest) => find(roomId)?.pictureFor(remote, digest) ?? null, PICTURE_TIMEOUT_MS),
			{ maxInboundStreams: 2, runOnLimitedConnection: true }
		);
		await this.node.handle(
			ROOM_SYNC_PROTOCOL,
			(stream: Stream, connection: Connection) =>
				serveSync(stream, connection.remotePeer.toString(), (roomId, remote) => find(roomId)?.syncPartyFor(remote) ?? null, SYNC_TIMEOUT_MS),
			// runOnLimitedConnection: a joiner's first catch-up may come through the relay (room-session.ts #catchUpThroughRelay).
			{ maxInboundStreams: 8, runOnLimitedConnection: true }
		);
	}
}
