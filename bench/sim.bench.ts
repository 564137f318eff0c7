/**
 * npm run bench:sim — the shipping room code (RoomSession: meeting, topic,
 * sync, keys) for rooms of n members in one process, on the in-memory
 * network (src/lib/net/in-memory-network.ts), real keys, signatures and
 * encryption, on a virtual clock (virtual-clock.ts): the members' timers,
 * beats and budgets run in virtual time, which passes only when the work
 * already due is done. So the figures are the protocol's, not this one CPU's
 * doing the work of a thousand members (with real timers, 200 members took
 * 62 s to all show each other, the time this process took to do their work;
 * on the virtual clock, 0.3 s). The in-memory network delivers at once:
 * virtual times count the protocol's own waits, not network latency.
 * Per size:
 * - joinMs: from the first member opening the room until every member shows
 *   every other present (members open it one after another, at the same
 *   virtual instant);
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
 * traffic per member should stay about flat as the room grows.
 * 1,000 members take about 75 minutes here (opening the room 36 s, the
 * answers to 1,000 joiners 5 min, then ~4 s of wall time per virtual second
 * for the 1,000 s of settling and window): 10,000 would take days in one
 * process.
 * Writes bench/results/sim.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { InMemoryNetwork } from '../src/lib/net/in-memory-network';
import { ROOM_TOPIC_PREFIX } from '../src/lib/room/room-topic-protocol';
import { makeRoom } from '../src/lib/room/test-peers';
import { directPeers, joinSession, leaveSession, notSettled, type SessionMember } from '../src/lib/room/test-sessions';
import { until, VirtualClock } from '../src/lib/net/virtual-clock';

const SIZES = (process.env.BENCH_SIM_SIZES ?? '100,1000').split(',').map(Number);
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
const wallNow = performance.now.bind(performance);

/** Lets virtual time pass in steps until `done`, giving real work (crypto, streams) its turns first; throws past `limitMs`. */
async function measure(n: number) {
	const network = new InMemoryNetwork();
	const { creator, peers, key } = await makeRoom(Array.from({ length: n - 1 }, (_, i) => `member${i}`));
	const clock = new VirtualClock();
	clock.install();
	const wall = wallNow();
	const started = clock.now;
	const progress = (what: string) => console.log(`n=${n}: ${what} (virtual ${Math.round((clock.now - started) / 1000)} s, wall ${Math.round((wallNow() - wall) / 1000)} s)`);
	// Lets `ms` pass in 10 s steps, saying where it is every 100 s (1,000 members take a while).
	const pass = async (ms: number, what: string) => {
		for (let done = 0; done < ms; done += 10_000) {
			await clock.advance(Math.min(10_000, ms - done));
			if ((done + 10_000) % 100_000 === 0) progress(`${what}: ${(done + 10_000) / 1000} of ${ms / 1000} s`);
		}
	};
	const members: SessionMember[] = [];
	try {
		for (const peer of [creator, ...peers]) members.push(await joinSession(network, peer, key));
		progress('all opened');
		const joinMs = await until(clock, () => notSettled(members) === null, 300_000, () => `n=${n}: everyone present`, 10);
		progress('everyone present');

		// Beats and announces set during the joins ran at the pace of a smaller room: the window opens once the
		// longest safety-net interval at this size (n / 2 s: topic-meeting.ts) has gone by.
		await pass(Math.ceil(n / 2) * 1000, 'waiting for the window');
		const degrees = members.map((m) => directPeers(m).size);
		network.bytesIn.clear();
		network.bytesByTopic.clear();
		await pass(windowMs(n), 'window');
		progress('window closed');
		const bytes = [...network.bytesIn.values()].reduce((a, b) => a + b, 0);
		const roomBytes = [...network.bytesByTopic].reduce((sum, [topic, b]) => sum + (topic.startsWith(ROOM_TOPIC_PREFIX) ? b : 0), 0);
		const roomTopicShare = share(roomBytes / bytes);
		const controlBytesPerMemberPerSec = bytes / n / (windowMs(n) / 1000);

		const converge: number[] = [];
		for (let i = 0; i < ACTS; i++) {
			const target = peers[i];
			const t0 = clock.now;
			await creator.room.addOp({ kind: 'makeModerator', target: target.id }, creator);
			await until(clock, () => members.every((m) => m.peer.room.view.moderators.has(target.id)), 60_000, () => `n=${n}: act ${i + 1} reaching every member`, 1);
			converge.push(clock.now - t0);
		}
		progress('done');
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
		clock.uninstall();
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
room simulation (shipping RoomSession on the in-memory network, virtual clock; one run per size):
${SIZES.map((n) => `  n=${String(n).padEnd(5)} connections max ${sizes[n].maxConnectionsPerMember} (goal ≤ 12), mean ${sizes[n].meanConnectionsPerMember}; control ${sizes[n].controlBytesPerMemberPerSec} B/s per member (${Math.round(sizes[n].roomTopicShare * 100)} % presence); converge ${sizes[n].convergeMs} virtual ms (median of ${ACTS}); join ${sizes[n].joinMs} virtual ms`).join('\n')}
  control bytes per member, n=${last} over n=${first}: ×${growth} (goal: flat, ×1)
wrote bench/results/sim.json`);
	expect(Object.keys(sizes)).toHaveLength(SIZES.length);
}, 10_800_000);
