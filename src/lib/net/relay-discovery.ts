import { parseRelayInfo, relayAddressForOrigin, WELL_KNOWN_RELAY_PATH } from './relay-address';

// A relay that does not answer its own well-known URL in 5 s is as good as down.
const DISCOVERY_TIMEOUT_MS = 5_000;

/**
 * The relays to dial: the build's configured list if any, else the relay
 * that serves `origin`, asked through its well-known document.
 * Throws (network error, timeout, RelayInfoError) when there is none.
 */
export async function discoverRelays(
	origin: string,
	configured: string[],
	fetchImpl: typeof fetch = fetch
): Promise<string[]> {
	if (configured.length > 0) return configured;
	const response = await fetchImpl(new URL(WELL_KNOWN_RELAY_PATH, origin), {
		cache: 'no-store',
		signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS)
	});
	if (!response.ok) throw new Error(`relay info answered HTTP ${response.status}`);
	const info = parseRelayInfo(await response.json());
	return [relayAddressForOrigin(origin, info.peerId)];
}
