/**
 * Issue 15, defect 7: a TRUNCATE names no rows, so the CDC cannot tell which cells changed. It
 * must resynchronise every connection the table feeds: every mapped cell of each window marked,
 * the reason recorded (an incident, a 'resync' action and an open 'resync' error per connection,
 * resolved once the connection's queue drained), and the OTA brought back to the PMS.
 *
 * Oracle: the expected cells are recounted here from the mappings and each connection's window
 * (sync_days, from yesterday), and the OTA's state is compared cell by cell with the PMS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startPipeline, type TestPipeline } from '../helpers/cdc.ts';
import { mismatches, startSandboxServer, seedSandboxedDemo } from '../helpers/outbound.ts';
import { waitFor } from '../helpers/wait.ts';
import { createLogger } from '../../core/logger.ts';
import { CONNECTORS, requestFullSync, SyncWorker } from '../../connectors/index.ts';

const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startSandboxServer>>;
let pipeline: TestPipeline;
const ids: Record<string, string> = {};
const DAYS = 60;

beforeAll(async () => {
  const { pool } = db.current;
  server = await startSandboxServer();
  Object.assign(ids, await seedSandboxedDemo(pool, server.url, DAYS));
  pipeline = await startPipeline(pool, db.current.url);
});
afterAll(async () => {
  await pipeline?.stop();
  await server?.close();
});

describe('TRUNCATE of an ARI table (issue 15, defect 7)', () => {
  it('resynchronises every connection, says so, and the OTA comes back to the PMS', async () => {
    const { pool } = db.current;
    const worker = new SyncWorker({
      pool,
      log: createLogger('silent'),
      connectors: CONNECTORS,
      pollMs: 20,
      concurrency: 2,
      batchSize: 5000,
      timeoutMs: 2000,
      maxAttempts: 3,
      defaultRatePerMinute: 100_000,
    });
    // A group block over ten nights, and Expedia equal to the PMS with it.
    await pool.query(`INSERT INTO property_mgmt.inventory_blocks (property_id, room_type_id, start_date, end_date, rooms, reason)
      SELECT property_id, id, current_date + 5, current_date + 15, 2, 'group hold' FROM property_mgmt.room_types WHERE code = 'STD'`);
    await requestFullSync(pool, ids.expedia!, DAYS);
    await worker.syncConnection(ids.expedia!);
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
    const hotel = (await pool.query(`SELECT ota_hotel_code FROM channel.channel_connections WHERE id = $1`, [ids.expedia])).rows[0].ota_hotel_code;
    const room = (
      await pool.query(
        `SELECT m.ota_room_code FROM channel.channel_mappings m JOIN property_mgmt.room_types t ON t.id = m.room_type_id
      WHERE m.connection_id = $1 AND t.code = 'STD' LIMIT 1`,
        [ids.expedia],
      )
    ).rows[0].ota_room_code;
    const night = (await pool.query(`SELECT (current_date + 7)::text AS d`)).rows[0].d;
    const blockedShows = server.expedia.roomAvailability(hotel).get(`${room}|${night}`)!;
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);

    await pool.query(`TRUNCATE property_mgmt.inventory_blocks`);
    // Every mapped cell of each connection's window, yesterday included, as this test counts them.
    const { rows: expected } = await pool.query(`
      SELECT c.id, count(*)::int * ((c.settings ->> 'sync_days')::int + 1) AS cells
      FROM channel.channel_connections c JOIN channel.channel_mappings m ON m.connection_id = c.id AND m.active AND m.deleted_at IS NULL
      WHERE c.deleted_at IS NULL GROUP BY c.id ORDER BY c.id`);
    const marked = async () => (await pool.query(`SELECT connection_id AS id, count(*)::int AS cells FROM channel.ari_dirty_cells GROUP BY 1 ORDER BY 1`)).rows;
    await waitFor(async () => JSON.stringify(await marked()) === JSON.stringify(expected), { what: 'every window marked', timeoutMs: 30_000 });

    // Said where the operator looks (recorded once every connection is marked: wait for it too).
    const recorded = async () =>
      (await pool.query(`SELECT kind, detail, resolved_at IS NOT NULL AS resolved FROM channel.cdc_incidents WHERE slot_name = $1`, [pipeline.slot])).rows;
    await waitFor(async () => (await recorded()).length > 0, { what: 'the incident recorded' });
    const incidents = await recorded();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ kind: 'truncate', resolved: true });
    expect(incidents[0].detail).toMatch(/TRUNCATE of property_mgmt\.inventory_blocks: 2 connection\(s\) resynchronised/);
    const { rows: actions } = await pool.query(
      `SELECT connection_id AS id, detail ->> 'reason' AS reason FROM channel.connection_actions WHERE action = 'resync' ORDER BY 1`,
    );
    expect(actions).toEqual(expected.map((e) => ({ id: e.id, reason: 'TRUNCATE of property_mgmt.inventory_blocks' })));
    const openResync = async (id: string) =>
      (await pool.query(`SELECT count(*)::int AS n FROM channel.sync_errors WHERE connection_id = $1 AND kind = 'resync' AND resolved_at IS NULL`, [id]))
        .rows[0].n;
    expect(await openResync(ids.expedia!)).toBe(1);

    // The worker pushes the window: the OTA shows the rooms the blocks held, and the resync ends.
    await worker.syncConnection(ids.expedia!);
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
    expect(server.expedia.roomAvailability(hotel).get(`${room}|${night}`)).toBe(blockedShows + 2); // the two held rooms are for sale again
    expect(await openResync(ids.expedia!)).toBe(0);
    expect(await openResync(ids.booking_com!)).toBe(1); // its queue has not drained
    await worker.stop();
  });
});
