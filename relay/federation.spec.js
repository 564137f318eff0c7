// @ts-check
import { describe, expect, it } from 'vitest';
import { federatedPeers } from './federation.js';

const ID = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';
const OTHER = '12D3KooWRBgezhW2KnjB5zKVkwxSQ5rD4CenT51wzBwGfbPZq6JE';

describe('federatedPeers', () => {
	it('groups addresses by relay, as gossipsub direct peers', () => {
		const { directPeers, ids } = federatedPeers([
			`/dns4/relay2.example.org/tcp/443/tls/ws/p2p/${ID}`,
			`/ip4/192.0.2.9/tcp/8080/ws/p2p/${ID}`,
			`/ip4/192.0.2.10/tcp/8080/ws/p2p/${OTHER}`
		]);
		expect([...ids]).toEqual([ID, OTHER]);
		expect(directPeers.map((p) => [p.id.toString(), p.addrs.map(String)])).toEqual([
			[ID, [`/dns4/relay2.example.org/tcp/443/tls/ws/p2p/${ID}`, `/ip4/192.0.2.9/tcp/8080/ws/p2p/${ID}`]],
			[OTHER, [`/ip4/192.0.2.10/tcp/8080/ws/p2p/${OTHER}`]]
		]);
	});

	it('is empty without --federate, and refuses an address that names no relay', () => {
		expect(federatedPeers([]).ids.size).toBe(0);
		expect(() => federatedPeers(['/ip4/192.0.2.9/tcp/8080/ws'])).toThrow(/without \/p2p/);
	});
});
