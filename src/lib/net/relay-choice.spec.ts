import { describe, expect, it } from 'vitest';
import { distinctRelays, MAX_RELAYS, RelayRace, relayKey } from './relay-choice';

const A = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp';
const B = '12D3KooWRBgezhW2KnjB5zKVkwxSQ5rD4CenT51wzBwGfbPZq6JE';

describe('relay choice', () => {
	it('names a relay by the PeerId its address ends in', () => {
		expect(relayKey(`/dns4/r.example.org/tcp/443/tls/ws/p2p/${A}`)).toBe(A);
		expect(relayKey(`/ip4/192.0.2.1/tcp/8080/ws/p2p/${B}`)).toBe(B);
		expect(relayKey('/ip4/192.0.2.1/tcp/8080/ws')).toBe('/ip4/192.0.2.1/tcp/8080/ws');
		expect(distinctRelays([`/dns4/r.example.org/tcp/443/tls/ws/p2p/${A}`, `/ip4/192.0.2.1/tcp/8080/ws/p2p/${A}`, `/ip4/192.0.2.2/tcp/8080/ws/p2p/${B}`])).toBe(2);
	});

	it('keeps the first relays to answer, up to the cap, and hangs up on the rest', () => {
		const race = new RelayRace([]);
		expect(MAX_RELAYS).toBe(2);
		expect(race.answered('fast')).toBe(true);
		expect(race.full).toBe(false);
		expect(race.answered('second')).toBe(true);
		expect(race.answered('slow')).toBe(false);
		expect(race.answered('fast')).toBe(true);
		expect([...race.kept]).toEqual(['fast', 'second']);
	});

	it('counts relays already connected first, so a top-up only fills the gap', () => {
		const race = new RelayRace(['kept']);
		expect(race.answered('new')).toBe(true);
		expect(race.answered('another')).toBe(false);
		expect(new RelayRace(['a', 'b', 'c']).kept.size).toBe(2);
	});
});
