/**
 * The media-link port's in-memory adapter (link-pipe.ts), for unit tests:
 * pipes between AudioRooms in one process, on whatever clock setTimeout
 * answers to (the virtual clock in a room of hundreds). The signaling that
 * sets a link up is the real one (media-link.ts over the in-memory network's
 * streams); only the WebRTC part is stood in for: the dialer's "offer" names
 * its pipe, the far end's "answer" joins it, and both open one latency later.
 *
 * What the network does to messages: each arrives after `latencyMs` plus up
 * to `jitterMs`, in any order; a share `loss` never arrives. A crashed member's
 * pipes go dead without closing (nothing in, nothing out), as a tab that
 * vanished: the far ends notice by the silence. A pipe closed at one end
 * closes at the other one latency later, as a data channel does.
 */
import type { LinkPipe, LinkTransport, PendingPipe, RemoteVoice, SignalPort } from './link-pipe';
import { SignalError } from './media-signal-protocol';

export interface MemoryLinkOptions {
	latencyMs?: number;
	jitterMs?: number;
	loss?: number;
	/** Uniform in [0, 1): seed it for a deterministic run. */
	random?: () => number;
}

const OFFER_PREFIX = 'v=0\r\ns=stanza-memory-link ';

class MemoryPipe implements LinkPipe {
	onMessage: (bytes: Uint8Array) => void = () => {};
	onOpen: () => void = () => {};
	onClose: () => void = () => {};
	onVoice: (voice: RemoteVoice) => void = () => {};
	readonly backlog = 0;
	readonly owner: string;
	peer: MemoryPipe | null = null;
	#open = false;
	#closed = false;
	readonly #links: Medium;
	readonly #waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];

	constructor(links: Medium, owner: string) {
		this.#links = links;
		this.owner = owner;
	}

	get open(): boolean {
		return this.#open && !this.#closed;
	}

	get closed(): boolean {
		return this.#closed;
	}

	send(bytes: Uint8Array): void {
		if (!this.open) throw new Error('pipe not open');
		const peer = this.peer;
		if (!peer || this.#links.isDead(this.owner) || this.#links.lost()) return;
		const sent = this.#links.tampered(this.owner, bytes);
		if (!sent) return;
		const copy = sent.slice();
		setTimeout(() => peer.#deliver(copy), this.#links.delay());
	}

	#deliver(bytes: Uint8Array): void {
		if (this.open && !this.#links.isDead(this.owner)) this.onMessage(bytes);
	}

	/** Both ends joined: open one latency from now. */
	connect(peer: MemoryPipe): void {
		this.peer = peer;
		peer.peer = this;
		setTimeout(() => {
			this.#becomeOpen();
			peer.#becomeOpen();
		}, this.#links.delay());
	}

	#becomeOpen(): void {
		if (this.#closed || this.#open) return;
		this.#open = true;
		this.onOpen();
		for (const w of this.#waiting.splice(0)) w.resolve();
	}

	opened(signal: AbortSignal): Promise<void> {
		if (this.open) return Promise.resolve();
		if (this.#closed) return Promise.reject(new Error('audio link did not open'));
		return new Promise((resolve, reject) => {
			this.#waiting.push({ resolve, reject });
			signal.addEventListener('abort', () => reject(new Error('audio link did not open')), { once: true });
		});
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#open = false;
		for (const w of this.#waiting.splice(0)) w.reject(new Error('audio link did not open'));
		const peer = this.peer;
		if (peer && !this.#links.isDead(this.owner)) setTimeout(() => peer.close(), this.#links.delay());
		this.onClose();
	}

	sendVoice(): void {
		// No native voice in memory: a speaker hears its fellows through the tree's packets here.
	}
}

class PendingMemoryPipe implements PendingPipe {
	readonly pipe: MemoryPipe;
	readonly #links: Medium;

	constructor(links: Medium, pipe: MemoryPipe) {
		this.#links = links;
		this.pipe = pipe;
	}

	async offer(port: SignalPort): Promise<void> {
		const id = this.#links.offered(this.pipe);
		try {
			await port.send({ t: 'offer', sdp: OFFER_PREFIX + id });
			const answer = await port.receive();
			if (answer.t !== 'answer' || answer.sdp !== OFFER_PREFIX + id) throw new SignalError('expected the answer to our offer');
			await this.pipe.opened(port.signal);
		} finally {
			this.#links.withdraw(id);
		}
	}

	async answer(port: SignalPort): Promise<void> {
		const offer = await port.receive();
		if (offer.t !== 'offer' || !offer.sdp.startsWith(OFFER_PREFIX)) throw new SignalError('expected an offer');
		const dialer = this.#links.take(offer.sdp.slice(OFFER_PREFIX.length));
		if (!dialer) throw new SignalError('no such offer');
		this.pipe.connect(dialer);
		await port.send({ t: 'answer', sdp: offer.sdp });
		await this.pipe.opened(port.signal);
	}
}

/** What the pipes of one room share: the network's behaviour, the offers on the table, the members gone. Private to this file. */
class Medium {
	readonly #latencyMs: number;
	readonly #jitterMs: number;
	readonly #loss: number;
	readonly #random: () => number;
	readonly #offers = new Map<string, MemoryPipe>();
	readonly #dead = new Set<string>();
	readonly #tamper = new Map<string, (bytes: Uint8Array) => Uint8Array | null>();
	#offerSeq = 0;

	constructor(options: MemoryLinkOptions) {
		this.#latencyMs = options.latencyMs ?? 10;
		this.#jitterMs = options.jitterMs ?? 0;
		this.#loss = options.loss ?? 0;
		this.#random = options.random ?? Math.random;
	}

	kill(owner: string): void {
		this.#dead.add(owner);
	}

	isDead(owner: string): boolean {
		return this.#dead.has(owner);
	}

	tamper(owner: string, edit: (bytes: Uint8Array) => Uint8Array | null): void {
		this.#tamper.set(owner, edit);
	}

	/** What `owner` sends once its own code has had its say (tamper): null, nothing. */
	tampered(owner: string, bytes: Uint8Array): Uint8Array | null {
		const edit = this.#tamper.get(owner);
		return edit ? edit(bytes) : bytes;
	}

	lost(): boolean {
		return this.#loss > 0 && this.#random() < this.#loss;
	}

	delay(): number {
		return this.#latencyMs + this.#jitterMs * this.#random();
	}

	offered(pipe: MemoryPipe): string {
		const id = `${pipe.owner}/${++this.#offerSeq}`;
		this.#offers.set(id, pipe);
		return id;
	}

	take(id: string): MemoryPipe | undefined {
		const pipe = this.#offers.get(id);
		this.#offers.delete(id);
		return pipe && !pipe.closed ? pipe : undefined;
	}

	withdraw(id: string): void {
		this.#offers.delete(id);
	}
}

/** Every in-memory link of one test room: make one transport per member with `transport(peerId)`. */
export class MemoryLinks {
	readonly #medium: Medium;
	readonly #pipes = new Set<MemoryPipe>();

	constructor(options: MemoryLinkOptions = {}) {
		this.#medium = new Medium(options);
	}

	transport(owner: string): LinkTransport {
		return {
			create: () => {
				const pipe = new MemoryPipe(this.#medium, owner);
				this.#pipes.add(pipe);
				return new PendingMemoryPipe(this.#medium, pipe);
			}
		};
	}

	/** `owner` runs its own code: each message it sends goes out as `edit` makes it (null: not at all). */
	tamper(owner: string, edit: (bytes: Uint8Array) => Uint8Array | null): void {
		this.#medium.tamper(owner, edit);
	}

	/** `owner` vanishes: its pipes carry nothing more either way, and close nothing. */
	crash(owner: string): void {
		this.#medium.kill(owner);
	}

	/** Open pipes `owner` holds (its audio links). */
	openPipes(owner: string): number {
		let n = 0;
		for (const pipe of this.#pipes) {
			if (pipe.closed) this.#pipes.delete(pipe);
			else if (pipe.owner === owner && pipe.open) n++;
		}
		return n;
	}
}
