/**
 * A closing page's last word: its goodbye, handed to every relay it is
 * connected to by `navigator.sendBeacon`, the one request a browser still
 * sends after the page is gone. The relay publishes it on the room's topic
 * (relay/goodbye.js); see room-topic-protocol.ts for what is inside.
 */
import { toString } from 'uint8arrays';
import type { StanzaNode } from './libp2p-node';
import { relayHttpUrl } from './relay-address';

/** Where a relay takes goodbyes: its one HTTP port (relay/http-server.js), the port of its WebSocket. */
export const GOODBYE_PATH = '/v1/goodbye';


/** The goodbye URL of a relay reached at `multiaddr`, or null when it is not a relay's WebSocket address. */
export function goodbyeUrlFor(multiaddr: string): string | null {
	return relayHttpUrl(multiaddr, GOODBYE_PATH);
}


/** The beacon's body: a CORS-safelisted text/plain, so no preflight stands between a closing page and the relay. */
export function goodbyeBody(topic: string, sealed: Uint8Array): string {
	return `${topic}\n${toString(sealed, 'base64pad')}`;
}

/**
 * Hands the sealed goodbye to every relay the node is connected to (a
 * browser's only WebSocket connections are to relays). Synchronous, for a
 * `pagehide` handler. Returns how many relays it went to.
 */
export function sendGoodbye(node: StanzaNode, topic: string, sealed: Uint8Array): number {
	const beacon = globalThis.navigator?.sendBeacon?.bind(globalThis.navigator);
	if (!beacon) return 0;
	const urls = new Set<string>();
	for (const connection of node.getConnections()) {
		const url = connection.status === 'open' ? goodbyeUrlFor(connection.remoteAddr.toString()) : null;
		if (url) urls.add(url);
	}
	const body = goodbyeBody(topic, sealed);
	let sent = 0;
	for (const url of urls) if (beacon(url, body)) sent++;
	return sent;
}
