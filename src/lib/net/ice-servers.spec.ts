import { describe, expect, it } from 'vitest';
import { parseIceServers } from './ice-servers';

describe('parseIceServers', () => {
	it('is empty unless configured', () => {
		expect(parseIceServers(undefined)).toEqual([]);
		expect(parseIceServers('  ')).toEqual([]);
	});

	it('reads a list, or a single server, and drops entries that are not STUN/TURN', () => {
		expect(parseIceServers('[{"urls":"stun:a:3478"},{"urls":["turn:b"],"username":"u","credential":"c"},{"urls":"http://x"},5]')).toEqual([
			{ urls: 'stun:a:3478' },
			{ urls: ['turn:b'], username: 'u', credential: 'c' }
		]);
		expect(parseIceServers('{"urls":"stun:a"}')).toEqual([{ urls: 'stun:a' }]);
	});

	it('says what is wrong with malformed JSON', () => {
		expect(() => parseIceServers('[')).toThrow(/JSON list/);
	});
});
