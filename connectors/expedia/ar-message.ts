/**
 * Expedia QuickConnect AR: `AvailRateUpdateRQ` (namespace …/EQC/AR/2011/06), validated by the
 * tests against Expedia's schema (vendored in ./xsd). One message per hotel; each update is a date
 * range (inclusive) for one room type, with its inventory and/or one rate plan's rate, closed flag
 * and restrictions. Element order follows the schema: Inventory before RatePlan, Rate before
 * Restrictions. Limits (≤ 5,000 updates, ≤ 100 KB per message) are the caller's to respect.
 */
import { buildXml } from '../../core/xml.ts';

export const AR_NAMESPACE = 'http://www.expediaconnect.com/EQC/AR/2011/06';
/** Expedia's AR limits per message (../shared/ota/README.md): over them, error 3107 / 3405. */
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
  ratePlan?: {
    id: string;
    closed?: boolean;
    rate?: { amount: string; currency: string };
    restrictions?: { minLos?: number | null; maxLos?: number | null; closedToArrival?: boolean; closedToDeparture?: boolean };
  };
}

const defined = <T extends Record<string, unknown>>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));

export function buildAvailRateUpdateRQ(auth: ArCredentials, updates: ArUpdate[]): string {
  if (!updates.length) throw new Error('AvailRateUpdateRQ needs at least one update');
  const body = {
    AvailRateUpdateRQ: {
      $: { xmlns: AR_NAMESPACE },
      Authentication: { $: { username: auth.username, password: auth.password } },
      Hotel: { $: { id: auth.hotelId } },
      AvailRateUpdate: updates.map((u) => {
        const roomType: Record<string, unknown> = { $: { id: u.roomTypeId } };
        if (u.availability !== undefined) roomType.Inventory = { $: { totalInventoryAvailable: String(u.availability) } };
        const rp = u.ratePlan;
        if (rp) {
          const ratePlan: Record<string, unknown> = { $: defined({ id: rp.id, closed: rp.closed === undefined ? undefined : String(rp.closed) }) };
          if (rp.rate) ratePlan.Rate = { $: { currency: rp.rate.currency }, PerDay: { $: { rate: rp.rate.amount } } };
          if (rp.restrictions) {
            const r = rp.restrictions;
            ratePlan.Restrictions = {
              $: defined({
                minLOS: r.minLos ?? undefined, maxLOS: r.maxLos ?? undefined,
                closedToArrival: r.closedToArrival === undefined ? undefined : String(r.closedToArrival),
                closedToDeparture: r.closedToDeparture === undefined ? undefined : String(r.closedToDeparture),
              }),
            };
          }
          roomType.RatePlan = ratePlan;
        }
        return { DateRange: { $: { from: u.from, to: u.to } }, RoomType: roomType };
      }),
    },
  };
  return buildXml(body);
}
