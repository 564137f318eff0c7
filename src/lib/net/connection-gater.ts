import type { ConnectionGater } from '@libp2p/interface';

/**
 * libp2p's browser default refuses `ws://` and private or loopback addresses.
 * That is right for a page served over https, but a relay on a LAN or on
 * localhost serves the app over plain http and listens on a private address:
 * there (and only there) the app must be allowed to dial them. A page served
 * over https cannot open ws:// anyway (mixed content), so it keeps the default.
 */
export function connectionGaterFor(pageProtocol: string): ConnectionGater | undefined {
	if (pageProtocol === 'https:') return undefined;
	return { denyDialMultiaddr: () => false };
}
