import { describe, expect, it } from 'vitest';
import { DEFAULT_RELAY_CAPACITY, relayCapacity } from './relay-budget';

describe('relayCapacity', () => {
	it.each([
		[null, undefined, DEFAULT_RELAY_CAPACITY],
		[null, { type: 'cellular' }, 0],
		[null, { saveData: true }, 0],
		['2', { type: 'cellular' }, 2],
		['0', undefined, 0],
		['9', undefined, DEFAULT_RELAY_CAPACITY],
		['-1', undefined, DEFAULT_RELAY_CAPACITY],
		['auto', { type: 'wifi' }, DEFAULT_RELAY_CAPACITY]
	])('declared %s on %j → %i', (declared, connection, expected) => {
		expect(relayCapacity(declared, connection)).toBe(expected);
	});
});
