/**
 * npm run bench:audio — how the audio tree performs, in real Chromium on loopback.
 *
 * - e2eMsByDepth: a speaker whose fake microphone plays a 30 ms burst every
 *   500 ms, and a chain of listeners at depths 1–4 (each relays to one). The
 *   speaker's page timestamps each burst as it reads it from the microphone;
 *   each listener's page timestamps it at the time its frame comes out of the
 *   speakers: the slot the mixer plays it in, mapped to the page's clock by
 *   AudioContext.getOutputTimestamp() (which includes the output latency).
 *   All pages share one machine clock (performance.timeOrigin + now).
 * - addedMsPerHop: median difference between consecutive depths.
 * - jitterTargetMsByDepth: each listener's jitter-buffer target at the end of that window.
 * - spikeRecoveryMs: the deepest listener's main thread is blocked for 1 s (a
 *   busy loop); from its end until the first burst from which 2 s of bursts
 *   all arrive within 20 ms of that listener's median before (0: from the
 *   first; bursts vary by tens of ms in steady state, so the samples and the
 *   90th percentile before are kept beside it); spikeLastInflatedMs, until
 *   the last burst more than 20 ms late in the 12 s after (a lone slow burst
 *   late in the window counts there: what spikeRecoveryMs was before
 *   2026-12-05); spikePeakMs the worst burst after it.
 * - speakerToSpeakerMs: the same bursts from one speaker to a second speaker on stage, who
 *   hears them through the native WebRTC voice of their stage link
 *   (stage-audio.ts), timestamped as they enter the page's audio graph; plus
 *   the AudioContext's reported output latency, given apart as outputLatencyMs
 *   (baseLatency + outputLatency, which is 0 on a machine without a sound card).
 *   Three pairs, one after another; the median over all their bursts.
 * - speakerToSpeakerWebrtcMs: the same voice as WebRTC itself times it: from
 *   its capture at the speaker (the abs-capture-time header extension) to its
 *   delivery to the track at the fellow speaker (stageCaptureToTrackMs, read
 *   every 100 ms), plus WebRTC's mean playout delay to the audio device
 *   (stagePlayoutMs, media-playout stats). No Web Audio graph or tap in the
 *   way, which the burst onsets above pass through.
 * - nativeSpeakerToSpeakerMs, nativeSpeakerToSpeakerPtime10Ms: the baseline
 *   for speakerToSpeakerMs: two pages that open the microphone as the app does
 *   and talk over one plain RTCPeerConnection (no Stanza code), timed exactly
 *   as speakerToSpeakerMs (native-voice.ts); with Chromium's 20 ms Opus frames,
 *   and with the 10 ms ones the stage asks for. What the stage adds over native
 *   WebRTC is speakerToSpeakerMs less the second.
 * - concealedPctAtDepth3Loss5, e2eMsAtDepth3Loss5: every page of the chain
 *   drops 5 % of the messages its audio links send (media-link.ts linkLab,
 *   uniform random, as netlab's nftables rule does; not netlab itself: its
 *   hosts are network namespaces, and these pages share one browser); frames
 *   concealed by the depth-3 listener's jitter buffer over 15 s, and the
 *   bursts' delay there; the same again with redundancy off, and with no
 *   loss at all (what a busy machine conceals anyway), for comparison.
 * - joinToFirstAudioMs: opening the room link in a fresh profile until the
 *   first decoded frame of the speaker's sound.
 * - repairGapMs: a continuous tone; a listener's parent tab is closed; the
 *   longest silence at that listener, on its own clock.
 * - relayCpuPctPerStream: main-thread task time of a relaying page with four
 *   children minus with none, per child, as % of a core.
 * - banToCutMs: speaker → relaying listener → leaf; the speaker bans the
 *   relaying listener, whose own code cannot close anything (the e2e's
 *   hostile hooks): from the ban click until the far ends (speaker and leaf)
 *   have closed every audio link it held.
 * Writes bench/results/audio.json; medians over repeated runs.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { installProbe, longestGap, resetGaps, treeOf, waitHears, waitRepaired } from '../tests/support/audio-probe';
import { launchBrowser, newPeerPage } from '../tests/support/browser.js';
import { startRelay, type RelayProcess } from '../tests/support/relay-process.js';
import { hostileHooks } from '../tests/support/hostile-hooks';
import { measureNativeVoice, type NativeVoiceRun } from './native-voice';
import { RoomPage } from '../tests/support/room-page';
import { writeBurstWav, writeToneWav } from '../tests/support/tone.js';

const GOALS = { speakerToSpeakerMs: 80, e2eMsAtDepth3: 90, concealedPctAtDepth3Loss5: 1, e2eMsAtDepth3Loss5: 120, addedMsPerHop: 5, spikeRecoveryMs: 5000, joinToFirstAudioMs: 1500, repairGapMs: 500 };
const median = (xs: number[]) => {
	const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
	if (s.length === 0) return NaN;
	return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number) => Math.round(x * 10) / 10;

async function person(browser: Browser, relay: RelayProcess, name: string, capacity: number, hostile = false): Promise<RoomPage> {
	const { page } = await newPeerPage(browser);
	if (hostile) await page.addInitScript(hostileHooks);
	await page.goto(relay.url);
	const p = new RoomPage(page, name);
	await p.setRelayCapacity(String(capacity));
	await p.setName(name);
	return p;
}

async function joinAudio(p: RoomPage, link: string): Promise<void> {
	await p.page.goto(link);
	await p.waitStatus('live', 60_000);
	await p.page.waitForSelector('[data-testid=audio][data-depth]:not([data-depth=""])', { timeout: 60_000 });
}

/** Records burst onsets (wall-clock ms) at the microphone (`capture`) or as heard (`decoded`: the tapped frames, with when each is heard). */
async function recordOnsets(page: Page, where: 'capture' | 'decoded', from?: string): Promise<void> {
	await page.waitForFunction(() => Boolean((globalThis as { __stanzaAudio?: unknown }).__stanzaAudio), null, { timeout: 30_000 });
	await page.evaluate(([where, from]) => {
		type Audio = { tap(fn: (s: string, x: Float32Array, playAtMs: number) => void): void; captureTap(fn: (x: Float32Array, wall: number) => void): void };
		const g = globalThis as unknown as { __stanzaAudio: Audio; __onsets: number[] };
		g.__onsets = [];
		let loud = false;
		// `startWall`: when the frame's first sample was captured, or is heard.
		const onFrame = (samples: Float32Array, startWall: number) => {
			// Find the first loud sample: the burst's onset inside this frame.
			let first = -1;
			for (let i = 0; i < samples.length; i++) if (Math.abs(samples[i]) > 0.1) { first = i; break; }
			if (first >= 0 && !loud) g.__onsets.push(startWall + (first / 48_000) * 1000);
			loud = first >= 0;
		};
		// A capture frame is read as its last sample comes in; a tapped frame comes with when it starts to be heard.
		if (where === 'capture') g.__stanzaAudio.captureTap((x, wall) => onFrame(x, wall - (x.length / 48_000) * 1000));
		else g.__stanzaAudio.tap((s, x, playAtMs) => (!from || s === from) && onFrame(x, performance.timeOrigin + playAtMs));
	}, [where, from] as const);
}

const onsets = (page: Page) => page.evaluate(() => (globalThis as unknown as { __onsets: number[] }).__onsets.slice());

it('measures the audio tree', async () => {
	const dir = mkdtempSync(join(tmpdir(), 'stanza-bench-'));
	writeBurstWav(join(dir, 'bursts.wav'));
	writeToneWav(join(dir, 'tone.wav'), 440);
	const relay = await startRelay();
	const bursts = await launchBrowser({ fakeAudioFile: join(dir, 'bursts.wav') });
	const tone = await launchBrowser({ fakeAudioFile: join(dir, 'tone.wav') });
	try {
		// —— latency by depth: a chain ——
		const speaker = await person(bursts, relay, 'Speaker', 1);
		const chainLink = await speaker.startRoom('Latency chain', '');
		const chain: RoomPage[] = [];
		for (let d = 1; d <= 4; d++) {
			const p = await person(bursts, relay, `Depth ${d}`, 1);
			await joinAudio(p, chainLink);
			chain.push(p);
		}
		const depthOf = await Promise.all(chain.map(async (p) => (await treeOf(p.page)).depth));
		await recordOnsets(speaker.page, 'capture');
		for (const p of chain) await recordOnsets(p.page, 'decoded');
		await speaker.page.waitForTimeout(8_000); // collect ~16 bursts at every depth (a measurement window, not a wait for a condition)
		const sent = await onsets(speaker.page);
		const e2eMsByDepth: Record<string, number> = {};
		for (let i = 0; i < chain.length; i++) {
			const got = await onsets(chain[i].page);
			const latencies = got.map((t) => t - Math.max(...sent.filter((s) => s <= t && t - s < 400))).filter((x) => x >= 0);
			e2eMsByDepth[String(depthOf[i])] = round(median(latencies));
		}
		const depths = Object.keys(e2eMsByDepth).map(Number).sort();
		const addedMsPerHop = round(median(depths.slice(1).map((d) => e2eMsByDepth[d] - e2eMsByDepth[d - 1])));
		// Where a listener's delay goes: the jitter buffer's target for the speaker, by depth.
		const jitterTargetMsByDepth: Record<string, number> = {};
		for (let i = 0; i < chain.length; i++) {
			const stats = await chain[i].page.evaluate(() => (globalThis as unknown as { __stanzaAudio: { stats(): Record<string, { targetDelayMs: number }> } }).__stanzaAudio.stats());
			jitterTargetMsByDepth[String(depthOf[i])] = Math.max(...Object.values(stats).map((s) => s.targetDelayMs));
		}

		// —— a CPU spike: the deepest listener's main thread is blocked for 1 s ——
		const deepest = Math.max(...depthOf.map((d) => d ?? 0));
		const leafPage = chain[depthOf.indexOf(deepest)];
		const latenciesSince = async (since: number) => {
			const all = await onsets(speaker.page);
			return (await onsets(leafPage.page)).filter((t) => t >= since).map((t) => ({ at: t, ms: t - Math.max(...all.filter((s) => s <= t && t - s < 1_500)) }));
		};
		const beforeMs = (await latenciesSince(0)).map((l) => l.ms).filter((ms) => ms >= 0);
		const before = median(beforeMs);
		// Bursts vary by tens of ms in steady state on a loaded machine: the 90th percentile before is kept beside the figure.
		const steadyCeiling = [...beforeMs].sort((x, y) => x - y)[Math.floor(beforeMs.length * 0.9)] + 20;
		const spikeEnd = await leafPage.page.evaluate(() => {
			const end = performance.now() + 1_000;
			while (performance.now() < end) {
				/* busy: a long task, as a heavy page or a slow phone gives */
			}
			return performance.timeOrigin + performance.now();
		});
		await leafPage.page.waitForTimeout(12_000); // a measurement window after the spike
		const after = (await latenciesSince(spikeEnd)).filter((l) => l.ms >= 0);
		// Back: the first burst from which 2 s of bursts all arrive within 20 ms of before (0: the first after
		// the spike did). A lone slow burst later in the window is the loaded machine, not the spike: it is
		// kept apart as spikeLastInflatedMs (the last burst more than 20 ms late, 0: none), what this figure was before.
		const inBounds = (l: { ms: number }) => l.ms <= before + 20;
		// (No burst heard after it, or none staying back: the whole window.)
		const windowEnd = after.at(-1)?.at ?? spikeEnd + 12_000;
		const backAt = after.findIndex((l, i) => after.slice(i).filter((m) => m.at - l.at <= 2_000).every(inBounds) && windowEnd - l.at >= 2_000);
		const spikeRecoveryMs = backAt === 0 ? 0 : Math.round((backAt === -1 ? windowEnd : after[backAt].at) - spikeEnd);
		const lastInflated = after.filter((l) => !inBounds(l)).at(-1);
		const spikeLastInflatedMs = lastInflated ? Math.round(lastInflated.at - spikeEnd) : 0;
		const spikePeakMs = round(Math.max(before, ...after.map((l) => l.ms)));

		// —— 5 % loss on every link of the chain, with and without redundancy (link-frame.ts) ——
		type Lab = { linkLab(s: { loss?: number; redundancy?: boolean }): void; stats(): Record<string, { played: number; concealed: number }> };
		const lab = (p: RoomPage, settings: { loss?: number; redundancy?: boolean }) =>
			p.page.evaluate((s) => (globalThis as unknown as { __stanzaAudio: Lab }).__stanzaAudio.linkLab(s), settings);
		const frameCounts = (p: RoomPage) =>
			p.page.evaluate(() => {
				const all = Object.values((globalThis as unknown as { __stanzaAudio: Lab }).__stanzaAudio.stats());
				return { played: all.reduce((n, s) => n + s.played, 0), concealed: all.reduce((n, s) => n + s.concealed, 0) };
			});
		const lossWindow = async (redundancy: boolean, loss = 0.05) => {
			for (const p of [speaker, ...chain]) await lab(p, { loss, redundancy });
			await speaker.page.waitForTimeout(2_000); // let buffers adapt before counting (a settling window)
			const start = await Promise.all(chain.map(frameCounts));
			const since = Date.now();
			await speaker.page.waitForTimeout(15_000); // the measurement window: ~750 frames per listener
			const end = await Promise.all(chain.map(frameCounts));
			const concealedPctByDepth: Record<string, number> = {};
			const e2eMs: Record<string, number> = {};
			const all = await onsets(speaker.page);
			const depthsNow = await Promise.all(chain.map(async (p) => (await treeOf(p.page)).depth));
			for (let i = 0; i < chain.length; i++) {
				const played = end[i].played - start[i].played;
				const concealed = end[i].concealed - start[i].concealed;
				concealedPctByDepth[String(depthsNow[i])] = round((100 * concealed) / Math.max(1, played + concealed));
				const got = (await onsets(chain[i].page)).filter((t) => t >= since);
				e2eMs[String(depthsNow[i])] = round(median(got.map((t) => t - Math.max(...all.filter((x) => x <= t && t - x < 1_500))).filter((x) => x >= 0)));
			}
			for (const p of [speaker, ...chain]) await lab(p, { loss: 0, redundancy: true });
			return { concealedPctByDepth, e2eMs };
		};
		// Frames concealed with no loss at all (late arrivals on a busy machine): the floor the two below stand on.
		const noLoss = await lossWindow(true, 0);
		const withRedundancy = await lossWindow(true);
		const withoutRedundancy = await lossWindow(false);
		const concealedPctAtDepth3Loss5 = withRedundancy.concealedPctByDepth['3'] ?? NaN;
		const e2eMsAtDepth3Loss5 = withRedundancy.e2eMs['3'] ?? NaN;

		// —— join to first audio ——
		const joins: number[] = [];
		let failedJoins = 0;
		for (let run = 0; run < 5; run++) {
			const { page, context } = await newPeerPage(bursts);
			await page.goto(relay.url);
			await new RoomPage(page, 'Joiner').setRelayCapacity('0');
			await page.goto('about:blank');
			const started = Date.now();
			await page.goto(chainLink);
			await page.waitForFunction(() => Boolean((globalThis as { __stanzaAudio?: unknown }).__stanzaAudio), null, { timeout: 30_000, polling: 10 });
			// A join that hears nothing within a minute is counted as failed, not waited on forever.
			const firstAt = await page.evaluate(
				() =>
					new Promise<number | null>((resolve) => {
						setTimeout(() => resolve(null), 60_000);
						(globalThis as unknown as { __stanzaAudio: { tap(fn: () => void): void } }).__stanzaAudio.tap(() => resolve(performance.timeOrigin + performance.now()));
					})
			);
			if (firstAt === null) failedJoins++;
			else joins.push(firstAt - started);
			await context.close();
		}
		for (const p of [speaker, ...chain]) await p.page.context().close();

		// —— stage: a speaker heard by a fellow speaker, natively (three pairs, one after another) ——
		const stageMs: number[] = [];
		const captureToTrack: number[] = [];
		const playout: number[] = [];
		let outputLatencyMs = NaN;
		for (let run = 0; run < 3; run++) {
			const stageHost = await person(bursts, relay, 'Stage A', 1);
			const stageLink = await stageHost.startRoom('Stage latency', '');
			const stageGuest = await person(tone, relay, 'Stage B', 1);
			await joinAudio(stageGuest, stageLink);
			const hostId = await stageHost.myPeerId();
			const guestId = await stageGuest.myPeerId();
			await stageHost.waitMember('audience', guestId);
			await stageHost.memberAction('audience', guestId, 'Invite to speak');
			await stageGuest.page.getByRole('button', { name: 'Join the stage' }).click();
			await stageGuest.page.waitForFunction(
				(id) => (globalThis as unknown as { __stanzaAudio: { stage(): { speaker: string; playing: boolean }[] } }).__stanzaAudio.stage().some((v) => v.speaker === id && v.playing),
				hostId,
				{ timeout: 60_000 }
			);
			await recordOnsets(stageHost.page, 'capture');
			await recordOnsets(stageGuest.page, 'decoded', hostId);
			// WebRTC's own timing of the same voice, read every 100 ms over the window (stage-audio.ts, delays()).
			await stageGuest.page.evaluate((id) => {
				type Delay = { speaker: string; captureToTrackMs: number | null; playoutMs: number | null };
				const g = globalThis as unknown as { __stanzaAudio: { stageDelays(): Promise<Delay[]> }; __delays: Delay[] };
				g.__delays = [];
				setInterval(async () => g.__delays.push(...(await g.__stanzaAudio.stageDelays()).filter((d) => d.speaker === id)), 100);
			}, hostId);
			await stageHost.page.waitForTimeout(8_000); // a measurement window, as above
			const stageSent = await onsets(stageHost.page);
			const stageGot = await onsets(stageGuest.page);
			stageMs.push(...stageGot.map((t) => t - Math.max(...stageSent.filter((s) => s <= t && t - s < 400))).filter((x) => Number.isFinite(x) && x >= 0));
			const delays = await stageGuest.page.evaluate(() => (globalThis as unknown as { __delays: { captureToTrackMs: number | null; playoutMs: number | null }[] }).__delays);
			captureToTrack.push(...delays.flatMap((d) => (d.captureToTrackMs === null ? [] : [d.captureToTrackMs])));
			playout.push(...delays.flatMap((d) => (d.playoutMs === null ? [] : [d.playoutMs])));
			outputLatencyMs = round(await stageGuest.page.evaluate(() => (globalThis as unknown as { __stanzaAudio: { latencyMs(): number } }).__stanzaAudio.latencyMs()));
			for (const p of [stageHost, stageGuest]) await p.page.context().close();
		}
		const speakerToSpeakerMs = round(median(stageMs));
		const stageCaptureToTrackMs = round(median(captureToTrack));
		const stagePlayoutMs = round(median(playout));
		const speakerToSpeakerWebrtcMs = round(stageCaptureToTrackMs + stagePlayoutMs);

		// —— the same timing on plain WebRTC between two pages (no Stanza code), with Chromium's 20 ms frames and
		// with the stage's 10 ms ones: what the stage adds over native. Three pairs each, taking turns. ——
		const native = { default: [] as NativeVoiceRun[], short: [] as NativeVoiceRun[] };
		let nativeFailure: string | null = null;
		try {
			for (let run = 0; run < 3; run++) {
				native.default.push(await measureNativeVoice(bursts, tone, relay.url, 8_000, { shortFrames: false }));
				native.short.push(await measureNativeVoice(bursts, tone, relay.url, 8_000, { shortFrames: true }));
			}
		} catch (err) {
			// Said in the results, instead of losing every figure around it.
			nativeFailure = String(err).split('\n')[0];
		}
		const nativeOf = (runs: NativeVoiceRun[]) => ({
			ms: round(median(runs.flatMap((r) => r.onsetMs))),
			bursts: runs.flatMap((r) => r.onsetMs).length,
			playoutMs: round(median(runs.flatMap((r) => (r.playoutMs === null ? [] : [r.playoutMs])))),
			outputLatencyMs: round(median(runs.map((r) => r.outputLatencyMs)))
		});
		const nativeDefault = nativeOf(native.default);
		const nativeShort = nativeOf(native.short);

		// —— repair gap: speaker → relay → leaf; the relay's tab is closed ——
		const gaps: number[] = [];
		for (let run = 0; run < 5; run++) {
			const toneSpeaker = await person(tone, relay, 'Tone', 1);
			const toneLink = await toneSpeaker.startRoom(`Repair ${run}`, '');
			const toneId = await toneSpeaker.myPeerId();
			const middle = await person(tone, relay, 'Relay', 1);
			await joinAudio(middle, toneLink);
			const leaf = await person(tone, relay, 'Leaf', 0);
			await joinAudio(leaf, toneLink);
			const middleId = await middle.myPeerId();
			await leaf.page.waitForFunction(
				(id) => (globalThis as unknown as { __stanzaAudio: { tree(): { parent: string } } }).__stanzaAudio.tree().parent === id,
				middleId,
				{ timeout: 30_000 }
			);
			await installProbe(leaf.page);
			await waitHears(leaf.page, toneId, 440, 30_000);
			await resetGaps(leaf.page);
			await middle.page.context().close();
			await waitRepaired(leaf.page, middleId, toneId, 440);
			gaps.push(await longestGap(leaf.page, toneId, 440));
			for (const ctx of tone.contexts()) await ctx.close();
		}

		// —— ban → every audio link of the banned member cut by the far ends ——
		const cuts: number[] = [];
		for (let run = 0; run < 3; run++) {
			const host = await person(tone, relay, 'Host', 1);
			const link = await host.startRoom(`Ban ${run}`, '');
			const banned = await person(tone, relay, 'Banned', 1, true);
			await joinAudio(banned, link);
			const leaf = await person(tone, relay, 'Leaf', 0);
			await joinAudio(leaf, link);
			const bannedId = await banned.myPeerId();
			await leaf.page.waitForFunction(
				(id) => (globalThis as unknown as { __stanzaAudio: { tree(): { parent: string } } }).__stanzaAudio.tree().parent === id,
				bannedId,
				{ timeout: 30_000 }
			);
			const openLinks = () =>
				banned.page.evaluate(() => (globalThis as unknown as { __channels: RTCDataChannel[] }).__channels.filter((c) => c.label === 'stanza-audio' && c.readyState === 'open').length);
			expect(await openLinks()).toBeGreaterThanOrEqual(2);
			await banned.page.evaluate(() => ((globalThis as { __ignoreBan?: boolean }).__ignoreBan = true));
			const card = host.page.locator(`[data-testid=audience] [data-testid=member][data-peer-id="${bannedId}"]`);
			await card.locator('summary').click();
			const started = Date.now();
			await card.getByRole('button', { name: 'Ban', exact: true }).click();
			await banned.page.waitForFunction(
				() => (globalThis as unknown as { __channels: RTCDataChannel[] }).__channels.every((c) => c.label !== 'stanza-audio' || c.readyState !== 'open'),
				null,
				{ timeout: 30_000, polling: 10 }
			);
			cuts.push(Date.now() - started);
			for (const ctx of tone.contexts()) await ctx.close();
		}

		// —— relay CPU per forwarded stream ——
		const cpuSpeaker = await person(tone, relay, 'CPU speaker', 1);
		const cpuLink = await cpuSpeaker.startRoom('CPU', '');
		const relayPage = await person(tone, relay, 'Relay under test', 4);
		await joinAudio(relayPage, cpuLink);
		const cdp = await relayPage.page.context().newCDPSession(relayPage.page);
		await cdp.send('Performance.enable');
		const taskSeconds = async () => {
			const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
			return metrics.find((m) => m.name === 'TaskDuration')!.value;
		};
		const window = async () => {
			const t0 = await taskSeconds();
			const w0 = Date.now();
			await relayPage.page.waitForTimeout(5_000); // a fixed measurement window
			return ((await taskSeconds()) - t0) / ((Date.now() - w0) / 1000);
		};
		const idle = await window();
		const leaves: RoomPage[] = [];
		for (let i = 0; i < 4; i++) {
			leaves.push(await person(tone, relay, `Leaf ${i}`, 0));
			await joinAudio(leaves[i], cpuLink);
		}
		let relayCpuPctPerStream = NaN;
		let cpuPhaseFailure: string | null = null;
		try {
			await relayPage.page.waitForFunction(() => (globalThis as unknown as { __stanzaAudio: { tree(): { children: string[] } } }).__stanzaAudio.tree().children.length === 4, null, { timeout: 60_000 });
			const busy = await window();
			relayCpuPctPerStream = round(((busy - idle) / 4) * 100);
		} catch (err) {
			// Said in the results with what each page saw, instead of losing every figure above.
			const seen = await Promise.all(
				[relayPage, ...leaves].map(async (p) => `${p.name}: ${JSON.stringify(await treeOf(p.page))}\n${(await p.trace()).split('\n').filter((l) => l.includes('audio: ')).slice(-12).join('\n')}`)
			);
			cpuPhaseFailure = `${String(err).split('\n')[0]}\n${seen.join('\n')}\nrelay output (last lines):\n${relay.output().split('\n').slice(-15).join('\n')}`;
		}

		const results = {
			speakerToSpeakerMs,
			speakerToSpeakerWebrtcMs,
			nativeSpeakerToSpeakerMs: nativeDefault.ms,
			nativeSpeakerToSpeakerPtime10Ms: nativeShort.ms,
			native: { default: nativeDefault, ptime10: nativeShort, failure: nativeFailure },
			stageCaptureToTrackMs,
			stagePlayoutMs,
			outputLatencyMs,
			e2eMsByDepth,
			addedMsPerHop,
			jitterTargetMsByDepth,
			spikeRecoveryMs,
			spikeLastInflatedMs,
			spikePeakMs,
			spikeSteadyCeilingMs: round(steadyCeiling),
			joinToFirstAudioMs: Math.round(median(joins)),
			repairGapMs: Math.round(median(gaps)),
			banToCutMs: Math.round(median(cuts)),
			concealedPctAtDepth3Loss5,
			e2eMsAtDepth3Loss5,
			loss5: { noLoss, withRedundancy, withoutRedundancy },
			relayCpuPctPerStream,
			goals: GOALS,
			met: {
				speakerToSpeakerMs: speakerToSpeakerMs <= GOALS.speakerToSpeakerMs,
				speakerToSpeakerWebrtcMs: speakerToSpeakerWebrtcMs <= GOALS.speakerToSpeakerMs,
				e2eMsAtDepth3: e2eMsByDepth['3'] <= GOALS.e2eMsAtDepth3,
				addedMsPerHop: addedMsPerHop <= GOALS.addedMsPerHop,
				spikeRecoveryMs: spikeRecoveryMs <= GOALS.spikeRecoveryMs,
				joinToFirstAudioMs: median(joins) <= GOALS.joinToFirstAudioMs,
				repairGapMs: median(gaps) <= GOALS.repairGapMs,
				concealedPctAtDepth3Loss5: concealedPctAtDepth3Loss5 <= GOALS.concealedPctAtDepth3Loss5,
				e2eMsAtDepth3Loss5: e2eMsAtDepth3Loss5 <= GOALS.e2eMsAtDepth3Loss5
			},
			failedJoins,
			cpuPhaseFailure,
			samples: { spikeBeforeMs: beforeMs.map(round), spikeAfter: after.map((l) => ({ sinceSpikeMs: Math.round(l.at - spikeEnd), ms: round(l.ms) })), joinMs: joins, repairGapMs: gaps.map(Math.round), banToCutMs: cuts, burstsSent: sent.length },
			measuredAt: new Date().toISOString()
		};
		mkdirSync('bench/results', { recursive: true });
		writeFileSync('bench/results/audio.json', JSON.stringify(results, null, 2) + '\n');
		console.log(`
audio benchmark (medians, real Chromium on loopback; each figure includes outputLatencyMs):
  speakerToSpeakerMs    ${speakerToSpeakerMs}   (speaker → speaker, native voice, burst onsets + outputLatencyMs; goal ≤ ${GOALS.speakerToSpeakerMs}; ${stageMs.length} bursts, 3 pairs)
  speakerToSpeakerWebrtcMs ${speakerToSpeakerWebrtcMs}   (the same voice timed by WebRTC: capture → track ${stageCaptureToTrackMs} (abs-capture-time, ${captureToTrack.length} readings) + playout ${stagePlayoutMs} (media-playout stats))
  nativeSpeakerToSpeakerMs ${nativeDefault.ms}   (plain WebRTC between two pages, no Stanza code, timed as speakerToSpeakerMs; ${nativeDefault.bursts} bursts, 3 pairs; playout ${nativeDefault.playoutMs}, output latency ${nativeDefault.outputLatencyMs})
  nativeSpeakerToSpeakerPtime10Ms ${nativeShort.ms}   (the same with the stage's 10 ms frames; ${nativeShort.bursts} bursts, 3 pairs; playout ${nativeShort.playoutMs})${nativeFailure ? `\n  the native baseline failed: ${nativeFailure}` : ''}
  outputLatencyMs       ${outputLatencyMs}   (the AudioContext's baseLatency + outputLatency)
  e2eMsByDepth          ${JSON.stringify(e2eMsByDepth)}   (goal ≤ ${GOALS.e2eMsAtDepth3} at depth 3)
  addedMsPerHop         ${addedMsPerHop}   (goal ≤ ${GOALS.addedMsPerHop})
  jitterTargetMsByDepth ${JSON.stringify(jitterTargetMsByDepth)}   (the jitter buffer's share of each figure above)
  spikeRecoveryMs       ${spikeRecoveryMs}   (1 s main-thread block at depth ${deepest}: until within 20 ms of ${round(before)} again for 2 s (p90 before + 20: ${round(steadyCeiling)}), peak ${spikePeakMs}, last burst > 20 ms late ${spikeLastInflatedMs}; goal ≤ ${GOALS.spikeRecoveryMs})
  concealedPctAtDepth3Loss5 ${concealedPctAtDepth3Loss5}   (5 % of messages dropped on every link; goal ≤ ${GOALS.concealedPctAtDepth3Loss5}; by depth ${JSON.stringify(withRedundancy.concealedPctByDepth)}, without redundancy ${JSON.stringify(withoutRedundancy.concealedPctByDepth)}, with no loss ${JSON.stringify(noLoss.concealedPctByDepth)})
  e2eMsAtDepth3Loss5    ${e2eMsAtDepth3Loss5}   (goal ≤ ${GOALS.e2eMsAtDepth3Loss5}; by depth ${JSON.stringify(withRedundancy.e2eMs)}, without redundancy ${JSON.stringify(withoutRedundancy.e2eMs)})
  joinToFirstAudioMs    ${results.joinToFirstAudioMs}   (goal ≤ ${GOALS.joinToFirstAudioMs}; ${failedJoins} of 5 joins heard nothing in 60 s)
  repairGapMs           ${results.repairGapMs}   (goal ≤ ${GOALS.repairGapMs}; ${gaps.length} repairs)
  banToCutMs            ${results.banToCutMs}   (goal ≤ 1000; ${cuts.length} bans)
  relayCpuPctPerStream  ${relayCpuPctPerStream} % of a core
${cpuPhaseFailure ? `\nthe relay-CPU phase failed (no figure):\n${cpuPhaseFailure}\n` : ''}wrote bench/results/audio.json`);
		expect(Object.keys(e2eMsByDepth).length).toBe(4);
	} finally {
		await bursts.close();
		await tone.close();
		await relay.stop();
	}
}, 900_000);
