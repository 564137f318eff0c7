import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { RoomUpdateError } from './room-doc';
import { HOSTILE_ATTACKS, hostileScript, hostileWorld, playHostileScript } from './test-peers';

describe('hostile peers: each attack class', () => {
	it.each(HOSTILE_ATTACKS.map((a) => [a.name, a] as const))('%s', async (_name, attack) => {
		const world = await hostileWorld();
		await attack.run(world);
		expect(world.honest.every((p) => p.room.view.exists)).toBe(true);
	}, 60_000);
});

describe('hostile peers: a byzantine member sending anything (property)', () => {
	it('honest peers converge on the room the honest acts alone make', async () => {
		const tried = new Set<string>();
		await fc.assert(
			fc.asyncProperty(hostileScript(), async (script) => {
				for (const kind of await playHostileScript(script)) tried.add(kind);
			}),
			{ numRuns: 12, seed: 7_2026 }
		);
		expect(tried.size).toBeGreaterThanOrEqual(8);
	}, 120_000);

	it('random and mutated inputs (1,000 of each here; 20,000 in bench:hostile) change nothing and throw only RoomUpdateError', async () => {
		const w = await hostileWorld();
		const real = Y.encodeStateAsUpdate(w.creator.room.doc);
		const before = Y.encodeStateAsUpdate(w.listener.room.doc);
		await fc.assert(
			fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.nat(real.length - 1), fc.nat(255), async (noise, at, value) => {
				const mutated = real.slice();
				mutated[at] = value;
				for (const input of [noise, mutated]) {
					await w.listener.room.applyUpdate(input, 'net').catch((err) => expect(err).toBeInstanceOf(RoomUpdateError));
				}
			}),
			{ numRuns: 1_000, seed: 7_2026 }
		);
		expect(Y.encodeStateAsUpdate(w.listener.room.doc)).toEqual(before);
	}, 60_000);
});
