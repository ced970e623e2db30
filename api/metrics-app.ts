/**
 * The metrics listener of its own (STAYOS_METRICS_HOST/PORT): GET /metrics without a token, and
 * nothing else, on an interface Prometheus alone reaches. Every part of `stayos start` serves it
 * (the CDC's and the connectors' counters live in their processes).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Pool } from '../core/db.ts';
import { metricsRoutes } from './routes/metrics.ts';

export async function buildMetricsApp(pool: Pool): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.decorate('pool', pool);
  await metricsRoutes(app, 'open');
  return app;
}
