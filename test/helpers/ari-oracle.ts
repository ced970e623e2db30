/**
 * The independent ARI oracle: what every cell must show, recomputed in JavaScript from the raw
 * rows by the rules as the database design and issue 18 state them — never by the product's SQL
 * (connectors/outbound/sql/ari.ts). Money is exact:
 * integer cents and BigInt rationals, rounded as the rules say.
 *
 *  - Availability: rooms of the type not deleted and not out of service, minus stays whose room
 *    and reservation are both confirmed or checked in and neither deleted, minus blocked rooms;
 *    `overbooked` below 0. Then the channel's rules, per OTA room: for each active mapping of the
 *    room type, + availability_offset (the mapping's, else the connection's), never below 0, at
 *    most the lower of the two max_availability caps; the room shows the lowest of these.
 *  - Rate: the plan's own live row; else, for a plan derived from a live parent, the parent's rate
 *    × (1 + pct/100) + amount, rounded by the plan's rule (cent, whole: half away from zero; up,
 *    down: to the whole unit), no rate unless above 0. Then the markup (the mapping's, else the
 *    connection's), half up to cents. No rate → closed.
 *  - Occupancy prices (a per-occupancy plan): the own row's price per number of guests, else
 *    the parent's, each derived by the plan's rule (one not above 0 is dropped), then the markup;
 *    none when the night has no rate or no occupancy price is left.
 *  - Restrictions: the plan's own live row whole, else (derived, live parent) the parent's row:
 *    arrival-based and stay-through min/max stay, min/max advance days, CTA/CTD, stop-sell.
 *    Closed on stop-sell, no rate, a per-occupancy plan without occupancy prices, or a close_out
 *    switch on the mapping or the connection. The room type closed that night: a live
 *    room_type_closures row with closed = true.
 */
import type { Pool } from '../../core/db.ts';
import type { AriValues, CellKey } from '../../connectors/outbound/sql/ari.ts';

type Row = Record<string, any>;
export type OracleValues = Omit<AriValues, keyof CellKey>;
export const cellId = (c: CellKey) => `${c.connectionId}|${c.roomTypeId}|${c.ratePlanId}|${c.stayDate}`;

/** "129.5" → 12950n (amounts have at most two decimals). */
function cents(amount: string): bigint {
  const [whole, frac = ''] = amount.split('.');
  const sign = whole!.startsWith('-') ? -1n : 1n;
  return sign * (BigInt(whole!.replace('-', '')) * 100n + BigInt((frac + '00').slice(0, 2)));
}
const text = (c: bigint) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;

/** num/den (den > 0) to an integer: half away from zero, or toward +∞ / −∞. */
function divide(num: bigint, den: bigint, how: 'half' | 'up' | 'down'): bigint {
  const q = num / den; // truncates toward zero
  const r = num % den;
  if (r === 0n) return q;
  if (how === 'up') return num > 0n ? q + 1n : q;
  if (how === 'down') return num < 0n ? q - 1n : q;
  const twice = (r < 0n ? -r : r) * 2n;
  return twice >= den ? q + (num < 0n ? -1n : 1n) : q;
}

/** A percentage with at most two decimals, in hundredths of a percent: "-12.5" → -1250n. */
const basisPoints = (pct: unknown) => (pct === null || pct === undefined ? 0n : BigInt(Math.round(Number(pct) * 100)));

/** The derived rate in cents, or null (the rule in the module comment). */
export function derivedCents(parent: bigint, pct: unknown, amount: unknown, rounding: string): bigint | null {
  // x = parent × (10000 + bp) / 10000 + amount, in cents: numerator over 10000.
  const num = parent * (10000n + basisPoints(pct)) + (amount === null || amount === undefined ? 0n : cents(String(amount))) * 10000n;
  const rounded =
    rounding === 'cent' ? divide(num, 10000n, 'half') : divide(num, 1_000_000n, rounding === 'whole' ? 'half' : (rounding as 'up' | 'down')) * 100n;
  return rounded > 0n ? rounded : null;
}

/** The rate after a markup in percent (any decimals the API allows), half up to cents. */
function withMarkup(base: bigint, markup: unknown): bigint {
  const [w, f = ''] = String(markup ?? 0).split('.');
  const scale = 10n ** BigInt(f.length);
  const m = BigInt(w!.replace('-', '')) * scale + BigInt(f || '0');
  const signed = w!.startsWith('-') ? -m : m;
  return divide(base * (100n * scale + signed), 100n * scale, 'half');
}

/** What each of `cells` must show, by cellId. */
export async function ariOracle(pool: Pool, cells: CellKey[]): Promise<Map<string, OracleValues>> {
  const q = async (sql: string): Promise<Row[]> => (await pool.query(sql)).rows;
  const live = (r: Row | undefined) => !!r && r.deleted_at === null;
  const [rooms, stays, blocks, rates, restrictions, plans, conns, maps, closures] = await Promise.all([
    q(`SELECT room_type_id, status, deleted_at FROM property_mgmt.rooms`),
    q(`SELECT rr.room_type_id, rr.status, rr.deleted_at, res.status AS res_status, res.deleted_at AS res_deleted_at,
              rr.arrival_date::text AS a, rr.departure_date::text AS d
       FROM reservation.reservation_rooms rr JOIN reservation.reservations res ON res.id = rr.reservation_id`),
    q(`SELECT room_type_id, rooms, deleted_at, start_date::text AS s, end_date::text AS e FROM property_mgmt.inventory_blocks`),
    q(`SELECT room_type_id, rate_plan_id, stay_date::text AS d, amount::text AS amount, currency::text AS currency, occupancy_amounts::text AS occ, deleted_at
       FROM property_mgmt.daily_rates`),
    q(`SELECT room_type_id, rate_plan_id, stay_date::text AS d, min_los, max_los, closed_to_arrival, closed_to_departure, stop_sell,
              min_stay_through, max_stay_through, min_advance_days, max_advance_days, deleted_at
       FROM property_mgmt.restrictions`),
    q(`SELECT id, parent_rate_plan_id, derived_adjustment_pct::text AS pct, derived_adjustment_amount::text AS amount, derived_rounding, pricing_model, deleted_at
       FROM property_mgmt.rate_plans`),
    q(`SELECT id, settings FROM channel.channel_connections`),
    q(`SELECT connection_id, room_type_id, rate_plan_id, settings FROM channel.channel_mappings WHERE deleted_at IS NULL AND active`),
    q(`SELECT room_type_id, stay_date::text AS d, closed, deleted_at FROM property_mgmt.room_type_closures`),
  ]);
  const roomClosed = new Set(closures.filter((r) => live(r) && r.closed).map((r) => `${r.room_type_id}|${r.d}`));
  const byKey = <T extends Row>(rows: T[], key: (r: T) => string) => new Map(rows.map((r) => [key(r), r]));
  const rateOf = byKey(rates, (r) => `${r.room_type_id}|${r.rate_plan_id}|${r.d}`);
  const restrOf = byKey(restrictions, (r) => `${r.room_type_id}|${r.rate_plan_id}|${r.d}`);
  const planOf = byKey(plans, (p) => p.id);
  const connOf = byKey(conns, (c) => c.id);
  const mapOf = byKey(maps, (m) => `${m.connection_id}|${m.room_type_id}|${m.rate_plan_id}`);
  const holding = new Set(['confirmed', 'checked_in']);
  const free = new Map<string, number>();
  const freeOn = (roomType: string, night: string): number => {
    const key = `${roomType}|${night}`;
    let n = free.get(key);
    if (n === undefined) {
      n =
        rooms.filter((r) => live(r) && r.room_type_id === roomType && r.status !== 'out_of_service').length -
        stays.filter(
          (s) =>
            s.room_type_id === roomType &&
            live(s) &&
            s.res_deleted_at === null &&
            holding.has(s.status) &&
            holding.has(s.res_status) &&
            s.a <= night &&
            night < s.d,
        ).length -
        blocks.filter((b) => live(b) && b.room_type_id === roomType && b.s <= night && night < b.e).reduce((sum, b) => sum + b.rooms, 0);
      free.set(key, n);
    }
    return n;
  };

  const out = new Map<string, OracleValues>();
  for (const c of cells) {
    const conn = connOf.get(c.connectionId)?.settings ?? {};
    const map = mapOf.get(`${c.connectionId}|${c.roomTypeId}|${c.ratePlanId}`)?.settings ?? {};
    const plan = planOf.get(c.ratePlanId)!;
    const parent = plan.parent_rate_plan_id ? planOf.get(plan.parent_rate_plan_id) : undefined;
    const liveParent = live(parent) ? parent!.id : null;
    const cellOf = (plan: string) => `${c.roomTypeId}|${plan}|${c.stayDate}`;

    const n = freeOn(c.roomTypeId, c.stayDate);
    // Availability is the OTA room's: the lowest any active mapping of the room type asks for.
    const shown = Math.min(
      ...maps
        .filter((m) => m.connection_id === c.connectionId && m.room_type_id === c.roomTypeId)
        .map((m) => {
          const offset = Number(m.settings.availability_offset ?? conn.availability_offset ?? 0);
          const cap = Math.min(Number(m.settings.max_availability ?? Infinity), Number(conn.max_availability ?? Infinity));
          return Math.min(Math.max(n + offset, 0), cap);
        }),
    );

    const own = rateOf.get(cellOf(c.ratePlanId));
    let base: bigint | null = null;
    let currency: string | null = null;
    // Occupancy prices in cents by number of guests, before the markup (per-occupancy plans).
    let occupancy: Array<[string, bigint]> | null = null;
    // The amounts of a jsonb object read as text: the decimals exactly as stored (no floats).
    const amountsOf = (occ: string | null) => (occ === null ? [] : [...occ.matchAll(/"(\d+)":\s*([0-9.]+)/g)].map((m) => [m[1]!, m[2]!] as const));
    if (live(own)) {
      base = cents(own!.amount);
      currency = own!.currency;
      occupancy = amountsOf(own!.occ).map(([k, a]) => [k, cents(a)]);
    } else if (liveParent) {
      const p = rateOf.get(cellOf(liveParent));
      if (live(p)) {
        base = derivedCents(cents(p!.amount), plan.pct, plan.amount, plan.derived_rounding);
        currency = base === null ? null : p!.currency;
        occupancy = amountsOf(p!.occ).flatMap(([k, a]) => {
          const d = derivedCents(cents(a), plan.pct, plan.amount, plan.derived_rounding);
          return d === null ? [] : [[k, d] as [string, bigint]];
        });
      }
    }
    const markup = map.markup_pct ?? conn.markup_pct ?? 0;
    const occupancyRates =
      plan.pricing_model === 'per_occupancy' && base !== null && occupancy?.length
        ? Object.fromEntries(occupancy.map(([k, a]) => [k, text(withMarkup(a, markup))]))
        : null;
    const rs = live(restrOf.get(cellOf(c.ratePlanId))) ? restrOf.get(cellOf(c.ratePlanId)) : liveParent ? restrOf.get(cellOf(liveParent)) : undefined;
    const r = live(rs) ? rs : undefined;
    out.set(cellId(c), {
      availability: shown,
      overbooked: n < 0,
      rate: base === null ? null : text(withMarkup(base, markup)),
      currency,
      minLos: r?.min_los ?? null,
      maxLos: r?.max_los ?? null,
      closedToArrival: r?.closed_to_arrival ?? false,
      closedToDeparture: r?.closed_to_departure ?? false,
      closed:
        (r?.stop_sell ?? false) ||
        base === null ||
        (plan.pricing_model === 'per_occupancy' && occupancyRates === null) ||
        map.close_out === true ||
        conn.close_out === true,
      pricingModel: plan.pricing_model,
      otaPricingModel: map.pricing_model ?? conn.pricing_model ?? 'per_day',
      occupancyRates,
      minStayThrough: r?.min_stay_through ?? null,
      maxStayThrough: r?.max_stay_through ?? null,
      minAdvanceDays: r?.min_advance_days ?? null,
      maxAdvanceDays: r?.max_advance_days ?? null,
      roomClosed: roomClosed.has(`${c.roomTypeId}|${c.stayDate}`),
      pmsAvailability: Math.max(n, 0),
      pmsRate: base === null ? null : text(base),
    });
  }
  return out;
}

/** Every active mapped cell of a connection for [today, today + days) in its property's time zone. */
export async function mappedCells(pool: Pool, connectionId: string | null, days: number): Promise<CellKey[]> {
  const { rows } = await pool.query<CellKey>(
    `SELECT m.connection_id AS "connectionId", m.room_type_id AS "roomTypeId", m.rate_plan_id AS "ratePlanId", d::date::text AS "stayDate"
     FROM channel.channel_mappings m JOIN property_mgmt.properties p ON p.id = m.property_id
     CROSS JOIN generate_series((now() AT TIME ZONE p.timezone)::date, (now() AT TIME ZONE p.timezone)::date + ($2::int - 1), interval '1 day') d
     WHERE ($1::uuid IS NULL OR m.connection_id = $1) AND m.active AND m.deleted_at IS NULL`,
    [connectionId, days],
  );
  return rows;
}
