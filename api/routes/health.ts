/**
 * Liveness and readiness. /healthz: the process serves and PostgreSQL answers. /readyz: also
 * every migration on disk is applied (a rolling deploy must not route to a half-migrated schema).
 */
import type { FastifyInstance } from 'fastify';
import { loadMigrations } from '../../core/migrator.ts';

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', { schema: { tags: ['monitoring'], summary: 'Liveness: the process serves and PostgreSQL answers (503 otherwise)' } }, async (_request, reply) => {
    const started = performance.now();
    try {
      await app.pool.query('SELECT 1');
      return { status: 'ok', database: 'up', latencyMs: Math.round(performance.now() - started) };
    } catch (err) {
      return reply.status(503).send({ status: 'error', database: 'down', message: (err as Error).message });
    }
  });

  app.get('/readyz', { schema: { tags: ['monitoring'], summary: 'Readiness: also every migration on disk is applied (503 while migrating)' } }, async (_request, reply) => {
    try {
      const known = loadMigrations().map((m) => m.version);
      const { rows } = await app.pool.query<{ version: string; type: string }>(
        `SELECT version, type FROM public.flyway_schema_history WHERE success ORDER BY installed_rank`,
      );
      const applied = new Set<string>();
      for (const r of rows) (r.type === 'SQL' ? applied.add(r.version) : applied.delete(r.version));
      const pending = known.filter((v) => !applied.has(v));
      if (pending.length) return reply.status(503).send({ status: 'migrating', pending });
      return { status: 'ready' };
    } catch (err) {
      return reply.status(503).send({ status: 'error', message: (err as Error).message });
    }
  });
}
