import { describe, expect, it } from 'vitest';
import { SlotHolds } from './slot-holds';
import { admitChild } from './tree-engine';

describe('SlotHolds', () => {
	it('counts a held slot until its link opens or fails', () => {
		const holds = new SlotHolds(10_000);
		holds.hold('a', 'child', 0);
		holds.hold('b', 'standby', 0);
		expect(holds.count('child', 100)).toBe(1);
		expect(holds.count('standby', 100)).toBe(1);
		holds.release('a');
		expect(holds.count('child', 200)).toBe(0);
		expect(holds.count('standby', 200)).toBe(1);
	});

	it('does not count the asker itself, and one peer holds one slot', () => {
		const holds = new SlotHolds(10_000);
		holds.hold('a', 'child', 0);
		holds.hold('a', 'child', 50);
		expect(holds.count('child', 100)).toBe(1);
		expect(holds.count('child', 100, 'a')).toBe(0);
		holds.hold('a', 'standby', 60);
		expect(holds.count('child', 100)).toBe(0);
		expect(holds.count('standby', 100)).toBe(1);
	});

	it('lets a hold nobody released lapse after its time', () => {
		const holds = new SlotHolds(10_000);
		holds.hold('a', 'child', 0);
		holds.hold('b', 'child', 5_000);
		expect(holds.count('child', 9_999)).toBe(2);
		expect(holds.count('child', 10_000)).toBe(1);
		expect(holds.size).toBe(1);
		expect(holds.count('child', 15_000)).toBe(0);
		expect(holds.size).toBe(0);
	});

	it('keeps a second orphan out of a last slot while the first link sets up', () => {
		// The race this exists for: capacity 1, two orphans ask within a handshake.
		const capacity = 1;
		const holds = new SlotHolds(10_000);
		const children = new Set<string>();
		// As audio-room.ts decide() asks: the engine's admission rule, held slots counted as children.
		const admit = (peerId: string, now: number) => {
			const { accept } = admitChild({ depth: 1, capacity, children: children.size + holds.count('child', now, peerId), standbys: 0 }, 'child');
			if (accept) holds.hold(peerId, 'child', now);
			return accept;
		};
		expect(admit('first', 0)).toBe(true);
		expect(admit('second', 40)).toBe(false);
		children.add('first');
		holds.release('first');
		expect(admit('second', 300)).toBe(false);
	});
});
