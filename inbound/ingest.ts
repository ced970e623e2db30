/**
 * The ingestion core: one normalised booking → the PMS, in one transaction with the record of the
 * message and the answer we give, so a delivery either happened whole (booking, guest, rooms,
 * nights, card, channel reservation, events, message row) or not at all.
 *
 * Idempotent and order-proof, per OTA booking (channel + external id), under a transaction-scoped
 * advisory lock that queues concurrent deliveries of one booking:
 *  - the same version again (same content hash) → `duplicate`, same answer, nothing written;
 *  - a version not newer than the one held (OTA time, then kind, then hash) → `stale`, answered
 *    as a success and ignored;
 *  - a cancellation is final: it is kept even before its booking arrives, and the booking, when
 *    it comes, is recorded already cancelled (it never consumes a room);
 *  - a modification of a booking we never saw creates it (it carries the whole booking);
 *  - a modification moves the inventory: rooms it drops are deleted, nights it moves freed and
 *    consumed anew; rooms kept keep their room assignment.
 * Availability then reaches the OTAs through the CDC like any other change. A booking that takes
 * a room type below 0 free rooms is still accepted (the guest has paid the OTA) and raises an
 * overbooking alert with its domain event.
 */
import type { Pool, PoolClient } from '../core/db.ts';
import { fromPgError } from '../core/errors.ts';
import { withTransaction } from '../core/db.ts';
import { bookingHash, nightlyPrices, roomTotal, STATUS_OF_KIND, versionKey, KIND_OF_STATUS, type Booking } from './booking.ts';
import type { InboundRules } from './rules.ts';
import { InboundRefusal } from './refusal.ts';
import type { InboundConnection } from './sql/connections.ts';
import {
  cancelReservation,
  dropRoomsAndNights,
  heldBooking,
  heldRooms,
  insertCard,
  insertDocument,
  insertGuest,
  insertReservation,
  lockBooking,
  lockNights,
  mappingsFor,
  raiseOverbooking,
  resolveOverbooking,
  syncRoomGuests,
  updateGuest,
  updateReservation,
  upsertChannelReservation,
  upsertGuestAddress,
  upsertPrimaryGuest,
  writeRooms,
  type HeldBooking,
  type HeldRoom,
  type RoomWrite,
} from './sql/ingest.ts';
import { insertMessage, recordUnknownCode, type MessageRecord } from './sql/messages.ts';

export type Outcome = 'created' | 'modified' | 'cancelled' | 'duplicate' | 'stale';

export interface IngestResult {
  outcome: Outcome;
  externalId: string;
  channelReservationId: string;
  reservationId: string | null;
  /** Our confirmation number (reservations.confirmation_number); null while only a cancellation is known. */
  confirmationNumber: string | null;
  /** The booking's state after this delivery. */
  status: 'new' | 'modified' | 'cancelled';
  /** When we first held the reservation (the answer's ResID_Date: the same on every resend). */
  createdAt: Date | null;
  /** The cancellation came before its booking: cancellation answers then never name a confirmation
   * number (the first answer could not), so a resend gets the same answer. */
  cancelledFirst: boolean;
  overbooked: Array<{ roomTypeId: string; nights: number; worstShortfall: number }>;
}

export interface Delivery {
  source: MessageRecord['source'];
  messageType: string;
  body: string;
  started: number; // performance.now() at receipt
  /** The sending OTA's rules (its adapter's); none: the defaults. */
  rules?: InboundRules;
}

export interface Answer {
  status: number;
  body: string;
}

/**
 * Ingests one booking, recording the delivery with the answer `answer(result)` in the same
 * transaction. Throws InboundRefusal (nothing written: record it with `recordRefusal`) or a
 * StayosError such as ERR_DB_UNAVAILABLE (nothing written, nothing recorded: the sender retries).
 */
export async function ingestBooking(
  pool: Pool,
  connection: InboundConnection,
  booking: Booking,
  delivery: Delivery,
  answer: (r: IngestResult) => Answer,
): Promise<{ result: IngestResult; answer: Answer }> {
  try {
    return await withTransaction(pool, async (client) => {
      const result = await apply(client, connection, booking, delivery.rules ?? {});
      const reply = answer(result);
      await client.query(
        insertMessage({
          connectionId: connection.id,
          propertyId: connection.propertyId,
          channel: connection.channel,
          source: delivery.source,
          messageType: delivery.messageType,
          externalId: booking.externalId,
          body: delivery.body,
          outcome: result.outcome,
          errorCode: null,
          otaErrorCode: null,
          errorMessage: null,
          answerStatus: reply.status,
          answer: reply.body,
          channelReservationId: result.channelReservationId,
          reservationId: result.reservationId,
          durationMs: performance.now() - delivery.started,
        }),
      );
      return { result, answer: reply };
    });
  } catch (err) {
    if (err instanceof InboundRefusal) throw err;
    // A rule of the database the booking breaks (a domain, a CHECK): refusing it is the only way
    // out — retrying could never succeed. pg's message names the rule, never the row's values.
    const e = err as { code?: string; message?: string; constraint?: string };
    if (e.code && (e.code.startsWith('22') || (e.code.startsWith('23') && e.code !== '23505'))) {
      throw new InboundRefusal('invalid_value', `the booking breaks a rule of the database: ${e.message ?? e.constraint ?? e.code}`, { cause: err });
    }
    throw fromPgError(err, 'inbound booking');
  }
}

/**
 * Records a refused delivery (its own transaction: the refusal changed nothing else) and, for an
 * OTA code we could not map, the mapping problem the revenue team sees.
 */
export async function recordRefusal(
  pool: Pool,
  connection: InboundConnection | null,
  channel: string,
  refusal: InboundRefusal,
  delivery: Delivery,
  reply: Answer,
  externalId: string | null,
  codes: { roomCode?: string; rateCode?: string; hotelCode?: string } = {},
): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query(
      insertMessage({
        connectionId: connection?.id ?? null,
        propertyId: connection?.propertyId ?? null,
        channel,
        source: delivery.source,
        messageType: delivery.messageType,
        externalId,
        body: delivery.body,
        outcome: 'refused',
        errorCode: refusal.code,
        otaErrorCode: delivery.rules?.refusalCode?.(refusal) ?? refusal.spec.otaCode,
        errorMessage: refusal.message,
        answerStatus: reply.status,
        answer: reply.body,
        channelReservationId: null,
        reservationId: null,
        durationMs: performance.now() - delivery.started,
      }),
    );
    const kind = { unknown_room: 'unknown_ota_room', unknown_rate: 'unknown_ota_rate', unknown_hotel: 'unknown_ota_hotel' }[refusal.reason as string] as
      'unknown_ota_room' | 'unknown_ota_rate' | 'unknown_ota_hotel' | undefined;
    if (kind && connection) {
      await client.query(
        recordUnknownCode({
          connectionId: connection.id,
          propertyId: connection.propertyId,
          kind,
          roomCode: codes.roomCode,
          rateCode: codes.rateCode,
          detail: kind === 'unknown_ota_hotel' ? `a booking named hotel ${codes.hotelCode ?? '?'}, not ${connection.hotelCode}` : refusal.message,
        }),
      );
    }
  });
}

async function apply(client: PoolClient, connection: InboundConnection, booking: Booking, rules: InboundRules): Promise<IngestResult> {
  const hash = bookingHash(booking);
  const { scope } = (await client.query<{ scope: string }>(lockBooking(booking.channel, connection.id, booking.externalId))).rows[0]!;
  let {
    rows: [held],
  } = await client.query<HeldBooking>(heldBooking(booking.channel, scope, booking.externalId));
  // OTA reservation ids are unique per channel (per connection for OpenTravel senders: lockBooking). One held by another property is refused, unless it
  // is only a cancellation (anyone connected could have sent that first): the booking takes it over.
  // A new connection of the same property (the hotel reconnected) carries on its Booking.com and
  // Expedia bookings; an OpenTravel sender's ids are its connection's own, so a re-created
  // OpenTravel connection starts afresh (docs/security.md).
  if (held && held.propertyId !== connection.propertyId) {
    if (held.reservationId) throw new InboundRefusal('unknown_hotel', `reservation ${booking.externalId} belongs to another hotel of this channel`);
    if (booking.kind !== 'cancel') held = undefined;
  }
  const base = (outcome: Outcome, h: HeldBooking): IngestResult => ({
    outcome,
    externalId: booking.externalId,
    channelReservationId: h.id,
    reservationId: h.reservationId,
    confirmationNumber: h.confirmationNumber,
    status: h.status,
    createdAt: h.createdAt,
    cancelledFirst: h.cancelledFirst || (h.status === 'cancelled' && !h.reservationId),
    overbooked: [],
  });
  if (held) {
    if (held.lastHash === hash) return base('duplicate', held);
    // A cancellation is final. Only its booking may still arrive, to be recorded as cancelled.
    const lateBooking = held.status === 'cancelled' && !held.reservationId && booking.kind !== 'cancel';
    const older = versionKey(booking.modifiedAt, booking.kind) < versionKey(held.lastModifiedAt, KIND_OF_STATUS[held.status]);
    if (!lateBooking && (held.status === 'cancelled' || older)) return base('stale', held);
  }

  if (booking.kind === 'cancel') {
    const {
      rows: [cr],
    } = await client.query<{ id: string }>(
      upsertChannelReservation({
        connectionId: connection.id,
        propertyId: connection.propertyId,
        channel: booking.channel,
        externalId: booking.externalId,
        reservationId: held?.reservationId ?? null,
        status: 'cancelled',
        modifiedAt: booking.modifiedAt,
        hash,
      }),
    );
    if (held?.reservationId) {
      await client.query(cancelReservation(held.reservationId, booking.channel, booking.details));
      await client.query(resolveOverbooking(cr!.id));
    }
    return {
      ...(held ? base('cancelled', held) : { externalId: booking.externalId, confirmationNumber: null, createdAt: null, reservationId: null, overbooked: [] }),
      outcome: 'cancelled',
      channelReservationId: cr!.id,
      status: 'cancelled',
      cancelledFirst: !held?.reservationId,
    };
  }

  const rooms = await resolveRooms(client, connection, booking, rules);
  const cancelled = held?.status === 'cancelled';
  const stayFrom = booking.rooms.map((r) => r.arrival).sort()[0]!;
  const stayTo = booking.rooms
    .map((r) => r.departure)
    .sort()
    .at(-1)!;
  const guest = booking.guest!;
  // Some OTAs (Expedia) send the guest's own request only when it is new: a modification keeps the
  // one held, and a new one is appended to it (InboundRules.modifyAppendsFreeText).
  const keptFreeText = booking.kind === 'modify' && rules.modifyAppendsFreeText && held?.freeText ? held.freeText : null;
  const freshFreeText = booking.freeText && !(keptFreeText ?? '').includes(booking.freeText) ? booking.freeText : null;
  const freeText = [keptFreeText, freshFreeText].filter(Boolean).join('; ').slice(0, 2000) || null;
  const reservationFields = {
    checkIn: stayFrom,
    checkOut: stayTo,
    total: booking.total ?? sumAmounts(rooms.map((r) => r.total)),
    currency: booking.currency!,
    adults: booking.rooms.reduce((s, r) => s + r.adults, 0),
    children: booking.rooms.reduce((s, r) => s + r.children, 0),
    specialRequests:
      [booking.specialRequests, keptFreeText && !(booking.specialRequests ?? '').includes(keptFreeText) ? keptFreeText : null]
        .filter(Boolean)
        .join('; ')
        .slice(0, 4000) || null,
    paymentCollect: booking.paymentCollect ?? null,
    attributes: {
      ...booking.attributes,
      ota: booking.channel,
      ota_reservation_id: booking.externalId,
      ...(cancelled ? { cancelled_before_booking: 'true' } : {}),
      // Replaced whole with each version: the OTA sends the reservation's whole current state.
      ota_details: booking.details,
      ...(freeText ? { ota_free_text: freeText } : {}),
    },
  };
  if (!cancelled) await client.query(lockNights(rooms.flatMap((r) => r.nights.map((n) => ({ roomTypeId: r.roomTypeId, date: n.date })))));

  let reservationId: string;
  let guestId: string;
  let confirmationNumber: string;
  let createdAt: Date;
  if (held?.reservationId) {
    reservationId = held.reservationId;
    guestId = held.guestId!;
    confirmationNumber = held.confirmationNumber!;
    createdAt = held.createdAt!;
    await client.query(updateGuest(guestId, guest));
    if (guest.address) await client.query(upsertGuestAddress(guestId, connection.propertyId, guest.address));
    await client.query(updateReservation(reservationId, reservationFields));
    const current = (await client.query<HeldRoom>(heldRooms(reservationId))).rows;
    const plan = planRooms(current, rooms);
    if (plan.dropRooms.length || plan.dropNights.length) await client.query(dropRoomsAndNights(plan.dropRooms, plan.dropNights));
    if (plan.writes.length) await client.query(writeRooms(reservationId, connection.propertyId, booking.currency!, plan.writes));
  } else {
    guestId = (await client.query<{ id: string }>(insertGuest(connection.propertyId, guest, booking.channel))).rows[0]!.id;
    if (guest.address) await client.query(upsertGuestAddress(guestId, connection.propertyId, guest.address));
    const {
      rows: [r],
    } = await client.query<{ id: string; confirmationNumber: string; createdAt: Date }>(
      insertReservation({
        ...reservationFields,
        propertyId: connection.propertyId,
        status: cancelled ? 'cancelled' : 'confirmed',
        channel: booking.channel,
        guestId,
      }),
    );
    ({ id: reservationId, confirmationNumber, createdAt } = r!);
    await client.query(
      writeRooms(
        reservationId,
        connection.propertyId,
        booking.currency!,
        rooms.map((x) => ({ ...x, id: null, status: cancelled ? 'cancelled' : 'confirmed' })),
      ),
    );
  }
  await client.query(upsertPrimaryGuest(reservationId, connection.propertyId, guestId, guest));
  // The people per room, but the booker once: a booker staying in a room is already the primary guest.
  const people = booking.rooms.flatMap((r) => r.guests);
  const booker = people.findIndex((p) => p.lastName === guest.lastName && (p.firstName ?? null) === (guest.firstName ?? null));
  if (booker >= 0) people.splice(booker, 1);
  await client.query(syncRoomGuests(reservationId, connection.propertyId, booking.channel, people));
  if (booking.card) {
    const { chargeable } = booking.card;
    await client.query(
      insertCard(
        {
          propertyId: connection.propertyId,
          guestId,
          reservationId,
          channel: booking.channel,
          limit: chargeable?.amount ?? reservationFields.total,
          currency: chargeable?.currency ?? booking.currency!,
        },
        booking.card,
      ),
    );
  }
  if (booking.document) await client.query(insertDocument(connection.propertyId, guestId, booking.document));
  const status = cancelled ? 'cancelled' : held?.reservationId ? 'modified' : STATUS_OF_KIND[booking.kind];
  const {
    rows: [cr],
  } = await client.query<{ id: string }>(
    upsertChannelReservation({
      connectionId: connection.id,
      propertyId: connection.propertyId,
      channel: booking.channel,
      externalId: booking.externalId,
      reservationId,
      // A cancellation stays the held version: a later resend of the booking is then stale.
      status,
      modifiedAt: cancelled ? held!.lastModifiedAt : booking.modifiedAt,
      hash: cancelled ? (held!.lastHash ?? hash) : hash,
    }),
  );
  const overbooked = cancelled
    ? []
    : (
        await client.query<IngestResult['overbooked'][number]>(
          raiseOverbooking({
            connectionId: connection.id,
            propertyId: connection.propertyId,
            channelReservationId: cr!.id,
            reservationId,
          }),
        )
      ).rows;
  return {
    outcome: cancelled ? 'cancelled' : held?.reservationId ? 'modified' : 'created',
    externalId: booking.externalId,
    channelReservationId: cr!.id,
    reservationId,
    confirmationNumber,
    status,
    createdAt,
    cancelledFirst: cancelled || !!held?.cancelledFirst,
    overbooked,
  };
}

type ResolvedRoom = Omit<RoomWrite, 'id' | 'status'>;

/** OTA codes → local room types and rate plans; an unknown code refuses the whole booking. */
async function resolveRooms(client: PoolClient, connection: InboundConnection, booking: Booking, rules: InboundRules): Promise<ResolvedRoom[]> {
  const { rows } = await client.query<{ roomCode: string; rateCode: string; roomTypeId: string; ratePlanId: string }>(
    mappingsFor(connection.id, [...new Set(booking.rooms.map((r) => r.roomCode))]),
  );
  return booking.rooms.map((r, i) => {
    const m = (rules.rateCodeForms?.(r.rateCode) ?? [r.rateCode])
      .map((code) => rows.find((x) => x.roomCode === r.roomCode && x.rateCode === code))
      .find(Boolean);
    if (!m) {
      const roomKnown = rows.some((x) => x.roomCode === r.roomCode);
      throw new InboundRefusal(
        roomKnown ? 'unknown_rate' : 'unknown_room',
        roomKnown
          ? `room stay ${i + 1}: rate plan code ${r.rateCode} is not mapped for room type code ${r.roomCode} at this hotel`
          : `room stay ${i + 1}: room type code ${r.roomCode} is not mapped at this hotel`,
        { details: { roomCode: r.roomCode, rateCode: r.rateCode } },
      );
    }
    return {
      ref: r.ref ?? null,
      roomTypeId: m.roomTypeId,
      ratePlanId: m.ratePlanId,
      arrival: r.arrival,
      departure: r.departure,
      adults: r.adults,
      children: r.children,
      total: roomTotal({ ...r, nights: r.nights.length ? r.nights : nightlyPrices(r) }),
      guestName: r.guestName ?? fullName(booking.guest) ?? null,
      nights: nightlyPrices(r),
    };
  });
}

/**
 * A modification against the rooms held: each new room takes the held room the OTA names the same
 * (its ref, e.g. Booking.com's IndexNumber), else of the same type and dates, else of the same type,
 * else any left (kept rows keep their history and assignment); held rooms left over are dropped;
 * nights whose price or rate plan changed are replaced.
 */
function planRooms(current: HeldRoom[], next: ResolvedRoom[]): { writes: RoomWrite[]; dropRooms: string[]; dropNights: string[] } {
  const free = [...current];
  const take = (pred: (h: HeldRoom) => boolean) => {
    const i = free.findIndex(pred);
    return i < 0 ? undefined : free.splice(i, 1)[0];
  };
  const pairs = next.map((n) => ({ n, h: undefined as HeldRoom | undefined }));
  for (const p of pairs) if (p.n.ref) p.h = take((h) => h.ref === p.n.ref);
  for (const p of pairs) p.h ??= take((h) => h.roomTypeId === p.n.roomTypeId && h.arrival === p.n.arrival && h.departure === p.n.departure);
  for (const p of pairs) p.h ??= take((h) => h.roomTypeId === p.n.roomTypeId);
  for (const p of pairs) p.h ??= take(() => true);
  const dropNights: string[] = [];
  const writes = pairs.map(({ n, h }): RoomWrite => {
    if (!h) return { ...n, id: null, status: 'confirmed' };
    const kept = new Set<string>();
    for (const night of h.nights) {
      const same = n.nights.find((x) => x.date === night.date && Number(x.amount) === Number(night.amount)) && night.ratePlanId === n.ratePlanId;
      if (same) kept.add(night.date);
      else dropNights.push(night.id);
    }
    return { ...n, id: h.id, status: 'confirmed', nights: n.nights.filter((x) => !kept.has(x.date)) };
  });
  return { writes, dropRooms: free.map((h) => h.id), dropNights };
}

function sumAmounts(amounts: string[]): string {
  return (amounts.reduce((s, a) => s + Math.round(Number(a) * 1000), 0) / 1000).toFixed(2);
}

const fullName = (g: Booking['guest']) => (g ? [g.firstName, g.lastName].filter(Boolean).join(' ') : undefined);
