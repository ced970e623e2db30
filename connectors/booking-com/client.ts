/**
 * The Booking.com connector: deltas as OTA_HotelAvailNotifRQ (rooms to sell, room-level, and
 * restrictions per room and rate) and OTA_HotelRateAmountNotifRQ (rates), one hotel and one
 * calendar month per request, the room-rates of that month together ("Monthly Batching … Each
 * request should cover a single month period"; "Room-Rate Grouping"; developers.booking.com/
 * connectivity/docs/ota-rateamountnotif), `Accept-Version: 1.1`, a Bearer token from ./auth.ts.
 * Answers per the v1.1 rules (b_xml-availability-troubleshooting): 200 = at least one update
 * applied, the Warnings or Errors naming those that were not (./issues.ts); 400 = all failed;
 * 401 = the token is refused (exchange a new one once, then it is an authentication failure);
 * 403 = not authorised for this hotel.
 */
import { StayosError } from '../../core/errors.ts';
import { addDays, todayIn } from '../../core/dates.ts';
import type { AriValues } from '../outbound/sql/ari.ts';
import type { SyncErrorEntry } from '../outbound/sql/sync.ts';
import { occupancyEntries, type OtaValues } from '../outbound/types.ts';
import type { Connector, PushCell, PushContext } from '../outbound/connector.ts';
import { packGreedy, planRanges, withDates, type PlannedRange } from '../outbound/plan.ts';
import { halves, runPushLoop, type PushBatch, type PushProtocol } from '../outbound/push-loop.ts';
import { bookingToken, forgetToken } from './auth.ts';
import { namedUpdates } from './issues.ts';
import {
  availStatusMessageCount,
  BOOKING_LIMIT_MAX,
  BOOKING_MAX_MESSAGES,
  buildAvailNotifRQ,
  buildRateAmountNotifRQ,
  type BookingAvailUpdate,
  type BookingRateUpdate,
} from './messages.ts';
import { parseBookingResponse, type OtaIssue } from './parser.ts';

type Kind = 'avail' | 'rate';
const PATH: Record<Kind, string> = { avail: '/hotels/ota/OTA_HotelAvailNotif', rate: '/hotels/ota/OTA_HotelRateAmountNotif' };

export const bookingConnector: Connector = {
  channel: 'booking_com',
  maxDaysAhead: 1095, // no published bound; the sync window (default 500 days) is the real one
  // "Set past date updates up to 1 day in the past (follows Central European Time (CET) timezone).
  // Updates more than 1 day in the past, return a NOT_A_VALID_DATE error" (ota-hotelavailnotif):
  // a hotel west of Amsterdam has a yesterday Booking.com already refuses for part of the day.
  earliestNight: () => addDays(todayIn('Europe/Amsterdam'), -1),

  normalize(v: AriValues, settings): OtaValues {
    // Occupancy-based pricing (OBP) when the property is set up for it (the connection's
    // pricing_model; the worker sends no cell of a plan priced otherwise): a BaseByGuestAmt per
    // NumberOfGuests. A per-occupancy night without any occupancy price has nothing to sell: closed.
    const obp = settings.pricing_model === 'per_occupancy';
    const occupancyRates = obp ? v.occupancyRates : null;
    const unpriced = obp && occupancyRates === null;
    // Which stay SetMinLOS/SetMaxLOS restrict (`los_messages`): Booking.com's page glosses them as
    // "Minimum/Maximum Stay Through" (the default, `stay_through`: arrival-based values then go as
    // SetForwardMinStay/SetForwardMaxStay, our inference); OpenTravel's other users (Google,
    // AlpineBits) read them as arrival-based, the Forward pair as stay-through (`arrival`). Until a
    // Booking.com test property settles it, the connection says which; in `arrival` the two pairs'
    // values swap places below (these fields are named by the messages that carry them).
    const swap = settings.los_messages === 'arrival';
    const arrival = { min: v.minLos, max: v.maxLos };
    const through = { min: v.minStayThrough, max: v.maxStayThrough };
    const forward = swap ? through : arrival; // sent as SetForwardMinStay/SetForwardMaxStay
    const minLosPair = swap ? arrival : through; // sent as SetMinLOS/SetMaxLOS
    return {
      availability: Math.min(v.availability, BOOKING_LIMIT_MAX),
      rate: unpriced ? null : v.rate,
      currency: v.currency,
      // Arrival-based (SetForwardMinStay/SetForwardMaxStay, messages.ts LOS_TYPE): 1 = no minimum,
      // null = no maximum (sent as Time="0").
      minLos: Math.max(forward.min ?? 1, 1),
      maxLos: forward.max,
      closedToArrival: v.closedToArrival,
      closedToDeparture: v.closedToDeparture,
      // No room-level close is documented for the OTA endpoint's room-rate updates we send
      // (ota-hotelavailnotif shows a room-type close without RatePlanCode, its parameters NOT FOUND):
      // the room type's close closes each of its rates instead.
      closed: v.closed || v.roomClosed || unpriced,
      occupancyRates,
      // Stay-through (SetMinLOS/SetMaxLOS, "Minimum/Maximum Stay Through"): null = none, one
      // spelling (a minimum of 1 restricts nothing); sent as Time="1" / Time="0" so that a push
      // removes what an earlier one set.
      minStayThrough: minLosPair.min !== null && minLosPair.min > 1 ? minLosPair.min : null,
      maxStayThrough: minLosPair.max,
      // Not per date at Booking.com: BookingRule@MinAdvancedBookingOffset/@MaxAdvancedBookingOffset
      // of OTA_HotelProductNotif (api-reference/bookingrule), a room-rate setting. Not carried.
      minAdvanceDays: null,
      maxAdvanceDays: null,
      roomClosed: false,
    };
  },

  push(ctx, cells) {
    const { queue, layers } = planBookingPush(cells);
    return runPushLoop(ctx, cells, protocol(queue, layers));
  },
};

type Update = BookingAvailUpdate | BookingRateUpdate;

/**
 * The requests of a push, in order (pure: the tests read it), and the restriction layers whose
 * acknowledgement `finish` checks.
 */
export function planBookingPush(cells: PushCell[]): { queue: Array<PushBatch<Update>>; layers: Array<Array<PlannedRange<BookingAvailUpdate>>> } {
  // A series per calendar month: ranges never cross a month, so a request can hold one month.
  const month = (c: PushCell) => c.night.slice(0, 7);
  const limits = planRanges<BookingAvailUpdate>(
    cells,
    ['avail'],
    (c) => `${month(c)}|${c.roomCode}`,
    (c) => ({
      roomCode: c.roomCode,
      from: '',
      to: '',
      bookingLimit: c.values.availability,
    }),
  );
  const restrictions = planRanges<BookingAvailUpdate>(
    cells,
    ['restr'],
    (c) => `${month(c)}|${c.roomCode}|${c.rateCode}`,
    (c) => ({
      roomCode: c.roomCode,
      rateCode: c.rateCode,
      from: '',
      to: '',
      minLos: c.values.minLos,
      maxLos: c.values.maxLos,
      minStayThrough: c.values.minStayThrough,
      maxStayThrough: c.values.maxStayThrough,
      closed: c.values.closed,
      closedToArrival: c.values.closedToArrival,
      closedToDeparture: c.values.closedToDeparture,
    }),
  );
  const rates = planRanges<BookingRateUpdate>(
    cells,
    ['rate'],
    (c) => `${month(c)}|${c.roomCode}|${c.rateCode}`,
    (c) => ({
      roomCode: c.roomCode,
      rateCode: c.rateCode,
      from: '',
      to: '',
      amount: c.values.rate!,
      currency: c.values.currency!,
      // In the range value, so that nights with other occupancy prices do not merge.
      ...(c.values.occupancyRates ? { occupancyRates: sortedOccupancy(c.values.occupancyRates) } : {}),
    }),
  );
  // OpenTravel allows one RestrictionStatus per AvailStatusMessage, so a room-rate's own status,
  // its closed-to-arrival and its closed-to-departure are three messages with the same dates.
  // Booking.com's v1.1 warns "Request contains duplicate dates, we have applied only the first
  // occurrence" (WARN_DUPLICATE_DATES) without saying what counts as a duplicate: so they go in
  // three requests (layers), and a cell's restrictions count as acknowledged only when every
  // layer holding them was.
  const layer = (pick: (v: BookingAvailUpdate) => Partial<BookingAvailUpdate>): Array<PlannedRange<BookingAvailUpdate>> =>
    restrictions
      .map((r) => ({ ...r, value: { roomCode: r.value.roomCode, rateCode: r.value.rateCode, from: '', to: '', ...pick(r.value) } }))
      .filter((r) => availStatusMessageCount(r.value) > 0);
  const layers = [
    layer((v) => ({ minLos: v.minLos, maxLos: v.maxLos, minStayThrough: v.minStayThrough, maxStayThrough: v.maxStayThrough, closed: v.closed })),
    layer((v) => ({ closedToArrival: v.closedToArrival })),
    layer((v) => ({ closedToDeparture: v.closedToDeparture })),
  ];
  const queue: Array<PushBatch<Update>> = [];
  for (const m of [...new Set([...limits, ...restrictions, ...rates].map((r) => r.from.slice(0, 7)))].sort()) {
    const inMonth = <V>(rs: Array<PlannedRange<V>>) => rs.filter((r) => r.from.startsWith(m));
    for (const [i, layer] of layers.entries()) {
      for (const b of packGreedy(withDates([...(i ? [] : inMonth(limits)), ...inMonth(layer)]), (r) => availStatusMessageCount(r.value), BOOKING_MAX_MESSAGES))
        queue.push({ kind: 'avail', updates: b });
    }
    for (const b of packGreedy(withDates(inMonth(rates)), () => 1, BOOKING_MAX_MESSAGES)) queue.push({ kind: 'rate', updates: b });
  }
  return { queue, layers };
}

/** Occupancy prices keyed by guests in numeric order (amounts as the ARI statement writes them,
 * two decimals), so that equal prices make equal range values whatever order the keys came in. */
const sortedOccupancy = (o: Record<string, string>): Record<string, string> =>
  Object.fromEntries(occupancyEntries(o).map(([guests, amount]) => [String(guests), amount]));

type Answer = { parsed: Awaited<ReturnType<typeof parseBookingResponse>>; status: number };

/** Booking.com's protocol on the shared push loop (connectors/outbound/push-loop.ts), for the requests planned above. */
function protocol(queue: Array<PushBatch<Update>>, layers: Array<Array<PlannedRange<BookingAvailUpdate>>>): PushProtocol<Update, Answer> {
  // Batches whose token was refused once already: a second 401 is an authentication failure.
  const refreshed = new WeakSet<PushBatch<Update>>();
  const url = (ctx: PushContext, kind: string) => `${ctx.connection.endpointUrl.replace(/\/+$/, '')}${PATH[kind as Kind]}`;
  return {
    ota: 'booking_com',
    batches: () => queue,

    async request(ctx, batch) {
      const hotel = ctx.connection.hotelCode;
      const body =
        batch.kind === 'avail'
          ? buildAvailNotifRQ(
              hotel,
              batch.updates.map((r) => r.value as BookingAvailUpdate),
            )
          : buildRateAmountNotifRQ(
              hotel,
              batch.updates.map((r) => r.value as BookingRateUpdate),
            );
      return { url: url(ctx, batch.kind), body, headers: { 'Content-Type': 'application/xml', 'Accept-Version': '1.1' } };
    },

    // A Bearer token each attempt: one refused (401) is forgotten, and the next attempt exchanges anew.
    authorize: async (ctx, u) => ({ Authorization: `Bearer ${await bookingToken(ctx, u)}` }),

    async read(ctx, answer, batch) {
      if (answer.status === 401) {
        await forgetToken(ctx);
        if (refreshed.has(batch))
          throw new StayosError('ERR_OTA_AUTH', 'booking_com: HTTP 401 with a freshly exchanged token', { details: { ota: 'booking_com', httpStatus: 401 } });
        refreshed.add(batch); // the token may have been revoked: one more attempt with a new one
        throw new StayosError('ERR_OTA_UNAVAILABLE', 'booking_com: HTTP 401, token refused; exchanging a new one', {
          details: { ota: 'booking_com', httpStatus: 401 },
        });
      }
      if (answer.status === 403)
        throw new StayosError('ERR_OTA_AUTH', `booking_com: HTTP 403, not authorised for hotel ${ctx.connection.hotelCode}`, {
          details: { ota: 'booking_com', httpStatus: 403 },
        });
      if (answer.status !== 200 && answer.status !== 400) {
        throw new StayosError('ERR_OTA_REJECTED', `booking_com: HTTP ${answer.status} from ${PATH[batch.kind as Kind]}`, {
          details: { ota: 'booking_com', httpStatus: answer.status },
        });
      }
      return { parsed: await parseBookingResponse(answer.body), status: answer.status };
    },

    judge(_ctx, b, { parsed, status }) {
      const batch = b.updates;
      const issues = parsed.kind === 'success' ? parsed.warnings : parsed.errors;
      const otaCodes = issues.map((i) => i.code);
      // The updates each Warning or Error names were not applied (./issues.ts).
      const named = new Map<number, OtaIssue>();
      const general: OtaIssue[] = [];
      for (const i of issues) {
        // A Warning's Status "specifies how/if the request information was processed"
        // (api-reference/warning): only one that says it was (OpenTravel's "Complete") names nothing
        // left undone; NotProcessed, Incomplete, Unknown or none block what it names.
        const blocking = parsed.kind === 'errors' || !/^\s*complete\s*$/i.test(i.status ?? '');
        const which = blocking
          ? namedUpdates(
              i,
              batch.map((r) => ({ ...r, value: r.value as BookingAvailUpdate })),
            )
          : [];
        if (!which.length) general.push(i);
        for (const idx of which) if (!named.has(idx)) named.set(idx, i);
      }
      const refusedNamed = [...named].map(([idx, issue]) => ({ covers: batch[idx]!.covers, error: rejection(issue, batch[idx]!) }));
      // Errors that name no update leave the fate of every unnamed update unknown (a 400 refused
      // them for a reason we cannot tell, or a 200 with <Errors> applied some): send them again —
      // in halves when the answer named no update at all, until a refused one stands alone.
      if (parsed.kind === 'errors' && general.length && batch.length > named.size) {
        const again = batch.filter((_, idx) => !named.has(idx));
        if (again.length < batch.length || batch.length > 1) {
          const rest = { kind: b.kind, updates: again };
          return {
            applied: [],
            refused: refusedNamed,
            again: again.length > 1 && again.length === batch.length ? halves(rest) : [rest],
            warnings: [],
            otaCodes,
            status: named.size ? 'partial' : 'failed',
            message: `${issueText(general[0]!)} (${again.length} update(s) not named: sent again)`,
          };
        }
      }
      // v1.1: HTTP 400 when every update failed (each then carries the first issue); 200 when at
      // least one was applied: every update its issues do not name.
      const failedAll = status === 400;
      const refused = batch.map((r, idx) => ({ r, issue: named.get(idx) ?? (failedAll ? issues[0] : undefined) })).filter((x) => x.issue);
      return {
        applied: failedAll ? [] : batch.filter((_, idx) => !named.has(idx)),
        refused: refused.map(({ r, issue }) => ({ covers: r.covers, error: rejection(issue!, r) })),
        again: [],
        warnings:
          parsed.kind === 'success'
            ? general.map((i) => ({
                severity: 'warning' as const,
                kind: 'ota_warning' as const,
                errorCode: 'OTA_WARNING',
                otaCode: i.code || null,
                message: issueText(i),
              }))
            : [],
        otaCodes,
        status: failedAll ? 'failed' : refused.length ? 'partial' : 'success',
        message: issues.length ? issueText(issues[0]!) : null,
      };
    },

    // A token exchange that failed logged itself (kind `token`); anything else is this request's.
    logsFailure: (e) => e.details?.httpStatus !== undefined || e.code !== 'ERR_OTA_AUTH',

    // Restrictions acknowledged in fewer layers than they were sent in are not acknowledged.
    finish(out) {
      const sent = new Map<string, number>();
      for (const l of layers) for (const r of l) for (const c of r.covers) if (c.part === 'restr') sent.set(c.cellId, (sent.get(c.cellId) ?? 0) + 1);
      const acked = new Map<string, number>();
      for (const a of out.acked) if (a.parts.includes('restr')) acked.set(a.cellId, (acked.get(a.cellId) ?? 0) + 1);
      out.acked = out.acked
        .map((a) =>
          a.parts.includes('restr') && (acked.get(a.cellId) ?? 0) < (sent.get(a.cellId) ?? 0) ? { ...a, parts: a.parts.filter((p) => p !== 'restr') } : a,
        )
        .filter((a) => a.parts.length);
      return out;
    },
  };
}

const issueText = (i: OtaIssue) => `booking_com ${i.code || '(no code)'}${i.type ? ` type ${i.type}` : ''}: ${i.shortText ?? i.text ?? 'no text'}`;

function rejection(issue: OtaIssue, r: PlannedRange<BookingAvailUpdate | BookingRateUpdate>): SyncErrorEntry {
  const v = r.value as { roomCode: string; rateCode?: string };
  return {
    severity: 'error',
    kind: 'rejected',
    errorCode: 'ERR_OTA_REJECTED',
    otaCode: issue.code || null,
    message: `${issueText(issue)} (room ${v.roomCode}${v.rateCode ? `, rate ${v.rateCode}` : ''}, ${r.from}..${r.to})`,
    stayFrom: r.from,
    stayTo: r.to,
  };
}
