/**
 * The ARI a connection must show, computed in SQL for a batch, against an independent computation
 * in the test from the raw rows — over every mapped cell of the demo hotel for 30 nights, before
 * and after edits that exercise each rule (blocks, out-of-service rooms, overbooking, the
 * availability cap, markups, stop-sell, a missing rate), derived plans, channel rules, occupancy
 * prices (own, derived, marked up, missing), stay-through and advance-booking restrictions and
 * room type closures.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db.ts';
import { seedDemo } from '../helpers/demo.ts';
import { currentAri, type AriValues } from '../../connectors/outbound/sql/ari.ts';
import { ariOracle, cellId, mappedCells } from '../helpers/ari-oracle.ts';

const db = useTestDatabase();
const NIGHTS = 30;
type Rows = Record<string, any>[];

beforeAll(async () => {
  await seedDemo(db.current.pool, { sandboxBaseUrl: 'http://127.0.0.1:9', days: NIGHTS });
});

const q = async (sql: string, params: unknown[] = []): Promise<Rows> => (await db.current.pool.query(sql, params)).rows;

async function compare(): Promise<AriValues[]> {
  const cells = await mappedCells(db.current.pool, null, NIGHTS);
  const got = (await db.current.pool.query(currentAri(cells))).rows as AriValues[];
  const want = await ariOracle(db.current.pool, cells);
  expect(got).toHaveLength(cells.length);
  for (const g of got) {
    const { connectionId, roomTypeId, ratePlanId, stayDate, ...values } = g;
    expect(values, `${roomTypeId}/${ratePlanId}/${stayDate}`).toEqual(want.get(cellId({ connectionId, roomTypeId, ratePlanId, stayDate })));
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

  it('matches them for derived plans (percentage, amount, each rounding, own rows, a deleted parent) and every channel rule', async () => {
    const one = async (sql: string, params: unknown[] = []) => (await q(sql, params))[0]!;
    const std = await one(`SELECT id, property_id FROM property_mgmt.room_types WHERE code = 'STD'`);
    const bar = await one(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'BAR'`);
    const nrf = await one(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'NRF'`);
    const bb = await one(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'BB'`);
    // Three more derived plans, mapped at both OTAs: from BB by an amount, from BB by a percentage
    // and an amount (rounded up), and one priced at nothing (−100 %: closed, never sold at 0).
    const plans: Record<string, string> = {};
    for (const [code, pct, amount, rounding] of [
      ['MBR', null, '-7.35', 'cent'],
      ['PKG', '12.5', '3', 'up'],
      ['ZERO', '-100', null, 'down'],
    ] as const) {
      plans[code] = (
        await one(
          `INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency, parent_rate_plan_id, derived_adjustment_pct, derived_adjustment_amount, derived_rounding)
           VALUES ($1, $2, $2, 'EUR', $3, $4, $5, $6) RETURNING id`,
          [std.property_id, code, bb.id, pct, amount, rounding],
        )
      ).id;
      await q(
        `INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code)
         SELECT m.connection_id, m.property_id, m.room_type_id, $1, m.ota_room_code, m.ota_rate_code || $2 FROM channel.channel_mappings m WHERE m.rate_plan_id = $3`,
        [plans[code], code, bb.id],
      );
    }
    // NRF rounds down now; it has its own rate on night 2 (an override) and its parent none on night 5.
    await q(`UPDATE property_mgmt.rate_plans SET derived_rounding = 'down', derived_adjustment_amount = 0.5 WHERE id = $1`, [nrf.id]);
    await q(
      `INSERT INTO property_mgmt.daily_rates (property_id, room_type_id, rate_plan_id, stay_date, amount, currency) VALUES ($1, $2, $3, current_date + 2, 77.77, 'EUR')`,
      [std.property_id, std.id, nrf.id],
    );
    await q(`UPDATE property_mgmt.daily_rates SET deleted_at = now() WHERE rate_plan_id = $1 AND stay_date = current_date + 5`, [bar.id]);
    // A derived plan's own restriction row is taken whole, the parent's otherwise.
    await q(`UPDATE property_mgmt.restrictions SET stop_sell = true, max_los = 5 WHERE rate_plan_id = $1 AND stay_date = current_date + 6`, [bb.id]);
    await q(
      `INSERT INTO property_mgmt.restrictions (property_id, room_type_id, rate_plan_id, stay_date, min_los, closed_to_departure)
       VALUES ($1, $2, $3, current_date + 6, 4, true)`,
      [std.property_id, std.id, plans.MBR],
    );
    // Channel rules: offsets (the mapping's replaces the connection's), caps (the lower applies), close-outs (either closes).
    await q(
      `UPDATE channel.channel_connections SET settings = settings || '{"availability_offset": -2, "max_availability": 6}' WHERE channel_code = 'booking_com'`,
    );
    await q(`UPDATE channel.channel_connections SET settings = settings || '{"availability_offset": 3, "close_out": false}' WHERE channel_code = 'expedia'`);
    await q(
      `UPDATE channel.channel_mappings SET settings = settings || '{"availability_offset": 1, "max_availability": 2, "markup_pct": 4.25}' WHERE rate_plan_id = $1`,
      [plans.PKG],
    );
    await q(`UPDATE channel.channel_mappings SET settings = settings || '{"close_out": true}' WHERE rate_plan_id = $1 AND room_type_id = $2`, [
      plans.MBR,
      std.id,
    ]);
    const got = await compare();
    const of = (plan: string) => got.filter((v) => v.ratePlanId === plan);
    expect(of(plans.ZERO!).every((v) => v.closed && v.rate === null)).toBe(true);
    expect(of(plans.MBR!).some((v) => !v.closed && v.rate !== null)).toBe(true);
    expect(of(plans.PKG!).every((v) => v.availability <= 2)).toBe(true);
    expect(got.filter((v) => v.ratePlanId === nrf.id && v.roomTypeId === std.id && v.pmsRate === '77.77')).toHaveLength(2); // both OTAs, night 2

    // The close-out switch on the connection closes every cell it has, and only those.
    const expedia = (await one(`SELECT id FROM channel.channel_connections WHERE channel_code = 'expedia'`)).id;
    await q(`UPDATE channel.channel_connections SET settings = settings || '{"close_out": true}' WHERE id = $1`, [expedia]);
    const closed = await compare();
    expect(closed.filter((v) => v.connectionId === expedia).every((v) => v.closed)).toBe(true);
    expect(closed.filter((v) => v.connectionId !== expedia).some((v) => !v.closed)).toBe(true);

    // A deleted parent prices nothing: the plans derived from BB close (their own rows aside).
    await q(`UPDATE property_mgmt.rate_plans SET deleted_at = now() WHERE id = $1`, [bb.id]);
    const orphaned = await compare();
    expect(orphaned.filter((v) => v.ratePlanId === plans.MBR || v.ratePlanId === plans.PKG).every((v) => v.closed && v.rate === null)).toBe(true);
  });

  it('refuses a parent at another property, in another currency, derived itself, or an adjustment without a parent', async () => {
    const one = async (sql: string, params: unknown[] = []) => (await q(sql, params))[0]!;
    const prop = (await one(`SELECT property_id FROM property_mgmt.rate_plans WHERE code = 'BAR'`)).property_id;
    const bar = (await one(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'BAR'`)).id;
    const nrf = (await one(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'NRF'`)).id;
    const insert = (code: string, currency: string, parent: string | null, pct: number | null) =>
      q(
        `INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency, parent_rate_plan_id, derived_adjustment_pct) VALUES ($1, $2, $2, $3, $4, $5)`,
        [prop, code, currency, parent, pct],
      );
    await expect(insert('X1', 'USD', bar, -5)).rejects.toThrow(/its parent BAR sells in EUR, not USD/);
    await expect(insert('X2', 'EUR', nrf, -5)).rejects.toThrow(/its parent NRF is itself derived/);
    await expect(insert('X3', 'EUR', null, -5)).rejects.toThrow(/rate_plans_adjustment_needs_parent/);
    await expect(q(`UPDATE property_mgmt.rate_plans SET parent_rate_plan_id = $1 WHERE id = $2`, [nrf, bar])).rejects.toThrow(/NRF derives from it/);
    // The parent side: BAR cannot move to another currency under NRF.
    await expect(q(`UPDATE property_mgmt.rate_plans SET currency = 'USD' WHERE id = $1`, [bar])).rejects.toThrow(/NRF derives from it/);
    const gone = await one(
      `INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency, deleted_at) VALUES ($1, 'GONE', 'G', 'EUR', now()) RETURNING id`,
      [prop],
    );
    await expect(insert('X5', 'EUR', gone.id, -5)).rejects.toThrow(/its parent GONE is deleted/);
    const other = await one(
      `INSERT INTO property_mgmt.properties (code, name, timezone, currency, country, address) VALUES ('OTHER', 'Other', 'UTC', 'EUR', 'DE', '{}') RETURNING id`,
    );
    const foreign = await one(`INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency) VALUES ($1, 'FOREIGN', 'F', 'EUR') RETURNING id`, [
      other.id,
    ]);
    await expect(insert('X4', 'EUR', foreign.id, -5)).rejects.toThrow(/belongs to another property/);
    expect(await q(`SELECT code FROM property_mgmt.rate_plans WHERE code LIKE 'X%'`)).toEqual([]);
    expect((await q(`SELECT currency FROM property_mgmt.rate_plans WHERE id = $1`, [bar]))[0]!.currency).toBe('EUR');
  });

  it('matches them for occupancy prices (own, derived, marked up, missing), stay-through and advance restrictions, and room type closures', async () => {
    const one = async (sql: string, params: unknown[] = []) => (await q(sql, params))[0]!;
    const std = await one(`SELECT id, property_id FROM property_mgmt.room_types WHERE code = 'STD'`);
    const dlx = await one(`SELECT id FROM property_mgmt.room_types WHERE code = 'DLX'`);
    const fam = await one(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'FAM'`);
    const bar = await one(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'BAR'`);
    // A per-occupancy plan derived from FAM (−10 %, rounded up), mapped everywhere as per occupancy;
    // its own row on night 2 overrides the derived prices.
    const famnr = await one(
      `INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency, parent_rate_plan_id, derived_adjustment_pct, derived_rounding, pricing_model)
       VALUES ($1, 'FAMNR', 'FAMNR', 'EUR', $2, -10, 'up', 'per_occupancy') RETURNING id`,
      [std.property_id, fam.id],
    );
    await q(
      `INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code, settings)
       SELECT m.connection_id, m.property_id, m.room_type_id, $1, m.ota_room_code, m.ota_rate_code || 'N', m.settings FROM channel.channel_mappings m WHERE m.rate_plan_id = $2`,
      [famnr.id, fam.id],
    );
    await q(
      `INSERT INTO property_mgmt.daily_rates (property_id, room_type_id, rate_plan_id, stay_date, amount, currency, occupancy_amounts)
       VALUES ($1, $2, $3, current_date + 2, 70, 'EUR', '{"1": 50, "2": 70.5}')`,
      [std.property_id, std.id, famnr.id],
    );
    // FAM has no occupancy prices on night 3 (closed), one price only on night 4; a markup at one OTA.
    await q(`UPDATE property_mgmt.daily_rates SET occupancy_amounts = NULL WHERE rate_plan_id = $1 AND stay_date = current_date + 3`, [fam.id]);
    await q(`UPDATE property_mgmt.daily_rates SET occupancy_amounts = '{"2": 99.99}' WHERE rate_plan_id = $1 AND stay_date = current_date + 4`, [fam.id]);
    await q(
      `UPDATE channel.channel_mappings SET settings = settings || '{"markup_pct": 3.3}'
       WHERE rate_plan_id = $1 AND connection_id = (SELECT id FROM channel.channel_connections WHERE channel_code = 'booking_com')`,
      [fam.id],
    );
    // Restrictions: stay-through and advance booking on BAR (NRF, derived, follows) and a FAM row.
    await q(
      `UPDATE property_mgmt.restrictions SET min_stay_through = 3, max_stay_through = 7, min_advance_days = 2, max_advance_days = 90
       WHERE rate_plan_id = $1 AND stay_date = current_date + 5`,
      [bar.id],
    );
    // Room type closures: DLX closed on night 6; a row that does not close, and a deleted one, on STD.
    await q(
      `INSERT INTO property_mgmt.room_type_closures (property_id, room_type_id, stay_date, closed, deleted_at)
       VALUES ($1, $2, current_date + 6, true, NULL), ($1, $3, current_date + 7, false, NULL), ($1, $3, current_date + 8, true, now())`,
      [std.property_id, dlx.id, std.id],
    );
    const got = await compare();
    const of = (plan: string, night: number) => got.filter((v) => v.ratePlanId === plan && v.stayDate === addDays(night));
    const today = (await one(`SELECT current_date::text AS d`)).d as string;
    const addDays = (n: number) => new Date(Date.parse(`${today}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
    for (const n of [1, 3, 5]) expect(of(n === 5 ? bar.id : fam.id, n).length).toBeGreaterThan(0); // the .every()s below see cells
    expect(got.filter((v) => v.roomTypeId === dlx.id && v.stayDate === addDays(6)).length).toBeGreaterThan(0);
    expect(of(fam.id, 1).every((v) => v.occupancyRates !== null && Object.keys(v.occupancyRates).length >= 2)).toBe(true);
    // The markup at Booking.com only: FAM's prices per guest differ between the two OTAs there.
    const famStd = of(fam.id, 1).filter((v) => v.roomTypeId === std.id);
    expect(new Set(famStd.map((v) => v.occupancyRates?.['2'])).size).toBe(2);
    expect(of(fam.id, 3).every((v) => v.closed && v.occupancyRates === null)).toBe(true);
    expect(
      of(famnr.id, 2)
        .filter((v) => v.roomTypeId === std.id)
        .map((v) => v.occupancyRates),
    ).toContainEqual({ '1': '50.00', '2': '70.50' });
    expect(got.filter((v) => v.roomTypeId === dlx.id && v.stayDate === addDays(6)).every((v) => v.roomClosed)).toBe(true);
    expect(got.some((v) => v.roomClosed && v.roomTypeId === std.id)).toBe(false);
    expect(of(bar.id, 5).every((v) => v.minStayThrough === 3 && v.maxAdvanceDays === 90)).toBe(true);
    expect(got.every((v) => v.pricingModel === (v.ratePlanId === fam.id || v.ratePlanId === famnr.id ? 'per_occupancy' : 'per_day'))).toBe(true);
  });

  it('refuses occupancy prices the room cannot hold or that are not prices, and a derived plan priced otherwise than its parent', async () => {
    const one = async (sql: string, params: unknown[] = []) => (await q(sql, params))[0]!;
    const std = await one(`SELECT id, property_id FROM property_mgmt.room_types WHERE code = 'STD'`); // holds 2
    const fam = await one(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'FAM'`);
    const bar = await one(`SELECT id FROM property_mgmt.rate_plans WHERE code = 'BAR'`);
    const set = (json: string) =>
      q(`UPDATE property_mgmt.daily_rates SET occupancy_amounts = $1::jsonb WHERE rate_plan_id = $2 AND room_type_id = $3 AND stay_date = current_date + 9`, [
        json,
        fam.id,
        std.id,
      ]);
    const before = (
      await one(`SELECT occupancy_amounts FROM property_mgmt.daily_rates WHERE rate_plan_id = $1 AND room_type_id = $2 AND stay_date = current_date + 9`, [
        fam.id,
        std.id,
      ])
    ).occupancy_amounts;
    await expect(set('{"1": 80, "3": 120}')).rejects.toThrow(/room type STD on .*: a price for 3 guests, but the room holds at most 2/);
    // The other side: a room type with prices for 4 guests (the suite, FAM) cannot shrink to 3.
    await expect(q(`UPDATE property_mgmt.room_types SET max_occupancy = 3 WHERE code = 'STE'`)).rejects.toThrow(
      /room type STE: max_occupancy 3 is below its price for 4 guests on/,
    );
    for (const bad of ['{"0": 80}', '{"21": 80}', '{"x": 80}', '{"1": -5}', '{"1": 0}', '{"1": 80.125}', '{"1": "80"}', '[80]', '{}'])
      await expect(set(bad), bad).rejects.toThrow(/daily_rates_occupancy_amounts_valid/);
    expect(
      (
        await one(`SELECT occupancy_amounts FROM property_mgmt.daily_rates WHERE rate_plan_id = $1 AND room_type_id = $2 AND stay_date = current_date + 9`, [
          fam.id,
          std.id,
        ])
      ).occupancy_amounts,
    ).toEqual(before);
    await expect(
      q(
        `INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency, parent_rate_plan_id, derived_adjustment_pct) VALUES ($1, 'Y1', 'Y1', 'EUR', $2, -5)`,
        [std.property_id, fam.id],
      ),
    ).rejects.toThrow(/its parent FAM is priced per_occupancy, not per_day/);
    // The parent side: BAR cannot become per occupancy under NRF.
    await expect(q(`UPDATE property_mgmt.rate_plans SET pricing_model = 'per_occupancy' WHERE id = $1`, [bar.id])).rejects.toThrow(
      /NRF derives from it and is priced per_day/,
    );
    await expect(
      q(`UPDATE property_mgmt.restrictions SET min_stay_through = 5, max_stay_through = 3 WHERE rate_plan_id = $1 AND stay_date = current_date + 9`, [bar.id]),
    ).rejects.toThrow(/restrictions_stay_through_order/);
    await expect(
      q(`UPDATE property_mgmt.restrictions SET min_advance_days = 30, max_advance_days = 3 WHERE rate_plan_id = $1 AND stay_date = current_date + 9`, [bar.id]),
    ).rejects.toThrow(/restrictions_advance_order/);
  });
});
