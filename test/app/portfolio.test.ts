/**
 * Many hotels behind one key (issue 19): the channel list a page at a time, those needing
 * attention first, filtered by health and channel; the summary; all in one read that row-level
 * security still decides (V1.26.0's read-only portfolio policy). Expected values are recomputed
 * here from the rows the test wrote, by the rule the API documents, not by the API's SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { useTestDatabase } from '../helpers/db.ts';
import { createProperty } from '../helpers/fixtures.ts';
import { addConnection } from '../helpers/inbound.ts';
import { createApiKey } from '../../api/keys.ts';
import { buildApp } from '../../api/index.ts';
import { channelList } from '../../api/schemas.ts';

const db = useTestDatabase();
let app: FastifyInstance;
let allKey: string;
let twoKey: string;
const HOTELS = 24;
const code = (i: number) => `PF${String(i).padStart(3, '0')}`;
// Health set per hotel (both its connections unless said): what the revenue team would see.
const STATUS: Record<number, { booking_com?: string; expedia?: string }> = {
  3: { booking_com: 'down' },
  7: { expedia: 'degraded' },
  8: { booking_com: 'paused', expedia: 'paused' },
  15: { expedia: 'down' },
  20: { booking_com: 'disabled' },
};
// An active connection with a problem: an open error counts as attention. The same on a paused
// connection does not (paused on purpose: its errors are not news).
const PROBLEM = { hotel: 11, channel: 'expedia' };
const PAUSED_PROBLEM = { hotel: 8, channel: 'booking_com' };
const RANK: Record<string, number> = { down: 0, closing: 1, degraded: 2, attention: 3, paused: 4, active: 5, disabled: 6 };

interface Expected {
  id: string;
  property: string;
  channel: string;
  hotelCode: string;
  health: string;
  attention: boolean;
}
const expected: Expected[] = [];
const bearer = (k: string) => ({ authorization: `Bearer ${k}` });

beforeAll(async () => {
  const { pool } = db.current;
  for (let i = 1; i <= HOTELS; i++) {
    await createProperty(pool, { code: code(i) });
    for (const channel of ['booking_com', 'expedia'] as const) {
      const hotelCode = `${channel === 'booking_com' ? 6 : 7}${String(i).padStart(5, '0')}`;
      const id = await addConnection(pool, { channel, hotelCode, credentials: { username: 'u', password: 'p' }, mappings: [], propertyCode: code(i) });
      const health = STATUS[i]?.[channel] ?? 'active';
      if (health !== 'active') await pool.query(`UPDATE channel.channel_connections SET status = $2 WHERE id = $1`, [id, health]);
      const problem = PROBLEM.hotel === i && PROBLEM.channel === channel;
      expected.push({ id, property: code(i), channel, hotelCode, health, attention: health === 'down' || health === 'degraded' || problem });
    }
  }
  for (const p of [PROBLEM, PAUSED_PROBLEM]) {
    const problem = expected.find((e) => e.property === code(p.hotel) && e.channel === p.channel)!;
    await pool.query(
      `INSERT INTO channel.sync_errors (connection_id, property_id, severity, kind, error_code, message)
       SELECT id, property_id, 'error', 'rejected', 'ERR_OTA_REJECTED', 'a rate refused by the OTA' FROM channel.channel_connections WHERE id = $1`,
      [problem.id],
    );
  }
  allKey = (await createApiKey(pool, { email: 'group@portfolio.example', role: 'admin', properties: Array.from({ length: HOTELS }, (_, i) => code(i + 1)) }))
    .key;
  twoKey = (await createApiKey(pool, { email: 'two@portfolio.example', role: 'viewer', properties: [code(3), code(4)] })).key;
  app = await buildApp({ pool, logLevel: 'silent' });
});
afterAll(async () => app?.close());

/** The documented order: worst health first (attention before paused), then property code, channel, hotel code. */
const ordered = (rows: Expected[]) =>
  [...rows].sort(
    (a, b) =>
      RANK[a.health === 'active' && a.attention ? 'attention' : a.health]! - RANK[b.health === 'active' && b.attention ? 'attention' : b.health]! ||
      a.property.localeCompare(b.property) ||
      a.channel.localeCompare(b.channel) ||
      a.hotelCode.localeCompare(b.hotelCode),
  );

async function pages(key: string, query: string, limit: number) {
  const seen: Array<{ id: string; health: { status: string } }> = [];
  let offset: number | null = 0;
  let total = -1;
  while (offset !== null) {
    const res = await app.inject({ method: 'GET', url: `/api/v1/channels?${query}&limit=${limit}&offset=${offset}`, headers: bearer(key) });
    expect(res.statusCode, res.body).toBe(200);
    const body = channelList.parse(res.json());
    expect(body.channels.length).toBeLessThanOrEqual(limit);
    total = body.total;
    seen.push(...body.channels);
    offset = body.nextOffset;
  }
  return { seen, total };
}

describe('the channel list of a key that sees many hotels (issue 19)', () => {
  it('pages through every connection once, those needing attention first, in the documented order', async () => {
    const all = await pages(allKey, '', 7);
    expect(all.total).toBe(HOTELS * 2);
    expect(all.seen.map((c) => c.id)).toEqual(ordered(expected).map((e) => e.id));
    expect(new Set(all.seen.map((c) => c.id)).size).toBe(HOTELS * 2);
    // A page past the end (the list shrank meanwhile): empty, and still the total.
    const past = await app.inject({ method: 'GET', url: '/api/v1/channels?offset=1000&limit=10', headers: bearer(allKey) });
    expect(channelList.parse(past.json())).toEqual({ channels: [], total: HOTELS * 2, nextOffset: null });
  });

  it('filters by health, by "attention" and by channel, and pages the filtered list', async () => {
    for (const status of ['down', 'degraded', 'paused', 'disabled', 'active']) {
      const { seen, total } = await pages(allKey, `status=${status}`, 5);
      const want = ordered(expected.filter((e) => e.health === status)).map((e) => e.id);
      expect(
        seen.map((c) => c.id),
        status,
      ).toEqual(want);
      expect(total, status).toBe(want.length);
    }
    const attention = await pages(allKey, 'status=attention', 2);
    expect(attention.seen.map((c) => c.id)).toEqual(ordered(expected.filter((e) => e.attention)).map((e) => e.id));
    const expedia = await pages(allKey, 'channel=expedia&status=attention', 50);
    expect(expedia.seen.map((c) => c.id)).toEqual(ordered(expected.filter((e) => e.attention && e.channel === 'expedia')).map((e) => e.id));
  });

  it('summarises every connection: per health, needing attention, and the problems behind them', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/channels/summary', headers: bearer(allKey) });
    expect(res.statusCode, res.body).toBe(200);
    const byHealth: Record<string, number> = {};
    for (const e of expected) byHealth[e.health] = (byHealth[e.health] ?? 0) + 1;
    expect(res.json()).toMatchObject({ connections: HOTELS * 2, attention: expected.filter((e) => e.attention).length, byHealth, openErrors: 2 });
  });

  it('shows a key only its own hotels, in the list and in the summary (row-level security decides)', async () => {
    const { seen, total } = await pages(twoKey, '', 50);
    const mine = expected.filter((e) => e.property === code(3) || e.property === code(4));
    expect(total).toBe(4);
    expect(seen.map((c) => c.id)).toEqual(ordered(mine).map((e) => e.id));
    const summary = (await app.inject({ method: 'GET', url: '/api/v1/channels/summary', headers: bearer(twoKey) })).json();
    expect(summary.connections).toBe(4);
    expect((await app.inject({ method: 'GET', url: `/api/v1/channels?property=${code(5)}`, headers: bearer(twoKey) })).statusCode).toBe(404);
    // One connection by id: the key of every hotel finds the last hotel's; the two-hotel key finds
    // its own and not another's (404, as if it did not exist).
    const last = expected.find((e) => e.property === code(HOTELS))!;
    const one = await app.inject({ method: 'GET', url: `/api/v1/channels/${last.id}`, headers: bearer(allKey) });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id: last.id, hotelCode: last.hotelCode });
    expect((await app.inject({ method: 'GET', url: `/api/v1/channels/${last.id}`, headers: bearer(twoKey) })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/api/v1/channels/${mine[0]!.id}`, headers: bearer(twoKey) })).statusCode).toBe(200);
    // In SQL, as the API's role: the portfolio policy reads the listed properties only, and writes nothing.
    const { pool } = db.current;
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const ids = expected.filter((e) => e.property === code(3)).map((e) => e.id);
      const { rows: p3 } = await c.query(`SELECT id FROM property_mgmt.properties WHERE code = $1`, [code(3)]);
      await c.query(`SELECT set_config('app.current_property_ids', $1, true)`, [`{${p3[0].id}}`]);
      await c.query('SET LOCAL ROLE authenticated_user');
      const { rows } = await c.query(`SELECT id FROM channel.channel_connections ORDER BY id`);
      expect(rows.map((r) => r.id)).toEqual([...ids].sort());
      // The write policy is the single-property one: the portfolio setting lets no row be changed.
      const upd = await c.query(`UPDATE channel.channel_connections SET ota_hotel_code = ota_hotel_code WHERE id = ANY ($1::uuid[])`, [ids]);
      expect(upd.rowCount).toBe(0);
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  });

  it('refuses a bad filter or page with 400 naming it', async () => {
    for (const [query, field] of [
      ['status=sleeping', 'status'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['offset=-1', 'offset'],
      ['channel=airbnb', 'channel'],
    ]) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/channels?${query}`, headers: bearer(allKey) });
      expect(res.statusCode, query).toBe(400);
      expect(res.body, query).toContain(field);
    }
  });
});
