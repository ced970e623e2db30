/** `GET /metrics`: Prometheus text with the shared state read at scrape time and this process's counters. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { useTestDatabase } from '../helpers/db.ts';
import { DEMO_CONNECTIONS, seedDemo } from '../helpers/demo.ts';
import { addDays } from '../../core/dates.ts';
import { buildApp } from '../../api/index.ts';
import { buildMetricsApp } from '../../api/metrics-app.ts';
import { buildBnRequest } from '../../connectors/expedia/booking-notification.ts';
import { CdcMetrics, reportProgress } from '../../cdc/metrics.ts';
import { createLogger } from '../../core/logger.ts';
import { waitFor } from '../helpers/wait.ts';

const db = useTestDatabase();
let app: FastifyInstance;
const expedia = DEMO_CONNECTIONS.find((c) => c.channel === 'expedia')!;
const METRICS_TOKEN = 'metrics-token-for-the-test-0123456789';
const scrape = { authorization: `Bearer ${METRICS_TOKEN}` };

beforeAll(async () => {
  await seedDemo(db.current.pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 5 });
  app = await buildApp({ pool: db.current.pool, logLevel: 'silent', metricsToken: METRICS_TOKEN, webhooks: { bodyLimit: 256 * 1024, ratePerMinute: 1000 } });
});
afterAll(async () => app?.close());

const metric = (text: string, name: string, labels: Record<string, string>) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

describe('GET /metrics', () => {
  it('reports pending cells and health per connection, and counts inbound bookings by result', async () => {
    const { pool } = db.current;
    const { rows } = await pool.query(`SELECT c.id, c.channel_code, count(d.*) FILTER (WHERE d.deleted_at IS NULL)::int AS n FROM channel.channel_connections c
      LEFT JOIN channel.ari_dirty_cells d ON d.connection_id = c.id GROUP BY 1, 2`);
    const before = (await app.inject({ method: 'GET', url: '/metrics', headers: scrape })).body;
    for (const r of rows) {
      expect(metric(before, 'stayos_pending_cells', { connection: r.id })).toBe(r.n);
      expect(metric(before, 'stayos_connection_active', { connection: r.id, status: 'active' })).toBe(1);
    }
    const arrival = addDays(new Date().toISOString().slice(0, 10), 20);
    const body = buildBnRequest({
      kind: 'new',
      requestId: 'm1',
      hotelCode: expedia.hotelCode,
      username: String(expedia.credentials.username),
      password: String(expedia.credentials.password),
      externalId: 'METRICS-1',
      timeStamp: '2026-11-20T10:00:00+00:00',
      currency: 'EUR',
      room: {
        roomCode: expedia.roomCodes.STD!,
        rateCode: expedia.rateCodes.BAR!,
        arrival,
        departure: addDays(arrival, 1),
        adults: 1,
        nights: [{ date: arrival, amount: '99.00' }],
      },
      guest: { firstName: 'Metric', lastName: 'Guest' },
    });
    const created = metric(before, 'stayos_inbound_bookings_total', { channel: 'expedia', result: 'created' }) ?? 0;
    for (let i = 0; i < 2; i++)
      expect((await app.inject({ method: 'POST', url: '/webhooks/expedia', payload: body, headers: { 'content-type': 'text/xml' } })).statusCode).toBe(200);
    const after = (await app.inject({ method: 'GET', url: '/metrics', headers: scrape })).body;
    expect(metric(after, 'stayos_inbound_bookings_total', { channel: 'expedia', result: 'created' })).toBe(created + 1);
    expect(metric(after, 'stayos_inbound_bookings_total', { channel: 'expedia', result: 'duplicate' })).toBeGreaterThanOrEqual(1);
    expect(after).toMatch(/^stayos_http_request_duration_seconds_bucket\{.*route="\/webhooks\/expedia".*\} \d+/m);
    expect(after).toContain('# TYPE stayos_ota_requests_total counter');
  });

  it("reports the CDC's events as its active process last wrote them, and 0 events/s once that report is stale", async () => {
    const { pool } = db.current;
    const metrics = new CdcMetrics();
    metrics.streaming = true;
    for (let i = 0; i < 5; i++) metrics.recordTransaction(40, new Date().toISOString(), '0/1');
    const stop = reportProgress(pool, 'metrics_slot', metrics, createLogger('silent'), { everyMs: 60_000 });
    await waitFor(async () => (await pool.query(`SELECT 1 FROM channel.cdc_progress WHERE slot_name = 'metrics_slot'`)).rowCount);
    const text = (await app.inject({ method: 'GET', url: '/metrics', headers: scrape })).body;
    expect(metric(text, 'stayos_cdc_events_total', { slot: 'metrics_slot' })).toBe(200);
    expect(metric(text, 'stayos_cdc_events_per_second', { slot: 'metrics_slot' })).toBeCloseTo(metrics.eventsPerSecond(), 5);
    await stop();
    await pool.query(`UPDATE channel.cdc_progress SET reported_at = now() - interval '1 minute', events_per_second = 99 WHERE slot_name = 'metrics_slot'`);
    const stale = (await app.inject({ method: 'GET', url: '/metrics', headers: scrape })).body;
    expect(metric(stale, 'stayos_cdc_events_per_second', { slot: 'metrics_slot' })).toBe(0);
  });

  it('is not public (issue 16): the API port wants the bearer token and says so; without a token configured it is not there; its own listener serves it alone', async () => {
    const { pool } = db.current;
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-of-the-same-kind-000000' },
      { authorization: `Basic ${METRICS_TOKEN}` },
      { authorization: `Bearer ${METRICS_TOKEN}x` },
    ]) {
      const res = await app.inject({ method: 'GET', url: '/metrics', headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.body).not.toContain('stayos_pending_cells');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
    const bare = await buildApp({ pool, logLevel: 'silent' });
    try {
      expect((await bare.inject({ method: 'GET', url: '/metrics', headers: scrape })).statusCode).toBe(404);
    } finally {
      await bare.close();
    }
    const own = await buildMetricsApp(pool);
    try {
      const res = await own.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('stayos_pending_cells');
      for (const url of ['/api/v1/channels', '/healthz', '/', '/docs/json']) expect((await own.inject({ method: 'GET', url })).statusCode, url).toBe(404);
    } finally {
      await own.close();
    }
  });
});
