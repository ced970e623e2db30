/**
 * Coalescing: a 100,000-change burst reaches a connection whose OTA is down. Its backlog is bounded
 * by the distinct cells touched (never by the number of changes), and once the OTA is back the
 * backlog goes out in as few requests as the OTA's limits allow (within 10 %).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startPipeline, currentWal, confirmedFlush, type TestPipeline } from '../helpers/cdc.ts';
import { connectionIds, mismatches, startSandboxServer } from '../helpers/outbound.ts';
import { waitFor } from '../helpers/wait.ts';
import { seedDemo } from '../helpers/demo.ts';
import { createLogger } from '../../core/logger.ts';
import { CONNECTORS, requestFullSync, setConnectionPaused, SyncWorker } from '../../connectors/index.ts';
import { AR_MAX_BYTES, AR_MAX_UPDATES } from '../../connectors/expedia/ar-message.ts';

const db = useTestDatabase();
const DAYS = 370; // 6 rate rows × 370 nights = 2,220 changes per statement (NRF derives from BAR: no rows), 9 mappings × 370 = 3,330 cells touched
const STATEMENTS = 46; // × 2,220 rows ≥ 100,000 changes
let server: Awaited<ReturnType<typeof startSandboxServer>>;
let pipeline: TestPipeline;
let worker: SyncWorker;
const ids: Record<string, string> = {};

beforeAll(async () => {
  const { pool } = db.current;
  server = await startSandboxServer();
  await seedDemo(pool, { sandboxBaseUrl: server.url, days: DAYS });
  Object.assign(ids, await connectionIds(pool));
  await pool.query(`UPDATE channel.channel_connections SET settings = settings || '{"rate_limit_per_minute": 100000}'`);
  await setConnectionPaused(pool, ids.booking_com!, true); // this test watches Expedia alone
  worker = new SyncWorker({
    pool,
    log: createLogger('silent'),
    connectors: CONNECTORS,
    pollMs: 20,
    concurrency: 2,
    batchSize: 5000,
    timeoutMs: 5000,
    maxAttempts: 2,
    defaultRatePerMinute: 100_000,
    breakerMaxMs: 1000,
  });
  // Start equal: a full sync of the window.
  await requestFullSync(pool, ids.expedia!, DAYS);
  await worker.syncConnection(ids.expedia!);
  pipeline = await startPipeline(pool, db.current.url);
  worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await pipeline?.stop();
  await server?.close();
});

const pending = async () =>
  (await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE connection_id = $1`, [ids.expedia])).rows[0].n as number;

describe('coalescing while the OTA is down', () => {
  it('keeps the backlog at the distinct cells touched, then sends it in the fewest requests the limits allow', async () => {
    const { pool } = db.current;
    server.expedia.faults.set({ rates: { http5xx: 1 } }); // Expedia is down
    let changes = 0;
    let maxPending = 0;
    let bursting = true;
    const sampler = (async () => {
      while (bursting) maxPending = Math.max(maxPending, await pending());
    })();
    for (let i = 0; i < STATEMENTS; i++) {
      // Every cell of the window, every statement: 31 changes per cell, one cell each.
      const r = await pool.query(
        `UPDATE property_mgmt.daily_rates SET amount = amount + 0.01 * $1::int
        WHERE stay_date >= current_date AND stay_date < current_date + $2::int`,
        [i % 2 === 0 ? 1 : -1, DAYS],
      );
      changes += r.rowCount ?? 0;
    }
    const end = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipeline.slot)) >= end, { timeoutMs: 120_000, what: 'the CDC reading the burst' });
    bursting = false;
    await sampler;
    // The cells the burst touched: the rows changed, and the same nights of the plans derived from theirs.
    const distinct = (
      await pool.query(
        `SELECT count(*)::int AS n FROM channel.channel_mappings m JOIN property_mgmt.rate_plans rp ON rp.id = m.rate_plan_id
         JOIN property_mgmt.daily_rates dr ON dr.room_type_id = m.room_type_id AND dr.rate_plan_id = COALESCE(rp.parent_rate_plan_id, rp.id)
         WHERE m.connection_id = $1 AND dr.stay_date >= current_date AND dr.stay_date < current_date + $2::int`,
        [ids.expedia, DAYS],
      )
    ).rows[0].n as number;
    expect(changes).toBeGreaterThanOrEqual(100_000);
    expect(maxPending).toBeLessThanOrEqual(distinct);
    expect(await pending()).toBe(distinct);
    // The worker's next pass meets the outage (on a loaded CI machine the burst and the CDC can be
    // through before any pass has pushed: the status is awaited, not read once).
    await waitFor(
      async () =>
        ['degraded', 'down'].includes((await pool.query(`SELECT status FROM channel.channel_connections WHERE id = $1`, [ids.expedia])).rows[0].status),
      { what: 'the connection degraded by the outage' },
    );
    expect(await pending()).toBe(distinct); // still every touched cell, nothing lost or sent

    // Expedia comes back: the breaker's next probe finds it, the backlog drains.
    const before = { ...server.expedia.stats };
    server.expedia.faults.set({});
    await waitFor(async () => (await pending()) === 0, { timeoutMs: 60_000, what: 'the backlog drained' }).catch(async (err) => {
      // What the connection was doing, for a run that fails far from here.
      const state = (
        await pool.query(
          `SELECT c.status, s.consecutive_failures, s.retry_at, s.last_error, now() AS now FROM channel.channel_connections c
        LEFT JOIN channel.connection_sync_state s ON s.connection_id = c.id WHERE c.id = $1`,
          [ids.expedia],
        )
      ).rows[0];
      const cells = (
        await pool.query(
          `SELECT count(*)::int AS n, count(claimed_at)::int AS claimed, min(claimed_at) AS oldest_claim FROM channel.ari_dirty_cells WHERE connection_id = $1`,
          [ids.expedia],
        )
      ).rows[0];
      const last = (
        await pool.query(`SELECT status, error_code, message FROM channel.sync_log WHERE connection_id = $1 ORDER BY created_at DESC LIMIT 3`, [ids.expedia])
      ).rows;
      throw new Error(`${(err as Error).message}: ${JSON.stringify({ state, cells, last, sandbox: server.expedia.stats })}`);
    });
    const requests = server.expedia.stats.accepted - before.accepted;
    const updates = server.expedia.stats.updates - before.updates;
    const bytes = server.expedia.stats.bytes - before.bytes;
    const minimum = Math.max(Math.ceil(updates / AR_MAX_UPDATES), Math.ceil(bytes / AR_MAX_BYTES));
    expect(requests).toBeLessThanOrEqual(Math.ceil(minimum * 1.1));
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
    const {
      rows: [after],
    } = await pool.query(`SELECT status FROM channel.channel_connections WHERE id = $1`, [ids.expedia]);
    expect(after.status).toBe('active');
  }, 300_000);
});
