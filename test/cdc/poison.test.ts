/**
 * Issue 15, defect 5: one connection whose settings the marking statement cannot read (a
 * `sync_days` of "400d", written by plain SQL past the API's and CLI's checks) must not stall the
 * CDC for every hotel. The change that cannot be stored is set aside (an open incident naming it
 * and PostgreSQL's error, a metric), the stream moves on — another hotel's change in the very same
 * transaction is stored — and fixing the setting marks the connection's cells again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { confirmedFlush, currentWal, startPipeline, type TestPipeline } from '../helpers/cdc.ts';
import { waitFor } from '../helpers/wait.ts';
import { seedDemo } from '../helpers/demo.ts';
import { registry } from '../../core/metrics.ts';
import { isInputError } from '../../core/db.ts';
import { recordIncident } from '../../cdc/sql/incidents.ts';
import { requestFullSync } from '../../connectors/index.ts';

const db = useTestDatabase();
let pipeline: TestPipeline;
let demo: { property: string; booking: string; expedia: string; std: string; bar: string };
let two: { property: string; connection: string; type: string; plan: string };

beforeAll(async () => {
  const { pool } = db.current;
  await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 30 });
  demo = (
    await pool.query(`SELECT p.id AS property, c.id AS booking, e.id AS expedia, rt.id AS std, rp.id AS bar FROM property_mgmt.properties p
    JOIN channel.channel_connections c ON c.property_id = p.id AND c.channel_code = 'booking_com'
    JOIN channel.channel_connections e ON e.property_id = p.id AND e.channel_code = 'expedia'
    JOIN property_mgmt.room_types rt ON rt.property_id = p.id AND rt.code = 'STD' JOIN property_mgmt.rate_plans rp ON rp.property_id = p.id AND rp.code = 'BAR'
    WHERE p.code = 'DEMO'`)
  ).rows[0];
  // A second hotel, with one room type, one rate plan, two rooms, rates and an Expedia connection.
  const {
    rows: [p],
  } = await pool.query(`INSERT INTO property_mgmt.properties (code, name, timezone, currency) VALUES ('TWO', 'Second hotel', 'UTC', 'EUR') RETURNING id`);
  const {
    rows: [t],
  } = await pool.query(
    `INSERT INTO property_mgmt.room_types (property_id, code, name, max_occupancy, max_adults, max_children) VALUES ($1, 'DBL', 'Double', 2, 2, 1) RETURNING id`,
    [p.id],
  );
  const {
    rows: [r],
  } = await pool.query(`INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency) VALUES ($1, 'FLEX', 'Flexible', 'EUR') RETURNING id`, [p.id]);
  await pool.query(`INSERT INTO property_mgmt.rooms (property_id, room_type_id, number) VALUES ($1, $2, '1'), ($1, $2, '2')`, [p.id, t.id]);
  await pool.query(
    `INSERT INTO property_mgmt.daily_rates (property_id, room_type_id, rate_plan_id, stay_date, amount, currency)
    SELECT $1, $2, $3, d::date, 90, 'EUR' FROM generate_series(current_date, current_date + 29, interval '1 day') d`,
    [p.id, t.id, r.id],
  );
  const {
    rows: [c],
  } = await pool.query(
    `INSERT INTO channel.channel_connections (property_id, channel_code, ota_hotel_code, endpoint_url, settings)
    VALUES ($1, 'expedia', '8880001', 'http://127.0.0.1:9', '{"sync_days": 30}') RETURNING id`,
    [p.id],
  );
  await pool.query(
    `INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code) VALUES ($1, $2, $3, $4, '901', '801')`,
    [c.id, p.id, t.id, r.id],
  );
  two = { property: p.id, connection: c.id, type: t.id, plan: r.id };
  pipeline = await startPipeline(pool, db.current.url);
});
afterAll(async () => {
  await pipeline?.stop();
});

const incidents = async () =>
  (await db.current.pool.query(`SELECT kind, detail, data, resolved_at FROM channel.cdc_incidents WHERE slot_name = $1 ORDER BY created_at`, [pipeline.slot]))
    .rows;
const poisonCount = async () =>
  (await registry.getSingleMetric('stayos_cdc_incidents_total')!.get()).values.filter((v) => v.labels.kind === 'poison').reduce((a, v) => a + v.value, 0);
const dirty = async (connection: string, room: string, plan: string, day: number) =>
  (
    await db.current.pool.query(
      `SELECT 1 FROM channel.ari_dirty_cells WHERE connection_id = $1 AND room_type_id = $2 AND rate_plan_id = $3 AND stay_date = current_date + $4::int`,
      [connection, room, plan, day],
    )
  ).rowCount === 1;

describe('a change the CDC cannot store (issue 15, defect 5)', () => {
  it("is set aside, named and counted; every other hotel's changes keep flowing; the fix heals it", async () => {
    const { pool } = db.current;
    const counted = await poisonCount();
    // What the API and CLI refuse, written by plain SQL.
    await pool.query(`UPDATE channel.channel_connections SET settings = settings || '{"sync_days": "400d"}' WHERE id = $1`, [demo.booking]);
    // One transaction changing a rate of each hotel: the DEMO range cannot be stored, TWO's can.
    await pool.query(`BEGIN; UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE room_type_id = '${demo.std}' AND rate_plan_id = '${demo.bar}' AND stay_date = current_date + 4;
      UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE room_type_id = '${two.type}' AND stay_date = current_date + 4; COMMIT;`);
    const end = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipeline.slot)) >= end, { what: 'the stream moving past the poison', timeoutMs: 30_000 });
    expect(await dirty(two.connection, two.type, two.plan, 4)).toBe(true);

    const set = await incidents();
    expect(set.length).toBeGreaterThanOrEqual(2); // the settings change itself, and the rate change
    for (const i of set) {
      expect(i).toMatchObject({ kind: 'poison', resolved_at: null });
      expect(i.detail).toContain('could not be stored and was set aside');
      expect(i.detail).toContain('invalid input syntax for type integer: "400d"');
      expect(i.data.code).toBe('22P02');
    }
    // Only the connection at fault misses the rate change: DEMO's Expedia connection has it.
    expect(set.some((i) => i.data.range?.connectionId === demo.booking && i.data.range?.roomTypeId === demo.std)).toBe(true);
    expect(set.every((i) => i.data.range?.connectionId === demo.booking)).toBe(true);
    expect(await poisonCount()).toBe(counted + set.length);
    expect(await dirty(demo.booking, demo.std, demo.bar, 4)).toBe(false);
    expect(await dirty(demo.expedia, demo.std, demo.bar, 4)).toBe(true);

    // The fix is a change of the connection: the CDC marks its whole window, the set-aside night
    // included, and what was set aside for it is healed.
    await pool.query(`UPDATE channel.channel_connections SET settings = settings - 'sync_days' WHERE id = $1`, [demo.booking]);
    await waitFor(() => dirty(demo.booking, demo.std, demo.bar, 4), { what: 'the fixed connection marked again', timeoutMs: 30_000 });
    await waitFor(async () => (await incidents()).every((i) => i.resolved_at !== null), { what: 'the incidents healed' });
  });

  it('only a refusal of the input is set aside; a failure of the system (a missing table or function, a permission) is retried, never swallowed', async () => {
    const { pool } = db.current;
    const codeOf = async (sql: string) =>
      pool.query(sql).then(
        () => null,
        (err: Error & { code?: string }) => err,
      );
    // What PostgreSQL itself answers, not codes written down here.
    expect(isInputError(await codeOf(`SELECT '400d'::int`))).toBe(true); // a sync_days PostgreSQL cannot read
    expect(isInputError(await codeOf(`SELECT (1.5::text)::int`))).toBe(true);
    expect(isInputError(await codeOf(`INSERT INTO channel.ari_dirty_cells (connection_id) VALUES (NULL)`))).toBe(true); // integrity
    expect(isInputError(await codeOf(`SELECT * FROM channel.no_such_table`))).toBe(false);
    expect(isInputError(await codeOf(`SELECT channel.no_such_function()`))).toBe(false);
    const client = await pool.connect();
    try {
      await client.query('BEGIN; SET LOCAL ROLE authenticated_user');
      const denied = await client.query(`SELECT * FROM channel.cdc_slots`).then(
        () => null,
        (err: Error) => err,
      );
      expect(isInputError(denied)).toBe(false); // permission denied
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(isInputError(new Error('Connection terminated unexpectedly'))).toBe(false);
  });

  it('a full sync of the whole window also heals what was set aside for the connection (a shorter one does not)', async () => {
    const { pool } = db.current;
    // A change set aside for the Expedia connection, as the consumer records it (its range names the connection).
    const {
      rows: [inc],
    } = await pool.query(
      recordIncident(
        pipeline.slot,
        'poison',
        'a change set aside (test)',
        { range: { connectionId: demo.expedia }, code: 'P0001' },
        { resynced: false, resolved: false },
      ),
    );
    const open = async () =>
      (await pool.query(`SELECT resolved_at IS NULL AS open FROM channel.cdc_incidents WHERE id = $1`, [inc.id])).rows[0].open as boolean;
    const window = Number(
      (await pool.query(`SELECT COALESCE((settings ->> 'sync_days')::int, 500) AS d FROM channel.channel_connections WHERE id = $1`, [demo.expedia])).rows[0].d,
    );
    await requestFullSync(pool, demo.expedia, 30);
    expect(await open()).toBe(true);
    await requestFullSync(pool, demo.expedia, window);
    expect(await open()).toBe(false);
  });
});
