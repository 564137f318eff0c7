#!/usr/bin/env node
// @ts-check
/**
 * Executable entry of the Stanza relay (`npm start`, `npx stanza-relay`).
 *
 * The polyfill is a static import so it runs first; everything else is loaded
 * with a dynamic `import()` so that libp2p is evaluated only after
 * `Promise.withResolvers` exists on Node 20.
 */
import './polyfill.js';

await import('./cli.js');
