// @ts-check
/**
 * Relay discovery among federated relays — protocol `/stanza/relays/1.0.0`.
 *
 * `--federate` is the bootstrap list: an operator names one relay of the
 * community (on both sides) and finds the rest through it. Each relay asks
 * the relays it federates with which relays *they* federate with, and
 * federates with those too (up to MAX_FEDERATED in all): they become
 * gossipsub direct peers, pass the per-peer gossip rates, and are kept
 * connected, exactly like listed ones. So when relay B, which A and C both
 * list, is blocked or seized, A and C already carry each other's rooms.
 *
 * Trust: a relay believes only relays it already federates with (listed, or
 * learned from one that was); a stranger that asks gets its stream aborted,
 * and a stranger's claims are never asked for. A federated relay could
 * already forward unmetered gossip of its own, so vouching for others gives
 * it nothing new, and MAX_FEDERATED bounds what it can add. Nothing learned
 * is written to disk: a restarted relay finds them again through its list.
 *
 * Wire: the asker opens the stream and reads one length-prefixed frame, at
 * most MAX_LIST_BYTES, of UTF-8 JSON:
 *
 *   { "relays": [ multiaddr string, … ] }     (0–MAX_LIST_ENTRIES entries)
 *
 * each a WebSocket multiaddr of a relay ending in `/p2p/<its PeerId>` (the
 * rules `--federate` applies). Entries that break them are skipped one by
 * one; anything else malformed drops the whole answer.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import { parseFederate } from './config.js';
import { FEDERATION_TAG } from './federation.js';

export const RELAYS_PROTOCOL = '/stanza/relays/1.0.0';
export const MAX_LIST_BYTES = 16 * 1024;
/** Four addresses for each of MAX_FEDERATED relays. */
export const MAX_LIST_ENTRIES = 64;
/** How often each federated relay is asked again (relays come and go slowly). */
export const ASK_INTERVAL_MS = 30_000;
/** A relay that has not answered in this long is asked again at the next round. */
const ASK_TIMEOUT_MS = 5_000;
/** A relay's connection is identified: ask after this pause, coalescing several arrivals into one round. */
const ASK_SOON_MS = 500;

/** @param {string[]} relays */
export function encodeRelayList(relays) {
	const bytes = new TextEncoder().encode(JSON.stringify({ relays: relays.slice(0, MAX_LIST_ENTRIES) }));
	if (bytes.length > MAX_LIST_BYTES) throw new Error(`relay list of ${bytes.length} bytes is over ${MAX_LIST_BYTES}`);
	return bytes;
}

/**
 * @param {Uint8Array} bytes
 * @returns {{ relays: string[], skipped: string[] }} `skipped`: why each refused entry was
 */
export function decodeRelayList(bytes) {
	if (bytes.length > MAX_LIST_BYTES) throw new Error(`relay list over ${MAX_LIST_BYTES} bytes`);
	/** @type {unknown} */
	let parsed;
	try {
		parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
	} catch {
		throw new Error('relay list is not UTF-8 JSON');
	}
	const list = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? /** @type {{ relays?: unknown }} */ (parsed).relays : undefined;
	if (!Array.isArray(list) || list.length > MAX_LIST_ENTRIES) throw new Error(`relay list must be { "relays": [ …up to ${MAX_LIST_ENTRIES} ] }`);
	/** @type {string[]} */
	const relays = [];
	/** @type {string[]} */
	const skipped = [];
	for (const entry of list) {
		if (typeof entry !== 'string') throw new Error('relay list entries must be strings');
		const checked = parseFederate(entry);
		if ('error' in checked) skipped.push(checked.error);
		else relays.push(checked.value);
	}
	return { relays, skipped };
}

/**
 * @typedef {object} ExchangeNode
 * @property {import('@libp2p/interface').PeerId} peerId
 * @property {(protocol: string, handler: (stream: import('@libp2p/interface').Stream, connection: import('@libp2p/interface').Connection) => void) => Promise<void>} handle
 * @property {(protocol: string) => Promise<void>} unhandle
 * @property {(peer: import('@libp2p/interface').PeerId, protocol: string, options: { signal: AbortSignal }) => Promise<import('@libp2p/interface').Stream>} dialProtocol
 * @property {(peer?: import('@libp2p/interface').PeerId) => import('@libp2p/interface').Connection[]} getConnections
 * @property {{ merge: (peer: import('@libp2p/interface').PeerId, data: object) => Promise<unknown> }} peerStore
 * @property {(type: 'peer:identify', listener: (event: CustomEvent<{ peerId: import('@libp2p/interface').PeerId, protocols: string[] }>) => void) => void} addEventListener
 * @property {(type: 'peer:identify', listener: (event: CustomEvent<{ peerId: import('@libp2p/interface').PeerId, protocols: string[] }>) => void) => void} removeEventListener
 */

/**
 * Answers federated relays with our list and learns theirs.
 *
 * @param {{
 *   node: ExchangeNode,
 *   federation: { ids: Set<string>, addrs: string[] },
 *   direct: Set<string>,
 *   maxRelays: number,
 *   log: import('./log.js').Logger,
 *   onLearned?: () => void
 * }} options
 *   `federation`: the relays federated with (mutable: what is learned goes in);
 *   `direct`: gossipsub's direct peers (what is learned goes in too)
 */
export async function startRelayExchange({ node, federation, direct, maxRelays, log, onLearned = () => {} }) {
	const self = node.peerId.toString();
	let full = false;
	let stopped = false;

	await node.handle(RELAYS_PROTOCOL, (stream, connection) => {
		void (async () => {
			try {
				// Who is federated is no secret among them; a stranger learns nothing (nor does a browser).
				if (!federation.ids.has(connection.remotePeer.toString())) throw new Error('not a federated relay');
				await lpStream(stream, { maxDataLength: MAX_LIST_BYTES }).write(encodeRelayList(federation.addrs), { signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
				await stream.close();
			} catch (err) {
				stream.abort(err instanceof Error ? err : new Error(String(err)));
			}
		})();
	});

	/** @param {string[]} relays @param {string} from */
	const learn = async (relays, from) => {
		/** @type {Map<string, string[]>} */
		const fresh = new Map();
		for (const addr of relays) {
			const id = multiaddr(addr).getComponents().findLast((c) => c.name === 'p2p')?.value;
			if (!id || id === self || federation.ids.has(id)) continue;
			fresh.set(id, [...(fresh.get(id) ?? []), addr]);
		}
		for (const [id, addrs] of fresh) {
			if (federation.ids.has(id)) continue; // learned meanwhile, from another relay's answer
			if (federation.ids.size >= maxRelays) {
				if (!full) log.warn(`relay discovery: federating with ${federation.ids.size} relays, the most; ${id} (named by ${from}) and any others are left out`);
				full = true;
				return;
			}
			federation.ids.add(id);
			federation.addrs.push(...addrs);
			await node.peerStore.merge(peerIdFromString(id), { multiaddrs: addrs.map((a) => multiaddr(a)), tags: { [FEDERATION_TAG]: { value: 100 } } });
			direct.add(id);
			log.info(`relay discovery: federating with ${id} (${addrs.join(', ')}), named by ${from}`);
			onLearned();
		}
	};

	/** @param {string} id */
	const ask = async (id) => {
		try {
			const peer = peerIdFromString(id);
			const signal = AbortSignal.timeout(ASK_TIMEOUT_MS);
			const stream = await node.dialProtocol(peer, RELAYS_PROTOCOL, { signal });
			const answer = (await lpStream(stream, { maxDataLength: MAX_LIST_BYTES }).read({ signal })).subarray();
			await stream.close().catch(() => {});
			const { relays, skipped } = decodeRelayList(answer);
			for (const reason of skipped) log.warn(`relay discovery: ${id} named an address we skip: ${reason}`);
			if (!stopped) await learn(relays, id);
		} catch (err) {
			// Not connected, an older relay without this protocol, or a malformed answer: asked again next round.
			if (!stopped && node.getConnections(peerIdFromString(id)).length > 0) {
				log.warn(`relay discovery: no list from ${id}: ${err instanceof Error ? err.message : String(err)}`);
			}
		}
	};

	const round = async () => {
		const connected = [...federation.ids].filter((id) => node.getConnections(peerIdFromString(id)).length > 0);
		await Promise.all(connected.map(ask));
	};

	/** @type {ReturnType<typeof setTimeout> | undefined} */
	let soon;
	const askSoon = () => {
		if (soon !== undefined || stopped) return;
		soon = setTimeout(() => {
			soon = undefined;
			void round();
		}, ASK_SOON_MS);
	};
	// A relay that speaks the protocol has connected: if it is one of ours, it may know relays we do not;
	// if not (yet), a relay of ours may have just learned of it (and it of us): ask ours.
	/** @param {CustomEvent<{ peerId: import('@libp2p/interface').PeerId, protocols: string[] }>} event */
	const onIdentify = (event) => {
		if (event.detail.protocols.includes(RELAYS_PROTOCOL)) askSoon();
	};
	node.addEventListener('peer:identify', onIdentify);
	const interval = setInterval(() => void round(), ASK_INTERVAL_MS);
	askSoon();

	return {
		/** Asks every connected federated relay now (tests, and the first round). */
		round,
		stop() {
			stopped = true;
			clearInterval(interval);
			clearTimeout(soon);
			node.removeEventListener('peer:identify', onIdentify);
			void node.unhandle(RELAYS_PROTOCOL).catch(() => {});
		}
	};
}
