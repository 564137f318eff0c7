/** A direct browser-to-browser connection (WebRTC), as opposed to one through a relay. */
export function isDirectConnection(remoteAddr: string): boolean {
	return /\/webrtc(\/|$)/.test(remoteAddr);
}
