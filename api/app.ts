/**
 * buildApp(): the HTTP application as a value, without listening (tests use app.inject()).
 * Resources come in as dependencies; the caller owns their lifecycle.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Pool } from '../core/db.ts';
import { StayosError, errorRegistry } from '../core/errors.ts';
import { loggerOptions } from '../core/logger.ts';
import { healthRoutes } from './routes/health.ts';
import { channelRoutes } from './routes/channels.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { webhookRoutes, type WebhookOptions } from './webhooks/index.ts';

export interface AppDeps {
  pool: Pool;
  logLevel?: string;
  /** Encrypts connection credentials written through the API (the PII key). */
  encryptionKey?: string;
  /** Mounts the OTA booking webhooks (/webhooks/expedia, /webhooks/ota/:connectionId). */
  webhooks?: WebhookOptions;
  /** Extra route plugins mounted by `stayos start` (sandboxes, dashboard …). */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    pool: Pool;
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(deps.logLevel ?? 'warn'),
    // Per-request lines would drown the pipeline's own logs; errors are still logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  });
  app.decorate('pool', deps.pool);

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

  // Not encapsulated: its onResponse hook times every route.
  await metricsRoutes(app);
  await app.register(healthRoutes);
  await app.register(channelRoutes, { encryptionKey: deps.encryptionKey ?? deps.webhooks?.encryptionKey });
  if (deps.webhooks) await app.register(webhookRoutes(deps.webhooks));
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return app;
}
