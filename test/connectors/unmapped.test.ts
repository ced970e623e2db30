/**
 * Unmapped rooms: a room type with no active mapping at a connection produces no call to that OTA,
 * and the revenue team sees a mapping problem, through the real CDC path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startPipeline, currentWal, confirmedFlush, type TestPipeline } from '../helpers/cdc.ts';
import { startSandboxServer } from '../helpers/outbound.ts';
import { waitFor } from '../helpers/wait.ts';
import { seedDemo } from '../helpers/demo.ts';
import { createLogger } from '../../core/logger.ts';
import { CONNECTORS, SyncWorker } from '../../connectors/index.ts';

const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startSandboxServer>>;
let pipeline: TestPipeline;
let worker: SyncWorker;

beforeAll(async () => {
  const { pool } = db.current;
  server = await startSandboxServer();
  await seedDemo(pool, { sandboxBaseUrl: server.url, days: 30 });
  // The suite is not mapped at Expedia.
  await pool.query(`UPDATE channel.channel_mappings m SET active = false FROM property_mgmt.room_types rt, channel.channel_connections c
    WHERE rt.id = m.room_type_id AND rt.code = 'STE' AND c.id = m.connection_id AND c.channel_code = 'expedia'`);
  pipeline = await startPipeline(pool, db.current.url);
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
  });
  worker.start();
});
afterAll(async () => {
  await worker?.stop();
  await pipeline?.stop();
  await server?.close();
});

describe('unmapped room types', () => {
  it('produce no call to the OTA that lacks the mapping, and a visible mapping problem', async () => {
    const { pool } = db.current;
    // Deactivating the suite's mappings closed its old Expedia targets first (issue 15): let that finish.
    await waitFor(async () => (await pool.query(`SELECT 1 FROM channel.ota_closures WHERE finished_at IS NULL`)).rowCount === 0, {
      what: 'the old targets closed',
    });
    const before = { expedia: server.expedia.stats.requests, booking: server.booking.stats.requests };
    await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 5 WHERE stay_date = current_date + 3
      AND room_type_id = (SELECT id FROM property_mgmt.room_types WHERE code = 'STE')`);
    const end = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipeline.slot)) >= end, { what: 'the CDC storing the change' });
    await waitFor(async () => (await pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells`)).rows[0].n === 0, { what: 'the workers done' });
    expect(server.booking.stats.requests).toBeGreaterThan(before.booking); // the mapped OTA got it
    expect(server.expedia.stats.requests).toBe(before.expedia); // the unmapped one: no call at all
    const { rows } = await pool.query(`SELECT p.kind, rt.code FROM channel.mapping_problems p JOIN channel.channel_connections c ON c.id = p.connection_id
      JOIN property_mgmt.room_types rt ON rt.id = p.room_type_id WHERE c.channel_code = 'expedia' AND p.resolved_at IS NULL`);
    expect(rows).toEqual([{ kind: 'unmapped_room_type', code: 'STE' }]);
  });
});
