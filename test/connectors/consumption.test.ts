/**
 * Issue 15, defect 1: a room consumes a night only while both its reservation and the room itself
 * are confirmed or checked in and neither is deleted. A reservation cancelled at the reservation
 * level (the usual PMS action; its rooms keep their own status) frees its nights at the OTA;
 * reinstating it takes them again. One SQL rule (reservation.consumes_inventory) serves the ARI
 * values, free_rooms, the contract view room_nights_consumed and the overbooking alert; the CDC's
 * sellable-room rule mirrors property_mgmt.room_is_sellable.
 *
 * Oracle: each step's expected availability is the night's count before the reservation plus or
 * minus the one room the step takes or frees (the rule of the issue, applied by hand), and the
 * sandbox OTA, fed through the real CDC and sync worker, must show it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { startPipeline, type TestPipeline } from '../helpers/cdc.ts';
import { connectionIds, startSandboxServer } from '../helpers/outbound.ts';
import { waitFor } from '../helpers/wait.ts';
import { seedDemo } from '../helpers/demo.ts';
import { createLogger } from '../../core/logger.ts';
import { CONNECTORS, currentAri, requestFullSync, SyncWorker } from '../../connectors/index.ts';
import { sellable } from '../../cdc/consumers/dirty-cells.ts';

const db = useTestDatabase();
let server: Awaited<ReturnType<typeof startSandboxServer>>;
let pipeline: TestPipeline;
let worker: SyncWorker;
const ids: Record<string, string> = {};
const NIGHT = 40; // days from today: a night the demo's own reservations leave alone
let type: { id: string; code: string; property: string };
let mapping: { room: string; rate: string; ratePlanId: string };

beforeAll(async () => {
  const { pool } = db.current;
  server = await startSandboxServer();
  await seedDemo(pool, { sandboxBaseUrl: server.url, days: 60 });
  Object.assign(ids, await connectionIds(pool));
  await pool.query(`UPDATE channel.channel_connections SET settings = settings || '{"rate_limit_per_minute": 100000}'`);
  type = (await pool.query(`SELECT id, code, property_id AS property FROM property_mgmt.room_types WHERE code = 'STD'`)).rows[0];
  mapping = (
    await pool.query(
      `SELECT ota_room_code AS room, ota_rate_code AS rate, rate_plan_id AS "ratePlanId" FROM channel.channel_mappings
    WHERE connection_id = $1 AND room_type_id = $2 AND active ORDER BY ota_rate_code LIMIT 1`,
      [ids.expedia, type.id],
    )
  ).rows[0];
  worker = new SyncWorker({
    pool,
    log: createLogger('silent'),
    connectors: CONNECTORS,
    pollMs: 20,
    concurrency: 2,
    batchSize: 5000,
    timeoutMs: 2000,
    maxAttempts: 3,
    defaultRatePerMinute: 100_000,
    only: [ids.expedia!],
  });
  await requestFullSync(pool, ids.expedia!, 60);
  await worker.syncConnection(ids.expedia!);
  pipeline = await startPipeline(pool, db.current.url);
});
afterAll(async () => {
  await pipeline?.stop();
  await worker?.stop();
  await server?.close();
});

const nightOf = async () => (await db.current.pool.query(`SELECT (current_date + $1::int)::text AS d`, [NIGHT])).rows[0].d as string;

/** Every reading of the night's availability StayOS has: the ARI values, free_rooms, the contract view. */
async function readings(night: string) {
  const { pool } = db.current;
  const ari = (await pool.query(currentAri([{ connectionId: ids.expedia!, roomTypeId: type.id, ratePlanId: mapping.ratePlanId, stayDate: night }]))).rows[0];
  const {
    rows: [r],
  } = await pool.query(
    `
    SELECT reservation.free_rooms($1, $2, $3::date) AS free,
           (SELECT count(*) FROM property_mgmt.rooms WHERE room_type_id = $2 AND deleted_at IS NULL AND status <> 'out_of_service')::int
             - COALESCE((SELECT rooms FROM reservation.room_nights_consumed WHERE room_type_id = $2 AND stay_date = $3::date), 0)
             - (SELECT COALESCE(sum(rooms), 0) FROM property_mgmt.inventory_blocks WHERE room_type_id = $2 AND deleted_at IS NULL AND start_date <= $3::date AND end_date > $3::date)::int AS viewed`,
    [type.property, type.id, night],
  );
  return { ari: ari.availability as number, free: r.free as number, view: r.viewed as number };
}

/** The OTA's availability for the night, once the CDC and the worker have carried the change. */
async function otaShows(night: string, want: number): Promise<void> {
  const hotel = (await db.current.pool.query(`SELECT ota_hotel_code FROM channel.channel_connections WHERE id = $1`, [ids.expedia])).rows[0].ota_hotel_code;
  await waitFor(
    async () => {
      await worker.syncConnection(ids.expedia!);
      return server.expedia.roomAvailability(hotel).get(`${mapping.room}|${night}`) === want;
    },
    { what: `the OTA showing ${want} rooms on ${night}`, intervalMs: 20 },
  );
}

describe('what consumes inventory (issue 15, defect 1)', () => {
  it('a reservation cancelled at the reservation level frees its rooms everywhere and at the OTA; reinstated, it takes them again', async () => {
    const { pool } = db.current;
    const night = await nightOf();
    const before = await readings(night);
    expect(before.free).toBe(before.ari);
    expect(before.view).toBe(before.ari);
    expect(before.ari).toBeGreaterThan(1);

    const {
      rows: [res],
    } = await pool.query(
      `INSERT INTO reservation.reservations (property_id, status, source_channel, check_in_date, check_out_date, currency, adults)
      VALUES ($1, 'confirmed', 'direct', $2::date, $2::date + 1, 'EUR', 2) RETURNING id`,
      [type.property, night],
    );
    const {
      rows: [room],
    } = await pool.query(
      `INSERT INTO reservation.reservation_rooms (reservation_id, property_id, room_type_id, rate_plan_id, arrival_date, departure_date, adults, status, currency)
      VALUES ($1, $2, $3, $4, $5::date, $5::date + 1, 2, 'confirmed', 'EUR') RETURNING id`,
      [res.id, type.property, type.id, mapping.ratePlanId, night],
    );
    const taken = before.ari - 1;
    expect(await readings(night)).toEqual({ ari: taken, free: taken, view: taken });
    await otaShows(night, taken);

    // Cancelled at the reservation level only: the room row still says confirmed.
    await pool.query(`UPDATE reservation.reservations SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, [res.id]);
    expect((await pool.query(`SELECT status FROM reservation.reservation_rooms WHERE id = $1`, [room.id])).rows[0].status).toBe('confirmed');
    expect(await readings(night)).toEqual({ ari: before.ari, free: before.ari, view: before.ari });
    await otaShows(night, before.ari);

    // Reinstated: consumes again.
    await pool.query(`UPDATE reservation.reservations SET status = 'confirmed', cancelled_at = NULL WHERE id = $1`, [res.id]);
    expect(await readings(night)).toEqual({ ari: taken, free: taken, view: taken });
    await otaShows(night, taken);

    // The room cancelled on its own, the reservation still confirmed: freed.
    await pool.query(`UPDATE reservation.reservation_rooms SET status = 'cancelled' WHERE id = $1`, [room.id]);
    expect(await readings(night)).toEqual({ ari: before.ari, free: before.ari, view: before.ari });
    await otaShows(night, before.ari);

    // The room active again but the reservation deleted (soft): freed.
    await pool.query(`UPDATE reservation.reservation_rooms SET status = 'confirmed' WHERE id = $1`, [room.id]);
    await pool.query(`UPDATE reservation.reservations SET deleted_at = now() WHERE id = $1`, [res.id]);
    expect(await readings(night)).toEqual({ ari: before.ari, free: before.ari, view: before.ari });
    await otaShows(night, before.ari);
  });

  it("the CDC's sellable-room rule is the database's, for every room status the schema allows", async () => {
    const {
      rows: [check],
    } = await db.current.pool.query(`SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
      WHERE c.conrelid = 'property_mgmt.rooms'::regclass AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%status%'`);
    const statuses = [...String(check.def).matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
    expect(statuses.length).toBeGreaterThan(3);
    for (const status of statuses) {
      for (const deleted of [null, new Date().toISOString()]) {
        const {
          rows: [r],
        } = await db.current.pool.query(`SELECT property_mgmt.room_is_sellable($1, $2::timestamptz) AS ok`, [status, deleted]);
        expect(sellable({ status, deleted_at: deleted, property_id: 'p' }), `${status} deleted=${!!deleted}`).toBe(r.ok);
      }
    }
  });
});
