/**
 * ICE servers for every WebRTC connection the app makes (libp2p's and the
 * audio tree's). None are needed on a LAN or loopback; across the internet a
 * deployment names its STUN/TURN servers at build time:
 *
 *   VITE_STANZA_ICE_SERVERS='[{"urls":"stun:stun.example.org:3478"}]' npm run build
 *
 * Nothing is contacted by default: no public STUN server learns who is in a room.
 */
export function parseIceServers(value: string | undefined): RTCIceServer[] {
	if (!value?.trim()) return [];
	let doc: unknown;
	try {
		doc = JSON.parse(value);
	} catch {
		throw new Error('VITE_STANZA_ICE_SERVERS must be a JSON list of RTCIceServer objects');
	}
	const list = Array.isArray(doc) ? doc : [doc];
	return list.filter((s): s is RTCIceServer => {
		const urls = (s as RTCIceServer | null)?.urls;
		const ok = (u: unknown) => typeof u === 'string' && /^(stun|stuns|turn|turns):/.test(u);
		return typeof s === 'object' && s !== null && (ok(urls) || (Array.isArray(urls) && urls.length > 0 && urls.every(ok)));
	});
}
