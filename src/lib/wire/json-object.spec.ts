import { describe, expect, it } from 'vitest';
import { parseJsonObject } from './json-object';

const fail = (m: string) => new RangeError(m);
const bytes = (s: string) => new TextEncoder().encode(s);

describe('parseJsonObject', () => {
	it('returns plain objects', () => {
		expect(parseJsonObject(bytes('{"a":1}'), fail, 'x')).toEqual({ a: 1 });
	});

	it.each([
		['invalid UTF-8', new Uint8Array([0xff]), /not UTF-8 JSON/],
		['not JSON', bytes('{'), /not UTF-8 JSON/],
		['an array', bytes('[]'), /not an object/],
		['null', bytes('null'), /not an object/],
		['a string', bytes('"s"'), /not an object/]
	])('refuses %s with the protocol’s own error', (_label, input, message) => {
		expect(() => parseJsonObject(input, fail, 'x')).toThrow(RangeError);
		expect(() => parseJsonObject(input, fail, 'x')).toThrow(message);
	});
});
