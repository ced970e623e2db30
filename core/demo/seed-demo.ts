/**
 * `stayos seed-demo`: a demo property to try the pipeline on — 3 room types, 30 rooms, 3 rate plans,
 * 500 days of rates and restrictions, the connections it is given (every OTA sandbox's, from
 * connectors/demo.ts) with full mappings (pointed at the sandboxes `stayos start` serves), guests
 * and reservations for the analytics.
 *
 * Idempotent: one transaction; on a database that already has the demo property only the rate
 * and restriction window is topped up (so a run on a later day extends it), and nothing else
 * changes. The generated data is deterministic (seeded PRNG): every install shows the same hotel.
 */
import type { Pool, PoolClient } from '../db.ts';
import { withTransaction } from '../db.ts';
import { DEMO, demoGuests } from './demo-data.ts';
import { prng } from '../prng.ts';

/** One demo connection (an OTA adapter's demo account, served by its sandbox at `sandboxPath`). */
export interface DemoSeedConnection {
  channel: string;
  sandboxPath: string;
  hotelCode: string;
  credentials: Record<string, string>;
  /** Its settings, those that point it at the sandbox included. */
  settings: Record<string, unknown>;
  /** The OTA's room and rate codes by the demo's room type and rate plan codes. */
  roomCodes: Record<string, string>;
  rateCodes: Record<string, string>;
  /** The sandbox serves the channel's reservations URL too (on the same base URL). */
  reservationsUrl: boolean;
}

export interface SeedResult {
  created: boolean;
  propertyId: string;
  rates: number;
  restrictions: number;
  reservations: number;
}

/** Rates and restrictions for [today, today + days) in the property's timezone, computed in SQL. */
async function topUpAri(client: PoolClient, propertyId: string, days: number): Promise<{ rates: number; restrictions: number }> {
  // Price = base × season (sine over the year, ±15 %) × weekend uplift; BB +18 per guest. Derived
  // plans (NRF: BAR − 10 %, to whole euros) have no rows of their own: the ARI follows the parent.
  // A per-occupancy plan (FAM) has a price per number of guests up to the room's maximum: the
  // base + 15 per guest after the first, single use 12 below that; its amount is the full room's.
  const rates = await client.query(
    `WITH p AS (SELECT id, currency, (now() AT TIME ZONE timezone)::date AS today FROM property_mgmt.properties WHERE id = $1)
     INSERT INTO property_mgmt.daily_rates (property_id, room_type_id, rate_plan_id, stay_date, amount, currency, occupancy_amounts)
     SELECT p.id, rt.id, rp.id, d::date,
            CASE WHEN rp.pricing_model = 'per_occupancy' THEN round(b.base + 15 * (rt.max_occupancy - 1), 2)
                 ELSE round(b.base + (CASE rp.code WHEN 'BB' THEN 18 * rt.max_occupancy ELSE 0 END), 2) END,
            p.currency,
            CASE WHEN rp.pricing_model = 'per_occupancy' THEN
              (SELECT jsonb_object_agg(g, round(b.base + 15 * (g - 1) - CASE WHEN g = 1 THEN 12 ELSE 0 END, 2))
               FROM generate_series(1, rt.max_occupancy) g) END
     FROM p
     JOIN property_mgmt.room_types rt ON rt.property_id = p.id AND rt.deleted_at IS NULL
     JOIN property_mgmt.rate_plans rp ON rp.property_id = p.id AND rp.deleted_at IS NULL AND rp.parent_rate_plan_id IS NULL
     CROSS JOIN generate_series(p.today, p.today + ($2::int - 1), interval '1 day') d
     CROSS JOIN LATERAL (SELECT ((CASE rt.code WHEN 'STD' THEN 110 WHEN 'DLX' THEN 160 ELSE 240 END)
                  * (1 + 0.15 * sin(2 * pi() * extract(doy FROM d) / 365.0))
                  * (CASE WHEN extract(isodow FROM d) IN (5, 6) THEN 1.2 ELSE 1 END))::numeric AS base) b
     ON CONFLICT (room_type_id, rate_plan_id, stay_date) DO NOTHING`,
    [propertyId, days],
  );
  // Summer weekends need 2 nights from arrival; the suite is closed to arrival on Sundays. A
  // derived plan takes its parent's restrictions except where it has its own: NRF on the 1st of
  // each month (3 nights). Every stay through a Saturday of FAM lasts 2 nights at least, BB is
  // booked a day ahead at least, BAR a year ahead at most.
  const restrictions = await client.query(
    `WITH p AS (SELECT id, (now() AT TIME ZONE timezone)::date AS today FROM property_mgmt.properties WHERE id = $1)
     INSERT INTO property_mgmt.restrictions (property_id, room_type_id, rate_plan_id, stay_date, min_los, max_los,
                                             closed_to_arrival, closed_to_departure, stop_sell,
                                             min_stay_through, max_stay_through, min_advance_days, max_advance_days)
     SELECT p.id, rt.id, rp.id, d::date,
            CASE WHEN rp.parent_rate_plan_id IS NOT NULL THEN 3
                 WHEN extract(month FROM d) IN (6, 7, 8) AND extract(isodow FROM d) IN (5, 6) THEN 2 ELSE 1 END,
            28,
            rt.code = 'STE' AND extract(isodow FROM d) = 7,
            false,
            false,
            CASE WHEN rp.code = 'FAM' AND extract(isodow FROM d) = 6 THEN 2 END,
            CASE WHEN rp.code = 'FAM' THEN 14 END,
            CASE WHEN rp.code = 'BB' THEN 1 END,
            CASE WHEN rp.code = 'BAR' THEN 365 END
     FROM p
     JOIN property_mgmt.room_types rt ON rt.property_id = p.id AND rt.deleted_at IS NULL
     JOIN property_mgmt.rate_plans rp ON rp.property_id = p.id AND rp.deleted_at IS NULL
     CROSS JOIN generate_series(p.today, p.today + ($2::int - 1), interval '1 day') d
     WHERE rp.parent_rate_plan_id IS NULL OR extract(day FROM d) = 1
     ON CONFLICT (room_type_id, rate_plan_id, stay_date) DO NOTHING`,
    [propertyId, days],
  );
  // The suite is closed (every rate) on the 15th of each month: its maintenance day.
  await client.query(
    `WITH p AS (SELECT id, (now() AT TIME ZONE timezone)::date AS today FROM property_mgmt.properties WHERE id = $1)
     INSERT INTO property_mgmt.room_type_closures (property_id, room_type_id, stay_date, reason)
     SELECT p.id, rt.id, d::date, 'maintenance day'
     FROM p JOIN property_mgmt.room_types rt ON rt.property_id = p.id AND rt.code = 'STE' AND rt.deleted_at IS NULL
     CROSS JOIN generate_series(p.today, p.today + ($2::int - 1), interval '1 day') d
     WHERE extract(day FROM d) = 15
     ON CONFLICT (room_type_id, stay_date) DO NOTHING`,
    [propertyId, days],
  );
  return { rates: rates.rowCount ?? 0, restrictions: restrictions.rowCount ?? 0 };
}

async function createProperty(client: PoolClient, sandboxBaseUrl: string, connections: readonly DemoSeedConnection[]): Promise<string> {
  const {
    rows: [property],
  } = await client.query<{ id: string }>(
    `INSERT INTO property_mgmt.properties (code, name, timezone, currency, country, address)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [DEMO.code, DEMO.name, DEMO.timezone, DEMO.currency, DEMO.country, DEMO.address],
  );
  const propertyId = property!.id;
  const roomTypes = new Map<string, string>();
  for (const rt of DEMO.roomTypes) {
    const {
      rows: [row],
    } = await client.query<{ id: string }>(
      `INSERT INTO property_mgmt.room_types (property_id, code, name, max_occupancy, max_adults, max_children, size_sqm, sort_order)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [propertyId, rt.code, rt.name, rt.maxOccupancy, rt.maxOccupancy, rt.maxOccupancy - 1, rt.sizeSqm, rt.sort],
    );
    roomTypes.set(rt.code, row!.id);
    await client.query(
      `INSERT INTO property_mgmt.rooms (property_id, room_type_id, number, floor)
       SELECT $1, $2, n::text, left(n::text, 1) FROM unnest($3::int[]) n`,
      [propertyId, row!.id, rt.rooms],
    );
  }
  const ratePlans = new Map<string, string>();
  for (const rp of DEMO.ratePlans) {
    const {
      rows: [row],
    } = await client.query<{ id: string }>(
      `INSERT INTO property_mgmt.rate_plans (property_id, code, name, currency, meal_plan, refundable, cancellation_hours, parent_rate_plan_id,
                                             derived_adjustment_pct, derived_rounding, pricing_model)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
      [
        propertyId,
        rp.code,
        rp.name,
        DEMO.currency,
        rp.mealPlan,
        rp.refundable,
        rp.cancellationHours,
        rp.parent ? ratePlans.get(rp.parent) : null,
        rp.adjustmentPct ?? null,
        rp.rounding ?? 'cent',
        rp.pricingModel ?? 'per_day',
      ],
    );
    ratePlans.set(rp.code, row!.id);
  }
  await client.query(
    `INSERT INTO reservation.cancellation_policies (property_id, code, name, deadline_hours, penalty_type, penalty_value)
     VALUES ($1, 'FLEX24', 'Free cancellation until 24 h before arrival', 24, 'first_night', 0),
            ($1, 'NONREF', 'Non-refundable', 0, 'percent', 100)`,
    [propertyId],
  );
  for (const c of connections) {
    const {
      rows: [conn],
    } = await client.query<{ id: string }>(
      // The sandbox serves ARI and (Booking.com) the reservation queues on one base URL; a real
      // Booking.com connection has two hosts (its adapter's production URLs).
      `INSERT INTO channel.channel_connections (property_id, channel_code, ota_hotel_code, endpoint_url, reservations_url, credentials, status, settings)
       VALUES ($1, $2, $3, $4, CASE WHEN $7 THEN $4 END, shared.encrypt_pii($5), 'active', $6) RETURNING id`,
      [propertyId, c.channel, c.hotelCode, `${sandboxBaseUrl}${c.sandboxPath}`, JSON.stringify(c.credentials), c.settings, c.reservationsUrl],
    );
    for (const [rtCode, rtId] of roomTypes) {
      for (const [rpCode, rpId] of ratePlans) {
        // The OTA's rate of a per-occupancy plan is set up for occupancy-based pricing (Booking.com
        // and Expedia let a room-rate or rate plan differ from the property).
        const perOccupancy = DEMO.ratePlans.find((p) => p.code === rpCode)?.pricingModel === 'per_occupancy';
        await client.query(
          `INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code, settings)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [conn!.id, propertyId, rtId, rpId, c.roomCodes[rtCode], c.rateCodes[rpCode], perOccupancy ? { pricing_model: 'per_occupancy' } : {}],
        );
      }
    }
  }
  return propertyId;
}

/** Guests and ~150 reservations around today, never more rooms than a type has on any night. */
async function createStays(client: PoolClient, propertyId: string): Promise<number> {
  const random = prng(20261124);
  const guestIds: string[] = [];
  for (const g of demoGuests()) {
    const {
      rows: [row],
    } = await client.query<{ id: string }>(
      `INSERT INTO guest.profiles (property_id, first_name, last_name, email, phone, nationality, language, preferences, source)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'demo') RETURNING id`,
      [propertyId, g.first, g.last, g.email, g.phone, g.country, g.language, g.preferences],
    );
    guestIds.push(row!.id);
    if (g.passport) {
      await client.query(
        `INSERT INTO guest.identity_documents (profile_id, property_id, document_type, document_number_encrypted, document_number_fingerprint, issuing_country)
         VALUES ($1, $2, 'passport', shared.encrypt_pii($3), shared.pii_fingerprint($3), $4)`,
        [row!.id, propertyId, g.passport, g.country],
      );
    }
  }
  const { rows: types } = await client.query<{ id: string; code: string; rooms: number }>(
    `SELECT rt.id, rt.code, count(r.id)::int AS rooms FROM property_mgmt.room_types rt
     JOIN property_mgmt.rooms r ON r.room_type_id = rt.id WHERE rt.property_id = $1 GROUP BY rt.id, rt.code ORDER BY rt.code`,
    [propertyId],
  );
  const { rows: plans } = await client.query<{ id: string; code: string }>(
    `SELECT id, code FROM property_mgmt.rate_plans WHERE property_id = $1 ORDER BY code`,
    [propertyId],
  );
  const {
    rows: [today],
  } = await client.query<{ d: string }>(`SELECT (now() AT TIME ZONE timezone)::date::text AS d FROM property_mgmt.properties WHERE id = $1`, [propertyId]);
  const day0 = Date.parse(`${today!.d}T00:00:00Z`);
  const iso = (offset: number) => new Date(day0 + offset * 86400_000).toISOString().slice(0, 10);
  const used = new Map<string, number>(); // `${typeId}:${offset}` → rooms taken
  const channels = ['booking_com', 'booking_com', 'expedia', 'expedia', 'direct', 'phone', 'walk_in'] as const;
  let made = 0;
  for (let i = 0; i < 160; i++) {
    const type = types[Math.floor(random() * types.length)]!;
    const plan = plans[Math.floor(random() * plans.length)]!;
    const start = Math.floor(random() * 150) - 60; // from two months ago to three months ahead
    const nights = 1 + Math.floor(random() * 5);
    const offsets = Array.from({ length: nights }, (_, k) => start + k);
    if (offsets.some((o) => (used.get(`${type.id}:${o}`) ?? 0) >= type.rooms - 1)) continue; // keep one room free
    const cancelled = random() < 0.1;
    if (!cancelled) for (const o of offsets) used.set(`${type.id}:${o}`, (used.get(`${type.id}:${o}`) ?? 0) + 1);
    const status = cancelled ? 'cancelled' : start + nights <= 0 ? 'checked_out' : start <= 0 ? 'checked_in' : 'confirmed';
    const channel = channels[Math.floor(random() * channels.length)]!;
    const guestId = guestIds[i % guestIds.length]!;
    const {
      rows: [res],
    } = await client.query<{ id: string }>(
      `INSERT INTO reservation.reservations (property_id, confirmation_number, status, source_channel, check_in_date, check_out_date,
                                             guest_id, currency, adults, cancelled_at, payment_collect)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 2, CASE WHEN $3 = 'cancelled' THEN now() END, $9) RETURNING id`,
      [
        propertyId,
        `DEMO${String(i + 1).padStart(5, '0')}`,
        status,
        channel,
        iso(start),
        iso(start + nights),
        guestId,
        DEMO.currency,
        channel === 'expedia' ? 'ota' : 'hotel',
      ],
    );
    const {
      rows: [room],
    } = await client.query<{ id: string }>(
      `INSERT INTO reservation.reservation_rooms (reservation_id, property_id, room_type_id, rate_plan_id, arrival_date, departure_date, adults, status, currency)
       VALUES ($1, $2, $3, $4, $5, $6, 2, $7, $8) RETURNING id`,
      [res!.id, propertyId, type.id, plan.id, iso(start), iso(start + nights), status, DEMO.currency],
    );
    // Nightly prices from the rate grid where it exists (future), a fixed rack rate for the past.
    await client.query(
      `INSERT INTO reservation.reservation_nightly_rates (reservation_id, reservation_room_id, property_id, stay_date, amount, currency, rate_plan_id)
       SELECT $1, $2, $3, d::date, COALESCE(dr.amount, 120), $6, $5
       FROM generate_series($7::date, $8::date - 1, interval '1 day') d
       LEFT JOIN property_mgmt.daily_rates dr ON dr.room_type_id = $4 AND dr.rate_plan_id = $5 AND dr.stay_date = d::date`,
      [res!.id, room!.id, propertyId, type.id, plan.id, DEMO.currency, iso(start), iso(start + nights)],
    );
    await client.query(
      `WITH t AS (SELECT sum(amount) AS total FROM reservation.reservation_nightly_rates WHERE reservation_room_id = $1)
       UPDATE reservation.reservation_rooms SET total_amount = t.total FROM t WHERE id = $1`,
      [room!.id],
    );
    await client.query(
      `UPDATE reservation.reservations SET total_amount = (SELECT sum(total_amount) FROM reservation.reservation_rooms WHERE reservation_id = $1) WHERE id = $1`,
      [res!.id],
    );
    await client.query(
      `INSERT INTO reservation.reservation_guests (reservation_id, property_id, guest_id, first_name, last_name, is_primary)
       SELECT $1, $2, id, first_name, last_name, true FROM guest.profiles WHERE id = $3`,
      [res!.id, propertyId, guestId],
    );
    // An OTA booking is the channel's reservation too, where the demo has a connection of that
    // channel (the other sources, direct or phone, have none: nothing is inserted).
    await client.query(
      `INSERT INTO channel.channel_reservations (connection_id, property_id, channel_code, external_reservation_id, reservation_id, status, last_modified_at)
       SELECT id, $1, channel_code, $3, $4, $5, now() FROM channel.channel_connections WHERE property_id = $1 AND channel_code = $2`,
      [propertyId, channel, `${channel === 'expedia' ? '9' : '4'}${String(1000000 + i)}`, res!.id, cancelled ? 'cancelled' : 'new'],
    );
    made++;
  }
  return made;
}

/** `pool`'s sessions must hold the PII keys: the demo's credentials and passports are encrypted. */
export async function seedDemo(
  pool: Pool,
  options: { sandboxBaseUrl: string; connections: readonly DemoSeedConnection[]; days?: number },
): Promise<SeedResult> {
  const days = options.days ?? 500;
  const result = await withTransaction(pool, async (client) => {
    // Two seeders at once (e.g. several `stayos start` on one empty database): one waits.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('stayos.seed-demo'))`);
    const {
      rows: [existing],
    } = await client.query<{ id: string }>(`SELECT id FROM property_mgmt.properties WHERE code = $1 AND deleted_at IS NULL`, [DEMO.code]);
    const created = !existing;
    const propertyId = existing?.id ?? (await createProperty(client, options.sandboxBaseUrl, options.connections));
    const ari = await topUpAri(client, propertyId, days);
    const reservations = created ? await createStays(client, propertyId) : 0;
    return { created, propertyId, ...ari, reservations };
  });
  // Outside the transaction: a concurrent refresh needs the data committed.
  await pool.query('SELECT shared.refresh_analytics()');
  return result;
}
