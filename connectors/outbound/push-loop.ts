/**
 * The push loop every OTA's connector runs (issue 17: Booking.com, Expedia and Google Hotels): a queue of requests, each within the
 * OTA's limits; each sent with the connection's rate limit, timeout and retries (transient
 * failures: connection errors, timeouts, 429, 5xx, and whatever the protocol calls retryable);
 * each answer judged by the protocol into cells acknowledged, parts refused for good, warnings,
 * and requests to send again (a refused message halved until the refused update stands alone);
 * every request written to the sync log. A failure that ends the push stops the connection's
 * breaker the same way for every OTA: refused credentials → `auth`; an endpoint that answers
 * outside the protocol or a URL that is not the OTA's → `down`; anything else → `unavailable`
 * (backoff). The protocol (an adapter's) knows its messages; the loop knows no OTA.
 */
import { StayosError, type ErrorCode } from '../../core/errors.ts';
import type { PushCell, PushContext, PushOutcome, PushStop } from './connector.ts';
import { ackedCells, cellIdsOf, type PlannedRange } from './plan.ts';
import { post, withRetries, type HttpAnswer } from './resilience.ts';
import type { SyncErrorEntry } from './sql/sync.ts';

/** One request's content: updates of one kind (the sync log's `kind`), each a planned range. */
export interface PushBatch<U> {
  kind: string;
  updates: Array<PlannedRange<U>>;
  /** The protocol's own bookkeeping for this batch (e.g. the error its parent was refused with). */
  meta?: unknown;
}

/** What the protocol makes of an answer. */
export interface Verdict<U> {
  /** What the OTA applied: updates, or the parts of their cells it applied. */
  applied: Array<Pick<PlannedRange<U>, 'covers'>>;
  /** Parts refused for good, each group with its error (recorded on its cells, not retried; `value`: these very values refused). */
  refused: Array<{ covers: PlannedRange<U>['covers']; error: SyncErrorEntry; value?: boolean }>;
  /** Updates whose fate is unknown: sent again, as these batches, at the head of the queue. */
  again: Array<PushBatch<U>>;
  warnings: SyncErrorEntry[];
  otaCodes: string[];
  /** The sync log's line for this request. */
  message: string | null;
  /** The push ends here: the answer says no request can succeed now (refused credentials, a hotel-wide refusal). */
  stop?: PushStop;
  /** The sync log's error code when not the loop's own (ERR_OTA_REJECTED for a failed request). */
  errorCode?: ErrorCode;
  /** The sync log's status when not the loop's own (failed when nothing applied, partial when something was not). */
  status?: 'success' | 'partial' | 'failed';
}

export interface PushProtocol<U, A> {
  /** The channel code (logs, errors, the host check). */
  ota: string;
  /** The requests of a push, in order. */
  batches(ctx: PushContext, cells: PushCell[]): Array<PushBatch<U>>;
  /** The request of one batch (URL, body, headers); or, when its message would be over the OTA's limits, the batches to send instead. */
  request(ctx: PushContext, batch: PushBatch<U>): Promise<{ url: string; body: string; headers: Record<string, string> } | { again: Array<PushBatch<U>> }>;
  /**
   * Reads one HTTP answer (429 and 5xx never reach it: they are retried). Throws a StayosError:
   * ERR_OTA_UNAVAILABLE to retry, ERR_OTA_AUTH for refused credentials, ERR_OTA_REJECTED for an
   * answer outside the protocol; ERR_OTA_INVALID_RESPONSE for a body it cannot read.
   */
  read(ctx: PushContext, answer: HttpAnswer, batch: PushBatch<U>): Promise<A>;
  judge(ctx: PushContext, batch: PushBatch<U>, answer: A): Verdict<U>;
  /** Headers that may change between attempts (a token), added to the request's own before each. */
  authorize?(ctx: PushContext, url: string): Promise<Record<string, string>>;
  /** Whether a failure that ended the push is logged here (false: it was logged where it happened, e.g. a token exchange). */
  logsFailure?(error: StayosError): boolean;
  /** The push's outcome, last (e.g. parts acknowledged only when every request carrying them was). */
  finish?(out: PushOutcome): PushOutcome;
}

/** Halves of a batch (a refused message whose answer names no update). */
export function halves<U>(batch: PushBatch<U>, meta?: unknown): Array<PushBatch<U>> {
  const half = Math.ceil(batch.updates.length / 2);
  return [
    { kind: batch.kind, updates: batch.updates.slice(0, half), meta },
    { kind: batch.kind, updates: batch.updates.slice(half), meta },
  ];
}

export async function runPushLoop<U, A>(ctx: PushContext, cells: PushCell[], protocol: PushProtocol<U, A>): Promise<PushOutcome> {
  const out: PushOutcome = { acked: [], rejected: [], warnings: [], requests: 0 };
  const queue = protocol.batches(ctx, cells).filter((b) => b.updates.length);
  while (queue.length) {
    const batch = queue.shift()!;
    const again = await send(ctx, protocol, batch, out);
    if (again === 'stop') break;
    queue.unshift(...again.filter((b) => b.updates.length));
  }
  return protocol.finish ? protocol.finish(out) : out;
}

async function send<U, A>(ctx: PushContext, protocol: PushProtocol<U, A>, batch: PushBatch<U>, out: PushOutcome): Promise<Array<PushBatch<U>> | 'stop'> {
  const started = performance.now();
  const base = { kind: batch.kind, cells: cellIdsOf(batch.updates).length, ranges: batch.updates.length };
  let bytes = 0;
  try {
    const req = await protocol.request(ctx, batch);
    if ('again' in req) return req.again;
    bytes = Buffer.byteLength(req.body);
    const res = await withRetries(
      { maxAttempts: ctx.settings.maxAttempts, initialDelayMs: ctx.settings.retryInitialMs, maxDelayMs: ctx.settings.retryMaxMs },
      async () => {
        const headers = protocol.authorize ? { ...req.headers, ...(await protocol.authorize(ctx, req.url)) } : req.headers;
        await ctx.rateLimits.take(ctx.connection.id, ctx.settings.perMinute, ctx.signal);
        const answer = await post(req.url, req.body, headers, ctx.settings.timeoutMs, protocol.ota, ctx.signal);
        return { status: answer.status, read: await protocol.read(ctx, answer, batch) };
      },
      ctx.signal,
    );
    out.requests += res.attempts;
    const v = protocol.judge(ctx, batch, res.value.read);
    const failed = Boolean(v.stop) || (!v.applied.some((a) => a.covers.length) && (v.refused.length > 0 || v.again.length > 0));
    const status = v.status ?? (failed ? 'failed' : v.refused.length || v.again.length ? 'partial' : 'success');
    await ctx.logRequest({
      ...base,
      bytes,
      status,
      httpStatus: res.value.status,
      otaCodes: v.otaCodes,
      errorCode: status === 'failed' ? (v.errorCode ?? 'ERR_OTA_REJECTED') : null,
      message: v.message,
      attempts: res.attempts,
      durationMs: performance.now() - started,
    });
    out.acked.push(...ackedCells(v.applied));
    for (const r of v.refused) out.rejected.push({ covers: r.covers, error: r.error, ...(r.value ? { value: true } : {}) });
    out.warnings.push(...v.warnings);
    if (v.stop) {
      out.stop = v.stop;
      return 'stop';
    }
    return v.again;
  } catch (err) {
    const e =
      err instanceof StayosError
        ? err
        : ctx.signal.aborted
          ? new StayosError('ERR_OTA_UNAVAILABLE', `${protocol.ota}: stopped (the worker is shutting down)`, { cause: err })
          : new StayosError('ERR_INTERNAL', `${protocol.ota} push failed: ${(err as Error).message}`, { cause: err });
    const attempts = (e as StayosError & { attempts?: number }).attempts ?? 1;
    out.requests += attempts;
    if (protocol.logsFailure?.(e) ?? true) {
      await ctx.logRequest({
        ...base,
        bytes,
        status: 'failed',
        httpStatus: Number(e.details?.httpStatus ?? 0) || null,
        otaCodes: e.details?.code ? [String(e.details.code)] : [],
        errorCode: e.code,
        message: e.message,
        attempts,
        durationMs: performance.now() - started,
      });
    }
    // Our own failures (the database under the rate limit or the log, a bug) back off like an
    // outage: the breaker marks the connection down after repeated failures, and the error table
    // shows why. Refused credentials, an answer outside the protocol, a URL not the OTA's: stop.
    out.stop = {
      kind: e.code === 'ERR_OTA_AUTH' ? 'auth' : e.code === 'ERR_OTA_REJECTED' || e.code === 'ERR_OTA_HOST_NOT_ALLOWED' ? 'down' : 'unavailable',
      error: e,
      retryAfterMs: Number(e.details?.retryAfterMs ?? 0),
    };
    return 'stop';
  }
}
