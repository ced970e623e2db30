/**
 * Liveness and readiness. /healthz: the process serves, PostgreSQL answers, and the CDC's slot is
 * usable (a slot lost, dropped or missing after a failover stops the sync of every hotel: said
 * loudly until the CDC has remade it and resynchronised, cdc/slot-health.ts). /readyz: also every
 * migration on disk is applied (a rolling deploy must not route to a half-migrated schema).
 */
import type { FastifyInstance } from 'fastify';
import type { Pool } from '../../core/db.ts';
import { loadMigrations } from '../../core/migrator.ts';
import { SLOT_PROBLEMS } from '../../cdc/index.ts';

/** The CDC slot problems, as `slot: problem` lines (none before the schema has the slot records). */
async function slotProblems(pool: Pool): Promise<string[]> {
  try {
    return (await pool.query<{ slot: string; problem: string }>(SLOT_PROBLEMS)).rows.map((r) => `replication slot ${r.slot}: ${r.problem}`);
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return []; // not migrated yet: /readyz says so
    throw err;
  }
}

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['monitoring'],
        summary: 'Liveness: the process serves, PostgreSQL answers and the CDC slot is usable (503 otherwise, naming the problem)',
      },
    },
    async (_request, reply) => {
      const started = performance.now();
      try {
        await app.pool.query('SELECT 1');
        const latencyMs = Math.round(performance.now() - started);
        const cdc = await slotProblems(app.pool);
        if (cdc.length) return reply.status(503).send({ status: 'error', database: 'up', latencyMs, cdc });
        return { status: 'ok', database: 'up', latencyMs };
      } catch (err) {
        // Never PostgreSQL's own text (host names, roles, paths) to an unauthenticated caller: the log has it.
        app.log.error({ err }, 'healthz: the database did not answer');
        return reply.status(503).send({ status: 'error', database: 'down', message: 'the database cannot be reached' });
      }
    },
  );

  app.get(
    '/readyz',
    { schema: { tags: ['monitoring'], summary: 'Readiness: also every migration on disk is applied (503 while migrating) and the CDC slot is usable' } },
    async (_request, reply) => {
      try {
        const known = loadMigrations().map((m) => m.version);
        const { rows } = await app.pool.query<{ version: string; type: string }>(
          `SELECT version, type FROM public.flyway_schema_history WHERE success ORDER BY installed_rank`,
        );
        const applied = new Set<string>();
        for (const r of rows) {
          if (r.type === 'SQL') applied.add(r.version);
          else applied.delete(r.version);
        }
        const pending = known.filter((v) => !applied.has(v));
        if (pending.length) return reply.status(503).send({ status: 'migrating', pending });
        const cdc = await slotProblems(app.pool);
        if (cdc.length) return reply.status(503).send({ status: 'error', cdc });
        return { status: 'ready' };
      } catch (err) {
        app.log.error({ err }, 'readyz: the database did not answer');
        return reply.status(503).send({ status: 'error', message: 'the database cannot be reached' });
      }
    },
  );
}
