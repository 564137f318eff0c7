/**
 * /stanza/media/1.0.0 — setting up one audio edge (an RTCPeerConnection with
 * one unordered, no-retransmit data channel) between two room members, over
 * their direct libp2p connection.
 *
 * Frames are unsigned-varint length-prefixed, at most 16 KiB. The first is
 * the room id (plain UTF-8); every later one is sealed with the room key
 * (room-crypto.ts, purpose "media") — which also proves the dialer holds the
 * link — and holds one UTF-8 JSON message:
 *
 *   dialer → listener   { "t": "attach", "as": "listener" | "standby" | "speaker", "lost"?: peerId, "displace"?: peerId }
 *   listener → dialer   { "t": "accept" } | { "t": "refuse", "reason": "full" | "not-allowed" | "no-audio" }
 *   dialer → listener   { "t": "offer", "sdp": s }
 *   listener → dialer   { "t": "answer", "sdp": s }
 *   both ways           { "t": "ice", "candidate": RTCIceCandidateInit | null }   (null: no more)
 *
 * An offer or answer holds one m=application section (the data channel), and
 * on a speaker link one m=audio too, nothing else (stage-sdp.ts,
 * linkSdpProblem); a candidate is "candidate:…" or "" (end of candidates), at
 * most MAX_REMOTE_CANDIDATES of them a link. Anything else fails the setup.
 *
 * "listener": the dialer wants the listener as its parent in the audio tree.
 * "standby": the same, held in reserve: the link stays idle (keep-alives
 * only) until the dialer activates it the moment its parent fails.
 * "lost" (listener only, optional): the parent the dialer just lost. If the
 * listener is full and that member is its own child and silent to it too, it
 * frees that slot for the dialer; any other asker gets "full".
 * "displace" (listener only, optional): the dialer relays and found no free
 * slot anywhere. If the listener is full and that member is its child and a
 * leaf (its advert: capacity 0), the listener lets the leaf go to take the
 * dialer (at most one such swap every 10 s; tree-engine.ts admitChild); the
 * leaf repairs, most likely into one of the dialer's free slots.
 * "speaker": two speakers link up on the stage. The stream closes once the
 * data channel is open.
 */
import { parseJsonObject } from '../wire/json-object';
import { looksLikePeerId } from '../wire/peer-id-text';
export const MEDIA_PROTOCOL = '/stanza/media/1.0.0';
// SDP for one data channel is ~1 KB; candidates are ~200 bytes.
export const MAX_SIGNAL_BYTES = 16 * 1024;

/**
 * The most ICE candidates (non-null `ice` messages, end-of-candidates markers
 * included) one link's far end may send; one more fails the setup. Each
 * remote candidate makes the browser send STUN connectivity checks to the
 * address it names, so without a cap a member running code of its own could
 * have another aim checks at any addresses it likes (a scanner, or a small
 * reflector) for the whole 10 s of a setup, from as many links as it can get.
 *
 * An honest end sends far fewer: per local address (host) candidates for UDP
 * and TCP, plus one server-reflexive per STUN server and a relayed one per TURN
 * server and transport. Both ends use the max-bundle policy (webrtc-pipe.ts),
 * so only the first section's transport gathers. Measured on a test machine
 * with four addresses, loopback included (Chromium 156, Firefox 153 ESR):
 * Chromium sends 2 (mDNS names), Firefox 9, or 17 when it offers a stage link
 * (UDP and TCP for RTCP too: four per address), which the default bundle
 * policy made 26. A Firefox speaker with a VPN, several IPv6 addresses and
 * TURN is the nearest to the cap: a speaker whose microphone is granted shows
 * its real addresses (no mDNS names), and relayed candidates, the ones a user
 * behind a strict NAT needs, come last. So the cap leaves room for about 15
 * addresses, far above what a phone or laptop has. Candidates written into the
 * offer or answer itself (`a=candidate:` lines) count too (stage-sdp.ts).
 */
export const MAX_REMOTE_CANDIDATES = 64;

/** A candidate line is ~100–250 characters (a relayed IPv6 one the longest); anything far past that is not one. */
const MAX_CANDIDATE_CHARS = 512;

export type AttachAs = 'listener' | 'standby' | 'speaker';
export type RefuseReason = 'full' | 'not-allowed' | 'no-audio';

/** A link request: as what, and for a listener, the parent it lost and the leaf it would take the place of. */
export type AttachRequest = { t: 'attach'; as: AttachAs; lost?: string; displace?: string };

export type SignalMessage =
	| AttachRequest
	| { t: 'accept' }
	| { t: 'refuse'; reason: RefuseReason }
	| { t: 'offer' | 'answer'; sdp: string }
	| { t: 'ice'; candidate: RTCIceCandidateInit | null };

export class SignalError extends Error {
	override name = 'SignalError';
}

export function encodeSignal(message: SignalMessage): Uint8Array {
	const bytes = new TextEncoder().encode(JSON.stringify(message));
	if (bytes.length > MAX_SIGNAL_BYTES) throw new SignalError('signal message too large');
	return bytes;
}

export function decodeSignal(bytes: Uint8Array): SignalMessage {
	if (bytes.length > MAX_SIGNAL_BYTES) throw new SignalError('signal message too large');
	const m = parseJsonObject(bytes, (message) => new SignalError(message), 'signal message');
	switch (m.t) {
		case 'attach': {
			if (m.as !== 'listener' && m.as !== 'standby' && m.as !== 'speaker') throw new SignalError('attach needs as: listener, standby or speaker');
			const request: AttachRequest = { t: 'attach', as: m.as };
			for (const field of ['lost', 'displace'] as const) {
				const named = m[field];
				if (named === undefined) continue;
				if (m.as !== 'listener' || typeof named !== 'string' || !looksLikePeerId(named)) throw new SignalError(`attach ${field} must name a peer, on a listener request`);
				request[field] = named;
			}
			return request;
		}
		case 'accept':
			return { t: 'accept' };
		case 'refuse':
			if (m.reason !== 'full' && m.reason !== 'not-allowed' && m.reason !== 'no-audio') throw new SignalError('unknown refusal');
			return { t: 'refuse', reason: m.reason };
		case 'offer':
		case 'answer':
			if (typeof m.sdp !== 'string' || !m.sdp.startsWith('v=0')) throw new SignalError(`${m.t} needs an SDP`);
			return { t: m.t, sdp: m.sdp };
		case 'ice': {
			const c = m.candidate;
			if (c === null) return { t: 'ice', candidate: null };
			if (typeof c !== 'object' || c === null || typeof (c as { candidate?: unknown }).candidate !== 'string') {
				throw new SignalError('ice needs a candidate or null');
			}
			const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = c as Record<string, unknown>;
			// RTCIceCandidate.toJSON(): an a=candidate line without its "a=", or "" (end of candidates).
			if ((candidate !== '' && !(candidate as string).startsWith('candidate:')) || (candidate as string).length > MAX_CANDIDATE_CHARS) {
				throw new SignalError('ice needs a candidate line');
			}
			return {
				t: 'ice',
				candidate: {
					candidate: candidate as string,
					sdpMid: typeof sdpMid === 'string' ? sdpMid : null,
					sdpMLineIndex: typeof sdpMLineIndex === 'number' ? sdpMLineIndex : null,
					...(typeof usernameFragment === 'string' ? { usernameFragment } : {})
				}
			};
		}
		default:
			throw new SignalError(`unknown signal message ${String(m.t)}`);
	}
}
