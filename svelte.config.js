import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// A static build with relative paths and hash routing runs from any static
		// host or sub-folder, and a room link's fragment never reaches a server.
		// (Kit 2.70 wrote absolute asset paths into a hash-routed page: see
		// patches/@sveltejs+kit+*.patch and tests/subfolder.e2e.ts.)
		// precompress: a .br and a .gz beside each text file, which the relay
		// serves to browsers that accept them (relay/static-files.js).
		adapter: adapter({ pages: 'build', assets: 'build', fallback: undefined, strict: true, precompress: true }),
		router: { type: 'hash' },
		// The root layout's styles (2.4 KB) go inline in index.html: one render-blocking request fewer.
		inlineStyleThreshold: 4096,
		paths: { relative: true }
	}
};

export default config;
