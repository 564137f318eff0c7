// @ts-check
import { describe, expect, it } from 'vitest';
import { createMetrics, LIMITS, RateMeter } from './metrics.js';
import { startMetricsServer } from './metrics-server.js';

describe('createMetrics', () => {
	it('renders counters with labels, every limit from zero, and gauges in the Prometheus text format', () => {
		const metrics = createMetrics();
		metrics.refuse('ws_frame');
		metrics.refuse('ws_frame');
		metrics.count('gossip_bytes_total', 'bytes', 1500);
		metrics.gauge('reservations', 'held now', () => 7);
		metrics.gauge('broken', 'owner stopped', () => {
			throw new Error('gone');
		});
		const text = metrics.render();
		expect(text).toContain('# TYPE stanza_relay_refusals_total counter');
		expect(text).toContain('stanza_relay_refusals_total{limit="ws_frame"} 2');
		for (const limit of Object.keys(LIMITS)) expect(text).toMatch(new RegExp(`stanza_relay_refusals_total\\{limit="${limit}"\\} \\d+`));
		expect(text).toContain('stanza_relay_gossip_bytes_total 1500');
		expect(text).toContain('# TYPE stanza_relay_reservations gauge\nstanza_relay_reservations 7');
		expect(text).toContain('stanza_relay_broken NaN');
		expect(metrics.value('refusals_total', { limit: 'ws_frame' })).toBe(2);
	});
});

describe('RateMeter', () => {
	it('averages over the window and forgets what is older', () => {
		const meter = new RateMeter(10);
		for (let s = 0; s < 10; s++) meter.record(100, s * 1000 + 500);
		expect(meter.perSecond(9999)).toBe(100);
		expect(meter.perSecond(14_000)).toBe(50);
		expect(meter.perSecond(60_000)).toBe(0);
	});
});

describe('startMetricsServer', () => {
	it('serves /metrics on loopback, 404 elsewhere, and closes twice safely', async () => {
		const metrics = createMetrics();
		const server = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics });
		try {
			expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
			const res = await fetch(server.url);
			expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
			expect(await res.text()).toContain('stanza_relay_refusals_total');
			expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
		} finally {
			await Promise.all([server.close(), server.close()]);
		}
	});
});
