/**
 * The Expedia sandbox's state per hotel and how a checked request changes it, with the
 * `<Warning>`s of a partly applied `<Success>`. Per item, a warning code decides whether the item
 * was applied — [EQC guides] "AR Response Business Warnings" table
 * (https://expediaconnectivity.com/apis/availability-rates-restrictions-booking-notification-retrieval-and-confirmation/expedia-quickconnect-avail-rates-api/guides.html;
 * /work/notes/expedia.md §1.4):
 * - 7019 (net rate) / 7021 (sell/LAR rate) outside the rate verification threshold: NOT applied;
 * - 7013 total inventory below the base allocation: applied, raised to the base allocation;
 * - 7018 base + flexible allocation above 4999: applied, capped at 4999;
 * - 7010 room type closed while base allocation remains: NOT applied ("will remain available");
 * - 7016 MinLOS above the stored MaxLOS (or MaxLOS below the stored MinLOS): not applied (the table
 *   does not say; our inference, notes §1.4);
 * - 7009 "Occupancy exceeds maximum allowed value" ("Applicable to occupancy-based pricing hotels
 *   only. The EQC partner requested to update an occupancy level that exceeds the room's maximum
 *   occupancy defined in Expedia system"): that occupancy's price is NOT applied (a warning means
 *   "part of the incoming request was not successfully processed"), the other occupancies are.
 * "When warnings are returned, anything that is not explicitly listed as a warning has been
 * successfully processed" ([EQC guides]).
 */
import type { SandboxCell } from '../outbound/types.ts';
import { sandboxKey } from '../outbound/types.ts';
import type { ArIssue, Change, RateModel } from './sandbox-rules.ts';

/** Expedia's inventory ceiling (XSD Inventory maxInclusive 4999; 7018). */
const MAX_INVENTORY = 4999;

/** Per-hotel settings that only Expedia's side knows, each optional (no setting: no such warning). */
export interface HotelSettings {
  /** Rate verification threshold per room type (PARR RoomType/RateThreshold @minAmount @maxAmount), bounds included. */
  thresholds?: Record<string, { min: number | string; max: number | string }>;
  /** Which rate the property loads (Product API rateAcquisitionType): NetRate → 7019, SellLAR → 7021. Default NetRate (our choice). */
  rateAcquisition?: 'NetRate' | 'SellLAR';
  /** Unsold base allocation per room type (rooms). */
  baseAllocation?: Record<string, number>;
  /** The room's maximum occupancy defined in Expedia system, per room type (7009 above it). */
  maxOccupancy?: Record<string, number>;
}

/** A rate plan's prices for one stay date, by the model they were sent in. */
export interface Price {
  model?: RateModel | 'PerDayLengthOfStay';
  currency?: string;
  /** Amount as sent, by occupancy (PerOccupancy), length of stay (per-day LOS), or 0 (PerDay, PerPerson). */
  values: Record<number, string>;
  rateChangeIndicator?: boolean;
}

export interface HotelState {
  rooms: Map<string, { availability?: number; closed?: boolean }>; // `${room}|${night}` → room-level values
  rates: Map<string, SandboxCell>; // sandboxKey(room, rate, night) → rate-plan-level values
  prices: Map<string, Price>; // sandboxKey → every amount as sent
  roomRates: Map<string, Set<string>>; // rate plans seen per room type (a rate plan belongs to one room type)
}

export const newHotelState = (): HotelState => ({ rooms: new Map(), rates: new Map(), prices: new Map(), roomRates: new Map() });

/** A warning before its text is laid out: the code is its cause, `item` what it names. */
export interface RawWarning {
  code: number;
  item: { night: string; room: string; plan?: string; occupancy?: number; lengthOfStay?: number };
  text: string;
}

/** Applies checked changes in order and says what was refused or modified. */
export function applyChanges(h: HotelState, changes: Change[], s: HotelSettings): RawWarning[] {
  const warnings: RawWarning[] = [];
  // The request's own MinLOS/MaxLOS per cell: 7016 compares a new value with the stored other one
  // only when the request does not set that one too (both set and contradictory is 3015, checked before).
  const sentLos = new Map<string, Set<string>>();
  for (const c of changes)
    if (c.kind === 'restriction' && (c.field === 'minLOS' || c.field === 'maxLOS')) {
      const k = sandboxKey(c.room, c.plan, c.night);
      sentLos.set(k, (sentLos.get(k) ?? new Set()).add(c.field));
    }
  for (const c of changes) {
    const item = { night: c.night, room: c.room };
    if (c.kind === 'inventory' || c.kind === 'roomClosed') {
      const rn = h.rooms.get(`${c.room}|${c.night}`) ?? {};
      h.rooms.set(`${c.room}|${c.night}`, rn);
      const base = s.baseAllocation?.[c.room] ?? 0;
      if (c.kind === 'roomClosed') {
        // [EQC reference] RoomType @closed: "A close request will be refused if the room is enabled for base allocation and has base allocation left."
        if (c.closed && base > 0)
          warnings.push({ code: 7010, item, text: 'Room type cannot be closed because there is base allocation remaining on the room.' });
        else rn.closed = c.closed;
      } else if (c.total !== undefined) {
        // [EQC reference] @totalInventoryAvailable: "if the value sent is lower than the current base
        // allocation room count, the Integer value will be changed … to equal the current base
        // allocation amount and a warning (7013) will be returned". (The XSD annotation says the
        // update is rejected instead; the guides and reference agree on "changed".) Text: [EQC guides] example.
        rn.availability = Math.max(c.total, base);
        if (c.total < base)
          warnings.push({
            code: 7013,
            item,
            text: `Unable to set total inventory below the current base allocation value (${base}). Update will be modified to cap reduction to base allocation level.`,
          });
      } else if (c.flexible !== undefined) {
        // XSD @flexibleAllocation: with base allocation, rooms in addition to it; without, the total.
        rn.availability = Math.min(base + c.flexible, MAX_INVENTORY);
        if (base + c.flexible > MAX_INVENTORY)
          warnings.push({ code: 7018, item, text: 'Base Availability request adjusted to prevent total availability from exceeding the system maximum.' });
      }
      continue;
    }
    const key = sandboxKey(c.room, c.plan, c.night);
    h.roomRates.set(c.room, (h.roomRates.get(c.room) ?? new Set()).add(c.plan));
    const cell = h.rates.get(key) ?? {};
    h.rates.set(key, cell);
    const planItem = { ...item, plan: c.plan };
    switch (c.kind) {
      case 'planClosed':
        cell.closed = c.closed;
        break;
      case 'rate': {
        const maxOccupancy = s.maxOccupancy?.[c.room];
        if (c.model === 'PerOccupancy' && c.occupancy !== undefined && maxOccupancy !== undefined && c.occupancy > maxOccupancy) {
          // [EQC guides] 7009's "Error Desc", in the guides' warning layout (which names the occupancy).
          warnings.push({ code: 7009, item: { ...planItem, occupancy: c.occupancy }, text: 'Occupancy exceeds maximum allowed value.' });
          break;
        }
        const t = s.thresholds?.[c.room];
        if (t && (compareDecimal(c.amount, String(t.min)) < 0 || compareDecimal(c.amount, String(t.max)) > 0)) {
          // Layout of a live 7019 (https://pastebin.com/aFpG9ZNw, notes §1.3); 7021 by analogy (our wording).
          const which = s.rateAcquisition === 'SellLAR' ? { code: 7021, name: 'Sell/LAR rate' } : { code: 7019, name: 'Net rate' };
          warnings.push({
            code: which.code,
            item: {
              ...planItem,
              ...(c.occupancy === undefined ? {} : { occupancy: c.occupancy }),
              ...(c.lengthOfStay === undefined ? {} : { lengthOfStay: c.lengthOfStay }),
            },
            text: `${which.name} ${four(c.amount)} must be within rate verification threshold: [<minRateThreshold>${four(String(t.min))}, <maxRateThreshold>${four(String(t.max))}], currencyCode:${c.currency}.`,
          });
          break;
        }
        const model = c.lengthOfStay !== undefined ? 'PerDayLengthOfStay' : c.model;
        let price = h.prices.get(key);
        if (!price || (price.model !== undefined && price.model !== model))
          h.prices.set(key, (price = { values: {}, ...(price?.rateChangeIndicator === undefined ? {} : { rateChangeIndicator: price.rateChangeIndicator }) }));
        price.model = model;
        price.currency = c.currency;
        price.values[c.occupancy ?? c.lengthOfStay ?? 0] = c.amount;
        if (c.rateChangeIndicator !== undefined) price.rateChangeIndicator = c.rateChangeIndicator;
        // What one cell shows: the amount with the lowest key — PerDay's only one, the single
        // occupancy's rate (or the lowest occupancy sent), the one-night LOS rate (our choice).
        cell.rate = Object.values(price.values)[0]!;
        cell.currency = c.currency;
        break;
      }
      case 'rateChangeIndicator': {
        const price = h.prices.get(key) ?? { values: {} };
        h.prices.set(key, price);
        price.rateChangeIndicator = c.value;
        break;
      }
      case 'restriction': {
        if (c.field === 'minLOS' || c.field === 'maxLOS') {
          const other = c.field === 'minLOS' ? cell.maxLos : cell.minLos;
          const min = c.field === 'minLOS' ? (c.value as number) : cell.minLos;
          const max = c.field === 'maxLOS' ? (c.value as number) : cell.maxLos;
          const otherSent = sentLos.get(key)?.has(c.field === 'minLOS' ? 'maxLOS' : 'minLOS');
          if (!otherSent && other != null && min != null && max != null && max < min) {
            // [EQC guides] 7016's wording.
            warnings.push({ code: 7016, item: planItem, text: `MaxLOS value (${max}) smaller than the MinLOS value (${min}).` });
            break;
          }
          if (c.field === 'minLOS') cell.minLos = c.value as number;
          else cell.maxLos = c.value as number; // kept as sent: 28 is Expedia's default "no maximum"
        } else if (c.field === 'closedToArrival') cell.closedToArrival = c.value as boolean;
        else cell.closedToDeparture = c.value as boolean;
        break;
      }
    }
  }
  return warnings;
}

/** [EQC guides] "Expedia will return up to 20 warnings per type of problem". */
export const WARNINGS_PER_CAUSE = 20;

/**
 * The warnings as Expedia lays them out in the [EQC guides] example "AR Responses Containing more
 * than 20 Warnings": `Warning N out of M for this cause. [Remaining …] Inventory date D; Room Type
 * ID R; [Rate Plan ID P; ][Occupancy K; ]<text> Ref=[uuid]`. A cause is a warning code (our
 * reading of "per type of problem"); causes come in order of their first warning, each with at most
 * 20, the 20th saying how many more were not returned. "Length of stay N; " for per-day LOS rates
 * is our own addition (no published layout names a LOS). One Ref per response (the example's 20
 * warnings share one).
 */
export function layOutWarnings(raw: RawWarning[], ref: string): ArIssue[] {
  const causes = new Map<number, RawWarning[]>();
  for (const w of raw) (causes.get(w.code) ?? causes.set(w.code, []).get(w.code)!).push(w);
  const out: ArIssue[] = [];
  for (const [code, list] of causes) {
    list.slice(0, WARNINGS_PER_CAUSE).forEach((w, i) => {
      const n = i + 1;
      const remaining =
        n === WARNINGS_PER_CAUSE && list.length > WARNINGS_PER_CAUSE
          ? `Remaining ${list.length - WARNINGS_PER_CAUSE} warnings will not be returned, we recommend that you address this problem and resubmit this request afterwards. `
          : '';
      const it = w.item;
      const names = [
        `Inventory date ${it.night}`,
        `Room Type ID ${it.room}`,
        ...(it.plan === undefined ? [] : [`Rate Plan ID ${it.plan}`]),
        ...(it.occupancy === undefined ? [] : [`Occupancy ${it.occupancy}`]),
        ...(it.lengthOfStay === undefined ? [] : [`Length of stay ${it.lengthOfStay}`]),
      ];
      out.push({ code, message: `Warning ${n} out of ${list.length} for this cause. ${remaining}${names.join('; ')}; ${w.text} Ref=[${ref}]` });
    });
  }
  return out;
}

/** Amounts with four decimals, as the live 7019 shows them ("17.1455", "20.0000"); longer fractions stay. */
function four(decimal: string): string {
  const [int = '0', frac = ''] = decimal.replace(/^\+/, '').split('.');
  return `${int || '0'}.${frac.padEnd(4, '0')}`;
}

/** Compares two non-negative decimal strings exactly (no floating point at the threshold's edge). */
function compareDecimal(a: string, b: string): number {
  const parts = (s: string) => {
    const [int = '', frac = ''] = s.trim().replace(/^[+-]/, '').split('.');
    return [int.replace(/^0+/, ''), frac.replace(/0+$/, '')] as const;
  };
  const [ai, af] = parts(a);
  const [bi, bf] = parts(b);
  if (ai.length !== bi.length) return ai.length < bi.length ? -1 : 1;
  if (ai !== bi) return ai < bi ? -1 : 1;
  const len = Math.max(af.length, bf.length);
  const x = af.padEnd(len, '0');
  const y = bf.padEnd(len, '0');
  return x === y ? 0 : x < y ? -1 : 1;
}
