/**
 * The Expedia sandbox's business rules for a request that passed the schema: what Expedia counts
 * as updates, which `<Error>`s the whole request earns (nothing applied), and the request spelled
 * out as one change per item and stay date, ready to apply. Sources, cited per rule:
 * - [EQC guides] https://expediaconnectivity.com/apis/availability-rates-restrictions-booking-notification-retrieval-and-confirmation/expedia-quickconnect-avail-rates-api/guides.html
 *   ("Counting how many updates…", "Response Business Errors" table);
 * - [EQC reference] the AR "API Definition" page (AR RQ Schema Complete Definition, "EQC validations" column);
 * - [EG request] https://developers.expediagroup.com/supply/lodging/docs/avail_and_rate_apis/avail_rates/reference/request
 *   and its revision history (5,000 updates since May 20, 2020);
 * - the schema annotations (./xsd/AvailRateUpdateRQ.xsd) and sample ar_21 (../shared/ota/expedia-samples).
 */
import { addDays, nextDay } from '../../core/dates.ts';
import { WEEKDAYS, type ArDateRange, type ArRate, type ArRequest, type ArUpdateGroup } from './sandbox-request.ts';

/** [EG request]: "Each message can contain no more than 5000 updates" (3000 before May 20, 2020). */
export const AR_MAX_UPDATES = 5_000;
/** [EQC guides] 3405: "exceeds our limit of 100 kb"; read as 100 × 1024 bytes (a choice: the guides don't say 1000 or 1024). */
export const AR_MAX_BYTES = 100 * 1024;

/** Pricing models by the PARR/Product API names (../shared/ota/expedia-eqc/ProductAvailRateRetrievalRS.xsd). */
export type PricingModel =
  | 'PerDayPricing'
  | 'PerPersonPricing'
  | 'OccupancyBasedPricing'
  | 'PerDayPricingByDayOfArrival'
  | 'PerDayPricingByLengthOfStay'
  | 'PerPersonPricingByDayOfArrival'
  | 'OccupancyBasedPricingByDayOfArrival';

/** What Expedia knows of a hotel's products; every field beyond rooms and rates is optional and checked only when given. */
export interface ExpediaProduct {
  rooms: string[];
  rates: string[];
  /** The property's currency in Partner Central (3103 when a Rate says another). */
  currency?: string;
  /** Pricing model per rate plan id (3090 / 3123 / 3124 / 3125 when a Rate does not fit it). */
  pricingModels?: Record<string, PricingModel>;
}

export interface ArIssue {
  code: number;
  message: string;
}

export type RateModel = 'PerDay' | 'PerOccupancy' | 'PerPerson';
export type RestrictionField = 'minLOS' | 'maxLOS' | 'closedToArrival' | 'closedToDeparture';
/** One update in Expedia's sense: one value for one item (room type or rate plan) and one stay date. */
export type Change = { room: string; night: string } & (
  | { kind: 'inventory'; total?: number; flexible?: number }
  | { kind: 'roomClosed'; closed: boolean }
  | { kind: 'planClosed'; plan: string; closed: boolean }
  | { kind: 'rate'; plan: string; currency: string; model: RateModel; occupancy?: number; lengthOfStay?: number; amount: string; rateChangeIndicator?: boolean }
  | { kind: 'rateChangeIndicator'; plan: string; value: boolean }
  | { kind: 'restriction'; plan: string; field: RestrictionField; value: number | boolean }
);

const DAY_MS = 86_400_000;
const weekdayOf = (date: string) => WEEKDAYS[new Date(`${date}T00:00:00Z`).getUTCDay()]!;

/**
 * Day-of-week attributes. The publisher conflicts: the XSD says "If set to true or omitted, apply
 * update for each <day>"; [EQC reference] says "If none of the 7 attributes are specified, updates
 * will apply to all days of the week. As soon as one attribute is specified, the updates will only
 * apply to the days where the attribute value is set to true", and [EQC guides] "Missing or omitted
 * day of week attributes will see their value defaulted to false". We follow the two EQC texts: they
 * describe the service rather than the schema, agree with each other, and Expedia recommends
 * sending all seven anyway, so a client that does is read the same under either rule.
 */
function selects(range: ArDateRange, night: string): boolean {
  return Object.keys(range.days).length === 0 || range.days[weekdayOf(night)] === true;
}

/** How many stay dates a range selects, without listing them (a hostile range may span centuries). */
function nightCount(range: ArDateRange): number {
  const days = Math.round((Date.parse(range.to) - Date.parse(range.from)) / DAY_MS) + 1;
  if (days <= 0) return 0;
  if (Object.keys(range.days).length === 0) return days;
  const perWeek = WEEKDAYS.filter((d) => range.days[d] === true).length;
  let n = Math.floor(days / 7) * perWeek;
  for (let i = 0, night = addDays(range.from, Math.floor(days / 7) * 7); i < days % 7; i++, night = nextDay(night)) if (selects(range, night)) n++;
  return n;
}

function nightsOf(range: ArDateRange): string[] {
  const out: string[] = [];
  for (let night = range.from; night <= range.to; night = nextDay(night)) if (selects(range, night)) out.push(night);
  return out;
}

/** Updates a Rate element holds per stay date: each amount is one "individual rate"; a Rate with only a rateChangeIndicator is one change (our reading). */
const rateUpdates = (r: ArRate) => (r.amounts ? r.amounts.values.length : r.rateChangeIndicator !== undefined ? 1 : 0);

/**
 * [EQC guides] "Each individual rate, restriction or status change for one stay date is counted as
 * 1 update" — their example, Inventory + PerDay rate + closedToDeparture over one date, is 3.
 * Counted as sent: overlapping ranges count each time, and a stay date a day-of-week flag leaves
 * out counts nothing.
 */
export function countUpdates(rq: ArRequest): number {
  return rq.updates.reduce((total, g) => total + g.ranges.reduce((n, r) => n + nightCount(r), 0) * perNight(g), 0);
}

/** Updates one stay date of an AvailRateUpdate holds. */
function perNight(g: ArUpdateGroup): number {
  let n = 0;
  for (const room of g.rooms) {
    n += (room.inventory && Object.keys(room.inventory).length ? 1 : 0) + (room.closed === undefined ? 0 : 1);
    for (const rp of room.ratePlans) {
      n += (rp.closed === undefined ? 0 : 1) + rp.rates.reduce((k, r) => k + rateUpdates(r), 0) + Object.keys(rp.restrictions ?? {}).length;
    }
  }
  return n;
}

/** The first calendar date past the window: [EQC reference] "To date <= (today + 2yrs + 1 day)". */
function lastDate(today: string): string {
  const t = new Date(`${today}T00:00:00Z`);
  return addDays(new Date(Date.UTC(t.getUTCFullYear() + 2, t.getUTCMonth(), t.getUTCDate())).toISOString().slice(0, 10), 1);
}

/**
 * Every business error of a request, one `<Error>` per code in code order (the first problem's
 * text for a code; 3203/3204 list every id, as sample ar_21 does), and, when there is none, its
 * changes. `today` is the UTC calendar date (the publisher does not say whose "today").
 */
export function checkRequest(rq: ArRequest, today: string, product: ExpediaProduct | undefined): { errors: ArIssue[]; changes: Change[]; updates: number } {
  const errors = new Map<number, string>();
  const fail = (code: number, message: string) => {
    if (!errors.has(code)) errors.set(code, message);
  };
  const business = (what: string) => fail(3015, `Business validation error: ${what}.`); // [EQC guides] 3015's wording

  // Dates, per DateRange ([EQC reference] DateRange rows; texts of [EQC guides] 3020–3022).
  const earliest = addDays(today, -1);
  const latest = lastDate(today);
  for (const r of rq.updates.flatMap((g) => g.ranges)) {
    if (r.from < earliest) fail(3020, 'Validation error: start date must not be before yesterday.');
    if (r.to < r.from) fail(3021, 'Validation error: end date must not be before start date.');
    if (r.to > latest) fail(3022, 'Validation error: end date must be within 2 years range.');
  }

  const unknownRooms = new Set<string>();
  const unknownRates = new Set<string>();
  for (const room of rq.updates.flatMap((g) => g.rooms)) {
    if (product && !product.rooms.includes(room.id)) unknownRooms.add(room.id);
    // [EQC reference] Inventory: "Either flexibleAllocation or totalInventoryAvailable, but not both".
    if (room.inventory?.flexibleAllocation !== undefined && room.inventory.totalInventoryAvailable !== undefined) {
      fail(3026, 'Flexible and total allocation cannot be sent together for roomType.');
    }
    for (const rp of room.ratePlans) {
      if (product && !product.rates.includes(rp.id)) unknownRates.add(rp.id);
      const r = rp.restrictions;
      // [EQC guides] 3015 "MaxLOS value (X) smaller than the MinLOS value(Y)"; 7016 is the stored-value case.
      if (r?.minLOS !== undefined && r.maxLOS !== undefined && r.maxLOS < r.minLOS)
        business(`MaxLOS value (${r.maxLOS}) smaller than the MinLOS value (${r.minLOS})`);
      // [EQC reference] Rate: "Up to 28 rate elements can be specified when updating per day and per
      // length of stay rates. Else only one rate element should be defined."
      if (rp.rates.length > 1 && rp.rates.some((x) => x.lengthOfStay === undefined))
        business(`more than one Rate for Rate Plan ID ${rp.id} without lengthOfStay`);
      for (const rate of rp.rates) {
        // XSD @lengthOfStay: "only available in conjunction with per day rates".
        if (rate.lengthOfStay !== undefined && rate.amounts && rate.amounts.model !== 'PerDay') business('lengthOfStay is only allowed with PerDay rates');
        // XSD and [EQC reference] @currency: "Must always be provided when update request includes rates".
        if (rate.amounts && rate.currency === undefined) business(`Rate for Rate Plan ID ${rp.id} has rates but no currency`);
        if (product?.currency !== undefined && rate.currency !== undefined && rate.currency !== product.currency) fail(3103, 'Currency code mismatch.');
        const model = product?.pricingModels?.[rp.id];
        if (model) checkModel(model, rate, fail);
      }
    }
  }
  // Wording of sample ar_21 (the guides write "… hotel : id").
  if (unknownRooms.size) fail(3203, `The following RoomTypeIDs do not belong to the given hotel: ${[...unknownRooms].join(', ')}.`);
  if (unknownRates.size) fail(3204, `The following RatePlanIDs do not belong to the given hotel: ${[...unknownRates].join(', ')}.`);

  const updates = countUpdates(rq);
  // [EQC guides] 3107's text with [EG request]'s current limit.
  if (updates > AR_MAX_UPDATES) fail(3107, `Update exceeds allowable size - Maximum allowable size is ${AR_MAX_UPDATES} updates`);
  // [EQC guides] 3015: "The AR RQ sent contained no updates - only room or rate IDs and dates".
  if (updates === 0) business('No updates provided in ICPRUpdateMessage');
  const changes = updates > AR_MAX_UPDATES || errors.has(3021) ? [] : expand(rq);
  if (changes.length) checkWithin(changes, fail, business);
  return { errors: [...errors].sort(([a], [b]) => a - b).map(([code, message]) => ({ code, message })), changes, updates };
}

const BASE_MODEL: Record<RateModel, string> = { PerDay: 'PerDayPricing', PerOccupancy: 'OccupancyBasedPricing', PerPerson: 'PerPersonPricing' };

/** A Rate against its rate plan's declared pricing model ([EQC guides] 3090, 3123, 3124, 3125). */
function checkModel(model: PricingModel, rate: ArRate, fail: (code: number, message: string) => void): void {
  if (rate.amounts && !model.startsWith(BASE_MODEL[rate.amounts.model])) {
    fail(3090, `Pricing models mismatch: you tried to update a price for ${BASE_MODEL[rate.amounts.model]}, but your property is configured to use ${model}.`);
  }
  const los = model === 'PerDayPricingByLengthOfStay';
  if (los && rate.amounts && rate.lengthOfStay === undefined) fail(3123, 'Length of stay has to be provided for the Rate Plans with LOS enabled');
  if (!los && rate.lengthOfStay !== undefined) fail(3124, 'Length of stay attribute can only be set on Rate Plans with LOS enabled');
  // [EQC reference] @rateChangeIndicator: "Rate plan is day-of-arrival pricing enabled. It not, update is rejected with error code 3125."
  if (rate.rateChangeIndicator !== undefined && !model.endsWith('ByDayOfArrival'))
    fail(3125, 'Field not accessible for edit for this hotel and source - rateChangeIndicator');
}

/**
 * The request as changes, in the order Expedia's sample ar_20 lists its warnings (room type, then
 * rate plan, then stay date): per AvailRateUpdate and RoomType, its room-level values by date, then
 * each RatePlan's by date (status, rates, restrictions).
 */
function expand(rq: ArRequest): Change[] {
  const out: Change[] = [];
  for (const g of rq.updates) {
    if (perNight(g) === 0) continue; // its ranges may be long: list no nights for nothing
    const nights = g.ranges.flatMap(nightsOf);
    for (const room of g.rooms) {
      const inv = room.inventory;
      for (const night of nights) {
        const at = { room: room.id, night };
        if (inv && (inv.totalInventoryAvailable !== undefined || inv.flexibleAllocation !== undefined)) {
          out.push({ ...at, kind: 'inventory', total: inv.totalInventoryAvailable, flexible: inv.flexibleAllocation });
        }
        if (room.closed !== undefined) out.push({ ...at, kind: 'roomClosed', closed: room.closed });
      }
      for (const rp of room.ratePlans) {
        for (const night of nights) {
          const at = { room: room.id, night, plan: rp.id };
          if (rp.closed !== undefined) out.push({ ...at, kind: 'planClosed', closed: rp.closed });
          for (const rate of rp.rates) {
            if (!rate.amounts) {
              if (rate.rateChangeIndicator !== undefined) out.push({ ...at, kind: 'rateChangeIndicator', value: rate.rateChangeIndicator });
              continue;
            }
            if (rate.currency === undefined) continue; // already a 3015
            for (const v of rate.amounts.values) {
              out.push({
                ...at,
                kind: 'rate',
                currency: rate.currency,
                model: rate.amounts.model,
                amount: v.rate,
                ...('occupancy' in v ? { occupancy: v.occupancy } : {}),
                ...(rate.lengthOfStay === undefined ? {} : { lengthOfStay: rate.lengthOfStay }),
                ...(rate.rateChangeIndicator === undefined ? {} : { rateChangeIndicator: rate.rateChangeIndicator }),
              });
            }
          }
          for (const [field, value] of Object.entries(rp.restrictions ?? {}) as Array<[RestrictionField, number | boolean]>) {
            out.push({ ...at, kind: 'restriction', field, value });
          }
        }
      }
    }
  }
  return out;
}

/** What one change sets, and the value it sets it to: two changes with one key and two values conflict. */
function slot(c: Change): [string, string] {
  const at = `${c.room}|${c.night}`;
  switch (c.kind) {
    case 'inventory':
      return [`inventory|${at}`, `${c.total}|${c.flexible}`];
    case 'roomClosed':
      return [`roomClosed|${at}`, String(c.closed)];
    case 'planClosed':
      return [`planClosed|${at}|${c.plan}`, String(c.closed)];
    case 'rate':
      return [`rate|${at}|${c.plan}|${c.model}|${c.occupancy}|${c.lengthOfStay}`, `${c.currency}|${c.amount}|${c.rateChangeIndicator}`];
    case 'rateChangeIndicator':
      return [`rateChangeIndicator|${at}|${c.plan}`, String(c.value)];
    case 'restriction':
      return [`${c.field}|${at}|${c.plan}`, String(c.value)];
  }
}

/**
 * Rules across elements of one request: [EQC guides] 3108 "Duplicate Updates in the same message"
 * ("the same product and dates twice or more, and the updates requested conflicts with one another";
 * a repeat with the same value is no conflict), and 3015 for a MinLOS above a MaxLOS sent for the
 * same rate plan and date by another element.
 */
function checkWithin(changes: Change[], fail: (code: number, message: string) => void, business: (what: string) => void): void {
  const seen = new Map<string, string>();
  const los = new Map<string, { min?: number; max?: number }>();
  for (const c of changes) {
    const [key, value] = slot(c);
    const before = seen.get(key);
    if (before !== undefined && before !== value) {
      const plan = 'plan' in c ? `; Rate Plan ID ${c.plan}` : '';
      fail(3108, `Duplicate Updates in the same message - ${key.split('|')[0]} for Room Type ID ${c.room}${plan}; Inventory date ${c.night}`);
    }
    seen.set(key, value);
    if (c.kind === 'restriction' && (c.field === 'minLOS' || c.field === 'maxLOS')) {
      const k = `${c.room}|${c.plan}|${c.night}`;
      const v = los.get(k) ?? {};
      if (c.field === 'minLOS') v.min = c.value as number;
      else v.max = c.value as number;
      los.set(k, v);
      if (v.min !== undefined && v.max !== undefined && v.max < v.min) business(`MaxLOS value (${v.max}) smaller than the MinLOS value (${v.min})`);
    }
  }
}
