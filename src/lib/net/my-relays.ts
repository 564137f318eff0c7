/**
 * Relays a person adds themselves (Settings), dialled beside the ones the
 * app found (relay-discovery.ts): a second way in when the app's own relay is
 * blocked or gone, with nobody's permission needed. A person gives either a
 * relay's multiaddr, as the relay logs it, or the web address a relay serves
 * (`https://relay.example.org`), which is asked for its multiaddr through its
 * well-known document once, when it is added: the list keeps multiaddrs only,
 * so starting the app never waits on a relay that stopped answering.
 */
import { BROWSER_TRANSPORT, ENDS_IN_PEER_ID } from './relay-address';
import { askWellKnown } from './relay-discovery';

// A handful is plenty: each one is dialled at every start.
export const MAX_MY_RELAYS = 8;
// A multiaddr with a DNS name, a port, /tls/ws and a PeerId fits in ~150 characters.
const MAX_ENTRY_LENGTH = 512;

export type RelayEntryProblem = 'empty' | 'not-an-address' | 'no-peer-id' | 'not-for-browsers' | 'too-many' | 'already-there' | 'unreachable';

export class RelayEntryError extends Error {
	override name = 'RelayEntryError';
	constructor(readonly problem: RelayEntryProblem) {
		super(`relay entry refused: ${problem}`);
	}
}

/** The entry as kept: a multiaddr, or a web address reduced to its origin. Throws RelayEntryError. */
export function parseRelayEntry(text: string): string {
	const entry = text.trim();
	if (entry === '') throw new RelayEntryError('empty');
	if (entry.length > MAX_ENTRY_LENGTH || /\s/.test(entry)) throw new RelayEntryError('not-an-address');
	if (entry.startsWith('/')) {
		if (!ENDS_IN_PEER_ID.test(entry)) throw new RelayEntryError('no-peer-id');
		if (!BROWSER_TRANSPORT.test(entry)) throw new RelayEntryError('not-for-browsers');
		return entry;
	}
	let url: URL;
	try {
		url = new URL(entry);
	} catch {
		throw new RelayEntryError('not-an-address');
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RelayEntryError('not-an-address');
	return url.origin;
}

/** The list with `addr` (a multiaddr, see relayAddressOf) added: at most MAX_MY_RELAYS, no repeats. Throws RelayEntryError. */
export function withRelay(list: readonly string[], addr: string): string[] {
	const entry = parseRelayEntry(addr);
	if (!entry.startsWith('/')) throw new RelayEntryError('not-an-address');
	if (list.includes(entry)) throw new RelayEntryError('already-there');
	if (list.length >= MAX_MY_RELAYS) throw new RelayEntryError('too-many');
	return [...list, entry];
}

/** A stored list as it was kept, keeping only entries that still parse (storage is not trusted to be ours). */
export function readRelayList(stored: string | null): string[] {
	if (!stored) return [];
	try {
		const parsed: unknown = JSON.parse(stored);
		if (!Array.isArray(parsed)) return [];
		const out: string[] = [];
		for (const item of parsed.slice(0, MAX_MY_RELAYS)) {
			try {
				const entry = typeof item === 'string' ? parseRelayEntry(item) : '';
				if (entry.startsWith('/') && !out.includes(entry)) out.push(entry);
			} catch {
				// dropped
			}
		}
		return out;
	} catch {
		return [];
	}
}

/** The multiaddr to keep for what a person typed: itself, or what the web address's relay says it is. Throws RelayEntryError. */
export async function relayAddressOf(text: string, fetchImpl: typeof fetch = fetch): Promise<string> {
	const entry = parseRelayEntry(text);
	if (entry.startsWith('/')) return entry;
	try {
		const [addr] = await askWellKnown(entry, fetchImpl);
		return addr;
	} catch {
		throw new RelayEntryError('unreachable');
	}
}
