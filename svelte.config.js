import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// A static build with relative paths and hash routing runs from any static
		// host or sub-folder, and a room link's fragment never reaches a server.
		adapter: adapter({ pages: 'build', assets: 'build', fallback: undefined, strict: true }),
		router: { type: 'hash' },
		paths: { relative: true }
	}
};

export default config;
