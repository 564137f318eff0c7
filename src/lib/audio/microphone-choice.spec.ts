import { describe, expect, it } from 'vitest';
import { MemorySettingsStore } from '../settings/settings-store';
import { chosenDeviceMissing, listMicrophones, MICROPHONE_KEY, microphoneConstraints, type DeviceLike } from './microphone-choice';
import { MicrophoneChoice, type DeviceList } from './microphone-choice.svelte';

describe('microphone choice', () => {
	it('asks for the chosen device exactly (a missing one is retried as the default by the caller)', () => {
		expect(microphoneConstraints('abc')).toEqual({
			echoCancellation: true,
			noiseSuppression: true,
			autoGainControl: true,
			channelCount: 1,
			deviceId: { exact: 'abc' }
		});
	});

	it('tells a missing device from a refusal', () => {
		expect(chosenDeviceMissing({ name: 'OverconstrainedError' })).toBe(true);
		expect(chosenDeviceMissing({ name: 'NotFoundError' })).toBe(true);
		for (const other of [{ name: 'NotAllowedError' }, { name: 'NotReadableError' }, null, undefined, 'x']) expect(chosenDeviceMissing(other)).toBe(false);
	});

	it('names no device for the system default', () => {
		for (const id of [null, '', 'default']) expect(microphoneConstraints(id)).not.toHaveProperty('deviceId');
		expect(microphoneConstraints(null).echoCancellation).toBe(true);
	});

	it('offers real audio inputs once each, without aliases, outputs or cameras', () => {
		const devices = [
			{ kind: 'audioinput', deviceId: 'default', label: 'Default - Headset' },
			{ kind: 'audioinput', deviceId: 'communications', label: 'Communications - Headset' },
			{ kind: 'audioinput', deviceId: 'h1', label: 'Headset' },
			{ kind: 'audioinput', deviceId: 'h1', label: 'Headset' },
			{ kind: 'audioinput', deviceId: '', label: '' },
			{ kind: 'audiooutput', deviceId: 'o1', label: 'Speakers' },
			{ kind: 'videoinput', deviceId: 'v1', label: 'Camera' },
			{ kind: 'audioinput', deviceId: 'm2', label: '' }
		];
		expect(listMicrophones(devices)).toEqual([
			{ id: 'h1', label: 'Headset' },
			{ id: 'm2', label: '' }
		]);
	});
});

class FakeDevices implements DeviceList {
	devices: DeviceLike[] | null = [];
	#listeners = new Set<() => void>();
	async list() {
		return this.devices;
	}
	watch(onChange: () => void) {
		this.#listeners.add(onChange);
		return () => this.#listeners.delete(onChange);
	}
	plug(devices: DeviceLike[]) {
		this.devices = devices;
		for (const l of this.#listeners) l();
	}
	get watchers() {
		return this.#listeners.size;
	}
}

// The fake list answers at once: one macrotask lets its promise and the refresh after it settle.
const settled = () => new Promise((r) => setTimeout(r, 0));

describe('MicrophoneChoice', () => {
	it('keeps the choice in settings and follows devices plugged in and out', async () => {
		const store = new MemorySettingsStore();
		const devices = new FakeDevices();
		devices.devices = [{ kind: 'audioinput', deviceId: 'a', label: 'Built-in' }];
		const choice = new MicrophoneChoice(store, devices);
		const stop = choice.watch();
		await settled();
		expect(choice.inputs).toEqual([{ id: 'a', label: 'Built-in' }]);
		expect(choice.chosen).toBeNull();

		devices.plug([...devices.devices, { kind: 'audioinput', deviceId: 'h', label: 'Headset' }]);
		await settled();
		choice.choose('h');
		expect(store.get(MICROPHONE_KEY)).toBe('h');
		expect(choice.present).toBe(true);

		// Unplugged: still chosen (it may come back), but not present.
		devices.plug([{ kind: 'audioinput', deviceId: 'a', label: 'Built-in' }]);
		await settled();
		expect(choice.chosen).toBe('h');
		expect(choice.present).toBe(false);

		const again = new MicrophoneChoice(store, devices);
		again.watch();
		expect(again.chosen).toBe('h');

		choice.choose(null);
		expect(store.get(MICROPHONE_KEY)).toBeNull();
		stop();
		expect(devices.watchers).toBe(1);
	});

	it('says when the browser lists no devices at all', async () => {
		const devices = new FakeDevices();
		devices.devices = null;
		const choice = new MicrophoneChoice(new MemorySettingsStore(), devices);
		choice.watch();
		await settled();
		expect(choice.available).toBe(false);
		expect(choice.inputs).toEqual([]);
	});
});