/**
 * Issue 15, defects 4 and 6: what the OTA acknowledged belongs to the target it was sent to (the
 * endpoint, OTA hotel, room and rate). Re-pointing a mapping, or moving the connection to another
 * OTA hotel, pushes the whole window to the new target and closes the old one (availability 0
 * where the room is fed no more, the rate closed); disabling or deleting a connection closes
 * everything it fed at the OTA first, unless the operator keeps the OTA open.
 *
 * Real CDC, real sync worker, the Expedia sandbox over HTTP. The oracle for the new target is the
 * PMS cell by cell (mismatches); for the old target, the publisher's meaning of "closed": no room
 * for sale and the rate plan closed on every night of the window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startPipeline, type TestPipeline } from '../helpers/cdc.ts';
import { mismatches, startSandboxServer, seedSandboxedDemo, testWorker } from '../helpers/outbound.ts';
import { waitFor } from '../helpers/wait.ts';
import { withTransaction } from '../../core/db.ts';
import { closeConnection, requestFullSync, sandboxKey, SyncWorker } from '../../connectors/index.ts';
import { DEMO_CONNECTIONS } from '../helpers/demo.ts';

const db = useTestDatabase();
const DAYS = 40;
const NEW_HOTEL = '7654399';
let server: Awaited<ReturnType<typeof startSandboxServer>>;
let pipeline: TestPipeline;
let worker: SyncWorker;
const ids: Record<string, string> = {};
const expedia = DEMO_CONNECTIONS.find((c) => c.channel === 'expedia')!;

beforeAll(async () => {
  const { pool } = db.current;
  const creds = expedia.credentials as { username: string; password: string };
  server = await startSandboxServer({ expediaAccounts: [{ username: creds.username, password: creds.password, hotels: [expedia.hotelCode, NEW_HOTEL] }] });
  Object.assign(ids, await seedSandboxedDemo(pool, server.url, DAYS));
  worker = testWorker(pool, { only: [ids.expedia!], maxAttempts: 3 });
  await requestFullSync(pool, ids.expedia!, DAYS);
  await worker.syncConnection(ids.expedia!);
  expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
  pipeline = await startPipeline(pool, db.current.url);
});
afterAll(async () => {
  await pipeline?.stop();
  await worker?.stop();
  await server?.close();
});

/** The window's nights from today, as the test counts them. */
const nights = async () =>
  (
    await db.current.pool.query(`SELECT d::date::text AS d FROM generate_series(current_date, current_date + $1::int - 1, interval '1 day') d`, [DAYS])
  ).rows.map((r) => r.d as string);
const mappingOf = async (room: string, plan: string) =>
  (
    await db.current.pool.query(
      `SELECT m.id, m.ota_room_code AS room, m.ota_rate_code AS rate FROM channel.channel_mappings m
  JOIN property_mgmt.room_types t ON t.id = m.room_type_id JOIN property_mgmt.rate_plans p ON p.id = m.rate_plan_id
  WHERE m.connection_id = $1 AND t.code = $2 AND p.code = $3`,
      [ids.expedia, room, plan],
    )
  ).rows[0] as { id: string; room: string; rate: string };

/** Everything CDC-marked and queued for this connection pushed, closures included. */
async function settle(): Promise<void> {
  const { pool } = db.current;
  await waitFor(
    async () => {
      await worker.syncConnection(ids.expedia!);
      const {
        rows: [w],
      } = await pool.query(
        `SELECT (SELECT count(*) FROM channel.ari_dirty_cells WHERE connection_id = $1)
      + (SELECT count(*) FROM channel.ota_closures WHERE connection_id = $1 AND finished_at IS NULL) AS n`,
        [ids.expedia],
      );
      return Number(w.n) === 0;
    },
    { what: 'the connection settled', timeoutMs: 30_000, intervalMs: 50 },
  );
}

/** Nights of the window where the old target is not closed as the OTA shows it. */
async function openNights(hotel: string, room: string, rate: string, roomToo: boolean): Promise<string[]> {
  const cells = server.expedia.cells(hotel);
  const rooms = server.expedia.roomAvailability(hotel);
  return (await nights()).filter((n) => cells.get(sandboxKey(room, rate, n))?.closed !== true || (roomToo && rooms.get(`${room}|${n}`) !== 0));
}

describe('re-pointing and closing (issue 15, defects 4 and 6)', () => {
  it('a mapping re-pointed to another OTA room and rate: the new target gets the whole window, the old rate is closed', async () => {
    const { pool } = db.current;
    const before = await mappingOf('STD', 'BAR');
    expect(await openNights(expedia.hotelCode, before.room, before.rate, false)).toHaveLength(DAYS); // it was selling
    await pool.query(`UPDATE channel.channel_mappings SET ota_room_code = 'R9001', ota_rate_code = 'P9001' WHERE id = $1`, [before.id]);
    await waitFor(async () => (await pool.query(`SELECT 1 FROM channel.ari_dirty_cells WHERE connection_id = $1 LIMIT 1`, [ids.expedia])).rowCount, {
      what: 'the CDC marking the remap',
    });
    await settle();
    // The new target shows what the PMS says on every night (it had nothing before).
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
    expect([...server.expedia.cells(expedia.hotelCode).keys()].filter((k) => k.startsWith('R9001')).length).toBeGreaterThanOrEqual(DAYS);
    // The old room still sells through its other rates: only the old rate is closed.
    expect(await openNights(expedia.hotelCode, before.room, before.rate, false)).toEqual([]);
    const other = await mappingOf('STD', 'NRF');
    expect(other.room).toBe(before.room);
    expect(await openNights(expedia.hotelCode, other.room, other.rate, false)).toHaveLength(DAYS);
    const {
      rows: [closure],
    } = await pool.query(`SELECT reason, outcome FROM channel.ota_closures WHERE ota_room_code = $1 AND ota_rate_code = $2`, [before.room, before.rate]);
    expect(closure).toEqual({ reason: 'remapped', outcome: 'done' });
  });

  it('a room type no longer mapped at all: its OTA room gets no availability and every rate closed', async () => {
    const { pool } = db.current;
    const maps = await Promise.all(['BAR', 'NRF', 'BB', 'FAM'].map((p) => mappingOf('DLX', p)));
    await pool.query(`UPDATE channel.channel_mappings SET active = false WHERE id = ANY ($1::uuid[])`, [maps.map((m) => m.id)]);
    await settle();
    for (const m of maps) expect(await openNights(expedia.hotelCode, m.room, m.rate, true), `${m.room}/${m.rate}`).toEqual([]);
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]); // the rest is untouched
  });

  it('a closure that met an outage goes as soon as the OTA answers the connection again, not after its own backoff', async () => {
    const { pool } = db.current;
    const before = await mappingOf('STD', 'BB');
    await pool.query(`UPDATE channel.channel_mappings SET ota_room_code = 'R9002', ota_rate_code = 'P9002' WHERE id = $1`, [before.id]);
    await waitFor(async () => (await pool.query(`SELECT 1 FROM channel.ari_dirty_cells WHERE connection_id = $1 LIMIT 1`, [ids.expedia])).rowCount, {
      what: 'the CDC marking the remap',
    });
    const closure = async () =>
      (
        await pool.query(
          `SELECT attempts, retry_at, finished_at, outcome FROM channel.ota_closures
      WHERE connection_id = $1 AND ota_room_code = $2 AND ota_rate_code = $3`,
          [ids.expedia, before.room, before.rate],
        )
      ).rows[0];
    // Expedia out: the closure (first in line) fails and backs off; the cells' push fails too.
    server.expedia.faults.set({ rates: { http5xx: 1 } });
    try {
      await worker.syncConnection(ids.expedia!);
    } finally {
      server.expedia.faults.set({});
    }
    const failed = await closure();
    expect(failed).toMatchObject({ attempts: 1, finished_at: null });
    expect(failed.retry_at.getTime()).toBeGreaterThan(Date.now() + 10_000); // its own backoff: 30 s
    // Expedia back: the cells' push succeeds, which lets the closure go at once.
    await settle();
    const done = await closure();
    expect(done.outcome).toBe('done');
    expect(done.finished_at.getTime()).toBeLessThan(failed.retry_at.getTime());
    expect(await openNights(expedia.hotelCode, before.room, before.rate, false)).toEqual([]);
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
  });

  it('a target fed by one rate plan, then another, then the first again: the OTA ends with the values of the first', async () => {
    const { pool } = db.current;
    const live = async (plan: string) =>
      (
        await pool.query(
          `SELECT m.id, m.property_id, m.room_type_id, m.rate_plan_id, m.ota_room_code AS room, m.ota_rate_code AS rate
      FROM channel.channel_mappings m JOIN property_mgmt.room_types t ON t.id = m.room_type_id JOIN property_mgmt.rate_plans p ON p.id = m.rate_plan_id
      WHERE m.connection_id = $1 AND t.code = 'STE' AND p.code = $2 AND m.active AND m.deleted_at IS NULL`,
          [ids.expedia, plan],
        )
      ).rows[0];
    const marked = (ratePlanId: string) =>
      waitFor(
        async () =>
          (await pool.query(`SELECT 1 FROM channel.ari_dirty_cells WHERE connection_id = $1 AND rate_plan_id = $2 LIMIT 1`, [ids.expedia, ratePlanId]))
            .rowCount,
        { what: 'the CDC marking the mapping change' },
      );
    const a = await live('BAR');
    const b = await live('NRF');
    // BAR's mapping replaced by NRF at BAR's OTA rate (as PUT /mappings does it: a soft delete and an update).
    await withTransaction(pool, async (c) => {
      await c.query(`UPDATE channel.channel_mappings SET deleted_at = now() WHERE id = $1`, [a.id]);
      await c.query(`UPDATE channel.channel_mappings SET ota_room_code = $2, ota_rate_code = $3 WHERE id = $1`, [b.id, a.room, a.rate]);
    });
    await marked(b.rate_plan_id);
    await settle();
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
    // And back: NRF to its own OTA rate, BAR mapped anew to its old one, which NRF has fed meanwhile.
    await withTransaction(pool, async (c) => {
      await c.query(`UPDATE channel.channel_mappings SET ota_room_code = $2, ota_rate_code = $3 WHERE id = $1`, [b.id, b.room, b.rate]);
      await c.query(
        `INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code) VALUES ($1, $2, $3, $4, $5, $6)`,
        [ids.expedia, a.property_id, a.room_type_id, a.rate_plan_id, a.room, a.rate],
      );
    });
    await marked(a.rate_plan_id);
    await settle();
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]);
  });

  it('the connection moved to another OTA hotel: the new hotel gets the whole window, the old one is closed', async () => {
    const { pool } = db.current;
    const mapped = (
      await pool.query(
        `SELECT ota_room_code AS room, ota_rate_code AS rate FROM channel.channel_mappings WHERE connection_id = $1 AND active AND deleted_at IS NULL`,
        [ids.expedia],
      )
    ).rows;
    await pool.query(`UPDATE channel.channel_connections SET ota_hotel_code = $2 WHERE id = $1`, [ids.expedia, NEW_HOTEL]);
    await waitFor(async () => (await pool.query(`SELECT 1 FROM channel.ari_dirty_cells WHERE connection_id = $1 LIMIT 1`, [ids.expedia])).rowCount, {
      what: 'the CDC marking the move',
    });
    await settle();
    expect(await mismatches(pool, ids.expedia!, server, DAYS)).toEqual([]); // against the new hotel
    for (const m of mapped) expect(await openNights(expedia.hotelCode, m.room, m.rate, true), `${m.room}/${m.rate}`).toEqual([]);
  });

  it('disabling closes everything the connection fed, confirmed by the OTA, then disables it; a delete keeping the OTA open is immediate', async () => {
    const { pool } = db.current;
    const mapped = (
      await pool.query(
        `SELECT ota_room_code AS room, ota_rate_code AS rate FROM channel.channel_mappings WHERE connection_id = $1 AND active AND deleted_at IS NULL`,
        [ids.expedia],
      )
    ).rows;
    expect(mapped.length).toBeGreaterThan(0);
    const started = await withTransaction(pool, (c) => closeConnection(c, ids.expedia!, 'disable', true));
    expect(started).toEqual({ finished: false, closures: mapped.length });
    const state = async () => (await pool.query(`SELECT status, closing_for FROM channel.channel_connections WHERE id = $1`, [ids.expedia])).rows[0];
    expect(await state()).toEqual({ status: 'active', closing_for: 'disable' });
    expect(
      (
        await pool.query(`SELECT count(*)::int AS n FROM channel.sync_errors WHERE connection_id = $1 AND kind = 'closing' AND resolved_at IS NULL`, [
          ids.expedia,
        ])
      ).rows[0].n,
    ).toBe(1);
    await settle();
    await worker.syncConnection(ids.expedia!); // nothing left to close: the connection is disabled now
    expect(await state()).toEqual({ status: 'disabled', closing_for: null });
    for (const m of mapped) expect(await openNights(NEW_HOTEL, m.room, m.rate, true), `${m.room}/${m.rate}`).toEqual([]);
    expect(
      (
        await pool.query(`SELECT count(*)::int AS n FROM channel.sync_errors WHERE connection_id = $1 AND kind = 'closing' AND resolved_at IS NULL`, [
          ids.expedia,
        ])
      ).rows[0].n,
    ).toBe(0);
    expect(
      (await pool.query(`SELECT action, detail FROM channel.connection_actions WHERE connection_id = $1 AND action = 'disable'`, [ids.expedia])).rows,
    ).toEqual([{ action: 'disable', detail: { closeAtOta: true, closures: mapped.length } }]);

    // Deleting while keeping the OTA open: at once, nothing sent.
    const requests = server.expedia.stats.requests;
    expect(await withTransaction(pool, (c) => closeConnection(c, ids.expedia!, 'delete', false))).toEqual({ finished: true, closures: 0 });
    expect((await pool.query(`SELECT deleted_at IS NOT NULL AS deleted FROM channel.channel_connections WHERE id = $1`, [ids.expedia])).rows[0].deleted).toBe(
      true,
    );
    expect(server.expedia.stats.requests).toBe(requests);
  });
});
