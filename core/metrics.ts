/**
 * Prometheus metrics (prom-client), one registry per process. Counters and histograms count what
 * this process did (OTA requests, inbound bookings); gauges that describe shared state (pending
 * cells, CDC lag) are read from PostgreSQL at scrape time, so any API process reports the same
 * truth. `GET /metrics` serves it (api/routes/metrics.ts).
 */
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'stayos_process_' });

export const otaRequests = new client.Counter({
  name: 'stayos_ota_requests_total',
  help: 'OTA requests sent by the sync workers, by channel, message kind, outcome (success, partial, failed) and OTA code',
  labelNames: ['channel', 'kind', 'outcome', 'code'] as const,
  registers: [registry],
});

export const otaRequestSeconds = new client.Histogram({
  name: 'stayos_ota_request_duration_seconds',
  help: 'Duration of OTA requests, retries included',
  labelNames: ['channel', 'kind'] as const,
  buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const inboundBookings = new client.Counter({
  name: 'stayos_inbound_bookings_total',
  help: 'Inbound booking deliveries, by channel and result (created, modified, cancelled, duplicate, stale, refused)',
  labelNames: ['channel', 'result'] as const,
  registers: [registry],
});

export const httpSeconds = new client.Histogram({
  name: 'stayos_http_request_duration_seconds',
  help: 'HTTP request duration by route and status code',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const dbReruns = new client.Counter({
  name: 'stayos_db_reruns_total',
  help: 'Transactions run again after PostgreSQL aborted them for a deadlock (40P01) or a serialization failure (40001), by what they were',
  labelNames: ['what', 'code'] as const,
  registers: [registry],
});

export const cdcIncidents = new client.Counter({
  name: 'stayos_cdc_incidents_total',
  help: 'What the CDC detected and healed by itself: a slot lost, dropped or missing after a failover (every connection resynchronised), a TRUNCATE of an ARI table, a change it could not process (isolated)',
  labelNames: ['kind'] as const,
  registers: [registry],
});
