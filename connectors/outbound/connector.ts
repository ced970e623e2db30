/**
 * The one interface every OTA connector implements (style.md rule 1), and the delta rule they share.
 * A connector receives the cells of one claim with the parts that differ from what its OTA last
 * acknowledged, and turns them into as few requests as the OTA's limits allow; it reports, per
 * cell, what the OTA accepted and what it refused for good. Everything it neither accepted nor
 * refused stays dirty and goes out again.
 */
import type { StayosError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Pool } from '../../core/db.ts';
import type { AriValues, ClaimedCell } from './sql/ari.ts';
import type { ConnectionRow } from './sql/connections.ts';
import type { SyncErrorEntry, SyncLogEntry } from './sql/sync.ts';
import { occupancyEntries, type OtaChannel, type OtaValues, type Part } from './types.ts';
import type { RateLimits } from './resilience.ts';

export interface PushCell {
  cellId: string;
  roomTypeId: string;
  ratePlanId: string;
  roomCode: string;
  rateCode: string;
  night: string;
  values: OtaValues;
  /** The parts to send: those that differ from what the OTA acknowledged. */
  parts: Part[];
}

export interface SyncSettings {
  timeoutMs: number;
  maxAttempts: number;
  retryInitialMs: number;
  retryMaxMs: number;
  perMinute: number;
}

export interface PushContext {
  connection: ConnectionRow;
  pool: Pool;
  settings: SyncSettings;
  rateLimits: RateLimits;
  log: Logger;
  /** Writes one sync_log row; returns its id. */
  logRequest(entry: Omit<SyncLogEntry, 'connectionId' | 'propertyId' | 'channel'>): Promise<string | null>;
  signal: AbortSignal;
}

/** Why a push stopped before all its requests went out; its cells stay dirty. */
export interface PushStop {
  /** unavailable: breaker backoff; auth/down: the connection goes down until a probe or resume. */
  kind: 'unavailable' | 'auth' | 'down';
  error: StayosError;
  retryAfterMs: number;
}

export interface PushOutcome {
  acked: Array<{ cellId: string; parts: Part[] }>;
  /** Parts refused for a reason retrying cannot fix: recorded, not retried (a cell leaves the
   * queue once each of its parts was acknowledged or refused). `value`: the OTA refused these very
   * values (a rate outside its threshold), so they are remembered and not sent again until the PMS
   * value changes; otherwise (a mapping, a date window) the next change sends them as usual. */
  rejected: Array<{ covers: Array<{ cellId: string; part: Part }>; error: SyncErrorEntry; value?: boolean }>;
  warnings: SyncErrorEntry[];
  requests: number;
  stop?: PushStop;
}

export interface Connector {
  readonly channel: OtaChannel;
  /** The last night the OTA accepts, in days after the property's today. */
  readonly maxDaysAhead: number;
  /** The earliest night the OTA accepts now, when its own clock decides (else the property's yesterday). */
  earliestNight?(): string;
  /** The PMS values in this OTA's terms (caps, defaults, the connection's pricing settings). */
  normalize(values: AriValues, settings: Record<string, unknown>): OtaValues;
  push(ctx: PushContext, cells: PushCell[]): Promise<PushOutcome>;
}

const PART_FIELDS: Record<Part, Array<keyof OtaValues>> = {
  avail: ['availability', 'roomClosed'],
  rate: ['rate', 'currency', 'occupancyRates'],
  restr: ['minLos', 'maxLos', 'closedToArrival', 'closedToDeparture', 'closed', 'minStayThrough', 'maxStayThrough', 'minAdvanceDays', 'maxAdvanceDays'],
};

/**
 * The parts of a cell to send: never acknowledged, or acknowledged with another value. A rate
 * part is not sent when there is no rate (the cell is closed instead). With `skipRefused` (the
 * sync worker), a part whose current value is exactly the one the OTA refused for good is not
 * sent again: resending it would only be refused again (an Expedia 7019 threshold warning); a new
 * PMS value, or a full sync (which forgets the refusal), sends it.
 */
export function partsToSend(current: OtaValues, acked: ClaimedCell['acked'], skipRefused = false): Part[] {
  const ackedOf: Record<Part, boolean> = { avail: acked.avail, rate: acked.rateAcked, restr: acked.restr };
  const out: Part[] = [];
  for (const part of ['avail', 'rate', 'restr'] as const) {
    if (part === 'rate' && current.rate === null) continue;
    const same = ackedOf[part] && PART_FIELDS[part].every((f) => sameValue(f, acked[f as keyof typeof acked], current[f]));
    const refused = acked.refused?.[part];
    const refusedAgain = skipRefused && refused && PART_FIELDS[part].every((f) => sameValue(f, refused[f], current[f]));
    if (!same && !refusedAgain) out.push(part);
  }
  return out;
}

/** A cell's values of one part, as stored in channel.ari_acknowledged.refused. */
export const partValues = (v: OtaValues, part: Part): Record<string, unknown> => Object.fromEntries(PART_FIELDS[part].map((f) => [f, v[f]]));

/** Acknowledged values come back from SQL as text/number/JSON; compared in the OtaValues types. */
export function sameValue(field: keyof OtaValues, acked: unknown, current: unknown): boolean {
  return canonical(field, acked) === canonical(field, current);
}

/** One spelling per value: rates with two decimals, occupancy prices as sorted "guests=amount" pairs. */
function canonical(field: keyof OtaValues, v: unknown): unknown {
  if (v === null || v === undefined) return field === 'roomClosed' ? false : null;
  if (field === 'rate') return Number(v).toFixed(2);
  if (field === 'occupancyRates')
    return occupancyEntries(v as Record<string, unknown>)
      .map(([guests, a]) => `${guests}=${Number(a).toFixed(2)}`)
      .join(',');
  return v;
}
