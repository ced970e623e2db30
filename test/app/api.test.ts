/** The HTTP app built by buildApp(), exercised with inject(): health and readiness. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/index.ts';
import { createPool } from '../../core/db.ts';
import { useTestDatabase } from '../helpers/db.ts';

const db = useTestDatabase();
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildApp({ pool: db.current.pool });
});
afterAll(async () => {
  await app.close();
});

describe('health', () => {
  it('GET /healthz answers ok while PostgreSQL answers', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', database: 'up' });
  });

  it('GET /readyz is ready only when every migration is applied', async () => {
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await db.current.pool
      .query(`INSERT INTO public.flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
      SELECT max(installed_rank) + 1, '1.1.0', 'property mgmt', 'UNDO_SQL', 'U1.1.0__property_mgmt.sql', 0, 'test', 0, true FROM public.flyway_schema_history`);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'migrating', pending: ['1.1.0'] });
  });

  it('GET /healthz says 503 when the database is gone', async () => {
    const deadPool = createPool('postgres://nobody@127.0.0.1:1/none', { max: 1 });
    const dead = await buildApp({ pool: deadPool, logLevel: 'silent' });
    try {
      const res = await dead.inject({ method: 'GET', url: '/healthz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'error', database: 'down' });
    } finally {
      await dead.close();
      await deadPool.end();
    }
  });

  it("/healthz and /readyz never hand PostgreSQL's own error text to an unauthenticated caller (issue 16)", async () => {
    // A real server refusing a role that does not exist: its message names the role and the database.
    const url = new URL(db.current.url);
    url.username = 'stayos_no_such_role';
    url.password = 'secret-in-url';
    const refusedPool = createPool(url.toString(), { max: 1 });
    const raw = await refusedPool.query('SELECT 1').then(
      () => '',
      (err: Error) => err.message,
    );
    expect(raw).toContain('stayos_no_such_role'); // what must not leak
    const refused = await buildApp({ pool: refusedPool, logLevel: 'silent' });
    try {
      for (const path of ['/healthz', '/readyz']) {
        const res = await refused.inject({ method: 'GET', url: path });
        expect(res.statusCode, path).toBe(503);
        expect(res.json().message, path).toBe('the database cannot be reached');
        for (const secret of ['stayos_no_such_role', 'secret-in-url', url.pathname.slice(1), url.port]) expect(res.body, path).not.toContain(secret);
      }
    } finally {
      await refused.close();
      await refusedPool.end();
    }
  });
});
