import { describe, expect, it } from 'vitest';
import { getUserMediaFailure } from './microphone';

describe('what a refused microphone means', () => {
	it.each([
		['NotAllowedError', 'denied'],
		['SecurityError', 'denied'],
		['NotFoundError', 'unavailable'],
		['OverconstrainedError', 'unavailable'],
		['NotReadableError', 'busy'],
		['AbortError', 'busy'],
		['TypeError', 'capture']
	])('%s → %s', (name, reason) => {
		expect(getUserMediaFailure(new DOMException('x', name))).toBe(reason);
	});

	it('treats anything that is not a DOMException as a capture failure, not as "no microphone"', () => {
		expect(getUserMediaFailure(new Error('boom'))).toBe('capture');
		expect(getUserMediaFailure(undefined)).toBe('capture');
	});
});
