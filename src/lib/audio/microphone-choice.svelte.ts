import { settingsStore, type SettingsStore } from '../settings/settings-store';
import { listMicrophones, MICROPHONE_KEY, type DeviceLike, type MicrophoneInfo } from './microphone-choice';

/** The browser's list of media devices, as a port: the real one reads navigator.mediaDevices. */
export interface DeviceList {
	/** null where the browser has no device list (no mediaDevices, or not a secure context). */
	list(): Promise<DeviceLike[] | null>;
	/** Calls back when a device is plugged in or out; returns the unsubscribe. */
	watch(onChange: () => void): () => void;
}

export const browserDevices: DeviceList = {
	async list() {
		if (!navigator.mediaDevices?.enumerateDevices) return null;
		try {
			return await navigator.mediaDevices.enumerateDevices();
		} catch {
			return null;
		}
	},
	watch(onChange) {
		const devices = navigator.mediaDevices;
		if (!devices?.addEventListener) return () => {};
		devices.addEventListener('devicechange', onChange);
		return () => devices.removeEventListener('devicechange', onChange);
	}
};

/**
 * The microphone picker's state: the inputs the browser lists and the one the
 * person chose (null: the system's). The choice applies the next time the
 * microphone opens; one that is no longer plugged in stays chosen (it may come
 * back) and the system's microphone is used meanwhile (microphone-choice.ts).
 */
export class MicrophoneChoice {
	inputs = $state<MicrophoneInfo[]>([]);
	chosen = $state<string | null>(null);
	/** false when the browser lists no devices at all: the picker then says so instead of offering nothing. */
	available = $state(true);
	readonly #store: SettingsStore;
	readonly #devices: DeviceList;

	constructor(store: SettingsStore = settingsStore, devices: DeviceList = browserDevices) {
		this.#store = store;
		this.#devices = devices;
	}

	/** Reads the choice and the device list, and follows plug/unplug until the returned stop is called. */
	watch(): () => void {
		this.chosen = this.#store.get(MICROPHONE_KEY);
		void this.refresh();
		return this.#devices.watch(() => void this.refresh());
	}

	async refresh(): Promise<void> {
		const devices = await this.#devices.list();
		this.available = devices !== null;
		this.inputs = listMicrophones(devices ?? []);
	}

	/** Whether the chosen microphone is among those plugged in now (the picker warns when not). */
	get present(): boolean {
		return this.chosen === null || this.inputs.some((m) => m.id === this.chosen);
	}

	choose(id: string | null): void {
		this.chosen = id || null;
		this.#store.set(MICROPHONE_KEY, this.chosen);
	}
}

export const microphoneChoice = new MicrophoneChoice();
