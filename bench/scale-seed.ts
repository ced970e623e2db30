/**
 * bench:scale's hotels, seeded directly in SQL (not through a full sync): `hotels` properties, each
 * with 3–20 room types of 5 rooms, 1–5 rate plans, `days` nights of rates, a Booking.com and an
 * Expedia connection to the sandbox process with every room type × rate plan mapped, and the OTA
 * already in sync (one acknowledgement per cell and connection, as a finished full sync leaves).
 * Sizes vary by hotel but are the same from run to run (a fixed formula of the hotel's number).
 */
import type { Pool } from '../core/db.ts';
import { BENCH_OTA_ACCOUNTS } from './common.ts';

/** Room types (3–20) and rate plans (1–5) of hotel `i` (1-based): spread over the ranges, fixed per hotel. */
export const roomTypesOf = (i: number) => 3 + ((i * 7919) % 18);
export const ratePlansOf = (i: number) => 1 + ((i * 31) % 5);

/**
 * The OTA room and rate ids of hotel `i`: unique across hotels, as Booking.com's are (its ARI
 * messages name no hotel: the room id tells which, connectors/booking-com/sandbox-ari.ts #hotelOf).
 */
const ROOM_ID = { base: 1_000_000, perHotel: 100 };
const RATE_ID = { base: 2_000_000, perHotel: 10 };
export const otaRoomsOf = (i: number) => Array.from({ length: roomTypesOf(i) }, (_, n) => String(ROOM_ID.base + i * ROOM_ID.perHotel + n + 1));
export const otaRatesOf = (i: number) => Array.from({ length: ratePlansOf(i) }, (_, n) => String(RATE_ID.base + i * RATE_ID.perHotel + n + 1));

export interface SeededScale {
  hotels: number;
  cellsPerOta: number;
  seconds: number;
  /** Seconds per step (the rates, the acknowledgements, the indexes, vacuum …): where seeding's time goes. */
  steps: Record<string, number>;
}

/**
 * The tables that take millions of seeded rows. Their secondary indexes (not those behind a
 * primary key or a unique constraint) are dropped before the load and built after it: one sort per
 * index instead of 27 million index insertions.
 */
const BULK_TABLES = ['property_mgmt.daily_rates', 'channel.ari_acknowledged'];

export async function seedScale(pool: Pool, o: { hotels: number; days: number; sandboxBase: string }): Promise<SeededScale> {
  const t0 = performance.now();
  // Sizes from roomTypesOf/ratePlansOf, the formula the sandbox's catalogue uses too.
  const sizes = Array.from({ length: o.hotels }, (_, k) => ({ roomTypes: roomTypesOf(k + 1), ratePlans: ratePlansOf(k + 1) }));
  const c = await pool.connect();
  const steps: Record<string, number> = {};
  let mark = performance.now();
  const step = (name: string) => {
    const now = performance.now();
    steps[name] = +((now - mark) / 1000).toFixed(1);
    mark = now;
  };
  // On the benchmark's own cluster (bench/common.ts; not one named by BENCH_DATABASE_URL):
  // checkpoints spaced for a load of ~10 GB of WAL, so that it is not written twice (a full page
  // image after each checkpoint). Reset whatever happens.
  const ownCluster = !process.env.BENCH_DATABASE_URL;
  try {
    if (ownCluster) {
      await c.query(`ALTER SYSTEM SET max_wal_size = '16GB'`);
      await c.query(`SELECT pg_reload_conf()`);
    }
    // Seeding data, not changing it: no audit rows, no per-row checks of what this statement
    // builds consistently (triggers and foreign keys are triggers: replica mode skips both). The
    // audit columns still get their defaults. Nothing streams it: the CDC slot is made afterwards.
    await c.query('BEGIN');
    await c.query(`SET LOCAL session_replication_role = replica`);
    await c.query(`SET LOCAL maintenance_work_mem = '1GB'`);
    const { rows: indexes } = await c.query<{ defs: Array<{ name: string; def: string }> }>(
      `SELECT coalesce(jsonb_agg(jsonb_build_object('name', format('%I.%I', i.schemaname, i.indexname), 'def', i.indexdef)), '[]') AS defs
       FROM pg_indexes i JOIN pg_class x ON x.relname = i.indexname JOIN pg_namespace n ON n.oid = x.relnamespace AND n.nspname = i.schemaname
       WHERE format('%s.%s', i.schemaname, i.tablename) = ANY ($1) AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.oid)`,
      [BULK_TABLES],
    );
    const defs = indexes[0]!.defs;
    for (const d of defs) await c.query(`DROP INDEX ${d.name}`);
    await c.query(
      `INSERT INTO property_mgmt.properties (code, name, currency) SELECT 'S' || lpad(i::text, 5, '0'), 'Scale hotel ' || i, 'EUR' FROM generate_series(1, $1) i`,
      [o.hotels],
    );
    const scale = `SELECT p.id, substr(p.code, 2)::int AS i FROM property_mgmt.properties p WHERE p.code ~ '^S[0-9]{5}$'`;
    await c.query(
      `INSERT INTO property_mgmt.room_types (property_id, code, name, max_occupancy)
       SELECT s.id, 'RT' || n, 'Type ' || n, 2 FROM (${scale}) s, generate_series(1, ($1::int[])[s.i]) n`,
      [sizes.map((z) => z.roomTypes)],
    );
    await c.query(
      `INSERT INTO property_mgmt.rooms (property_id, room_type_id, number)
       SELECT rt.property_id, rt.id, rt.code || '-' || n FROM property_mgmt.room_types rt JOIN (${scale}) s ON s.id = rt.property_id, generate_series(1, 5) n`,
    );
    await c.query(
      `INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency)
       SELECT s.id, 'RP' || n, 'Plan ' || n, 'EUR' FROM (${scale}) s, generate_series(1, ($1::int[])[s.i]) n`,
      [sizes.map((z) => z.ratePlans)],
    );
    // A weekly pattern: a rate changes from night to night, as revenue teams set them.
    await c.query(
      `INSERT INTO property_mgmt.daily_rates (property_id, room_type_id, rate_plan_id, stay_date, amount, currency)
       SELECT rt.property_id, rt.id, rp.id, current_date + d, 90 + extract(isodow FROM current_date + d)::int * 5, 'EUR'
       FROM (${scale}) s JOIN property_mgmt.room_types rt ON rt.property_id = s.id JOIN property_mgmt.rate_plans rp ON rp.property_id = s.id,
            generate_series(0, $1 - 1) d`,
      [o.days],
    );
    step('hotels and rates');
    const { booking, expedia } = BENCH_OTA_ACCOUNTS;
    await c.query(
      `INSERT INTO channel.channel_connections (property_id, channel_code, ota_hotel_code, endpoint_url, credentials, settings)
       SELECT s.id, 'booking_com', (6000000 + s.i)::text, $1 || '/sandbox/booking-com', shared.encrypt_pii($2),
              jsonb_build_object('auth_url', $1 || '/sandbox/booking-com', 'rate_limit_per_minute', 100000)
       FROM (${scale}) s
       UNION ALL
       SELECT s.id, 'expedia', (7000000 + s.i)::text, $1 || '/sandbox/expedia', shared.encrypt_pii($3), jsonb_build_object('rate_limit_per_minute', 100000)
       FROM (${scale}) s`,
      [
        o.sandboxBase,
        JSON.stringify({ client_id: booking.clientId, client_secret: booking.clientSecret }),
        JSON.stringify({ username: expedia.username, password: expedia.password }),
      ],
    );
    await c.query(
      `INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code)
       SELECT cn.id, cn.property_id, rt.id, rp.id, ($1::int + s.i * $2::int + substr(rt.code, 3)::int)::text, ($3::int + s.i * $4::int + substr(rp.code, 3)::int)::text
       FROM (${scale}) s JOIN channel.channel_connections cn ON cn.property_id = s.id
       JOIN property_mgmt.room_types rt ON rt.property_id = s.id JOIN property_mgmt.rate_plans rp ON rp.property_id = s.id`,
      [ROOM_ID.base, ROOM_ID.perHotel, RATE_ID.base, RATE_ID.perHotel],
    );
    // In sync: what a finished full sync leaves, one acknowledgement per cell (5 rooms free, the
    // night's rate, no restriction, open).
    const {
      rows: [acked],
    } = await c.query<{ n: number }>(
      `WITH ins AS (
         INSERT INTO channel.ari_acknowledged (connection_id, property_id, room_type_id, rate_plan_id, stay_date, availability, avail_acked_at,
                                               rate, currency, rate_acked_at, closed_to_arrival, closed_to_departure, closed, restr_acked_at)
         SELECT m.connection_id, m.property_id, m.room_type_id, m.rate_plan_id, r.stay_date, 5, now(), r.amount, r.currency, now(), false, false, false, now()
         FROM (${scale}) s JOIN channel.channel_mappings m ON m.property_id = s.id
         JOIN property_mgmt.daily_rates r ON r.room_type_id = m.room_type_id AND r.rate_plan_id = m.rate_plan_id
         RETURNING 1)
       SELECT count(*)::int AS n FROM ins`,
    );
    await c.query(`UPDATE channel.channel_connections SET last_success_at = now() WHERE property_id IN (SELECT id FROM (${scale}) s)`);
    step('connections and acknowledgements');
    for (const d of defs) await c.query(d.def);
    step('secondary indexes');
    await c.query('COMMIT');
    await c.query('VACUUM (ANALYZE)');
    step('vacuum');
    await c.query('CHECKPOINT');
    step('checkpoint');
    return { hotels: o.hotels, cellsPerOta: acked!.n / 2, seconds: (performance.now() - t0) / 1000, steps };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    if (ownCluster)
      await c
        .query(`ALTER SYSTEM RESET max_wal_size`)
        .then(() => c.query(`SELECT pg_reload_conf()`))
        .catch(() => undefined);
    c.release();
  }
}
