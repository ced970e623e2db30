/**
 * The sync worker against both sandboxes over real HTTP: a full sync makes each OTA equal to the
 * PMS; a change then goes out as a delta (one request, one range); authentication failure stops
 * the connection without a retry storm; pause and resume; a mapping Expedia does not know is
 * flagged while the rest goes through; unmapped cells produce no call; cells of a worker that
 * died mid-push are taken over and sent whole.
 */
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortNextInsertAsDeadlock, useTestDatabase } from '../helpers/db.ts';
import { connectionIds, mismatches, startSandboxServer } from '../helpers/outbound.ts';
import { DEMO_CONNECTIONS, seedDemo } from '../helpers/demo.ts';
import { createLogger } from '../../core/logger.ts';
import { CONNECTORS, currentAri, requestFullSync, sandboxKey, setConnectionPaused, SyncWorker } from '../../connectors/index.ts';
import { markDirtyCells } from '../../cdc/sql/dirty-cells.ts';
import { markWindowHorizon } from '../../connectors/outbound/sql/connections.ts';
import { waitFor } from '../helpers/wait.ts';
import { buildAvailRateUpdateRQ } from '../../connectors/expedia/ar-message.ts';

const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startSandboxServer>>;
let worker: SyncWorker;
const ids: Record<string, string> = {};
const DAYS = 365;
/** Mapped cells per night and connection: the demo's 3 room types × 4 rate plans (one priced per occupancy). */
const CELLS_PER_NIGHT = 3 * 4;

const workerFor = () =>
  new SyncWorker({
    pool: db.current.pool,
    log: createLogger('silent'),
    connectors: CONNECTORS,
    pollMs: 20,
    concurrency: 4,
    batchSize: 5000,
    timeoutMs: 2000,
    maxAttempts: 3,
    defaultRatePerMinute: 100_000,
  });

beforeAll(async () => {
  server = await startSandboxServer();
  await seedDemo(db.current.pool, { sandboxBaseUrl: server.url, days: 60 });
  Object.assign(ids, await connectionIds(db.current.pool));
  // The demo's request budgets (120 and 60 a minute) would pace these back-to-back full syncs.
  await db.current.pool.query(`UPDATE channel.channel_connections SET settings = settings || '{"rate_limit_per_minute": 100000}'`);
  worker = workerFor();
});
afterAll(async () => {
  await worker?.stop();
  await server?.close();
});

const log = async (connection: string) =>
  (
    await db.current.pool.query(
      `SELECT message_kind, cells, ranges, bytes, status, ota_codes, error_code FROM channel.sync_log WHERE connection_id = $1 ORDER BY created_at, id`,
      [connection],
    )
  ).rows;
const pending = async (connection: string) =>
  (await db.current.pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE connection_id = $1`, [connection])).rows[0].n;

/** A rate edit of one night, and its cell (and its derived plans' cells) marked as the CDC consumer would (the CDC path has its own tests). */
async function changeRate(connection: string, room: string, plan: string, day: number, plus: number): Promise<void> {
  const { pool } = db.current;
  await pool.query(
    `UPDATE property_mgmt.daily_rates SET amount = amount + $4 WHERE id = (
    SELECT dr.id FROM property_mgmt.daily_rates dr JOIN property_mgmt.room_types rt ON rt.id = dr.room_type_id
    JOIN property_mgmt.rate_plans rp ON rp.id = dr.rate_plan_id WHERE rt.code = $1 AND rp.code = $2 AND dr.stay_date = current_date + $3::int)`,
    [room, plan, day, plus],
  );
  await pool.query(
    `INSERT INTO channel.ari_dirty_cells (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
    SELECT m.connection_id, m.property_id, m.room_type_id, m.rate_plan_id, current_date + $4::int FROM channel.channel_mappings m
    JOIN property_mgmt.room_types rt ON rt.id = m.room_type_id JOIN property_mgmt.rate_plans rp ON rp.id = m.rate_plan_id
    WHERE rt.code = $2 AND m.connection_id = $1
      AND (rp.code = $3 OR rp.parent_rate_plan_id = (SELECT id FROM property_mgmt.rate_plans WHERE code = $3))`,
    [connection, room, plan, day],
  );
}

describe('sync worker', () => {
  it('full sync: every mapped cell of the window reaches each OTA, within its limits, and nothing stays dirty', async () => {
    for (const channel of ['booking_com', 'expedia']) {
      const req = await requestFullSync(db.current.pool, ids[channel]!, DAYS);
      expect(req.cells).toBe(CELLS_PER_NIGHT * DAYS);
      await worker.syncConnection(ids[channel]!);
      expect(await pending(ids[channel]!)).toBe(0);
      expect(await mismatches(db.current.pool, ids[channel]!, server, DAYS)).toEqual([]);
    }
    // Expedia: every message within 5,000 updates and 100 KB, never two at once for the hotel.
    expect(server.expedia.overlaps).toEqual([]);
    expect(server.expedia.stats.rejected).toBe(0);
    const ar = await log(ids.expedia!);
    expect(ar.every((r) => r.message_kind === 'ar' && r.status === 'success' && r.ranges <= 5000 && r.bytes <= 100 * 1024)).toBe(true);
    // Booking.com: one token for all requests (cached), avail and rate messages, each request one
    // calendar month ("Monthly Batching", ota-rateamountnotif), never a date twice.
    expect(server.booking.stats.tokenExchanges).toBe(1);
    expect(server.booking.multiMonthRequests).toEqual([]);
    expect(server.booking.stats.duplicateDateRequests).toBe(0);
    expect(new Set((await log(ids.booking_com!)).map((r) => r.message_kind))).toEqual(new Set(['token', 'avail', 'rate']));
  });

  it('a rate change goes out as a delta: one request, one range, one cell', async () => {
    const { pool } = db.current;
    const before = (await log(ids.booking_com!)).length;
    await changeRate(ids.booking_com!, 'DLX', 'BB', 10, 7); // BB: no plan derives from it, so one cell
    await worker.syncConnection(ids.booking_com!);
    const after = (await log(ids.booking_com!)).slice(before);
    expect(after).toMatchObject([{ message_kind: 'rate', cells: 1, ranges: 1, status: 'success', ota_codes: [], error_code: null }]);
    expect(await mismatches(pool, ids.booking_com!, server, DAYS)).toEqual([]);
  });

  it('a finish PostgreSQL aborts as a deadlock victim runs again at once: the push counts, the connection stays healthy (issue 20)', async () => {
    const { pool } = db.current;
    const stateOf = async () =>
      (
        await pool.query(
          `SELECT c.status, COALESCE(s.consecutive_failures, 0) AS consecutive_failures FROM channel.channel_connections c
      LEFT JOIN channel.connection_sync_state s ON s.connection_id = c.id WHERE c.id = $1`,
          [ids.booking_com],
        )
      ).rows[0];
    expect(await stateOf()).toEqual({ status: 'active', consecutive_failures: 0 });
    await changeRate(ids.booking_com!, 'STD', 'BAR', 12, 3);
    // The finish's first write of what the OTA acknowledged fails once, as a deadlock victim's would.
    const fault = await abortNextInsertAsDeadlock(pool, 'channel.ari_acknowledged', 'finish_fault');
    const logged = (await log(ids.booking_com!)).length;
    try {
      expect(await worker.syncConnection(ids.booking_com!)).toMatchObject({ stopped: false });
    } finally {
      await fault.remove();
    }
    expect(await fault.firings()).toBe(2); // failed once, then went through
    // The OTA was asked once for the rate (the rerun is of the database transaction only), and nothing failed.
    const sent = (await log(ids.booking_com!)).slice(logged);
    expect(sent.filter((r) => r.message_kind === 'rate')).toHaveLength(1);
    expect(sent.every((r) => r.status === 'success')).toBe(true);
    expect(await stateOf()).toEqual({ status: 'active', consecutive_failures: 0 });
    expect(await pending(ids.booking_com!)).toBe(0);
    expect(await mismatches(pool, ids.booking_com!, server, DAYS)).toEqual([]);
  });

  it('a cell whose values the OTA already has costs no request', async () => {
    const before = server.expedia.stats.requests;
    await db.current.pool.query(
      `INSERT INTO channel.ari_dirty_cells (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
      SELECT connection_id, property_id, room_type_id, rate_plan_id, current_date + 3 FROM channel.channel_mappings WHERE connection_id = $1`,
      [ids.expedia],
    );
    await worker.syncConnection(ids.expedia!);
    expect(server.expedia.stats.requests).toBe(before);
    expect(await pending(ids.expedia!)).toBe(0);
  });

  it('authentication failure: the connection goes down after one exchange, no retry storm; resume brings it back', async () => {
    const { pool } = db.current;
    server.booking.faults.set({ authFailure: true });
    await pool.query(`UPDATE channel.ota_tokens SET token = NULL, expires_at = NULL`); // the next push must exchange
    await pool.query(`UPDATE property_mgmt.restrictions SET min_los = 3 WHERE stay_date = current_date + 20`);
    await requestFullSync(pool, ids.booking_com!, DAYS);
    const exchanges = server.booking.stats.tokenExchanges;
    const requests = server.booking.stats.requests;
    const pass = await worker.syncConnection(ids.booking_com!);
    expect(pass.stopped).toBe(true);
    const {
      rows: [c],
    } = await pool.query(`SELECT status, status_reason FROM channel.channel_connections WHERE id = $1`, [ids.booking_com]);
    expect(c.status).toBe('down');
    expect(server.booking.stats.requests - requests).toBe(1); // the one refused exchange, nothing else
    expect(server.booking.stats.tokenExchanges).toBe(exchanges); // none issued
    const { rows: errs } = await pool.query(`SELECT kind, severity, error_code FROM channel.sync_errors WHERE connection_id = $1 AND resolved_at IS NULL`, [
      ids.booking_com,
    ]);
    expect(errs).toEqual([{ kind: 'auth', severity: 'alert', error_code: 'ERR_OTA_AUTH' }]);
    // The breaker holds it: polling does not pick it up again.
    await worker.poll();
    expect(server.booking.stats.requests - requests).toBe(1);
    expect(await pending(ids.booking_com!)).toBe(CELLS_PER_NIGHT * DAYS);

    // Credentials fixed at the OTA, the user resumes: everything goes out, errors resolve.
    server.booking.faults.set({});
    expect((await setConnectionPaused(pool, ids.booking_com!, false)).status).toBe('active');
    await worker.syncConnection(ids.booking_com!);
    expect(await pending(ids.booking_com!)).toBe(0);
    expect(await mismatches(pool, ids.booking_com!, server, DAYS)).toEqual([]);
    expect(
      (await pool.query(`SELECT count(*)::int AS n FROM channel.sync_errors WHERE connection_id = $1 AND resolved_at IS NULL`, [ids.booking_com])).rows[0].n,
    ).toBe(0);
  });

  it('pause: the worker leaves the connection alone while its cells accumulate', async () => {
    const { pool } = db.current;
    expect((await setConnectionPaused(pool, ids.expedia!, true)).status).toBe('paused');
    await requestFullSync(pool, ids.expedia!, 30);
    const before = server.expedia.stats.requests;
    await worker.poll();
    await worker.syncConnection(ids.expedia!);
    expect(server.expedia.stats.requests).toBe(before);
    expect(await pending(ids.expedia!)).toBe(CELLS_PER_NIGHT * 30);
    await setConnectionPaused(pool, ids.expedia!, false);
    await worker.syncConnection(ids.expedia!);
    expect(await pending(ids.expedia!)).toBe(0);
  });

  it('a full sync marked in small chunks covers its window exactly and forgets all the connection acknowledged', async () => {
    const { pool } = db.current;
    const id = ids.booking_com!;
    await requestFullSync(pool, id, DAYS);
    await worker.syncConnection(id);
    // Acknowledgements outside the window too: a night long past, and one beyond the window.
    await pool.query(
      `INSERT INTO channel.ari_acknowledged (connection_id, property_id, room_type_id, rate_plan_id, stay_date, availability, avail_acked_at)
      SELECT connection_id, property_id, room_type_id, rate_plan_id, stay_date + k, availability, avail_acked_at
      FROM (SELECT * FROM channel.ari_acknowledged WHERE connection_id = $1 ORDER BY stay_date LIMIT 1) a, unnest(ARRAY[-30, 1000]) k`,
      [id],
    );
    const acked = async () => (await pool.query(`SELECT count(*)::int AS n FROM channel.ari_acknowledged WHERE connection_id = $1`, [id])).rows[0].n;
    expect(await acked()).toBe(CELLS_PER_NIGHT * DAYS + 2);
    // 9 mappings, 100 cells a statement: 11 nights a chunk, 34 chunks for 365 nights.
    const req = await requestFullSync(pool, id, DAYS, { chunkCells: 100 });
    expect(req.cells).toBe(CELLS_PER_NIGHT * DAYS);
    expect(await pending(id)).toBe(CELLS_PER_NIGHT * DAYS);
    expect(await acked()).toBe(0);
    const before = server.booking.stats.accepted;
    await worker.syncConnection(id);
    expect(server.booking.stats.accepted).toBeGreaterThan(before);
    expect(await pending(id)).toBe(0);
    expect(await mismatches(pool, id, server, DAYS)).toEqual([]);
  });

  it('full sync checks its window per OTA and names the problem', async () => {
    await expect(requestFullSync(db.current.pool, ids.booking_com!, 100)).rejects.toThrow(/at least 12 months/);
    await expect(requestFullSync(db.current.pool, ids.expedia!, 731)).rejects.toThrow(/2 years/);
    await expect(requestFullSync(db.current.pool, 'nope', 500)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(requestFullSync(db.current.pool, '00000000-0000-7000-8000-000000000000', 500)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});

describe('races with the OTA', () => {
  const rateCell = async (connection: string, offset: number) =>
    (
      await db.current.pool.query(
        `
    SELECT m.connection_id, m.property_id, m.room_type_id, m.rate_plan_id, dr.id AS rate_id FROM channel.channel_mappings m
    JOIN property_mgmt.room_types rt ON rt.id = m.room_type_id JOIN property_mgmt.rate_plans rp ON rp.id = m.rate_plan_id
    JOIN property_mgmt.daily_rates dr ON dr.room_type_id = m.room_type_id AND dr.rate_plan_id = m.rate_plan_id AND dr.stay_date = current_date + $2::int
    WHERE m.connection_id = $1 AND rt.code = 'STD' AND rp.code = 'BAR'`,
        [connection, offset],
      )
    ).rows[0];
  // What the CDC consumer does for a rate change: mark the cell at every connection of the property.
  const markCell = (c: Record<string, string>, offset: number) =>
    db.current.pool.query(
      markDirtyCells(
        ['booking_com', 'expedia'],
        [
          {
            connectionId: null,
            propertyId: c.property_id!,
            roomTypeId: c.room_type_id!,
            ratePlanId: c.rate_plan_id!,
            from: null,
            to: null,
            lsn: '0/1',
          },
        ].map((r) => ({ ...r, from: isoDay(offset), to: isoDay(offset + 1) })),
      ),
    );
  const isoDay = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

  it('a change made while its cell is being pushed is pushed again (the cell is cleared only if not dirtied meanwhile)', async () => {
    const { pool } = db.current;
    await pool.query(`UPDATE channel.channel_connections SET endpoint_url = $2 WHERE id = $1`, [ids.expedia, `${server.url}/sandbox/expedia`]);
    const c = await rateCell(ids.expedia!, 12);
    await pool.query(`UPDATE property_mgmt.daily_rates SET amount = 201 WHERE id = $1`, [c.rate_id]);
    await markCell(c, 12);
    server.expedia.faults.set({ rates: { slow: 1 }, slowMs: 400 });
    const requests = server.expedia.stats.requests;
    const pass = worker.syncConnection(ids.expedia!);
    await waitFor(() => server.expedia.inFlight('7654321') === 1, { what: 'the push in flight' });
    // While the OTA holds the push of 201: the rate becomes 202 and the CDC marks the cell again.
    await pool.query(`UPDATE property_mgmt.daily_rates SET amount = 202 WHERE id = $1`, [c.rate_id]);
    await markCell(c, 12);
    await pass; // the cell stayed dirty after the first push, so the same pass pushed it again
    server.expedia.faults.set({});
    expect(server.expedia.stats.requests - requests).toBe(2);
    expect(await pending(ids.expedia!)).toBe(0);
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
  });

  it('cells taken over from a worker that died mid-push are sent whole, even where the PMS equals what the OTA acknowledged', async () => {
    const { pool } = db.current;
    await pool.query(`UPDATE channel.channel_connections SET endpoint_url = $2 WHERE id = $1`, [ids.expedia, `${server.url}/sandbox/expedia`]);
    const c = await rateCell(ids.expedia!, 16);
    const night = isoDay(16);
    const {
      rows: [m],
    } = await pool.query(
      `SELECT m.ota_room_code, m.ota_rate_code, dr.currency FROM channel.channel_mappings m
      JOIN property_mgmt.daily_rates dr ON dr.id = $2 WHERE m.connection_id = $1 AND m.room_type_id = $3 AND m.rate_plan_id = $4`,
      [ids.expedia, c.rate_id, c.room_type_id, c.rate_plan_id],
    );
    const {
      rows: [truth],
    } = await pool.query(currentAri([{ connectionId: ids.expedia!, roomTypeId: c.room_type_id, ratePlanId: c.rate_plan_id, stayDate: night }]));
    const otaRate = () => server.expedia.cells('7654321').get(sandboxKey(m.ota_room_code, m.ota_rate_code, night))?.rate;
    await markCell(c, 16);
    await worker.syncConnection(ids.expedia!);
    expect(otaRate()).toBe(truth.rate);
    // A worker claimed the cell when the rate was 404, sent it (it reached the OTA) and died before
    // recording the answer; the PMS rate is back to the value the OTA had acknowledged before.
    const expedia = DEMO_CONNECTIONS.find((x) => x.channel === 'expedia')!;
    const credentials = expedia.credentials as { username: string; password: string };
    await axios.post(
      `${server.url}/sandbox/expedia/eqc/ar`,
      buildAvailRateUpdateRQ({ username: credentials.username, password: credentials.password, hotelId: expedia.hotelCode }, [
        { from: night, to: night, roomTypeId: m.ota_room_code, ratePlan: { id: m.ota_rate_code, rate: { amount: '404.00', currency: m.currency } } },
      ]),
      { headers: { 'content-type': 'text/xml' } },
    );
    expect(otaRate()).toBe('404.00');
    await markCell(c, 16);
    const dead = await pool.query(
      `UPDATE channel.ari_dirty_cells SET claim_id = gen_random_uuid(), claimed_at = now()
      WHERE connection_id = $1 AND room_type_id = $2 AND rate_plan_id = $3 AND stay_date = $4`,
      [ids.expedia, c.room_type_id, c.rate_plan_id, night],
    );
    expect(dead.rowCount).toBe(1);
    // Its worker is gone (nobody holds the connection's sync lock): once its last request can no
    // longer be in flight (the grace: the request timeout), this worker takes the cell over and,
    // not knowing what reached the OTA, sends it whole.
    await waitFor(
      async () => {
        await worker.syncConnection(ids.expedia!);
        return (await pending(ids.expedia!)) === 0;
      },
      { what: "the dead worker's cell taken over", intervalMs: 100 },
    );
    expect(otaRate()).toBe(truth.rate);
  });

  it('a push whose answer never came (timeout) is not taken as acknowledged: the next value is sent even if it equals the old one', async () => {
    const { pool } = db.current;
    const c = await rateCell(ids.booking_com!, 14);
    const before = (await pool.query(`SELECT amount FROM property_mgmt.daily_rates WHERE id = $1`, [c.rate_id])).rows[0].amount;
    // The OTA applies 303 but answers after the client gave up.
    const slowWorker = new SyncWorker({
      pool,
      log: createLogger('silent'),
      connectors: CONNECTORS,
      pollMs: 20,
      concurrency: 1,
      batchSize: 5000,
      timeoutMs: 150,
      maxAttempts: 1,
      defaultRatePerMinute: 100_000,
    });
    await pool.query(`UPDATE property_mgmt.daily_rates SET amount = 303 WHERE id = $1`, [c.rate_id]);
    await markCell(c, 14);
    server.booking.faults.set({ rates: { slow: 1 }, slowMs: 400 });
    await slowWorker.syncConnection(ids.booking_com!);
    await waitFor(() => [...server.booking.cells('1234567').values()].some((v) => v.rate === '303.00'), { what: 'the OTA applying the late request' });
    server.booking.faults.set({});
    // Back to the old value, the one the OTA acknowledged before.
    await pool.query(`UPDATE property_mgmt.daily_rates SET amount = $2 WHERE id = $1`, [c.rate_id, before]);
    await markCell(c, 14);
    await worker.syncConnection(ids.booking_com!);
    const wrong = await mismatches(pool, ids.booking_com!, server, DAYS);
    expect(wrong).toEqual([]);
  });
});

describe('shutdown', () => {
  it('a worker stopping mid-request gives up the request at once, keeps the cells dirty and leaves the connection healthy', async () => {
    const { pool } = db.current;
    const stopping = workerFor();
    await requestFullSync(pool, ids.expedia!, 30);
    server.expedia.faults.set({ rates: { slow: 1 }, slowMs: 20_000 });
    try {
      stopping.start();
      await waitFor(() => server.expedia.inFlight('7654321') === 1, { what: 'a push in flight' });
      const t = performance.now();
      await stopping.stop();
      expect(performance.now() - t).toBeLessThan(5_000); // not the 20 s the OTA holds the request
    } finally {
      server.expedia.faults.set({});
    }
    expect(await pending(ids.expedia!)).toBe(CELLS_PER_NIGHT * 30);
    const {
      rows: [c],
    } = await pool.query(
      `SELECT c.status, COALESCE(s.consecutive_failures, 0) AS failures FROM channel.channel_connections c
      LEFT JOIN channel.connection_sync_state s ON s.connection_id = c.id WHERE c.id = $1`,
      [ids.expedia],
    );
    expect(c).toEqual({ status: 'active', failures: 0 });
    await worker.syncConnection(ids.expedia!);
    expect(await pending(ids.expedia!)).toBe(0);
  });
});

describe('refusals per item', () => {
  it('Booking.com refusing the items of one rate plan: they are recorded and leave the queue, everything else is applied', async () => {
    const { pool } = db.current;
    // A Booking.com that does not know rate plan 5003 (BB): its restrictions and rates are refused per item.
    // FAM (5004) is an occupancy-based room-rate there, as the demo maps it.
    const other = await startSandboxServer({
      bookingProducts: { '1234567': { rooms: ['123456701', '123456702', '123456703'], rates: ['5001', '5002', '5004'], ratePricing: { '5004': 'obp' } } },
    });
    try {
      await pool.query(
        `UPDATE channel.channel_connections SET endpoint_url = $2, settings = settings || jsonb_build_object('auth_url', $2::text) WHERE id = $1`,
        [ids.booking_com, `${other.url}/sandbox/booking-com`],
      );
      await requestFullSync(pool, ids.booking_com!, DAYS);
      await worker.syncConnection(ids.booking_com!);
      expect(await pending(ids.booking_com!)).toBe(0); // refused items are recorded, not retried forever
      const wrong = await mismatches(pool, ids.booking_com!, other, DAYS);
      expect(wrong.length).toBeGreaterThan(0);
      expect(wrong.every((m) => m.cell.split('/')[1] === '5003' && m.field !== 'availability')).toBe(true); // availability is room-level: applied
      const { rows: log } = await pool.query(
        `SELECT DISTINCT status FROM channel.sync_log WHERE connection_id = $1 AND message_kind <> 'token' AND created_at > now() - interval '1 minute'`,
        [ids.booking_com],
      );
      expect(log.map((r) => r.status)).toContain('partial');
      const { rows: errs } = await pool.query(
        `SELECT count(*)::int AS n FROM channel.sync_errors WHERE connection_id = $1 AND kind = 'rejected' AND resolved_at IS NULL`,
        [ids.booking_com],
      );
      expect(errs[0].n).toBeGreaterThan(0);
      // The OTA learns the rate plan: the next full sync goes through and the refusals resolve.
      await pool.query(
        `UPDATE channel.channel_connections SET endpoint_url = $2, settings = settings || jsonb_build_object('auth_url', $2::text) WHERE id = $1`,
        [ids.booking_com, `${server.url}/sandbox/booking-com`],
      );
      await requestFullSync(pool, ids.booking_com!, DAYS);
      await worker.syncConnection(ids.booking_com!);
      const {
        rows: [open],
      } = await pool.query(`SELECT count(*)::int AS n FROM channel.sync_errors WHERE connection_id = $1 AND kind = 'rejected' AND resolved_at IS NULL`, [
        ids.booking_com,
      ]);
      expect(open.n).toBe(0);
    } finally {
      await pool.query(
        `UPDATE channel.channel_connections SET endpoint_url = $2, settings = settings || jsonb_build_object('auth_url', $2::text) WHERE id = $1`,
        [ids.booking_com, `${server.url}/sandbox/booking-com`],
      );
      await other.close();
    }
  });
});

describe('the sync window', () => {
  it('a night entering the window by the calendar alone is marked, and a full sync may not exceed the window', async () => {
    const { pool } = db.current;
    await pool.query(`DELETE FROM channel.ari_dirty_cells`); // what earlier tests left waiting
    await pool.query(markWindowHorizon());
    const { rows } = await pool.query(`SELECT c.channel_code, count(*)::int AS n, min(d.stay_date - (now() AT TIME ZONE p.timezone)::date) AS first
      FROM channel.ari_dirty_cells d JOIN channel.channel_connections c ON c.id = d.connection_id JOIN property_mgmt.properties p ON p.id = c.property_id
      GROUP BY 1 ORDER BY 1`);
    expect(rows).toEqual([
      { channel_code: 'booking_com', n: 2 * CELLS_PER_NIGHT, first: 498 },
      { channel_code: 'expedia', n: 2 * CELLS_PER_NIGHT, first: 498 },
    ]);
    await expect(requestFullSync(pool, ids.booking_com!, 600)).rejects.toThrow(/beyond the connection's sync window/);
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
  });

  it('after days without the roll, every night that entered the window meanwhile is marked, once (issue 15, defect 8)', async () => {
    const { pool } = db.current;
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    await pool.query(markWindowHorizon()); // the roll as it ran last (the window's end recorded)
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    // Five days without a roll: the window's end moved five nights past the last one marked.
    await pool.query(`UPDATE channel.connection_sync_state SET window_end = window_end - 5`);
    expect((await pool.query(markWindowHorizon())).rows[0].marked).toBe(2 * CELLS_PER_NIGHT * 5);
    const { rows } = await pool.query(`SELECT c.channel_code, count(*)::int AS n, min(d.stay_date - (now() AT TIME ZONE p.timezone)::date) AS first,
        max(d.stay_date - (now() AT TIME ZONE p.timezone)::date) AS last
      FROM channel.ari_dirty_cells d JOIN channel.channel_connections c ON c.id = d.connection_id JOIN property_mgmt.properties p ON p.id = c.property_id
      GROUP BY 1 ORDER BY 1`);
    // CELLS_PER_NIGHT mapped cells a night, nights 495–499 of a 500-night window (the demo's sync_days).
    expect(rows).toEqual([
      { channel_code: 'booking_com', n: 5 * CELLS_PER_NIGHT, first: 495, last: 499 },
      { channel_code: 'expedia', n: 5 * CELLS_PER_NIGHT, first: 495, last: 499 },
    ]);
    await pool.query(`DELETE FROM channel.ari_dirty_cells`);
    expect((await pool.query(markWindowHorizon())).rows[0].marked).toBe(0); // caught up: nothing twice
  });
});

describe('Expedia mapping errors', () => {
  it('a plan priced otherwise than its OTA rate: its rates are not sent and the connection says why; set right, they go out and the error resolves', async () => {
    const { pool } = db.current;
    const FAM = `(SELECT id FROM property_mgmt.rate_plans WHERE code = 'FAM')`;
    // FAM's cells of the 30 nights, as the CDC marks them on a mapping or rate change.
    const mark = () =>
      pool.query(
        `INSERT INTO channel.ari_dirty_cells (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
         SELECT m.connection_id, m.property_id, m.room_type_id, m.rate_plan_id, d::date FROM channel.channel_mappings m
         CROSS JOIN generate_series(current_date, current_date + 29, interval '1 day') d
         WHERE m.connection_id = $1 AND m.rate_plan_id = ${FAM} ON CONFLICT DO NOTHING`,
        [ids.expedia],
      );
    const openErrors = async () =>
      (
        await pool.query(`SELECT error_code, message FROM channel.sync_errors WHERE connection_id = $1 AND kind = 'pricing_model' AND resolved_at IS NULL`, [
          ids.expedia,
        ])
      ).rows;
    await requestFullSync(pool, ids.expedia!, 30);
    await worker.syncConnection(ids.expedia!);
    expect(await mismatches(pool, ids.expedia!, server, 30)).toEqual([]);
    // The OTA's rate is now said to be priced per day (a mapping edited outside the API), and FAM's
    // prices and closed-to-arrival of night 15 change.
    await pool.query(`UPDATE channel.channel_mappings SET settings = settings - 'pricing_model' WHERE connection_id = $1 AND rate_plan_id = ${FAM}`, [
      ids.expedia,
    ]);
    await pool.query(
      `UPDATE property_mgmt.daily_rates SET amount = amount + 9, occupancy_amounts = (SELECT jsonb_object_agg(e.key, e.value::numeric + 9) FROM jsonb_each_text(occupancy_amounts) e)
       WHERE rate_plan_id = ${FAM} AND stay_date = current_date + 15`,
    );
    await pool.query(
      `UPDATE property_mgmt.restrictions SET closed_to_arrival = NOT closed_to_arrival WHERE rate_plan_id = ${FAM} AND stay_date = current_date + 15`,
    );
    await mark();
    await worker.syncConnection(ids.expedia!);
    expect(await pending(ids.expedia!)).toBe(0);
    const errors = await openErrors();
    expect(errors).toHaveLength(3); // one per room type: the OTA's model is set per mapping
    expect(errors[0]).toMatchObject({ error_code: 'ERR_PRICING_MODEL_MISMATCH' });
    expect(errors[0].message).toContain('the rate plan mapped to 300104 is priced per_occupancy in the PMS but per_day at the OTA');
    // Meanwhile the OTA shows FAM closed, its restrictions as they are now, no rate of either model sent.
    expect(await mismatches(pool, ids.expedia!, server, 30)).toEqual([]);
    // Set right: the OTA still has FAM closed, and night 15's old prices (nothing else differs) …
    await pool.query(
      `UPDATE channel.channel_mappings SET settings = settings || '{"pricing_model": "per_occupancy"}' WHERE connection_id = $1 AND rate_plan_id = ${FAM}`,
      [ids.expedia],
    );
    const stale = await mismatches(pool, ids.expedia!, server, 30);
    expect(stale.filter((m) => m.field === 'closed')).toHaveLength(3 * 30); // FAM at each room type, 30 nights
    expect(stale.filter((m) => m.field === 'occupancyRates')).toHaveLength(3); // night 15 at each room type
    expect(stale.every((m) => m.cell.includes('/300104/') && (m.field === 'closed' || m.field === 'occupancyRates'))).toBe(true);
    // … until the cells go out again: then nothing differs and the error is resolved.
    await mark();
    await worker.syncConnection(ids.expedia!);
    expect(await mismatches(pool, ids.expedia!, server, 30)).toEqual([]);
    expect(await openErrors()).toEqual([]);

    // Wrong again and put back with no price changed in between: no rate needs to go out, and the
    // error still ends once the models agree.
    const setModel = (json: string) =>
      pool.query(`UPDATE channel.channel_mappings SET settings = settings || $2::jsonb WHERE connection_id = $1 AND rate_plan_id = ${FAM}`, [
        ids.expedia,
        json,
      ]);
    await setModel('{"pricing_model": "per_day"}');
    await mark();
    await worker.syncConnection(ids.expedia!);
    expect(await openErrors()).toHaveLength(3); // one per room type of FAM
    await setModel('{"pricing_model": "per_occupancy"}');
    await mark();
    await worker.syncConnection(ids.expedia!);
    expect(await openErrors()).toEqual([]);
    expect(await mismatches(pool, ids.expedia!, server, 30)).toEqual([]);
  });

  it('a room Expedia does not know is flagged as a mapping problem; the other rooms still go through', async () => {
    const { pool } = db.current;
    // A second Expedia whose catalogue lacks the suite (200103).
    const other = await startSandboxServer({
      expediaProducts: { '7654321': { rooms: ['200101', '200102'], rates: ['300101', '300102', '300103', '300104'] } },
    });
    try {
      await pool.query(`UPDATE channel.channel_connections SET endpoint_url = $2 WHERE id = $1`, [ids.expedia, `${other.url}/sandbox/expedia`]);
      await requestFullSync(pool, ids.expedia!, 30);
      await worker.syncConnection(ids.expedia!);
      expect(await pending(ids.expedia!)).toBe(0); // refused cells are recorded, not retried forever
      const wrong = await mismatches(pool, ids.expedia!, other, 30);
      expect(wrong.length).toBeGreaterThan(0);
      expect(new Set(wrong.map((m) => m.cell.split('/')[0]))).toEqual(new Set(['200103'])); // only the suite differs
      const { rows: problems } = await pool.query(`SELECT kind, ota_room_code FROM channel.mapping_problems WHERE connection_id = $1 AND resolved_at IS NULL`, [
        ids.expedia,
      ]);
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.every((p) => p.kind === 'ota_rejected_mapping' && p.ota_room_code === '200103')).toBe(true);
      const { rows: errs } = await pool.query(
        `SELECT DISTINCT kind, ota_code FROM channel.sync_errors WHERE connection_id = $1 AND resolved_at IS NULL AND kind <> 'ota_warning'`,
        [ids.expedia],
      );
      expect(errs).toEqual([{ kind: 'mapping', ota_code: '3203' }]);
      const {
        rows: [c],
      } = await pool.query(`SELECT status FROM channel.channel_connections WHERE id = $1`, [ids.expedia]);
      expect(c.status).toBe('active');
    } finally {
      await other.close();
    }
  });
});
