// @ts-check
/**
 * The relay's counters and gauges, rendered in the Prometheus text format
 * (version 0.0.4: `# HELP`, `# TYPE`, then `name{label="value"} number`).
 *
 * Counters only ever grow (Prometheus derives rates from them); gauges are
 * read when the page is rendered, from functions the owner of the value
 * registers, so nothing here polls. `RateMeter` gives the "per second now"
 * figures a person reads without a Prometheus server; it reads no clock, the
 * caller passes the time.
 *
 * Every refusal by a limit goes through `refuse(limit)`, one counter with a
 * `limit` label, so an operator sees at once which limit an address hits.
 */

import { OUTBOUND_BUFFER_MESSAGES } from './config.js';

/** Metric names start with this, as Prometheus recommends (one namespace per exporter). */
const PREFIX = 'stanza_relay_';

/** The counter every limit reports its refusals to. */
export const REFUSALS = 'refusals_total';

/**
 * Limits that can refuse something, with their help text. Listed up front so
 * each appears at 0 before it first fires: alerting on a missing series is awkward.
 */
export const LIMITS = /** @type {const} */ ({
	connections: 'WebSocket refused: --max-connections in use',
	connections_per_ip: 'WebSocket refused: --max-connections-per-ip',
	connection_rate: 'WebSocket refused: its IP opened more than --connection-rate a second (bursts of 16 s)',
	sockets_per_ip: 'TCP connection closed at accept: --max-sockets-per-ip',
	pending_per_ip: 'TCP connection closed at accept: --max-pending-per-ip requests unfinished',
	request_timeout: 'connection closed: request head or body not sent in time',
	ws_frame: 'WebSocket closed: frame or message above --max-ws-frame',
	reservations: 'reservation refused: --max-reservations held',
	reservations_per_ip: 'reservation refused: --max-reservations-per-ip',
	circuits_per_ip: 'relayed connection refused: the peers behind its IP hold --max-circuits-per-ip open',
	circuit_rate: 'relayed connection refused: the peers behind its IP opened more than --circuit-rate a second (bursts of 16 s)',
	topics: 'topic not mirrored: --max-topics reached',
	topics_per_peer: 'topic not mirrored: --max-topics-per-peer',
	topics_per_ip: 'topic not mirrored: --max-topics-per-ip',
	topic_rate: 'topic not mirrored: the peers behind its IP asked the relay to join new topics too fast',
	subscriptions_per_frame: 'gossip frame trimmed: more subscriptions than a browser sends',
	gossip_message_size: 'gossip message dropped: above --max-gossip-message',
	gossip_rate: 'gossip message dropped: peer above --gossip-rate or --gossip-byte-rate',
	gossip_ip_rate: 'gossip message dropped: the peers behind its sender\'s client IP above --gossip-rate-per-ip or --gossip-byte-rate-per-ip together',
	gossip_flood: 'connection closed: peer kept sending at over twice --gossip-rate or --gossip-byte-rate',
	gossip_invalid: 'gossip message dropped by gossipsub: bad signature or malformed (each one a strike)',
	gossip_unanswered: 'connection closed: the peer never answered the gossip stream the relay opened to it (10 s); it redials',
	gossip_backlog: `connection closed: the peer left more than ${OUTBOUND_BUFFER_MESSAGES} of the largest gossip messages unread (--max-gossip-message); it redials`,
	goodbye_malformed: 'goodbye refused: body is not a room topic and base64 on two lines',
	goodbye_rate: 'goodbye refused: its IP, or everyone, above the goodbye rate',
	goodbye_topic: 'goodbye refused: a room topic the relay does not carry',
	hallway_rate: 'GET /v1/hallway refused: its IP downloaded more than 1 MiB of the list a second (bursts of 16 s)',
	hallway_invalid: 'hallway announcement rejected: malformed, expired, forged or not its creator\'s',
	hallway_stale: 'hallway announcement not forwarded: the relay holds a newer one for that room, the list is full of newer ones, or it is a new room from a client IP at its cap'
});

/**
 * @typedef {object} Metrics
 * @property {(name: string, help: string, amount?: number, labels?: Record<string, string>) => void} count
 *   adds to a counter (created on first use)
 * @property {(limit: keyof typeof LIMITS) => void} refuse counts one refusal by a limit
 * @property {(name: string, help: string, read: () => number) => void} gauge registers a gauge read at render time
 * @property {(name: string, labels?: Record<string, string>) => number} value a counter's value (tests, logs)
 * @property {() => string} render the Prometheus text page
 */

/** @returns {Metrics} */
export function createMetrics() {
	/** @type {Map<string, { help: string, values: Map<string, number> }>} */
	const counters = new Map();
	/** @type {Map<string, { help: string, read: () => number }>} */
	const gauges = new Map();

	/**
	 * @param {string} name
	 * @param {string} help
	 * @param {number} amount
	 * @param {Record<string, string>} labels
	 */
	const count = (name, help, amount = 1, labels = {}) => {
		let counter = counters.get(name);
		if (!counter) {
			counter = { help, values: new Map() };
			counters.set(name, counter);
		}
		const key = labelText(labels);
		counter.values.set(key, (counter.values.get(key) ?? 0) + amount);
	};

	for (const limit of Object.keys(LIMITS)) count(REFUSALS, 'things refused by a limit, by limit', 0, { limit });

	return {
		count,
		refuse: (limit) => count(REFUSALS, 'things refused by a limit, by limit', 1, { limit }),
		gauge(name, help, read) {
			gauges.set(name, { help, read });
		},
		value: (name, labels = {}) => counters.get(name)?.values.get(labelText(labels)) ?? 0,
		render() {
			const lines = [];
			for (const [name, { help, values }] of counters) {
				lines.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} counter`);
				for (const [labels, value] of values) lines.push(`${PREFIX}${name}${labels} ${value}`);
			}
			for (const [name, { help, read }] of gauges) {
				let value;
				try {
					value = read();
				} catch {
					value = NaN; // a gauge whose owner has stopped: say so rather than fail the page
				}
				lines.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} gauge`, `${PREFIX}${name} ${formatNumber(value)}`);
			}
			return lines.join('\n') + '\n';
		}
	};
}

/**
 * `{a="1",b="x"}`, escaped as the format requires; '' without labels.
 *
 * @param {Record<string, string>} labels
 */
function labelText(labels) {
	const entries = Object.entries(labels);
	if (entries.length === 0) return '';
	const escape = (/** @type {string} */ v) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
	return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
}

/** @param {number} value */
function formatNumber(value) {
	if (Number.isNaN(value)) return 'NaN';
	if (value === Infinity) return '+Inf';
	if (value === -Infinity) return '-Inf';
	return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

/**
 * How much happened per second over the last `windowSeconds` whole seconds,
 * from one-second buckets. Time is passed in (milliseconds), never read here.
 */
export class RateMeter {
	/** @type {number[]} */
	#buckets;
	/** second number of the newest bucket */
	#second = 0;

	/** @param {number} windowSeconds 10 s: smooths bursts yet follows a flood within seconds */
	constructor(windowSeconds = 10) {
		this.#buckets = new Array(windowSeconds).fill(0);
	}

	/**
	 * @param {number} amount
	 * @param {number} nowMs
	 */
	record(amount, nowMs) {
		this.#advance(nowMs);
		this.#buckets[this.#second % this.#buckets.length] += amount;
	}

	/**
	 * The mean per second over the window, the current partial second included.
	 *
	 * @param {number} nowMs
	 */
	perSecond(nowMs) {
		this.#advance(nowMs);
		return this.#buckets.reduce((a, b) => a + b, 0) / this.#buckets.length;
	}

	/** @param {number} nowMs */
	#advance(nowMs) {
		const second = Math.floor(nowMs / 1000);
		if (second <= this.#second) return;
		const steps = Math.min(second - this.#second, this.#buckets.length);
		for (let i = 1; i <= steps; i++) this.#buckets[(this.#second + i) % this.#buckets.length] = 0;
		this.#second = second;
	}
}
