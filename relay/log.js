// @ts-check
/**
 * A tiny logger: one line per call, info to stdout, warnings and errors to
 * stderr, so a process supervisor (systemd, docker) can keep and rotate them.
 */

/**
 * @typedef {object} Logger
 * @property {(message: string) => void} info
 * @property {(message: string) => void} warn
 * @property {(message: string) => void} error
 */

/**
 * Flattens a message to one line so every log entry stays one line, even when
 * it quotes an error message with newlines in it.
 *
 * @param {string} message
 */
function oneLine(message) {
	return message.replace(/\s*\r?\n\s*/g, ' | ');
}

/**
 * @param {{ stdout?: NodeJS.WritableStream, stderr?: NodeJS.WritableStream, prefix?: string }} [streams]
 * @returns {Logger}
 */
export function createLogger({ stdout = process.stdout, stderr = process.stderr, prefix = 'stanza-relay:' } = {}) {
	return {
		info: (message) => void stdout.write(`${prefix} ${oneLine(message)}\n`),
		warn: (message) => void stderr.write(`${prefix} warning: ${oneLine(message)}\n`),
		error: (message) => void stderr.write(`${prefix} error: ${oneLine(message)}\n`)
	};
}

/** A limit that keeps firing is logged at most this often, so an attack cannot flood the log. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * Warns about a limit's refusals at most once per REFUSAL_LOG_INTERVAL_MS per limit, however many
 * addresses or peer ids hit it (peer ids cost nothing to make); the metrics count every refusal.
 *
 * @param {Logger} log
 * @param {() => number} [now]
 * @returns {(limit: string, message: string) => void}
 */
export function refusalWarner(log, now = Date.now) {
	/** @type {Map<string, number>} limit → when it was last logged */
	const lastLogged = new Map();
	return (limit, message) => {
		const at = now();
		if (at - (lastLogged.get(limit) ?? -Infinity) < REFUSAL_LOG_INTERVAL_MS) return;
		lastLogged.set(limit, at);
		log.warn(`${message} (further refusals by this limit are counted in metrics, logged every ${REFUSAL_LOG_INTERVAL_MS / 1000} s)`);
	};
}

/** A logger that drops everything: for tests and embedding. */
export const silentLogger = /** @type {Logger} */ ({ info() {}, warn() {}, error() {} });
