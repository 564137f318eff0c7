import { describe, expect, it } from 'vitest';
import { looksLikePeerId } from './peer-id-text';

describe('looksLikePeerId', () => {
	it('takes an Ed25519 PeerId', () => {
		expect(looksLikePeerId('12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN')).toBe(true);
	});

	it.each([
		['a number', 5],
		['null', null],
		['too short', '12D3KooW'],
		['a path', '../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
		['base58 without 0, O, I and l', '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXT0'],
		['far too long', '1'.repeat(61)]
	])('refuses %s', (_label, value) => {
		expect(looksLikePeerId(value)).toBe(false);
	});
});
