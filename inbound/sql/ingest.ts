/**
 * The statements of one ingestion transaction (inbound/ingest.ts runs them in this order):
 * lock the booking, read what we hold, resolve the OTA codes, lock the nights it consumes, write
 * guest → reservation → rooms and nights → card and document → the channel reservation, check
 * for overbooking, record the message. Every write goes through the tables' own triggers (audit,
 * optimistic lock, event store, domain events).
 */

/**
 * Acts as the OTA's service user, and queues every delivery of one OTA booking behind the first.
 * Answers where the OTA's reservation id is unique (channel_reservations.id_scope, from the
 * channel's row: across the channel for Booking.com and Expedia, which issue them; per connection
 * for OpenTravel senders, which number their own).
 */
export function lockBooking(channel: string, connectionId: string, externalId: string) {
  return {
    text: `SELECT set_config('app.current_user_id', shared.channel_user_id($1)::text, true), s.scope,
       pg_advisory_xact_lock(hashtextextended('inbound:' || $1 || ':' || s.scope || ':' || $2, 0))
FROM (SELECT channel.reservation_id_scope($1, $3) AS scope) s`,
    values: [channel, externalId, connectionId],
  };
}

export interface HeldBooking {
  id: string;
  connectionId: string;
  propertyId: string;
  /** The cancellation came before the booking (the reservation was recorded cancelled). */
  cancelledFirst: boolean;
  reservationId: string | null;
  status: 'new' | 'modified' | 'cancelled';
  lastModifiedAt: Date;
  lastHash: string | null;
  confirmationNumber: string | null;
  reservationStatus: string | null;
  /** The guest's own words Expedia sent earlier (kept when a modification does not repeat them). */
  freeText: string | null;
  guestId: string | null;
  createdAt: Date | null;
}

export function heldBooking(channel: string, scope: string, externalId: string) {
  return {
    text: `
SELECT cr.id, cr.connection_id AS "connectionId", cr.property_id AS "propertyId", cr.reservation_id AS "reservationId", cr.status,
       cr.last_modified_at AS "lastModifiedAt", COALESCE((r.attributes ->> 'cancelled_before_booking')::boolean, false) AS "cancelledFirst",
       cr.last_message_hash AS "lastHash", r.confirmation_number AS "confirmationNumber", r.status AS "reservationStatus",
       r.guest_id AS "guestId", r.created_at AS "createdAt", r.attributes ->> 'ota_free_text' AS "freeText"
FROM channel.channel_reservations cr LEFT JOIN reservation.reservations r ON r.id = cr.reservation_id
WHERE cr.channel_code = $1 AND cr.id_scope = $3 AND cr.external_reservation_id = $2`,
    values: [channel, externalId, scope],
  };
}

/** The connection's mappings for these OTA room codes (inactive ones too: an OTA may still sell a
 * room we stopped pushing). The caller matches rate codes, with the OTA's equivalent forms. */
export function mappingsFor(connectionId: string, roomCodes: string[]) {
  return {
    text: `
SELECT ota_room_code AS "roomCode", ota_rate_code AS "rateCode", room_type_id AS "roomTypeId", rate_plan_id AS "ratePlanId"
FROM channel.channel_mappings WHERE connection_id = $1 AND deleted_at IS NULL AND ota_room_code = ANY ($2::text[])`,
    values: [connectionId, roomCodes],
  };
}

/**
 * Bookings that consume the same (room type, night) queue here, in one global order (no
 * deadlock), so the overbooking check after the write sees every booking committed before it.
 */
export function lockNights(nights: Array<{ roomTypeId: string; date: string }>) {
  return {
    text: `SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT hashtextextended('inventory:' || x, 0) AS k FROM unnest($1::text[]) x ORDER BY 1) s`,
    values: [nights.map((n) => `${n.roomTypeId}:${n.date}`)],
  };
}

export interface GuestInput {
  firstName?: string | undefined;
  lastName: string;
  email?: string | undefined;
  phone?: string | undefined;
  language?: string | undefined;
  country?: string | undefined;
  address?:
    | {
        line1?: string | undefined;
        city?: string | undefined;
        postalCode?: string | undefined;
        region?: string | undefined;
        country?: string | undefined;
        company?: string | undefined;
      }
    | undefined;
}

export function insertGuest(propertyId: string, g: GuestInput, source: string) {
  return {
    text: `INSERT INTO guest.profiles (property_id, first_name, last_name, email, phone, language, nationality, source)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    values: [propertyId, g.firstName ?? null, g.lastName, g.email ?? null, g.phone ?? null, g.language ?? null, g.country ?? null, source],
  };
}

/** A modification's guest data, written only where it changed (an unchanged row makes no event). */
export function updateGuest(guestId: string, g: GuestInput) {
  return {
    text: `UPDATE guest.profiles SET first_name = $2, last_name = $3, email = COALESCE($4, email), phone = COALESCE($5, phone),
             language = COALESCE($6, language), nationality = COALESCE($7, nationality)
           WHERE id = $1 AND (first_name, last_name, email, phone, language, nationality)
             IS DISTINCT FROM ($2, $3, COALESCE($4, email), COALESCE($5, phone), COALESCE($6, language), COALESCE($7, nationality))`,
    values: [guestId, g.firstName ?? null, g.lastName, g.email ?? null, g.phone ?? null, g.language ?? null, g.country ?? null],
  };
}

/**
 * The booker's address (Booking.com `Customer/Address`) as the profile's home address: inserted
 * once, updated where it changed (a company name rides in line2, the schema's only free line).
 */
export function upsertGuestAddress(guestId: string, propertyId: string, a: NonNullable<GuestInput['address']>) {
  return {
    text: `
WITH cur AS (SELECT id FROM guest.addresses WHERE profile_id = $1 AND kind = 'home' AND deleted_at IS NULL ORDER BY created_at LIMIT 1),
upd AS (
  UPDATE guest.addresses g SET line1 = $3, line2 = $4, city = $5, region = $6, postal_code = $7, country = $8
  FROM cur WHERE g.id = cur.id AND (g.line1, g.line2, g.city, g.region, g.postal_code, g.country) IS DISTINCT FROM ($3, $4, $5, $6, $7, $8::char(2)))
INSERT INTO guest.addresses (profile_id, property_id, kind, line1, line2, city, region, postal_code, country)
SELECT $1, $2, 'home', $3, $4, $5, $6, $7, $8 WHERE NOT EXISTS (SELECT 1 FROM cur)`,
    values: [guestId, propertyId, a.line1 ?? null, a.company ?? null, a.city ?? null, a.region ?? null, a.postalCode ?? null, a.country ?? null],
  };
}

/**
 * The people staying, room by room (Booking.com ResGuests by ResGuestRPH), as the reservation's
 * non-primary guests. Only rows the OTA's service user wrote are replaced: companions the front
 * desk added stay. An unchanged list writes nothing.
 */
export function syncRoomGuests(
  reservationId: string,
  propertyId: string,
  channel: string,
  people: Array<{ firstName?: string | undefined; lastName: string }>,
) {
  return {
    text: `
WITH wanted AS (SELECT x."firstName" AS first_name, x."lastName" AS last_name, count(*) AS n
                FROM jsonb_to_recordset($3::jsonb) AS x("firstName" text, "lastName" text) GROUP BY 1, 2),
mine AS (SELECT id, first_name, last_name, row_number() OVER (PARTITION BY first_name, last_name ORDER BY created_at, id) AS k
         FROM reservation.reservation_guests
         WHERE reservation_id = $1 AND NOT is_primary AND deleted_at IS NULL AND created_by = shared.channel_user_id($4)),
gone AS (
  UPDATE reservation.reservation_guests g SET deleted_at = now() FROM mine m
  WHERE g.id = m.id AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.first_name IS NOT DISTINCT FROM m.first_name AND w.last_name = m.last_name AND m.k <= w.n))
INSERT INTO reservation.reservation_guests (reservation_id, property_id, first_name, last_name, is_primary)
SELECT $1, $2, w.first_name, w.last_name, false FROM wanted w CROSS JOIN LATERAL generate_series(1, w.n::int) k
WHERE k > (SELECT count(*) FROM mine m WHERE m.first_name IS NOT DISTINCT FROM w.first_name AND m.last_name = w.last_name)`,
    values: [reservationId, propertyId, JSON.stringify(people.map((p) => ({ firstName: p.firstName ?? null, lastName: p.lastName }))), channel],
  };
}

export interface ReservationInput {
  propertyId: string;
  status: 'confirmed' | 'cancelled';
  channel: string;
  checkIn: string;
  checkOut: string;
  guestId: string;
  total: string;
  currency: string;
  adults: number;
  children: number;
  specialRequests: string | null;
  paymentCollect: string | null;
  attributes: Record<string, unknown>;
}

export function insertReservation(r: ReservationInput) {
  return {
    text: `
INSERT INTO reservation.reservations (property_id, status, source_channel, check_in_date, check_out_date, guest_id, total_amount, currency,
                                      adults, children, special_requests, payment_collect, attributes, cancelled_at, cancellation_reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, CASE WHEN $2 = 'cancelled' THEN now() END,
        CASE WHEN $2 = 'cancelled' THEN 'cancelled by ' || $3 || ' before the booking arrived' END)
RETURNING id, confirmation_number AS "confirmationNumber", created_at AS "createdAt"`,
    values: [
      r.propertyId,
      r.status,
      r.channel,
      r.checkIn,
      r.checkOut,
      r.guestId,
      r.total,
      r.currency,
      r.adults,
      r.children,
      r.specialRequests,
      r.paymentCollect,
      r.attributes,
    ],
  };
}

/** A modification's reservation fields (who collects payment was settled by the booking: a
 * modification that omits the payment method does not change it). */
export function updateReservation(id: string, r: Omit<ReservationInput, 'propertyId' | 'status' | 'channel' | 'guestId' | 'paymentCollect'>) {
  return {
    text: `
UPDATE reservation.reservations SET check_in_date = $2, check_out_date = $3, total_amount = $4, currency = $5, adults = $6, children = $7,
       special_requests = $8, attributes = attributes || $9::jsonb
WHERE id = $1 AND (check_in_date, check_out_date, total_amount, currency, adults, children, special_requests, attributes)
  IS DISTINCT FROM ($2::date, $3::date, $4::numeric, $5::text, $6::int, $7::int, $8::text, attributes || $9::jsonb)`,
    values: [id, r.checkIn, r.checkOut, r.total, r.currency, r.adults, r.children, r.specialRequests, r.attributes],
  };
}

/**
 * Cancels the reservation and each of its rooms (rooms stop consuming inventory by their own
 * status), keeping what the cancellation said beyond its status (fees, penalties: `details`).
 */
export function cancelReservation(id: string, channel: string, details: Record<string, unknown>) {
  return {
    text: `
WITH r AS (UPDATE reservation.reservations SET status = 'cancelled', cancelled_at = now(), cancellation_reason = 'cancelled by ' || $2,
             attributes = attributes || CASE WHEN $3::jsonb = '{}' THEN '{}' ELSE jsonb_build_object('ota_cancellation_details', $3::jsonb) END
           WHERE id = $1 AND status <> 'cancelled' RETURNING id)
UPDATE reservation.reservation_rooms rr SET status = 'cancelled' FROM r
WHERE rr.reservation_id = r.id AND rr.deleted_at IS NULL AND rr.status <> 'cancelled'`,
    values: [id, channel, JSON.stringify(details)],
  };
}

export interface HeldRoom {
  id: string;
  ref: string | null;
  roomTypeId: string;
  ratePlanId: string | null;
  arrival: string;
  departure: string;
  adults: number;
  children: number;
  total: string;
  nights: Array<{ id: string; date: string; amount: string; ratePlanId: string | null }>;
}

export function heldRooms(reservationId: string) {
  return {
    text: `
SELECT rr.id, rr.ota_room_ref AS ref, rr.room_type_id AS "roomTypeId", rr.rate_plan_id AS "ratePlanId", rr.arrival_date::text AS arrival, rr.departure_date::text AS departure,
       rr.adults, rr.children, rr.total_amount::text AS total,
       COALESCE((SELECT json_agg(json_build_object('id', n.id, 'date', n.stay_date::text, 'amount', n.amount::text, 'ratePlanId', n.rate_plan_id) ORDER BY n.stay_date)
                 FROM reservation.reservation_nightly_rates n WHERE n.reservation_room_id = rr.id AND n.deleted_at IS NULL), '[]') AS nights
FROM reservation.reservation_rooms rr WHERE rr.reservation_id = $1 AND rr.deleted_at IS NULL ORDER BY rr.id`,
    values: [reservationId],
  };
}

export interface RoomWrite {
  /** Existing room to update in place (its room assignment kept when the type stays); null: a new room. */
  id: string | null;
  /** The OTA's id of the room within the booking (Booking.com RoomStay/@IndexNumber). */
  ref: string | null;
  roomTypeId: string;
  ratePlanId: string;
  arrival: string;
  departure: string;
  adults: number;
  children: number;
  total: string;
  guestName: string | null;
  status: 'confirmed' | 'cancelled';
  /** Nights to insert (the ones not already held with the same price and rate plan). */
  nights: Array<{ date: string; amount: string }>;
}

/**
 * Inserts new rooms and updates kept ones, then inserts their new nights, in one statement (the
 * room ids are drawn first so the nights can name them; foreign keys are checked at its end, and
 * a data-modifying CTE runs whether or not the query reads it).
 */
export function writeRooms(reservationId: string, propertyId: string, currency: string, rooms: RoomWrite[]) {
  return {
    text: `
WITH input AS MATERIALIZED (
  SELECT COALESCE(x.id, shared.new_id()) AS room_id, x.id IS NULL AS is_new, x.* FROM jsonb_to_recordset($1::jsonb) AS x(
    id uuid, ref text, "roomTypeId" uuid, "ratePlanId" uuid, arrival date, departure date, adults int, children int, total numeric, "guestName" text,
    status text, nights jsonb)),
inserted AS (
  INSERT INTO reservation.reservation_rooms (id, reservation_id, property_id, room_type_id, rate_plan_id, arrival_date, departure_date, adults, children,
                                             status, total_amount, currency, guest_name, ota_room_ref)
  SELECT i.room_id, $2, $3, i."roomTypeId", i."ratePlanId", i.arrival, i.departure, i.adults, i.children, i.status, i.total, $4, i."guestName", i.ref
  FROM input i WHERE i.is_new),
updated AS (
  UPDATE reservation.reservation_rooms rr SET room_type_id = i."roomTypeId", rate_plan_id = i."ratePlanId", arrival_date = i.arrival,
         departure_date = i.departure, adults = i.adults, children = i.children, total_amount = i.total, currency = $4,
         guest_name = i."guestName", ota_room_ref = i.ref,
         room_id = CASE WHEN rr.room_type_id = i."roomTypeId" THEN rr.room_id END
  FROM input i WHERE NOT i.is_new AND rr.id = i.room_id
    AND (rr.room_type_id, rr.rate_plan_id, rr.arrival_date, rr.departure_date, rr.adults, rr.children, rr.total_amount, rr.currency, rr.guest_name, rr.ota_room_ref)
        IS DISTINCT FROM (i."roomTypeId", i."ratePlanId", i.arrival, i.departure, i.adults, i.children, i.total, $4::text, i."guestName", i.ref))
INSERT INTO reservation.reservation_nightly_rates (reservation_id, reservation_room_id, property_id, stay_date, amount, currency, rate_plan_id)
SELECT $2, i.room_id, $3, (n ->> 'date')::date, (n ->> 'amount')::numeric, $4, i."ratePlanId"
FROM input i CROSS JOIN LATERAL jsonb_array_elements(i.nights) n`,
    values: [JSON.stringify(rooms), reservationId, propertyId, currency],
  };
}

/** Soft-deletes rooms a modification dropped and nights it changed or dropped (a deleted room frees its nights). */
export function dropRoomsAndNights(roomIds: string[], nightIds: string[]) {
  return {
    text: `
WITH rooms AS (UPDATE reservation.reservation_rooms SET deleted_at = now() WHERE id = ANY ($1::uuid[]) AND deleted_at IS NULL)
UPDATE reservation.reservation_nightly_rates SET deleted_at = now()
WHERE (id = ANY ($2::uuid[]) OR reservation_room_id = ANY ($1::uuid[])) AND deleted_at IS NULL`,
    values: [roomIds, nightIds],
  };
}

export function upsertPrimaryGuest(reservationId: string, propertyId: string, guestId: string, g: GuestInput) {
  return {
    text: `
INSERT INTO reservation.reservation_guests AS rg (reservation_id, property_id, guest_id, first_name, last_name, is_primary)
VALUES ($1, $2, $3, $4, $5, true)
ON CONFLICT (reservation_id) WHERE is_primary AND deleted_at IS NULL DO UPDATE SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name
WHERE (rg.first_name, rg.last_name) IS DISTINCT FROM (EXCLUDED.first_name, EXCLUDED.last_name)`,
    values: [reservationId, propertyId, guestId, g.firstName ?? null, g.lastName],
  };
}

export interface CardInput {
  brand: string;
  number: string;
  holder?: string | undefined;
  expiryMonth: number;
  expiryYear: number;
  virtual: boolean;
  activationDate?: string | undefined;
}

/**
 * The card, encrypted (number and holder) with a keyed fingerprint; the CVC is never stored (PCI
 * DSS). The same card again (a resent or modified booking) is not stored twice. A virtual card's
 * limit is what the OTA says may be charged on it, in its own currency (`limit`, `currency`).
 */
export function insertCard(p: { propertyId: string; guestId: string; reservationId: string; channel: string; limit: string; currency: string }, c: CardInput) {
  return {
    text: `
-- The card's fingerprints under every key a rotation may have left rows under (the first is the current key's).
WITH fp AS (SELECT shared.pii_fingerprints($4) AS any_key),
held AS (SELECT id FROM billing.payment_methods m, fp WHERE m.reservation_id = $3 AND m.deleted_at IS NULL
                AND m.card_fingerprint = ANY (fp.any_key)),
-- A virtual card held already: a modification may load it with another amount or date.
reloaded AS (
  UPDATE billing.payment_methods m SET virtual_activation_date = $11::date, virtual_amount_limit = $12::numeric, virtual_currency = $13
  FROM held WHERE m.id = held.id AND m.is_virtual AND $9
    AND (m.virtual_activation_date, m.virtual_amount_limit, m.virtual_currency) IS DISTINCT FROM ($11::date, $12::numeric, $13::char(3)))
INSERT INTO billing.payment_methods (property_id, guest_id, reservation_id, card_number_encrypted, cardholder_name_encrypted, card_last4, card_brand,
  expiry_month, expiry_year, card_fingerprint, is_virtual, virtual_card_source, virtual_activation_date, virtual_amount_limit, virtual_currency)
SELECT $1, $2, $3, shared.encrypt_pii($4), shared.encrypt_pii($5), right($4, 4), $6, $7, $8, fp.any_key[1],
       $9, CASE WHEN $9 THEN (SELECT virtual_card_source FROM channel.channels WHERE code = $10) END,
       CASE WHEN $9 THEN $11::date END, CASE WHEN $9 THEN $12::numeric END, CASE WHEN $9 THEN $13 END
FROM fp
WHERE NOT EXISTS (SELECT 1 FROM held)
  -- the guest's card already (what the unique index below says, under an older key's fingerprint too)
  AND NOT EXISTS (SELECT 1 FROM billing.payment_methods m WHERE m.property_id = $1 AND m.guest_id = $2 AND m.deleted_at IS NULL AND m.card_fingerprint = ANY (fp.any_key))
ON CONFLICT (property_id, guest_id, card_fingerprint) WHERE deleted_at IS NULL AND guest_id IS NOT NULL DO NOTHING`,
    values: [
      p.propertyId,
      p.guestId,
      p.reservationId,
      c.number,
      c.holder ?? null,
      c.brand,
      c.expiryMonth,
      c.expiryYear,
      c.virtual,
      p.channel,
      c.activationDate ?? null,
      p.limit,
      p.currency,
    ],
  };
}

export function insertDocument(propertyId: string, guestId: string, d: { type: string; number: string; country?: string | undefined }) {
  return {
    text: `
WITH fp AS (SELECT shared.pii_fingerprints($4) AS any_key)
INSERT INTO guest.identity_documents (profile_id, property_id, document_type, document_number_encrypted, document_number_fingerprint, issuing_country)
SELECT $1, $2, $3, shared.encrypt_pii($4), fp.any_key[1], $5
FROM fp
-- the document already (what the unique index says, under an older key's fingerprint too)
WHERE NOT EXISTS (SELECT 1 FROM guest.identity_documents d WHERE d.property_id = $2 AND d.document_type = $3 AND d.deleted_at IS NULL
                    AND d.document_number_fingerprint = ANY (fp.any_key))
ON CONFLICT (property_id, document_type, document_number_fingerprint) WHERE deleted_at IS NULL DO NOTHING`,
    values: [guestId, propertyId, d.type, d.number, d.country ?? null],
  };
}

export function upsertChannelReservation(p: {
  connectionId: string;
  propertyId: string;
  channel: string;
  externalId: string;
  reservationId: string | null;
  status: 'new' | 'modified' | 'cancelled';
  modifiedAt: Date;
  hash: string;
}) {
  return {
    text: `
INSERT INTO channel.channel_reservations AS cr (connection_id, property_id, channel_code, external_reservation_id, reservation_id, status, last_modified_at, last_message_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (channel_code, id_scope, external_reservation_id) DO UPDATE SET connection_id = EXCLUDED.connection_id, property_id = EXCLUDED.property_id,
  reservation_id = COALESCE(EXCLUDED.reservation_id, cr.reservation_id),
  status = EXCLUDED.status, last_modified_at = EXCLUDED.last_modified_at, last_message_hash = EXCLUDED.last_message_hash
RETURNING id`,
    values: [p.connectionId, p.propertyId, p.channel, p.externalId, p.reservationId, p.status, p.modifiedAt, p.hash],
  };
}

/**
 * The booking's nights with fewer than 0 rooms free, per room type: an alert (and, by its
 * trigger, a domain event) per room type, kept up to date while open; an open alert of a room type
 * no longer short (a modification moved the stay) resolves itself. Returns the open alerts.
 */
export function raiseOverbooking(p: { connectionId: string; propertyId: string; channelReservationId: string; reservationId: string }) {
  return {
    text: `
WITH nights AS (
  SELECT rr.room_type_id, d::date AS night, reservation.free_rooms(rr.property_id, rr.room_type_id, d::date) AS free
  FROM reservation.reservation_rooms rr JOIN reservation.reservations res ON res.id = rr.reservation_id
  CROSS JOIN LATERAL generate_series(rr.arrival_date, rr.departure_date - 1, interval '1 day') d
  WHERE rr.reservation_id = $4 AND reservation.consumes_inventory(res.status, res.deleted_at, rr.status, rr.deleted_at)),
short AS (
  SELECT room_type_id, min(night) AS first_night, max(night) AS last_night, count(DISTINCT night)::int AS nights, -min(free) AS worst
  FROM nights WHERE free < 0 GROUP BY room_type_id),
settled AS (
  UPDATE channel.overbooking_alerts SET resolved_at = now(), resolution = 'no longer short after a modification'
  WHERE channel_reservation_id = $3 AND resolved_at IS NULL AND deleted_at IS NULL AND room_type_id NOT IN (SELECT room_type_id FROM short))
INSERT INTO channel.overbooking_alerts AS a (connection_id, property_id, channel_reservation_id, reservation_id, room_type_id, first_night, last_night, nights, worst_shortfall)
SELECT $1, $2, $3, $4, s.room_type_id, s.first_night, s.last_night, s.nights, s.worst FROM short s
ON CONFLICT (channel_reservation_id, room_type_id) WHERE resolved_at IS NULL AND deleted_at IS NULL DO UPDATE
  SET first_night = EXCLUDED.first_night, last_night = EXCLUDED.last_night, nights = EXCLUDED.nights, worst_shortfall = EXCLUDED.worst_shortfall
  WHERE (a.first_night, a.last_night, a.nights, a.worst_shortfall) IS DISTINCT FROM (EXCLUDED.first_night, EXCLUDED.last_night, EXCLUDED.nights, EXCLUDED.worst_shortfall)
RETURNING room_type_id AS "roomTypeId", nights, worst_shortfall AS "worstShortfall"`,
    values: [p.connectionId, p.propertyId, p.channelReservationId, p.reservationId],
  };
}

/** A cancelled booking no longer overbooks anything: its open alerts resolve themselves. */
export function resolveOverbooking(channelReservationId: string) {
  return {
    text: `UPDATE channel.overbooking_alerts SET resolved_at = now(), resolution = 'booking cancelled by the OTA'
           WHERE channel_reservation_id = $1 AND resolved_at IS NULL AND deleted_at IS NULL`,
    values: [channelReservationId],
  };
}
