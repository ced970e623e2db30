/**
 * Connection management through the API: write-only encrypted credentials, the database's own
 * rules as 400/409, optimistic locking, mappings replaced whole with unknown local codes refused,
 * tenancy, and a mapping change reaching the dirty cells through the real CDC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { useTestDatabase } from '../helpers/db.ts';
import { createProperty } from '../helpers/fixtures.ts';
import { startPipeline, type TestPipeline } from '../helpers/cdc.ts';
import { waitFor } from '../helpers/wait.ts';
import { seedDemo } from '../helpers/demo.ts';
import { createApiKey } from '../../api/keys.ts';
import { buildApp } from '../../api/index.ts';
import { pino } from 'pino';
import { loggerOptions } from '../../core/logger.ts';

const db = useTestDatabase();
let app: FastifyInstance;
let pipeline: TestPipeline;
let manager: string;
let viewer: string;
let outsider: string;
const as = (key: string) => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  const { pool } = db.current;
  await seedDemo(pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: 5 });
  await createProperty(pool, { code: 'ELSEWHERE' });
  manager = (await createApiKey(pool, { email: 'integration@demo.example', role: 'integration', properties: ['DEMO'] })).key;
  viewer = (await createApiKey(pool, { email: 'viewer@demo.example', role: 'viewer', properties: ['DEMO'] })).key;
  outsider = (await createApiKey(pool, { email: 'admin@elsewhere.example', role: 'admin', properties: ['ELSEWHERE'] })).key;
  app = await buildApp({ pool, logLevel: 'silent' });
  pipeline = await startPipeline(pool, db.current.url);
});
afterAll(async () => {
  await pipeline?.stop();
  await app?.close();
});

describe('connections API', () => {
  let id: string;

  it('creates a connection; credentials are stored encrypted and never returned', async () => {
    const body = {
      channel: 'expedia',
      hotelCode: '4440001',
      endpointUrl: 'https://services.expediapartnercentral.com',
      credentials: { username: 'apiuser', password: 's3cret-pass' },
    };
    expect((await app.inject({ method: 'POST', url: '/api/v1/connections', headers: as(viewer), payload: body })).statusCode).toBe(403);
    const bad = await app.inject({ method: 'POST', url: '/api/v1/connections', headers: as(manager), payload: { ...body, hotelCode: 'ABC' } });
    expect(bad.statusCode).toBe(400); // Expedia hotel ids are numeric (a CHECK of the schema)
    expect(
      (await app.inject({ method: 'POST', url: '/api/v1/connections', headers: as(manager), payload: { ...body, endpointUrl: 'ftp://x' } })).statusCode,
    ).toBe(400);
    const res = await app.inject({ method: 'POST', url: '/api/v1/connections', headers: as(manager), payload: body });
    expect(res.statusCode).toBe(201);
    expect(res.body).not.toContain('s3cret-pass');
    expect(res.json()).toMatchObject({ property: 'DEMO', channel: 'expedia', hotelCode: '4440001', hasCredentials: true, status: 'active' });
    expect(res.json()).not.toHaveProperty('credentials');
    id = res.json().id;
    const {
      rows: [c],
    } = await db.current.pool.query(`SELECT shared.decrypt_pii(credentials)::jsonb AS creds FROM channel.channel_connections WHERE id = $1`, [id]);
    expect(c.creds).toEqual({ username: 'apiuser', password: 's3cret-pass' });
    expect((await app.inject({ method: 'POST', url: '/api/v1/connections', headers: as(manager), payload: body })).statusCode).toBe(409); // one connection per OTA hotel
    const list = await app.inject({ method: 'GET', url: '/api/v1/connections', headers: as(viewer) });
    expect(list.json().connections.map((x: { hotelCode: string }) => x.hotelCode)).toContain('4440001');
    expect(list.body).not.toContain('s3cret-pass');
  });

  it("Booking.com: ARI and reservations have their own base URLs, defaulting to Booking.com's two production hosts; settable; refused where they do not apply", async () => {
    const base = { channel: 'booking_com', hotelCode: '4440002', credentials: { client_id: 'm', client_secret: 's' } };
    const res = await app.inject({ method: 'POST', url: '/api/v1/connections', headers: as(manager), payload: base });
    expect(res.statusCode).toBe(201);
    // developers.booking.com/connectivity/docs/index-content: supply-xml (non-PCI) and secure-supply-xml (reservations).
    expect(res.json()).toMatchObject({ endpointUrl: 'https://supply-xml.booking.com', reservationsUrl: 'https://secure-supply-xml.booking.com' });
    const moved = await app.inject({
      method: 'PATCH',
      url: `/api/v1/connections/${res.json().id}`,
      headers: as(manager),
      payload: { reservationsUrl: 'https://secure-supply-xml.booking.com/v2' },
    });
    expect(moved.json()).toMatchObject({ endpointUrl: 'https://supply-xml.booking.com', reservationsUrl: 'https://secure-supply-xml.booking.com/v2' });
    const own = await app.inject({
      method: 'POST',
      url: '/api/v1/connections',
      headers: as(manager),
      payload: {
        ...base,
        hotelCode: '4440003',
        endpointUrl: 'https://supply-xml.booking.com/alt',
        reservationsUrl: 'https://secure-supply-xml.booking.com/alt',
      },
    });
    expect(own.json()).toMatchObject({ endpointUrl: 'https://supply-xml.booking.com/alt', reservationsUrl: 'https://secure-supply-xml.booking.com/alt' });
    const expedia = await app.inject({
      method: 'POST',
      url: '/api/v1/connections',
      headers: as(manager),
      payload: { channel: 'expedia', hotelCode: '4440004' },
    });
    expect(expedia.json()).toMatchObject({ endpointUrl: 'https://services.expediapartnercentral.com', reservationsUrl: null });
    // Google: "Use the following base path for the endpoints: https://www.google.com" (hotel-prices/dev-guide/ari-overview); no credentials (an IP allow-list).
    const google = await app.inject({
      method: 'POST',
      url: '/api/v1/connections',
      headers: as(manager),
      payload: { channel: 'google_hotels', hotelCode: 'hotel-4440009', settings: { partner_key: 'stayos', sync_days: 400 } },
    });
    expect(google.statusCode, google.body).toBe(201);
    expect(google.json()).toMatchObject({ channel: 'google_hotels', endpointUrl: 'https://www.google.com', reservationsUrl: null });
    for (const settings of [{ sync_days: 501 }, { partner_key: 'has space' }, { rate_amounts: 'net' }]) {
      const bad = await app.inject({
        method: 'POST',
        url: '/api/v1/connections',
        headers: as(manager),
        payload: { channel: 'google_hotels', hotelCode: 'hotel-4440010', settings },
      });
      expect(bad.statusCode, JSON.stringify(settings)).toBe(400);
    }
    for (const payload of [
      { channel: 'expedia', hotelCode: '4440005', reservationsUrl: 'https://secure-supply-xml.booking.com' },
      { channel: 'opentravel', hotelCode: 'OT1' },
    ]) {
      const bad = await app.inject({ method: 'POST', url: '/api/v1/connections', headers: as(manager), payload });
      expect(bad.statusCode, JSON.stringify(payload)).toBe(400);
    }
    // Settings Expedia's rate depends on are checked where they are set, not at the first push.
    const noCommission = await app.inject({
      method: 'POST',
      url: '/api/v1/connections',
      headers: as(manager),
      payload: { channel: 'expedia', hotelCode: '4440006', settings: { rate_acquisition_type: 'NetRate' } },
    });
    expect(noCommission.statusCode).toBe(400);
    expect(noCommission.json().error.message).toContain('commission_percent');
    const patchUrl = await app.inject({
      method: 'PATCH',
      url: `/api/v1/connections/${expedia.json().id}`,
      headers: as(manager),
      payload: { reservationsUrl: 'https://x.example' },
    });
    expect(patchUrl.statusCode).toBe(400);
    const patchSettings = await app.inject({
      method: 'PATCH',
      url: `/api/v1/connections/${expedia.json().id}`,
      headers: as(manager),
      payload: { settings: { rate_acquisition_type: 'NetRate', commission_percent: 150 } },
    });
    expect(patchSettings.statusCode).toBe(400);

    // Every setting is checked per channel (issue 15, defect 5): named, refused, nothing stored.
    const before = (await db.current.pool.query(`SELECT count(*)::int AS n, max(updated_at) AS at FROM channel.channel_connections`)).rows[0];
    for (const [method, url, payload, named] of [
      ['POST', '/api/v1/connections', { channel: 'booking_com', hotelCode: '7770001', settings: { sync_days: '400d' } }, 'settings.sync_days'],
      ['POST', '/api/v1/connections', { channel: 'expedia', hotelCode: '4440007', settings: { sync_days: 1.5 } }, 'settings.sync_days'],
      ['POST', '/api/v1/connections', { channel: 'booking_com', hotelCode: '7770002', settings: { sync_days: 200 } }, 'at least 365'],
      ['POST', '/api/v1/connections', { channel: 'expedia', hotelCode: '4440008', settings: { sync_dayz: 30 } }, 'unknown key "sync_dayz"'],
      ['PATCH', `/api/v1/connections/${expedia.json().id}`, { settings: { rate_limit_per_minute: 0 } }, 'settings.rate_limit_per_minute'],
      ['PATCH', `/api/v1/connections/${expedia.json().id}`, { settings: { markup_pct: 'ten' } }, 'settings.markup_pct'],
    ] as const) {
      const r = await app.inject({ method, url, headers: as(manager), payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
      expect(r.json().error).toMatchObject({ code: 'ERR_VALIDATION' });
      expect(r.json().error.message).toContain(named);
    }
    expect((await db.current.pool.query(`SELECT count(*)::int AS n, max(updated_at) AS at FROM channel.channel_connections`)).rows[0]).toEqual(before);
  });

  it("patches fields and credentials, with optimistic locking; another property's key gets 404", async () => {
    const stale = await app.inject({
      method: 'PATCH',
      url: `/api/v1/connections/${id}`,
      headers: as(manager),
      payload: { settings: { markup_pct: 5 }, version: 99 },
    });
    expect(stale.statusCode).toBe(409);
    const ok = await app.inject({
      method: 'PATCH',
      url: `/api/v1/connections/${id}`,
      headers: as(manager),
      payload: { settings: { markup_pct: 5 }, credentials: { username: 'apiuser', password: 'rotated-pass' } },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ settings: { markup_pct: 5 }, version: 2 });
    const {
      rows: [c],
    } = await db.current.pool.query(`SELECT shared.decrypt_pii(credentials)::jsonb ->> 'password' AS p FROM channel.channel_connections WHERE id = $1`, [id]);
    expect(c.p).toBe('rotated-pass');
    expect((await app.inject({ method: 'PATCH', url: `/api/v1/connections/${id}`, headers: as(outsider), payload: { status: 'paused' } })).statusCode).toBe(
      404,
    );
    expect((await app.inject({ method: 'PATCH', url: `/api/v1/connections/${id}`, headers: as(manager), payload: {} })).statusCode).toBe(400);
  });

  it("replaces mappings whole; unknown local codes refuse the whole change; the CDC marks the new mapping's cells dirty", async () => {
    const { pool } = db.current;
    const put = (payload: object, key = manager) => app.inject({ method: 'PUT', url: `/api/v1/connections/${id}/mappings`, headers: as(key), payload });
    const unknown = await put([
      { roomType: 'STD', ratePlan: 'BAR', otaRoomCode: '9001', otaRateCode: '8001' },
      { roomType: 'PENTHOUSE', ratePlan: 'BAR', otaRoomCode: '9002', otaRateCode: '8001' },
    ]);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toContain('room type PENTHOUSE');
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.channel_mappings WHERE connection_id = $1`, [id])).rows[0].n).toBe(0);
    expect(
      (
        await put([
          { roomType: 'STD', ratePlan: 'BAR', otaRoomCode: '9001', otaRateCode: '8001' },
          { roomType: 'STD', ratePlan: 'BAR', otaRoomCode: '9003', otaRateCode: '8003' },
        ])
      ).statusCode,
    ).toBe(400);
    expect((await put([{ roomType: 'STD', ratePlan: 'BAR', otaRoomCode: '9001', otaRateCode: '8001' }], outsider)).statusCode).toBe(404);

    const first = await put([
      { roomType: 'STD', ratePlan: 'BAR', otaRoomCode: '9001', otaRateCode: '8001' },
      { roomType: 'DLX', ratePlan: 'BAR', otaRoomCode: '9002', otaRateCode: '8001' },
    ]);
    expect(first.json()).toMatchObject({ added: 2, removed: 0 });
    // The CDC sees the new mappings and marks their cells (the 5 seeded nights each) for the OTA.
    await waitFor(
      async () =>
        (await pool.query(`SELECT count(*)::int AS n FROM channel.ari_dirty_cells WHERE connection_id = $1 AND deleted_at IS NULL`, [id])).rows[0].n >= 10,
      { what: "the CDC marking the new mappings' cells" },
    );
    const second = await put([
      { roomType: 'STD', ratePlan: 'BAR', otaRoomCode: '9001', otaRateCode: '8001', active: false },
      { roomType: 'STE', ratePlan: 'BB', otaRoomCode: '9003', otaRateCode: '8003' },
    ]);
    expect(second.json()).toMatchObject({ added: 1, removed: 1, changed: 1 });
    expect((await app.inject({ method: 'GET', url: `/api/v1/connections/${id}/mappings`, headers: as(viewer) })).json().mappings).toEqual([
      { roomType: 'STD', ratePlan: 'BAR', otaRoomCode: '9001', otaRateCode: '8001', active: false, settings: {} },
      { roomType: 'STE', ratePlan: 'BB', otaRoomCode: '9003', otaRateCode: '8003', active: true, settings: {} },
    ]);
    expect((await put([], viewer)).statusCode).toBe(403);

    // A mapping's channel rules: set and changed in place (a change, not a new mapping); a bad one refuses everything.
    const ruled = { markup_pct: 5, availability_offset: -1, max_availability: 4, close_out: false };
    const third = await put([
      { roomType: 'STD', ratePlan: 'BAR', otaRoomCode: '9001', otaRateCode: '8001', active: false },
      { roomType: 'STE', ratePlan: 'BB', otaRoomCode: '9003', otaRateCode: '8003', settings: ruled },
    ]);
    expect(third.json()).toMatchObject({ added: 0, removed: 0, changed: 1 });
    expect(third.json().mappings[1].settings).toEqual(ruled);
    for (const [settings, problem] of [
      [{ markup_pct: -100 }, 'markup_pct'],
      [{ availability_offset: 1.5 }, 'availability_offset'],
      [{ close_out: 'yes' }, 'close_out'],
      [{ sync_days: 30 }, 'sync_days'],
    ] as const) {
      const bad = await put([{ roomType: 'STE', ratePlan: 'BB', otaRoomCode: '9003', otaRateCode: '8003', settings }]);
      expect(bad.statusCode, JSON.stringify(settings)).toBe(400);
      expect(bad.json().error.message).toContain(problem);
    }
    const { rows: stored } = await pool.query(`SELECT settings FROM channel.channel_mappings WHERE connection_id = $1 AND deleted_at IS NULL AND active`, [id]);
    expect(stored).toEqual([{ settings: ruled }]);

    // Pricing models (issue 18): FAM is priced per occupancy in the demo. Mapped to a rate the OTA
    // prices per day (the connection's default), the whole change is refused with both models named;
    // mapped as a per-occupancy rate, it is taken. A connection set per occupancy under per-day plans is refused too.
    const fam = { roomType: 'DLX', ratePlan: 'FAM', otaRoomCode: '9002', otaRateCode: '8004' };
    const wrong = await put([{ roomType: 'STE', ratePlan: 'BB', otaRoomCode: '9003', otaRateCode: '8003', settings: ruled }, fam]);
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json().error).toMatchObject({ code: 'ERR_PRICING_MODEL_MISMATCH' });
    expect(wrong.json().error.message).toContain('DLX/FAM is priced per_occupancy in the PMS but per_day at the OTA');
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.channel_mappings WHERE connection_id = $1 AND deleted_at IS NULL`, [id])).rows[0].n).toBe(
      2,
    );
    const right = await put([
      { roomType: 'STE', ratePlan: 'BB', otaRoomCode: '9003', otaRateCode: '8003', settings: ruled },
      { ...fam, settings: { pricing_model: 'per_occupancy' } },
    ]);
    expect(right.statusCode).toBe(200);
    const patch = await app.inject({
      method: 'PATCH',
      url: `/api/v1/connections/${id}`,
      headers: as(manager),
      payload: { settings: { pricing_model: 'per_occupancy' } },
    });
    expect(patch.statusCode).toBe(409);
    expect(patch.json().error.message).toContain('STE/BB is priced per_day in the PMS but per_occupancy at the OTA');
    const { rows: conn } = await pool.query(`SELECT settings FROM channel.channel_connections WHERE id = $1`, [id]);
    expect(conn[0].settings.pricing_model).toBeUndefined();
    // A mismatch that arose in the PMS later (BB now priced per guest) does not block an unrelated
    // change, such as an emergency close-out; the sync worker reports it on the connection.
    await pool.query(`UPDATE property_mgmt.rate_plans SET pricing_model = 'per_occupancy' WHERE code = 'BB'`);
    try {
      const closeOut = await app.inject({
        method: 'PATCH',
        url: `/api/v1/connections/${id}`,
        headers: as(manager),
        payload: { settings: { close_out: true } },
      });
      expect(closeOut.statusCode).toBe(200);
    } finally {
      await pool.query(`UPDATE property_mgmt.rate_plans SET pricing_model = 'per_day' WHERE code = 'BB'`);
    }
  });

  it('logs one structured line per request (route, status, key id), with no key, credential or body in the log', async () => {
    const lines: string[] = [];
    const logger = pino(loggerOptions('info'), { write: (line: string) => void lines.push(line) });
    const logged = await buildApp({ pool: db.current.pool, logger });
    try {
      const ok = await logged.inject({
        method: 'PATCH',
        url: `/api/v1/connections/${id}`,
        headers: as(manager),
        payload: { credentials: { username: 'apiuser', password: 'logged-never-9' } },
      });
      expect(ok.statusCode).toBe(200);
      expect((await logged.inject({ method: 'GET', url: '/api/v1/channels?property=NOPE', headers: as(viewer) })).statusCode).toBe(404);
      expect(
        (
          await logged.inject({
            method: 'GET',
            url: '/api/v1/channels',
            headers: { authorization: 'Bearer sos_wrongwrongwr_secretsecretsecretsecretsecret12' },
          })
        ).statusCode,
      ).toBe(401);
      // A handler that logs a connection object by mistake: the redaction paths catch it.
      logged.log.info({ connection: { credentials: { password: 'logged-never-9' }, apiKey: manager } }, 'mistake');
    } finally {
      await logged.close();
    }
    const entries = lines.map((l) => JSON.parse(l));
    const requests = entries.filter((e) => e.msg === 'request');
    expect(requests.map((e) => [e.method, e.route, e.status])).toEqual([
      ['PATCH', '/api/v1/connections/:id', 200],
      ['GET', '/api/v1/channels', 404],
      ['GET', '/api/v1/channels', 401],
    ]);
    expect(requests[0]).toMatchObject({ role: 'integration', keyId: expect.any(String), reqId: expect.any(String), service: 'stayos' });
    const text = lines.join('');
    // The key's secret part: after `sos_` and the 12-character prefix (the secret's own alphabet has `_`).
    const managerSecret = manager.slice('sos_'.length + 12 + 1);
    expect(managerSecret.length).toBeGreaterThanOrEqual(32);
    for (const secret of ['logged-never-9', manager, managerSecret, 'secretsecretsecret', viewer]) expect(text).not.toContain(secret);
    expect(entries.find((e) => e.msg === 'mistake').connection).toEqual({ credentials: '[redacted]', apiKey: '[redacted]' });
  });

  it('disabling or deleting closes the inventory at the OTA first (closingFor, 202), unless closeAtOta is false; status changes wait for it (issue 15, defect 6)', async () => {
    const { pool } = db.current;
    const booking = (await pool.query(`SELECT id FROM channel.channel_connections WHERE channel_code = 'booking_com' AND deleted_at IS NULL`)).rows[0].id;
    const mapped = (
      await pool.query(`SELECT count(*)::int AS n FROM channel.channel_mappings WHERE connection_id = $1 AND active AND deleted_at IS NULL`, [booking])
    ).rows[0].n;
    expect(mapped).toBeGreaterThan(0);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/connections/${booking}`, headers: as(viewer) })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/connections/${booking}?closeAtOta=maybe`, headers: as(manager) })).statusCode).toBe(400);
    expect(
      (await app.inject({ method: 'PATCH', url: `/api/v1/connections/${booking}`, headers: as(manager), payload: { closeAtOta: false, hotelCode: '1234567' } }))
        .statusCode,
    ).toBe(400);
    const del = await app.inject({ method: 'DELETE', url: `/api/v1/connections/${booking}`, headers: as(manager) });
    expect(del.statusCode, del.body).toBe(202);
    expect(del.json()).toMatchObject({ finished: false, closures: mapped, connection: { id: booking, closingFor: 'delete', status: 'active' } });
    // Shown as closing; its status waits for the OTA's confirmation.
    const tiles = (await app.inject({ method: 'GET', url: '/api/v1/channels', headers: as(viewer) })).json().channels;
    expect(tiles.find((t: { id: string }) => t.id === booking)).toMatchObject({ health: { status: 'closing' }, pendingClosures: mapped });
    expect((await app.inject({ method: 'PATCH', url: `/api/v1/connections/${booking}`, headers: as(manager), payload: { status: 'paused' } })).statusCode).toBe(
      409,
    );
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/connections/${booking}`, headers: as(manager) })).statusCode).toBe(409);

    // A connection that feeds nothing is disabled at once; keeping the OTA open disables at once too.
    const bare = (
      await app.inject({ method: 'POST', url: '/api/v1/connections', headers: as(manager), payload: { channel: 'expedia', hotelCode: '4440099' } })
    ).json().id;
    const disabled = await app.inject({ method: 'PATCH', url: `/api/v1/connections/${bare}`, headers: as(manager), payload: { status: 'disabled' } });
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect(disabled.json()).toMatchObject({ status: 'disabled', closingFor: null });
    expect((await pool.query(`SELECT count(*)::int AS n FROM channel.channel_mappings WHERE connection_id = $1 AND active`, [id])).rows[0].n).toBeGreaterThan(
      0,
    );
    const kept = await app.inject({
      method: 'PATCH',
      url: `/api/v1/connections/${id}`,
      headers: as(manager),
      payload: { status: 'disabled', closeAtOta: false },
    });
    expect(kept.json()).toMatchObject({ status: 'disabled', closingFor: null, statusReason: 'disabled by a user; the OTA was left as it was' });
    expect(
      (await pool.query(`SELECT count(*)::int AS n FROM channel.ota_closures WHERE connection_id = $1 AND reason = 'connection_closing'`, [id])).rows[0].n,
    ).toBe(0);
    const paused = (await app.inject({ method: 'GET', url: '/api/v1/channels', headers: as(viewer) })).json().channels;
    expect(
      paused.every((t: { health: { status: string; reason: string } }) => t.health.status !== 'paused' || /OTA keeps the last values/.test(t.health.reason)),
    ).toBe(true);
  });
});
