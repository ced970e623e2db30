/**
 * The Expedia connector: deltas as AvailRateUpdateRQ messages to `${endpoint_url}/eqc/ar`, within
 * Expedia's limits (≤ 5,000 updates, ≤ 100 KB per message), one request at a time per hotel (the
 * worker holds the connection's lock for the whole push), each answer acted on by error family
 * (../shared/ota/README.md): an `<Error>` means nothing in the message was applied. The requests go
 * out through the shared push loop (connectors/outbound/push-loop.ts): rate limit, timeout,
 * retries, sync log and the breaker's stops are the loop's; this file is Expedia's protocol.
 */
import { StayosError } from '../../core/errors.ts';
import type { AriValues } from '../outbound/sql/ari.ts';
import type { OtaValues } from '../outbound/types.ts';
import type { Connector, PushCell, PushContext } from '../outbound/connector.ts';
import { packGreedy, planRanges, withDates, type PlannedRange } from '../outbound/plan.ts';
import { runPushLoop, type PushBatch, type PushProtocol, type Verdict } from '../outbound/push-loop.ts';
import { AR_MAX_BYTES, AR_MAX_UPDATES, arUpdateCount, buildAvailRateUpdateRQ, type ArUpdate } from './ar-message.ts';
import { arErrorFamily, parseAvailRateUpdateRS, type ArIssue } from './parser.ts';
import { arRate, expediaPricingOf, type ExpediaPricing } from './pricing.ts';
import { readWarnings } from './warnings.ts';

/** Expedia's own "no maximum" for maxLOS (its schema allows 1–28). */
const EXPEDIA_MAX_LOS = 28;
/** The highest `PerOccupancy@occupancy` the schema allows. */
const EXPEDIA_MAX_OCCUPANCY = 20;

type Planned = PlannedRange<ArUpdate>;

export const expediaConnector: Connector = {
  channel: 'expedia',
  maxDaysAhead: 730, // "dates from yesterday to 2 years ahead" (3020/3022)

  /**
   * Expedia's vocabulary (docs/conformance.md section E):
   * - min/max stay: AR has one pair, `Restrictions@minLOS`/`@maxLOS` (1–28), and "Arrival VS
   *   stay-through … This is a hotel-level setting in Expedia system" (EQC AR guides, "Minimum and
   *   Maximum Lengths of Stay"). The connection's `los_basis` says which one this property is set
   *   up for, and `minLos`/`maxLos` carry the PMS's values of that kind; the other kind is not
   *   carried (Expedia has nowhere to put it), so `minStayThrough`/`maxStayThrough` are null;
   * - advance booking (min/max days before arrival): not carried — AR has no such restriction
   *   (it is a rate plan setting of the Product API, `minAdvBookDays`/`maxAdvBookDays`);
   * - room type closed: `RoomType@closed` (room-level, sent with the inventory);
   * - occupancy-based pricing: on a `per_occupancy` connection, one `PerOccupancy` price per number
   *   of guests, each converted like the per-day rate (./pricing.ts).
   */
  normalize(v: AriValues, settings): OtaValues {
    const pricing = expediaPricingOf(settings);
    const stayThrough = settings.los_basis === 'stay_through';
    const min = stayThrough ? v.minStayThrough : v.minLos;
    const max = stayThrough ? v.maxStayThrough : v.maxLos;
    const occupancy = settings.pricing_model === 'per_occupancy';
    const occupancyRates = occupancy ? expediaOccupancyRates(v.occupancyRates, pricing) : null;
    // An occupancy-priced property without a price per occupancy has nothing Expedia could sell at.
    const unpriced = occupancy && occupancyRates === null;
    return {
      availability: v.availability,
      rate: v.rate === null || unpriced ? null : arRate(v.rate, pricing),
      currency: v.currency,
      minLos: Math.min(Math.max(min ?? 1, 1), EXPEDIA_MAX_LOS),
      maxLos: max === null ? EXPEDIA_MAX_LOS : Math.min(Math.max(max, 1), EXPEDIA_MAX_LOS),
      closedToArrival: v.closedToArrival,
      closedToDeparture: v.closedToDeparture,
      // A minimum stay Expedia cannot express (its minLOS is 1–28) would be sent as 28, selling
      // stays the PMS forbids: no stay of the rate is sellable, so it is closed instead.
      closed: v.closed || unpriced || (min ?? 1) > EXPEDIA_MAX_LOS,
      occupancyRates,
      // Carried in minLos/maxLos when los_basis is stay_through; not carried otherwise.
      minStayThrough: null,
      maxStayThrough: null,
      // Not carried: no advance-booking restriction in AR.
      minAdvanceDays: null,
      maxAdvanceDays: null,
      roomClosed: v.roomClosed,
    };
  },

  push: (ctx, cells) => runPushLoop(ctx, cells, protocol(cells)),
};

/**
 * The occupancy prices Expedia can take, converted to what the property expects: occupancies 1–20
 * only (XSD `PerOccupancy@occupancy`: positiveInteger, maxInclusive 20; any other key would make
 * the whole message fail the schema, 3010); null when none is left.
 */
function expediaOccupancyRates(rates: Record<string, string> | null, pricing: ExpediaPricing): Record<string, string> | null {
  const entries = Object.entries(rates ?? {})
    .filter(([guests]) => /^[1-9]\d*$/.test(guests) && Number(guests) <= EXPEDIA_MAX_OCCUPANCY)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([guests, rate]) => [guests, arRate(rate, pricing)] as const);
  return entries.length ? Object.fromEntries(entries) : null;
}

/**
 * Room-level values per (room, night): inventory and the room type's close, always together (the
 * `avail` part), as sample ar_10 sends `RoomType closed="false"` with its Inventory; rate plan
 * values per (room, rate, night). Exported for the tests (test/connectors/expedia-revenue.test.ts).
 */
export function plan(cells: PushCell[]): Planned[] {
  const inventory = planRanges<ArUpdate>(
    cells,
    ['avail'],
    (c) => `inv|${c.roomCode}`,
    (c) => ({
      from: '',
      to: '',
      roomTypeId: c.roomCode,
      availability: c.values.availability,
      roomClosed: c.values.roomClosed,
    }),
  );
  const ratePlans = planRanges<ArUpdate>(
    cells,
    ['rate', 'restr'],
    (c) => `rp|${c.roomCode}|${c.rateCode}`,
    (c, parts) => ({
      from: '',
      to: '',
      roomTypeId: c.roomCode,
      ratePlan: {
        id: c.rateCode,
        ...(parts.includes('restr')
          ? {
              closed: c.values.closed,
              restrictions: {
                minLos: c.values.minLos,
                maxLos: c.values.maxLos,
                closedToArrival: c.values.closedToArrival,
                closedToDeparture: c.values.closedToDeparture,
              },
            }
          : {}),
        ...(parts.includes('rate') && c.values.rate !== null
          ? { rate: { amount: c.values.rate, currency: c.values.currency!, ...(c.values.occupancyRates ? { occupancyRates: c.values.occupancyRates } : {}) } }
          : {}),
      },
    }),
  );
  return withDates([...inventory, ...ratePlans]);
}

const auth = (ctx: PushContext) => {
  const c = ctx.connection.credentials as { username?: unknown; password?: unknown } | null;
  if (typeof c?.username !== 'string' || typeof c?.password !== 'string') {
    throw new StayosError('ERR_OTA_AUTH', 'expedia: the connection has no username/password credentials');
  }
  return { username: c.username, password: c.password, hotelId: ctx.connection.hotelCode };
};

/**
 * Greedy packing under both limits, in date-range then room order, so that updates the message
 * writes together (one AvailRateUpdate per range, one RoomType per room within it) are neighbours.
 * An update's bytes are estimated from its attribute values plus the exact cost of its element
 * structure, measured once per shape (which elements it has) and per relation to the update before
 * it (a new range, the same range and a new room, the same room); `send` checks the real message
 * and halves it if the estimate was ever short.
 */
function chunk(ranges: Planned[]): Planned[][] {
  if (!ranges.length) return [];
  const probe = { username: 'u', password: 'p', hotelId: '1' };
  const bytes = (updates: ArUpdate[]) => Buffer.byteLength(buildAvailRateUpdateRQ(probe, updates));
  const first = ranges[0]!.value;
  const envelope = 2 * bytes([first]) - bytes([first, { ...first, from: '0000-00-00', to: '0000-00-00' }]); // the message without updates
  const values = (u: ArUpdate) => JSON.stringify(u).replace(/"[A-Za-z]+":|[{}"\[\],]/g, '').length;
  const shape = (u: ArUpdate) => JSON.stringify(u, (_k, v) => (typeof v === 'object' && v !== null ? v : 0));
  const relation = (u: ArUpdate, p: ArUpdate | undefined) =>
    !p || p.from !== u.from || p.to !== u.to ? 'range' : p.roomTypeId !== u.roomTypeId ? 'room' : 'same';
  const structures = new Map<string, number>();
  const cost = (r: Planned, previous: Planned | undefined) => {
    const u = r.value;
    const rel = relation(u, previous?.value);
    const key = `${rel}|${shape(u)}`;
    let structure = structures.get(key);
    if (structure === undefined) {
      // What `u` adds after a neighbour in that relation (same-length stand-ins for range and room).
      const before =
        rel === 'range' ? { ...u, from: '0000-00-00', to: '0000-00-00' } : rel === 'room' ? { ...u, roomTypeId: u.roomTypeId.replace(/./g, '0') } : u;
      structure = bytes([before, u]) - bytes([before]) - values(u);
      structures.set(key, structure);
    }
    return structure + values(u);
  };
  // Within a room, its inventory first: the schema writes it before the rate plans, and so an
  // inventory update never follows a neighbour of the same room.
  const ordered = ranges
    .map((r) => ({ r, key: `${r.from}|${r.to}|${r.value.roomTypeId}|${r.value.availability === undefined ? 1 : 0}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.r);
  // 512 bytes of room for the real credentials and hotel id.
  return packGreedy(ordered, cost, AR_MAX_BYTES - envelope - 512, AR_MAX_UPDATES, (r) => arUpdateCount(r.value));
}

/** A message refused for a mapping error is resent one (room, rate) series at a time, so only the
 * unmapped series is flagged; any other refused message, or one over a limit, in halves. */
function split(batch: Planned[]): Planned[][] {
  const by = new Map<string, Planned[]>();
  for (const r of batch) (by.get(r.series) ?? by.set(r.series, []).get(r.series)!).push(r);
  if (by.size > 1 && by.size <= 64) return [...by.values()];
  const half = Math.ceil(batch.length / 2);
  return [batch.slice(0, half), batch.slice(half)];
}

/** The request of a batch: over Expedia's limits (our estimate was short), it is split first. */
const batchOf = (updates: Planned[]): PushBatch<ArUpdate> => ({ kind: 'ar', updates });

type Answer = Awaited<ReturnType<typeof parseAvailRateUpdateRS>>;

/** Expedia's AR protocol on the shared push loop (connectors/outbound/push-loop.ts). */
function protocol(cells: PushCell[]): PushProtocol<ArUpdate, Answer> {
  const nights = new Map(cells.map((c) => [c.cellId, c.night]));
  return {
    ota: 'expedia',
    batches: (_ctx, cs) => chunk(plan(cs)).map(batchOf),

    async request(ctx, batch) {
      const xml = buildAvailRateUpdateRQ(
        auth(ctx),
        batch.updates.map((r) => r.value),
      );
      const bytes = Buffer.byteLength(xml);
      if ((bytes > AR_MAX_BYTES || batch.updates.reduce((n, r) => n + arUpdateCount(r.value), 0) > AR_MAX_UPDATES) && batch.updates.length > 1) {
        return { again: split(batch.updates).map(batchOf) };
      }
      return { url: `${ctx.connection.endpointUrl.replace(/\/+$/, '')}/eqc/ar`, body: xml, headers: { 'Content-Type': 'text/xml; charset=utf-8' } };
    },

    async read(_ctx, answer) {
      // "401 … (no body)" (EG AR error-messaging): the credentials, not an outage.
      if (answer.status === 401)
        throw new StayosError('ERR_OTA_AUTH', 'expedia: HTTP 401, the credentials were refused', { details: { ota: 'expedia', httpStatus: 401 } });
      const parsed = await parseAvailRateUpdateRS(answer.body);
      if (parsed.kind === 'error') {
        const retryable = parsed.errors.find((e) => arErrorFamily(e.code) === 'retry' || e.code === 3210);
        if (retryable) {
          throw new StayosError('ERR_OTA_UNAVAILABLE', `expedia ${retryable.code}: ${retryable.message}`, {
            details: { ota: 'expedia', code: retryable.code, httpStatus: answer.status },
          });
        }
      }
      return parsed;
    },

    judge(_ctx, batch, parsed) {
      if (parsed.kind === 'success') {
        const codes = parsed.warnings.map((e) => String(e.code));
        // Items a warning names were not applied as sent: not acknowledged, recorded on their cells.
        const { refused, general } = readWarnings(parsed.warnings, batch.updates, (id) => nights.get(id));
        const notApplied = new Set(refused.flatMap((r) => r.covers.map((c) => `${c.cellId}|${c.part}`)));
        return {
          applied: batch.updates.map((r) => ({ covers: r.covers.filter((c) => !notApplied.has(`${c.cellId}|${c.part}`)) })),
          refused,
          again: [],
          warnings: general,
          otaCodes: codes,
          status: notApplied.size ? 'partial' : 'success',
          message: parsed.warnings.length ? `expedia ${parsed.warnings[0]!.code}: ${parsed.warnings[0]!.message}` : null,
        };
      }
      return refusal(batch.updates, parsed.errors);
    },
  };
}

/** An `<Error>` answer that retrying cannot fix, by family: nothing in the message was applied. */
function refusal(batch: Planned[], errors: ArIssue[]): Verdict<ArUpdate> {
  const first = errors[0]!;
  const family = arErrorFamily(first.code);
  const text = `expedia ${first.code}: ${first.message}`;
  const base = { applied: [], refused: [], again: [], warnings: [], otaCodes: errors.map((e) => String(e.code)), message: text };
  if (family === 'auth') {
    return {
      ...base,
      errorCode: 'ERR_OTA_AUTH',
      stop: { kind: 'auth', error: new StayosError('ERR_OTA_AUTH', text, { details: { ota: 'expedia', code: first.code } }), retryAfterMs: 0 },
    };
  }
  if (family === 'mapping' && first.code === 3202) {
    const error = new StayosError('ERR_OTA_REJECTED', `${text} (the hotel id is not mapped at Expedia)`, { details: { ota: 'expedia', code: first.code } });
    return { ...base, stop: { kind: 'down', error, retryAfterMs: 0 } };
  }
  // A mapping error is resent one series at a time; anything else refused (a bug family, a limit
  // our packing missed, an unlisted code) in halves until the refused update stands alone: the
  // answer does not say which update is at fault, and only that one is recorded and dropped.
  if ((family === 'mapping' && new Set(batch.map((r) => r.series)).size > 1) || (family !== 'mapping' && batch.length > 1)) {
    return { ...base, again: split(batch).map(batchOf) };
  }
  const [room, rate] = batch[0]!.series.split('|').slice(1);
  return {
    ...base,
    refused: [
      {
        covers: batch.flatMap((r) => r.covers),
        error: {
          severity: 'error',
          kind: family === 'mapping' ? 'mapping' : 'rejected',
          errorCode: 'ERR_OTA_REJECTED',
          otaCode: String(first.code),
          message: family === 'mapping' ? `${text} (Expedia room ${room}${rate ? `, rate plan ${rate}` : ''})` : text,
          stayFrom: batch.reduce((m, r) => (r.from < m ? r.from : m), batch[0]!.from),
          stayTo: batch.reduce((m, r) => (r.to > m ? r.to : m), batch[0]!.to),
        },
      },
    ],
  };
}
