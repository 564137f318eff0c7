/**
 * Rooms with audio on the in-memory network, for unit tests: each member runs
 * the shipping RoomSession (test-sessions.ts) and the shipping AudioRoom, its
 * links in-memory pipes (memory-links.ts), its microphone a frame source and
 * its speakers a playout counter (memory-audio.ts). Run on the virtual clock
 * (net/virtual-clock.ts), a room of hundreds keeps its own timers' pace.
 */
import { Trace } from '../diagnostics/trace';
import type { InMemoryNetwork } from '../net/in-memory-network';
import type { VirtualClock } from '../net/virtual-clock';
import { joinSession, leaveSession, type SessionMember } from '../room/test-sessions';
import type { TestPeer } from '../room/test-peers';
import { AudioHost } from './audio-host';
import { AudioRoom } from './audio-room';
import { frameSource, PlayoutSink, SilentStage } from './memory-audio';
import type { MemoryLinks } from './memory-links';

export interface AudioMember extends SessionMember {
	audio: AudioRoom;
	sink: PlayoutSink;
	/** This member's audio events (the page's trace would mix every member's). */
	trace: Trace;
}

/** `peer` opens the room with audio, `capacity` children at most. */
export async function joinAudio(network: InMemoryNetwork, links: MemoryLinks, peer: TestPeer, key: Uint8Array, capacity: number): Promise<AudioMember> {
	const member = await joinSession(network, peer, key);
	const sink = new PlayoutSink();
	const trace = new Trace();
	const host = new AudioHost(member.node.asNode, links.transport(peer.id));
	const audio = new AudioRoom(
		member.session,
		sink,
		{ host, capacity, iceServers: [], stage: new SilentStage(), openMicrophone: frameSource(), trace: (event, detail) => trace.add(performance.now(), event, detail) },
		{ onChange: () => {}, onLevels: () => {} }
	);
	await audio.start();
	return { ...member, audio, sink, trace };
}

/** Leaves as a closing page does: goodbye on every link, then gone. */
export async function leaveAudio(member: AudioMember): Promise<void> {
	member.audio.hangUp();
	await member.audio.stop();
	await leaveSession(member);
}

/** Whether `member` played a frame of `speaker` within the last `withinMs`. */
export function hears(member: AudioMember, speaker: string, withinMs = 200): boolean {
	return performance.now() - member.sink.counts(speaker).lastPlayedAt <= withinMs;
}

/** Lets virtual time pass in steps until `done`, giving real work (crypto, streams) its turns first; throws past `limitMs` with `why()`. */
export async function until(clock: VirtualClock, done: () => boolean, limitMs: number, why: () => string, stepMs = 10): Promise<number> {
	const t0 = clock.now;
	while (!done()) {
		for (let turn = 0; turn < 20 && !done(); turn++) await clock.advance(0);
		if (done()) break;
		if (clock.now - t0 > limitMs) throw new Error(`not after ${limitMs} virtual ms: ${why()}`);
		await clock.advance(stepMs);
	}
	return clock.now - t0;
}

/** Lets `ms` of virtual time pass in steps, giving real work its turns before each. */
export async function pass(clock: VirtualClock, ms: number, stepMs = 10): Promise<void> {
	const end = clock.now + ms;
	while (clock.now < end) {
		for (let turn = 0; turn < 20; turn++) await clock.advance(0);
		await clock.advance(Math.min(stepMs, end - clock.now));
	}
}
