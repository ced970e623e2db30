/**
 * Booking.com outbound ARI: pure builders of `OTA_HotelAvailNotifRQ` (availability, restrictions) and
 * `OTA_HotelRateAmountNotifRQ` (rates), one hotel per request, valid against the vendored OpenTravel
 * 2015A schemas (./xsd). An AvailStatusMessage holds at most one RestrictionStatus, so an update
 * setting closed + CTA + CTD becomes several messages (the client sends them in separate requests);
 * every message built from update i carries `LocatorID` i+1, which an Error's `RecordID` points
 * back at (a Warning names its update in its text: issues.ts).
 */
import { buildXml, OTA_NAMESPACE } from '../../core/xml.ts';

export { OTA_NAMESPACE };
/**
 * The root as Booking.com's examples write it, "fixed and mandatory, except: timestamp … target"
 * (developers.booking.com/connectivity/docs/ota-hotelavailnotif; …/ota-rateamountnotif): the
 * namespaces, `TimeStamp`, `Target="Production"` and the payload Version of each example (the API
 * version travels in the Accept-Version header).
 */
export const OTA_PAYLOAD_VERSION = { OTA_HotelAvailNotifRQ: '1.005', OTA_HotelRateAmountNotifRQ: '3.000' } as const;
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
/** Our own cap on messages per request (a chosen bound, not Booking.com's): ≈ 300 KB, cheap to retry. */
export const BOOKING_MAX_MESSAGES = 1000;
/** Rooms to sell per room type and night, 0–254: the bound of ../shared/ota/README.md (the
 * reference page's BookingLimit row is not readable here: docs/conformance.md, section B). */
export const BOOKING_LIMIT_MAX = 254;

/**
 * Length-of-stay vocabulary (issue 18). Booking.com's OTA_HotelAvailNotif example glosses
 * `SetMinLOS`/`SetMaxLOS` as "Set Minimum Stay Through" / "Set Maximum Stay Through"
 * (connect.booking.com/user_guide/site/en-US/ota-hotelavailnotif): the stay-through pair. OpenTravel
 * 2015A's enumeration (./xsd, OTA_HotelCommonTypes.xsd `MinMaxMessageType`) has one other pair,
 * `SetForwardMinStay`/`SetForwardMaxStay`, which we send for the ARRIVAL-based minimum and maximum:
 * an INFERENCE from the enumeration, not from Booking.com, whose pages name only SetMinLOS/SetMaxLOS
 * (Booking.com does have arrival-based stays as a product, "Minimum length of stay from arrival":
 * partnerhelp.booking.com/hc/en-gb/articles/212714629; Google reads the Forward pair the other way
 * round, so confirm on a Booking.com test property before relying on it).
 */
export const LOS_TYPE = {
  minLos: 'SetForwardMinStay', // arrival-based minimum (inference, see above)
  maxLos: 'SetForwardMaxStay', // arrival-based maximum (inference, see above)
  minStayThrough: 'SetMinLOS', // "Set Minimum Stay Through" (Booking.com's example)
  maxStayThrough: 'SetMaxLOS', // "Set Maximum Stay Through" (Booking.com's example)
} as const;

export interface BookingAvailUpdate {
  roomCode: string;
  rateCode?: string;
  from: string; // YYYY-MM-DD
  to: string; // YYYY-MM-DD, inclusive
  bookingLimit?: number;
  /** Arrival-based minimum stay (1 = none), sent as SetForwardMinStay. */
  minLos?: number;
  /** Arrival-based maximum stay, SetForwardMaxStay; null = no maximum, sent as Time="0" (0 removes the restriction: ../shared/ota/README.md; the reference page does not say). */
  maxLos?: number | null;
  /** Minimum stay through the night, SetMinLOS; null = none, sent as Time="1" (a minimum of one night restricts nothing, whatever Booking.com makes of 0). */
  minStayThrough?: number | null;
  /** Maximum stay through the night, SetMaxLOS; null = none, sent as Time="0" (as maxLos). */
  maxStayThrough?: number | null;
  closed?: boolean;
  closedToArrival?: boolean;
  closedToDeparture?: boolean;
}

export interface BookingRateUpdate {
  roomCode: string;
  rateCode: string;
  from: string;
  to: string; // inclusive
  amount: string; // exact decimal as text, e.g. "129.00"; sent when occupancyRates is not
  currency: string;
  /**
   * Occupancy-based pricing (OBP): the price per number of guests, sent as one BaseByGuestAmt each
   * with `NumberOfGuests` ("BaseByGuestAmt@NumberOfGuests" for OBP room-rates; a Standard property
   * answers OBP_PRICING_PASSED_FOR_DEFAULT_RATE "OBP format sent for Standard room-rate":
   * developers.booking.com/connectivity/docs/b_xml-availability-troubleshooting). Null or absent:
   * the one per-day price `amount`.
   */
  occupancyRates?: Record<string, string> | null;
}

export interface BuildOptions {
  timeStamp?: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MONEY = /^\d{1,12}(\.\d{1,3})?$/; // OTA Money: xs:decimal with at most 3 fraction digits

/** Building a message from bad input is a bug upstream: fail loudly rather than send it. */
function fail(index: number, what: string): never {
  throw new Error(`Booking.com update ${index + 1}: ${what}`);
}

function checkRange(i: number, u: { roomCode: string; from: string; to: string }): void {
  if (!u.roomCode) fail(i, 'roomCode is empty');
  if (!DATE.test(u.from) || !DATE.test(u.to)) fail(i, `dates must be YYYY-MM-DD (got ${u.from}..${u.to})`);
  if (u.to < u.from) fail(i, `range ends (${u.to}) before it starts (${u.from})`);
}

const isLos = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0;

/** The room-rate's own status as Booking.com's example writes it (`<RestrictionStatus Status="Open"/>`,
 * no Restriction: the OTA default, Master); arrival and departure with `Restriction` (OTA 2015A). */
function restrictionStatuses(u: BookingAvailUpdate): Array<{ Status: string; Restriction?: string }> {
  const out: Array<{ Status: string; Restriction?: string }> = [];
  const add = (flag: boolean | undefined, restriction?: string) => {
    if (flag !== undefined) out.push({ Status: flag ? 'Close' : 'Open', ...(restriction ? { Restriction: restriction } : {}) });
  };
  add(u.closed);
  add(u.closedToArrival, 'Arrival');
  add(u.closedToDeparture, 'Departure');
  return out;
}

function hasLos(u: BookingAvailUpdate): boolean {
  return u.minLos !== undefined || u.maxLos !== undefined || u.minStayThrough !== undefined || u.maxStayThrough !== undefined;
}

/** The LengthOfStay elements of an update (at most four: the two pairs), or a reason to refuse it. */
function lengthsOfStay(i: number, u: BookingAvailUpdate): Array<{ $: { MinMaxMessageType: string; Time: string } }> {
  const los: Array<{ $: { MinMaxMessageType: string; Time: string } }> = [];
  const add = (field: keyof typeof LOS_TYPE, none: number) => {
    const v = u[field];
    if (v === undefined) return;
    if (v !== null && !isLos(v)) fail(i, `${field} must be a non-negative integer or null (got ${v})`);
    los.push({ $: { MinMaxMessageType: LOS_TYPE[field], Time: String(v ?? none) } });
  };
  // Stay-through first, as Booking.com's example; every pair is sent whole, so null removes what an
  // earlier push set (a delta push resends the whole restrictions part).
  add('minStayThrough', 1);
  add('maxStayThrough', 0);
  add('minLos', 1);
  add('maxLos', 0);
  return los;
}

/** How many AvailStatusMessage elements `buildAvailNotifRQ` emits for this update. */
export function availStatusMessageCount(u: BookingAvailUpdate): number {
  const rateLevel = Math.max(restrictionStatuses(u).length, hasLos(u) ? 1 : 0);
  return (u.bookingLimit !== undefined ? 1 : 0) + rateLevel;
}

function root(name: keyof typeof OTA_PAYLOAD_VERSION, opts: BuildOptions | undefined, inner: Record<string, unknown>): string {
  const body = {
    [name]: {
      $: {
        xmlns: OTA_NAMESPACE,
        'xmlns:xsi': XSI,
        'xsi:schemaLocation': `${OTA_NAMESPACE} ${name}.xsd`,
        TimeStamp: opts?.timeStamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00'),
        Target: 'Production',
        Version: OTA_PAYLOAD_VERSION[name],
      },
      ...inner,
    },
  };
  return buildXml(body);
}

function checkCount(n: number): void {
  if (n > BOOKING_MAX_MESSAGES) throw new Error(`a Booking.com request holds at most ${BOOKING_MAX_MESSAGES} messages; this one would hold ${n}`);
}

export function buildAvailNotifRQ(hotelCode: string, updates: BookingAvailUpdate[], opts?: BuildOptions): string {
  if (!hotelCode) throw new Error('OTA_HotelAvailNotifRQ needs a hotel code');
  if (!updates.length) throw new Error('OTA_HotelAvailNotifRQ needs at least one update');
  const messages: unknown[] = [];
  updates.forEach((u, i) => {
    checkRange(i, u);
    const statuses = restrictionStatuses(u);
    if (u.bookingLimit === undefined && !hasLos(u) && !statuses.length) fail(i, 'carries nothing to send');
    const locator = String(i + 1);
    const span = { Start: u.from, End: u.to };
    if (u.bookingLimit !== undefined) {
      const n = u.bookingLimit;
      if (!Number.isInteger(n) || n < 0 || n > BOOKING_LIMIT_MAX) fail(i, `bookingLimit must be an integer 0–${BOOKING_LIMIT_MAX} (got ${n})`);
      // Room-level, as Booking.com's example: no RatePlanCode ("applies across all rates").
      messages.push({
        $: { BookingLimit: String(n), LocatorID: locator },
        StatusApplicationControl: { $: { ...span, InvTypeCode: u.roomCode } },
      });
    }
    if (hasLos(u) || statuses.length) {
      if (!u.rateCode) fail(i, 'restrictions need a rateCode (Booking.com sets them per rate plan)');
      const los = lengthsOfStay(i, u);
      const sac = { $: { Start: u.from, End: u.to, RatePlanCode: u.rateCode, InvTypeCode: u.roomCode } };
      // One RestrictionStatus per message (schema); the LOS ride on the first of them.
      const count = Math.max(statuses.length, 1);
      for (let k = 0; k < count; k++) {
        const m: Record<string, unknown> = { $: { LocatorID: locator }, StatusApplicationControl: sac };
        if (k === 0 && los.length) m.LengthsOfStay = { LengthOfStay: los };
        const status = statuses[k];
        if (status) m.RestrictionStatus = { $: status };
        messages.push(m);
      }
    }
  });
  checkCount(messages.length);
  // No HotelCode on AvailStatusMessages: Booking.com's example has none, the rooms name the hotel
  // (one hotel per request); `hotelCode` only checks the caller knows it.
  return root('OTA_HotelAvailNotifRQ', opts, { AvailStatusMessages: { AvailStatusMessage: messages } });
}

export function buildRateAmountNotifRQ(hotelCode: string, updates: BookingRateUpdate[], opts?: BuildOptions): string {
  if (!hotelCode) throw new Error('OTA_HotelRateAmountNotifRQ needs a hotel code');
  if (!updates.length) throw new Error('OTA_HotelRateAmountNotifRQ needs at least one update');
  checkCount(updates.length);
  const messages = updates.map((u, i) => {
    checkRange(i, u);
    if (!u.rateCode) fail(i, 'rateCode is empty');
    if (!/^[A-Z]{3}$/.test(u.currency)) fail(i, `currency must be an ISO 4217 code (got ${u.currency})`);
    const money = (a: string) => {
      if (!MONEY.test(a)) fail(i, `amount must be a non-negative decimal with at most 3 decimals (got ${a})`);
      return a;
    };
    let amounts: Array<{ $: Record<string, string> }>;
    if (u.occupancyRates) {
      // OBP: one BaseByGuestAmt per occupancy, fewest guests first. NumberOfGuests is Numeric1to999 (2015A).
      const entries = Object.entries(u.occupancyRates);
      if (!entries.length) fail(i, 'occupancyRates is empty');
      amounts = entries
        .map(([guests, a]) => {
          if (!/^[1-9]\d{0,2}$/.test(guests)) fail(i, `occupancyRates keys must be numbers of guests 1–999 (got ${JSON.stringify(guests)})`);
          return { guests: Number(guests), a: money(a) };
        })
        .sort((x, y) => x.guests - y.guests)
        .map(({ guests, a }) => ({ $: { AmountAfterTax: a, CurrencyCode: u.currency, NumberOfGuests: String(guests) } }));
    } else amounts = [{ $: { AmountAfterTax: money(u.amount), CurrencyCode: u.currency } }];
    return {
      $: { LocatorID: String(i + 1) },
      StatusApplicationControl: { $: { Start: u.from, End: u.to, RatePlanCode: u.rateCode, InvTypeCode: u.roomCode } },
      Rates: { Rate: { BaseByGuestAmts: { BaseByGuestAmt: amounts } } },
    };
  });
  return root('OTA_HotelRateAmountNotifRQ', opts, { RateAmountMessages: { $: { HotelCode: hotelCode }, RateAmountMessage: messages } });
}

/** The two reservation queues: new bookings, and modifications with cancellations. */
export const RESERVATION_QUEUES = {
  new: { path: '/hotels/ota/OTA_HotelResNotif', rq: 'OTA_HotelResNotifRQ', rs: 'OTA_HotelResNotifRS', list: 'HotelReservations', item: 'HotelReservation' },
  modify: {
    path: '/hotels/ota/OTA_HotelResModifyNotif',
    rq: 'OTA_HotelResModifyNotifRQ',
    rs: 'OTA_HotelResModifyNotifRS',
    list: 'HotelResModifies',
    item: 'HotelResModify',
  },
} as const;
export type ReservationQueueName = keyof typeof RESERVATION_QUEUES;

const ackBase = () => ({ xmlns: OTA_NAMESPACE, TimeStamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), Target: 'Production', Version: '2.001' });

/**
 * Acknowledges reservations stored in the PMS: they leave Booking.com's queue. Shape of the
 * acknowledging-new-reservations-ota request table (root, TimeStamp, Target; the ids under
 * HotelReservations/HotelReservation/ResGlobalInfo/HotelReservationIDs/HotelReservationID, modify:
 * HotelResModifies/HotelResModify/…) with the namespace and Version of api-reference/ota_hotelresmodifynotifrs.
 */
export function buildReservationAck(queue: ReservationQueueName, reservationIds: string[]): string {
  const q = RESERVATION_QUEUES[queue];
  // "confirm every … reservation message in separate requests or in one request using the
  // HotelReservationID tag multiple times" (acknowledging-new-reservations-ota).
  const ids = reservationIds.map((id) => ({ $: { ResID_Value: id } }));
  return buildXml({ [q.rs]: { $: ackBase(), Success: '', [q.list]: { [q.item]: { ResGlobalInfo: { HotelReservationIDs: { HotelReservationID: ids } } } } } });
}

/**
 * Reports reservations the PMS could not process ("Unsuccessfully processed": they stay queued until
 * acknowledged or the 30-minute fallback e-mails them to the hotel; acknowledging-new-reservations-ota).
 * Booking.com's Error element (api-reference/error): `@Type`, `@Code` (OTA ERR code), `@RecordID`
 * ("ID of the request element that caused the error": the reservation id), `@ShortText`, `@Status`.
 */
export function buildReservationNack(queue: ReservationQueueName, failures: Array<{ id: string; type: string; code: string; text: string }>): string {
  const q = RESERVATION_QUEUES[queue];
  return buildXml({
    // ShortText is StringLength1to64 in OpenTravel; the whole text rides as the element's content.
    [q.rs]: {
      $: ackBase(),
      Errors: {
        Error: failures.slice(0, 99).map((f) => ({
          $: { Type: f.type, Code: f.code, RecordID: f.id.slice(0, 64), ShortText: f.text.replace(/\s+/g, ' ').slice(0, 64), Status: 'NotProcessed' },
          _: f.text.slice(0, 500),
        })),
      },
    },
  });
}
