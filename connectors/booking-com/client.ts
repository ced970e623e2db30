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
import type { OtaValues } from '../outbound/types.ts';
import type { Connector, PushCell, PushContext, PushOutcome } from '../outbound/connector.ts';
import { ackedCells, cellIdsOf, packGreedy, planRanges, type PlannedRange } from '../outbound/plan.ts';
import { post, withRetries } from '../outbound/resilience.ts';
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

  normalize(v: AriValues, _settings): OtaValues {
    return {
      availability: Math.min(v.availability, BOOKING_LIMIT_MAX),
      rate: v.rate,
      currency: v.currency,
      minLos: Math.max(v.minLos ?? 1, 1),
      maxLos: v.maxLos, // null: no maximum (sent as Time="0")
      closedToArrival: v.closedToArrival,
      closedToDeparture: v.closedToDeparture,
      closed: v.closed,
    };
  },

  async push(ctx, cells) {
    const out: PushOutcome = { acked: [], rejected: [], warnings: [], requests: 0 };
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
      }),
    );
    const withDates = <V extends { from: string; to: string }>(rs: Array<PlannedRange<V>>) =>
      rs.map((r) => ({ ...r, value: { ...r.value, from: r.from, to: r.to } }));
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
      layer((v) => ({ minLos: v.minLos, maxLos: v.maxLos, closed: v.closed })),
      layer((v) => ({ closedToArrival: v.closedToArrival })),
      layer((v) => ({ closedToDeparture: v.closedToDeparture })),
    ];
    type Batch = { kind: Kind; b: Array<PlannedRange<BookingAvailUpdate | BookingRateUpdate>> };
    const queue: Batch[] = [];
    for (const m of [...new Set([...limits, ...restrictions, ...rates].map((r) => r.from.slice(0, 7)))].sort()) {
      const inMonth = <V>(rs: Array<PlannedRange<V>>) => rs.filter((r) => r.from.startsWith(m));
      for (const [i, layer] of layers.entries()) {
        for (const b of packGreedy(
          withDates([...(i ? [] : inMonth(limits)), ...inMonth(layer)]),
          (r) => availStatusMessageCount(r.value),
          BOOKING_MAX_MESSAGES,
        ))
          queue.push({ kind: 'avail', b });
      }
      for (const b of packGreedy(withDates(inMonth(rates)), () => 1, BOOKING_MAX_MESSAGES)) queue.push({ kind: 'rate', b });
    }
    const done = async () => {
      // Restrictions acknowledged in fewer layers than they were sent in are not acknowledged.
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
    };
    while (queue.length) {
      const { kind, b } = queue.shift()!;
      const r = await send(ctx, kind, b, out);
      if (r === 'stop') return done();
      // Updates whose fate the answer does not tell: resent (in halves when the answer named no
      // update at all, until a refused one stands alone and gets its own answer).
      if (r !== 'ok')
        queue.unshift(
          ...(r.length > 1 && r.length === b.length ? [r.slice(0, Math.ceil(r.length / 2)), r.slice(Math.ceil(r.length / 2))] : [r]).map((x) => ({
            kind,
            b: x,
          })),
        );
    }
    return done();
  },
};

type Planned = PlannedRange<BookingAvailUpdate | BookingRateUpdate>;

/** Sends one request; answers 'ok', 'stop' (the push ends), or the updates to send again. */
async function send(ctx: PushContext, kind: Kind, batch: Planned[], out: PushOutcome): Promise<'ok' | 'stop' | Planned[]> {
  const started = performance.now();
  const base = { kind, cells: cellIdsOf(batch).length, ranges: batch.length };
  const hotel = ctx.connection.hotelCode;
  let bytes = 0;
  let refreshed = false;
  try {
    const xml =
      kind === 'avail'
        ? buildAvailNotifRQ(
            hotel,
            batch.map((r) => r.value as BookingAvailUpdate),
          )
        : buildRateAmountNotifRQ(
            hotel,
            batch.map((r) => r.value as BookingRateUpdate),
          );
    bytes = Buffer.byteLength(xml);
    const res = await withRetries(
      { maxAttempts: ctx.settings.maxAttempts, initialDelayMs: ctx.settings.retryInitialMs, maxDelayMs: ctx.settings.retryMaxMs },
      async () => {
        const url = `${ctx.connection.endpointUrl.replace(/\/+$/, '')}${PATH[kind]}`;
        const token = await bookingToken(ctx, url);
        await ctx.rateLimits.take(ctx.connection.id, ctx.settings.perMinute, ctx.signal);
        const answer = await post(
          url,
          xml,
          {
            'Content-Type': 'application/xml',
            'Accept-Version': '1.1',
            Authorization: `Bearer ${token}`,
          },
          ctx.settings.timeoutMs,
          'booking_com',
          ctx.signal,
        );
        if (answer.status === 401) {
          await forgetToken(ctx);
          if (refreshed)
            throw new StayosError('ERR_OTA_AUTH', 'booking_com: HTTP 401 with a freshly exchanged token', { details: { ota: 'booking_com', httpStatus: 401 } });
          refreshed = true; // the token may have been revoked: one more attempt with a new one
          throw new StayosError('ERR_OTA_UNAVAILABLE', 'booking_com: HTTP 401, token refused; exchanging a new one', {
            details: { ota: 'booking_com', httpStatus: 401 },
          });
        }
        if (answer.status === 403)
          throw new StayosError('ERR_OTA_AUTH', `booking_com: HTTP 403, not authorised for hotel ${hotel}`, {
            details: { ota: 'booking_com', httpStatus: 403 },
          });
        if (answer.status !== 200 && answer.status !== 400) {
          throw new StayosError('ERR_OTA_REJECTED', `booking_com: HTTP ${answer.status} from ${PATH[kind]}`, {
            details: { ota: 'booking_com', httpStatus: answer.status },
          });
        }
        return { parsed: await parseBookingResponse(answer.body), status: answer.status };
      },
      ctx.signal,
    );
    out.requests += res.attempts;
    const { parsed, status } = res.value;
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
    // v1.1: HTTP 400 when every update failed; 200 when at least one was applied.
    const failedAll = status === 400;
    const log = (st: 'success' | 'partial' | 'failed', message: string | null) =>
      ctx.logRequest({
        ...base,
        bytes,
        status: st,
        httpStatus: status,
        otaCodes,
        errorCode: st === 'failed' ? 'ERR_OTA_REJECTED' : null,
        message,
        attempts: res.attempts,
        durationMs: performance.now() - started,
      });
    // Errors that name no update leave the fate of every unnamed update unknown (a 400 refused
    // them for a reason we cannot tell, or a 200 with <Errors> applied some): send them again.
    if (parsed.kind === 'errors' && general.length && batch.length > named.size) {
      const again = batch.filter((_, idx) => !named.has(idx));
      if (again.length < batch.length || batch.length > 1) {
        await log(named.size ? 'partial' : 'failed', `${issueText(general[0]!)} (${again.length} update(s) not named: sent again)`);
        for (const [idx, issue] of named) out.rejected.push({ covers: batch[idx]!.covers, error: rejection(issue, batch[idx]!) });
        return again;
      }
    }
    // A 200 applied every update its issues do not name; a 400 none (each then carries the first issue).
    const refused = batch.map((r, idx) => ({ r, issue: named.get(idx) ?? (failedAll ? issues[0] : undefined) })).filter((x) => x.issue);
    const applied = failedAll ? [] : batch.filter((_, idx) => !named.has(idx));
    await log(failedAll ? 'failed' : refused.length ? 'partial' : 'success', issues.length ? issueText(issues[0]!) : null);
    out.acked.push(...ackedCells(applied));
    for (const { r, issue } of refused) out.rejected.push({ covers: r.covers, error: rejection(issue!, r) });
    if (parsed.kind === 'success')
      for (const i of general)
        out.warnings.push({ severity: 'warning', kind: 'ota_warning', errorCode: 'OTA_WARNING', otaCode: i.code || null, message: issueText(i) });
    return 'ok';
  } catch (err) {
    const e =
      err instanceof StayosError
        ? err
        : ctx.signal.aborted
          ? new StayosError('ERR_OTA_UNAVAILABLE', 'booking_com: stopped (the worker is shutting down)', { cause: err })
          : new StayosError('ERR_INTERNAL', `booking_com push failed: ${(err as Error).message}`, { cause: err });
    const attempts = (e as StayosError & { attempts?: number }).attempts ?? 1;
    out.requests += attempts;
    if (e.details?.httpStatus !== undefined || e.code !== 'ERR_OTA_AUTH') {
      await ctx.logRequest({
        ...base,
        bytes,
        status: 'failed',
        httpStatus: Number(e.details?.httpStatus ?? 0) || null,
        otaCodes: [],
        errorCode: e.code,
        message: e.message,
        attempts,
        durationMs: performance.now() - started,
      });
    }
    // Refused credentials or an endpoint that answers with an unexpected HTTP status stop the
    // connection until a probe. Anything else backs off like an outage, our own failures (the
    // database under the rate limit, the token or the log; a bug) included: the breaker marks the
    // connection down after repeated failures, and the error table shows why.
    out.stop = {
      kind: e.code === 'ERR_OTA_AUTH' ? 'auth' : e.code === 'ERR_OTA_REJECTED' || e.code === 'ERR_OTA_HOST_NOT_ALLOWED' ? 'down' : 'unavailable',
      error: e,
      retryAfterMs: Number(e.details?.retryAfterMs ?? 0),
    };
    return 'stop';
  }
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
