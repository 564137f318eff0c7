/**
 * How Stanza encodes speech. Encoded once at the speaker; every listener
 * decodes the same bytes (docs/ARCHITECTURE.md: re-encoding per hop cost 45–55 ms
 * a hop, forwarding bytes ~1 ms).
 *
 * - 20 ms frames: what WebRTC uses; 10 ms would double the per-packet
 *   overhead that already exceeds the audio itself (see STREAM_KBPS).
 * - Mono, 48 kHz, 32 kbps: wide-band speech at a rate phones can relay.
 * - DTX off: with DTX a silent speaker sends a packet only every 400 ms, and
 *   the tree could no longer tell a quiet parent from a dead one within the
 *   250 ms that repair needs. Constant 50 packets/s is the liveness signal.
 * - In-band FEC off: WebCodecs' AudioDecoder has no way to decode the
 *   redundancy a packet carries for its predecessor, so FEC would cost bits
 *   and buy nothing. Loss is concealed by the playback instead.
 */
export const SAMPLE_RATE = 48_000;
export const FRAME_SAMPLES = 960; // 20 ms at 48 kHz
export const OPUS_BITRATE = 32_000;

export const ENCODER_CONFIG: AudioEncoderConfig = {
	codec: 'opus',
	sampleRate: SAMPLE_RATE,
	numberOfChannels: 1,
	bitrate: OPUS_BITRATE,
	opus: { frameDuration: 20_000, usedtx: false, useinbandfec: false, complexity: 5 }
} as AudioEncoderConfig;

export const DECODER_CONFIG: AudioDecoderConfig = { codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1 };

export type AudioSupport = { ok: true } | { ok: false; reason: 'no-webcodecs' | 'no-opus' };

/** Whether this browser can take part in audio at all (WebCodecs Opus decode; encode for speakers). */
export async function audioSupport(): Promise<{ listen: AudioSupport; speak: AudioSupport }> {
	if (typeof AudioDecoder === 'undefined') return { listen: { ok: false, reason: 'no-webcodecs' }, speak: { ok: false, reason: 'no-webcodecs' } };
	const decode = await AudioDecoder.isConfigSupported(DECODER_CONFIG).catch(() => ({ supported: false }));
	const encode =
		typeof AudioEncoder === 'undefined' ? { supported: false } : await AudioEncoder.isConfigSupported(ENCODER_CONFIG).catch(() => ({ supported: false }));
	return {
		listen: decode.supported ? { ok: true } : { ok: false, reason: 'no-opus' },
		speak: encode.supported ? { ok: true } : { ok: false, reason: typeof AudioEncoder === 'undefined' ? 'no-webcodecs' : 'no-opus' }
	};
}
