/**
 * The `stayos` command as a user runs it: `start` on the embedded PostgreSQL from an empty data
 * directory (the quick start), on a given DATABASE_URL, and argument errors.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { freePort } from '../setup/pg-server.ts';

const db = useTestDatabase();

async function healthz(port: number): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: await res.json() };
}

describe('stayos start', () => {
  it('from an empty data directory: embedded PostgreSQL, migrations, demo data, /healthz; SIGINT stops it all; a restart keeps the data', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stayos-start-'));
    fs.chmodSync(dataDir, 0o755);
    const env = { DATABASE_URL: undefined, STAYOS_DATA_DIR: dataDir, STAYOS_PG_PORT: String(await freePort()), STAYOS_HTTP_PORT: String(await freePort()) };
    try {
      const first = runCli(['start'], env);
      await waitFor(() => first.output().includes('StayOS Channel is running'), { timeoutMs: 90_000, what: `start (${first.output()})` });
      const h = await healthz(Number(env.STAYOS_HTTP_PORT));
      expect(h).toMatchObject({ status: 200, body: { status: 'ok', database: 'up' } });
      // The demo connections point at the sandboxes this process serves, and a full sync fills them.
      await waitFor(async () => {
        const stats = (await (await fetch(`http://127.0.0.1:${env.STAYOS_HTTP_PORT}/sandbox/expedia/_control/stats`)).json()) as { accepted: number };
        const booking = (await (await fetch(`http://127.0.0.1:${env.STAYOS_HTTP_PORT}/sandbox/booking-com/_control/stats`)).json()) as { accepted: number };
        return stats.accepted > 0 && booking.accepted > 0;
      }, { timeoutMs: 60_000, what: `the demo hotel reaching both sandboxes (${first.output()})` });
      const ready = await fetch(`http://127.0.0.1:${env.STAYOS_HTTP_PORT}/readyz`);
      expect(ready.status).toBe(200);
      expect(fs.readFileSync(path.join(dataDir, 'encryption.key'), 'utf8').trim().length).toBeGreaterThanOrEqual(32);
      first.child.kill('SIGINT');
      expect(await first.exited).toEqual({ code: 0, signal: null });
      expect(fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false); // PostgreSQL stopped too
      const key = fs.readFileSync(path.join(dataDir, 'encryption.key'), 'utf8');

      // Second start: same data, no second demo seed, same key.
      const second = runCli(['seed-demo'], env);
      expect(await second.exited).toEqual({ code: 0, signal: null });
      expect(second.output()).toContain('demo property already present');
      expect(fs.readFileSync(path.join(dataDir, 'encryption.key'), 'utf8')).toBe(key);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('on DATABASE_URL: serves /healthz, keeps partitions ahead at start, and SIGTERM stops it with exit code 0', async () => {
    const port = await freePort();
    // The furthest-ahead partition of the audit log goes missing; the start's maintenance must restore it.
    const { rows: [last] } = await db.current.pool.query(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit.audit_log'::regclass ORDER BY c.relname DESC LIMIT 1`);
    await db.current.pool.query(`ALTER TABLE audit.audit_log DETACH PARTITION audit.${last.relname}`);
    await db.current.pool.query(`DROP TABLE audit.${last.relname}`);
    const proc = runCli(['start', '--only', 'api'], {
      DATABASE_URL: db.current.url, STAYOS_ENCRYPTION_KEY: TEST_KEY, STAYOS_HTTP_PORT: String(port), STAYOS_SEED_DEMO: 'false',
    });
    await waitFor(() => proc.output().includes('StayOS Channel is running (api)'), { timeoutMs: 60_000, what: `start (${proc.output()})` });
    expect((await healthz(port)).status).toBe(200);
    await waitFor(async () => (await db.current.pool.query(`SELECT to_regclass($1) AS t`, [`audit.${last.relname}`])).rows[0].t, { what: 'partition recreated' });
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
  });

  it('refuses bad arguments and bad configuration with exit code 2 and a message', async () => {
    const bad = runCli(['start', '--only', 'everything'], {});
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toMatch(/argument 'everything' is invalid.*Allowed choices are api, cdc, connectors/s);
    const badEnv = runCli(['migrate'], { STAYOS_TRANSPORT: 'kafka' });
    expect((await badEnv.exited).code).toBe(2);
    expect(badEnv.output()).toMatch(/STAYOS_TRANSPORT="kafka".*Fix:/);
    const undo = runCli(['migrate', 'undo'], {});
    expect((await undo.exited).code).toBe(2);
    expect(undo.output()).toContain('undo needs --to');
  });

  it('migrate status lists every migration as applied on a migrated database', async () => {
    const proc = runCli(['migrate', 'status'], { DATABASE_URL: db.current.url, STAYOS_ENCRYPTION_KEY: TEST_KEY });
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toMatch(/applied {2}V1\.0\.0 {2}shared/);
    expect(proc.output()).not.toContain('pending');
  });
});
