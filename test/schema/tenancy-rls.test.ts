/** Multi-tenancy: RLS enabled and forced on every tenant table; authenticated_user sees and writes one property only. */
import { describe, expect, it } from 'vitest';
import { asTenant, useTestDatabase } from '../helpers/db.ts';
import { createProperty, createReservation } from '../helpers/fixtures.ts';

const db = useTestDatabase();

describe('row-level security', () => {
  it('is enabled and forced, with tenant_isolation (USING and WITH CHECK) on every table that has property_id', async () => {
    const { rows } = await db.current.pool.query(`
      SELECT n.nspname || '.' || c.relname AS tbl, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
             p.polname IS NOT NULL AS has_policy, p.polwithcheck IS NOT NULL AS with_check,
             (SELECT array_agg(r.rolname::text) FROM pg_roles r WHERE r.oid = ANY (p.polroles)) AS roles
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = 'tenant_isolation'
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname IN ('shared','property_mgmt','reservation','guest','operations','billing','fb','procurement','compliance','channel','audit')
        AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'property_id' AND NOT a.attisdropped)`);
    expect(rows.length).toBeGreaterThan(50);
    const bad = rows.filter((r) => !r.enabled || !r.forced || !r.has_policy || !r.with_check || String(r.roles) !== 'authenticated_user');
    expect(bad.map((r) => r.tbl)).toEqual([]);
  });

  it('hides other properties from authenticated_user and blocks writes into them', async () => {
    const { pool } = db.current;
    const a = await createProperty(pool);
    const b = await createProperty(pool);
    await createReservation(pool, a, { arrival: '2031-01-10', departure: '2031-01-12' });
    const { reservationId: bRes } = await createReservation(pool, b, { arrival: '2031-01-10', departure: '2031-01-12' });

    const seen = await asTenant(pool, a.propertyId, async (c) => ({
      props: (await c.query('SELECT id FROM property_mgmt.properties')).rows.map((r) => r.id),
      reservations: (await c.query('SELECT property_id FROM reservation.reservations')).rows.map((r) => r.property_id),
      audit: (await c.query('SELECT DISTINCT property_id FROM audit.audit_log')).rows.map((r) => r.property_id),
      updated: (await c.query(`UPDATE reservation.reservations SET special_requests = 'x' WHERE id = $1`, [bRes])).rowCount,
    }));
    expect(seen.props).toEqual([a.propertyId]);
    expect(new Set(seen.reservations)).toEqual(new Set([a.propertyId]));
    expect(seen.audit).toEqual([a.propertyId]);
    expect(seen.updated).toBe(0);

    // WITH CHECK: a write that names another property fails outright.
    await expect(
      asTenant(pool, a.propertyId, (c) =>
        c.query(`INSERT INTO property_mgmt.room_types (property_id, code, name, max_occupancy) VALUES ($1, 'X', 'X', 2)`, [b.propertyId]),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(
      asTenant(pool, a.propertyId, (c) => c.query(`UPDATE property_mgmt.room_types SET property_id = $1 WHERE id = $2`, [b.propertyId, a.roomTypeId])),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('does not let a tenant forge history, erase another property’s guest, or attach rows to another property’s parent', async () => {
    const { pool } = db.current;
    const a = await createProperty(pool);
    const b = await createProperty(pool);
    const { reservationId: aRes } = await createReservation(pool, a, { arrival: '2031-01-10', departure: '2031-01-12' });
    const { reservationId: bRes } = await createReservation(pool, b, { arrival: '2031-01-10', departure: '2031-01-12' });
    const {
      rows: [bGuest],
    } = await pool.query(`INSERT INTO guest.profiles (property_id, last_name) VALUES ($1, 'B') RETURNING id`, [b.propertyId]);
    for (const table of ['reservation.reservation_events', 'billing.payment_events', 'audit.audit_log', 'compliance.domain_events']) {
      const {
        rows: [g],
      } = await pool.query(
        `SELECT has_table_privilege('authenticated_user', $1, 'INSERT') AS ins, has_table_privilege('authenticated_user', $1, 'SELECT') AS sel`,
        [table],
      );
      expect(g, table).toEqual({ ins: false, sel: true });
    }
    await expect(
      asTenant(pool, a.propertyId, (c) =>
        c.query(
          `INSERT INTO reservation.reservation_events (aggregate_id, sequence, event_type, payload, property_id) VALUES ($1, 99, 'cancelled', '{}', $2)`,
          [aRes, a.propertyId],
        ),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(asTenant(pool, a.propertyId, (c) => c.query(`SELECT compliance.anonymize_guest($1)`, [bGuest.id]))).rejects.toMatchObject({ code: '42501' });
    expect((await pool.query(`SELECT last_name FROM guest.profiles WHERE id = $1`, [bGuest.id])).rows[0].last_name).toBe('B');
    // A room of property A pointed at property B's reservation: the composite key refuses it.
    await expect(
      asTenant(pool, a.propertyId, (c) =>
        c.query(
          `INSERT INTO reservation.reservation_rooms (reservation_id, property_id, room_type_id, arrival_date, departure_date, currency) VALUES ($1, $2, $3, '2031-01-10', '2031-01-11', 'EUR')`,
          [bRes, a.propertyId, a.roomTypeId],
        ),
      ),
    ).rejects.toMatchObject({ code: '23503' });
  });

  it('shows nothing when no property is set', async () => {
    const { pool } = db.current;
    await createProperty(pool);
    const client = await pool.connect();
    try {
      await client.query('BEGIN; SET LOCAL ROLE authenticated_user');
      expect((await client.query('SELECT count(*)::int AS n FROM property_mgmt.properties')).rows[0].n).toBe(0);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('serves analytics to a tenant only through its own property', async () => {
    const { pool } = db.current;
    const a = await createProperty(pool);
    const b = await createProperty(pool);
    await createReservation(pool, a, { arrival: '2031-02-01', departure: '2031-02-03' });
    await createReservation(pool, b, { arrival: '2031-02-01', departure: '2031-02-03' });
    await pool.query('SELECT shared.refresh_analytics()');
    const rows = await asTenant(pool, a.propertyId, async (c) => (await c.query('SELECT DISTINCT property_id FROM shared.daily_property_kpis')).rows);
    expect(rows).toEqual([{ property_id: a.propertyId }]);
    await expect(asTenant(pool, a.propertyId, (c) => c.query('SELECT * FROM shared.mv_daily_property_kpis'))).rejects.toMatchObject({ code: '42501' });
  });
});
