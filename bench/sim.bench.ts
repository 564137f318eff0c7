/**
 * npm run bench:sim — the shipping room code (RoomSession: meeting, topic,
 * sync, keys) for rooms of n members in one process, on the in-memory
 * network (src/lib/net/in-memory-network.ts), real keys, signatures and
 * encryption, real timers. Per size:
 * - joinMs: from the first member opening the room until every member shows
 *   every other present (members open it one after another; past 24
 *   listeners a joiner hears most listeners at their next beat, which comes
 *   less often the larger the room);
 * - maxConnectionsPerMember / meanConnectionsPerMember: direct connections
 *   held, once the room settled;
 * - controlBytesPerMemberPerSec: topic bytes received per member per second
 *   over a quiet window of max(60, n / 2) s, opened n / 2 s after the last join (presence
 *   beats, meet announces); sync streams
 *   are not counted; roomTopicShare: the part of it on the room's topic
 *   (presence), the rest being meet announces;
 * - convergeMs: a moderator's act (five, one after another) until every
 *   member's verified state shows it; median.
 * Listeners' presence beats and members' safety-net announces share fixed
 * budgets for the whole room (presence.ts, topic-meeting.ts), so control
 * traffic per member should stay about flat as the room grows. Sizes past a
 * few hundred do not fit one process.
 * Writes bench/results/sim.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { InMemoryNetwork } from '../src/lib/net/in-memory-network';
import { ROOM_TOPIC_PREFIX } from '../src/lib/room/room-topic-protocol';
import { makeRoom } from '../src/lib/room/test-peers';
import { directPeers, joinSession, leaveSession, settled, type SessionMember } from '../src/lib/room/test-sessions';

const SIZES = (process.env.BENCH_SIM_SIZES ?? '25,100,200').split(',').map(Number);
// At least the longest safety-net interval at the size (n / 2 s), or a burst of beats that joins left
// in step would weigh more or less than its share depending on where the window falls.
const windowMs = (n: number) => Math.max(60_000, Math.ceil(n / 2) * 1000);
const ACTS = 5;

const median = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number) => Math.round(x * 10) / 10;
const share = (x: number) => Math.round(x * 100) / 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(n: number) {
	const network = new InMemoryNetwork();
	const { creator, peers, key } = await makeRoom(Array.from({ length: n - 1 }, (_, i) => `member${i}`));
	const started = performance.now();
	const members: SessionMember[] = [];
	try {
		for (const peer of [creator, ...peers]) members.push(await joinSession(network, peer, key));
		await settled(members, { timeout: 300_000, interval: 100 });
		const joinMs = performance.now() - started;

		// Beats and announces set during the joins ran at the pace of a smaller room: the window opens once the
		// longest safety-net interval at this size (n / 2 s: topic-meeting.ts) has gone by.
		await sleep(Math.ceil(n / 2) * 1000);
		const degrees = members.map((m) => directPeers(m).size);
		network.bytesIn.clear();
		network.bytesByTopic.clear();
		await sleep(windowMs(n));
		const bytes = [...network.bytesIn.values()].reduce((a, b) => a + b, 0);
		const roomBytes = [...network.bytesByTopic].reduce((sum, [topic, b]) => sum + (topic.startsWith(ROOM_TOPIC_PREFIX) ? b : 0), 0);
		const roomTopicShare = share(roomBytes / bytes);
		const controlBytesPerMemberPerSec = bytes / n / (windowMs(n) / 1000);

		const converge: number[] = [];
		for (let i = 0; i < ACTS; i++) {
			const target = peers[i];
			const t0 = performance.now();
			await creator.room.addOp({ kind: 'makeModerator', target: target.id }, creator);
			while (!members.every((m) => m.peer.room.view.moderators.has(target.id))) {
				if (performance.now() - t0 > 60_000) throw new Error(`n=${n}: act ${i + 1} had not reached every member after 60 s`);
				await sleep(2);
			}
			converge.push(performance.now() - t0);
		}
		return {
			joinMs: Math.round(joinMs),
			maxConnectionsPerMember: Math.max(...degrees),
			meanConnectionsPerMember: round(degrees.reduce((a, b) => a + b) / n),
			controlBytesPerMemberPerSec: Math.round(controlBytesPerMemberPerSec),
			roomTopicShare,
			convergeMs: round(median(converge))
		};
	} finally {
		for (const m of members) await leaveSession(m);
	}
}

it('simulates rooms with the shipping session', async () => {
	const sizes: Record<string, Awaited<ReturnType<typeof measure>>> = {};
	for (const n of SIZES) {
		sizes[n] = await measure(n);
		console.log(`n=${n}`, JSON.stringify(sizes[n]));
	}
	const [first, last] = [SIZES[0], SIZES.at(-1)!];
	const growth = round(sizes[last].controlBytesPerMemberPerSec / sizes[first].controlBytesPerMemberPerSec);
	const results = { sizes, controlBytesGrowth: { from: first, to: last, ratio: growth }, windowMs: Object.fromEntries(SIZES.map((n) => [n, windowMs(n)])), measuredAt: new Date().toISOString() };
	mkdirSync('bench/results', { recursive: true });
	writeFileSync('bench/results/sim.json', JSON.stringify(results, null, 2) + '\n');
	console.log(`
room simulation (shipping RoomSession on the in-memory network; one run per size):
${SIZES.map((n) => `  n=${String(n).padEnd(5)} connections max ${sizes[n].maxConnectionsPerMember} (goal ≤ 12), mean ${sizes[n].meanConnectionsPerMember}; control ${sizes[n].controlBytesPerMemberPerSec} B/s per member (${Math.round(sizes[n].roomTopicShare * 100)} % presence); converge ${sizes[n].convergeMs} ms (median of ${ACTS}); join ${sizes[n].joinMs} ms`).join('\n')}
  control bytes per member, n=${last} over n=${first}: ×${growth} (goal: flat, ×1)
wrote bench/results/sim.json`);
	expect(Object.keys(sizes)).toHaveLength(SIZES.length);
});
