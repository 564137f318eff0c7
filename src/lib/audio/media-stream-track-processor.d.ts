// MediaStreamTrackProcessor (Chrome, Edge; not yet in TypeScript's DOM lib).
// https://w3c.github.io/mediacapture-transform/
declare class MediaStreamTrackProcessor {
	constructor(init: { track: MediaStreamTrack; maxBufferSize?: number });
	readonly readable: ReadableStream<AudioData>;
}
