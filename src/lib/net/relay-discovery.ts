import { fetchDeployedRelays } from './deployed-relays';
import { parseRelayInfo, relayAddressForOrigin, WELL_KNOWN_RELAY_PATH } from './relay-address';

// A relay that does not answer its own well-known URL in 5 s is as good as down.
const DISCOVERY_TIMEOUT_MS = 5_000;

/**
 * The relays to dial: those in `stanza-relays.json` beside the app at
 * `appUrl` if there is one (deployed-relays.ts), else the build's configured
 * list if any, else the relay that serves `origin`, asked through its
 * well-known document.
 * Throws (network error, timeout, RelayInfoError, DeployedRelaysError) when there is none.
 */
export async function discoverRelays(
	origin: string,
	configured: string[],
	fetchImpl: typeof fetch = fetch,
	appUrl: string | null = null
): Promise<string[]> {
	// Both asked at once: the usual case (no file) then costs no extra round trip.
	const deployed = appUrl === null ? Promise.resolve([]) : fetchDeployedRelays(appUrl, fetchImpl);
	const fallback = configured.length > 0 ? Promise.resolve(configured) : askWellKnown(origin, fetchImpl);
	// Unused when the file names relays; its failure then means nothing.
	fallback.catch(() => {});
	const fromFile = await deployed;
	return fromFile.length > 0 ? fromFile : fallback;
}

/**
 * The relay that serves `origin`, asked through its well-known document,
 * then the relays it federates with (spares, so that losing it does not
 * leave the app on no relay).
 */
export async function askWellKnown(origin: string, fetchImpl: typeof fetch): Promise<string[]> {
	const response = await fetchImpl(new URL(WELL_KNOWN_RELAY_PATH, origin), {
		cache: 'no-store',
		signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS)
	});
	if (!response.ok) throw new Error(`relay info answered HTTP ${response.status}`);
	const info = parseRelayInfo(await response.json());
	return [relayAddressForOrigin(origin, info.peerId), ...info.federation];
}
