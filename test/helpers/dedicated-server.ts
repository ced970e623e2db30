/**
 * A PostgreSQL server of a test's own (embedded, ~1 s to start), for what the shared test server
 * must not do: a tiny max_slot_wal_keep_size, so that a slot can be invalidated on purpose without
 * touching the slots of the test files running beside it. Holds one migrated database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createPool, withDatabase, type Pool } from '../../core/db.ts';
import { startEmbeddedPostgres } from '../../core/embedded-postgres.ts';
import { freePort, prepareTemplate } from '../setup/pg-server.ts';
import { TEST_KEY } from './db.ts';

export interface DedicatedDatabase {
  url: string;
  pool: Pool;
  /** The server's log (pg_ctl -l), for tests of what PostgreSQL writes to it. */
  logFile: string;
}

/** Registers beforeAll/afterAll for a server of this file's own; read `.current` inside tests. */
export function useDedicatedDatabase(settings: Record<string, string>): { readonly current: DedicatedDatabase } {
  const holder: { current?: DedicatedDatabase; stop?: () => Promise<void> } = {};
  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stayos-dedicated-pg-'));
    fs.chmodSync(dir, 0o755);
    const server = await startEmbeddedPostgres({ dataDir: dir, port: await freePort(), settings });
    const db = await prepareTemplate(server.url); // a migrated database (named as the template; it is this server's only one)
    const url = withDatabase(server.url, db);
    const pool = createPool(url, { max: 8, applicationName: 'stayos-test', encryptionKeys: [TEST_KEY] });
    holder.current = { url, pool, logFile: path.join(dir, 'postgres.log') };
    holder.stop = async () => {
      await pool.end();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }, 120_000);
  afterAll(async () => {
    await holder.stop?.();
  });
  return {
    get current() {
      if (!holder.current) throw new Error('dedicated database not ready (use it inside a test or hook)');
      return holder.current;
    },
  };
}

/** Invalidates every slot that lags (the server must run with a tiny max_slot_wal_keep_size): WAL segments switched past it, then a checkpoint. */
export async function invalidateLaggingSlots(pool: Pool): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await pool.query(`SELECT pg_logical_emit_message(false, 'stayos-test', 'wal')`);
    await pool.query('SELECT pg_switch_wal()');
  }
  await pool.query('CHECKPOINT');
}
