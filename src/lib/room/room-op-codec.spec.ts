import { describe, expect, it } from 'vitest';
import { MAX_DISPLAY_NAME_CHARS } from '../identity/display-name';
import { OpError, parseOp, signOp, verifyOp, type OpIntent } from './room-op-codec';
import { makeRoom, signRaw } from './test-peers';

async function world() {
	const { creator, peers } = await makeRoom(['speaker']);
	return { creator, roomId: creator.room.roomId, sign: (intent: OpIntent) => signOp(intent, { roomId: creator.room.roomId, author: creator.peerId, privateKey: creator.privateKey, ...creator.room.placement(), now: 5 }), peers };
}

describe('room ops: profile', () => {
	it('round-trips a name through signing, framing and verifying', async () => {
		const { sign, roomId } = await world();
		const op = await sign({ kind: 'profile', name: 'Ana Lucía 🎙' });
		const read = await verifyOp(op.bytes, roomId);
		expect(read.id).toBe(op.id);
		expect(read.body).toEqual(op.body);
		expect(read.body.kind === 'profile' && read.body.name).toBe('Ana Lucía 🎙');
	});

	it('carries an avatar when given one, and refuses one that does not read', async () => {
		const { sign, roomId } = await world();
		const op = await sign({ kind: 'profile', name: 'Ana', avatar: { e: '🦊', c: 3 } });
		expect((await verifyOp(op.bytes, roomId)).body).toMatchObject({ kind: 'profile', name: 'Ana', avatar: { e: '🦊', c: 3 } });
		for (const avatar of [{ e: 'A', c: 3 }, { e: '🦊', c: 42 }, { e: '🦊', c: 1, big: 'x' }]) {
			await expect(sign({ kind: 'profile', name: 'Ana', avatar } as OpIntent), JSON.stringify(avatar)).rejects.toThrow(/avatar/);
		}
	});

	it('refuses a name that is not a display name as screens show it (empty, untrimmed, over-long), and a field a profile does not have', async () => {
		const { sign, creator } = await world();
		for (const name of ['', '   ', ' Ana', 'Ana  Lu', 'Ana\nLu', 'x'.repeat(MAX_DISPLAY_NAME_CHARS + 1)]) await expect(sign({ kind: 'profile', name }), name).rejects.toThrow(OpError);
		expect((await sign({ kind: 'profile', name: '😀'.repeat(MAX_DISPLAY_NAME_CHARS) })).body.kind).toBe('profile');
		const extra = await signRaw(creator, { kind: 'profile', name: 'Ana', bio: 'x' });
		await expect(parseOp(extra.bytes, creator.room.roomId)).rejects.toThrow(/unexpected op field bio/);
	});
});

describe('room ops: a kind this version does not know', () => {
	it('is read as unknown with its wire kind, whatever fields it carries', async () => {
		const { creator } = await world();
		const raw = await signRaw(creator, { kind: 'poll', question: 'Tea?', options: ['yes', 'no'] });
		const read = await verifyOp(raw.bytes, creator.room.roomId);
		expect(read.body).toMatchObject({ kind: 'unknown', wireKind: 'poll', author: creator.id, v: 2 });
		expect(read.id).toBe(raw.id);
	});

	it('still has its header checked: room, clock, parents, and a signature by its author', async () => {
		const { creator, peers } = await world();
		const room = creator.room.roomId;
		await expect(parseOp((await signRaw(creator, { kind: 'poll', room: 'elsewhere' })).bytes, room)).rejects.toThrow(/another room/);
		await expect(parseOp((await signRaw(creator, { kind: 'poll', lamport: 0 })).bytes, room)).rejects.toThrow(/lamport/);
		await expect(parseOp((await signRaw(creator, { kind: 'poll', parents: [] })).bytes, room)).rejects.toThrow(/no parents/);
		await expect(verifyOp((await signRaw(peers[0], { kind: 'poll', author: creator.id }, creator.room.placement())).bytes, room)).rejects.toThrow(/signature/);
	});

	it('must look like a kind: `unknown` itself, odd shapes and non-strings are refused', async () => {
		const { creator } = await world();
		for (const kind of ['unknown', 'Poll', 'two words', 'x'.repeat(33), '', 7, null]) {
			await expect(parseOp((await signRaw(creator, { kind })).bytes, creator.room.roomId), String(kind)).rejects.toThrow(OpError);
		}
	});
});
