/**
 * npm run bench:hostile — the hostile-peer suite, longer than `npm test` runs it.
 *
 * - every named attack class (HOSTILE_ATTACKS in src/lib/room/test-peers.ts),
 *   each on a fresh room of real RoomDocs;
 * - PROPERTY_RUNS runs of the byzantine-member property (fast-check, random
 *   seed printed): honest acts interleaved with arbitrary updates, every run
 *   ending in the room the honest acts alone make;
 * - FUZZ_RUNS random byte strings and FUZZ_RUNS mutated real updates against
 *   the gate: only RoomUpdateError, nothing stored;
 * - what refused input costs: a flood of validly signed records the rules
 *   refuse (ms per record, signatures checked).
 * - audio packets: forgeries a relaying listener could make (every one
 *   refused), and what authentication costs per packet (WebCrypto Ed25519,
 *   Node's OpenSSL here; Chromium's BoringSSL in the app), as microseconds and
 *   as the share of a core it adds to one relayed 50-packet/s stream.
 * Writes bench/results/hostile.json: attacksTried (distinct attack kinds),
 * attacksBroke (must be 0), propertyRuns, and the rest.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as Y from 'yjs';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { PacketSigner, PacketVerifier } from '../src/lib/audio/packet-auth';
import { decodePacket, encodePacket, SIGNATURE_BYTES } from '../src/lib/audio/packet-codec';
import { RoomUpdateError } from '../src/lib/room/room-doc';
import { forge, HOSTILE_ATTACKS, hostileScript, hostileWorld, makeIdentity, playHostileScript, recordsUpdate } from '../src/lib/room/test-peers';

const PROPERTY_RUNS = 300;
const FUZZ_RUNS = 20_000;

it('runs every hostile-peer attack', async () => {
	const tried = new Set<string>();
	const broke: string[] = [];

	for (const attack of HOSTILE_ATTACKS) {
		tried.add(attack.name);
		try {
			await attack.run(await hostileWorld());
		} catch (err) {
			broke.push(`${attack.name}: ${(err as Error).message}`);
		}
	}

	const seed = Date.now() % 2 ** 31;
	const moves = new Set<string>();
	const property = await fc.check(
		fc.asyncProperty(hostileScript(), async (script) => {
			for (const kind of await playHostileScript(script)) moves.add(kind);
		}),
		{ numRuns: PROPERTY_RUNS, seed }
	);
	for (const kind of moves) if (kind !== 'honest') tried.add(`byzantine move: ${kind}`);
	if (property.failed) broke.push(`property (seed ${seed}): ${fc.defaultReportMessage(property)}`);

	const w = await hostileWorld();
	const real = Y.encodeStateAsUpdate(w.creator.room.doc);
	const before = Y.encodeStateAsUpdate(w.listener.room.doc);
	let wrongError = 0;
	const feed = async (input: Uint8Array) => {
		await w.listener.room.applyUpdate(input, 'net').catch((err) => {
			if (!(err instanceof RoomUpdateError)) wrongError++;
		});
	};
	for (const bytes of fc.sample(fc.uint8Array({ maxLength: 300 }), { numRuns: FUZZ_RUNS, seed })) await feed(bytes);
	for (const [at, value] of fc.sample(fc.tuple(fc.nat(real.length - 1), fc.nat(255)), { numRuns: FUZZ_RUNS, seed })) {
		const mutated = real.slice();
		mutated[at] = value;
		await feed(mutated);
	}
	tried.add('random bytes').add('mutated real updates');
	if (wrongError > 0 || !equal(Y.encodeStateAsUpdate(w.listener.room.doc), before)) broke.push(`fuzz: ${wrongError} non-RoomUpdateError throws or a changed document`);

	// What refused input costs: 1,000 validly signed records from a throwaway key, refused by the rules.
	const throwaway = { ...w.attacker, ...(await makeIdentity()) };
	const flood = [];
	for (let i = 0; i < 1_000; i++) flood.push(await forge(throwaway, { kind: 'meta', title: `spam ${i}`, description: 'x'.repeat(900) }));
	const checks = w.listener.room.signatureChecks;
	const floodMs: number[] = [];
	for (let run = 0; run < 5; run++) {
		const started = performance.now();
		await w.listener.room.applyUpdate(recordsUpdate(flood), 'net');
		floodMs.push(performance.now() - started);
	}
	const refusedFloodMsPer1000 = Math.round(median(floodMs));

	const audio = await audioPackets();
	for (const [name, held] of audio.attacks) {
		tried.add(name);
		if (!held) broke.push(`audio: ${name}`);
	}

	const results = {
		packetAuthUsPerPacket: audio.verifyUs,
		packetSignUsPerPacket: audio.signUs,
		authCpuPctPerRelayedStream: audio.cpuPct,
		attacksTried: tried.size,
		attacksBroke: broke.length,
		propertyRuns: PROPERTY_RUNS,
		propertySeed: seed,
		fuzzInputs: 2 * FUZZ_RUNS,
		refusedFloodMsPer1000,
		refusedFloodSignatureChecks: w.listener.room.signatureChecks - checks,
		attacks: [...tried],
		broke
	};
	mkdirSync('bench/results', { recursive: true });
	writeFileSync('bench/results/hostile.json', JSON.stringify(results, null, 2) + '\n');
	console.log(`bench:hostile
  attacksTried   ${results.attacksTried}
  attacksBroke   ${results.attacksBroke}${broke.map((b) => `\n    ${b}`).join('')}
  propertyRuns   ${PROPERTY_RUNS} (seed ${seed})
  fuzz inputs    ${results.fuzzInputs}
  1,000 refused signed records: ${refusedFloodMsPer1000} ms (median of 5), ${results.refusedFloodSignatureChecks} signatures checked
  audio packet: verify ${audio.verifyUs} µs, sign ${audio.signUs} µs (medians of 5 × 2,000)
  checking one relayed stream (50 packets/s) takes ${audio.cpuPct} % of a core
wrote bench/results/hostile.json`);
	expect(results.attacksTried).toBeGreaterThanOrEqual(20);
	expect(results.attacksBroke).toBe(0);
}, 1_800_000);

/** Forgeries of audio packets (each must be refused), and the cost of signing and checking. */
async function audioPackets() {
	const key = await generateKeyPair('Ed25519');
	const speaker = peerIdFromPrivateKey(key).toString();
	const other = await generateKeyPair('Ed25519');
	const signer = await PacketSigner.create(key, 'bench-room');
	const verifier = new PacketVerifier('bench-room');
	const frame = { flags: 0, speakerTag: 0x0a0b0c0d, seq: 1, captureTs: 960, payload: new Uint8Array(80).fill(0x5a) };
	const genuine = await signer.encode(frame);
	const refused = async (bytes: Uint8Array, as = speaker) => {
		try {
			return !(await verifier.verify(as, decodePacket(bytes)));
		} catch {
			return true; // malformed: never reaches the player
		}
	};
	const flipped = (at: number) => {
		const bytes = genuine.slice();
		bytes[at] ^= 1;
		return bytes;
	};
	const attacks: [string, boolean][] = [
		['audio: a relay changes a payload byte', await refused(flipped(20))],
		['audio: a relay rewrites seq or capture time', (await refused(flipped(9))) && (await refused(flipped(13)))],
		['audio: a relay re-tags a packet as another speaker', await refused(flipped(3))],
		['audio: a relay signs its own packet under the speaker’s tag', await refused(await (await PacketSigner.create(other, 'bench-room')).encode(frame))],
		['audio: a packet signed for another room', await refused(await (await PacketSigner.create(key, 'other-room')).encode(frame))],
		['audio: a packet with its signature zeroed', await refused(encodePacket(frame, new Uint8Array(SIGNATURE_BYTES)))],
		['audio: a packet with its signature cut off', await refused(genuine.subarray(0, genuine.length - SIGNATURE_BYTES))]
	];
	const time = async (n: number, fn: () => Promise<unknown>) => {
		const runs: number[] = [];
		for (let r = 0; r < 5; r++) {
			const started = performance.now();
			for (let i = 0; i < n; i++) await fn();
			runs.push(((performance.now() - started) * 1000) / n);
		}
		return median(runs);
	};
	const decoded = decodePacket(genuine);
	await verifier.verify(speaker, decoded); // the key imported once, as in the app
	const verifyUs = Math.round(await time(2_000, () => verifier.verify(speaker, decoded)));
	const signUs = Math.round(await time(2_000, () => signer.encode(frame)));
	const cpuPct = Math.round(((verifyUs * 50) / 1e6) * 100 * 100) / 100;
	return { attacks, verifyUs, signUs, cpuPct };
}

function median(xs: number[]): number {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
	return a.length === b.length && a.every((x, i) => x === b[i]);
}
