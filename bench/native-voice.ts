/**
 * bench:audio's baseline for the stage's speakerToSpeakerMs: two pages that open the microphone as
 * the app does and talk both ways over one plain RTCPeerConnection (no Stanza code), each playing
 * the other's voice through a media element, timed exactly as the stage's voice is (recordOnsets in
 * audio.bench.ts): burst onsets at the sender's MediaStreamTrackProcessor, and at the receiver
 * through an AnalyserNode of its AudioContext read every 20 ms, plus that context's reported
 * latency. With Chromium's default 20 ms Opus frames, or with the 10 ms ones the stage asks for
 * (stage-sdp.ts): what the app's stage adds over native WebRTC is its figure less the latter;
 * what the timing itself adds (the analyser's FIFO, its 20 ms reads, a capture frame timed as it
 * reaches a busy or idle main thread) is in both.
 */
import type { Browser, Page } from 'playwright-core';
import { askShortFrames } from '../src/lib/audio/stage-sdp';
import { newPeerPage } from '../tests/support/browser.js';

export interface NativeVoiceRun {
	/** Delay of each burst onset, sender's capture → receiver's tap (ms). */
	onsetMs: number[];
	/** WebRTC's mean playout delay at the receiver (media-playout stats, its running mean read at the end). */
	playoutMs: number | null;
	/** The receiver's AudioContext's baseLatency + outputLatency (ms), included in onsetMs. */
	outputLatencyMs: number;
}

/** A blank page on the relay's origin (a secure context: 127.0.0.1), so getUserMedia is allowed. */
async function blankPage(browser: Browser, origin: string): Promise<Page> {
	const { page } = await newPeerPage(browser);
	const url = new URL('/__native-voice-baseline', origin).href;
	await page.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>baseline</title>' }));
	await page.goto(url);
	return page;
}

/** Opens the microphone (the app's constraints) and a peer connection sending it, with a capture tap on the sender. */
function setUp(page: Page, role: 'sender' | 'receiver'): Promise<void> {
	return page.evaluate(async (role) => {
		type G = { __pc: RTCPeerConnection; __onsets: number[]; __context?: AudioContext };
		const g = globalThis as unknown as G;
		g.__onsets = [];
		if (typeof MediaStreamTrackProcessor === 'undefined') throw new Error('this browser has no MediaStreamTrackProcessor, which the baseline times capture with');
		const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } });
		const track = stream.getAudioTracks()[0];
		const pc = new RTCPeerConnection();
		pc.addTrack(track.clone(), stream);
		g.__pc = pc;
		let loud = false;
		const onFrame = (samples: Float32Array, startWall: number) => {
			let first = -1;
			for (let i = 0; i < samples.length; i++)
				if (Math.abs(samples[i]) > 0.1) {
					first = i;
					break;
				}
			if (first >= 0 && !loud) g.__onsets.push(startWall + (first / 48_000) * 1000);
			loud = first >= 0;
		};
		// What both speakers' pages do with the other's voice: a media element plays the remote track.
		const play = (track: MediaStreamTrack) => {
			const element = new Audio();
			element.srcObject = new MediaStream([track]);
			void element.play().catch((err: unknown) => console.error(`the voice did not play: ${String(err)}`));
		};
		if (role === 'sender') {
			pc.ontrack = (event) => play(event.track);
			// As microphone.ts reads it: AudioData from the track, timed as the frame reaches the page.
			const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
			void (async () => {
				for (;;) {
					const { value, done } = await reader.read();
					if (done || !value) return;
					const samples = new Float32Array(value.numberOfFrames);
					value.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
					value.close();
					onFrame(samples, performance.timeOrigin + performance.now() - (samples.length / 48_000) * 1000);
				}
			})();
		} else {
			// As stage-audio.ts taps a fellow speaker: an analyser of an interactive AudioContext reads the last
			// 1024 samples every 20 ms. The context renders to the output as the app's mixer does (silence here).
			pc.ontrack = (event) => {
				play(event.track);
				const context = new AudioContext({ sampleRate: 48_000, latencyHint: 'interactive' });
				new GainNode(context, { gain: 0 }).connect(context.destination);
				g.__context = context;
				const node = new AnalyserNode(context, { fftSize: 1024 });
				context.createMediaStreamSource(new MediaStream([event.track])).connect(node);
				setInterval(() => {
					const samples = new Float32Array(1024);
					node.getFloatTimeDomainData(samples);
					const latency = (context.baseLatency + (context.outputLatency || 0)) * 1000;
					onFrame(samples, performance.timeOrigin + performance.now() + latency - (1024 / 48_000) * 1000);
				}, 20);
			};
		}
	}, role);
}

/** Sets `remote` (if any), then makes and returns this page's description once every candidate is in it (no trickle to carry). */
async function localDescription(page: Page, kind: 'offer' | 'answer', remote?: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit> {
	return page.evaluate(
		async ([kind, remote]) => {
			const pc = (globalThis as unknown as { __pc: RTCPeerConnection }).__pc;
			if (remote) await pc.setRemoteDescription(remote);
			await pc.setLocalDescription(kind === 'offer' ? await pc.createOffer() : await pc.createAnswer());
			if (pc.iceGatheringState !== 'complete')
				await new Promise<void>((resolve, reject) => {
					pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
					setTimeout(() => reject(new Error(`ICE gathering did not complete in 10 s (${pc.iceGatheringState})`)), 10_000);
				});
			return { type: pc.localDescription!.type, sdp: pc.localDescription!.sdp };
		},
		[kind, remote] as const
	);
}

/** As the app applies a stage link's description (webrtc-pipe.ts): asking for 10 ms frames, or as written. */
const received = (description: RTCSessionDescriptionInit, shortFrames: boolean): RTCSessionDescriptionInit =>
	shortFrames ? { type: description.type, sdp: askShortFrames(description.sdp ?? '') } : description;

/**
 * One pair: connects, lets the voice run for `windowMs` from when it plays (as the stage phase
 * does: no settling first), and returns the receiver's timings.
 */
export async function measureNativeVoice(
	senderBrowser: Browser,
	receiverBrowser: Browser,
	origin: string,
	windowMs: number,
	{ shortFrames }: { shortFrames: boolean }
): Promise<NativeVoiceRun> {
	const pages: Page[] = [];
	try {
		const sender = await blankPage(senderBrowser, origin);
		pages.push(sender);
		const receiver = await blankPage(receiverBrowser, origin);
		pages.push(receiver);
		await setUp(sender, 'sender');
		await setUp(receiver, 'receiver');
		const answer = await localDescription(receiver, 'answer', received(await localDescription(sender, 'offer'), shortFrames));
		await sender.evaluate((answer) => (globalThis as unknown as { __pc: RTCPeerConnection }).__pc.setRemoteDescription(answer), received(answer, shortFrames));
		await receiver
			.waitForFunction(() => (globalThis as unknown as { __pc: RTCPeerConnection }).__pc.connectionState === 'connected', null, { timeout: 15_000 })
			.catch(async () => {
				throw new Error(`the plain peer connection did not connect: ${await receiver.evaluate(() => (globalThis as unknown as { __pc: RTCPeerConnection }).__pc.connectionState)}`);
			});
		await receiver.waitForFunction(() => Boolean((globalThis as unknown as { __context?: AudioContext }).__context), null, { timeout: 15_000 });
		await receiver.waitForTimeout(windowMs);
		const sent = await sender.evaluate(() => (globalThis as unknown as { __onsets: number[] }).__onsets.slice());
		const { got, playoutMs, outputLatencyMs } = await receiver.evaluate(async () => {
			const g = globalThis as unknown as { __pc: RTCPeerConnection; __onsets: number[]; __context: AudioContext };
			let playoutMs = null as number | null;
			for (const s of (await g.__pc.getStats()).values() as IterableIterator<{ type: string; totalSamplesCount?: number; totalPlayoutDelay?: number }>)
				if (s.type === 'media-playout' && s.totalSamplesCount) playoutMs = ((s.totalPlayoutDelay ?? 0) / s.totalSamplesCount) * 1000;
			return { got: g.__onsets.slice(), playoutMs, outputLatencyMs: (g.__context.baseLatency + (g.__context.outputLatency || 0)) * 1000 };
		});
		// Each onset heard against the latest one sent before it, within 400 ms (the stage phase's pairing).
		const onsetMs = got.map((t) => t - Math.max(...sent.filter((s) => s <= t && t - s < 400))).filter((x) => Number.isFinite(x) && x >= 0);
		return { onsetMs, playoutMs, outputLatencyMs };
	} finally {
		for (const page of pages) await page.context().close();
	}
}
