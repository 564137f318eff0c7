/**
 * Which microphone a person speaks through. The choice is a device id kept in
 * settings, asked for as `exact` (Chromium 156, with its fake devices at
 * least, opens its default input for an `ideal` deviceId); when that device is
 * gone (unplugged, or a browser that renewed its ids) the microphone opens
 * again with the system's choice, so a stale setting never leaves a person
 * unable to speak.
 */

export const MICROPHONE_KEY = 'stanza.microphone';

/** The capture settings every microphone opens with: the voice processing WebRTC does for calls. */
const VOICE_PROCESSING = { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } as const;

export function microphoneConstraints(deviceId: string | null): MediaTrackConstraints {
	if (!deviceId || deviceId === 'default') return { ...VOICE_PROCESSING };
	return { ...VOICE_PROCESSING, deviceId: { exact: deviceId } };
}

/** Whether a getUserMedia refusal for a chosen device means "that device is not here" (then: try the system's). */
export function chosenDeviceMissing(err: unknown): boolean {
	const name = (err as { name?: unknown } | null)?.name;
	return name === 'OverconstrainedError' || name === 'NotFoundError';
}

export interface MicrophoneInfo {
	id: string;
	/** Empty until the person has allowed the microphone once (browsers hide labels before that). */
	label: string;
}

/** What enumerateDevices gives, reduced to what we read. */
export interface DeviceLike {
	kind: string;
	deviceId: string;
	label: string;
}

/**
 * The microphones worth offering: audio inputs with an id, without the
 * browser's 'default' and 'communications' aliases (the picker's first
 * entry already means "the system's choice"), each id once.
 */
export function listMicrophones(devices: readonly DeviceLike[]): MicrophoneInfo[] {
	const seen = new Set<string>();
	const out: MicrophoneInfo[] = [];
	for (const d of devices) {
		if (d.kind !== 'audioinput' || !d.deviceId || d.deviceId === 'default' || d.deviceId === 'communications') continue;
		if (seen.has(d.deviceId)) continue;
		seen.add(d.deviceId);
		out.push({ id: d.deviceId, label: d.label });
	}
	return out;
}
