// @ts-check
/**
 * Command-line front of the relay: parse options, start, print the addresses,
 * stop cleanly on SIGINT/SIGTERM. Loaded by main.js after the polyfill.
 *
 * Startup output on stdout (tests and scripts parse it):
 *
 *     Stanza relay <peerId>
 *       app     http://127.0.0.1:<port>/
 *       app     http://<lan-ip>:<port>/
 *       libp2p  <multiaddr>/p2p/<peerId>
 *
 * Exit codes: 0 after --help or a signal, 1 when the relay cannot start,
 * 2 for bad options.
 */
import { existsSync } from 'node:fs';
import { parseConfig, usage } from './config.js';
import { createLogger } from './log.js';
import { startRelay } from './relay.js';

const log = createLogger();
let started = false;

/**
 * Errors that escape libp2p's internals (a peer resetting a stream at the
 * wrong moment) must not take the relay down for everyone once it runs.
 * During startup they are fatal: nothing useful is running yet.
 *
 * @param {string} kind
 * @returns {(err: unknown) => void}
 */
const onStrayError = (kind) => (err) => {
	const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
	if (!started) {
		log.error(`${kind} during startup: ${message}`);
		process.exit(1);
	}
	log.warn(`${kind} (relay keeps running): ${message}`);
};
// Logging is best effort: when whoever reads our output goes away (a closed
// terminal, a dead supervisor pipe), writes fail with EPIPE. Unhandled, each
// failure is an uncaught exception whose warning is another failing write: a
// relay that spins at full CPU and never stops. Drop the lost lines instead.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
process.on('unhandledRejection', onStrayError('unhandled rejection'));
process.on('uncaughtException', onStrayError('uncaught exception'));

const parsed = parseConfig(process.argv.slice(2), process.env);
if ('help' in parsed) {
	process.stdout.write(usage());
	process.exit(0);
}
if ('error' in parsed) {
	process.stderr.write(`stanza-relay: ${parsed.error}\n\n${usage()}`);
	process.exit(2);
}
const { config } = parsed;

/** @type {Awaited<ReturnType<typeof startRelay>>} */
let relay;
try {
	relay = await startRelay(config, { log });
} catch (err) {
	process.stderr.write(`stanza-relay: ${describeStartupError(err, config.port)}\n`);
	process.exit(1);
}
started = true;

// Before the addresses are printed: whoever reads them may signal at once.
let stopping = false;
/** @param {NodeJS.Signals} signal */
const onSignal = (signal) => {
	if (stopping) return;
	stopping = true;
	log.info(`stopping (${signal})`);
	relay.stop().then(
		() => process.exit(0),
		(err) => {
			log.error(`while stopping: ${err instanceof Error ? err.message : String(err)}`);
			process.exit(1);
		}
	);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.stdout.write(
	[
		`Stanza relay ${relay.peerId}`,
		...relay.appUrls.map((url) => `  app     ${url}`),
		...relay.multiaddrs.map((ma) => `  libp2p  ${ma}`)
	].join('\n') + '\n'
);
// After the address block, so that block always starts the output.
if (relay.metricsUrl) log.info(`metrics at ${relay.metricsUrl}`);
if (config.federate.length > 0) log.info(`federating with ${config.federate.length} relay(s): ${config.federate.join(', ')}`);
if (relay.keyCreated) log.info(`created a new relay identity in ${config.keyFile}; keep this file to keep the PeerId`);
if (config.staticDir === null) log.info('not serving the app (--no-static)');
else if (!existsSync(config.staticDir)) log.warn(`app folder ${config.staticDir} not found: run \`npm run build\` (the relay works without it)`);

/**
 * One line a person can act on, instead of a stack trace, for the usual
 * reasons a relay cannot start.
 *
 * @param {unknown} err
 * @param {number} port
 */
function describeStartupError(err, port) {
	const code = /** @type {NodeJS.ErrnoException} */ (err)?.code;
	if (code === 'EADDRINUSE') return `port ${port} is already in use; choose another with --port`;
	if (code === 'EACCES' || code === 'EPERM') {
		return `permission denied to listen on port ${port}; ports below 1024 need privileges, choose another with --port`;
	}
	if (code === 'EADDRNOTAVAIL') return `cannot bind to the --host address: it is not an address of this machine`;
	return err instanceof Error ? err.message : String(err);
}
