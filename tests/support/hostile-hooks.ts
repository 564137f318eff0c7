/**
 * What a modified client could do, switched on from the test: `__forge` flips
 * a payload byte of every audio packet this page sends (it only relays, so
 * each is a forwarded packet); `__withhold` sends a keep-alive in place of
 * each audio packet (the link looks alive, no sound passes); `__ignoreBan` makes the page's own code unable
 * to close its WebRTC links, so only the far ends can cut them; `__recordTag`
 * (4 bytes) keeps a copy of every audio packet with that speaker tag the page
 * sends, with its channel, and `__replay()` sends them all again on the same
 * channels, one per 20 ms, resolving to how many it sent. Every data channel
 * the page makes is kept in `__channels`.
 */
export function hostileHooks(): void {
	const g = globalThis as unknown as {
		__forge?: boolean;
		__withhold?: boolean;
		__ignoreBan?: boolean;
		__channels: RTCDataChannel[];
		__recordTag?: number[];
		__recorded: [RTCDataChannel, Uint8Array][];
		__replay: () => Promise<number>;
	};
	const keepAlive = new Uint8Array([2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
	g.__channels = [];
	g.__recorded = [];
	const send = RTCDataChannel.prototype.send as (data: unknown) => void;
	g.__replay = async () => {
		let sent = 0;
		for (const [channel, data] of g.__recorded.splice(0)) {
			if (channel.readyState !== 'open') continue;
			send.call(channel, data);
			sent++;
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		return sent;
	};
	RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: unknown) {
		// Version 2, a speaker's tag, a payload between the 14-byte header and the 64-byte signature.
		const audio = data instanceof Uint8Array && data.length > 78 && data[0] === 2 && (data[2] | data[3] | data[4] | data[5]) !== 0;
		const tag = g.__recordTag;
		if (audio && tag && tag.every((byte, i) => (data as Uint8Array)[2 + i] === byte)) g.__recorded.push([this, (data as Uint8Array).slice()]);
		if (audio && g.__withhold) return send.call(this, keepAlive);
		if (audio && g.__forge) {
			const forged = (data as Uint8Array).slice();
			forged[14] ^= 0xff;
			return send.call(this, forged);
		}
		return send.call(this, data);
	} as RTCDataChannel['send'];
	const create = RTCPeerConnection.prototype.createDataChannel;
	RTCPeerConnection.prototype.createDataChannel = function (this: RTCPeerConnection, ...args: Parameters<RTCPeerConnection['createDataChannel']>) {
		const channel = create.apply(this, args);
		g.__channels.push(channel);
		return channel;
	};
	const closePc = RTCPeerConnection.prototype.close;
	RTCPeerConnection.prototype.close = function (this: RTCPeerConnection) {
		if (!g.__ignoreBan) closePc.call(this);
	};
	const closeChannel = RTCDataChannel.prototype.close;
	RTCDataChannel.prototype.close = function (this: RTCDataChannel) {
		if (!g.__ignoreBan) closeChannel.call(this);
	};
}
