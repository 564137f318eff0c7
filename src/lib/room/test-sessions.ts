/**
 * Room sessions on the in-memory network, for unit tests and bench:sim: the
 * shipping RoomSession (meeting, topic, sync and key protocols) with real
 * keys and signatures, one InMemoryNode each (net/in-memory-network.ts).
 */
import { expect, vi } from 'vitest';
import { isDirectConnection } from '../net/connection-kind';
import type { InMemoryNetwork, InMemoryNode } from '../net/in-memory-network';
import { StrangerGuard, type StrangerLimits } from '../net/stranger-guard';
import { RoomKeys } from './room-keys';
import { RoomHost } from './room-host';
import { RoomSession } from './room-session';
import type { TestPeer } from './test-peers';

export interface SessionMember {
	peer: TestPeer;
	node: InMemoryNode;
	session: RoomSession;
	keys: RoomKeys;
	/** The peers the node's guard against strangers (when asked for) sent away, in order. */
	sentAway: string[];
	stopGuard(): void;
}

export interface SessionOptions {
	honestOut?: boolean;
	onTurnedAway?: (turnedAway: boolean) => void;
	/** How long a moderator lacks the current key before it takes it for lost (room-session.ts REKEY_AFTER_MS). */
	rekeyAfterMs?: number;
	/** Runs a guard against strangers on the node with these limits, vouched for by the room as in the app. */
	strangers?: StrangerLimits;
}

/**
 * `peer` opens the room on a node of its own. `honestOut`: it does what the room screen does
 * (room-state.svelte.ts) when put out: goes quiet and watches for a readmission; without it, it
 * behaves like modified code that stays.
 */
export async function joinSession(network: InMemoryNetwork, peer: TestPeer, key: Uint8Array, options: SessionOptions = {}): Promise<SessionMember> {
	const node = await network.node(peer.privateKey);
	const keys = await RoomKeys.create(peer.room.roomId, key);
	const host = new RoomHost(node.asNode);
	const sentAway: string[] = [];
	const guard = options.strangers ? new StrangerGuard(node, (peerId) => host.knows(peerId), options.strangers, (peerId) => sentAway.push(peerId)) : undefined;
	guard?.start();
	const session = new RoomSession(host, peer.room, keys, { peerId: peer.peerId, privateKey: peer.privateKey, name: () => peer.name }, { onPresence: () => {}, onTurnedAway: options.onTurnedAway }, { rekeyAfterMs: options.rekeyAfterMs });
	const isOut = () => peer.room.view.removed.has(peer.id) || peer.room.view.banned.has(peer.id);
	if (options.honestOut) peer.room.subscribe(() => session.setOut(isOut()));
	await session.start({ out: isOut() });
	return { peer, node, session, keys, sentAway, stopGuard: () => guard?.stop() };
}

/** Leaves quietly and takes the node down. */
export async function leaveSession(member: SessionMember): Promise<void> {
	member.stopGuard();
	await member.session.stop();
	member.node.stop();
}

/** What keeps the room from being settled (everyone has the room and shows everyone else present), or null. */
export function notSettled(members: SessionMember[]): string | null {
	for (const m of members) {
		if (!m.peer.room.view.exists) return `${m.peer.name} does not have the room`;
		for (const other of members) if (other !== m && !m.session.presence.members.has(other.peer.id)) return `${m.peer.name} does not show ${other.peer.name}`;
	}
	return null;
}

/** Waits until everyone has the room and shows everyone else present. */
export async function settled(members: SessionMember[], wait: { timeout: number; interval: number }): Promise<void> {
	await vi.waitFor(() => expect(notSettled(members)).toBeNull(), wait);
}

/** The members a member holds a direct connection to (a joiner's first catch-up through the relay's circuit is not one). */
export function directPeers(member: SessionMember): Set<string> {
	return new Set(member.node.connections.filter((c) => c.status === 'open' && isDirectConnection(c.remoteAddr.toString())).map((c) => c.remotePeer.toString()));
}
