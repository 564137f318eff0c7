/**
 * Relays named by whoever hosts the app, at run time: a file
 * `stanza-relays.json` beside `index.html`,
 *
 *   { "relays": ["/dns4/relay.example.org/tcp/443/tls/ws/p2p/12D3KooW…"] }
 *
 * so one build can be copied to any static host or sub-folder and pointed at
 * any relay by editing one file, without a rebuild. No file means no opinion:
 * the app then uses the build's `VITE_STANZA_RELAYS`, else the relay that
 * served it. A file that is there but malformed is an error the person sees
 * (the deployer meant something), never silently ignored.
 *
 * The service worker fetches it network first and keeps the last copy: a
 * deployer's edit is seen on the next load, and the app still finds its
 * relays while the static host is down.
 */

export const DEPLOYED_RELAYS_FILE = 'stanza-relays.json';

// A relay list is a handful of lines; far more is a mistake or an attack on the page.
const MAX_DEPLOYED_RELAYS = 16;
// A multiaddr with a DNS name, a port, /tls/ws and a PeerId fits in ~150 characters.
const MAX_MULTIADDR_LENGTH = 512;
// A static host answers in well under a second; 5 s means it is not going to.
const FETCH_TIMEOUT_MS = 5_000;

export class DeployedRelaysError extends Error {
	override name = 'DeployedRelaysError';
}

/** Validates the file's JSON; throws DeployedRelaysError on anything off. */
export function parseDeployedRelays(doc: unknown): string[] {
	if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
		throw new DeployedRelaysError(`${DEPLOYED_RELAYS_FILE} must be an object like {"relays": ["/dns4/…"]}`);
	}
	const { relays } = doc as Record<string, unknown>;
	if (!Array.isArray(relays) || relays.length === 0) {
		throw new DeployedRelaysError(`${DEPLOYED_RELAYS_FILE}: "relays" must be a non-empty list of multiaddrs`);
	}
	if (relays.length > MAX_DEPLOYED_RELAYS) {
		throw new DeployedRelaysError(`${DEPLOYED_RELAYS_FILE}: at most ${MAX_DEPLOYED_RELAYS} relays`);
	}
	for (const addr of relays) {
		if (typeof addr !== 'string' || !addr.startsWith('/') || addr.length > MAX_MULTIADDR_LENGTH || /\s/.test(addr)) {
			throw new DeployedRelaysError(`${DEPLOYED_RELAYS_FILE}: ${JSON.stringify(addr)?.slice(0, 80)} is not a multiaddr`);
		}
	}
	return relays as string[];
}

/**
 * The relays in the file beside the app at `appUrl` (the page's URL; its
 * fragment and file name are ignored), or [] when there is no such file.
 *
 * "No file" covers what static hosts answer for one: any error status (S3
 * says 403), a network failure, and a page that is not JSON (hosts that
 * answer every path with index.html).
 */
export async function fetchDeployedRelays(appUrl: string, fetchImpl: typeof fetch = fetch): Promise<string[]> {
	let response: Response;
	try {
		response = await fetchImpl(new URL(DEPLOYED_RELAYS_FILE, appUrl), {
			cache: 'no-cache',
			signal: AbortSignal.timeout(FETCH_TIMEOUT_MS)
		});
	} catch {
		return [];
	}
	if (!response.ok || !/json/i.test(response.headers.get('content-type') ?? '')) return [];
	let doc: unknown;
	try {
		doc = await response.json();
	} catch {
		throw new DeployedRelaysError(`${DEPLOYED_RELAYS_FILE} is not valid JSON`);
	}
	return parseDeployedRelays(doc);
}
