import { describe, expect, it } from 'vitest';
import { Trace } from './trace';

describe('Trace', () => {
	it('keeps entries in order with rounded times', () => {
		const t = new Trace();
		t.add(1.4, 'announce', '2 addrs');
		t.add(20.6, 'dial', '…abcdef');
		expect(t.entries).toEqual([
			{ at: 1, event: 'announce', detail: '2 addrs' },
			{ at: 21, event: 'dial', detail: '…abcdef' }
		]);
		expect(t.toString()).toBe('      1 ms  announce  2 addrs\n     21 ms  dial  …abcdef');
	});

	it('stays bounded, says how much it dropped, and cuts long details', () => {
		const t = new Trace();
		for (let i = 0; i < 1000; i++) t.add(i, 'e', String(i));
		expect(t.entries.length).toBe(400);
		expect(t.entries[0].detail).toBe('600');
		expect(t.toString().split('\n')[0]).toBe('(600 older entries dropped)');
		t.add(0, 'long', 'x'.repeat(1000));
		expect(t.entries.at(-1)!.detail.length).toBe(161);
	});
});
