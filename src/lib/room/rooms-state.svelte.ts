/**
 * The rooms on this device (created or joined) and starting a new one.
 * Starting a room needs no network: the genesis record is signed locally and
 * reaches others when they open the link.
 */
import type { PrivateKey } from '@libp2p/interface';
import type { Visibility } from './room-op-codec';
import type { RoomStore } from './room-store';

// Room links (and the hashing behind them) load when first used, not with the first screen.
const roomLink = () => import('./room-link');

export interface SavedRoomView {
	roomId: string;
	title: string;
	path: string;
	createdByMe: boolean;
	lastOpened: number;
}

export class RoomsState {
	saved = $state<SavedRoomView[]>([]);
	error = $state<string | null>(null);

	readonly #store: Promise<RoomStore>;
	readonly #privateKey: Promise<PrivateKey>;

	constructor(store: Promise<RoomStore>, privateKey: Promise<PrivateKey>) {
		this.#store = store;
		this.#privateKey = privateKey;
	}

	async load(): Promise<void> {
		try {
			const [rooms, { roomPath }] = await Promise.all([this.#store.then((store) => store.list()), roomLink()]);
			this.saved = rooms.map((r) => ({ roomId: r.roomId, title: r.title, createdByMe: r.createdByMe, lastOpened: r.lastOpened, path: roomPath(r) }));
		} catch (err) {
			this.error = err instanceof Error ? err.message : String(err);
		}
	}

	/** The room a pasted text links to, checked on the device (room-link.ts), or why it is not one. */
	async linkIn(text: string): Promise<{ room: string; key: string } | 'not-a-link' | 'damaged'> {
		const { linkPartsIn, parseRoomAddress } = await roomLink();
		const parts = linkPartsIn(text);
		if (!parts) return 'not-a-link';
		try {
			parseRoomAddress(parts.room, parts.key);
			return parts;
		} catch {
			return 'damaged';
		}
	}

	/**
	 * Starts a room and returns its link parts (route params); throws with a readable message on bad input.
	 * The room document (Yjs) loads here, not with the first screen.
	 */
	async create(details: { title: string; description: string; visibility: Visibility }): Promise<{ room: string; key: string }> {
		const [store, privateKey, { newRoomKey, roomIdFor, roomPath }, { RoomDoc }, Y, { peerIdFromPrivateKey }] = await Promise.all([
			this.#store,
			this.#privateKey,
			roomLink(),
			import('./room-doc'),
			import('yjs'),
			import('@libp2p/peer-id')
		]);
		const peerId = peerIdFromPrivateKey(privateKey);
		const key = newRoomKey();
		const roomId = await roomIdFor(key, privateKey.publicKey.raw);
		const doc = new RoomDoc(roomId, key);
		await doc.addOp({ kind: 'genesis', title: details.title.trim(), description: details.description.trim(), visibility: details.visibility }, { peerId, privateKey });
		try {
			await store.saveDoc(roomId, Y.encodeStateAsUpdate(doc.doc));
			await store.remember({ roomId, key, title: doc.view.title, lastOpened: Date.now(), createdByMe: true });
		} catch (err) {
			this.error = err instanceof Error ? err.message : String(err);
			throw err;
		}
		const [, , room, keyText] = roomPath({ roomId, key }).split('/');
		return { room, key: keyText };
	}
}
