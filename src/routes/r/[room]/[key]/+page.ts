import { parseRoomAddress, type RoomAddress } from '$lib/room/room-link';
import type { PageLoad } from './$types';

/** The room link, checked on the device (room-link.ts): the address, or null for a link that is not valid. */
export const load: PageLoad = ({ params }): { address: RoomAddress | null } => {
	try {
		return { address: parseRoomAddress(params.room, params.key) };
	} catch {
		return { address: null };
	}
};
