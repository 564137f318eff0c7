// @ts-check
/**
 * bench:relay's honest pingers, on a thread of their own: PING_SAMPLE peers
 * that connect, reserve, and ping the relay when asked. On the main thread
 * their round trips would also time that thread's own work (thousands of
 * clients, and during the abuse phase the abuser's flood loop, which keeps
 * it busy), not only the relay's: a real honest peer does not share its
 * event loop with the attacker.
 *
 * workerData: { relayAddr, sources, count }. Posts { ready: n } once n
 * peers hold reservations; answers { ping: k } with { rtts } (k pings per
 * peer, all peers at once), and { stop: true } with { stopped: true }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { multiaddr } from '@multiformats/multiaddr';
import { hopReserve } from '../relay/test-support/hop-reserve.js';
import { makePeer, spreadSources } from './relay-client.js';

const { relayAddr, sources, count } = /** @type {{ relayAddr: string, sources: string[], count: number }} */ (workerData);
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
spreadSources(sources);
const relay = multiaddr(relayAddr);

const peers = await Promise.all(
	Array.from({ length: count }, async () => {
		const p = await makePeer();
		const status = await hopReserve(p, relay);
		if (status !== 'OK') throw new Error(`pinger reservation: ${status}`);
		return p;
	})
);
port.postMessage({ ready: peers.length });

port.on('message', async (/** @type {{ ping?: number, stop?: boolean }} */ message) => {
	if (message.stop) {
		await Promise.all(peers.map((p) => p.stop()));
		port.postMessage({ stopped: true });
		return;
	}
	/** @type {number[]} */
	const rtts = [];
	await Promise.all(
		peers.map(async (p) => {
			for (let i = 0; i < (message.ping ?? 1); i++) rtts.push(await p.services.ping.ping(relay));
		})
	);
	port.postMessage({ rtts });
});
