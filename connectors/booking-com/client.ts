/**
 * The Booking.com connector: deltas as OTA_HotelAvailNotifRQ (rooms to sell, room-level, and
 * restrictions per room and rate) and OTA_HotelRateAmountNotifRQ (rates), one hotel per request,
 * `Accept-Version: 1.1`, a Bearer token from ./auth.ts. Answers per the v1.1 rules: 200 = at least
 * one item applied (Warnings with RPH name the items that were not), 400 = all failed, 401 = the
 * token is refused (exchange a new one once, then it is an authentication failure), 403 = not
 * authorised for this hotel.
 */
import { StayosError } from '../../core/errors.ts';
import type { AriValues } from '../sql/ari.ts';
import type { SyncErrorEntry } from '../sql/sync.ts';
import type { OtaValues } from '../types.ts';
import type { Connector, PushContext, PushOutcome } from '../outbound/connector.ts';
import { ackedCells, cellIdsOf, packGreedy, planRanges, type PlannedRange } from '../outbound/plan.ts';
import { post, withRetries } from '../outbound/resilience.ts';
import { bookingToken, forgetToken } from './auth.ts';
import {
  availStatusMessageCount, BOOKING_LIMIT_MAX, BOOKING_MAX_MESSAGES, buildAvailNotifRQ, buildRateAmountNotifRQ,
  type BookingAvailUpdate, type BookingRateUpdate,
} from './messages.ts';
import { parseBookingResponse, type OtaIssue } from './parser.ts';

type Kind = 'avail' | 'rate';
const PATH: Record<Kind, string> = { avail: '/hotels/ota/OTA_HotelAvailNotif', rate: '/hotels/ota/OTA_HotelRateAmountNotif' };

export const bookingConnector: Connector = {
  channel: 'booking_com',
  maxDaysAhead: 1095, // no published bound; the sync window (default 500 days) is the real one

  normalize(v: AriValues): OtaValues {
    return {
      availability: Math.min(v.availability, BOOKING_LIMIT_MAX), rate: v.rate, currency: v.currency,
      minLos: Math.max(v.minLos ?? 1, 1), maxLos: v.maxLos, // null: no maximum (sent as Time="0")
      closedToArrival: v.closedToArrival, closedToDeparture: v.closedToDeparture, closed: v.closed,
    };
  },

  async push(ctx, cells) {
    const out: PushOutcome = { acked: [], rejected: [], warnings: [], requests: 0 };
    const limits = planRanges<BookingAvailUpdate>(cells, ['avail'], (c) => c.roomCode, (c) => ({
      roomCode: c.roomCode, from: '', to: '', bookingLimit: c.values.availability,
    }));
    const restrictions = planRanges<BookingAvailUpdate>(cells, ['restr'], (c) => `${c.roomCode}|${c.rateCode}`, (c) => ({
      roomCode: c.roomCode, rateCode: c.rateCode, from: '', to: '', minLos: c.values.minLos, maxLos: c.values.maxLos,
      closed: c.values.closed, closedToArrival: c.values.closedToArrival, closedToDeparture: c.values.closedToDeparture,
    }));
    const rates = planRanges<BookingRateUpdate>(cells, ['rate'], (c) => `${c.roomCode}|${c.rateCode}`, (c) => ({
      roomCode: c.roomCode, rateCode: c.rateCode, from: '', to: '', amount: c.values.rate!, currency: c.values.currency!,
    }));
    const withDates = <V extends { from: string; to: string }>(rs: Array<PlannedRange<V>>) => rs.map((r) => ({ ...r, value: { ...r.value, from: r.from, to: r.to } }));
    const avail = packGreedy(withDates([...limits, ...restrictions]), (r) => availStatusMessageCount(r.value), BOOKING_MAX_MESSAGES);
    const rate = packGreedy(withDates(rates), () => 1, BOOKING_MAX_MESSAGES);
    type Batch = { kind: Kind; b: Array<PlannedRange<BookingAvailUpdate | BookingRateUpdate>> };
    const queue: Batch[] = [...avail.map((b) => ({ kind: 'avail' as const, b })), ...rate.map((b) => ({ kind: 'rate' as const, b }))];
    while (queue.length) {
      const { kind, b } = queue.shift()!;
      const r = await send(ctx, kind, b, out);
      if (r === 'stop') return out;
      // All refused and the answer names no item: resend in halves until the refused one stands alone.
      if (r === 'split') queue.unshift({ kind, b: b.slice(0, Math.ceil(b.length / 2)) }, { kind, b: b.slice(Math.ceil(b.length / 2)) });
    }
    return out;
  },
};

async function send(ctx: PushContext, kind: Kind, batch: Array<PlannedRange<BookingAvailUpdate | BookingRateUpdate>>, out: PushOutcome): Promise<'ok' | 'stop' | 'split'> {
  const started = performance.now();
  const base = { kind, cells: cellIdsOf(batch).length, ranges: batch.length };
  const hotel = ctx.connection.hotelCode;
  let bytes = 0;
  let refreshed = false;
  try {
    const xml = kind === 'avail'
      ? buildAvailNotifRQ(hotel, batch.map((r) => r.value as BookingAvailUpdate))
      : buildRateAmountNotifRQ(hotel, batch.map((r) => r.value as BookingRateUpdate));
    bytes = Buffer.byteLength(xml);
    const res = await withRetries(
      { maxAttempts: ctx.settings.maxAttempts, initialDelayMs: ctx.settings.retryInitialMs, maxDelayMs: ctx.settings.retryMaxMs },
      async () => {
        const token = await bookingToken(ctx);
        await ctx.rateLimits.take(ctx.connection.id, ctx.settings.perMinute, ctx.signal);
        const answer = await post(`${ctx.connection.endpointUrl.replace(/\/+$/, '')}${PATH[kind]}`, xml, {
          'Content-Type': 'application/xml', 'Accept-Version': '1.1', Authorization: `Bearer ${token}`,
        }, ctx.settings.timeoutMs, 'booking_com', ctx.signal);
        if (answer.status === 401) {
          await forgetToken(ctx);
          if (refreshed) throw new StayosError('ERR_OTA_AUTH', 'booking_com: HTTP 401 with a freshly exchanged token', { details: { ota: 'booking_com', httpStatus: 401 } });
          refreshed = true; // the token may have been revoked: one more attempt with a new one
          throw new StayosError('ERR_OTA_UNAVAILABLE', 'booking_com: HTTP 401, token refused; exchanging a new one', { details: { ota: 'booking_com', httpStatus: 401 } });
        }
        if (answer.status === 403) throw new StayosError('ERR_OTA_AUTH', `booking_com: HTTP 403, not authorised for hotel ${hotel}`, { details: { ota: 'booking_com', httpStatus: 403 } });
        if (answer.status !== 200 && answer.status !== 400) {
          throw new StayosError('ERR_OTA_REJECTED', `booking_com: HTTP ${answer.status} from ${PATH[kind]}`, { details: { ota: 'booking_com', httpStatus: answer.status } });
        }
        return { parsed: await parseBookingResponse(answer.body), status: answer.status };
      },
      ctx.signal,
    );
    out.requests += res.attempts;
    const { parsed, status } = res.value;
    const issues = parsed.kind === 'success' ? parsed.warnings : parsed.errors;
    const otaCodes = issues.map((i) => i.code);
    // Items the answer names (RPH = the 1-based index of the update) were not applied.
    const named = new Map<number, OtaIssue>();
    for (const i of issues) if (i.rph !== undefined && i.rph >= 1 && i.rph <= batch.length) named.set(i.rph - 1, i);
    const failedAll = parsed.kind === 'errors';
    if (failedAll && named.size === 0 && batch.length > 1) {
      await ctx.logRequest({ ...base, bytes, status: 'failed', httpStatus: status, otaCodes, errorCode: 'ERR_OTA_REJECTED',
        message: `${issueText(issues[0]!)} (no item named: resent in halves)`, attempts: res.attempts, durationMs: performance.now() - started });
      return 'split';
    }
    const applied = batch.filter((_, idx) => !failedAll && !named.has(idx));
    const refused = batch.map((r, idx) => ({ r, issue: failedAll ? named.get(idx) ?? issues[0]! : named.get(idx) })).filter((x) => x.issue);
    await ctx.logRequest({
      ...base, bytes, status: failedAll ? 'failed' : refused.length ? 'partial' : 'success', httpStatus: status, otaCodes,
      errorCode: failedAll ? 'ERR_OTA_REJECTED' : null, message: issues.length ? issueText(issues[0]!) : null, attempts: res.attempts,
      durationMs: performance.now() - started,
    });
    out.acked.push(...ackedCells(applied));
    for (const { r, issue } of refused) out.rejected.push({ covers: r.covers, error: rejection(issue!, r) });
    if (!failedAll) for (const i of issues) if (i.rph === undefined) out.warnings.push({ severity: 'warning', kind: 'ota_warning', errorCode: 'OTA_WARNING', otaCode: i.code || null, message: issueText(i) });
    return 'ok';
  } catch (err) {
    const e = err instanceof StayosError ? err
      : ctx.signal.aborted ? new StayosError('ERR_OTA_UNAVAILABLE', 'booking_com: stopped (the worker is shutting down)', { cause: err })
      : new StayosError('ERR_INTERNAL', `booking_com push failed: ${(err as Error).message}`, { cause: err });
    const attempts = (e as StayosError & { attempts?: number }).attempts ?? 1;
    out.requests += attempts;
    if (e.details?.httpStatus !== undefined || e.code !== 'ERR_OTA_AUTH') {
      await ctx.logRequest({ ...base, bytes, status: 'failed', httpStatus: Number(e.details?.httpStatus ?? 0) || null, otaCodes: [], errorCode: e.code,
        message: e.message, attempts, durationMs: performance.now() - started });
    }
    // Refused credentials or an endpoint that answers with an unexpected HTTP status stop the
    // connection until a probe. Anything else backs off like an outage, our own failures (the
    // database under the rate limit, the token or the log; a bug) included: the breaker marks the
    // connection down after repeated failures, and the error table shows why.
    out.stop = { kind: e.code === 'ERR_OTA_AUTH' ? 'auth' : e.code === 'ERR_OTA_REJECTED' ? 'down' : 'unavailable', error: e, retryAfterMs: Number(e.details?.retryAfterMs ?? 0) };
    return 'stop';
  }
}

const issueText = (i: OtaIssue) => `booking_com ${i.code || '(no code)'}${i.type ? ` type ${i.type}` : ''}: ${i.shortText ?? i.text ?? 'no text'}`;

function rejection(issue: OtaIssue, r: PlannedRange<BookingAvailUpdate | BookingRateUpdate>): SyncErrorEntry {
  const v = r.value as { roomCode: string; rateCode?: string };
  return {
    severity: 'error', kind: 'rejected', errorCode: 'ERR_OTA_REJECTED', otaCode: issue.code || null,
    message: `${issueText(issue)} (room ${v.roomCode}${v.rateCode ? `, rate ${v.rateCode}` : ''}, ${r.from}..${r.to})`,
    stayFrom: r.from, stayTo: r.to,
  };
}
