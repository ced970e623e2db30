/**
 * The dirty-cell upsert against a sync worker clearing the same cell at the same moment: the
 * worker's DELETE (it pushed the old values) commits while the consumer's upsert of a newer change
 * is running. The newer change must survive as a dirty cell.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';
import { seedDemo } from '../helpers/demo.ts';
import { DirtyCellsConsumer } from '../../cdc/index.ts';
import type { ChangeEvent } from '../../cdc/types.ts';

const db = useTestDatabase();
let rate: Record<string, unknown>;
let connection: string;

beforeAll(async () => {
  const { pool } = db.current;
  await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 30 });
  rate = (
    await pool.query(`SELECT dr.* FROM property_mgmt.daily_rates dr JOIN property_mgmt.room_types rt ON rt.id = dr.room_type_id
    JOIN property_mgmt.rate_plans rp ON rp.id = dr.rate_plan_id WHERE rt.code = 'STD' AND rp.code = 'BAR' AND dr.stay_date = current_date + 5`)
  ).rows[0];
  connection = (await pool.query(`SELECT id FROM channel.channel_connections WHERE channel_code = 'booking_com'`)).rows[0].id;
});

/** A rate change as the decoder hands it over. */
function rateChange(lsn: string): ChangeEvent {
  return {
    op: 'update',
    schema: 'property_mgmt',
    table: 'daily_rates',
    key: { id: rate.id },
    before: rate,
    after: rate,
    unchangedToast: [],
    lsn,
    commitLsn: lsn,
    index: 0,
    xid: 1,
    commitTime: new Date().toISOString(),
    propertyId: String(rate.property_id),
  };
}

const cellOf = async () =>
  (
    await db.current.pool.query(
      `SELECT id, dirty_seq, claimed_at FROM channel.ari_dirty_cells WHERE connection_id = $1 AND room_type_id = $2 AND rate_plan_id = $3 AND stay_date = $4`,
      [connection, rate.room_type_id, rate.rate_plan_id, rate.stay_date],
    )
  ).rows[0];

describe('dirty-cell upsert racing a worker', () => {
  it('a newer change survives a worker deleting the cell it claimed, committed while the upsert runs', async () => {
    const consumer = new DirtyCellsConsumer(db.current.pool, ['booking_com']);
    consumer.write(rateChange('0/100'));
    await consumer.flush();
    const first = await cellOf();
    expect(first).toBeDefined();

    // The worker claims the cell (committed), pushes, and deletes it if unchanged — not yet committed.
    await db.current.pool.query(`UPDATE channel.ari_dirty_cells SET claimed_at = now() WHERE id = $1`, [first.id]);
    const worker = new pg.Client({ connectionString: db.current.url, application_name: 'race-worker' });
    await worker.connect();
    try {
      await worker.query('BEGIN');
      expect((await worker.query(`DELETE FROM channel.ari_dirty_cells WHERE id = $1 AND dirty_seq = $2`, [first.id, first.dirty_seq])).rowCount).toBe(1);

      // Meanwhile a newer change to the same cell is stored: its upsert waits on the worker's row.
      consumer.write(rateChange('0/200'));
      const flushing = consumer.flush();
      await waitFor(
        async () =>
          (
            await db.current.pool.query(
              `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.datname = current_database()`,
            )
          ).rowCount,
        { what: 'the upsert waiting on the worker' },
      );
      await worker.query('COMMIT');
      await flushing;
    } finally {
      await worker.end();
    }
    const after = await cellOf();
    expect(after).toBeDefined(); // re-inserted, not lost
    expect(after.id).not.toBe(first.id);
    expect(after.claimed_at).toBeNull();
  });
});
