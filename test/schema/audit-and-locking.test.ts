/** Audit-first design and optimistic locking, proven on a real server. */
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { createProperty } from '../helpers/fixtures.ts';
import { fromPgError } from '../../core/errors.ts';

const db = useTestDatabase();

describe('audit_trigger()', () => {
  it('writes old and new row images, changed columns, actor, transaction and property', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool);
    const actor = '00000000-0000-7000-8000-000000000101';
    const client = await pool.connect();
    let txid: number;
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('app.current_user_id', $1, true)`, [actor]);
      await client.query(`UPDATE property_mgmt.room_types SET name = 'Double Deluxe', max_occupancy = 3 WHERE id = $1`, [f.roomTypeId]);
      txid = (await client.query<{ t: number }>('SELECT txid_current() AS t')).rows[0]!.t;
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const { rows } = await pool.query(
      `SELECT operation, old_data, new_data, changed_columns, actor_id, txid, property_id, created_by
       FROM audit.audit_log WHERE table_name = 'room_types' AND row_id = $1 ORDER BY created_at, operation`,
      [f.roomTypeId],
    );
    expect(rows.map((r) => r.operation)).toEqual(['INSERT', 'UPDATE']);
    const upd = rows[1]!;
    expect(upd.old_data.name).toBe('Double');
    expect(upd.new_data.name).toBe('Double Deluxe');
    expect(upd.changed_columns).toEqual(expect.arrayContaining(['max_occupancy', 'name', 'updated_at', 'updated_by', 'version']));
    expect(upd.changed_columns).not.toContain('code');
    expect(upd.actor_id).toBe(actor);
    expect(upd.created_by).toBe(actor);
    expect(Number(upd.txid)).toBe(Number(txid!));
    expect(upd.property_id).toBe(f.propertyId);
  });

  it('logs deletes with the old image, and one row per row of a multi-row statement', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool, { rooms: 5 });
    await pool.query(`UPDATE property_mgmt.rooms SET status = 'dirty' WHERE property_id = $1`, [f.propertyId]);
    const {
      rows: [u],
    } = await pool.query(`SELECT count(*)::int AS n FROM audit.audit_log WHERE table_name = 'rooms' AND operation = 'UPDATE' AND property_id = $1`, [
      f.propertyId,
    ]);
    expect(u.n).toBe(5);
    await pool.query(`DELETE FROM property_mgmt.rooms WHERE property_id = $1 AND number = '1'`, [f.propertyId]);
    const {
      rows: [d],
    } = await pool.query(`SELECT old_data, new_data FROM audit.audit_log WHERE table_name = 'rooms' AND operation = 'DELETE' AND property_id = $1`, [
      f.propertyId,
    ]);
    expect(d.old_data.number).toBe('1');
    expect(d.new_data).toBeNull();
  });

  it('keeps ciphertexts and hashes out of the log', async () => {
    const { pool } = db.current;
    await pool.query(`INSERT INTO shared.users (email, full_name, password_hash) VALUES ('audit@example.com', 'A', shared.hash_secret('s3cret-pass'))`);
    const {
      rows: [r],
    } = await pool.query(`SELECT new_data FROM audit.audit_log WHERE table_name = 'users' AND new_data ->> 'email' = 'audit@example.com'`);
    expect(r.new_data).not.toHaveProperty('password_hash');
    expect(r.new_data.full_name).toBe('A');
  });

  it('refuses to change or delete audit rows', async () => {
    const { pool } = db.current;
    await expect(pool.query(`UPDATE audit.audit_log SET table_name = 'x'`)).rejects.toMatchObject({ code: 'SV002' });
    await expect(pool.query(`DELETE FROM audit.audit_log`)).rejects.toMatchObject({ code: 'SV002' });
  });
});

describe('update_updated_at_column() and optimistic locking', () => {
  it('stamps updated_at/updated_by and increments version on every update', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool);
    const before = (await pool.query(`SELECT version, updated_at FROM property_mgmt.rate_plans WHERE id = $1`, [f.ratePlanId])).rows[0];
    await pool.query(`UPDATE property_mgmt.rate_plans SET name = 'BAR flex' WHERE id = $1`, [f.ratePlanId]);
    await pool.query(`UPDATE property_mgmt.rate_plans SET name = 'BAR flexible' WHERE id = $1`, [f.ratePlanId]);
    const after = (await pool.query(`SELECT version, updated_at FROM property_mgmt.rate_plans WHERE id = $1`, [f.ratePlanId])).rows[0];
    expect(before.version).toBe(1);
    expect(after.version).toBe(3);
    expect(after.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
  });

  it('rejects an update based on a stale version (SV001 → ERR_CONFLICT), accepts the current one', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool);
    // Two editors read version 1; the first saves, the second's save must fail.
    await pool.query(`UPDATE property_mgmt.room_types SET name = 'first', version = 1 WHERE id = $1`, [f.roomTypeId]);
    const err = await pool.query(`UPDATE property_mgmt.room_types SET name = 'second', version = 1 WHERE id = $1`, [f.roomTypeId]).catch((e) => e);
    expect(err.code).toBe('SV001');
    expect(fromPgError(err).code).toBe('ERR_CONFLICT');
    const ok = await pool.query(`UPDATE property_mgmt.room_types SET name = 'second', version = 2 WHERE id = $1 RETURNING version, name`, [f.roomTypeId]);
    expect(ok.rows[0]).toEqual({ version: 3, name: 'second' });
  });
});
