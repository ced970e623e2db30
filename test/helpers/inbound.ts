/**
 * Inbound test kit: the app with its webhooks on a real HTTP port, connections mapped to the OTA
 * codes of the published samples, and a fingerprint of every business table (a refused message
 * must leave it unchanged).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from '../../core/db.ts';
import { buildApp } from '../../api/index.ts';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');
export const fixture = (rel: string) => fs.readFileSync(path.join(FIXTURES, rel), 'utf8');

export async function startInboundApp(
  pool: Pool,
  options: { bodyLimit?: number; ratePerMinute?: number; addressRatePerMinute?: number; trustProxy?: boolean | number | string[] } = {},
) {
  const app = await buildApp({
    pool,
    logLevel: process.env.TEST_LOG ?? 'silent',
    trustProxy: options.trustProxy,
    webhooks: {
      bodyLimit: options.bodyLimit ?? 256 * 1024,
      ratePerMinute: options.ratePerMinute ?? 1_000_000,
      addressRatePerMinute: options.addressRatePerMinute ?? 1_000_000,
    },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { app, url, close: () => app.close() };
}

export async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/xml; charset=utf-8', ...headers } });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

export interface Mapping {
  room: string;
  rate: string;
  roomType: string; // local room type code (demo: STD, DLX, STE)
  ratePlan: string; // local rate plan code (demo: BAR, NRF, BB)
}

/** A connection of the demo property (or `propertyCode`'s) with these OTA codes mapped; returns its id. */
export async function addConnection(
  pool: Pool,
  c: {
    channel: 'expedia' | 'booking_com' | 'opentravel';
    hotelCode: string;
    credentials: Record<string, string>;
    mappings: Mapping[];
    endpointUrl?: string;
    reservationsUrl?: string;
    propertyCode?: string;
    settings?: Record<string, unknown>;
  },
): Promise<string> {
  const {
    rows: [conn],
  } = await pool.query<{ id: string }>(
    `INSERT INTO channel.channel_connections (property_id, channel_code, ota_hotel_code, endpoint_url, reservations_url, credentials, settings)
     SELECT id, $1, $2, $3, $6, shared.encrypt_pii($4), $7 FROM property_mgmt.properties WHERE code = $5 RETURNING id`,
    [
      c.channel,
      c.hotelCode,
      c.endpointUrl ?? 'http://127.0.0.1:9',
      JSON.stringify(c.credentials),
      c.propertyCode ?? 'DEMO',
      c.reservationsUrl ?? null,
      c.settings ?? {},
    ],
  );
  for (const m of c.mappings) {
    await pool.query(
      `INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code)
       SELECT $1, rt.property_id, rt.id, rp.id, $2, $3 FROM property_mgmt.room_types rt
       JOIN property_mgmt.rate_plans rp ON rp.property_id = rt.property_id AND rp.code = $5
       JOIN property_mgmt.properties p ON p.id = rt.property_id AND p.code = 'DEMO' WHERE rt.code = $4`,
      [conn!.id, m.room, m.rate, m.roomType, m.ratePlan],
    );
  }
  return conn!.id;
}

/**
 * Every table a booking writes, reservation side and channel side, with their events. (The audit
 * log is not among them: a refusal for an unknown code records a mapping problem, which is
 * audited; tests check the audit log by table.)
 */
export const BUSINESS_TABLES = [
  'reservation.reservations',
  'reservation.reservation_rooms',
  'reservation.reservation_nightly_rates',
  'reservation.reservation_guests',
  'reservation.reservation_events',
  'guest.profiles',
  'guest.identity_documents',
  'billing.payment_methods',
  'channel.channel_reservations',
  'channel.overbooking_alerts',
  'compliance.domain_events',
] as const;

/** Row count and an md5 over every row of each business table. */
export async function businessFingerprint(pool: Pool): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of BUSINESS_TABLES) {
    const {
      rows: [r],
    } = await pool.query<{ n: number; h: string | null }>(`SELECT count(*)::int AS n, md5(string_agg(x::text, '|' ORDER BY x::text)) AS h FROM ${t} x`);
    out[t] = `${r!.n}:${r!.h ?? ''}`;
  }
  return out;
}

/** The reservation an OTA booking became, with its rooms, nights, guest and card. */
export async function reservationOf(pool: Pool, channel: string, externalId: string) {
  const {
    rows: [r],
  } = await pool.query(
    `SELECT r.id, r.status, r.confirmation_number, r.check_in_date::text AS check_in, r.check_out_date::text AS check_out, r.total_amount::text AS total,
            r.currency, r.adults, r.children, r.special_requests, r.source_channel, cr.status AS channel_status,
            g.first_name, g.last_name, g.email, g.phone
     FROM channel.channel_reservations cr JOIN reservation.reservations r ON r.id = cr.reservation_id
     LEFT JOIN guest.profiles g ON g.id = r.guest_id
     WHERE cr.channel_code = $1 AND cr.external_reservation_id = $2`,
    [channel, externalId],
  );
  if (!r) return undefined;
  const { rows: rooms } = await pool.query(
    `SELECT rt.code AS room_type, rp.code AS rate_plan, rr.arrival_date::text AS arrival, rr.departure_date::text AS departure, rr.status, rr.adults, rr.children,
            rr.total_amount::text AS total,
            (SELECT json_agg(json_build_object('date', n.stay_date, 'amount', n.amount::text) ORDER BY n.stay_date) FROM reservation.reservation_nightly_rates n
              WHERE n.reservation_room_id = rr.id AND n.deleted_at IS NULL) AS nights
     FROM reservation.reservation_rooms rr JOIN property_mgmt.room_types rt ON rt.id = rr.room_type_id
     LEFT JOIN property_mgmt.rate_plans rp ON rp.id = rr.rate_plan_id
     WHERE rr.reservation_id = $1 AND rr.deleted_at IS NULL ORDER BY rr.id`,
    [r.id],
  );
  const { rows: cards } = await pool.query(
    `SELECT card_brand, card_last4, is_virtual, shared.decrypt_pii(card_number_encrypted) AS number FROM billing.payment_methods WHERE reservation_id = $1`,
    [r.id],
  );
  return { ...r, rooms, cards };
}

/**
 * What the schema holds beyond reservationOf: the OTA details kept in attributes, rooms with their
 * OTA ref, guest name and room assignment, the reservation's guests, the booker's address and the
 * card's virtual-card fields.
 */
export async function reservationDetail(pool: Pool, channel: string, externalId: string) {
  const {
    rows: [r],
  } = await pool.query(
    `SELECT r.id, r.attributes, r.payment_collect, r.guest_id, g.nationality, g.language
     FROM channel.channel_reservations cr JOIN reservation.reservations r ON r.id = cr.reservation_id LEFT JOIN guest.profiles g ON g.id = r.guest_id
     WHERE cr.channel_code = $1 AND cr.external_reservation_id = $2`,
    [channel, externalId],
  );
  if (!r) return undefined;
  const { rows: rooms } = await pool.query(
    `SELECT rr.id, rr.ota_room_ref AS ref, rr.guest_name, rr.room_id, rt.code AS room_type, rp.code AS rate_plan, rr.children
     FROM reservation.reservation_rooms rr JOIN property_mgmt.room_types rt ON rt.id = rr.room_type_id LEFT JOIN property_mgmt.rate_plans rp ON rp.id = rr.rate_plan_id
     WHERE rr.reservation_id = $1 AND rr.deleted_at IS NULL ORDER BY rr.ota_room_ref, rr.id`,
    [r.id],
  );
  const { rows: guests } = await pool.query(
    `SELECT first_name, last_name, is_primary FROM reservation.reservation_guests WHERE reservation_id = $1 AND deleted_at IS NULL ORDER BY is_primary DESC, last_name, first_name`,
    [r.id],
  );
  const { rows: addresses } = await pool.query(
    `SELECT kind, line1, line2, city, postal_code, country::text FROM guest.addresses WHERE profile_id = $1 AND deleted_at IS NULL`,
    [r.guest_id],
  );
  const { rows: cards } = await pool.query(
    `SELECT card_brand, card_last4, expiry_month, expiry_year, is_virtual, virtual_card_source, virtual_activation_date::text AS activation,
            virtual_amount_limit::text AS "limit", virtual_currency::text AS currency
     FROM billing.payment_methods WHERE reservation_id = $1 AND deleted_at IS NULL`,
    [r.id],
  );
  return { attributes: r.attributes, paymentCollect: r.payment_collect, nationality: r.nationality, rooms, guests, addresses, cards };
}
