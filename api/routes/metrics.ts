/**
 * `GET /metrics`: Prometheus text format. Its labels name every connection, hotel code and status,
 * so it is not public: on the API port it needs `Authorization: Bearer <STAYOS_METRICS_TOKEN>`
 * (without a token configured it is not served there at all), and a listener of its own
 * (STAYOS_METRICS_HOST/PORT, api/metrics-app.ts) serves it without a token on an interface
 * Prometheus alone reaches. Adds, at each scrape, the state every process shares:
 * pending cells and the age of the oldest per connection, connection health, the CDC slots'
 * lag in bytes, the CDC's events (total and per second, as its active process reported them), slot
 * problems and open CDC incidents (from PostgreSQL, as the service role: operators see all properties).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import client from 'prom-client';
import { httpSeconds, registry } from '../../core/metrics.ts';
import { databaseSlots, READ_PROGRESS, SLOT_PROBLEMS, type ProgressReport } from '../../cdc/index.ts';

/** How /metrics is served on an app: with a bearer token, open (its own listener), or not at all. */
export type MetricsAccess = { token: string } | 'open' | 'none';

/** Compares the bearer token in constant time (hashes of equal length, whatever was sent). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const sent = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(sent), digest(token));
}

export async function metricsRoutes(app: FastifyInstance, access: MetricsAccess): Promise<void> {
  const pending = new client.Gauge({
    name: 'stayos_pending_cells',
    help: 'ARI cells waiting to be pushed, per connection',
    labelNames: ['connection', 'channel', 'hotel'] as const,
    registers: [],
  });
  const oldest = new client.Gauge({
    name: 'stayos_pending_oldest_seconds',
    help: 'Age of the oldest waiting cell, per connection',
    labelNames: ['connection', 'channel', 'hotel'] as const,
    registers: [],
  });
  const up = new client.Gauge({
    name: 'stayos_connection_active',
    help: '1 when the connection is active, 0 when degraded, down or paused',
    labelNames: ['connection', 'channel', 'hotel', 'status'] as const,
    registers: [],
  });
  const lag = new client.Gauge({
    name: 'stayos_cdc_lag_bytes',
    help: 'WAL bytes between the current position and what the CDC slot acknowledged',
    labelNames: ['slot'] as const,
    registers: [],
  });
  const events = new client.Gauge({
    name: 'stayos_cdc_events_total',
    help: 'Row changes the CDC decoded and handed on, as its active process last reported (channel.cdc_progress)',
    labelNames: ['slot'] as const,
    registers: [],
  });
  const eventRate = new client.Gauge({
    name: 'stayos_cdc_events_per_second',
    help: 'Row changes per second over the last 10 s, as the active CDC last reported (0 when its report is older than 30 s)',
    labelNames: ['slot'] as const,
    registers: [],
  });
  const slotProblems = new client.Gauge({
    name: 'stayos_cdc_slot_problems',
    help: 'CDC slot problems not yet healed: a recorded slot missing or lost, a slot incident not yet resynchronised (page on > 0)',
    registers: [],
  });
  const openIncidents = new client.Gauge({
    name: 'stayos_cdc_open_incidents',
    help: 'CDC incidents still open, by kind (slot_lost, slot_dropped, failover: until the resync drained; poison: a change set aside until its connection is fixed)',
    labelNames: ['kind'] as const,
    registers: [],
  });
  const gauges = [pending, oldest, up, lag, events, eventRate, slotProblems, openIncidents];
  const shared = new client.Registry();
  for (const m of gauges) shared.registerMetric(m);

  if (access !== 'open') {
    // The API's own requests are timed; a metrics listener times nothing but its scrapes.
    app.addHook('onResponse', async (request, reply) => {
      httpSeconds.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
  }
  const guard = async (request: FastifyRequest, reply: FastifyReply) => {
    if (access === 'none') {
      return reply.code(404).send({
        error: {
          code: 'ERR_NOT_FOUND',
          message: 'metrics are not served on this port: set STAYOS_METRICS_TOKEN (then scrape with it) or STAYOS_METRICS_PORT',
        },
      });
    }
    if (access !== 'open' && !tokenMatches(request.headers.authorization, access.token)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: { code: 'ERR_AUTH', message: 'GET /metrics needs Authorization: Bearer <STAYOS_METRICS_TOKEN>' } });
    }
  };

  app.get(
    '/metrics',
    {
      onRequest: guard,
      schema: {
        tags: ['monitoring'],
        summary: 'Prometheus metrics (text format): Authorization: Bearer <STAYOS_METRICS_TOKEN>, or the metrics listener of its own (STAYOS_METRICS_PORT)',
      },
    },
    async (_request, reply) => {
      for (const m of gauges) m.reset();
      const [{ rows: conns }, slots, { rows: progress }, { rows: problems }, { rows: incidents }] = await Promise.all([
        app.pool.query(
          `SELECT id, channel_code, ota_hotel_code, status, pending_cells, EXTRACT(EPOCH FROM now() - oldest_dirty_at)::float8 AS oldest FROM channel.channel_status`,
        ),
        databaseSlots(app.pool),
        app.pool.query<ProgressReport>(READ_PROGRESS),
        app.pool.query(SLOT_PROBLEMS),
        app.pool.query(`SELECT kind, count(*)::int AS n FROM channel.cdc_incidents WHERE resolved_at IS NULL AND deleted_at IS NULL GROUP BY kind`),
      ]);
      slotProblems.set(problems.length);
      for (const i of incidents) openIncidents.set({ kind: i.kind }, i.n);
      for (const c of conns) {
        const labels = { connection: c.id, channel: c.channel_code, hotel: c.ota_hotel_code };
        pending.set(labels, c.pending_cells);
        oldest.set(labels, c.oldest ?? 0);
        up.set({ ...labels, status: c.status }, c.status === 'active' ? 1 : 0);
      }
      for (const s of slots) lag.set({ slot: s.slot }, s.lagBytes ?? 0);
      for (const p of progress) {
        events.set({ slot: p.slot }, p.eventsTotal);
        eventRate.set({ slot: p.slot }, p.eventsPerSecond);
      }
      const text = (await registry.metrics()) + (await shared.metrics());
      return reply.type(registry.contentType).send(text);
    },
  );
}
