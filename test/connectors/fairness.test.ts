/**
 * Fairness between hotels (issue 19): a connection in full sync must not keep the worker's slots
 * while another connection's single change waits. With one slot, the full sync yields after each
 * push when another connection waits, and the one served longest ago goes first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { seedSandboxedDemo, startSandboxServer, testWorker } from '../helpers/outbound.ts';
import { waitFor } from '../helpers/wait.ts';
import { requestFullSync, type SyncWorker } from '../../connectors/index.ts';

const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startSandboxServer>>;
let worker: SyncWorker | undefined;
const DAYS = 200;

beforeAll(async () => {
  server = await startSandboxServer();
});
afterAll(async () => {
  await worker?.stop();
  await server?.close();
});

const dirty = async (connection: string) =>
  (await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE connection_id = $1`, [connection])).rows[0].n as number;

describe('a single change while another hotel runs a full sync', () => {
  it('is pushed after at most a few of the full sync’s pushes, not after all of them', async () => {
    const { pool } = db.current;
    const ids = await seedSandboxedDemo(pool, server.url, DAYS, ['booking_com', 'expedia']);
    const big = ids.expedia!;
    const small = ids.booking_com!;
    // 200 nights × 12 mappings in pushes of 60 cells: 40 pushes for the full sync.
    await requestFullSync(pool, big, DAYS);
    const bigCells = await dirty(big);
    expect(bigCells).toBeGreaterThan(2000);
    worker = testWorker(pool, { only: [big, small], concurrency: 1, batchSize: 60 });
    worker.start();
    await waitFor(async () => (await dirty(big)) < bigCells, { what: 'the full sync under way' });
    // Now the other connection has one night to send (12 cells, one push), as the CDC marks a change.
    await pool.query(
      `INSERT INTO channel.ari_dirty_cells (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
       SELECT connection_id, property_id, room_type_id, rate_plan_id, current_date + 3 FROM channel.channel_mappings WHERE connection_id = $1 AND active`,
      [small],
    );
    expect(await dirty(small)).toBeGreaterThan(0);
    await waitFor(async () => (await dirty(small)) === 0, { what: 'the single change pushed' });
    // Served while the full sync still had most of its pushes to go: it waited for one push, not forty.
    const left = await dirty(big);
    expect(left).toBeGreaterThan(bigCells / 2);
    await waitFor(async () => (await dirty(big)) === 0, { what: 'the full sync finished', timeoutMs: 60_000 });
  }, 90_000);
});
