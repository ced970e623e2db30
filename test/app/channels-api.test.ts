/**
 * The channel-status API: API keys (Bearer, stored hashed), and tenancy enforced by row-level
 * security — a key of one property asking about another's connection gets 404, through the API
 * and through SQL as the API's role.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { asTenant, TEST_KEY, useTestDatabase } from '../helpers/db.ts';
import { createProperty } from '../helpers/fixtures.ts';
import { addConnection } from '../helpers/inbound.ts';
import { runCli } from '../helpers/process.ts';
import { seedDemo } from '../../core/demo/seed-demo.ts';
import { authenticate, createApiKey } from '../../api/keys.ts';
import { buildApp } from '../../api/index.ts';

const db = useTestDatabase();
let app: FastifyInstance;
let keyA: string;
let keyB: string;
let demoId: string;
let otherConn: string;
const bearer = (k: string) => ({ authorization: `Bearer ${k}` });

beforeAll(async () => {
  const { pool } = db.current;
  await seedDemo(pool, { encryptionKey: TEST_KEY, sandboxBaseUrl: 'http://127.0.0.1:9', days: 5 });
  demoId = (await pool.query(`SELECT id FROM property_mgmt.properties WHERE code = 'DEMO'`)).rows[0].id;
  await createProperty(pool, { code: 'OTHER' });
  otherConn = await addConnection(pool, { channel: 'expedia', hotelCode: '8880001', credentials: { username: 'otheruser', password: 'other-pass' }, mappings: [], propertyCode: 'OTHER' });
  keyA = (await createApiKey(pool, { email: 'revenue@demo.example', role: 'revenue_manager', properties: ['DEMO'] })).key;
  keyB = (await createApiKey(pool, { email: 'revenue@other.example', role: 'viewer', properties: ['OTHER'] })).key;
  app = await buildApp({ pool, logLevel: 'silent' });
});
afterAll(async () => app?.close());

describe('API keys', () => {
  it('refuses a missing, malformed, unknown or revoked key with 401', async () => {
    const revoked = (await createApiKey(db.current.pool, { email: 'gone@demo.example', role: 'viewer', properties: ['DEMO'] })).key;
    await db.current.pool.query(`UPDATE shared.api_keys SET revoked_at = now() WHERE key_prefix = $1`, [revoked.split('_')[1]]);
    for (const headers of [{}, { authorization: 'Basic abc' }, bearer('sos_xxxxxxxxxxxx_' + 'y'.repeat(43)), bearer(`${keyA}x`), bearer(revoked)]) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/channels', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: 'ERR_AUTH' } });
    }
  });

  it('stores only a hash, and `stayos api-key create` prints a working key once', async () => {
    const { rows } = await db.current.pool.query(`SELECT key_hash FROM shared.api_keys`);
    expect(rows.every((r) => r.key_hash.startsWith('$2') && !r.key_hash.includes(keyA))).toBe(true);
    const cli = runCli(['api-key', 'create', '--email', 'cli@demo.example', '--role', 'viewer', '--property', 'DEMO'],
      { DATABASE_URL: db.current.url, STAYOS_ENCRYPTION_KEY: TEST_KEY });
    expect((await cli.exited).code).toBe(0);
    const key = /sos_\S+/.exec(cli.output())![0];
    expect(await authenticate(db.current.pool, `Bearer ${key}`)).toMatchObject({ role: 'viewer', properties: [{ code: 'DEMO' }] });
    const bad = runCli(['api-key', 'create', '--email', 'x@demo.example', '--role', 'owner', '--property', 'DEMO'], { DATABASE_URL: db.current.url, STAYOS_ENCRYPTION_KEY: TEST_KEY });
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toMatch(/--role must be one of/);
  });
});

describe('GET /api/v1/channels', () => {
  it('lists the key\'s connections with health, pending cells and the counts the revenue team reads', async () => {
    const { pool } = db.current;
    await pool.query(`INSERT INTO channel.mapping_problems (connection_id, property_id, kind, ota_room_code, detail)
      SELECT id, property_id, 'unknown_ota_room', '999', 'test' FROM channel.channel_connections WHERE channel_code = 'expedia' AND property_id = $1`, [demoId]);
    const res = await app.inject({ method: 'GET', url: '/api/v1/channels', headers: bearer(keyA) });
    expect(res.statusCode).toBe(200);
    const { channels } = res.json();
    expect(channels.map((c: { channel: string }) => c.channel)).toEqual(['booking_com', 'expedia']);
    const { rows: pending } = await pool.query(`SELECT c.channel_code, count(d.*)::int AS n FROM channel.channel_connections c
      LEFT JOIN channel.ari_dirty_cells d ON d.connection_id = c.id AND d.deleted_at IS NULL WHERE c.property_id = $1 GROUP BY 1 ORDER BY 1`, [demoId]);
    for (const [i, c] of channels.entries()) {
      expect(c).toMatchObject({ property: 'DEMO', health: { status: 'active' }, pending: { cells: pending[i].n }, lastHour: { requests: 0, failed: 0 } });
    }
    expect(channels[1]).toMatchObject({ unmapped: 1, openOverbookings: 0, inboundBookings24h: 0 });
    expect(channels.some((c: { id: string }) => c.id === otherConn)).toBe(false);
  });

  it('a key of one property gets 404 for another property\'s connection, and the other property\'s key sees it', async () => {
    const a = await app.inject({ method: 'GET', url: `/api/v1/channels/${otherConn}`, headers: bearer(keyA) });
    expect(a.statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/v1/channels?property=OTHER', headers: bearer(keyA) })).statusCode).toBe(404);
    const b = await app.inject({ method: 'GET', url: `/api/v1/channels/${otherConn}`, headers: bearer(keyB) });
    expect(b.statusCode).toBe(200);
    expect(b.json()).toMatchObject({ id: otherConn, property: 'OTHER', channel: 'expedia', errors: [], unmappedItems: [], inbound: [], overbookings: [] });
    expect((await app.inject({ method: 'GET', url: '/api/v1/channels/not-a-uuid', headers: bearer(keyB) })).statusCode).toBe(404);
  });

  it('actions: pause and resume, retry errors, full sync — each recorded as the key\'s user and audited; viewers and other properties refused', async () => {
    const { pool } = db.current;
    const expedia = (await pool.query(`SELECT id FROM channel.channel_connections WHERE property_id = $1 AND channel_code = 'expedia'`, [demoId])).rows[0].id;
    const post = (url: string, key: string, payload?: unknown) => app.inject({ method: 'POST', url, headers: bearer(key), ...(payload ? { payload } : {}) });
    expect((await post(`/api/v1/channels/${otherConn}/pause`, keyB)).statusCode).toBe(403); // a viewer reads only
    expect((await post(`/api/v1/channels/${otherConn}/pause`, keyA)).statusCode).toBe(404); // not its property
    const paused = await post(`/api/v1/channels/${expedia}/pause`, keyA);
    expect(paused.statusCode).toBe(202);
    expect((await pool.query(`SELECT status FROM channel.channel_connections WHERE id = $1`, [expedia])).rows[0].status).toBe('paused');
    expect((await app.inject({ method: 'GET', url: `/api/v1/channels/${expedia}`, headers: bearer(keyA) })).json()).toMatchObject({ health: { status: 'paused' } });
    expect((await post(`/api/v1/channels/${expedia}/resume`, keyA)).json()).toMatchObject({ status: 'active' });

    await pool.query(`INSERT INTO channel.sync_errors (connection_id, property_id, severity, kind, error_code, ota_code, message, room_type_id, rate_plan_id, stay_from, stay_to)
      SELECT m.connection_id, m.property_id, 'error', 'rejected', 'ERR_OTA_REJECTED', '3020', 'test refusal', m.room_type_id, m.rate_plan_id, current_date + 3, current_date + 4
      FROM channel.channel_mappings m WHERE m.connection_id = $1 LIMIT 1`, [expedia]);
    await pool.query(`DELETE FROM channel.ari_dirty_cells WHERE connection_id = $1`, [expedia]);
    const retried = await post(`/api/v1/channels/${expedia}/retry-errors`, keyA);
    expect(retried.json()).toMatchObject({ resolved: 1, cellsMarked: 2 });
    const sync = await post(`/api/v1/channels/${expedia}/full-sync`, keyA, { days: 30 });
    expect(sync.statusCode).toBe(202);
    expect(sync.json().cellsMarked).toBeGreaterThan(0);
    expect((await post(`/api/v1/channels/${expedia}/full-sync`, keyA, { days: 'many' })).statusCode).toBe(400);
    expect((await post(`/api/v1/channels/${expedia}/full-sync`, keyA, { days: 5000 })).statusCode).toBe(400); // beyond Expedia's 2 years: nothing recorded

    const user = (await authenticate(pool, `Bearer ${keyA}`))!.userId;
    const { rows: actions } = await pool.query(`SELECT action, created_by FROM channel.connection_actions WHERE connection_id = $1 ORDER BY created_at, action`, [expedia]);
    expect(actions.map((a) => a.action).sort()).toEqual(['full_sync', 'pause', 'resume', 'retry_errors']);
    expect(actions.every((a) => a.created_by === user)).toBe(true);
    const { rows: [audited] } = await pool.query(`SELECT count(*)::int AS n FROM audit.audit_log WHERE table_name IN ('connection_actions', 'channel_connections') AND actor_id = $1`, [user]);
    expect(audited.n).toBeGreaterThanOrEqual(6); // four actions, and the pause and resume of the connection itself
  });

  it('parity: PMS values against what the OTA acknowledged, cell by cell, and the parts that differ', async () => {
    const { pool } = db.current;
    const booking = (await pool.query(`SELECT id FROM channel.channel_connections WHERE property_id = $1 AND channel_code = 'booking_com'`, [demoId])).rows[0].id;
    const day = (await pool.query(`SELECT (current_date + 2)::text AS d`)).rows[0].d;
    const url = `/api/v1/channels/${booking}/parity?from=${day}&to=${day}`;
    const first = (await app.inject({ method: 'GET', url, headers: bearer(keyA) })).json();
    expect(first).toMatchObject({ cells: 9, differing: 9 }); // 3 room types × 3 rate plans, nothing acknowledged yet
    const cell = first.items[0];
    expect(cell).toMatchObject({ ota: null, differs: ['avail', 'rate', 'restr'] });
    // The OTA acknowledges exactly the PMS values of that cell: it no longer differs.
    const v = cell.pms;
    await pool.query(`INSERT INTO channel.ari_acknowledged (connection_id, property_id, room_type_id, rate_plan_id, stay_date, availability, avail_acked_at, rate, currency,
        rate_acked_at, min_los, max_los, closed_to_arrival, closed_to_departure, closed, restr_acked_at)
      VALUES ($1, $2, $3, $4, $5, $6, now(), $7, $8, now(), $9, $10, $11, $12, $13, now())`,
      [booking, demoId, cell.roomTypeId, cell.ratePlanId, day, v.availability, v.rate, v.currency, v.minLos, v.maxLos, v.closedToArrival, v.closedToDeparture, v.closed]);
    const second = (await app.inject({ method: 'GET', url: `${url}&only=differing`, headers: bearer(keyA) })).json();
    expect(second).toMatchObject({ cells: 9, differing: 8 });
    expect(second.items.some((x: { roomTypeId: string; ratePlanId: string }) => x.roomTypeId === cell.roomTypeId && x.ratePlanId === cell.ratePlanId)).toBe(false);
    // The revenue manager changes the rate: that cell's rate differs, and only its rate.
    await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 7 WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, [cell.roomTypeId, cell.ratePlanId, day]);
    const third = (await app.inject({ method: 'GET', url, headers: bearer(keyA) })).json();
    const again = third.items.find((x: { roomTypeId: string; ratePlanId: string }) => x.roomTypeId === cell.roomTypeId && x.ratePlanId === cell.ratePlanId);
    expect(again).toMatchObject({ differs: ['rate'], ota: { rate: v.rate } });
    expect(Number(again.pms.rate)).toBeCloseTo(Number(v.rate) + 7, 2);
    for (const bad of [`from=${day}&to=2000-01-01`, `from=${day}`, 'from=x&to=y', `from=2026-01-01&to=2026-12-31`]) {
      expect((await app.inject({ method: 'GET', url: `/api/v1/channels/${booking}/parity?${bad}`, headers: bearer(keyA) })).statusCode).toBe(400);
    }
    expect((await app.inject({ method: 'GET', url: `/api/v1/channels/${booking}/parity?from=${day}&to=${day}`, headers: bearer(keyB) })).statusCode).toBe(404);
  });

  it('GET /api/v1/cdc reports the slot, its lag and wal_status', async () => {
    const { pool } = db.current;
    const slot = `t_cdc_${Date.now() % 100000}`;
    await pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    try {
      await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE stay_date = current_date`);
      const res = await app.inject({ method: 'GET', url: '/api/v1/cdc', headers: bearer(keyA) });
      expect(res.statusCode).toBe(200);
      const mine = res.json().slots.find((s: { slot: string }) => s.slot === slot);
      expect(mine).toMatchObject({ active: false, walStatus: 'reserved' });
      expect(mine.lagBytes).toBeGreaterThan(0); // the update above is not acknowledged by anyone
      expect((await app.inject({ method: 'GET', url: '/api/v1/cdc' })).statusCode).toBe(401);
    } finally {
      await pool.query(`SELECT pg_drop_replication_slot($1)`, [slot]);
    }
  });

  it('through SQL as the API\'s role: row-level security hides the other property\'s rows', async () => {
    const seen = await asTenant(db.current.pool, demoId, async (c) => ({
      status: (await c.query(`SELECT id FROM channel.channel_status WHERE id = $1`, [otherConn])).rowCount,
      connections: (await c.query(`SELECT DISTINCT property_id FROM channel.channel_connections`)).rows.map((r) => r.property_id),
    }));
    expect(seen).toEqual({ status: 0, connections: [demoId] });
  });
});
