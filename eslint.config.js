import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

export default ts.config(
	{ ignores: ['build/', '.svelte-kit/', 'node_modules/', 'bench/results/', 'patches/'] },
	js.configs.recommended,
	...ts.configs.recommended,
	...svelte.configs.recommended,
	{
		languageOptions: { globals: { ...globals.browser, ...globals.node } },
		rules: {
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }]
		}
	},
	{
		// AudioWorklet scripts run in their own global scope.
		files: ['src/lib/audio/worklets/*.js'],
		languageOptions: { globals: { AudioWorkletProcessor: 'readonly', registerProcessor: 'readonly', currentTime: 'readonly', sampleRate: 'readonly' } },
		rules: { '@typescript-eslint/ban-ts-comment': 'off' }
	},
	{
		// Components and pages read state and call named actions; the network, the room document, storage and
		// media stay behind the state classes (*.svelte.ts) so they can be tested and swapped (docs/ARCHITECTURE.md).
		files: ['src/lib/components/**/*.svelte', 'src/routes/**/*.svelte'],
		rules: {
			'no-restricted-imports': [
				'error',
				{
					paths: ['yjs', 'libp2p', 'idb-keyval'].map((name) => ({ name, message: 'Components use state classes, not the network, Yjs or storage.' })),
					patterns: [
						{ group: ['@libp2p/*', '@chainsafe/*', '@multiformats/*', 'y-protocols/*'], message: 'Components use state classes, not libp2p or Yjs.' },
						{
							group: ['$lib/net/*', '$lib/room/*', '$lib/audio/*', '$lib/storage/*', '$lib/identity/*', '!$lib/*/*.svelte'],
							allowTypeImports: true,
							message: 'Components import state classes (*.svelte.ts) and types only; logic and adapters stay behind them.'
						}
					]
				}
			]
		}
	},
	{
		files: ['**/*.svelte', '**/*.svelte.ts'],
		languageOptions: {
			parserOptions: { projectService: true, extraFileExtensions: ['.svelte'], parser: ts.parser, svelteConfig }
		}
	}
);
