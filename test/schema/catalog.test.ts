/** The shape of the schema, read from pg_catalog: contexts, keys, audit columns, indexes, contract tables. */
import { ADAPTERS } from '../../connectors/registry.ts';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';

const db = useTestDatabase();

const CONTEXT_OF: Record<string, string> = { audit: 'compliance' };
const ctx = (schema: string) => CONTEXT_OF[schema] ?? schema;

/** The seed's table count per bounded context (database-design.md, "Table Count by Context"). */
const SEED_COUNTS: Record<string, number> = {
  property_mgmt: 8,
  reservation: 6,
  guest: 5,
  operations: 12,
  billing: 6,
  fb: 8,
  procurement: 6,
  compliance: 4,
  channel: 4,
};

const TABLES = `
  SELECT c.oid, n.nspname AS schema, c.relname AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname IN ('shared','property_mgmt','reservation','guest','operations','billing','fb','procurement','compliance','channel','audit')`;

describe('catalog', () => {
  it('has at least the seed’s tables per context', async () => {
    const { rows } = await db.current.pool.query(`SELECT schema, count(*)::int AS n FROM (${TABLES}) t GROUP BY schema`);
    const counts: Record<string, number> = {};
    for (const r of rows) counts[ctx(r.schema)] = (counts[ctx(r.schema)] ?? 0) + r.n;
    for (const [context, min] of Object.entries(SEED_COUNTS)) {
      expect(counts[context], context).toBeGreaterThanOrEqual(min);
    }
  });

  it('has no foreign key across contexts (only within a context, and to shared)', async () => {
    const { rows } = await db.current.pool.query(`
      SELECT k.conname, n.nspname AS from_schema, rn.nspname AS to_schema
      FROM pg_constraint k
      JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
      WHERE k.contype = 'f' AND n.nspname <> 'public'`);
    expect(rows.length).toBeGreaterThan(100);
    const crossing = rows.filter((r) => ctx(r.from_schema) !== ctx(r.to_schema) && r.to_schema !== 'shared');
    expect(crossing).toEqual([]);
  });

  it('gives every table the standard audit columns, created_by/updated_by referencing shared.users, and the standard triggers', async () => {
    const { rows } = await db.current.pool.query(`
      SELECT t.schema || '.' || t.name AS tbl,
        (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a WHERE a.attrelid = t.oid AND NOT a.attisdropped
           AND a.attname IN ('created_at','updated_at','created_by','updated_by','deleted_at','version')) AS cols,
        (SELECT count(*) FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
           WHERE k.conrelid = t.oid AND k.contype = 'f' AND k.confrelid = 'shared.users'::regclass AND a.attname IN ('created_by', 'updated_by'))::int AS user_fks,
        (SELECT array_agg(tg.tgname::text ORDER BY tg.tgname) FROM pg_trigger tg WHERE tg.tgrelid = t.oid AND NOT tg.tgisinternal) AS triggers
      FROM (${TABLES}) t`);
    const expectedCols = ['created_at', 'created_by', 'deleted_at', 'updated_at', 'updated_by', 'version'];
    expect(rows.filter((r) => String(r.cols) !== String(expectedCols)).map((r) => r.tbl)).toEqual([]);
    expect(rows.filter((r) => r.user_fks !== 2).map((r) => r.tbl)).toEqual([]);
    // Derived pipeline state rebuilt by a full sync keeps its bookkeeping in its own upserts: no
    // row triggers and no audit on that hot path (auditing it would multiply the log per OTA). The
    // same for the per-request bookkeeping of the sync workers (breaker, tokens, rate counters).
    const DERIVED = [
      'channel.ari_dirty_cells',
      'channel.ari_acknowledged',
      'channel.connection_sync_state',
      'channel.ota_rate_limits',
      'channel.ota_tokens',
      'channel.cdc_progress',
    ];
    const lacking = rows.filter((r) => !DERIVED.includes(r.tbl) && (!r.triggers?.includes('trg_updated_at') || !r.triggers?.includes('trg_optimistic_lock')));
    expect(lacking.map((r) => r.tbl)).toEqual([]);
    const unaudited = rows.filter((r) => !r.triggers?.includes('trg_audit_update') && !r.triggers?.includes('trg_append_only') && !DERIVED.includes(r.tbl));
    expect(unaudited.map((r) => r.tbl)).toEqual([]);
  });

  it('names the channels in one table: every channel_code column is a foreign key to channel.channels, no CHECK lists codes (issue 17)', async () => {
    const { pool } = db.current;
    const { rows } = await pool.query(`
      SELECT t.schema || '.' || t.name AS tbl,
        EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'f' AND k.confrelid = 'channel.channels'::regclass
                  AND k.conkey = ARRAY[a.attnum] AND k.confkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = 'channel.channels'::regclass AND attname = 'code')]) AS fk,
        (SELECT array_agg(k.conname::text) FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'c'
           AND pg_get_constraintdef(k.oid) ~ 'channel_code.*(booking_com|expedia|opentravel).*(booking_com|expedia|opentravel)') AS lists
      FROM (${TABLES}) t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attname = 'channel_code' AND NOT a.attisdropped`);
    expect(rows.map((r) => r.tbl).sort()).toEqual([
      'channel.channel_connections',
      'channel.channel_reservations',
      'channel.inbound_messages',
      'channel.ota_tokens',
      'channel.sync_log',
    ]);
    expect(rows.filter((r) => !r.fk || r.lists).map((r) => r.tbl)).toEqual([]);
    // The rows are the OTA registry's channels, one each (their migrations insert them).
    const { rows: channels } = await pool.query(`SELECT code FROM channel.channels WHERE deleted_at IS NULL ORDER BY code`);
    expect(channels.map((r) => r.code)).toEqual(ADAPTERS.map((a) => a.code).sort());
    // No function, trigger or generated column lists channel codes either (V1.21.0): a channel's facts are in its row.
    const { rows: listing } = await pool.query(`
      SELECT p.oid::regprocedure::text AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prosrc ~ '''(booking_com|expedia|opentravel|google_hotels)''.*''(booking_com|expedia|opentravel|google_hotels)'''
      UNION ALL
      SELECT c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attgenerated = 's' AND pg_get_expr(d.adbin, d.adrelid) ~ '(booking_com|expedia|opentravel)'`);
    expect(listing).toEqual([]);
    // An unknown code is refused by the key (SQLSTATE 23503), not accepted.
    const f = await pool.query(`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('CHREG', 'Registry test', 'EUR') RETURNING id`);
    await expect(
      pool.query(
        `INSERT INTO channel.channel_connections (property_id, channel_code, ota_hotel_code, endpoint_url) VALUES ($1, 'trivago', 'X1', 'https://example.com')`,
        [f.rows[0].id],
      ),
    ).rejects.toMatchObject({ code: '23503', constraint: 'channel_connections_channel_fk' });
  });

  it('keys every table by a UUID from shared.new_id(), and those keys are v7 and time-ordered', async () => {
    const { pool } = db.current;
    const { rows } = await pool.query(`
      SELECT t.schema || '.' || t.name AS tbl, pg_get_expr(d.adbin, d.adrelid) AS def, format_type(a.atttypid, a.atttypmod) AS type
      FROM (${TABLES}) t
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attname = 'id'
      LEFT JOIN pg_attrdef d ON d.adrelid = t.oid AND d.adnum = a.attnum`);
    const {
      rows: [all],
    } = await pool.query(`SELECT count(*)::int AS n FROM (${TABLES}) t`);
    expect(rows).toHaveLength(all.n); // every table has an id column
    expect(rows.filter((r) => r.type !== 'uuid' || r.def !== 'shared.new_id()').map((r) => r.tbl)).toEqual([]);

    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push((await pool.query('SELECT shared.new_id() AS id')).rows[0].id);
    for (const id of ids) expect(id[14]).toBe('7'); // version nibble
    for (const id of ids) expect('89ab').toContain(id[19]); // RFC 9562 variant
    expect([...ids].sort()).toEqual(ids); // time-ordered
    const ms = parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000); // the embedded timestamp is now
    // The SQL implementation (used before PostgreSQL 18) has the same properties.
    const sqlIds: string[] = [];
    for (let i = 0; i < 50; i++) sqlIds.push((await pool.query('SELECT shared.uuid_generate_v7() AS id')).rows[0].id);
    expect(sqlIds.every((id) => id[14] === '7')).toBe(true);
    expect([...sqlIds].sort()).toEqual(sqlIds);
  });

  it('indexes every foreign key and property_id, and every JSONB attribute column named in the seed with GIN', async () => {
    const { rows } = await db.current.pool.query(`
      SELECT t.schema || '.' || t.name || '.' || a.attname AS col
      FROM (${TABLES}) t
      JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'f'
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.conkey[1]
      WHERE a.attname NOT IN ('created_by', 'updated_by')
        AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid AND i.indkey[0] = a.attnum)
        -- a GiST index that leads with property_id covers it too
      UNION ALL
      SELECT t.schema || '.' || t.name || '.property_id'
      FROM (${TABLES}) t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attname = 'property_id'
      WHERE t.name <> 'properties'
        AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid AND a.attnum = ANY (i.indkey::int2[]))`);
    expect(rows.map((r) => r.col)).toEqual([]);
    const { rows: gin } = await db.current.pool.query(`
      SELECT indexrelid::regclass::text AS idx FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
      WHERE am.amname = 'gin' AND indexrelid::regclass::text IN ('guest.idx_guest_preferences_gin', 'guest.idx_guest_name_fts')`);
    expect(gin).toHaveLength(2);
    const {
      rows: [example],
    } = await db.current.pool.query(`SELECT pg_get_indexdef('reservation.idx_reservations_property_status_checkin'::regclass) AS def`);
    expect(example.def).toContain('(property_id, status, check_in_date) WHERE (deleted_at IS NULL)');
  });

  it('exposes the contract the pipeline relies on, with exactly these names', async () => {
    const contract: Record<string, string[]> = {
      'property_mgmt.properties': ['id', 'code', 'name', 'timezone', 'currency'],
      'property_mgmt.room_types': ['id', 'property_id', 'code', 'name', 'max_occupancy'],
      'property_mgmt.rooms': ['id', 'property_id', 'room_type_id', 'number', 'status'],
      'property_mgmt.rate_plans': ['id', 'property_id', 'code', 'name', 'currency'],
      'property_mgmt.daily_rates': ['property_id', 'room_type_id', 'rate_plan_id', 'stay_date', 'amount', 'currency'],
      'property_mgmt.restrictions': [
        'property_id',
        'room_type_id',
        'rate_plan_id',
        'stay_date',
        'min_los',
        'max_los',
        'closed_to_arrival',
        'closed_to_departure',
        'stop_sell',
      ],
      'property_mgmt.inventory_blocks': ['property_id', 'room_type_id', 'start_date', 'end_date', 'rooms', 'reason'],
      'reservation.reservations': [
        'id',
        'property_id',
        'confirmation_number',
        'status',
        'source_channel',
        'check_in_date',
        'check_out_date',
        'guest_id',
        'total_amount',
        'currency',
      ],
      'reservation.reservation_rooms': [
        'id',
        'reservation_id',
        'property_id',
        'room_type_id',
        'rate_plan_id',
        'arrival_date',
        'departure_date',
        'adults',
        'children',
        'status',
      ],
      'channel.channel_connections': ['id', 'property_id', 'channel_code', 'ota_hotel_code', 'endpoint_url', 'credentials', 'status', 'settings'],
      'channel.channel_mappings': ['id', 'connection_id', 'property_id', 'room_type_id', 'rate_plan_id', 'ota_room_code', 'ota_rate_code', 'active'],
      'channel.channel_reservations': [
        'id',
        'connection_id',
        'property_id',
        'channel_code',
        'external_reservation_id',
        'reservation_id',
        'status',
        'last_modified_at',
      ],
    };
    for (const [table, columns] of Object.entries(contract)) {
      const { rows } = await db.current.pool.query(`SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, [
        table,
      ]);
      expect(
        rows.map((r) => r.attname),
        table,
      ).toEqual(expect.arrayContaining(columns));
    }
    for (const [table, cols] of [
      ['property_mgmt.daily_rates', '(room_type_id, rate_plan_id, stay_date)'],
      ['property_mgmt.restrictions', '(room_type_id, rate_plan_id, stay_date)'],
      // OTA ids unique per channel, OpenTravel's per connection (id_scope, V1.18.0; issue 16).
      ['channel.channel_reservations', '(channel_code, id_scope, external_reservation_id)'],
    ] as const) {
      const { rows } = await db.current.pool.query(`SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = $1::regclass AND indisunique`, [
        table,
      ]);
      expect(
        rows.some((r) => r.def.endsWith(cols)),
        `${table} unique ${cols}`,
      ).toBe(true);
    }
  });

  it('enforces business rules with check constraints', async () => {
    const { pool } = db.current;
    const {
      rows: [p],
    } = await pool.query(`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('CHK', 'Check', 'EUR') RETURNING id`);
    const bad: Array<[string, unknown[]]> = [
      [`INSERT INTO reservation.reservations (property_id, check_in_date, check_out_date, currency) VALUES ($1, '2031-01-05', '2031-01-05', 'EUR')`, [p.id]],
      [`INSERT INTO reservation.reservations (property_id, check_in_date, check_out_date, currency) VALUES ($1, '2031-01-05', '2031-01-06', 'eur')`, [p.id]],
      [
        `INSERT INTO reservation.reservations (property_id, check_in_date, check_out_date, currency, total_amount) VALUES ($1, '2031-01-05', '2031-01-06', 'EUR', -1)`,
        [p.id],
      ],
      [
        `INSERT INTO reservation.reservations (property_id, check_in_date, check_out_date, currency, status) VALUES ($1, '2031-01-05', '2031-01-06', 'EUR', 'lost')`,
        [p.id],
      ],
      [`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('X1', 'x', 'EURO')`, []],
      [`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('X3', 'x', 'ZZZ')`, []],
      [`INSERT INTO property_mgmt.properties (code, name, currency, timezone) VALUES ('X2', 'x', 'EUR', 'Mars/Olympus')`, []],
    ];
    for (const [sql, params] of bad) {
      const err = await pool.query(sql, params).catch((e) => e);
      expect(['23514', '22023', '22001'], sql).toContain(err.code); // check, bad timezone, char(3) overflow
    }
    const {
      rows: [rt],
    } = await pool.query(`INSERT INTO property_mgmt.room_types (property_id, code, name, max_occupancy) VALUES ($1, 'A', 'A', 2) RETURNING id`, [p.id]);
    const {
      rows: [rp],
    } = await pool.query(`INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency) VALUES ($1, 'A', 'A', 'EUR') RETURNING id`, [p.id]);
    const los = await pool
      .query(
        `INSERT INTO property_mgmt.restrictions (property_id, room_type_id, rate_plan_id, stay_date, min_los, max_los) VALUES ($1, $2, $3, '2031-01-01', 5, 2)`,
        [p.id, rt.id, rp.id],
      )
      .catch((e) => e);
    expect(los.constraint).toBe('restrictions_los_order');
  });

  it('counts sellable rooms and consumed nights exactly as the availability contract says', async () => {
    const { pool } = db.current;
    const {
      rows: [p],
    } = await pool.query(`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('INV', 'Inv', 'EUR') RETURNING id`);
    const {
      rows: [rt],
    } = await pool.query(`INSERT INTO property_mgmt.room_types (property_id, code, name, max_occupancy) VALUES ($1, 'A', 'A', 2) RETURNING id`, [p.id]);
    await pool.query(
      `INSERT INTO property_mgmt.rooms (property_id, room_type_id, number, status) VALUES
      ($1, $2, '1', 'available'), ($1, $2, '2', 'out_of_order'), ($1, $2, '3', 'dirty'), ($1, $2, '4', 'out_of_service')`,
      [p.id, rt.id],
    );
    await pool.query(`INSERT INTO property_mgmt.rooms (property_id, room_type_id, number, deleted_at) VALUES ($1, $2, '5', now())`, [p.id, rt.id]);
    expect((await pool.query(`SELECT rooms FROM property_mgmt.sellable_rooms WHERE room_type_id = $1`, [rt.id])).rows[0].rooms).toBe(3);
    const stay = async (status: string, roomDeleted = false) => {
      const {
        rows: [r],
      } = await pool.query(
        `INSERT INTO reservation.reservations (property_id, status, check_in_date, check_out_date, currency, cancelled_at)
        VALUES ($1, $2, '2031-08-01', '2031-08-03', 'EUR', CASE WHEN $2 = 'cancelled' THEN now() END) RETURNING id`,
        [p.id, status],
      );
      await pool.query(
        `INSERT INTO reservation.reservation_rooms (reservation_id, property_id, room_type_id, arrival_date, departure_date, currency, deleted_at)
        VALUES ($1, $2, $3, '2031-08-01', '2031-08-03', 'EUR', CASE WHEN $4 THEN now() END)`,
        [r.id, p.id, rt.id, roomDeleted],
      );
    };
    for (const s of ['confirmed', 'checked_in', 'pending', 'cancelled', 'checked_out', 'no_show']) await stay(s);
    await stay('confirmed', true);
    const { rows } = await pool.query(`SELECT stay_date::text AS d, rooms FROM reservation.room_nights_consumed WHERE room_type_id = $1 ORDER BY 1`, [rt.id]);
    expect(rows).toEqual([
      { d: '2031-08-01', rooms: 2 },
      { d: '2031-08-02', rooms: 2 },
    ]);
  });

  it('supports soft deletes with partial unique constraints on active rows', async () => {
    const { pool } = db.current;
    await pool.query(`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('SOFT', 'Soft', 'EUR')`);
    await expect(pool.query(`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('SOFT', 'Again', 'EUR')`)).rejects.toMatchObject({
      code: '23505',
    });
    await pool.query(`UPDATE property_mgmt.properties SET deleted_at = now() WHERE code = 'SOFT'`);
    await pool.query(`INSERT INTO property_mgmt.properties (code, name, currency) VALUES ('SOFT', 'Again', 'EUR')`);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM property_mgmt.properties WHERE code = 'SOFT'`);
    expect(rows[0].n).toBe(2);
  });
});
