/**
 * The ARI a connection must show, computed in SQL for a batch, against an independent computation
 * in the test from the raw rows — over every mapped cell of the demo hotel for 30 nights, before
 * and after edits that exercise each rule (blocks, out-of-service rooms, overbooking, the
 * availability cap, markups, stop-sell, a missing rate).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { seedDemo } from '../helpers/demo.ts';
import { currentAri, type AriValues, type CellKey } from '../../connectors/outbound/sql/ari.ts';

const db = useTestDatabase();
const NIGHTS = 30;
type Rows = Record<string, any>[];

beforeAll(async () => {
  await seedDemo(db.current.pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: NIGHTS });
});

const q = async (sql: string, params: unknown[] = []): Promise<Rows> => (await db.current.pool.query(sql, params)).rows;

async function mappedCells(): Promise<CellKey[]> {
  const maps = await q(`SELECT connection_id, room_type_id, rate_plan_id FROM channel.channel_mappings WHERE deleted_at IS NULL`);
  const nights = (await q(`SELECT to_char(current_date + n, 'YYYY-MM-DD') AS d FROM generate_series(0, $1 - 1) n`, [NIGHTS])).map((r) => r.d as string);
  return maps.flatMap((m) => nights.map((d) => ({ connectionId: m.connection_id, roomTypeId: m.room_type_id, ratePlanId: m.rate_plan_id, stayDate: d })));
}

/** The rules of connectors/sql/ari.ts, applied in JavaScript to the raw rows. */
async function oracle(cells: CellKey[]): Promise<Map<string, Omit<AriValues, keyof CellKey>>> {
  const rooms = await q(`SELECT room_type_id, status, deleted_at FROM property_mgmt.rooms`);
  const stays = await q(`SELECT room_type_id, status, deleted_at, arrival_date::text AS a, departure_date::text AS d FROM reservation.reservation_rooms`);
  const blocks = await q(`SELECT room_type_id, rooms, deleted_at, start_date::text AS s, end_date::text AS e FROM property_mgmt.inventory_blocks`);
  const rates = await q(`SELECT room_type_id, rate_plan_id, stay_date::text AS d, amount::text AS amount, currency, deleted_at FROM property_mgmt.daily_rates`);
  const restr = await q(
    `SELECT room_type_id, rate_plan_id, stay_date::text AS d, min_los, max_los, closed_to_arrival, closed_to_departure, stop_sell, deleted_at FROM property_mgmt.restrictions`,
  );
  const conns = new Map((await q(`SELECT id, settings FROM channel.channel_connections`)).map((c) => [c.id, c.settings]));
  const maps = await q(`SELECT connection_id, room_type_id, rate_plan_id, settings FROM channel.channel_mappings WHERE deleted_at IS NULL`);
  const out = new Map<string, Omit<AriValues, keyof CellKey>>();
  for (const c of cells) {
    const live = (r: Record<string, any>) => r.deleted_at === null;
    const sellable = rooms.filter((r) => live(r) && r.room_type_id === c.roomTypeId && r.status !== 'out_of_service').length;
    const taken = stays.filter(
      (s) => live(s) && s.room_type_id === c.roomTypeId && ['confirmed', 'checked_in'].includes(s.status) && s.a <= c.stayDate && c.stayDate < s.d,
    ).length;
    const blocked = blocks.filter((b) => live(b) && b.room_type_id === c.roomTypeId && b.s <= c.stayDate && c.stayDate < b.e).reduce((n, b) => n + b.rooms, 0);
    const free = sellable - taken - blocked;
    const conn = conns.get(c.connectionId) ?? {};
    const map = maps.find((m) => m.connection_id === c.connectionId && m.room_type_id === c.roomTypeId && m.rate_plan_id === c.ratePlanId)!;
    const cap = conn.max_availability ?? Infinity;
    const rate = rates.find((r) => live(r) && r.room_type_id === c.roomTypeId && r.rate_plan_id === c.ratePlanId && r.d === c.stayDate);
    const rs = restr.find((r) => live(r) && r.room_type_id === c.roomTypeId && r.rate_plan_id === c.ratePlanId && r.d === c.stayDate);
    const markup = Number(map.settings.markup_pct ?? conn.markup_pct ?? 0);
    // Exact decimal arithmetic (markups here have one decimal): cents × (1000 + 10 × markup) / 1000,
    // rounded half up as PostgreSQL's round(numeric) does for positive amounts.
    const cents = rate ? (BigInt(rate.amount.replace('.', '')) * BigInt(1000 + Math.round(markup * 10)) + 500n) / 1000n : null;
    out.set(`${c.connectionId}|${c.roomTypeId}|${c.ratePlanId}|${c.stayDate}`, {
      availability: Math.min(Math.max(free, 0), cap),
      overbooked: free < 0,
      rate: cents === null ? null : `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`,
      currency: rate?.currency ?? null,
      minLos: rs?.min_los ?? null,
      maxLos: rs?.max_los ?? null,
      closedToArrival: rs?.closed_to_arrival ?? false,
      closedToDeparture: rs?.closed_to_departure ?? false,
      closed: (rs?.stop_sell ?? false) || !rate,
    });
  }
  return out;
}

async function compare(): Promise<AriValues[]> {
  const cells = await mappedCells();
  const got = (await db.current.pool.query(currentAri(cells))).rows as AriValues[];
  const want = await oracle(cells);
  expect(got).toHaveLength(cells.length);
  for (const g of got) {
    const { connectionId, roomTypeId, ratePlanId, stayDate, ...values } = g;
    expect(values, `${roomTypeId}/${ratePlanId}/${stayDate}`).toEqual(want.get(`${connectionId}|${roomTypeId}|${ratePlanId}|${stayDate}`));
  }
  return got;
}

describe('currentAri', () => {
  it('matches the rules on the demo hotel as seeded', async () => {
    const got = await compare();
    expect(got.some((v) => v.availability > 0)).toBe(true);
    expect(new Set(got.map((v) => v.availability)).size).toBeGreaterThan(1); // the seeded stays make nights differ
  });

  it('matches them after blocks, an out-of-service room, an overbooking, a cap, markups, stop-sell and a missing rate', async () => {
    const one = async (sql: string) => (await q(sql))[0]!;
    const std = await one(`SELECT id, property_id FROM property_mgmt.room_types WHERE code = 'STD'`);
    const dlx = await one(`SELECT id FROM property_mgmt.room_types WHERE code = 'DLX'`);
    const bar = await one(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'BAR'`);
    await q(
      `INSERT INTO property_mgmt.inventory_blocks (property_id, room_type_id, start_date, end_date, rooms, reason)
             VALUES ($1, $2, current_date + 3, current_date + 6, 2, 'maintenance'), ($1, $3, current_date + 10, current_date + 11, 500, 'overbook me')`,
      [std.property_id, std.id, dlx.id],
    );
    await q(
      `UPDATE property_mgmt.rooms SET status = 'out_of_service' WHERE id = (SELECT id FROM property_mgmt.rooms WHERE room_type_id = $1 ORDER BY number LIMIT 1)`,
      [std.id],
    );
    await q(`UPDATE channel.channel_connections SET settings = settings || '{"max_availability": 3, "markup_pct": 12.5}' WHERE channel_code = 'expedia'`);
    await q(`UPDATE channel.channel_mappings SET settings = settings || '{"markup_pct": 7}' WHERE room_type_id = $1 AND rate_plan_id = $2`, [std.id, bar.id]);
    await q(
      `UPDATE property_mgmt.restrictions SET stop_sell = true, closed_to_arrival = true, min_los = 2 WHERE room_type_id = $1 AND stay_date = current_date + 4`,
      [dlx.id],
    );
    await q(`UPDATE property_mgmt.daily_rates SET deleted_at = now() WHERE room_type_id = $1 AND rate_plan_id = $2 AND stay_date = current_date + 8`, [
      std.id,
      bar.id,
    ]);
    const got = await compare();
    expect(got.some((v) => v.overbooked && v.availability === 0)).toBe(true);
    expect(got.some((v) => v.closed && v.rate === null)).toBe(true);
  });
});
