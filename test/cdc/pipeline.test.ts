/** The CDC pipe end to end on a real server: WAL → pgoutput → consumers → dirty ARI cells, acknowledged only when stored. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';
import { confirmedFlush, currentWal, dirtySeq, startPipeline, type TestPipeline } from '../helpers/cdc.ts';
import { seedDemo } from '../helpers/demo.ts';
import { cdcStatus } from '../../cdc/index.ts';

const db = useTestDatabase();
let pipe: TestPipeline;
let ids: { propertyId: string; std: string; dlx: string; bar: string; nrf: string; bookingConn: string; expediaConn: string };

beforeAll(async () => {
  const { pool, url } = db.current;
  await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 60 });
  const q = async (sql: string) => (await pool.query(sql)).rows[0].id as string;
  ids = {
    propertyId: await q(`SELECT id FROM property_mgmt.properties WHERE code = 'DEMO'`),
    std: await q(`SELECT id FROM property_mgmt.room_types WHERE code = 'STD'`),
    dlx: await q(`SELECT id FROM property_mgmt.room_types WHERE code = 'DLX'`),
    bar: await q(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'BAR'`),
    nrf: await q(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'NRF'`),
    bookingConn: await q(`SELECT id FROM channel.channel_connections WHERE channel_code = 'booking_com'`),
    expediaConn: await q(`SELECT id FROM channel.channel_connections WHERE channel_code = 'expedia'`),
  };
  pipe = await startPipeline(pool, url);
  await waitFor(() => pipe.metrics.streaming, { what: 'streaming' });
});
afterAll(async () => {
  await pipe?.stop();
});

/** The demo's rate plans (each mapped for every room type at every connection). */
const livePlans = async () =>
  (await db.current.pool.query(`SELECT count(*)::int AS n FROM property_mgmt.rate_plans WHERE deleted_at IS NULL`)).rows[0].n as number;
const day = (offset: number) => new Date(Date.now() + offset * 86400_000).toISOString().slice(0, 10);

describe('CDC → dirty ARI cells', () => {
  it('a rate change dirties its cell at both OTAs, and the slot is acknowledged past it', async () => {
    const { pool } = db.current;
    await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, [
      ids.std,
      ids.bar,
      day(10),
    ]);
    const afterChange = await currentWal(pool);
    const cells = await waitFor(
      async () => {
        const m = await dirtySeq(pool, 'd.room_type_id = $1 AND d.rate_plan_id = $2 AND d.stay_date = $3', [ids.std, ids.bar, day(10)]);
        return m.size === 2 ? m : null;
      },
      { what: 'dirty cells for the rate change' },
    );
    expect([...cells.keys()].map((k) => k.split(':')[0]).sort()).toEqual(['booking_com', 'expedia']);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= afterChange, { what: 'slot acknowledged' });
  });

  it('a parent rate plan’s change dirties the same cell of its derived plans; a changed adjustment, the derived plan’s window', async () => {
    const { pool } = db.current;
    let lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    // NRF derives from BAR (the demo): a BAR rate and a BAR restriction move NRF's cell too.
    await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 2 WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, [
      ids.dlx,
      ids.bar,
      day(12),
    ]);
    await pool.query(`UPDATE property_mgmt.restrictions SET min_los = 2 WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, [
      ids.dlx,
      ids.bar,
      day(13),
    ]);
    lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    const { rows } = await pool.query(
      `SELECT DISTINCT rp.code, d.stay_date::text AS d FROM channel.ari_dirty_cells d JOIN property_mgmt.rate_plans rp ON rp.id = d.rate_plan_id
       WHERE d.room_type_id = $1 ORDER BY 1, 2`,
      [ids.dlx],
    );
    expect(rows).toEqual([
      { code: 'BAR', d: day(12) },
      { code: 'BAR', d: day(13) },
      { code: 'NRF', d: day(12) },
      { code: 'NRF', d: day(13) },
    ]);
    const {
      rows: [all],
    } = await pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells`);
    expect(all.n).toBe(2 * 2 * 2); // 2 nights × (BAR, NRF) × 2 OTAs: no other plan, no other room type

    // The derived plan's rule changes: every cell of NRF (3 room types, each connection's window from yesterday), nothing of BAR.
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    await pool.query(`UPDATE property_mgmt.rate_plans SET derived_adjustment_pct = -12 WHERE id = $1`, [ids.nrf]);
    await pool.query(`UPDATE property_mgmt.rate_plans SET name = name || ' (renamed)' WHERE id = $1`, [ids.nrf]); // prices nothing: no marking
    lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    const { rows: plans } = await pool.query(
      `SELECT rp.code, count(*)::int AS n FROM channel.ari_dirty_cells d JOIN property_mgmt.rate_plans rp ON rp.id = d.rate_plan_id GROUP BY 1`,
    );
    const { rows: windows } = await pool.query(
      `SELECT sum(COALESCE((settings ->> 'sync_days')::int, 500) + 1)::int AS nights FROM channel.channel_connections`,
    );
    expect(plans).toEqual([{ code: 'NRF', n: 3 * windows[0].nights }]);
  });

  it('a room type closure dirties every rate plan of the room type that night; a pricing model change, the plan’s window', async () => {
    const { pool } = db.current;
    let lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    await pool.query(`INSERT INTO property_mgmt.room_type_closures (property_id, room_type_id, stay_date) VALUES ($1, $2, $3)`, [
      ids.propertyId,
      ids.std,
      day(20),
    ]);
    lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    const { rows } = await pool.query(
      `SELECT rp.code, d.room_type_id = $1 AS std, d.stay_date::text AS d, count(*)::int AS otas
       FROM channel.ari_dirty_cells d JOIN property_mgmt.rate_plans rp ON rp.id = d.rate_plan_id GROUP BY 1, 2, 3 ORDER BY 1`,
      [ids.std],
    );
    const { rows: plans } = await pool.query(`SELECT code FROM property_mgmt.rate_plans WHERE deleted_at IS NULL ORDER BY code`);
    const { rows: conns } = await pool.query(`SELECT count(*)::int AS n FROM channel.channel_connections`);
    expect(rows).toEqual(plans.map((p) => ({ code: p.code, std: true, d: day(20), otas: conns[0].n })));

    // FAM is priced per occupancy (the demo): priced per day instead, each of its cells is pushed again.
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    await pool.query(`UPDATE property_mgmt.rate_plans SET pricing_model = 'per_day' WHERE code = 'FAM'`);
    lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    const { rows: marked } = await pool.query(
      `SELECT rp.code, count(*)::int AS n FROM channel.ari_dirty_cells d JOIN property_mgmt.rate_plans rp ON rp.id = d.rate_plan_id GROUP BY 1`,
    );
    const { rows: windows } = await pool.query(
      `SELECT sum(COALESCE((settings ->> 'sync_days')::int, 500) + 1)::int AS nights FROM channel.channel_connections`,
    );
    expect(marked).toEqual([{ code: 'FAM', n: 3 * windows[0].nights }]);
  });

  it('reports lag, throughput and slot health through cdcStatus()', async () => {
    const { pool } = db.current;
    const s = await cdcStatus(pool, pipe.slot, pipe.metrics);
    expect(s).toMatchObject({ slot: pipe.slot, exists: true, active: true, streaming: true, walStatus: 'reserved', lastError: null });
    expect(s.eventsTotal).toBeGreaterThan(0);
    expect(s.lagBytes).toBeGreaterThanOrEqual(0);
    expect(s.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(s.lagSeconds).toBeLessThan(60);
    expect(typeof s.spillTxns).toBe('number');
  });

  it('a thousand changes to one cell stay one row', async () => {
    const { pool } = db.current;
    let lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    for (let i = 0; i < 20; i++) {
      await pool.query(`UPDATE property_mgmt.restrictions SET min_los = $4 WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, [
        ids.dlx,
        ids.bar,
        day(5),
        1 + (i % 3),
      ]);
    }
    await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, [
      ids.dlx,
      ids.bar,
      day(5),
    ]);
    lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`,
      [ids.dlx, ids.bar, day(5)],
    );
    expect(rows[0].n).toBe(2); // one per connection
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells`)).rows[0].n).toBe(2 * 2); // and BAR's derived NRF
  });

  it('leaves a waiting cell untouched, but re-marks one whose push is in flight (claimed) with a new dirty_seq', async () => {
    const { pool } = db.current;
    const cell = [ids.dlx, ids.bar, day(6)];
    const bump = async () => {
      await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, cell);
      const lsn = await currentWal(pool);
      await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
      return dirtySeq(pool, 'd.room_type_id = $1 AND d.rate_plan_id = $2 AND d.stay_date = $3', cell);
    };
    const first = await bump();
    expect(first.size).toBe(2);
    expect(await bump()).toEqual(first); // waiting: coalesced, no write
    await pool.query(`UPDATE channel.ari_dirty_cells SET claimed_at = now() WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, cell);
    const third = await bump();
    for (const [k, seq] of third) expect(seq).toBeGreaterThan(first.get(k)!);
  });

  it('a stay moved to other dates dirties the old and the new nights, for every rate plan of its room type', async () => {
    const { pool } = db.current;
    const {
      rows: [res],
    } = await pool.query(
      `INSERT INTO reservation.reservations (property_id, check_in_date, check_out_date, currency) VALUES ($1, $2, $3, 'EUR') RETURNING id`,
      [ids.propertyId, day(20), day(22)],
    );
    const {
      rows: [room],
    } = await pool.query(
      `INSERT INTO reservation.reservation_rooms (reservation_id, property_id, room_type_id, arrival_date, departure_date, currency) VALUES ($1, $2, $3, $4, $5, 'EUR') RETURNING id`,
      [res.id, ids.propertyId, ids.dlx, day(20), day(22)],
    );
    let lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    await pool.query(`DELETE FROM channel.ari_dirty_cells`); // as if the connectors had synced everything
    await pool.query(`UPDATE reservation.reservation_rooms SET arrival_date = $2, departure_date = $3 WHERE id = $1`, [room.id, day(40), day(41)]);
    lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    const { rows } = await pool.query(`SELECT DISTINCT stay_date::text AS d FROM channel.ari_dirty_cells WHERE room_type_id = $1 ORDER BY 1`, [ids.dlx]);
    expect(rows.map((r) => r.d)).toEqual([day(20), day(21), day(40)]);
    const {
      rows: [n],
    } = await pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells`);
    expect(n.n).toBe(3 * (await livePlans()) * 2); // 3 nights × every rate plan × 2 OTAs

    // Cancelling the reservation frees its (new) nights: resolved through its rooms.
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    await pool.query(`UPDATE reservation.reservations SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, [res.id]);
    lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    const { rows: after } = await pool.query(`SELECT DISTINCT stay_date::text AS d FROM channel.ari_dirty_cells ORDER BY 1`);
    expect(after.map((r) => r.d)).toEqual([day(40)]);
  });

  it('a room taken out of service dirties its room type’s whole window; housekeeping status does not', async () => {
    const { pool } = db.current;
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    await pool.query(`UPDATE property_mgmt.rooms SET status = 'dirty' WHERE number = '101'`);
    let lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells`)).rows[0].n).toBe(0);
    await pool.query(`UPDATE property_mgmt.rooms SET status = 'out_of_service' WHERE number = '101'`);
    lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    const {
      rows: [r],
    } = await pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT room_type_id)::int AS types, min(stay_date) = (now() AT TIME ZONE 'Europe/Amsterdam')::date - 1 AS from_yesterday FROM channel.ari_dirty_cells`,
    );
    expect(r).toEqual({ n: 2 * (await livePlans()) * 501, types: 1, from_yesterday: true }); // window: yesterday + 500 days
  });

  it('unmapped room types produce no cells but a mapping problem; mapping them resolves it and dirties their cells', async () => {
    const { pool } = db.current;
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    const {
      rows: [rt],
    } = await pool.query(`INSERT INTO property_mgmt.room_types (property_id, code, name, max_occupancy) VALUES ($1, 'FAM', 'Family', 4) RETURNING id`, [
      ids.propertyId,
    ]);
    await pool.query(`INSERT INTO property_mgmt.rooms (property_id, room_type_id, number) VALUES ($1, $2, '501')`, [ids.propertyId, rt.id]);
    let lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells`)).rows[0].n).toBe(0);
    const { rows: problems } = await pool.query(
      `SELECT c.channel_code, p.kind FROM channel.mapping_problems p JOIN channel.channel_connections c ON c.id = p.connection_id WHERE p.room_type_id = $1 AND p.resolved_at IS NULL ORDER BY 1`,
      [rt.id],
    );
    expect(problems).toEqual([
      { channel_code: 'booking_com', kind: 'unmapped_room_type' },
      { channel_code: 'expedia', kind: 'unmapped_room_type' },
    ]);

    await pool.query(
      `INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code) VALUES ($1, $2, $3, $4, '200199', '300101')`,
      [ids.expediaConn, ids.propertyId, rt.id, ids.bar],
    );
    lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    const {
      rows: [cells],
    } = await pool.query(`SELECT count(*)::int AS n, count(DISTINCT connection_id)::int AS conns FROM channel.ari_dirty_cells WHERE room_type_id = $1`, [
      rt.id,
    ]);
    expect(cells).toEqual({ n: 501, conns: 1 });
    const { rows: open } = await pool.query(
      `SELECT c.channel_code FROM channel.mapping_problems p JOIN channel.channel_connections c ON c.id = p.connection_id WHERE p.room_type_id = $1 AND p.resolved_at IS NULL`,
      [rt.id],
    );
    expect(open).toEqual([{ channel_code: 'booking_com' }]);
  });

  it('a connection’s settings change dirties all it covers; its status bookkeeping does not', async () => {
    const { pool } = db.current;
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    await pool.query(`UPDATE channel.channel_connections SET last_success_at = now(), status = 'degraded' WHERE id = $1`, [ids.bookingConn]);
    let lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells`)).rows[0].n).toBe(0);
    await pool.query(`UPDATE channel.channel_connections SET settings = settings || '{"markup_pct": 5}' WHERE id = $1`, [ids.bookingConn]);
    lsn = await currentWal(pool);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= lsn, { what: 'acknowledged' });
    const {
      rows: [r],
    } = await pool.query(`SELECT count(*)::int AS n, count(DISTINCT connection_id)::int AS conns FROM channel.ari_dirty_cells`);
    expect(r).toEqual({ n: 3 * (await livePlans()) * 501, conns: 1 }); // 3 room types × every plan × yesterday + 500 days
  });

  it('lets the slot advance over WAL with nothing for it (idle publication, busy database)', async () => {
    const { pool } = db.current;
    const before = await confirmedFlush(pool, pipe.slot);
    await pool.query(`CREATE TABLE public.busy (id serial PRIMARY KEY, payload text)`);
    for (let i = 0; i < 20; i++) await pool.query(`INSERT INTO public.busy (payload) SELECT repeat('x', 200) FROM generate_series(1, 500)`);
    const target = await currentWal(pool);
    expect(target - before).toBeGreaterThan(1_000_000n);
    await waitFor(async () => (await confirmedFlush(pool, pipe.slot)) >= target, { what: 'slot advanced without published changes', timeoutMs: 30_000 });
  });

  it('follows ALTER TABLE … ADD COLUMN mid-stream', async () => {
    const { pool } = db.current;
    const seen: Array<Record<string, unknown>> = [];
    const extra = await startPipeline(pool, db.current.url, {
      sinks: [
        {
          write: (c) => {
            if (c.table === 'daily_rates' && c.after) seen.push(c.after);
          },
          flush: async () => undefined,
        },
      ],
    });
    try {
      await waitFor(() => extra.metrics.streaming, { what: 'streaming' });
      await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, [
        ids.std,
        ids.bar,
        day(3),
      ]);
      await pool.query(`ALTER TABLE property_mgmt.daily_rates ADD COLUMN promo_code text`);
      await pool.query(`UPDATE property_mgmt.daily_rates SET promo_code = 'SUMMER' WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, [
        ids.std,
        ids.bar,
        day(3),
      ]);
      await waitFor(() => seen.length >= 2, { what: 'both updates decoded' });
      expect(seen[0]).not.toHaveProperty('promo_code');
      expect(seen[1]).toMatchObject({ promo_code: 'SUMMER' });
    } finally {
      await extra.stop();
      await pool.query(`ALTER TABLE property_mgmt.daily_rates DROP COLUMN promo_code`);
    }
  });
});
