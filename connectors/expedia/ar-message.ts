/**
 * Expedia QuickConnect AR: `AvailRateUpdateRQ` (namespace …/EQC/AR/2011/06), validated by the
 * tests against Expedia's schema (vendored in ./xsd). One message per hotel; each update is a date
 * range (inclusive) for one room type, with its inventory and room-level close (`RoomType@closed`)
 * and/or one rate plan's rate, closed flag and restrictions (updates sharing a range and room are
 * written together). Element order follows the schema: Inventory before RatePlan, Rate before
 * Restrictions; within a Rate, one PerDay or 1–20 PerOccupancy (occupancy-based pricing).
 * Limits (≤ 5,000 updates, ≤ 100 KB per message) are the caller's to respect.
 */
import { buildXml } from '../../core/xml.ts';
import { occupancyEntries } from '../outbound/types.ts';

export const AR_NAMESPACE = 'http://www.expediaconnect.com/EQC/AR/2011/06';
/**
 * Expedia's AR limits per message: "Each message can contain no more than 5000 updates" (error
 * 3107; developers.expediagroup.com/…/avail_rates/reference/request), where "each individual rate,
 * restriction or status change for one stay date is counted as 1 update" (EQC AR guides); 100 KB
 * (3405). `arUpdateCount` counts an update that way.
 */
export const AR_MAX_UPDATES = 5_000;
export const AR_MAX_BYTES = 100 * 1024;

export interface ArCredentials {
  username: string;
  password: string;
  hotelId: string;
}

export interface ArUpdate {
  from: string;
  to: string; // inclusive
  roomTypeId: string;
  /** Rooms to sell over the range (Expedia's total inventory available). */
  availability?: number;
  /**
   * The whole room type closed (true) or reopened (false): `RoomType@closed`, "If true, the room
   * type is no longer available on Expedia for dates specified in the request" (XSD; sample ar_14).
   */
  roomClosed?: boolean;
  ratePlan?: {
    id: string;
    closed?: boolean;
    /**
     * `amount` as one `PerDay` (per-day pricing), or, when `occupancyRates` has any, one
     * `PerOccupancy` per number of guests (1–20) with its total price instead (occupancy-based
     * pricing: "The rate specified here is for the total occupancy", XSD; sample ar_10).
     */
    rate?: { amount: string; currency: string; occupancyRates?: Record<string, string> | null };
    restrictions?: { minLos?: number | null; maxLos?: number | null; closedToArrival?: boolean; closedToDeparture?: boolean };
  };
}

const defined = <T extends Record<string, unknown>>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));

/**
 * The message for `updates`. Updates of one date range share one AvailRateUpdate, and those of one
 * room type within it one RoomType (the schema repeats both): a full sync's messages are ~30 %
 * smaller than with one AvailRateUpdate per update, so fewer of them fit Expedia's 100 KB.
 */
export function buildAvailRateUpdateRQ(auth: ArCredentials, updates: ArUpdate[]): string {
  if (!updates.length) throw new Error('AvailRateUpdateRQ needs at least one update');
  const ranges = new Map<
    string,
    { from: string; to: string; rooms: Map<string, { inventory?: number; closed?: boolean; ratePlans: Array<Record<string, unknown>> }> }
  >();
  for (const u of updates) {
    const key = `${u.from}|${u.to}`;
    const range = ranges.get(key) ?? ranges.set(key, { from: u.from, to: u.to, rooms: new Map() }).get(key)!;
    const room = range.rooms.get(u.roomTypeId) ?? range.rooms.set(u.roomTypeId, { ratePlans: [] }).get(u.roomTypeId)!;
    if (u.availability !== undefined) room.inventory = u.availability;
    if (u.roomClosed !== undefined) room.closed = u.roomClosed;
    if (u.ratePlan) room.ratePlans.push(ratePlanElement(u.ratePlan));
  }
  return buildXml({
    AvailRateUpdateRQ: {
      $: { xmlns: AR_NAMESPACE },
      Authentication: { $: { username: auth.username, password: auth.password } },
      Hotel: { $: { id: auth.hotelId } },
      AvailRateUpdate: [...ranges.values()].map((range) => ({
        DateRange: { $: { from: range.from, to: range.to } },
        // Inventory before RatePlan, as the schema orders them.
        RoomType: [...range.rooms].map(([id, room]) => ({
          $: defined({ id, closed: room.closed === undefined ? undefined : String(room.closed) }),
          ...(room.inventory !== undefined ? { Inventory: { $: { totalInventoryAvailable: String(room.inventory) } } } : {}),
          ...(room.ratePlans.length ? { RatePlan: room.ratePlans } : {}),
        })),
      })),
    },
  });
}

/**
 * Updates in Expedia's sense that `u` writes: per stay date, one per value — inventory, room type
 * closed, rate plan closed, each rate (a PerDay, or each PerOccupancy: every occupancy's price is
 * an "individual rate"), each restriction. EQC AR guides, "Counting how many updates are included
 * in a message": "the number of distinct data elements being changed by that message. Each
 * individual rate, restriction or status change for one stay date is counted as 1 update".
 */
export function arUpdateCount(u: ArUpdate): number {
  const nights = Math.round((Date.parse(`${u.to}T00:00:00Z`) - Date.parse(`${u.from}T00:00:00Z`)) / 86_400_000) + 1;
  let values = (u.availability !== undefined ? 1 : 0) + (u.roomClosed !== undefined ? 1 : 0);
  if (u.ratePlan) {
    const rp = ratePlanElement(u.ratePlan) as {
      $: Record<string, string>;
      Rate?: { PerDay?: unknown; PerOccupancy?: unknown[] };
      Restrictions?: { $: Record<string, unknown> };
    };
    const rates = rp.Rate ? (rp.Rate.PerOccupancy?.length ?? 1) : 0;
    values += (rp.$.closed !== undefined ? 1 : 0) + rates + Object.keys(rp.Restrictions?.$ ?? {}).length;
  }
  return nights * values;
}

function ratePlanElement(rp: NonNullable<ArUpdate['ratePlan']>): Record<string, unknown> {
  const ratePlan: Record<string, unknown> = { $: defined({ id: rp.id, closed: rp.closed === undefined ? undefined : String(rp.closed) }) };
  // Ascending number of guests, as sample ar_10 lists them.
  const occupancy = rp.rate?.occupancyRates ? occupancyEntries(rp.rate.occupancyRates) : [];
  if (rp.rate)
    ratePlan.Rate = occupancy.length
      ? { $: { currency: rp.rate.currency }, PerOccupancy: occupancy.map(([guests, rate]) => ({ $: { rate, occupancy: String(guests) } })) }
      : { $: { currency: rp.rate.currency }, PerDay: { $: { rate: rp.rate.amount } } };
  if (rp.restrictions) {
    const r = rp.restrictions;
    ratePlan.Restrictions = {
      $: defined({
        minLOS: r.minLos ?? undefined,
        maxLOS: r.maxLos ?? undefined,
        closedToArrival: r.closedToArrival === undefined ? undefined : String(r.closedToArrival),
        closedToDeparture: r.closedToDeparture === undefined ? undefined : String(r.closedToDeparture),
      }),
    };
  }
  return ratePlan;
}
