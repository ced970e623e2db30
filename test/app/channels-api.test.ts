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
import { seedDemo } from '../helpers/demo.ts';
import { authenticate, createApiKey } from '../../api/keys.ts';
import { buildApp } from '../../api/index.ts';
import { ADAPTERS } from '../../connectors/registry.ts';
import { cdcStatus, channelDetail, channelList, connectionList, errorLog, mappingList, parityReport, recentBookings, syncHistory } from '../../api/schemas.ts';
import { CdcMetrics, reportProgress } from '../../cdc/metrics.ts';
import { SAMPLE_PENDING } from '../../cdc/sql/progress.ts';
import { createLogger } from '../../core/logger.ts';
import { waitFor } from '../helpers/wait.ts';

const db = useTestDatabase();
let app: FastifyInstance;
let keyA: string;
let keyB: string;
let demoId: string;
let otherConn: string;
const bearer = (k: string) => ({ authorization: `Bearer ${k}` });

beforeAll(async () => {
  const { pool } = db.current;
  await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 5 });
  demoId = (await pool.query(`SELECT id FROM property_mgmt.properties WHERE code = 'DEMO'`)).rows[0].id;
  await createProperty(pool, { code: 'OTHER' });
  otherConn = await addConnection(pool, {
    channel: 'expedia',
    hotelCode: '8880001',
    credentials: { username: 'otheruser', password: 'other-pass' },
    mappings: [],
    propertyCode: 'OTHER',
  });
  keyA = (await createApiKey(pool, { email: 'revenue@demo.example', role: 'revenue_manager', properties: ['DEMO'] })).key;
  keyB = (await createApiKey(pool, { email: 'revenue@other.example', role: 'viewer', properties: ['OTHER'] })).key;
  app = await buildApp({ pool, logLevel: 'silent' });
});
afterAll(async () => app?.close());

describe('roles per property (issue 16)', () => {
  it('a key acts on a property only with the role of its user there: an admin of DEMO who only views OTHER reads OTHER and cannot act on it', async () => {
    const { pool } = db.current;
    // One user: admin at DEMO (its key is made as admin), a viewer at OTHER (granted as the schema stores it).
    const key = (await createApiKey(pool, { email: 'two-roles@demo.example', role: 'admin', properties: ['DEMO'] })).key;
    await pool.query(`INSERT INTO shared.user_property_access (user_id, property_id, role)
      SELECT u.id, p.id, 'viewer' FROM shared.users u, property_mgmt.properties p WHERE u.email = 'two-roles@demo.example' AND p.code = 'OTHER'`);
    const demoConn = (await pool.query(`SELECT id FROM channel.channel_connections WHERE property_id = $1 AND channel_code = 'booking_com'`, [demoId])).rows[0]
      .id as string; // the actions test below owns the Expedia one
    const h = bearer(key);
    // Reading OTHER: allowed.
    expect((await app.inject({ method: 'GET', url: `/api/v1/channels/${otherConn}`, headers: h })).statusCode).toBe(200);
    // Acting on OTHER, whatever the route: 403 naming the role there, and nothing changes.
    const before = (await pool.query(`SELECT status, version, settings FROM channel.channel_connections WHERE id = $1`, [otherConn])).rows[0];
    for (const [method, url, payload] of [
      ['POST', `/api/v1/channels/${otherConn}/pause`, undefined],
      ['POST', `/api/v1/channels/${otherConn}/full-sync`, { days: 30 }],
      ['POST', `/api/v1/channels/${otherConn}/retry-errors`, undefined],
      ['PATCH', `/api/v1/connections/${otherConn}`, { settings: { sync_days: 30 } }],
      ['PUT', `/api/v1/connections/${otherConn}/mappings`, []],
      ['DELETE', `/api/v1/connections/${otherConn}?closeAtOta=false`, undefined],
      ['POST', '/api/v1/connections', { property: 'OTHER', channel: 'booking_com', hotelCode: '55501' }],
    ] as const) {
      const res = await app.inject({ method, url, headers: h, ...(payload !== undefined ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().error.message, `${method} ${url}`).toContain('viewer on property OTHER');
    }
    expect((await pool.query(`SELECT status, version, settings FROM channel.channel_connections WHERE id = $1`, [otherConn])).rows[0]).toEqual(before);
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.connection_actions WHERE connection_id = $1`, [otherConn])).rows[0].n).toBe(0);
    // Acting on DEMO, where the user is admin: allowed.
    const paused = await app.inject({ method: 'POST', url: `/api/v1/channels/${demoConn}/pause`, headers: h });
    expect(paused.statusCode).toBe(202);
    expect((await app.inject({ method: 'POST', url: `/api/v1/channels/${demoConn}/resume`, headers: h })).statusCode).toBe(202);
  });
});

describe('API keys', () => {
  it('refuses a missing, malformed, unknown or revoked key with 401', async () => {
    const revoked = (await createApiKey(db.current.pool, { email: 'gone@demo.example', role: 'viewer', properties: ['DEMO'] })).key;
    await db.current.pool.query(`UPDATE shared.api_keys SET revoked_at = now() WHERE key_prefix = $1`, [revoked.split('_')[1]]);
    for (const headers of [{}, { authorization: 'Basic abc' }, bearer('sos_xxxxxxxxxxxx_' + 'y'.repeat(43)), bearer(`${keyA}x`), bearer(revoked)]) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/channels', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: 'ERR_AUTH' } });
    }
    // The router decodes the path: an encoded spelling of /api/v1 is still /api/v1, key required.
    for (const url of ['/%61pi/v1/cdc', '/api/%761/history', '/%61pi/v1/connections']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
    }
  });

  it('stores only a hash, and `stayos api-key create` prints a working key once', async () => {
    const { rows } = await db.current.pool.query(`SELECT key_hash FROM shared.api_keys`);
    expect(rows.every((r) => r.key_hash.startsWith('$2') && !r.key_hash.includes(keyA))).toBe(true);
    const cli = runCli(['api-key', 'create', '--email', 'cli@demo.example', '--role', 'viewer', '--property', 'DEMO'], {
      DATABASE_URL: db.current.url,
      STAYOS_ENCRYPTION_KEY: TEST_KEY,
    });
    expect((await cli.exited).code).toBe(0);
    const key = /sos_\S+/.exec(cli.output())![0];
    expect(await authenticate(db.current.pool, `Bearer ${key}`)).toMatchObject({ role: 'viewer', properties: [{ code: 'DEMO' }] });
    const bad = runCli(['api-key', 'create', '--email', 'x@demo.example', '--role', 'owner', '--property', 'DEMO'], {
      DATABASE_URL: db.current.url,
      STAYOS_ENCRYPTION_KEY: TEST_KEY,
    });
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toMatch(/--role must be one of/);
  });
});

describe('GET /api/v1/channels', () => {
  it("lists the key's connections with health, pending cells and the counts the revenue team reads", async () => {
    const { pool } = db.current;
    await pool.query(
      `INSERT INTO channel.mapping_problems (connection_id, property_id, kind, ota_room_code, detail)
      SELECT id, property_id, 'unknown_ota_room', '999', 'test' FROM channel.channel_connections WHERE channel_code = 'expedia' AND property_id = $1`,
      [demoId],
    );
    const res = await app.inject({ method: 'GET', url: '/api/v1/channels', headers: bearer(keyA) });
    expect(res.statusCode).toBe(200);
    const { channels } = res.json();
    // Those needing attention first (Expedia: an unmapped room), then by channel.
    expect(channels.map((c: { channel: string }) => c.channel)).toEqual(['expedia', 'booking_com']);
    const { rows: pending } = await pool.query(
      `SELECT c.channel_code, count(d.*)::int AS n FROM channel.channel_connections c
      LEFT JOIN channel.ari_dirty_cells d ON d.connection_id = c.id AND d.deleted_at IS NULL WHERE c.property_id = $1 GROUP BY 1 ORDER BY 1`,
      [demoId],
    );
    for (const c of channels) {
      const n = pending.find((p) => p.channel_code === c.channel).n;
      expect(c).toMatchObject({ property: 'DEMO', health: { status: 'active' }, pending: { cells: n }, lastHour: { requests: 0, failed: 0 } });
    }
    expect(channels[0]).toMatchObject({ unmapped: 1, openOverbookings: 0, inboundBookings24h: 0 });
    expect(channels.some((c: { id: string }) => c.id === otherConn)).toBe(false);
  });

  it("a key of one property gets 404 for another property's connection, and the other property's key sees it", async () => {
    const a = await app.inject({ method: 'GET', url: `/api/v1/channels/${otherConn}`, headers: bearer(keyA) });
    expect(a.statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/v1/channels?property=OTHER', headers: bearer(keyA) })).statusCode).toBe(404);
    const b = await app.inject({ method: 'GET', url: `/api/v1/channels/${otherConn}`, headers: bearer(keyB) });
    expect(b.statusCode).toBe(200);
    expect(b.json()).toMatchObject({ id: otherConn, property: 'OTHER', channel: 'expedia', errors: [], unmappedItems: [], inbound: [], overbookings: [] });
    expect((await app.inject({ method: 'GET', url: '/api/v1/channels/not-a-uuid', headers: bearer(keyB) })).statusCode).toBe(404);
  });

  it("actions: pause and resume, retry errors, full sync — each recorded as the key's user and audited; viewers and other properties refused", async () => {
    const { pool } = db.current;
    const expedia = (await pool.query(`SELECT id FROM channel.channel_connections WHERE property_id = $1 AND channel_code = 'expedia'`, [demoId])).rows[0].id;
    const post = (url: string, key: string, payload?: unknown) => app.inject({ method: 'POST', url, headers: bearer(key), ...(payload ? { payload } : {}) });
    expect((await post(`/api/v1/channels/${otherConn}/pause`, keyB)).statusCode).toBe(403); // a viewer reads only
    expect((await post(`/api/v1/channels/${otherConn}/pause`, keyA)).statusCode).toBe(404); // not its property
    const paused = await post(`/api/v1/channels/${expedia}/pause`, keyA);
    expect(paused.statusCode).toBe(202);
    expect((await pool.query(`SELECT status FROM channel.channel_connections WHERE id = $1`, [expedia])).rows[0].status).toBe('paused');
    expect((await app.inject({ method: 'GET', url: `/api/v1/channels/${expedia}`, headers: bearer(keyA) })).json()).toMatchObject({
      health: { status: 'paused' },
    });
    expect((await post(`/api/v1/channels/${expedia}/resume`, keyA)).json()).toMatchObject({ status: 'active' });

    await pool.query(
      `INSERT INTO channel.sync_errors (connection_id, property_id, severity, kind, error_code, ota_code, message, room_type_id, rate_plan_id, stay_from, stay_to)
      SELECT m.connection_id, m.property_id, 'error', 'rejected', 'ERR_OTA_REJECTED', '3020', 'test refusal', m.room_type_id, m.rate_plan_id, current_date + 3, current_date + 4
      FROM channel.channel_mappings m WHERE m.connection_id = $1 LIMIT 1`,
      [expedia],
    );
    await pool.query(`DELETE FROM channel.ari_dirty_cells WHERE connection_id = $1`, [expedia]);
    // The refused values remembered for the error's nights (and one night it does not name).
    await pool.query(
      `INSERT INTO channel.ari_acknowledged (connection_id, property_id, room_type_id, rate_plan_id, stay_date, refused)
      SELECT e.connection_id, e.property_id, e.room_type_id, e.rate_plan_id, d::date, '{"rate": {"rate": 999}}'
      FROM channel.sync_errors e CROSS JOIN generate_series(e.stay_from, e.stay_to + 1, interval '1 day') d
      WHERE e.connection_id = $1 AND e.message = 'test refusal'`,
      [expedia],
    );
    // A worker is pushing the first night right now: retrying must push it once more after that.
    const {
      rows: [inFlight],
    } = await pool.query(
      `INSERT INTO channel.ari_dirty_cells (connection_id, property_id, room_type_id, rate_plan_id, stay_date, claimed_at, claim_id)
      SELECT e.connection_id, e.property_id, e.room_type_id, e.rate_plan_id, e.stay_from, now(), gen_random_uuid()
      FROM channel.sync_errors e WHERE e.connection_id = $1 AND e.message = 'test refusal' RETURNING id, dirty_seq::text`,
      [expedia],
    );
    const retried = await post(`/api/v1/channels/${expedia}/retry-errors`, keyA);
    expect(retried.json()).toMatchObject({ resolved: 1, cellsMarked: 2 });
    const {
      rows: [bumped],
    } = await pool.query(`SELECT dirty_seq::text FROM channel.ari_dirty_cells WHERE id = $1`, [inFlight.id]);
    expect(bumped.dirty_seq).not.toBe(inFlight.dirty_seq); // the worker's finish sees the change and keeps the cell dirty
    // Retrying sends again: the named nights' refused values are forgotten, the other night's kept.
    const { rows: refused } = await pool.query(
      `SELECT stay_date - current_date AS day, refused IS NOT NULL AS refused
      FROM channel.ari_acknowledged WHERE connection_id = $1 ORDER BY stay_date`,
      [expedia],
    );
    expect(refused).toEqual([
      { day: 3, refused: false },
      { day: 4, refused: false },
      { day: 5, refused: true },
    ]);
    const sync = await post(`/api/v1/channels/${expedia}/full-sync`, keyA, { days: 30 });
    expect(sync.statusCode).toBe(202);
    const bodiless = await post(`/api/v1/channels/${expedia}/full-sync`, keyA); // no body: the OTA's default window
    expect(bodiless.statusCode, bodiless.body).toBe(202);
    expect(bodiless.json().days).toBeGreaterThan(30);
    expect(sync.json().cellsMarked).toBeGreaterThan(0);
    expect((await post(`/api/v1/channels/${expedia}/full-sync`, keyA, { days: 'many' })).statusCode).toBe(400);
    expect((await post(`/api/v1/channels/${expedia}/full-sync`, keyA, { days: 5000 })).statusCode).toBe(400); // beyond Expedia's 2 years: nothing recorded

    const user = (await authenticate(pool, `Bearer ${keyA}`))!.userId;
    const { rows: actions } = await pool.query(
      `SELECT action, created_by FROM channel.connection_actions WHERE connection_id = $1 ORDER BY created_at, action`,
      [expedia],
    );
    expect(actions.map((a) => a.action).sort()).toEqual(['full_sync', 'full_sync', 'pause', 'resume', 'retry_errors']);
    expect(actions.every((a) => a.created_by === user)).toBe(true);
    const {
      rows: [audited],
    } = await pool.query(`SELECT count(*)::int AS n FROM audit.audit_log WHERE table_name IN ('connection_actions', 'channel_connections') AND actor_id = $1`, [
      user,
    ]);
    expect(audited.n).toBeGreaterThanOrEqual(7); // five actions, and the pause and resume of the connection itself
  });

  it('parity: PMS values against what the OTA acknowledged, cell by cell, and the parts that differ', async () => {
    const { pool } = db.current;
    const booking = (await pool.query(`SELECT id FROM channel.channel_connections WHERE property_id = $1 AND channel_code = 'booking_com'`, [demoId])).rows[0]
      .id;
    const day = (await pool.query(`SELECT (current_date + 2)::text AS d`)).rows[0].d;
    const url = `/api/v1/channels/${booking}/parity?from=${day}&to=${day}`;
    const first = (await app.inject({ method: 'GET', url, headers: bearer(keyA) })).json();
    expect(first).toMatchObject({ cells: 12, differing: 12 }); // 3 room types × 4 rate plans, nothing acknowledged yet
    const cell = first.items[0];
    expect(cell).toMatchObject({ ota: null, differs: ['avail', 'rate', 'restr'] });
    // The OTA acknowledges exactly the PMS values of that cell: it no longer differs.
    const v = cell.pms;
    // At the cell's target (the OTA hotel, room and rate it is mapped to): what the OTA knows.
    await pool.query(
      `INSERT INTO channel.ari_acknowledged (connection_id, property_id, room_type_id, rate_plan_id, stay_date, availability, avail_acked_at, rate, currency,
        rate_acked_at, min_los, max_los, closed_to_arrival, closed_to_departure, closed, restr_acked_at, ota_target)
      SELECT $1, $2, $3, $4, $5, $6, now(), $7, $8, now(), $9, $10, $11, $12, $13, now(), channel.ota_target(c.endpoint_url, c.ota_hotel_code, m.ota_room_code, m.ota_rate_code)
      FROM channel.channel_connections c JOIN channel.channel_mappings m ON m.connection_id = c.id AND m.room_type_id = $3 AND m.rate_plan_id = $4 WHERE c.id = $1`,
      [
        booking,
        demoId,
        cell.roomTypeId,
        cell.ratePlanId,
        day,
        v.availability,
        v.rate,
        v.currency,
        v.minLos,
        v.maxLos,
        v.closedToArrival,
        v.closedToDeparture,
        v.closed,
      ],
    );
    const second = (await app.inject({ method: 'GET', url: `${url}&only=differing`, headers: bearer(keyA) })).json();
    expect(second).toMatchObject({ cells: 12, differing: 11 });
    expect(second.items.some((x: { roomTypeId: string; ratePlanId: string }) => x.roomTypeId === cell.roomTypeId && x.ratePlanId === cell.ratePlanId)).toBe(
      false,
    );
    // The revenue manager changes the rate: that cell's rate differs, and only its rate.
    await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 7 WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = $3`, [
      cell.roomTypeId,
      cell.ratePlanId,
      day,
    ]);
    const third = (await app.inject({ method: 'GET', url, headers: bearer(keyA) })).json();
    const again = third.items.find((x: { roomTypeId: string; ratePlanId: string }) => x.roomTypeId === cell.roomTypeId && x.ratePlanId === cell.ratePlanId);
    expect(again).toMatchObject({ differs: ['rate'], ota: { rate: v.rate } });
    expect(Number(again.pms.rate)).toBeCloseTo(Number(v.rate) + 7, 2);
    for (const bad of [`from=${day}&to=2000-01-01`, `from=${day}`, 'from=x&to=y', `from=2026-01-01&to=2026-12-31`]) {
      expect((await app.inject({ method: 'GET', url: `/api/v1/channels/${booking}/parity?${bad}`, headers: bearer(keyA) })).statusCode).toBe(400);
    }
    expect((await app.inject({ method: 'GET', url: `/api/v1/channels/${booking}/parity?from=${day}&to=${day}`, headers: bearer(keyB) })).statusCode).toBe(404);
  });

  it("GET /api/v1/cdc reports the slot, its lag and wal_status; the database's other slots to admin keys only (issue 16)", async () => {
    const { pool } = db.current;
    const ours = `t_cdc_${Date.now() % 100000}`;
    const theirs = `${ours}_other_app`;
    for (const slot of [ours, theirs]) await pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    // The CDC records the slot it streams (cdc/slot.ts recordSlot); another application's slot is not recorded.
    await pool.query(`INSERT INTO channel.cdc_slots (slot_name, system_identifier, timeline) VALUES ($1, 'test', 1)`, [ours]);
    const admin = (await createApiKey(pool, { email: 'ops@demo.example', role: 'admin', properties: ['DEMO'] })).key;
    try {
      await pool.query(`UPDATE property_mgmt.daily_rates SET amount = amount + 1 WHERE stay_date = current_date`);
      const res = await app.inject({ method: 'GET', url: '/api/v1/cdc', headers: bearer(keyA) });
      expect(res.statusCode).toBe(200);
      const slots = res.json().slots as Array<{ slot: string; active: boolean; walStatus: string; lagBytes: number }>;
      const mine = slots.find((s) => s.slot === ours)!;
      expect(mine).toMatchObject({ active: false, walStatus: 'reserved' });
      expect(mine.lagBytes).toBeGreaterThan(0); // the update above is not acknowledged by anyone
      expect(slots.map((s) => s.slot)).not.toContain(theirs); // a revenue manager's key
      const all = (await app.inject({ method: 'GET', url: '/api/v1/cdc', headers: bearer(admin) })).json().slots.map((s: { slot: string }) => s.slot);
      expect(all).toEqual(expect.arrayContaining([ours, theirs]));
      // A change set aside names another hotel's connection and PostgreSQL's words: its detail is for admin keys.
      await pool.query(
        `INSERT INTO channel.cdc_incidents (slot_name, kind, detail, data) VALUES ($1, 'poison', 'the change to connection OTHER-SECRET could not be stored', '{}')`,
        [ours],
      );
      const detailOf = async (k: string) =>
        (await app.inject({ method: 'GET', url: '/api/v1/cdc', headers: bearer(k) })).json().incidents.find((i: { kind: string }) => i.kind === 'poison')
          ?.detail as string;
      expect(await detailOf(keyA)).not.toContain('OTHER-SECRET');
      expect(await detailOf(admin)).toContain('OTHER-SECRET');
      expect((await app.inject({ method: 'GET', url: '/api/v1/cdc' })).statusCode).toBe(401);
    } finally {
      for (const slot of [ours, theirs]) await pool.query(`SELECT pg_drop_replication_slot($1)`, [slot]);
      await pool.query(`DELETE FROM channel.cdc_slots WHERE slot_name = $1`, [ours]);
      await pool.query(`DELETE FROM channel.cdc_incidents WHERE slot_name = $1`, [ours]);
    }
  });

  it("through SQL as the API's role: row-level security hides the other property's rows", async () => {
    const seen = await asTenant(db.current.pool, demoId, async (c) => ({
      status: (await c.query(`SELECT id FROM channel.channel_status WHERE id = $1`, [otherConn])).rowCount,
      connections: (await c.query(`SELECT DISTINCT property_id FROM channel.channel_connections`)).rows.map((r) => r.property_id),
    }));
    expect(seen).toEqual({ status: 0, connections: [demoId] });
  });
});

describe('monitoring: history, recent bookings, CDC events/s', () => {
  it("the CDC part's reports give events/s to any API process, and pending samples to the history chart", async () => {
    const { pool } = db.current;
    // Cells waiting at the demo's connections, whatever ran before: a connection in sync is not sampled.
    await pool.query(
      `INSERT INTO channel.ari_dirty_cells (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
       SELECT m.connection_id, m.property_id, m.room_type_id, m.rate_plan_id, current_date + 3 FROM channel.channel_mappings m
       WHERE m.property_id = $1 AND m.deleted_at IS NULL ON CONFLICT DO NOTHING`,
      [demoId],
    );
    const metrics = new CdcMetrics();
    // A standby (not streaming) reports nothing: it would overwrite the active CDC's figures.
    const standby = reportProgress(pool, 'stayos_cdc', new CdcMetrics(), createLogger('silent'), { everyMs: 20, sampleMs: 0 });
    await standby();
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.cdc_progress`)).rows[0].n).toBe(0);
    metrics.streaming = true;
    for (let i = 0; i < 12; i++) metrics.recordTransaction(25, new Date().toISOString(), '0/1');
    const expected = metrics.eventsPerSecond();
    const stop = reportProgress(pool, 'stayos_cdc', metrics, createLogger('silent'), { everyMs: 20, sampleMs: 0 });
    try {
      const cdc = await waitFor(
        async () => {
          const r = (await app.inject({ method: 'GET', url: '/api/v1/cdc', headers: bearer(keyA) })).json();
          return r.eventsPerSecond !== null && r;
        },
        { what: 'a CDC progress report' },
      );
      expect(cdc.eventsPerSecond).toBeCloseTo(expected, 5);
      await waitFor(async () => (await pool.query(`SELECT count(*)::int AS n FROM channel.pending_samples WHERE property_id = $1`, [demoId])).rows[0].n >= 2);
    } finally {
      await stop();
    }
    const {
      rows: [{ n: pendingNow }],
    } = await pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE property_id = $1`, [demoId]);
    const booking = (await pool.query(`SELECT id FROM channel.channel_connections WHERE property_id = $1 AND channel_code = 'booking_com'`, [demoId])).rows[0]
      .id;
    await pool.query(
      `INSERT INTO channel.sync_log (connection_id, property_id, channel_code, message_kind, cells, status, duration_ms)
      VALUES ($1, $2, 'booking_com', 'avail', 40, 'success', 120), ($1, $2, 'booking_com', 'rate', 7, 'partial', 80), ($1, $2, 'booking_com', 'rate', 9, 'failed', 80),
             ($1, $2, 'booking_com', 'token', 0, 'success', 10)`,
      [booking, demoId],
    );
    const res = await app.inject({ method: 'GET', url: '/api/v1/history?hours=2', headers: bearer(keyA) });
    expect(res.statusCode).toBe(200);
    const h = syncHistory.parse(res.json());
    expect(h.bucketSeconds).toBe(120);
    expect(h.points).toHaveLength(60);
    expect(Date.parse(h.points.at(-1)!.at)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(h.points.at(-1)!.at)).toBeGreaterThan(Date.now() - 120_000);
    expect(h.points.reduce((s, p) => s + p.acknowledged, 0)).toBe(47);
    expect(h.points.reduce((s, p) => s + p.failed, 0)).toBe(1);
    expect(h.points.at(-1)!.pending ?? h.points.at(-2)!.pending).toBe(pendingNow);
    expect(h.pendingNow).toBe(pendingNow);
    // The other property sees none of it.
    const other = syncHistory.parse((await app.inject({ method: 'GET', url: '/api/v1/history?hours=2', headers: bearer(keyB) })).json());
    expect(other.points.reduce((s, p) => s + p.acknowledged + (p.pending ?? 0), 0)).toBe(0);
    expect((await app.inject({ method: 'GET', url: `/api/v1/history?connection=${otherConn}`, headers: bearer(keyA) })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/v1/history?hours=500', headers: bearer(keyA) })).json()).toMatchObject({
      error: { code: 'ERR_VALIDATION' },
    });
  });

  it("recent bookings: the latest inbound messages of the key's properties, without their bodies", async () => {
    const { pool } = db.current;
    const expedia = (await pool.query(`SELECT id FROM channel.channel_connections WHERE property_id = $1 AND channel_code = 'expedia'`, [demoId])).rows[0].id;
    for (const [pid, conn, ext, outcome] of [
      [demoId, expedia, 'R-1', 'created'],
      [demoId, expedia, 'R-2', 'refused'],
      [null, otherConn, 'X-9', 'created'],
    ]) {
      await pool.query(
        `INSERT INTO channel.inbound_messages (connection_id, property_id, channel_code, source, message_type, external_reservation_id, body_sha256, body_bytes, outcome, answer_status)
        VALUES ($1, COALESCE($2, (SELECT property_id FROM channel.channel_connections WHERE id = $1)), 'expedia', 'expedia_webhook', 'OTA_HotelResNotifRQ', $3, repeat('a', 64), 10, $4, 200)`,
        [conn, pid, ext, outcome],
      );
    }
    const res = await app.inject({ method: 'GET', url: '/api/v1/bookings?limit=5', headers: bearer(keyA) });
    const { bookings } = recentBookings.parse(res.json());
    expect(bookings.map((b) => [b.reservationId, b.outcome, b.property])).toEqual([
      ['R-2', 'refused', 'DEMO'],
      ['R-1', 'created', 'DEMO'],
    ]);
    expect(
      recentBookings.parse((await app.inject({ method: 'GET', url: '/api/v1/bookings', headers: bearer(keyB) })).json()).bookings.map((b) => b.reservationId),
    ).toEqual(['X-9']);
  });
  it("error log: open errors and those resolved within the window, newest first, only the key's properties", async () => {
    const { pool } = db.current;
    const expedia = (await pool.query(`SELECT id FROM channel.channel_connections WHERE property_id = $1 AND channel_code = 'expedia'`, [demoId])).rows[0].id;
    await pool.query(`UPDATE channel.sync_errors SET resolved_at = now() WHERE resolved_at IS NULL`);
    const insert = (conn: string, code: string, lastSeen: string, resolved: string | null) =>
      pool.query(
        `INSERT INTO channel.sync_errors (connection_id, property_id, severity, kind, error_code, ota_code, message, first_seen_at, last_seen_at, resolved_at)
       SELECT id, property_id, 'alert', 'unavailable', 'ERR_OTA_UNAVAILABLE', $2, 'log test ' || $2, now() - $3::interval, now() - $3::interval, now() - $4::interval
       FROM channel.channel_connections WHERE id = $1`,
        [conn, code, lastSeen, resolved],
      );
    await insert(expedia, 'OPEN1', '5 minutes', null);
    await insert(expedia, 'FIXED2', '2 minutes', '1 minute');
    await insert(expedia, 'OLD3', '3 days', '3 days');
    await insert(otherConn, 'ELSE4', '1 minute', null);
    const res = await app.inject({ method: 'GET', url: '/api/v1/errors?hours=24', headers: bearer(keyA) });
    const { errors } = errorLog.parse(res.json());
    const mine = errors.filter((e) => e.message.startsWith('log test'));
    expect(mine.map((e) => [e.otaCode, e.resolvedAt === null])).toEqual([
      ['FIXED2', false],
      ['OPEN1', true],
    ]);
    expect(mine[0]).toMatchObject({ property: 'DEMO', channel: 'expedia', connectionId: expedia });
    const wider = errorLog.parse((await app.inject({ method: 'GET', url: `/api/v1/errors?hours=168&connection=${expedia}`, headers: bearer(keyA) })).json());
    expect(wider.errors.filter((e) => e.message.startsWith('log test')).map((e) => e.otaCode)).toEqual(['FIXED2', 'OPEN1', 'OLD3']);
    expect((await app.inject({ method: 'GET', url: `/api/v1/errors?connection=${otherConn}`, headers: bearer(keyA) })).statusCode).toBe(404);
    expect(errorLog.parse((await app.inject({ method: 'GET', url: '/api/v1/errors', headers: bearer(keyB) })).json()).errors.map((e) => e.otaCode)).toEqual([
      'ELSE4',
    ]);
  });
});

describe('OpenAPI', () => {
  it('documents every API route from its zod schemas at /docs/json, with the Bearer scheme; the sandboxes are not in it', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const spec = res.json();
    expect(spec.openapi).toBe('3.1.0');
    expect(spec.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const routes = app.printRoutes({ commonPrefix: false });
    for (const path of [
      '/api/v1/otas',
      '/api/v1/channels',
      '/api/v1/channels/{id}',
      '/api/v1/channels/{id}/parity',
      '/api/v1/channels/{id}/pause',
      '/api/v1/cdc',
      '/api/v1/history',
      '/api/v1/bookings',
      '/api/v1/errors',
      '/api/v1/connections',
      '/api/v1/connections/{id}',
      '/api/v1/connections/{id}/mappings',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      expect(spec.paths, path).toHaveProperty([path]);
      expect(routes).toContain(path.replace('{id}', ':id').split('/').at(-1));
    }
    expect(Object.keys(spec.paths).filter((p) => p.startsWith('/sandbox'))).toEqual([]);
    const parity = spec.paths['/api/v1/channels/{id}/parity'].get;
    expect(parity.security).toEqual([{ apiKey: [] }]);
    expect(parity.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort()).toEqual(['path:id', 'query:from', 'query:only', 'query:to']);
    expect(Object.keys(parity.responses).sort()).toEqual(['200', '400', '401', '404']);
    const create = spec.paths['/api/v1/connections'].post.requestBody.content['application/json'].schema;
    // The base URLs default to the OTA's production hosts: not required.
    expect(create.required).toEqual(expect.arrayContaining(['channel', 'hotelCode']));
    expect(create.required).not.toContain('endpointUrl');
    expect(Object.keys(create.properties)).toEqual(expect.arrayContaining(['endpointUrl', 'reservationsUrl']));
    expect(create.properties.channel.enum).toEqual(ADAPTERS.map((a) => a.code));
  });

  it('GET /api/v1/otas lists the OTAs StayOS connects, as each publishes itself: what goes out, how bookings come in', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/v1/otas' })).statusCode).toBe(401);
    const res = await app.inject({ method: 'GET', url: '/api/v1/otas', headers: bearer(keyB) });
    expect(res.statusCode).toBe(200);
    const by = Object.fromEntries(res.json().otas.map((o: { code: string }) => [o.code, o]));
    // Booking.com: ≥ 12 months in sync, reservations pulled from its queues; Expedia: ≤ 2 years ahead,
    // bookings pushed (Booking Notification); Google Hotels: ARI only; OpenTravel senders push bookings only.
    expect(by.booking_com).toMatchObject({ name: 'Booking.com', inbound: 'poll', outbound: { syncDays: { min: 365 } } });
    expect(by.expedia).toMatchObject({ name: 'Expedia', inbound: 'webhook', outbound: { syncDays: { max: 730 } } });
    expect(by.google_hotels).toMatchObject({ name: 'Google Hotels', inbound: null, outbound: { syncDays: { min: 1, max: 500 } } });
    expect(by.google_hotels.settings).toEqual(expect.arrayContaining(['partner_key', 'sync_days']));
    expect(by.opentravel).toMatchObject({ name: 'OpenTravel', inbound: 'webhook', outbound: null });
  });

  it('serves the UI at /docs from the package, without any external URL', async () => {
    const html = await app.inject({ method: 'GET', url: '/docs' });
    expect(html.statusCode).toBe(200);
    expect(html.body).toContain('swagger-ui');
    const scripts = [...html.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.filter((u) => /^(https?:)?\/\//.test(u))).toEqual([]);
    for (const u of scripts) expect((await app.inject({ method: 'GET', url: new URL(u, 'http://x/docs/').pathname })).statusCode, u).toBe(200);
  });

  it('the routes answer what the document says (their responses parse with the documented schemas)', async () => {
    const { pool } = db.current;
    const conn = (await pool.query(`SELECT id FROM channel.channel_connections WHERE property_id = $1 ORDER BY channel_code LIMIT 1`, [demoId])).rows[0].id;
    const get = async (url: string) => {
      const res = await app.inject({ method: 'GET', url, headers: bearer(keyA) });
      expect(res.statusCode, url).toBe(200);
      return res.json();
    };
    const day = (await pool.query(`SELECT (current_date + 1)::text AS d`)).rows[0].d;
    channelList.parse(await get('/api/v1/channels'));
    channelDetail.parse(await get(`/api/v1/channels/${conn}`));
    parityReport.parse(await get(`/api/v1/channels/${conn}/parity?from=${day}&to=${day}`));
    cdcStatus.parse(await get('/api/v1/cdc'));
    connectionList.parse(await get('/api/v1/connections'));
    mappingList.parse(await get(`/api/v1/connections/${conn}/mappings`));
    const bad = await app.inject({ method: 'GET', url: `/api/v1/channels/${conn}/parity?from=tomorrow&to=${day}&extra=1`, headers: bearer(keyA) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/from/);
  });
});

describe('pending samples', () => {
  it('samples a connection while cells wait, once more at zero when they are gone, then not at all (issue 19)', async () => {
    const { pool } = db.current;
    const f = await createProperty(pool, { code: 'SAMPLES' });
    const id = await addConnection(pool, {
      channel: 'expedia',
      hotelCode: '9990001',
      credentials: { username: 'sampler', password: 'secret1' },
      mappings: [],
      propertyCode: 'SAMPLES',
    });
    const samples = async () =>
      (await pool.query(`SELECT pending_cells AS n FROM channel.pending_samples WHERE connection_id = $1 ORDER BY created_at, id`, [id])).rows.map((r) => r.n);
    await pool.query(SAMPLE_PENDING);
    expect(await samples()).toEqual([]); // in sync from the start: nothing to chart
    await pool.query(
      `INSERT INTO channel.ari_dirty_cells (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
       SELECT $1, $2, $3, $4, current_date + n FROM generate_series(0, 2) n`,
      [id, f.propertyId, f.roomTypeId, f.ratePlanId],
    );
    await pool.query(SAMPLE_PENDING);
    await pool.query(SAMPLE_PENDING);
    expect(await samples()).toEqual([3, 3]);
    await pool.query(`DELETE FROM channel.ari_dirty_cells WHERE connection_id = $1`, [id]);
    await pool.query(SAMPLE_PENDING);
    await pool.query(SAMPLE_PENDING);
    expect(await samples()).toEqual([3, 3, 0]); // back down to zero, once
  });
});
