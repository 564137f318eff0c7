/** A direct browser-to-browser connection (WebRTC), as opposed to one through a relay. */
export function isDirectConnection(remoteAddr: string): boolean {
	return /\/webrtc(\/|$)/.test(remoteAddr);
}

/** The relay a circuit address goes through (the PeerId before `/p2p-circuit`), or null. */
export function relayOf(addr: string): string | null {
	return /\/p2p\/([^/]+)\/p2p-circuit(\/|$)/.exec(addr)?.[1] ?? null;
}
