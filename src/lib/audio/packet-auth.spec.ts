import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PacketSigner, PacketVerifier } from './packet-auth';
import { SIGNATURE_BYTES, decodePacket, encodePacket, type AudioPacket } from './packet-codec';

const packet = (over: Partial<AudioPacket> = {}): AudioPacket => ({
	flags: 0,
	speakerTag: 0x01020304,
	seq: 7,
	captureTs: 960 * 7,
	payload: new Uint8Array([0xfc, 0xff, 0xfe, 1, 2, 3]),
	...over
});

async function speaker() {
	const key = await generateKeyPair('Ed25519');
	return { key, peerId: peerIdFromPrivateKey(key).toString() };
}

describe('audio packet authentication', () => {
	it("accepts the speaker's own packet, in the room it was signed for", async () => {
		const s = await speaker();
		const bytes = await (await PacketSigner.create(s.key, 'room-1')).encode(packet());
		expect(bytes.length).toBe(14 + 6 + SIGNATURE_BYTES);
		expect(await new PacketVerifier('room-1').verify(s.peerId, decodePacket(bytes))).toBe(true);
	});

	it('refuses it under another speaker, in another room, or unsigned', async () => {
		const [s, other] = await Promise.all([speaker(), speaker()]);
		const bytes = await (await PacketSigner.create(s.key, 'room-1')).encode(packet());
		expect(await new PacketVerifier('room-1').verify(other.peerId, decodePacket(bytes))).toBe(false);
		expect(await new PacketVerifier('room-2').verify(s.peerId, decodePacket(bytes))).toBe(false);
		const zeroSigned = encodePacket(packet(), new Uint8Array(SIGNATURE_BYTES));
		expect(await new PacketVerifier('room-1').verify(s.peerId, decodePacket(zeroSigned))).toBe(false);
	});

	it('refuses a speaker that is not an Ed25519 PeerId without throwing', async () => {
		const s = await speaker();
		const bytes = await (await PacketSigner.create(s.key, 'room-1')).encode(packet());
		expect(await new PacketVerifier('room-1').verify('not-a-peer-id', decodePacket(bytes))).toBe(false);
	});

	it('refuses every single-bit change a relay could make to a signed packet (property)', async () => {
		const s = await speaker();
		const signer = await PacketSigner.create(s.key, 'room-1');
		const verifier = new PacketVerifier('room-1');
		const original = await signer.encode(packet());
		await fc.assert(
			fc.asyncProperty(fc.integer({ min: 0, max: original.length * 8 - 1 }), async (bit) => {
				const forged = original.slice();
				forged[bit >> 3] ^= 1 << (bit & 7);
				let decoded;
				try {
					decoded = decodePacket(forged);
				} catch {
					return; // malformed: never reaches the verifier
				}
				expect(await verifier.verify(s.peerId, decoded)).toBe(false);
			}),
			{ seed: 7, numRuns: 200 }
		);
	});
});
