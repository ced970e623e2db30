/**
 * Glossary and shared types of the outbound side.
 *
 * - **ARI cell**: one (connection, room type, rate plan, night). Its *values* are what the OTA must
 *   show: availability (rooms to sell, room-level at the OTA), rate, restrictions.
 * - **OTA values**: a cell's values in the form both OTAs are told, normalised once here so the
 *   delta check, the builders and the sandboxes agree: `minLos` 1 when unrestricted, `maxLos`
 *   null when unrestricted, `closed` true on stop-sell or when there is no rate.
 * - **Part**: the three independently acknowledged slices of a cell: `avail` (availability),
 *   `rate` (amount + currency), `restr` (min/max LOS, closed to arrival/departure, closed). A push
 *   sends only the parts that differ from what the OTA last acknowledged.
 * - **Range**: consecutive nights of one OTA (room, rate) with equal values, inclusive of its last
 *   night (OpenTravel and Expedia alike).
 */

/** A channel code (channel.channels.code); the registry (connectors/registry.ts) lists them. */
export type OtaChannel = string;

export interface OtaValues {
  availability: number;
  rate: string | null; // exact decimal as text, e.g. "129.00"
  currency: string | null;
  minLos: number; // 1 = no minimum
  maxLos: number | null; // null = no maximum
  closedToArrival: boolean;
  closedToDeparture: boolean;
  closed: boolean;
  /**
   * Occupancy-based pricing (issue 18): the price per number of guests ("1" is single use), exact
   * decimals as text, for a connection whose `pricing_model` is `per_occupancy`; null on a per-day
   * connection. Part `rate`, sent instead of `rate` (which stays the plan's headline price).
   */
  occupancyRates: Record<string, string> | null;
  /** Minimum / maximum stay through this night (any stay that contains it); null = none or not carried by this OTA. Part `restr`. */
  minStayThrough: number | null;
  maxStayThrough: number | null;
  /** Booking at least / at most this many days before arrival; null = none or not carried by this OTA. Part `restr`. */
  minAdvanceDays: number | null;
  maxAdvanceDays: number | null;
  /**
   * The whole room type is closed on this night (every rate), where the OTA has a room-level close
   * (Expedia `RoomType@closed`); an OTA without one gets `closed` on each rate instead and false
   * here. Part `avail` (room-level, like availability).
   */
  roomClosed: boolean;
}

export type Part = 'avail' | 'rate' | 'restr';

/**
 * What a sandbox holds for one OTA (room, rate, night) after the updates it accepted, in the
 * OtaValues vocabulary; a field is undefined until the sandbox was told it. Availability is
 * room-level at both OTAs, so every rate of a room shows the room's availability.
 */
export interface SandboxCell {
  availability?: number;
  rate?: string;
  currency?: string;
  minLos?: number;
  maxLos?: number | null;
  closedToArrival?: boolean;
  closedToDeparture?: boolean;
  closed?: boolean;
  occupancyRates?: Record<string, string>;
  minStayThrough?: number | null;
  maxStayThrough?: number | null;
  minAdvanceDays?: number | null;
  maxAdvanceDays?: number | null;
  /** The room type's own close (room-level), shown on every rate of the room. */
  roomClosed?: boolean;
}

/**
 * Occupancy prices as [number of guests, amount] pairs, fewest guests first: the order every OTA's
 * message lists them in, and one spelling per set of prices (range values and acknowledgements
 * compare equal whatever order the keys came in).
 */
export const occupancyEntries = <T>(rates: Record<string, T>): Array<[number, T]> =>
  Object.entries(rates)
    .map(([guests, amount]): [number, T] => [Number(guests), amount])
    .sort((a, b) => a[0] - b[0]);

/** Key of a sandbox cell: `${roomCode}|${rateCode}|${YYYY-MM-DD}`. */
export const sandboxKey = (room: string, rate: string, night: string) => `${room}|${rate}|${night}`;
