import { describe, expect, it } from 'vitest';
import { HOSTILE_ATTACKS, hostileWorld } from './test-peers';

describe('hostile peers: each attack class', () => {
	it.each(HOSTILE_ATTACKS.map((a) => [a.name, a] as const))('%s', async (_name, attack) => {
		const world = await hostileWorld();
		await attack.run(world);
		expect(world.honest.every((p) => p.room.view.exists)).toBe(true);
	}, 60_000);
});
