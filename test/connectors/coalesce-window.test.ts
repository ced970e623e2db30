/**
 * A coalescing window (`coalesce_ms`, issue 19): single changes wait until the oldest of them is
 * that old, then go out together in one request; a backlog (a full sync) never waits. Time is
 * moved in the database (the cells' first_dirty_at), not slept: the window is a minute long, so a
 * worker that ignored it would push at once and fail the first expectation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { confirmedFlush, currentWal, startPipeline, type TestPipeline } from '../helpers/cdc.ts';
import { mismatches, seedSandboxedDemo, startSandboxServer, testWorker } from '../helpers/outbound.ts';
import { waitFor } from '../helpers/wait.ts';
import { requestFullSync, setConnectionPaused } from '../../connectors/index.ts';
import { checkSettings } from '../../connectors/outbound/settings.ts';
import { ADAPTERS } from '../../connectors/registry.ts';

const db = useTestDatabase();
const DAYS = 60;
let server: Awaited<ReturnType<typeof startSandboxServer>>;
let pipeline: TestPipeline;
const ids: Record<string, string> = {};

/**
 * A worker for one round: with `until`, running (a poll every 20 ms) until it holds; without, ten
 * polls one after the other, each with the passes it started run to their end. Then stopped.
 */
async function round(until?: () => Promise<boolean>): Promise<void> {
  const worker = testWorker(db.current.pool, { only: [ids.expedia!], timeoutMs: 5000 });
  try {
    if (until) {
      worker.start();
      await waitFor(until, { what: 'the worker done' });
    } else
      for (let i = 0; i < 10; i++) {
        await worker.poll();
        await worker.settled(); // a pass it started has pushed
      }
  } finally {
    await worker.stop();
  }
}

const waiting = async () =>
  (await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE connection_id = $1`, [ids.expedia])).rows[0].n as number;

beforeAll(async () => {
  const { pool } = db.current;
  server = await startSandboxServer();
  Object.assign(ids, await seedSandboxedDemo(pool, server.url, DAYS));
  await setConnectionPaused(pool, ids.booking_com!, true); // Expedia alone
  await pool.query(`UPDATE channel.channel_connections SET settings = settings || '{"coalesce_ms": 60000}' WHERE id = $1`, [ids.expedia]);
  pipeline = await startPipeline(pool, db.current.url);
});
afterAll(async () => {
  await pipeline?.stop();
  await server?.close();
});

describe('coalescing window', () => {
  it('a full sync is a backlog: sent at once, whatever the window', async () => {
    const { pool } = db.current;
    await requestFullSync(pool, ids.expedia!, DAYS);
    expect(await waiting()).toBeGreaterThanOrEqual(500); // a backlog by the worker's rule (BACKLOG_CELLS)
    await round(async () => (await waiting()) === 0);
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
  });

  it('single changes wait for the window, then share one request', async () => {
    const { pool } = db.current;
    // Ten changes, each its own transaction, on ten nights of one rate.
    const { rows: rates } = await pool.query<{ id: string }>(
      `SELECT dr.id FROM property_mgmt.daily_rates dr JOIN property_mgmt.rate_plans rp ON rp.id = dr.rate_plan_id
       JOIN property_mgmt.room_types rt ON rt.id = dr.room_type_id
       WHERE rp.code = 'BAR' AND rt.code = 'STD' AND dr.stay_date >= current_date + 1 ORDER BY dr.stay_date LIMIT 10`,
    );
    expect(rates).toHaveLength(10);
    for (const r of rates) await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 7 WHERE id = $1`, [r.id]);
    const end = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipeline.slot)) >= end, { what: 'the CDC reading the changes' });
    const marked = await waiting();
    expect(marked).toBeGreaterThanOrEqual(10); // each change's cell (and those of plans derived from BAR)
    const before = server.expedia.stats.requests;

    // Within the window: polled, not sent.
    await round();
    expect(server.expedia.stats.requests).toBe(before);
    expect(await waiting()).toBe(marked);
    expect((await mismatches(pool, ids.expedia!, server, DAYS)).filter((m) => m.field === 'rate')).toHaveLength(marked);

    // The oldest change is a minute old: all of them go, in one request.
    await pool.query(`UPDATE channel.ari_dirty_cells SET first_dirty_at = first_dirty_at - interval '61 seconds' WHERE connection_id = $1`, [ids.expedia]);
    await round(async () => (await waiting()) === 0);
    expect(server.expedia.stats.requests - before).toBe(1);
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
  });

  it('coalesce_ms is checked where it is set: a whole number of milliseconds from 0 to 60000', () => {
    const expedia = ADAPTERS.find((a) => a.code === 'expedia')!;
    expect(() => checkSettings(expedia, { coalesce_ms: 250 })).not.toThrow();
    expect(() => checkSettings(expedia, { coalesce_ms: 60_001 })).toThrow(/settings\.coalesce_ms: must be at most 60000/);
    expect(() => checkSettings(expedia, { coalesce_ms: -1 })).toThrow(/settings\.coalesce_ms: must be at least 0/);
    expect(() => checkSettings(expedia, { coalesce_ms: 0.5 })).toThrow(/settings\.coalesce_ms: must be a whole number/);
  });
});
