/** Demo data (idempotent) and the ER diagrams (never stale). */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { useTestDatabase } from '../helpers/db.ts';
import { seedDemo } from '../helpers/demo.ts';
import { erDiagrams } from '../../core/er-diagram.ts';
import type { Pool } from '../../core/db.ts';

const db = useTestDatabase();

/** Row count and an order-independent checksum of every business table. */
async function fingerprint(pool: Pool): Promise<Record<string, string>> {
  const { rows: tables } = await pool.query<{ t: string }>(`
    SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND n.nspname IN ('shared','property_mgmt','reservation','guest','operations','billing','fb','procurement','compliance','channel','audit')`);
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    const {
      rows: [r],
    } = await pool.query(`SELECT count(*)::text || ':' || coalesce(md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))), '') AS f FROM ${t} x`);
    out[t] = r.f;
  }
  const { rows: mv } = await pool.query(`SELECT md5(string_agg(x::text, '' ORDER BY x::text)) AS f FROM shared.mv_daily_property_kpis x`);
  out.kpis = mv[0].f;
  return out;
}

describe('seed-demo', () => {
  it('creates the demo hotel: 3 room types, 30 rooms, 4 rate plans (one derived, one per occupancy), 500 days of ARI, two fully mapped OTA connections, stays', async () => {
    const { pool } = db.current;
    const r = await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:8080' });
    expect(r.created).toBe(true);
    const q = async (sql: string) => (await pool.query(sql)).rows[0].n;
    expect(await q(`SELECT count(*)::int AS n FROM property_mgmt.room_types`)).toBe(3);
    expect(await q(`SELECT count(*)::int AS n FROM property_mgmt.rooms`)).toBe(30);
    expect(await q(`SELECT count(*)::int AS n FROM property_mgmt.rate_plans`)).toBe(4);
    // NRF derives from BAR: no rates of its own, its own restrictions only on the 1st of each month.
    expect(await q(`SELECT count(*)::int AS n FROM property_mgmt.rate_plans WHERE parent_rate_plan_id IS NOT NULL`)).toBe(1);
    expect(await q(`SELECT count(*)::int AS n FROM property_mgmt.daily_rates`)).toBe(500 * 3 * 3); // BAR, BB, FAM
    // FAM is priced per guest: a price for each number of guests up to the room's maximum (2, 3, 4), single use 12 below the double.
    expect(
      await q(
        `SELECT count(*)::int AS n FROM property_mgmt.daily_rates dr JOIN property_mgmt.room_types rt ON rt.id = dr.room_type_id
         WHERE (SELECT count(*) FROM jsonb_object_keys(dr.occupancy_amounts)) = rt.max_occupancy
           AND (dr.occupancy_amounts ->> '2')::numeric - (dr.occupancy_amounts ->> '1')::numeric = 27`,
      ),
    ).toBe(500 * 3);
    const firsts = await q(
      `SELECT count(*)::int AS n FROM property_mgmt.properties p, generate_series((now() AT TIME ZONE p.timezone)::date, (now() AT TIME ZONE p.timezone)::date + 499, interval '1 day') d
       WHERE extract(day FROM d) = 1`,
    );
    expect(firsts).toBeGreaterThanOrEqual(16);
    expect(await q(`SELECT count(*)::int AS n FROM property_mgmt.restrictions`)).toBe(500 * 3 * 3 + 3 * firsts);
    // The suite is closed on the 15th of each month (a room type closure).
    expect(await q(`SELECT count(*)::int AS n FROM property_mgmt.room_type_closures`)).toBe(
      await q(
        `SELECT count(*)::int AS n FROM property_mgmt.properties p, generate_series((now() AT TIME ZONE p.timezone)::date, (now() AT TIME ZONE p.timezone)::date + 499, interval '1 day') d
         WHERE extract(day FROM d) = 15`,
      ),
    );
    expect(await q(`SELECT count(DISTINCT stay_date)::int AS n FROM property_mgmt.daily_rates`)).toBe(500);
    const { rows: conns } = await pool.query(
      `SELECT channel_code, endpoint_url, (SELECT count(*)::int FROM channel.channel_mappings m WHERE m.connection_id = c.id AND m.active) AS mappings,
              shared.decrypt_pii(credentials)::jsonb AS creds
       FROM channel.channel_connections c ORDER BY channel_code`,
    );
    expect(conns.map((c) => [c.channel_code, c.mappings])).toEqual([
      ['booking_com', 12],
      ['expedia', 12],
    ]);
    expect(conns[1].endpoint_url).toBe('http://127.0.0.1:8080/sandbox/expedia');
    expect(conns[1].creds.username.length).toBeGreaterThanOrEqual(4);
    expect(conns[1].creds.password.length).toBeGreaterThanOrEqual(6);
    expect(r.reservations).toBeGreaterThan(100);
    // the demo's passport numbers are stored encrypted, readable with the key only
    const { rows: docs } = await pool.query(
      `SELECT document_number_encrypted AS c, shared.decrypt_pii(document_number_encrypted) AS plain FROM guest.identity_documents`,
    );
    expect(docs.length).toBe(32);
    for (const d of docs) {
      expect(d.plain).toMatch(/^X\d{8}$/);
      expect(d.c.includes(Buffer.from(d.plain))).toBe(false);
    }
    // never more rooms sold than a type has, on any night
    const { rows: over } = await pool.query(`
      SELECT c.room_type_id, c.stay_date FROM reservation.room_nights_consumed c
      JOIN property_mgmt.sellable_rooms s ON s.room_type_id = c.room_type_id WHERE c.rooms > s.rooms`);
    expect(over).toEqual([]);
    // the analytics show something
    const {
      rows: [kpi],
    } = await pool.query(`SELECT count(*)::int AS days, max(occupancy_pct) AS max_occ FROM shared.mv_daily_property_kpis`);
    expect(kpi.days).toBeGreaterThan(60);
    expect(Number(kpi.max_occ)).toBeGreaterThan(10);
    const { rows: prod } = await pool.query(`SELECT DISTINCT channel FROM shared.mv_channel_production_monthly`);
    expect(prod.map((p) => p.channel)).toEqual(expect.arrayContaining(['booking_com', 'expedia', 'direct']));
  });

  it('changes nothing when run again', async () => {
    const { pool } = db.current;
    const before = await fingerprint(pool);
    const r = await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:8080' });
    expect(r).toMatchObject({ created: false, rates: 0, restrictions: 0, reservations: 0 });
    expect(await fingerprint(pool)).toEqual(before);
  });
});

describe('ER diagrams', () => {
  it('committed docs/er/*.md match the live catalog (run `npm run er-diagrams` after a migration)', async () => {
    const generated = await erDiagrams(db.current.pool);
    for (const [schema, text] of generated) {
      const file = path.resolve(import.meta.dirname, '../../docs/er', `${schema}.md`);
      expect(fs.existsSync(file), `${file} missing`).toBe(true);
      expect(fs.readFileSync(file, 'utf8'), `docs/er/${schema}.md is stale`).toBe(text);
    }
    expect(generated.get('reservation')).toContain('reservations ||--o{ reservation_rooms : reservation_id');
  });
});
