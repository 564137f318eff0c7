/* eslint-disable svelte/prefer-svelte-reactivity -- private bookkeeping; the UI reads the $state fields. */
/**
 * The hallway on the home screen: live public rooms, heard on the hallway
 * topic and read at once from each connected relay's cache
 * (`GET /v1/hallway`, relay/hallway.js), every announcement checked here
 * whatever its source (a relay could be lying). Started while the home is
 * shown, stopped when it is left, so that a page in a room does not carry
 * the hallway's gossip.
 */
import type { Connection } from '@libp2p/interface';
import type { NetState } from '../net/net-state.svelte';
import type { HallwayRoom } from './hallway-list';
import { relayHttpUrl } from '../net/relay-address';
import { HALLWAY_PATH } from './hallway-path.js';

// Expired rooms leave the list within this long.
const PRUNE_MS = 10_000;
const FETCH_TIMEOUT_MS = 5_000;

export type HallwayStatus = 'off' | 'looking' | 'ready';

export class HallwayState {
	rooms = $state<HallwayRoom[]>([]);
	/** 'looking' until a relay answered (or the topic brought a room). */
	status = $state<HallwayStatus>('off');

	readonly #net: NetState;
	#run: { stop: () => void } | null = null;

	constructor(net: NetState) {
		this.#net = net;
	}

	/** Starts listening; safe to call again while running. */
	start = async (): Promise<void> => {
		if (this.#run) return;
		const run = { stopped: false, stop: () => void (run.stopped = true) };
		this.#run = run;
		this.status = 'looking';
		// The relays' caches are asked at once, over HTTP (no wait for libp2p), while the code that
		// checks their answers loads; each relay connected later is asked too.
		// Each relay's cache is asked once: `ask` gives its answer the first time, null after (and for no relay).
		const asked = new Set<string>();
		const ask = (relayAddr: string | null): Promise<unknown> | null => {
			const url = relayAddr ? relayHttpUrl(relayAddr, HALLWAY_PATH) : null;
			if (!url || asked.has(url)) return null;
			asked.add(url);
			const answer = fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), cache: 'no-store' }).then((r) => (r.ok ? r.json() : []));
			answer.catch(() => {}); // read (and its failure met) below, once the checking code is loaded
			return answer;
		};
		const early = this.#net.relaysFound().then((addrs) => addrs.map(ask));
		const [{ HALLWAY_TOPIC, readAnnouncement }, { HallwayList }] = await Promise.all([import('./hallway-announcement.js'), import('./hallway-list')]);
		if (run.stopped) return;
		const list = new HallwayList();
		const show = () => {
			if (run.stopped) return;
			this.rooms = list.rooms();
		};
		const offer = async (bytes: Uint8Array) => {
			const announcement = await readAnnouncement(bytes, Date.now()).catch(() => null);
			if (announcement && list.offer(announcement, Date.now())) show();
		};
		const fetchFrom = async (answer: Promise<unknown> | null) => {
			if (!answer) return;
			try {
				const items: unknown = await answer;
				if (Array.isArray(items)) await Promise.all(items.map((item) => offer(new TextEncoder().encode(JSON.stringify(item)))));
			} catch {
				// A relay that does not answer (or an older relay without a hallway): the topic still brings rooms.
			} finally {
				if (!run.stopped) this.status = 'ready';
			}
		};
		const onMessage = (event: CustomEvent<{ topic: string; data: Uint8Array }>) => {
			if (event.detail.topic !== HALLWAY_TOPIC) return;
			void offer(event.detail.data).then(() => {
				if (!run.stopped) this.status = 'ready';
			});
		};
		const open = (connection: Connection) => (connection.status === 'open' ? connection.remoteAddr.toString() : null);
		const onConnection = (event: CustomEvent<Connection>) => void fetchFrom(ask(open(event.detail)));
		for (const answer of await early) void fetchFrom(answer);
		const node = await this.#net.node();
		if (run.stopped) return;
		const pubsub = node.services.pubsub;
		pubsub.addEventListener('message', onMessage);
		pubsub.subscribe(HALLWAY_TOPIC);
		node.addEventListener('connection:open', onConnection);
		for (const connection of node.getConnections()) void fetchFrom(ask(open(connection)));
		const pruner = setInterval(() => {
			if (list.prune(Date.now())) show();
		}, PRUNE_MS);
		run.stop = () => {
			run.stopped = true;
			clearInterval(pruner);
			node.removeEventListener('connection:open', onConnection);
			pubsub.removeEventListener('message', onMessage);
			pubsub.unsubscribe(HALLWAY_TOPIC);
		};
	};

	/** Stops listening (the home is left); the list is kept for when it comes back. */
	stop = (): void => {
		this.#run?.stop();
		this.#run = null;
		this.status = 'off';
	};
}
