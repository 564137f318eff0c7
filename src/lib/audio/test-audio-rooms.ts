/**
 * Rooms with audio on the in-memory network, for unit tests: each member runs
 * the shipping RoomSession (test-sessions.ts) and the shipping AudioRoom, its
 * links in-memory pipes (memory-links.ts), its microphone a frame source and
 * its speakers a playout counter (memory-audio.ts). Run on the virtual clock
 * (net/virtual-clock.ts), a room of hundreds keeps its own timers' pace.
 */
import { Trace } from '../diagnostics/trace';
import type { InMemoryNetwork } from '../net/in-memory-network';
import type { StrangerLimits } from '../net/stranger-guard';
import { joinSession, leaveSession, type SessionMember } from '../room/test-sessions';
import type { TestPeer } from '../room/test-peers';
import { AudioHost } from './audio-host';
import type { OpenVoiceSource } from './audio-ports';
import { AudioRoom } from './audio-room';
import { frameSource, PlayoutSink, SilentStage } from './memory-audio';
import type { MemoryLinks } from './memory-links';

export interface AudioMember extends SessionMember {
	audio: AudioRoom;
	sink: PlayoutSink;
	/** This member's audio events (the page's trace would mix every member's). */
	trace: Trace;
}

/** `peer` opens the room with audio, `capacity` children at most; its microphone a `frameSource` unless another is given. */
export async function joinAudio(
	network: InMemoryNetwork,
	links: MemoryLinks,
	peer: TestPeer,
	key: Uint8Array,
	capacity: number,
	microphone: OpenVoiceSource = frameSource(),
	options: { tagOf?: (peerId: string) => number; strangers?: StrangerLimits } = {}
): Promise<AudioMember> {
	const member = await joinSession(network, peer, key, { strangers: options.strangers });
	const sink = new PlayoutSink();
	const trace = new Trace();
	const host = new AudioHost(member.node.asNode, links.transport(peer.id));
	const audio = new AudioRoom(
		member.session,
		sink,
		{ host, capacity, iceServers: [], stage: new SilentStage(), openMicrophone: microphone, tagOf: options.tagOf, trace: (event, detail) => trace.add(performance.now(), event, detail) },
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
