/**
 * buildApp(): the HTTP application as a value, without listening (tests use app.inject()).
 * Resources come in as dependencies; the caller owns their lifecycle.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Pool } from '../core/db.ts';
import { StayosError, errorRegistry } from '../core/errors.ts';
import { loggerOptions, type Logger } from '../core/logger.ts';
import { healthRoutes } from './routes/health.ts';
import { openApi } from './openapi.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { channelRoutes } from './routes/channels.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { webhookRoutes, type WebhookOptions } from './webhooks/index.ts';
import { httpHygiene } from './http-hygiene.ts';

export interface AppDeps {
  pool: Pool;
  logLevel?: string;
  /** A pino logger to use instead of one built from logLevel (tests capture the lines). */
  logger?: Logger;
  /** Mounts the OTA booking webhooks (/webhooks/expedia, /webhooks/ota/:connectionId). */
  webhooks?: WebhookOptions;
  /**
   * Whose X-Forwarded-For names the client (STAYOS_TRUST_PROXY): false (default) — the TCP peer is
   * the client, a forged header changes nothing —, the balancer's addresses/CIDRs, or a hop count.
   */
  trustProxy?: boolean | number | string[];
  /** GET /metrics on this app needs this bearer token (STAYOS_METRICS_TOKEN); without one it is not served here. */
  metricsToken?: string;
  /** Extra route plugins mounted by `stayos start` (sandboxes, dashboard …). */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    pool: Pool;
  }
}

/** A hop count as proxy-addr's trust function (trust the n nearest hops); the rest as Fastify takes them. */
function trustProxyOption(t: boolean | number | string[]): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof t === 'number' ? (_address: string, hop: number) => hop < t : t;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger as FastifyBaseLogger } : { logger: loggerOptions(deps.logLevel ?? 'warn') }),
    // Fastify's two lines per request (incoming, completed) would carry every header and the
    // sandboxes' and dashboard's traffic; the one line below is what an operator needs.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    trustProxy: trustProxyOption(deps.trustProxy ?? false),
  });
  app.decorate('pool', deps.pool);
  httpHygiene(app);

  // One structured line per API and webhook request: route (not the raw URL, whose query could
  // carry anything), status, duration, and who (the key's id and role, never the key). Bodies and
  // headers are not logged; the logger's redaction (core/logger.ts) covers what a handler adds.
  app.addHook('onResponse', async (request, reply) => {
    const url = request.routeOptions.url ?? 'unmatched';
    if (!url.startsWith('/api/') && !url.startsWith('/webhooks/')) return;
    request.log.info(
      {
        method: request.method,
        route: url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        ...(request.principal ? { keyId: request.principal.keyId, role: request.principal.role } : {}),
      },
      'request',
    );
  });

  // One translation from the error registry to HTTP; protocol routes (OTA webhooks) override it
  // with their own formats.
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof StayosError) {
      if (err.httpStatus >= 500) request.log.error({ err }, err.message);
      return reply.status(err.httpStatus).send({ error: { code: err.code, message: err.message } });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status < 500) {
      return reply.status(status).send({ error: { code: status === 401 ? 'ERR_AUTH' : 'ERR_VALIDATION', message: (err as Error).message } });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'ERR_INTERNAL', message: errorRegistry.ERR_INTERNAL.summary } });
  });

  // Not encapsulated: the zod compilers and the document see every route registered after them.
  await openApi(app);
  // Not encapsulated: its onResponse hook times every route.
  await metricsRoutes(app, deps.metricsToken ? { token: deps.metricsToken } : 'none');
  await app.register(healthRoutes);
  await app.register(dashboardRoutes);
  await app.register(channelRoutes);
  if (deps.webhooks) await app.register(webhookRoutes(deps.webhooks));
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return app;
}
