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
 * Writes bench/results/hostile.json: attacksTried (distinct attack kinds),
 * attacksBroke (must be 0), propertyRuns, and the rest.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as Y from 'yjs';
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

	const results = {
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
wrote bench/results/hostile.json`);
	expect(results.attacksTried).toBeGreaterThanOrEqual(20);
	expect(results.attacksBroke).toBe(0);
}, 1_800_000);

function median(xs: number[]): number {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
	return a.length === b.length && a.every((x, i) => x === b[i]);
}
