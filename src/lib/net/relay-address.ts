/**
 * Which relays the app dials. The relay that served the page publishes its
 * PeerId and multiaddrs at a well-known URL; the app then dials it at the very
 * host and port it was loaded from, so the same build works on localhost, on a
 * LAN address, or behind a TLS proxy with no configuration at all.
 */
import { looksLikePeerId } from '../wire/peer-id-text';

export const WELL_KNOWN_RELAY_PATH = '/.well-known/stanza-relay.json';
// Far above a real answer: a relay listing hundreds of addresses is broken or hostile.
const MAX_WELL_KNOWN_ADDRS = 32;
// A relay federates with at most 16 others (relay/config.js); more is not a relay of ours.
const MAX_FEDERATION = 16;
const MAX_ADDR_LENGTH = 512;

export interface RelayInfo {
	peerId: string;
	multiaddrs: string[];
	/** The relays this one federates with that a browser could dial: spares to stay on. */
	federation: string[];
}

/** Ends in `/p2p/<PeerId>`. */
export const ENDS_IN_PEER_ID = /\/p2p\/[1-9A-HJ-NP-Za-km-z]{40,}$/;
/** Names a transport a browser can dial: WebSockets or WebTransport (a bare TCP address is for servers). */
export const BROWSER_TRANSPORT = /\/(ws|wss|tls\/ws|webtransport)(\/|$)/;

/** A relay address a browser can dial: a WebSocket (or WebTransport) multiaddr ending in `/p2p/<PeerId>`. */
export function isBrowserRelayAddress(addr: unknown): addr is string {
	return (
		typeof addr === 'string' &&
		addr.length <= MAX_ADDR_LENGTH &&
		addr.startsWith('/') &&
		!/\s/.test(addr) &&
		!addr.includes('/p2p-circuit') &&
		ENDS_IN_PEER_ID.test(addr) &&
		BROWSER_TRANSPORT.test(addr)
	);
}

export class RelayInfoError extends Error {
	override name = 'RelayInfoError';
}

/** Validates the well-known document; throws RelayInfoError on anything off. */
export function parseRelayInfo(doc: unknown): RelayInfo {
	if (typeof doc !== 'object' || doc === null) throw new RelayInfoError('relay info is not an object');
	const { version, peerId, multiaddrs, federation } = doc as Record<string, unknown>;
	if (version !== 1) throw new RelayInfoError(`unsupported relay info version ${String(version)}`);
	if (!looksLikePeerId(peerId)) {
		throw new RelayInfoError('relay info has no valid peerId');
	}
	if (!Array.isArray(multiaddrs) || multiaddrs.some((m) => typeof m !== 'string' || !m.startsWith('/'))) {
		throw new RelayInfoError('relay info multiaddrs must be a list of multiaddr strings');
	}
	// Optional, and only a hint: what a browser could not dial is left out rather than refusing the relay itself.
	const spares = Array.isArray(federation) ? federation.slice(0, MAX_FEDERATION).filter(isBrowserRelayAddress) : [];
	return { peerId, multiaddrs: (multiaddrs as string[]).slice(0, MAX_WELL_KNOWN_ADDRS), federation: spares };
}

/**
 * The relay's address as seen from the page's own origin: same host and port,
 * `/tls/ws` under https and `/ws` under http.
 */
export function relayAddressForOrigin(origin: string, peerId: string): string {
	const url = new URL(origin);
	const secure = url.protocol === 'https:';
	const port = url.port || (secure ? '443' : '80');
	const host = url.hostname;
	let hostPart: string;
	if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) hostPart = `/ip4/${host}`;
	else if (host.startsWith('[')) hostPart = `/ip6/${host.slice(1, -1)}`;
	else hostPart = `/dns/${host}`;
	return `${hostPart}/tcp/${port}/${secure ? 'tls/ws' : 'ws'}/p2p/${peerId}`;
}

/**
 * Relay addresses configured at build time (`VITE_STANZA_RELAYS`, comma
 * separated), for an app hosted away from any relay.
 */
export function parseConfiguredRelays(value: string | undefined): string[] {
	return (value ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s.startsWith('/'));
}

const WEBSOCKET_ADDR = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d+)\/(ws|wss|tls\/ws|tls\/sni\/[^/]+\/ws)(\/p2p\/[^/]+)?$/;

/** A path on the HTTP port of the relay whose WebSocket is `multiaddr` (its one port), or null when it is not one. */
export function relayHttpUrl(multiaddr: string, path: string): string | null {
	const match = WEBSOCKET_ADDR.exec(multiaddr);
	if (!match) return null;
	const [, kind, host, port, transport] = match;
	const secure = transport !== 'ws';
	const hostPart = kind === 'ip6' ? `[${host}]` : host;
	const defaultPort = secure ? '443' : '80';
	return `${secure ? 'https' : 'http'}://${hostPart}${port === defaultPort ? '' : `:${port}`}${path}`;
}
