/**
 * What a modified client could do, switched on from the test: `__forge` flips
 * a payload byte of every audio packet this page sends, bare or inside a link
 * frame (it only relays, so each is a forwarded packet); `__withhold` sends a keep-alive in place of
 * each audio message but one in 20 (the link looks alive, and a trickle of packets passes: enough to
 * keep away a verdict that counted from the last packet, too little to hear); `__withholdTag` (4 bytes)
 * takes that speaker's packets out of every message it sends and passes the rest on (a relay that
 * censors one voice); `__delay` (ms) sends each message carrying audio up to that long after it was
 * given, and a keep-alive in its place at once: a relay that passes the audio on late, its link alive.
 * The delay grows by DELAY_RAMP ms a ms from 0, so the audio keeps flowing (at 83 % of its pace) and
 * no gap gives the relay away to the withholding rules; `__jitter` (ms) sends each message carrying
 * audio after its own random delay below that, and a keep-alive in its place at once: a relay that
 * passes the audio on, on time by the marks, but too unevenly to play; `__ignoreBan` makes the page's own code unable
 * to close its WebRTC links, so only the far ends can cut them; `__recordTag`
 * (4 bytes) keeps a copy of every audio packet with that speaker tag the page
 * sends, with its channel, and `__replay()` sends them all again on the same
 * channels, one per 20 ms, resolving to how many it sent. Every data channel
 * the page makes is kept in `__channels`.
 */
export function hostileHooks(): void {
	const DELAY_RAMP = 0.2;
	const g = globalThis as unknown as {
		__forge?: boolean;
		__withhold?: boolean;
		__withholdTag?: number[];
		__delay?: number;
		__jitter?: number;
		__ignoreBan?: boolean;
		__channels: RTCDataChannel[];
		__recordTag?: number[];
		__recorded: [RTCDataChannel, Uint8Array][];
		__replay: () => Promise<number>;
	};
	const keepAlive = new Uint8Array([2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
	let withheld = 0;
	let delayedSince: number | null = null;
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
	/** The audio packets a message carries: itself (version 2), or each packet of a link frame (version 3, link-frame.ts). */
	const packetsOf = (data: Uint8Array): [start: number, end: number][] => {
		if (data[0] === 2) return [[0, data.length]];
		if (data[0] !== 3) return [];
		const spans: [number, number][] = [];
		for (let at = 2, i = 0; i < data[1] && at + 2 <= data.length; i++) {
			const length = (data[at] << 8) | data[at + 1];
			spans.push([at + 2, at + 2 + length]);
			at += 2 + length;
		}
		return spans;
	};
	RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: unknown) {
		// Version 2, a speaker's tag, a payload between the 14-byte header and the 64-byte signature.
		const spans = data instanceof Uint8Array ? packetsOf(data).filter(([start, end]) => end - start > 78 && (data[start + 2] | data[start + 3] | data[start + 4] | data[start + 5]) !== 0) : [];
		if (spans.length === 0) return send.call(this, data);
		const bytes = data as Uint8Array;
		const tag = g.__recordTag;
		// The newest packet only: the one after it is carried again in the next message.
		const [start, end] = spans[0];
		if (tag && tag.every((byte, i) => bytes[start + 2 + i] === byte)) g.__recorded.push([this, bytes.slice(start, end)]);
		if (g.__withhold) return send.call(this, ++withheld % 20 === 0 ? data : keepAlive);
		if (!g.__delay) delayedSince = null;
		else {
			delayedSince ??= performance.now();
			const held = bytes.slice();
			setTimeout(() => this.readyState === 'open' && send.call(this, held), Math.min(g.__delay, (performance.now() - delayedSince) * DELAY_RAMP));
			return send.call(this, keepAlive);
		}
		if (g.__jitter) {
			const held = bytes.slice();
			setTimeout(() => this.readyState === 'open' && send.call(this, held), Math.random() * g.__jitter);
			return send.call(this, keepAlive);
		}
		const censored = g.__withholdTag;
		if (censored) {
			const kept = packetsOf(bytes).filter(([at]) => !censored.every((byte, i) => bytes[at + 2 + i] === byte));
			if (kept.length === 0) return send.call(this, keepAlive);
			if (kept.length === 1) return send.call(this, bytes.slice(kept[0][0], kept[0][1]));
			const frame = [3, kept.length];
			for (const [at, end] of kept) frame.push((end - at) >> 8, (end - at) & 0xff, ...bytes.subarray(at, end));
			return send.call(this, new Uint8Array(frame));
		}
		if (g.__forge) {
			const forged = bytes.slice();
			for (const [at] of spans) forged[at + 14] ^= 0xff;
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
