import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
	build: { target: 'es2022' },
	test: {
		reporters: ['default', './tests/support/summary-reporter.ts'],
		projects: [
			{
				extends: true,
				test: {
					name: 'unit',
					include: ['src/**/*.spec.ts', 'relay/**/*.spec.js'],
					environment: 'node',
					// libp2p 3 calls Promise.withResolvers, which Node 20 lacks (browsers have it).
					setupFiles: ['relay/polyfill.js'],
					// Vitest's default on 2 cores is one file at a time. Two side by side take the unit tests
					// from ~236 s to ~139 s here: the room of 100 (audio-room.spec.ts, ~85–110 s on the virtual
					// clock, so slower is only longer) runs beside the rest, much of which waits on real timers
					// and child processes.
					maxWorkers: 2
				}
			},
			{
				// Benchmarks, not tests: run one at a time with `npm run bench:…`, never by `npm test`.
				extends: true,
				test: {
					name: 'bench',
					include: ['bench/**/*.bench.ts'],
					environment: 'node',
					setupFiles: ['relay/polyfill.js'],
					// Node 20 only has a global WebSocket (needed to dial libp2p over ws) behind this flag.
					execArgv: typeof WebSocket === 'undefined' ? ['--experimental-websocket'] : [],
					fileParallelism: false,
					testTimeout: 1_800_000
				}
			},
			{
				test: {
					name: 'e2e',
					include: ['tests/**/*.e2e.ts'],
					environment: 'node',
					// Each file drives several Chromium pages and a relay: on 2 cores,
					// running files side by side only makes them flaky. For the same reason
					// `npm test` runs them after the unit tests, not beside them.
					fileParallelism: false,
					testTimeout: 120_000,
					hookTimeout: 60_000,
					globalSetup: ['tests/support/global-setup.ts']
				}
			}
		]
	}
});
