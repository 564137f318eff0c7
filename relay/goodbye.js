// @ts-check
/**
 * Goodbyes from closing pages: `POST /v1/goodbye`.
 *
 * A page that closes cannot finish a gossipsub publish (signing and the
 * stream write are asynchronous, and the page is gone first). What does
 * survive the page is `navigator.sendBeacon`, so a member hands the relay a
 * goodbye it sealed in advance (room-topic-protocol.ts, type 4), and the
 * relay publishes it on the room's topic under its own name. The relay cannot
 * read it (sealed with the room key) or forge one (the leaver signs it with
 * its own key, inside the seal); the worst it can do is drop it, and then the
 * room sees the member go at its presence timeout, as before.
 *
 * Body: `text/plain`, `<topic>\n<sealed message, base64>`; a CORS-safelisted
 * type, so the browser sends it without a preflight.
 *
 * What one address can make the relay do is bounded: only topics the relay
 * carries right now (a room with someone in it), at most `perIpRate`
 * goodbyes a second per client IP and `totalRate` in all (token buckets with
 * a burst of gossip-limits.js's BURST_SECONDS), and a body of at most MAX_GOODBYE_BODY bytes.
 */
import { TokenBuckets } from './gossip-limits.js';

export const GOODBYE_PATH = '/v1/goodbye';
// A person closes a tab now and then; a household or office behind one address closes a few at once.
export const GOODBYE_PER_IP_RATE = 1;
// Every room this relay carries together: a busy relay's closing tabs, far below what its gossip carries anyway.
export const GOODBYE_TOTAL_RATE = 50;
// A sealed goodbye is ~200 bytes; base64 and the topic name fit well within this.
export const MAX_GOODBYE_BODY = 2_048;
const TOPIC = /^stanza\/room\/1\/[0-9a-f]{32}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// The per-IP buckets of idle addresses are dropped once this many are held.
const PRUNE_ABOVE = 1_024;

/**
 * @typedef {object} GoodbyeOptions
 * @property {(topic: string, data: Uint8Array) => Promise<unknown>} publish the relay's gossipsub publish
 * @property {(topic: string) => boolean} carries whether the relay carries this topic now (topic-mirror.js)
 * @property {number} perIpRate goodbyes per second one client IP may send
 * @property {number} totalRate goodbyes per second from everyone
 * @property {(limit: 'goodbye_rate' | 'goodbye_malformed' | 'goodbye_topic') => void} refuse metrics
 * @property {() => number} [now]
 */

/**
 * @param {GoodbyeOptions} options
 * @returns {{ post: (ip: string, body: string) => { status: number, text: string }, addresses: () => number }}
 *   `post` says what to answer one POST; `addresses` how many client IPs have rate state (tests)
 */
export function createGoodbyePost({ publish, carries, perIpRate, totalRate, refuse, now = Date.now }) {
	const perIp = new TokenBuckets({ messageRate: perIpRate, byteRate: perIpRate * MAX_GOODBYE_BODY, maxMessageBytes: MAX_GOODBYE_BODY });
	const total = new TokenBuckets({ messageRate: totalRate, byteRate: totalRate * MAX_GOODBYE_BODY, maxMessageBytes: MAX_GOODBYE_BODY });

	/** @type {(ip: string, body: string) => { status: number, text: string }} */
	const post = (ip, body) => {
		const newline = body.indexOf('\n');
		const topic = newline < 0 ? '' : body.slice(0, newline);
		const encoded = newline < 0 ? '' : body.slice(newline + 1).trim();
		if (!TOPIC.test(topic) || !BASE64.test(encoded)) {
			refuse('goodbye_malformed');
			return { status: 400, text: 'expected "<room topic>\\n<base64>"\n' };
		}
		const at = now();
		if (perIp.size > PRUNE_ABOVE) perIp.prune(at);
		if (!perIp.take(ip, body.length, at) || !total.take('*', body.length, at)) {
			refuse('goodbye_rate');
			return { status: 429, text: 'too many goodbyes\n' };
		}
		if (!carries(topic)) {
			refuse('goodbye_topic');
			return { status: 404, text: 'no such room here\n' };
		}
		// Fire and forget: a room nobody else is in right now has no one to tell.
		publish(topic, new Uint8Array(Buffer.from(encoded, 'base64'))).catch(() => {});
		return { status: 202, text: 'published\n' };
	};
	return { post, addresses: () => perIp.size };
}
