/**
 * The WebRTC pipe's setup against a far end that may run code of its own,
 * over a small stand-in for RTCPeerConnection (installed on globalThis for
 * each test): two fake peer connections "connect" once each has the other's
 * description and one of the other's candidates, and nothing else ever does,
 * so a far end sending candidates of its own choosing never opens the link.
 * The signalling port is in memory, every message through the wire codec.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PendingPipe, SignalPort } from './link-pipe';
import { decodeSignal, encodeSignal, MAX_REMOTE_CANDIDATES, SignalError, type SignalMessage } from './media-signal-protocol';
import { webrtcTransport } from './webrtc-pipe';

class FakeChannel extends EventTarget {
	readyState: RTCDataChannelState = 'connecting';
	binaryType: BinaryType = 'blob';
	readonly bufferedAmount = 0;
	onopen: (() => void) | null = null;
	onclose: (() => void) | null = null;
	onmessage: ((event: MessageEvent) => void) | null = null;

	constructor(
		readonly label: string,
		readonly init: RTCDataChannelInit = {}
	) {
		super();
	}

	open(): void {
		if (this.readyState !== 'connecting') return;
		this.readyState = 'open';
		this.onopen?.();
		this.dispatchEvent(new Event('open'));
	}

	close(): void {
		if (this.readyState === 'closed') return;
		this.readyState = 'closed';
		this.onclose?.();
		this.dispatchEvent(new Event('close'));
	}

	send(): void {}
}

interface FakeTransceiver {
	direction: RTCRtpTransceiverDirection;
	receiver: { track: { kind: string } };
	sender: { track: null; replaceTrack(): Promise<void> };
}

const transceiver = (direction: RTCRtpTransceiverDirection): FakeTransceiver => ({
	direction,
	receiver: { track: { kind: 'audio' } },
	sender: { track: null, replaceTrack: async () => {} }
});

type CandidateEvent = { candidate: { toJSON(): RTCIceCandidateInit } | null };

/** Just enough of RTCPeerConnection for webrtc-pipe.ts, writing Chromium's description shape. */
class FakePc {
	static made: FakePc[] = [];
	/** Candidates each fake gathers before its real one (an honest end on a machine with many addresses). */
	static decoys = 0;
	readonly id = FakePc.made.length + 1;
	readonly channels: FakeChannel[] = [];
	readonly transceivers: FakeTransceiver[] = [];
	readonly remoteDescriptions: RTCSessionDescriptionInit[] = [];
	readonly remoteCandidates: RTCIceCandidateInit[] = [];
	localDescription: RTCSessionDescriptionInit | null = null;
	connectionState: RTCPeerConnectionState = 'new';
	closed = false;
	onicecandidate: ((event: CandidateEvent) => void) | null = null;
	ondatachannel: ((event: { channel: FakeChannel }) => void) | null = null;
	onconnectionstatechange: (() => void) | null = null;
	ontrack: (() => void) | null = null;

	constructor(readonly config: RTCConfiguration) {
		FakePc.made.push(this);
	}

	/** The one candidate another fake can reach this one at. */
	get candidate(): string {
		return `candidate:${this.id} 1 udp 2113937151 10.0.0.${this.id} 5000${this.id} typ host generation 0`;
	}

	createDataChannel(label: string, init: RTCDataChannelInit): FakeChannel {
		const channel = new FakeChannel(label, init);
		this.channels.push(channel);
		return channel;
	}

	addTransceiver(_kind: 'audio', init: RTCRtpTransceiverInit): FakeTransceiver {
		const t = transceiver(init.direction ?? 'sendrecv');
		this.transceivers.push(t);
		return t;
	}

	getTransceivers(): FakeTransceiver[] {
		return this.transceivers;
	}

	async createOffer(): Promise<RTCSessionDescriptionInit> {
		return { type: 'offer', sdp: chromiumSdp(this.transceivers.length > 0, 'actpass') };
	}

	async createAnswer(): Promise<RTCSessionDescriptionInit> {
		return { type: 'answer', sdp: chromiumSdp(this.transceivers.length > 0, 'active') };
	}

	async setLocalDescription(description: RTCSessionDescriptionInit): Promise<void> {
		this.localDescription = description;
		// Gathering goes on in tasks of its own, after the description is set.
		setTimeout(() => {
			const sdpMid = '0';
			const lines = [...Array.from({ length: FakePc.decoys }, (_, i) => `candidate:${i + 100} 1 udp 2113937151 192.0.2.${i + 1} 4000 typ host`), this.candidate];
			for (const candidate of lines) {
				if (!this.closed) this.onicecandidate?.({ candidate: { toJSON: () => ({ candidate, sdpMid, sdpMLineIndex: 0 }) } });
			}
			if (!this.closed) this.onicecandidate?.({ candidate: null });
		}, 0);
	}

	async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
		this.remoteDescriptions.push(description);
		if (description.type === 'offer' && description.sdp?.includes('\r\nm=audio')) this.transceivers.push(transceiver('recvonly'));
	}

	async addIceCandidate(candidate: RTCIceCandidateInit): Promise<void> {
		this.remoteCandidates.push(candidate);
		const reachable = FakePc.made.some((pc) => pc !== this && pc.candidate === candidate.candidate);
		if (reachable && this.remoteDescriptions.length > 0 && !this.closed) queueMicrotask(() => this.channels[0]?.open());
	}

	close(): void {
		this.closed = true;
		this.connectionState = 'closed';
	}
}

/** A description of the shape Chromium writes for a link: the voice (stage links) first, then the data channel. */
function chromiumSdp(voice: boolean, setup: 'actpass' | 'active', extra: string[] = []): string {
	const audio = ['m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126', 'c=IN IP4 0.0.0.0', `a=setup:${setup}`, 'a=mid:0', 'a=sendrecv', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1'];
	const mid = voice ? 1 : 0;
	const data = ['m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', `a=setup:${setup}`, `a=mid:${mid}`, 'a=sctp-port:5000', 'a=max-message-size:262144'];
	const mids = [...(voice ? ['0'] : []), String(mid), ...extra.filter((l) => l.startsWith('a=mid:')).map((l) => l.slice(6))];
	return [
		'v=0',
		'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
		's=-',
		't=0 0',
		`a=group:BUNDLE ${mids.join(' ')}`,
		'a=msid-semantic: WMS',
		...(voice ? audio : []),
		...data,
		...extra,
		''
	].join('\r\n');
}

const VIDEO = ['m=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:7', 'a=sendrecv', 'a=rtpmap:96 VP8/90000'];
const SECOND_DATA = ['m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=mid:7', 'a=sctp-port:5001'];

/** One end of an in-memory signalling stream. */
interface TestPort extends SignalPort {
	/** This end is done: the other's receive() fails once it has read what was sent. */
	close(): void;
}

function portPair(): [TestPort, TestPort] {
	const make = () => ({ inbox: [] as SignalMessage[], waiting: [] as { resolve: (m: SignalMessage) => void; reject: (e: Error) => void }[], ended: false });
	const sides = [make(), make()];
	const signal = new AbortController().signal;
	const port = (mine: (typeof sides)[0], theirs: (typeof sides)[0]): TestPort => ({
		signal,
		async send(message) {
			if (theirs.ended) throw new Error('signalling stream closed');
			const copy = decodeSignal(encodeSignal(message));
			const waiter = theirs.waiting.shift();
			if (waiter) waiter.resolve(copy);
			else theirs.inbox.push(copy);
		},
		receive() {
			const next = mine.inbox.shift();
			if (next) return Promise.resolve(next);
			if (mine.ended) return Promise.reject(new Error('signalling stream ended'));
			return new Promise((resolve, reject) => mine.waiting.push({ resolve, reject }));
		},
		close() {
			theirs.ended = true;
			for (const w of theirs.waiting.splice(0)) w.reject(new Error('signalling stream ended'));
		}
	});
	return [port(sides[0], sides[1]), port(sides[1], sides[0])];
}

/** The next message of type `t`, skipping the trickled candidates before it. */
async function next(port: SignalPort, t: SignalMessage['t']): Promise<SignalMessage> {
	for (;;) {
		const message = await port.receive();
		if (message.t === t) return message;
	}
}

/** What a setup settled as: null when it resolved. */
const outcome = (setup: Promise<void>): Promise<unknown> =>
	setup.then(
		() => null,
		(err: unknown) => err
	);

const hostile = (i: number): SignalMessage => ({ t: 'ice', candidate: { candidate: `candidate:${i} 1 udp 2122260223 198.51.100.${i} 9 typ host`, sdpMid: '0', sdpMLineIndex: 0 } });

describe('the WebRTC pipe’s setup', () => {
	const ports: TestPort[] = [];
	const pair = () => {
		const made = portPair();
		ports.push(...made);
		return made;
	};

	beforeEach(() => {
		FakePc.made = [];
		FakePc.decoys = 0;
		vi.stubGlobal('RTCPeerConnection', FakePc);
	});

	afterEach(() => {
		// Ends the reading loops still waiting on a port.
		for (const port of ports.splice(0)) port.close();
		vi.unstubAllGlobals();
	});

	/** Two pipes linked up the honest way; resolves with both once open. */
	async function connect(voice: boolean): Promise<{ dialer: PendingPipe; server: PendingPipe }> {
		const [a, b] = pair();
		const dialer = webrtcTransport.create({ voice, iceServers: [] });
		const server = webrtcTransport.create({ voice, iceServers: [] });
		await Promise.all([dialer.offer(a), server.answer(b)]);
		return { dialer, server };
	}

	it.each([false, true])('links two honest ends (stage link: %s)', async (voice) => {
		const { dialer, server } = await connect(voice);
		expect(dialer.pipe.open).toBe(true);
		expect(server.pipe.open).toBe(true);
		const [dialerPc, serverPc] = FakePc.made;
		expect(dialerPc.config.bundlePolicy).toBe('max-bundle');
		expect(serverPc.remoteDescriptions.map((d) => d.type)).toEqual(['offer']);
		expect(dialerPc.remoteDescriptions.map((d) => d.type)).toEqual(['answer']);
		expect(dialerPc.remoteDescriptions[0].sdp!.includes('a=ptime:10')).toBe(voice);
		expect(serverPc.transceivers.map((t) => t.direction)).toEqual(voice ? ['sendrecv'] : []);
		expect(dialerPc.closed || serverPc.closed).toBe(false);
	});

	it(`links an honest end that sends ${MAX_REMOTE_CANDIDATES} candidates, its real one last`, async () => {
		FakePc.decoys = MAX_REMOTE_CANDIDATES - 1;
		const { dialer, server } = await connect(true);
		expect(dialer.pipe.open && server.pipe.open).toBe(true);
		expect(FakePc.made.map((pc) => pc.remoteCandidates.length)).toEqual([MAX_REMOTE_CANDIDATES, MAX_REMOTE_CANDIDATES]);
	});

	it.each(['answer', 'offer'] as const)(`fails the setup at candidate ${MAX_REMOTE_CANDIDATES + 1} when it is the one to %s, and closes the connection`, async (role) => {
		const [mine, far] = pair();
		const pending = webrtcTransport.create({ voice: false, iceServers: [] });
		const settled = outcome(role === 'answer' ? pending.answer(mine) : pending.offer(mine));
		if (role === 'answer') {
			await far.send({ t: 'offer', sdp: chromiumSdp(false, 'actpass') });
			await next(far, 'answer');
		} else {
			await next(far, 'offer');
			await far.send({ t: 'answer', sdp: chromiumSdp(false, 'active') });
		}
		for (let i = 1; i <= MAX_REMOTE_CANDIDATES + 1; i++) await far.send(hostile(i));
		far.close();

		const err = await settled;
		expect(err).toBeInstanceOf(SignalError);
		expect((err as Error).message).toBe(`the far end sent more than ${MAX_REMOTE_CANDIDATES} ICE candidates`);
		const [pc] = FakePc.made;
		expect(pc.remoteCandidates).toHaveLength(MAX_REMOTE_CANDIDATES);
		expect(pc.closed).toBe(true);
		expect(pending.pipe.open).toBe(false);
	});

	it.each(['answer', 'offer'] as const)('counts the candidates written into the description it is sent when it is the one to %s', async (role) => {
		const inSdp = MAX_REMOTE_CANDIDATES - 2;
		const sdp = withCandidates(chromiumSdp(false, role === 'answer' ? 'actpass' : 'active'), inSdp);
		const [mine, far] = pair();
		const pending = webrtcTransport.create({ voice: false, iceServers: [] });
		const settled = outcome(role === 'answer' ? pending.answer(mine) : pending.offer(mine));
		if (role === 'answer') {
			await far.send({ t: 'offer', sdp });
			await next(far, 'answer');
		} else {
			await next(far, 'offer');
			await far.send({ t: 'answer', sdp });
		}
		for (let i = 1; i <= 3; i++) await far.send(hostile(i));
		far.close();

		const err = await settled;
		expect(err).toBeInstanceOf(SignalError);
		expect((err as Error).message).toBe(`the far end sent more than ${MAX_REMOTE_CANDIDATES} ICE candidates`);
		const [pc] = FakePc.made;
		expect(pc.remoteCandidates).toHaveLength(2);
		expect(pc.closed).toBe(true);
	});

	it('refuses a description that carries more candidates than a link takes before applying it', async () => {
		const [mine, far] = pair();
		const pending = webrtcTransport.create({ voice: false, iceServers: [] });
		const settled = outcome(pending.answer(mine));
		await far.send({ t: 'offer', sdp: withCandidates(chromiumSdp(false, 'actpass'), MAX_REMOTE_CANDIDATES + 1) });
		far.close();

		const err = await settled;
		expect(err).toBeInstanceOf(SignalError);
		expect((err as Error).message).toBe(`the far end sent more than ${MAX_REMOTE_CANDIDATES} ICE candidates`);
		const [pc] = FakePc.made;
		expect(pc.remoteDescriptions).toHaveLength(0);
		expect(pc.closed).toBe(true);
	});

	it('counts neither the end-of-candidates null nor anything once the link is open', async () => {
		const [mine, far] = pair();
		const pending = webrtcTransport.create({ voice: false, iceServers: [] });
		const settled = outcome(pending.answer(mine));
		await far.send({ t: 'offer', sdp: chromiumSdp(false, 'actpass') });
		await next(far, 'answer');
		for (let i = 1; i < MAX_REMOTE_CANDIDATES; i++) await far.send(hostile(i));
		for (let i = 0; i < 5; i++) await far.send({ t: 'ice', candidate: null });
		// The last one it may send, and the one this end can be reached at (as a fake far end would be).
		const reachable = new FakePc({});
		await far.send({ t: 'ice', candidate: { candidate: reachable.candidate, sdpMid: '0', sdpMLineIndex: 0 } });
		for (let i = 0; i < 3; i++) await far.send(hostile(100 + i));
		expect(await settled).toBeNull();
		expect(pending.pipe.open).toBe(true);
		expect(FakePc.made[0].remoteCandidates).toHaveLength(MAX_REMOTE_CANDIDATES);
	});

	it.each([
		['a tree offer with a video section', false, chromiumSdp(false, 'actpass', VIDEO), /m=video/],
		['a tree offer with a second data section', false, chromiumSdp(false, 'actpass', SECOND_DATA), /2 m=application/],
		['a tree offer carrying a voice', false, chromiumSdp(true, 'actpass'), /1 m=audio .*tree link/],
		['a stage offer without a voice', true, chromiumSdp(false, 'actpass'), /0 m=audio .*stage link/],
		['a stage offer with a video too', true, chromiumSdp(true, 'actpass', VIDEO), /m=video/]
	])('refuses %s before applying it, and closes the connection', async (_label, voice, sdp, problem) => {
		const [mine, far] = pair();
		const pending = webrtcTransport.create({ voice, iceServers: [] });
		const settled = outcome(pending.answer(mine));
		await far.send({ t: 'offer', sdp });
		far.close();

		const err = await settled;
		expect(err).toBeInstanceOf(SignalError);
		expect((err as Error).message).toMatch(/^the far end's offer has /);
		expect((err as Error).message).toMatch(problem);
		const [pc] = FakePc.made;
		expect(pc.remoteDescriptions).toEqual([]);
		expect(pc.localDescription).toBeNull();
		expect(pc.closed).toBe(true);
	});

	it('refuses an answer with an extra section before applying it, and closes the connection', async () => {
		const [mine, far] = pair();
		const pending = webrtcTransport.create({ voice: true, iceServers: [] });
		const settled = outcome(pending.offer(mine));
		await next(far, 'offer');
		await far.send({ t: 'answer', sdp: chromiumSdp(true, 'active', VIDEO) });
		far.close();

		const err = await settled;
		expect(err).toBeInstanceOf(SignalError);
		expect((err as Error).message).toMatch(/^the far end's answer has an m=video section/);
		const [pc] = FakePc.made;
		expect(pc.remoteDescriptions).toEqual([]);
		expect(pc.closed).toBe(true);
	});

	it('closes a data channel the far end announces, and keeps its own negotiated one open', async () => {
		const { server } = await connect(false);
		const serverPc = FakePc.made[1];
		const announced = new FakeChannel('sneaky');
		serverPc.ondatachannel!({ channel: announced });
		expect(announced.readyState).toBe('closed');
		expect(serverPc.channels[0].init).toMatchObject({ negotiated: true, id: 0 });
		expect(server.pipe.open).toBe(true);
		expect(serverPc.closed).toBe(false);
	});
});

/** `sdp` with `n` host candidates written into its data section, as a browser that gathered before answering would. */
function withCandidates(sdp: string, n: number): string {
	const lines = Array.from({ length: n }, (_, i) => `a=candidate:${i + 500} 1 udp 2113937151 198.51.100.${(i % 250) + 1} ${6000 + i} typ host`);
	return sdp.replace(/\r\n$/, '') + '\r\n' + lines.join('\r\n') + '\r\n';
}
