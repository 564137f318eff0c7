// @ts-check
/**
 * npm run dev — a relay (without the built app) plus Vite's dev server, with
 * the dev app pointed at the relay's well-known document.
 */
import { spawn } from 'node:child_process';

const RELAY_PORT = process.env.STANZA_DEV_RELAY_PORT ?? '8788';
const children = [
	spawn(process.execPath, ['relay/main.js', '--host', '127.0.0.1', '--port', RELAY_PORT, '--no-static'], { stdio: 'inherit' }),
	spawn('npx', ['vite', 'dev'], {
		stdio: 'inherit',
		env: { ...process.env, VITE_STANZA_RELAY_ORIGIN: `http://127.0.0.1:${RELAY_PORT}` }
	})
];
const stop = () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM'));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
for (const child of children) child.on('exit', (code) => {
	stop();
	process.exitCode = code ?? 0;
});
