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

/** A logger that drops everything: for tests and embedding. */
export const silentLogger = /** @type {Logger} */ ({ info() {}, warn() {}, error() {} });
