/* eslint-disable svelte/prefer-svelte-reactivity -- private bookkeeping; the UI reads the $state fields. */
/**
 * The hallway on the home screen: live public rooms, read from each relay's
 * cache (`GET /v1/hallway`, relay/hallway.js) at once and every 10 s while seen, and
 * heard on the hallway topic while the network runs (the home alone does not
 * start it). Every announcement is checked here whatever its source (a relay
 * could be lying). Started while the home is shown, stopped when it is left,
 * so that a page in a room does not carry the hallway's gossip.
 */
import type { Connection } from '@libp2p/interface';
import type { NetState } from '../net/net-state.svelte';
import type { HallwayRoom } from './hallway-list';
import { relayHttpUrl } from '../net/relay-address';
import { HALLWAY_PATH } from './hallway-path.js';

// Expired rooms leave the list within this long.
const PRUNE_MS = 10_000;
const FETCH_TIMEOUT_MS = 5_000;
// While the home is shown, the relays' caches are read again this often: the list stays current
// even when libp2p is not running (the home alone does not start it; see AppState.connect).
const REFRESH_MS = 10_000;

/** 'unreachable': no relay was found, or none answered (the list may still hold what came earlier). */
export type HallwayStatus = 'off' | 'looking' | 'ready' | 'unreachable';

/** The parts of the network the hallway uses: where the relays are, and the node once something started it. */
type HallwayNet = Pick<NetState, 'relaysFound' | 'node'>;

/** The part of `document` the hallway reads. */
export type PageVisibility = Pick<Document, 'hidden' | 'addEventListener' | 'removeEventListener'>;

export class HallwayState {
	rooms = $state<HallwayRoom[]>([]);
	/** 'looking' until a relay answered (or the topic brought a room). */
	status = $state<HallwayStatus>('off');

	readonly #net: HallwayNet;
	readonly #doc: PageVisibility;
	#run: { stop: () => void } | null = null;

	/** `doc`: whether the page is seen, and when that changes (the document; a fake in unit tests). */
	constructor(net: HallwayNet, doc: PageVisibility = globalThis.document) {
		this.#net = net;
		this.#doc = doc;
	}

	/** Starts listening; safe to call again while running. */
	start = async (): Promise<void> => {
		if (this.#run) return;
		const timers: ReturnType<typeof setInterval>[] = [];
		const cleanUps: (() => void)[] = [];
		const run = {
			stopped: false,
			stop: () => {
				run.stopped = true;
				timers.forEach(clearInterval);
				cleanUps.forEach((fn) => fn());
			}
		};
		this.#run = run;
		this.status = 'looking';
		// The relays' caches are asked at once, over HTTP (no wait for libp2p), while the code that
		// checks their answers loads; each relay connected later is asked too, and all are asked
		// again every REFRESH_MS while the page is seen (and at once when it is seen again).
		const urls = new Set<string>();
		const ask = (url: string): Promise<unknown> => {
			const answer = fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), cache: 'no-store' }).then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))));
			answer.catch(() => {}); // read (and its failure met) below, once the checking code is loaded
			return answer;
		};
		/** The first answer of a relay not asked before (null for one asked already, or no relay). */
		const askNew = (relayAddr: string | null): Promise<unknown> | null => {
			const url = relayAddr ? relayHttpUrl(relayAddr, HALLWAY_PATH) : null;
			if (!url || urls.has(url)) return null;
			urls.add(url);
			return ask(url);
		};
		const early = this.#net.relaysFound().then((addrs) => addrs.map(askNew));
		const [{ HALLWAY_TOPIC, readAnnouncement }, { HallwayList }] = await Promise.all([import('./hallway-announcement.js'), import('./hallway-list')]);
		if (run.stopped) return;
		const list = new HallwayList();
		const show = () => {
			if (run.stopped) return;
			this.rooms = list.rooms();
		};
		const heard = () => {
			if (!run.stopped) this.status = 'ready';
		};
		const offer = async (bytes: Uint8Array) => {
			const announcement = await readAnnouncement(bytes, Date.now()).catch(() => null);
			if (announcement && list.offer(announcement, Date.now())) show();
		};
		/** Reads answers; `all` (every relay known was asked): whether any answered sets the status. */
		const read = async (answers: (Promise<unknown> | null)[], all = false) => {
			const outcomes = await Promise.all(
				answers.map(async (answer) => {
					if (!answer) return false;
					try {
						const items: unknown = await answer;
						if (Array.isArray(items)) await Promise.all(items.map((item) => offer(new TextEncoder().encode(JSON.stringify(item)))));
						heard();
						return true;
					} catch {
						// A relay that does not answer (or an older relay without a hallway): others, or the topic, may.
						return false;
					}
				})
			);
			if (!run.stopped && all && !outcomes.includes(true)) this.status = 'unreachable';
		};
		const onMessage = (event: CustomEvent<{ topic: string; data: Uint8Array }>) => {
			if (event.detail.topic !== HALLWAY_TOPIC) return;
			void offer(event.detail.data).then(heard);
		};
		const open = (connection: Connection) => (connection.status === 'open' ? connection.remoteAddr.toString() : null);
		const onConnection = (event: CustomEvent<Connection>) => void read([askNew(open(event.detail))]);
		/** Every relay known asked again, unless nobody sees the page. */
		const refresh = () => void (this.#doc.hidden || read([...urls].map(ask), true));
		const first = await early;
		if (run.stopped) return;
		void read(first, true);
		timers.push(
			setInterval(() => {
				if (list.prune(Date.now())) show();
			}, PRUNE_MS),
			setInterval(refresh, REFRESH_MS)
		);
		this.#doc.addEventListener('visibilitychange', refresh);
		cleanUps.push(() => this.#doc.removeEventListener('visibilitychange', refresh));
		// Live announcements on the topic, once something else has started the network (a room visited).
		const node = await this.#net.node();
		if (run.stopped) return;
		const pubsub = node.services.pubsub;
		pubsub.addEventListener('message', onMessage);
		pubsub.subscribe(HALLWAY_TOPIC);
		node.addEventListener('connection:open', onConnection);
		for (const connection of node.getConnections()) void read([askNew(open(connection))]);
		cleanUps.push(() => {
			node.removeEventListener('connection:open', onConnection);
			pubsub.removeEventListener('message', onMessage);
			pubsub.unsubscribe(HALLWAY_TOPIC);
		});
	};

	/** Stops listening (the home is left); the list is kept for when it comes back. */
	stop = (): void => {
		this.#run?.stop();
		this.#run = null;
		this.status = 'off';
	};
}
