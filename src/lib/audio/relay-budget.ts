/**
 * How many listeners this device feeds in the audio tree (its fan-out).
 * A person can declare it; otherwise it is guessed from the connection:
 * on cellular or data-saver, nobody (relaying costs the person's data and
 * battery); elsewhere 4, about 660 kbps of upload (STREAM_KBPS each).
 */
import { MAX_CHILDREN } from './tree-planner';

export const RELAY_CAPACITY_KEY = 'stanza.relayCapacity';
export const DEFAULT_RELAY_CAPACITY = 4;

export interface ConnectionHints {
	type?: string;
	saveData?: boolean;
}

export function autoCapacity(connection: ConnectionHints | undefined): number {
	if (connection?.saveData || connection?.type === 'cellular') return 0;
	return DEFAULT_RELAY_CAPACITY;
}

/** A declared capacity ('0'…'8') wins; anything else means automatic. */
export function relayCapacity(declared: string | null, connection: ConnectionHints | undefined): number {
	const n = declared === null ? NaN : Number(declared);
	return Number.isInteger(n) && n >= 0 && n <= MAX_CHILDREN ? n : autoCapacity(connection);
}
