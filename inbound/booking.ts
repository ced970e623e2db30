/**
 * The normalised booking: what every source (Expedia's SOAP push, the OpenTravel webhook, the
 * Booking.com poller) parses its message into, and the only thing the ingestion core reads.
 * `bookingSchema` checks the shape; `checkBooking` the business rules a schema cannot say (stay
 * dates, one currency, nights covered), each failure an InboundRefusal naming its reason.
 *
 * Glossary: external id = the OTA's reservation id (unique per channel); kind = new / modify /
 * cancel; modifiedAt = the OTA's own time of this version of the booking (messages are applied in
 * that order, not in arrival order); a room stay = one room for [arrival, departure).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { addDays } from '../core/dates.ts';
import { refuse } from './refusal.ts';

/** A channel code (channel.channels.code; the registry in connectors/ lists them). */
export type InboundChannel = string;
const channelCode = z.string().regex(/^[a-z][a-z0-9_]{1,31}$/, 'must be a channel code');

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
  }, 'is not a calendar date');
/** Amounts as exact decimal strings (never floats): ≥ 0, at most 10 integer digits and 3 decimals. */
export const money = z.string().regex(/^\d{1,10}(\.\d{1,3})?$/, 'must be a non-negative decimal amount');
export const currencyCode = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code');
const otaCode = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 letters, digits, _ . -');
const text = (max: number) => z.string().trim().min(1).max(max);

const personSchema = z.object({ firstName: text(100).optional(), lastName: text(100) });

export const roomStaySchema = z.object({
  /** The OTA's id of this room within the booking (Booking.com RoomStay/@IndexNumber): a
   * modification names its rooms by it. */
  ref: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
    .optional(),
  roomCode: otaCode,
  rateCode: otaCode,
  arrival: isoDate,
  departure: isoDate,
  adults: z.number().int().min(1, 'at least one adult').max(20),
  children: z.number().int().min(0).max(20),
  /** The children's ages, where the OTA gives them (GuestCount/@Age). */
  childAges: z.array(z.number().int().min(0).max(17)).max(20).default([]),
  /** Price of each night (what the guest pays for the room that night: the OTA's nightly total,
   * or base + extra guests + nightly fees); empty when the OTA gave only a total (spread evenly then). */
  nights: z.array(z.object({ date: isoDate, amount: money })).max(366),
  total: money.optional(),
  currency: currencyCode.optional(),
  guestName: text(200).optional(),
  /** The people staying in this room (Booking.com ResGuests linked by ResGuestRPH). */
  guests: z.array(personSchema).max(20).default([]),
});

/** Contact checks of the PMS (guest.profiles' CHECK constraints). A value that fails them is not a
 * reason to refuse a paid booking: the parser keeps it as given in the booking's details instead. */
export const isEmail = (v: string) => v.length <= 254 && /^[^@\s]+@[^@\s]+$/.test(v);
export const isPhone = (v: string) => /^[+0-9 ()./-]{5,32}$/.test(v);

export const guestSchema = personSchema.extend({
  email: z.string().trim().refine(isEmail, 'must be an e-mail address').optional(),
  phone: z.string().trim().refine(isPhone, 'must be a phone number').optional(),
  language: z
    .string()
    .regex(/^[a-z]{2}(-[A-Z]{2})?$/)
    .optional(),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .optional(),
  address: z
    .object({
      line1: text(200).optional(),
      city: text(100).optional(),
      postalCode: text(20).optional(),
      region: text(100).optional(),
      country: z
        .string()
        .regex(/^[A-Z]{2}$/)
        .optional(),
      company: text(200).optional(),
    })
    .optional(),
});

export const cardSchema = z.object({
  brand: z.enum(['visa', 'mastercard', 'amex', 'discover', 'diners', 'jcb', 'unionpay', 'maestro', 'other']),
  number: z.string().regex(/^\d{12,19}$/, 'must be 12–19 digits'),
  holder: text(200).optional(),
  expiryMonth: z.number().int().min(1).max(12),
  expiryYear: z.number().int().min(2000).max(2100),
  /** OTA virtual cards: chargeable from an activation date, up to the amount loaded. */
  virtual: z.boolean(),
  activationDate: isoDate.optional(),
  /** What the OTA says may be charged on it (Expedia RoomStay/Payment/@Amount; its currency may
   * differ from the booking's), and until when. */
  chargeable: z.object({ amount: money, currency: currencyCode, until: isoDate.optional() }).optional(),
});

export const documentSchema = z.object({
  type: z.enum(['passport', 'id_card', 'driving_licence', 'residence_permit', 'visa']),
  number: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9 -]{4,40}$/, 'must be 4–40 letters or digits'),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .optional(),
});

export const bookingSchema = z.object({
  channel: channelCode,
  hotelCode: otaCode,
  externalId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1–64 letters, digits, _ . : -'),
  kind: z.enum(['new', 'modify', 'cancel']),
  modifiedAt: z.date(),
  rooms: z.array(roomStaySchema).max(50, 'at most 50 rooms per booking'),
  currency: currencyCode.optional(),
  total: money.optional(),
  guest: guestSchema.optional(),
  card: cardSchema.optional(),
  document: documentSchema.optional(),
  specialRequests: z.string().max(4000).optional(),
  /** The guest's own words among the requests (Expedia RequestCode 4), which Expedia sends only
   * when new: a modification without them keeps the earlier ones. */
  freeText: z.string().max(2000).optional(),
  paymentCollect: z.enum(['hotel', 'ota']).optional(),
  /** The confirmation number we gave earlier, when the OTA repeats it (modify / cancel). */
  ourConfirmation: z.string().max(64).optional(),
  /** Free-form facts kept on the reservation (the OTA's promotion, its booking channel …). */
  attributes: z.record(z.string(), z.string().max(500)).default({}),
  /** Everything else the message says that the PMS schema has no column for — taxes and fees,
   * commission, extras, comments, penalties, room descriptions, contact values as given — kept in
   * reservations.attributes.ota_details, never dropped silently (docs/conformance.md lists them). */
  details: z
    .record(z.string(), z.unknown())
    .default({})
    .refine((d) => JSON.stringify(d).length <= 64_000, "the booking's details exceed 64 KB"),
});

export type Booking = z.output<typeof bookingSchema>;
export type RoomStay = z.output<typeof roomStaySchema>;

/** Far enough for any real booking (OTAs sell ≤ 2 years ahead) and past stays (corrections, no-shows). */
const EARLIEST_ARRIVAL = '2000-01-01';
const MAX_DAYS_AHEAD = 3 * 366;
const MAX_NIGHTS = 366;

const nightCount = (r: RoomStay) => Math.round((Date.parse(r.departure) - Date.parse(r.arrival)) / 86_400_000);

/**
 * The rules beyond the shape. `today` is the property's (or UTC) date. A cancellation needs no
 * rooms; a new booking or a modification needs at least one, a guest surname, and one currency.
 */
export function checkBooking(b: Booking, today: string): Booking {
  if (b.kind === 'cancel') return b;
  if (!b.rooms.length) refuse('no_rooms', 'the booking has no room stay (0 rooms)');
  if (!b.guest) refuse('missing_guest_name', 'the booking names no guest (ResGuest/…/PersonName/Surname)');
  const latest = addDays(today, MAX_DAYS_AHEAD);
  const currencies = new Set<string>(b.currency ? [b.currency] : []);
  b.rooms.forEach((r, i) => {
    const where = `room stay ${i + 1}`;
    if (r.departure <= r.arrival) refuse('invalid_dates', `${where}: departure must be after arrival`);
    if (nightCount(r) > MAX_NIGHTS) refuse('invalid_dates', `${where}: a stay may last at most ${MAX_NIGHTS} nights`);
    if (r.arrival < EARLIEST_ARRIVAL || r.arrival > latest)
      refuse('dates_out_of_range', `${where}: arrival must be between ${EARLIEST_ARRIVAL} and ${MAX_DAYS_AHEAD} days from today`);
    if (r.currency) currencies.add(r.currency);
    if (r.nights.length) {
      const dates = new Set(r.nights.map((n) => n.date));
      if (dates.size !== r.nights.length) refuse('invalid_amount', `${where}: a night is priced twice`);
      for (let d = r.arrival; d < r.departure; d = addDays(d, 1)) {
        if (!dates.has(d)) refuse('invalid_amount', `${where}: the nightly prices do not cover the night of ${d}`);
      }
      if (r.nights.some((n) => n.date < r.arrival || n.date >= r.departure)) refuse('invalid_amount', `${where}: a nightly price lies outside the stay`);
    } else if (r.total === undefined) {
      refuse('invalid_amount', `${where}: neither nightly prices nor a total`);
    }
  });
  if (currencies.size > 1) refuse('currency_mismatch', `the booking mixes currencies (${[...currencies].sort().join(', ')}); all amounts must be in one`);
  if (!currencies.size) refuse('missing_field', 'the booking has no currency (CurrencyCode)');
  return toCents({ ...b, currency: [...currencies][0]! });
}

const mills = (a: string) => Math.round(Number(a) * 1000);
const cents = (m: number) => Math.floor((m + 5) / 10); // half up
const money2 = (c: number) => (c / 100).toFixed(2);

/**
 * The PMS keeps money to the cent (shared.amount is numeric(14, 2)); a currency with three decimal
 * places (KWD, BHD, JOD, OMR, TND: DecimalPlaces="3") is rounded half up, each room's nights so
 * that they add up to the rounded sum of the exact nights (the rounding is carried, not repeated),
 * and the exact amounts are kept in the details (`exact_amounts`). Amounts in cents pass unchanged.
 */
function toCents(b: Booking): Booking {
  const all = [b.total, b.card?.chargeable?.amount, ...b.rooms.flatMap((r) => [r.total, ...r.nights.map((n) => n.amount)])];
  if (!all.some((a) => a !== undefined && (a.split('.')[1]?.length ?? 0) > 2)) return b;
  const round = (a: string | undefined) => (a === undefined ? undefined : money2(cents(mills(a))));
  const rooms = b.rooms.map((r) => {
    let sum = 0;
    const nights = r.nights.map((n) => {
      const before = cents(sum);
      sum += mills(n.amount);
      return { ...n, amount: money2(cents(sum) - before) };
    });
    return { ...r, nights, total: round(r.total) };
  });
  const exact = { total: b.total, rooms: b.rooms.map((r) => ({ total: r.total, nights: r.nights })), card_chargeable: b.card?.chargeable?.amount };
  return {
    ...b,
    rooms,
    total: round(b.total),
    ...(b.card?.chargeable ? { card: { ...b.card, chargeable: { ...b.card.chargeable, amount: round(b.card.chargeable.amount)! } } } : {}),
    details: { ...b.details, exact_amounts: exact },
  };
}

/** Each night's price of a room stay: as sent, or the total spread evenly (cents to the last night). */
export function nightlyPrices(r: RoomStay): Array<{ date: string; amount: string }> {
  if (r.nights.length) return [...r.nights].sort((a, b) => a.date.localeCompare(b.date));
  const n = nightCount(r);
  const cents = Math.round(Number(r.total) * 100);
  const each = Math.floor(cents / n);
  return Array.from({ length: n }, (_, i) => ({
    date: addDays(r.arrival, i),
    amount: ((i === n - 1 ? cents - each * (n - 1) : each) / 100).toFixed(2),
  }));
}

/** A room stay's total: as sent, or the sum of its nights (exact, in thousandths). */
export function roomTotal(r: RoomStay): string {
  if (r.total !== undefined) return r.total;
  const milli = r.nights.reduce((s, n) => s + Math.round(Number(n.amount) * 1000), 0);
  return (milli / 1000).toFixed(3).replace(/0$/, '');
}

/**
 * The version's identity: the booking's content without delivery details (envelope ids, retry
 * flags). Two deliveries with the same hash are the same version: the second is a duplicate.
 */
export function bookingHash(b: Booking): string {
  return createHash('sha256')
    .update(JSON.stringify({ ...b, modifiedAt: b.modifiedAt.toISOString() }))
    .digest('hex');
}

/**
 * The order versions apply in: the OTA's time, then new < modify < cancel (a cancellation stamped
 * with its booking's time still wins). Two different versions stamped alike (OTA times in whole
 * seconds or minutes) apply in arrival order: the later one is the guest's latest change.
 */
const KIND_RANK = { new: 0, modify: 1, cancel: 2 } as const;
export function versionKey(modifiedAt: Date, kind: Booking['kind']): string {
  return `${modifiedAt.toISOString()}|${KIND_RANK[kind]}`;
}
export const STATUS_OF_KIND = { new: 'new', modify: 'modified', cancel: 'cancelled' } as const;
export const KIND_OF_STATUS = { new: 'new', modified: 'modify', cancelled: 'cancel' } as const;
