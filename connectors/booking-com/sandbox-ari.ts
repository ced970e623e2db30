/**
 * The Booking.com sandbox's rates-and-availability side: `OTA_HotelAvailNotifRQ` and
 * `OTA_HotelRateAmountNotifRQ` read, checked and applied as Booking.com's pages describe them, and
 * the state a hotel would show. Sources (developers.booking.com/connectivity/docs/…):
 * ota-hotelavailnotif, ota-rateamountnotif, b_xml-availability-troubleshooting and
 * rates-availability-error-codes (the v1.1 HTTP model and codes of "the availability endpoints"),
 * api-reference/warning, api-reference/error, api-reference/codes-err.
 *
 * Invariants: a request that fails the schema changes nothing; otherwise each message is checked on
 * its own, so one bad message never blocks the others; within one request a date is applied once
 * (the first occurrence); BookingLimit is room-level.
 */
import { z } from 'zod';
import { addDays, nextDay } from '../../core/dates.ts';
import { sandboxKey, type SandboxCell } from '../outbound/types.ts';
import { errors, OTA_NS, warnings, type Issue, type XmlNode } from './sandbox-xml.ts';

export type AriKind = 'avail' | 'rate';
export const ARI = {
  avail: { rq: 'OTA_HotelAvailNotifRQ', rs: 'OTA_HotelAvailNotifRS', list: 'AvailStatusMessages', item: 'AvailStatusMessage' },
  rate: { rq: 'OTA_HotelRateAmountNotifRQ', rs: 'OTA_HotelRateAmountNotifRS', list: 'RateAmountMessages', item: 'RateAmountMessage' },
} as const;

/**
 * Per hotel: its room and rate ids; `currency` stands in for the property currency Booking.com keeps.
 * `pricing`: the property's pricing type, set per hotel at Booking.com (`PricingType@Value`
 * "Specifies the pricing type for the hotel … Accepts: Standard, LOS, OBP. Default: Standard",
 * developers.booking.com/connectivity/docs/api-reference/pricingtype); default standard.
 * `ratePricing`: per rate id, a room-rate's own pricing type ("Set pricing type for individual
 * room-rates using the OTA_HotelProductNotif endpoint", developers.booking.com/connectivity/docs/
 * configuring-retrieving-pricing-types); the hotel's applies to the others.
 * `maxOccupancy`: per room id, the most adults it takes (`RoomType@MaxOccupancy` of
 * OTA_HotelProductNotif, connect.booking.com/user_guide/site/en-US/pricing-models); unlimited if absent.
 */
export type Products = Record<
  string,
  {
    rooms: string[];
    rates: string[];
    currency?: string;
    pricing?: 'standard' | 'obp';
    ratePricing?: Record<string, 'standard' | 'obp'>;
    maxOccupancy?: Record<string, number>;
  }
>;

/** OpenTravel EWT (Warning/Error @Type) and ERR (@Code) values; which ones Booking.com uses for ARI is not published. */
export const EWT = { bizRule: '3', authentication: '4', authorization: '6', protocol: '7', requiredField: '10', advisory: '11', processing: '12' } as const;
export const ERR = {
  invalidDate: '15',
  invalidRate: '249',
  invalidValue: '320',
  requiredField: '321',
  invalidRoom: '402',
  systemError: '448',
  unableToProcess: '450',
  authorization: '497',
} as const;

/** The v1.1 texts (rates-availability-error-codes), `%s` filled; the ones marked ours are not published. */
export const TEXT = {
  roomMissing: 'Room ID is missing', // ROOM_ID_MISSING
  roomElementRequired: 'Room is missing', // ROOM_ELEMENT_REQUIRED: "the request contains an empty request body"
  fromAfterTo: 'From date should be less than or equal To Date', // FROM_DATE_SHOULD_BE_LESS_THAN_TO_DATE
  roomInvalid: (id: string) => `Room ID '${id}' is not valid`, // ROOM_ID_INVALID
  rateInvalid: (id: string) => `Rate ID '${id}' is not valid`, // ours, by analogy with ROOM_ID_INVALID
  rateMissing: 'Rate ID is missing', // ours, by analogy with ROOM_ID_MISSING
  nothingToUpdate: 'AvailStatusMessage carries no BookingLimit, LengthsOfStay or RestrictionStatus', // ours
  // NOT_A_VALID_DATE, verbatim including the missing space after the comma.
  notValidDate: (from: string, to: string) =>
    `Dates should be in YYYY-MM-DD format, not before '${from}',and not be past '${to}'. The data should also be valid`,
  duplicateDates: 'Request contains duplicate dates, we have applied only the first occurrence.', // WARN_DUPLICATE_DATES
  // OBP_PRICING_PASSED_FOR_DEFAULT_RATE: "The request contains pricing information in OBP pricing
  // format. However, the property is set to Standard pricing type." (b_xml-availability-troubleshooting)
  obpForStandard: 'OBP format sent for Standard room-rate',
  // Ours, OUR INFERENCE: no published error for a NumberOfGuests above the room's maximum occupancy
  // was found (Booking.com only says a search for more guests than the maximum finds nothing,
  // connectivity/docs/ari). Named OCCUPANCY_ABOVE_MAX_OCCUPANCY here; it names the room and rate.
  occupancyAboveMax: (guests: number, max: number, room: string, rate: string) =>
    `OCCUPANCY_ABOVE_MAX_OCCUPANCY: NumberOfGuests '${guests}' is above the maximum occupancy (${max}) of Room ID '${room}', Rate ID '${rate}'`,
  // The Warning example of api-reference/warning names the hotel this way.
  noAccess: (hotel: string) => `You do not have access to hotel:${hotel}`,
};

// ---- the request schema (xml2js with explicitArray: zod decides what occurs once) ----
const one = <T extends z.ZodType>(item: T) => z.array(item).length(1);
const isCalendarDate = (s: string) =>
  /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);
const DATE_FORMAT = 'NOT_A_VALID_DATE';
const isoDate = z.string().refine(isCalendarDate, DATE_FORMAT);
const count = z
  .string()
  .regex(/^\d{1,9}$/, 'must be a non-negative integer')
  .transform(Number);
const locator = z.object({ LocatorID: z.string().optional() });
// End inclusive: "from the 5th of November to and including the 17th" (ota-hotelavailnotif example).
const control = one(
  z.object({ $: z.object({ Start: isoDate, End: isoDate, InvTypeCode: z.string().optional(), RatePlanCode: z.string().optional() }) }),
).transform(([c]) => ({ start: c!.$.Start, end: c!.$.End, room: c!.$.InvTypeCode || undefined, rate: c!.$.RatePlanCode || undefined }));

const availItem = z
  .object({
    $: locator.extend({ BookingLimit: count.optional() }).optional(),
    StatusApplicationControl: control,
    LengthsOfStay: one(
      z.object({
        LengthOfStay: z
          .array(z.object({ $: z.object({ MinMaxMessageType: z.enum(['SetMinLOS', 'SetMaxLOS', 'SetForwardMinStay', 'SetForwardMaxStay']), Time: count }) }))
          .min(1),
      }),
    ).optional(),
    // An absent @Restriction is Master (the whole room-rate), as Booking.com's own example sends it.
    RestrictionStatus: one(
      z.object({ $: z.object({ Status: z.enum(['Open', 'Close']), Restriction: z.enum(['Master', 'Arrival', 'Departure']).default('Master') }) }),
    ).optional(),
  })
  .transform((m) => ({
    ...m.StatusApplicationControl,
    limit: m.$?.BookingLimit,
    los: m.LengthsOfStay?.[0]!.LengthOfStay.map((l) => ({ type: l.$.MinMaxMessageType, time: l.$.Time })) ?? [],
    status: m.RestrictionStatus?.[0]!.$,
  }));

const amount = z.string().regex(/^\d{1,12}(\.\d{1,6})?$/, 'must be a non-negative amount');
const guestAmount = z.object({
  $: z
    .object({
      AmountAfterTax: amount.optional(),
      AmountBeforeTax: amount.optional(),
      // "up to 3 decimals" (api-reference/total, the same convention on Booking.com's OTA amounts)
      DecimalPlaces: z
        .string()
        .regex(/^[0-3]$/, 'must be 0–3')
        .transform(Number)
        .optional(),
      CurrencyCode: z
        .string()
        .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code')
        .optional(),
      NumberOfGuests: z
        .string()
        .regex(/^[1-9]\d{0,2}$/, 'must be a positive integer')
        .transform(Number)
        .optional(),
    })
    .refine((a) => a.AmountAfterTax !== undefined || a.AmountBeforeTax !== undefined, 'needs AmountAfterTax or AmountBeforeTax'),
});
const rateItem = z
  .object({
    $: locator.optional(),
    StatusApplicationControl: control,
    Rates: one(z.object({ Rate: z.array(z.object({ BaseByGuestAmts: one(z.object({ BaseByGuestAmt: z.array(guestAmount).min(1) })) })).min(1) })),
  })
  .transform((m) => ({
    ...m.StatusApplicationControl,
    amounts: m.Rates[0]!.Rate.flatMap((r) => r.BaseByGuestAmts[0]!.BaseByGuestAmt).map(({ $: a }) => ({
      // AmountAfterTax wins when both are sent (our choice; Booking.com's examples send one).
      amount: decodeAmount((a.AmountAfterTax ?? a.AmountBeforeTax)!, a.DecimalPlaces),
      currency: a.CurrencyCode,
      guests: a.NumberOfGuests,
    })),
  }));

type AvailUpdate = z.output<typeof availItem>;
type RateUpdate = z.output<typeof rateItem>;
type Update = (AvailUpdate | RateUpdate) & { locator: string | undefined };

/**
 * An amount written without a decimal point, with DecimalPlaces n, is amount / 10^n (OpenTravel
 * 2015A, DecimalPlaces implementer note: "USD 8500 needs DecimalPlaces="2" to represent $85";
 * Booking.com's derived-pricing tutorial sends AmountAfterTax="4500" DecimalPlaces="2"). An amount
 * with a decimal point is taken as written. Exact: the result is a decimal string.
 */
export function decodeAmount(raw: string, decimals: number | undefined): string {
  if (raw.includes('.') || !decimals) return raw;
  const digits = raw.padStart(decimals + 1, '0');
  return `${BigInt(digits.slice(0, -decimals))}.${digits.slice(-decimals)}`;
}

/** Today's date where Booking.com counts it: "follows Central European Time (CET)" (ota-hotelavailnotif). */
const cetDate = (now: Date) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);

/**
 * The dates an update may touch. From: "up to 1 day in the past" (ota-hotelavailnotif). To: not
 * published for the OTA endpoints (NOT_A_VALID_DATE's message implies one); our choice is today
 * + 3 years, above the 12 months Booking.com asks to keep in sync and our 500-day window.
 */
export function dateBounds(now: Date): { from: string; to: string } {
  const today = cetDate(now);
  const [y, m, d] = today.split('-').map(Number) as [number, number, number];
  return { from: addDays(today, -1), to: new Date(Date.UTC(y + 3, m - 1, d)).toISOString().slice(0, 10) };
}

function monthsOf(start: string, end: string): string[] {
  const out: string[] = [];
  let [y, m] = start.split('-').map(Number) as [number, number];
  const last = end.slice(0, 7);
  for (let i = 0; i < 240; i++) {
    const month = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}`;
    out.push(month);
    if (month >= last) break;
    [y, m] = m === 12 ? [y + 1, 1] : [y, m + 1];
  }
  return out;
}

/** The issue for a message that fails the schema: where, and why. */
function schemaIssue(error: z.ZodError, recordId: string | undefined, item: string, bounds: { from: string; to: string }): Issue {
  const base = recordId !== undefined ? { recordId } : {};
  const first = error.issues[0]!;
  if (error.issues.some((i) => i.message === DATE_FORMAT))
    return { type: EWT.bizRule, code: ERR.invalidDate, shortText: TEXT.notValidDate(bounds.from, bounds.to), ...base };
  const where = [item, ...first.path.filter((p) => typeof p === 'string')].join('/').replace('/$/', '/@').replace(/\/\$$/, '');
  const missing = /received undefined/.test(first.message);
  return missing
    ? { type: EWT.requiredField, code: ERR.requiredField, shortText: `Required field missing: ${where}`, ...base }
    : { type: EWT.bizRule, code: ERR.invalidValue, shortText: `Invalid value: ${where}: ${first.message}`, ...base };
}

interface Counters {
  accepted: number;
  rejected: number;
  multiMonthRequests: number;
  multiHotelRequests: number;
  duplicateDateRequests: number;
}
interface RateCell {
  room: string;
  rate: string;
  night: string;
  cell: SandboxCell;
  occupancy: Map<number, string>;
}
interface RoomNight {
  room: string;
  night: string;
  limit?: number;
  status?: 'Open' | 'Close';
}
type Outcome = { issue: Issue; unauthorized?: boolean } | { hotel: string };

export class AriStore {
  readonly #rates = new Map<string, Map<string, RateCell>>();
  readonly #rooms = new Map<string, Map<string, RoomNight>>();
  /** Requests touching more than one calendar month ("Monthly Batching", ota-rateamountnotif): accepted, recorded. */
  readonly multiMonthRequests: Array<{ kind: AriKind; months: string[] }> = [];

  constructor(
    private readonly products: Products,
    private readonly now: () => Date,
    private readonly counters: Counters,
  ) {}

  /** One request, authorised for `allowed` hotels: the HTTP status and the RS content (`Success`/`Warnings` or `Errors`). */
  handle(kind: AriKind, root: string, node: XmlNode, allowed: Set<string>): { status: number; content: Record<string, unknown> } {
    const names = ARI[kind];
    const refuse = (issue: Issue) => ({ status: 400, content: errors([issue]) });
    if (root !== names.rq) return refuse({ type: EWT.protocol, code: ERR.unableToProcess, shortText: `Root element must be ${names.rq}` });
    // "All the below XML is fixed and mandatory, except: timestamp … target" (ota-hotelavailnotif): the namespace is checked.
    if (node.$?.xmlns !== OTA_NS) return refuse({ type: EWT.protocol, code: ERR.unableToProcess, shortText: `${names.rq} must be in the namespace ${OTA_NS}` });
    const lists = node[names.list];
    if (Array.isArray(lists) && lists.length > 1)
      return refuse({ type: EWT.bizRule, code: ERR.invalidValue, shortText: `Invalid value: more than one ${names.list}` });
    const list = (Array.isArray(lists) ? lists[0] : undefined) as XmlNode | undefined;
    const raws = (list?.[names.item] ?? []) as XmlNode[];
    if (!raws.length) return refuse({ type: EWT.requiredField, code: ERR.requiredField, shortText: TEXT.roomElementRequired });
    const declared = list?.$?.HotelCode || undefined; // absent in Booking.com's own examples: the room ids say which hotel

    // Schema first: "schema validations such as invalid integer, date → HTTP 400" (b_xml-availability-troubleshooting).
    const bounds = dateBounds(this.now());
    const schema = kind === 'avail' ? availItem : rateItem;
    const parsed = raws.map((raw) => ({ p: schema.safeParse(raw), locator: raw?.$?.LocatorID }));
    const bad = parsed.flatMap(({ p, locator }) => (p.success ? [] : [schemaIssue(p.error, locator, names.item, bounds)]));
    if (bad.length) {
      this.counters.rejected += raws.length;
      return { status: 400, content: errors(bad) };
    }
    const updates: Update[] = parsed.map(({ p, locator }) => ({ ...(p.data as AvailUpdate | RateUpdate), locator }));
    this.#observeBatching(kind, updates);

    const outcomes = updates.map((u) => this.#check(kind, u, declared, allowed, bounds));
    const hotels = new Set(outcomes.flatMap((o) => ('hotel' in o ? [o.hotel] : [])));
    if (hotels.size > 1) this.counters.multiHotelRequests += 1; // "Single Hotel Per Request": accepted, counted
    const issues = outcomes.flatMap((o, i) => ('issue' in o ? [{ ...o, locator: updates[i]!.locator }] : []));
    this.counters.rejected += issues.length;
    this.counters.accepted += outcomes.length - issues.length;
    if (issues.length === outcomes.length) {
      // "All updates are unauthorized → 403", "All updates with errors → 400"; Error/@RecordID is "the ID of
      // the request element that caused the error": the message's LocatorID, when it has one.
      const status = issues.every((i) => i.unauthorized) ? 403 : 400;
      return { status, content: errors(issues.map((i) => ({ ...i.issue, ...(i.locator !== undefined ? { recordId: i.locator } : {}) }))) };
    }
    const seen = new Set<string>();
    let duplicates = false;
    // WARN_DUPLICATE_DATES: "we have applied only the first occurrence". A date is a duplicate when an
    // earlier message of the request set the same thing (limit, min/max LOS, each restriction, each
    // occupancy's price) for the same room (and rate) and night: our reading of "duplicate dates".
    const once = (key: string, apply: () => void) => {
      if (seen.has(key)) duplicates = true;
      else {
        seen.add(key);
        apply();
      }
    };
    outcomes.forEach((o, i) => {
      if (!('hotel' in o)) return;
      if (kind === 'avail') this.#applyAvail(o.hotel, updates[i] as AvailUpdate, once);
      else this.#applyRate(o.hotel, updates[i] as RateUpdate, once);
    });
    if (duplicates) this.counters.duplicateDateRequests += 1;
    // At least one applied → 200 with a Warning per refused message. Warnings carry no RecordID
    // (api-reference/warning); like its example ("You do not have access to hotel:123456") the
    // ShortText names what was refused: a room or rate id, a hotel, or the date bounds.
    const warned = [...issues.map((i) => i.issue), ...(duplicates ? [{ type: EWT.advisory, code: ERR.unableToProcess, shortText: TEXT.duplicateDates }] : [])];
    return { status: 200, content: { Success: '', ...(warned.length ? warnings(warned) : {}) } };
  }

  #observeBatching(kind: AriKind, updates: Update[]): void {
    const months = new Set(updates.filter((u) => u.start <= u.end).flatMap((u) => monthsOf(u.start, u.end)));
    if (months.size <= 1) return;
    this.counters.multiMonthRequests += 1;
    this.multiMonthRequests.push({ kind, months: [...months].sort() });
  }

  /** Which hotel a message is for, or why it is refused. */
  #check(kind: AriKind, u: Update, declared: string | undefined, allowed: Set<string>, bounds: { from: string; to: string }): Outcome {
    const issue = (type: string, code: string, shortText: string) => ({ issue: { type, code, shortText } });
    if (!u.room) return issue(EWT.requiredField, ERR.requiredField, TEXT.roomMissing);
    const owner = this.#hotelOf(u.room, declared, allowed);
    if ('denied' in owner) return { ...issue(EWT.authorization, ERR.authorization, TEXT.noAccess(owner.denied)), unauthorized: true };
    if (!owner.hotel) return issue(EWT.bizRule, ERR.invalidRoom, TEXT.roomInvalid(u.room));
    const catalogue = this.products[owner.hotel];
    if (catalogue && !catalogue.rooms.includes(u.room)) return issue(EWT.bizRule, ERR.invalidRoom, TEXT.roomInvalid(u.room));
    if (catalogue && u.rate && !catalogue.rates.includes(u.rate)) return issue(EWT.bizRule, ERR.invalidRate, TEXT.rateInvalid(u.rate));
    if (u.end < u.start) return issue(EWT.bizRule, ERR.invalidDate, TEXT.fromAfterTo);
    // A message reaching past either bound is refused whole (our choice: not clipped).
    if (u.start < bounds.from || u.end > bounds.to) return issue(EWT.bizRule, ERR.invalidDate, TEXT.notValidDate(bounds.from, bounds.to));
    if (kind === 'rate' && !u.rate) return issue(EWT.requiredField, ERR.requiredField, TEXT.rateMissing);
    if ('amounts' in u) {
      // A Standard property takes a room price and, beside it, the single-use price (NumberOfGuests="1":
      // "a price for a single adult guest", pricing-models; the OTA form of that price is our reading);
      // a price for more guests is the OBP format. Nothing of the message is applied.
      const guests = u.amounts.flatMap((a) => (a.guests !== undefined ? [a.guests] : []));
      // A hotel without a catalogue takes either format (like any id), so that open demo hotels serve both models.
      if (catalogue && (catalogue.ratePricing?.[u.rate!] ?? catalogue.pricing ?? 'standard') === 'standard' && guests.some((g) => g > 1))
        return issue(EWT.bizRule, ERR.invalidValue, TEXT.obpForStandard);
      const max = catalogue?.maxOccupancy?.[u.room];
      const above = max === undefined ? undefined : guests.find((g) => g > max);
      if (above !== undefined) return issue(EWT.bizRule, ERR.invalidValue, TEXT.occupancyAboveMax(above, max!, u.room, u.rate!));
    }
    if ('limit' in u) {
      if (u.limit === undefined && !u.los.length && !u.status) return issue(EWT.requiredField, ERR.requiredField, TEXT.nothingToUpdate);
      // Restrictions are "per room type, rate and date"; only Master (closing the room type) works without a rate.
      if (!u.rate && (u.los.length || (u.status && u.status.Restriction !== 'Master'))) return issue(EWT.requiredField, ERR.requiredField, TEXT.rateMissing);
    }
    return { hotel: owner.hotel };
  }

  /**
   * A declared HotelCode must be one of the token's hotels. Without one (Booking.com's examples have
   * none) the hotel is the one whose catalogue holds the room, else the token's only hotel without
   * a catalogue; none found means the room id is not valid.
   */
  #hotelOf(room: string, declared: string | undefined, allowed: Set<string>): { hotel?: string } | { denied: string } {
    if (declared) return allowed.has(declared) ? { hotel: declared } : { denied: declared };
    const owners = Object.keys(this.products).filter((h) => this.products[h]!.rooms.includes(room));
    const mine = owners.find((h) => allowed.has(h));
    if (mine) return { hotel: mine };
    if (owners.length) return { denied: owners[0]! };
    const open = [...allowed].filter((h) => !this.products[h]);
    return open.length === 1 ? { hotel: open[0]! } : {};
  }

  #applyAvail(hotel: string, u: AvailUpdate, once: (key: string, apply: () => void) => void): void {
    const room = u.room!;
    for (let night = u.start; night <= u.end; night = nextDay(night)) {
      const at = `${hotel}|${room}|${night}`;
      // BookingLimit: "the number of rooms of this type that Booking.com can sell … applies across all
      // rates" (ota-hotelavailnotif): room-level even when the message names a rate.
      if (u.limit !== undefined) once(`limit|${at}`, () => (this.#roomNight(hotel, room, night).limit = u.limit));
      if (!u.rate) {
        // "Close a room type on a specified date. Even if roomrates are open, the room type is not available".
        if (u.status) once(`room-status|${at}`, () => (this.#roomNight(hotel, room, night).status = u.status!.Status));
        continue;
      }
      const key = `${at}|${u.rate}`;
      for (const l of u.los) {
        // SetMinLOS/SetMaxLOS are "Minimum/Maximum Stay Through" (ota-hotelavailnotif's example);
        // SetForwardMinStay/SetForwardMaxStay, OpenTravel's other pair, are taken as arrival-based
        // (our inference: the page names only the first pair). Time="0" lifts a restriction (our
        // choice, the publisher does not say how one is removed), as does a minimum of 1.
        once(`${l.type}|${key}`, () => {
          const cell = this.#rateCell(hotel, room, u.rate!, night).cell;
          if (l.type === 'SetForwardMinStay') cell.minLos = l.time === 0 ? 1 : l.time;
          else if (l.type === 'SetForwardMaxStay') cell.maxLos = l.time === 0 ? null : l.time;
          else if (l.type === 'SetMinLOS') cell.minStayThrough = l.time <= 1 ? null : l.time;
          else cell.maxStayThrough = l.time === 0 ? null : l.time;
        });
      }
      if (u.status) {
        const { Status, Restriction } = u.status;
        const field = ({ Master: 'closed', Arrival: 'closedToArrival', Departure: 'closedToDeparture' } as const)[Restriction];
        once(`${Restriction}|${key}`, () => (this.#rateCell(hotel, room, u.rate!, night).cell[field] = Status === 'Close'));
      }
    }
  }

  /**
   * Occupancy pricing: the cell's rate is the price without NumberOfGuests (the room price), else
   * the one for the most guests ("Standard price becomes maximum occupancy price", pricing-models);
   * every per-occupancy price is kept for occupancyPrices().
   */
  #applyRate(hotel: string, u: RateUpdate, once: (key: string, apply: () => void) => void): void {
    const room = u.room!;
    const rate = u.rate!;
    const primary = u.amounts.find((a) => a.guests === undefined) ?? u.amounts.reduce((a, b) => (b.guests! > a.guests! ? b : a));
    // "Booking.com defines the currency for each property" (api-reference/total): the catalogue's, if the message names none.
    const currency = primary.currency ?? this.products[hotel]?.currency;
    for (let night = u.start; night <= u.end; night = nextDay(night)) {
      for (const a of u.amounts) {
        once(`amount|${hotel}|${room}|${rate}|${night}|${a.guests ?? 'room'}`, () => {
          const entry = this.#rateCell(hotel, room, rate, night);
          if (a === primary) Object.assign(entry.cell, { rate: a.amount }, currency ? { currency } : {});
          if (a.guests !== undefined) entry.occupancy.set(a.guests, a.amount);
        });
      }
    }
  }

  #roomNight(hotel: string, room: string, night: string): RoomNight {
    let m = this.#rooms.get(hotel);
    if (!m) this.#rooms.set(hotel, (m = new Map()));
    let r = m.get(`${room}|${night}`);
    if (!r) m.set(`${room}|${night}`, (r = { room, night }));
    return r;
  }

  #rateCell(hotel: string, room: string, rate: string, night: string): RateCell {
    let m = this.#rates.get(hotel);
    if (!m) this.#rates.set(hotel, (m = new Map()));
    const key = sandboxKey(room, rate, night);
    let entry = m.get(key);
    if (!entry) m.set(key, (entry = { room, rate, night, cell: {}, occupancy: new Map() }));
    return entry;
  }

  /** What each room-rate-night shows: its own values, the room's availability, closed when the room type is. */
  cells(hotel: string): Map<string, SandboxCell> {
    const out = new Map<string, SandboxCell>();
    const rooms = this.#rooms.get(hotel) ?? new Map<string, RoomNight>();
    const view = (cell: SandboxCell, r: RoomNight | undefined): SandboxCell => ({
      ...cell,
      ...(r?.limit !== undefined ? { availability: r.limit } : {}),
      ...(r?.status === 'Close' ? { closed: true } : {}),
    });
    for (const [key, { room, night, cell, occupancy }] of this.#rates.get(hotel) ?? []) {
      // The prices per NumberOfGuests as occupancyRates, keyed "1", "2", … (OtaValues' vocabulary).
      const occupancyRates = occupancy.size ? Object.fromEntries([...occupancy].sort(([a], [b]) => a - b).map(([g, a]) => [String(g), a])) : undefined;
      out.set(key, view(occupancyRates ? { ...cell, occupancyRates } : cell, rooms.get(`${room}|${night}`)));
    }
    // Rates the catalogue knows show the room's values even before anything was pushed for them.
    for (const rate of this.products[hotel]?.rates ?? []) {
      for (const r of rooms.values()) {
        const key = sandboxKey(r.room, rate, r.night);
        if (!out.has(key)) out.set(key, view({}, r));
      }
    }
    return out;
  }

  /** Rooms to sell per `room|night` (BookingLimit). */
  roomAvailability(hotel: string): Map<string, number> {
    return new Map([...(this.#rooms.get(hotel) ?? [])].flatMap(([k, r]) => (r.limit !== undefined ? [[k, r.limit] as [string, number]] : [])));
  }

  /** Room-type status per `room|night` (RestrictionStatus without a RatePlanCode). */
  roomStatus(hotel: string): Map<string, 'Open' | 'Close'> {
    return new Map([...(this.#rooms.get(hotel) ?? [])].flatMap(([k, r]) => (r.status ? [[k, r.status] as [string, 'Open' | 'Close']] : [])));
  }

  /** Per sandboxKey, the prices per NumberOfGuests (occupancy-based pricing). */
  occupancyPrices(hotel: string): Map<string, Record<number, string>> {
    return new Map(
      [...(this.#rates.get(hotel) ?? [])].flatMap(([k, e]) =>
        e.occupancy.size ? [[k, Object.fromEntries(e.occupancy)] as [string, Record<number, string>]] : [],
      ),
    );
  }

  reset(): void {
    this.#rates.clear();
    this.#rooms.clear();
    this.multiMonthRequests.length = 0;
  }
}
