// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
	namespace App {}

	interface ImportMetaEnv {
		/** Comma-separated relay multiaddrs, for an app hosted away from any relay. */
		readonly VITE_STANZA_RELAYS?: string;
		/** Origin of the relay whose well-known document to read (dev server only). */
		readonly VITE_STANZA_RELAY_ORIGIN?: string;
		/** JSON list of RTCIceServer objects for WebRTC beyond a LAN (none by default). */
		readonly VITE_STANZA_ICE_SERVERS?: string;
	}
}

export {};
