import { toString } from 'uint8arrays';
import { describe, expect, it } from 'vitest';
import { ANNOUNCEMENT_TTL_MS, type Announcement } from './hallway-announcement.js';
import { HallwayList, MAX_HALLWAY_ROOMS } from './hallway-list';
import { roomPath } from '../room/room-link';

const NOW = 1_800_000_000_000;
const key = new Uint8Array(32).fill(1);
// A room id as links carry them: 16 bytes, base64url.
const id = (n: number) => toString(new Uint8Array(16).fill(n), 'base64url');
const A = id(1);
const B = id(2);
const a = (room: string, fields: Partial<Announcement> = {}): Announcement => ({ room, key, creator: 'c', title: room, stage: [], listeners: 1, live: true, at: NOW, ...fields });

describe('HallwayList', () => {
	it('shows the newest announcement of each live room, the most listened first, with its link', () => {
		const list = new HallwayList();
		expect(list.offer(a(A, { listeners: 3 }), NOW)).toBe(true);
		expect(list.offer(a(B, { listeners: 9, title: 'Old' }), NOW)).toBe(true);
		expect(list.offer(a(B, { listeners: 9, title: 'New', at: NOW + 1 }), NOW)).toBe(true);
		expect(list.offer(a(B, { title: 'Older', at: NOW - 1 }), NOW)).toBe(false);
		const rooms = list.rooms();
		expect(rooms.map((r) => r.title)).toEqual(['New', A]);
		expect(rooms[0].path).toBe(roomPath({ roomId: B, key }));
	});

	it('takes a room off when its creator says it is no longer live, and an older live one cannot bring it back', () => {
		const list = new HallwayList();
		list.offer(a(A), NOW);
		list.offer(a(A, { live: false, at: NOW + 1 }), NOW);
		expect(list.rooms()).toEqual([]);
		expect(list.offer(a(A), NOW)).toBe(false);
		expect(list.rooms()).toEqual([]);
	});

	it('forgets rooms whose announcements expired, and stays bounded', () => {
		const list = new HallwayList();
		list.offer(a(A), NOW);
		expect(list.prune(NOW + ANNOUNCEMENT_TTL_MS)).toBe(false);
		expect(list.prune(NOW + ANNOUNCEMENT_TTL_MS + 1)).toBe(true);
		expect(list.rooms()).toEqual([]);
		for (let i = 0; i < MAX_HALLWAY_ROOMS + 10; i++) list.offer(a(toString(Uint8Array.from({ length: 16 }, (_, j) => (i >> (j % 2 ? 8 : 0)) & 255), 'base64url'), { at: NOW + i }), NOW);
		const rooms = list.rooms();
		expect(rooms).toHaveLength(MAX_HALLWAY_ROOMS);
		expect(rooms.some((r) => r.at === NOW)).toBe(false);
	});
});
