/**
 * npm run bench:room — what authority and sync cost.
 *
 * - signedOpsVerifiedPerSec: room ops parsed and signature-checked per second
 *   (verifyOp, the work every peer does for every record it receives).
 * - docBytesAfterChurn: the stored document after 10,000 joins/leaves and
 *   1,000 hand-raises, every tenth of which became an invite, an accept and a
 *   move back to the audience (300 ops). Goal ≤ 200 KB, and presence churn
 *   must not grow it at all.
 * - catchUpMs: a new joiner of that room syncing over a real libp2p
 *   connection (WebSocket on 127.0.0.1, noise, yamux) until it shows the room.
 *   Goal ≤ 300 ms.
 * Writes bench/results/room.json. Medians over repeated runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { noise } from '@libp2p/noise';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { createLibp2p } from 'libp2p';
import { expect, it } from 'vitest';
import * as Y from 'yjs';
import { PresenceTable } from '../src/lib/room/presence';
import { RoomCipher } from '../src/lib/room/room-crypto';
import { RoomDoc } from '../src/lib/room/room-doc';
import { verifyOp } from '../src/lib/room/room-op-codec';
import { ROOM_SYNC_PROTOCOL, serveSync, syncAsDialer } from '../src/lib/room/room-sync-protocol';
import { makeIdentity, makeRoom } from '../src/lib/room/test-peers';

const GOALS = { docBytesAfterChurn: 200_000, catchUpMs: 300 };
const median = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

it('measures room authority and catch-up', async () => {
	// —— a room with history ——
	const { creator, roomId, key } = await makeRoom([]);
	const presence = new PresenceTable();
	const listeners = await Promise.all(Array.from({ length: 50 }, () => makeIdentity()));
	let seq = 1;
	for (let i = 0; i < 10_000; i++) {
		const who = listeners[i % listeners.length].peerId.toString();
		presence.present(who, seq++, { name: `listener ${i}`, hand: null, muted: false }, i);
		presence.leave(who, seq++, i);
	}
	for (let i = 0; i < 1_000; i++) {
		const listener = listeners[i % listeners.length];
		const who = listener.peerId.toString();
		presence.present(who, seq++, { name: 'x', hand: i, muted: false }, i);
		if (i % 10 === 0) {
			await creator.room.addOp({ kind: 'invite', target: who }, creator);
			await new RoomDocWriter(creator.room).as(listener).accept();
			await creator.room.addOp({ kind: 'moveToAudience', target: who }, creator);
		}
		presence.present(who, seq++, { name: 'x', hand: null, muted: false }, i);
	}
	const history = Y.encodeStateAsUpdate(creator.room.doc);
	const docBytesAfterChurn = history.length;
	const opCount = creator.room.ops.size;

	// —— verification throughput ——
	const opBytes = [...creator.room.ops.values()].map((o) => o.bytes);
	const rates: number[] = [];
	for (let run = 0; run < 5; run++) {
		const started = performance.now();
		for (const bytes of opBytes) await verifyOp(bytes, roomId);
		rates.push(opBytes.length / ((performance.now() - started) / 1000));
	}

	// —— catch-up over a real libp2p connection on loopback ——
	const member = await node();
	const cipher = await RoomCipher.create(roomId, key);
	await member.handle(ROOM_SYNC_PROTOCOL, (stream, connection) =>
		serveSync(stream, connection.remotePeer.toString(), () => ({ room: creator.room, cipher }), 10_000)
	);
	await member.start();
	const catchUps: number[] = [];
	for (let run = 0; run < 10; run++) {
		const joiner = await node();
		await joiner.start();
		const room = new RoomDoc(roomId, key);
		const started = performance.now();
		const stream = await joiner.dialProtocol(member.getMultiaddrs()[0], ROOM_SYNC_PROTOCOL);
		await syncAsDialer(stream, { room, cipher: await RoomCipher.create(roomId, key) }, AbortSignal.timeout(10_000));
		catchUps.push(performance.now() - started);
		expect(room.ops.size).toBe(opCount);
		await joiner.stop();
	}
	await member.stop();

	const results = {
		signedOpsVerifiedPerSec: Math.round(median(rates)),
		docBytesAfterChurn,
		opsInDoc: opCount,
		catchUpMs: Math.round(median(catchUps)),
		goals: GOALS,
		ratios: {
			docBytesToGoal: +(docBytesAfterChurn / GOALS.docBytesAfterChurn).toFixed(3),
			catchUpToGoal: +(median(catchUps) / GOALS.catchUpMs).toFixed(2)
		},
		samples: { verifiedPerSec: rates.map(Math.round), catchUpMs: catchUps.map((x) => +x.toFixed(1)) },
		measuredAt: new Date().toISOString(),
		node: process.version
	};
	mkdirSync('bench/results', { recursive: true });
	writeFileSync('bench/results/room.json', JSON.stringify(results, null, 2) + '\n');
	console.log(`
room benchmark (medians):
  signedOpsVerifiedPerSec  ${results.signedOpsVerifiedPerSec}
  docBytesAfterChurn       ${docBytesAfterChurn} bytes, ${opCount} ops   (goal ≤ ${GOALS.docBytesAfterChurn}, ratio ${results.ratios.docBytesToGoal})
  catchUpMs                ${results.catchUpMs}   (goal ≤ ${GOALS.catchUpMs}, ratio ${results.ratios.catchUpToGoal})
wrote bench/results/room.json`);
	expect(results.signedOpsVerifiedPerSec).toBeGreaterThan(0);
}, 600_000);

/** Signs an accept for the pending invitation of `who`, the way its own app would. */
class RoomDocWriter {
	constructor(private readonly room: RoomDoc) {}
	as(who: Awaited<ReturnType<typeof makeIdentity>>) {
		return {
			accept: async () => {
				const invitation = this.room.view.invitations.get(who.peerId.toString());
				if (invitation) await this.room.addOp({ kind: 'accept', invitation: invitation.id }, who);
			}
		};
	}
}

function node() {
	return createLibp2p({
		addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
		transports: [webSockets()],
		connectionEncrypters: [noise()],
		streamMuxers: [yamux()],
		// Ten joiners from 127.0.0.1 within a second would trip the default per-host rate limit (5/s).
		connectionManager: { inboundConnectionThreshold: 100 },
		start: false
	});
}
