/**
 * The CDC pipe against the failures it must survive: PostgreSQL restarting mid-stream, a second
 * CDC process taking over from a killed one, and a million-row transaction in bounded memory.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { runCli, type CliProcess } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { confirmedFlush, currentWal, dropSlot, slotName, startPipeline } from '../helpers/cdc.ts';
import { freePort } from '../setup/pg-server.ts';
import { startEmbeddedPostgres } from '../../core/embedded-postgres.ts';
import { createPool, withDatabase } from '../../core/db.ts';
import { migrate } from '../../core/migrator.ts';
import { seedDemo } from '../helpers/demo.ts';
import { CdcMetrics, ensureSlot, InProcessTransport, PUBLICATIONS, ReplicationStream } from '../../cdc/index.ts';
import { createLogger } from '../../core/logger.ts';

const db = useTestDatabase();
const day = (o: number) => new Date(Date.now() + o * 86400_000).toISOString().slice(0, 10);

describe('PostgreSQL restarted mid-stream', () => {
  it('reconnects with backoff, resumes from the slot and delivers what was committed around the restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stayos-restart-'));
    fs.chmodSync(dir, 0o755);
    const port = await freePort();
    let server = await startEmbeddedPostgres({ dataDir: dir, port });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE restart_test');
    await admin.end();
    const url = withDatabase(server.url, 'restart_test');
    const pool = createPool(url, { max: 4, encryptionKeys: [TEST_KEY] });
    let pipe: Awaited<ReturnType<typeof startPipeline>> | undefined;
    try {
      await migrate(pool);
      await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 30 });
      pipe = await startPipeline(pool, url);
      await waitFor(() => pipe!.metrics.streaming, { what: 'streaming' });
      const cellCount = async (d: string) => Number((await pool.query(`SELECT count(*) FROM channel.ari_dirty_cells WHERE stay_date = $1`, [d])).rows[0].count);

      await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE stay_date = $1`, [day(3)]);
      await waitFor(async () => (await cellCount(day(3))) === 24, { what: 'cells before the restart' });

      // Committed, then the server goes down at once: the change must still arrive.
      await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE stay_date = $1`, [day(4)]);
      await server.stop();
      server = await startEmbeddedPostgres({ dataDir: dir, port });
      await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE stay_date = $1`, [day(5)]);
      await waitFor(async () => (await cellCount(day(4))) === 24 && (await cellCount(day(5))) === 24, { timeoutMs: 30_000, what: 'cells after the restart' });
      expect(pipe.metrics.reconnects).toBeGreaterThanOrEqual(1);
      expect(pipe.metrics.lastError).not.toBeNull();
      const end = await currentWal(pool);
      await waitFor(async () => (await confirmedFlush(pool, pipe!.slot)) >= end, { what: 'acknowledged after the restart' });
    } finally {
      await pipe?.stop().catch(() => undefined);
      await pool.end();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function cdcWorker(slot: string): CliProcess {
  return runCli(['start', '--only', 'cdc'], {
    DATABASE_URL: db.current.url,
    STAYOS_ENCRYPTION_KEY: TEST_KEY,
    STAYOS_CDC_SLOT: slot,
    STAYOS_SEED_DEMO: 'false',
    STAYOS_LOG_LEVEL: 'info',
  });
}

describe('two CDC processes', () => {
  it('stream one at a time; the standby takes over when the streaming one is SIGKILLed', async () => {
    const { pool } = db.current;
    await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 30 });
    const slot = slotName();
    await ensureSlot(pool, slot);
    const a = cdcWorker(slot);
    const b = cdcWorker(slot);
    try {
      const leads = (p: CliProcess) => p.output().includes('holding the slot lock');
      const leader = await waitFor(() => (leads(a) ? a : leads(b) ? b : null), { timeoutMs: 30_000, what: 'a leader' });
      const standby = leader === a ? b : a;
      // The standby is blocked on the slot lock (in this test's database: other test files run
      // their own CDC processes on the same server), not streaming; the leader streams once its
      // replication connection is up (it announces the lock just before).
      await waitFor(
        async () =>
          (
            await pool.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
          ).rowCount === 1,
        { what: 'standby waiting' },
      );
      const streaming = async () =>
        (await pool.query(`SELECT count(*)::int AS n FROM pg_stat_replication WHERE application_name = $1`, [`stayos-cdc:${slot}`])).rows[0].n as number;
      await waitFor(async () => (await streaming()) > 0, { what: 'the leader streaming' });
      expect(leads(standby)).toBe(false);
      expect(await streaming()).toBe(1);

      leader.child.kill('SIGKILL');
      await leader.exited;
      await waitFor(() => leads(standby), { timeoutMs: 30_000, what: `takeover (${standby.output()})` });
      await pool.query(`DELETE FROM channel.ari_dirty_cells`);
      await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE stay_date = $1`, [day(7)]);
      await waitFor(
        async () => Number((await pool.query(`SELECT count(*) FROM channel.ari_dirty_cells WHERE stay_date = $1`, [day(7)])).rows[0].count) === 24,
        { timeoutMs: 30_000, what: 'the new leader streams' },
      );
      standby.child.kill('SIGTERM');
      expect((await standby.exited).code).toBe(0);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      await dropSlot(pool, slot);
    }
  });
});

describe('a 1,000,000-row transaction', () => {
  it('passes through with bounded memory (flow control pauses the stream)', async () => {
    const { pool } = db.current;
    const slot = slotName();
    await ensureSlot(pool, slot);
    const worker = cdcWorker(slot);
    try {
      await waitFor(() => worker.output().includes('holding the slot lock'), { timeoutMs: 30_000, what: 'streaming' });
      const {
        rows: [p],
      } = await pool.query(`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('BIG', 'Big', 'EUR') RETURNING id`);
      const {
        rows: [rt],
      } = await pool.query(`INSERT INTO property_mgmt.room_types (property_id, code, name, max_occupancy) VALUES ($1, 'X', 'X', 2) RETURNING id`, [p.id]);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // Fixture speed only: triggers (audit, foreign keys) off for this bulk load; the WAL still carries every row.
        await client.query(`SET LOCAL session_replication_role = replica`);
        await client.query(`INSERT INTO property_mgmt.rooms (property_id, room_type_id, number) SELECT $1, $2, 'R' || n FROM generate_series(1, 1000000) n`, [
          p.id,
          rt.id,
        ]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const end = await currentWal(pool);
      await waitFor(async () => (await confirmedFlush(pool, slot)) >= end, { timeoutMs: 240_000, intervalMs: 500, what: 'the million rows acknowledged' });
      const status = fs.readFileSync(`/proc/${worker.child.pid}/status`, 'utf8');
      const peakKb = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]);
      console.log(`1M-row transaction: CDC worker peak RSS ${Math.round(peakKb / 1024)} MB`);
      expect(peakKb).toBeLessThan(400 * 1024);
      const {
        rows: [spill],
      } = await pool.query(`SELECT spill_txns FROM pg_stat_replication_slots WHERE slot_name = $1`, [slot]);
      expect(Number(spill.spill_txns)).toBeGreaterThanOrEqual(1); // PostgreSQL spilled it to disk, we streamed it
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
      await dropSlot(pool, slot);
    }
  });
});

describe('a slot replaced under the stream by one at an earlier position', () => {
  it('is read from its own position: what it has not confirmed is delivered again, never skipped (issue 15, defect 3)', async () => {
    const { pool } = db.current;
    await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 30 });
    // A copy made now stands for a standby's slot that lags behind the primary's.
    const lagging = slotName();
    await ensureSlot(pool, lagging);
    const pipe = await startPipeline(pool, db.current.url);
    try {
      await waitFor(() => pipe.metrics.streaming, { what: 'streaming' });
      await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE stay_date = $1`, [day(11)]);
      const cells = async () => Number((await pool.query(`SELECT count(*) FROM channel.ari_dirty_cells WHERE stay_date = $1`, [day(11)])).rows[0].count);
      await waitFor(async () => (await cells()) === 24, { what: 'the change stored' });
      const end = await currentWal(pool);
      await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= end, { what: 'the change confirmed' });
      await pool.query(`DELETE FROM channel.ari_dirty_cells`);

      // The slot is swapped, under the running stream, for a copy of the lagging one (same name).
      for (;;) {
        await pool.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, [pipe.slot]);
        try {
          await pool.query(`SELECT pg_drop_replication_slot($1)`, [pipe.slot]);
          break;
        } catch (err) {
          if ((err as { code: string }).code !== '55006') throw err;
        }
      }
      await pool.query(`SELECT pg_copy_logical_replication_slot($1, $2)`, [lagging, pipe.slot]);
      // The stream reconnects at the copy's position and delivers the change again: a position it
      // remembers from the old slot would have skipped it.
      await waitFor(async () => (await cells()) === 24, { what: 'the change delivered again', timeoutMs: 30_000 });
    } finally {
      await pipe.stop();
      await dropSlot(pool, lagging);
    }
  });
});

describe('stopping while the stream connects', () => {
  it('a stop at any moment of a (re)connection returns at once (a client ended while connecting never settles)', async () => {
    const { pool } = db.current;
    const slot = slotName();
    await ensureSlot(pool, slot);
    /** `n` turns of the event loop: the stop lands at a different point of the connection each time. */
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
    };
    try {
      for (let k = 0; k < 40; k++) {
        let stopping: Promise<void> | undefined;
        const stream: ReplicationStream = new ReplicationStream({
          connectionString: db.current.url,
          slot,
          publications: [PUBLICATIONS.ari],
          sink: new InProcessTransport([]),
          log: createLogger('silent'),
          metrics: new CdcMetrics(),
          minBackoffMs: 50,
          maxBackoffMs: 200,
          beforeConnect: async () => {
            void turns(k).then(() => (stopping ??= stream.stop()));
          },
        });
        stream.start();
        await waitFor(() => stopping !== undefined, { what: `the stop after ${k} turns`, timeoutMs: 10_000, intervalMs: 5 });
        const done = await Promise.race([stopping!.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 10_000).unref())]);
        expect(done, `stop() after ${k} turns of the loop`).toBe(true);
      }
    } finally {
      await dropSlot(pool, slot);
    }
  }, 120_000);
});
