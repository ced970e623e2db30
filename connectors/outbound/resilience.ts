/**
 * How the connectors treat a failing OTA, by named condition only (style.md rule 6):
 *  - retry within one push: cockatiel's retry policy, exponential backoff with decorrelated jitter,
 *    never sooner than the OTA's `Retry-After`; only ERR_OTA_UNAVAILABLE (5xx, 429, timeouts,
 *    connection errors, Expedia 4000/4001/4206/5000) and ERR_OTA_INVALID_RESPONSE are retried;
 *  - across pushes: the per-connection circuit breaker (connection_sync_state) waits the same
 *    backoff, computed from the count of consecutive failed pushes;
 *  - request budgets per connection: rate-limiter-flexible's PostgreSQL limiter, so every worker
 *    on every machine draws from one budget (`settings.rate_limit_per_minute`);
 *  - a timeout on every request (axios).
 */
import { assertOutboundUrl } from './hosts.ts';
import axios from 'axios';
import { ExponentialBackoff, handleWhen, retry, type IBackoff, type IBackoffFactory, type IRetryBackoffContext } from 'cockatiel';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { StayosError } from '../../core/errors.ts';
import type { Pool } from '../../core/db.ts';

/** Errors worth another attempt: the OTA may take the same request later. */
export const isRetryable = (e: unknown) => e instanceof StayosError && (e.code === 'ERR_OTA_UNAVAILABLE' || e.code === 'ERR_OTA_INVALID_RESPONSE');

/** The OTA's Retry-After on an error, in ms (0 when none). */
const retryAfterOf = (e: unknown) => (e instanceof StayosError ? Number(e.details?.retryAfterMs ?? 0) : 0);

/** Exponential backoff with jitter that never undercuts a Retry-After the OTA sent. */
class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly inner: IBackoffFactory<unknown>) {}
  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const step = this.inner.next(context);
    const retryAfter = 'error' in context.result ? retryAfterOf(context.result.error) : 0;
    return { duration: Math.max(step.duration, retryAfter), next: (ctx) => new RetryAfterBackoff(step).next(ctx) };
  }
}

export interface RetryOptions {
  maxAttempts: number; // attempts in one push, the first included
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Runs `attempt` with retries; the last error propagates when attempts run out. A Retry-After
 * longer than maxDelayMs is not waited out inline: the breaker takes over (retry_at). */
export async function withRetries<T>(opts: RetryOptions, attempt: (n: number) => Promise<T>, signal?: AbortSignal): Promise<{ value: T; attempts: number }> {
  let attempts = 0;
  const policy = retry(
    handleWhen((e) => isRetryable(e) && retryAfterOf(e) <= opts.maxDelayMs),
    {
      maxAttempts: opts.maxAttempts - 1,
      backoff: new RetryAfterBackoff(new ExponentialBackoff({ initialDelay: opts.initialDelayMs, maxDelay: opts.maxDelayMs })),
    },
  );
  try {
    // The signal (worker shutdown) also cuts a backoff wait short.
    const value = await policy.execute(() => attempt(++attempts), signal);
    return { value, attempts };
  } catch (err) {
    if (err instanceof StayosError) (err as StayosError & { attempts?: number }).attempts = attempts;
    throw err;
  }
}

/** The breaker's wait after `failures` consecutive failed pushes: the same jittered exponential
 * series (capped at maxMs), or the OTA's Retry-After when longer. */
export function breakerDelayMs(failures: number, retryAfterMs: number, opts: { initialMs: number; maxMs: number }): number {
  let step: IBackoff<unknown> = new ExponentialBackoff({ initialDelay: opts.initialMs, maxDelay: opts.maxMs }).next();
  for (let i = 1; i < failures; i++) step = step.next(undefined);
  return Math.max(step.duration, retryAfterMs);
}

/** One shared request budget per connection, in PostgreSQL (channel.ota_rate_limits). */
export class RateLimits {
  readonly #limiters = new Map<number, RateLimiterPostgres>();
  constructor(private readonly pool: Pool) {}

  /** Waits until the connection may send one more request under `perMinute`. */
  async take(connectionId: string, perMinute: number, signal?: AbortSignal): Promise<void> {
    let limiter = this.#limiters.get(perMinute);
    if (!limiter) {
      limiter = new RateLimiterPostgres({
        storeClient: this.pool,
        storeType: 'pool',
        schemaName: 'channel',
        tableName: 'ota_rate_limits',
        tableCreated: true,
        clearExpiredByTimeout: false,
        keyPrefix: `ari${perMinute}`,
        points: perMinute,
        duration: 60,
      });
      this.#limiters.set(perMinute, limiter);
    }
    for (;;) {
      try {
        await limiter.consume(connectionId, 1);
        return;
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res; // a database error, not a refusal
        if (signal?.aborted) throw new StayosError('ERR_OTA_UNAVAILABLE', 'stopped while waiting for the rate limit');
        await new Promise((resolve) => setTimeout(resolve, Math.max(res.msBeforeNext, 10)));
      }
    }
  }
}

export interface HttpAnswer {
  status: number;
  body: string;
  retryAfterMs: number;
}

/** Parses Retry-After (seconds or an HTTP date) into ms. */
function retryAfterMs(value: unknown): number {
  if (typeof value !== 'string' || !value) return 0;
  const s = Number(value);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.max(0, at - Date.now());
}

/** One POST. Connection errors and timeouts become ERR_OTA_UNAVAILABLE; any HTTP status is
 * returned for the caller's protocol to judge (except 429 and 5xx, which are always transient). */
export function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number, ota: string, signal?: AbortSignal): Promise<HttpAnswer> {
  return request('post', url, body, headers, timeoutMs, ota, signal);
}

/** One GET, judged as `post` (Booking.com's reservation polls). */
export function get(url: string, headers: Record<string, string>, timeoutMs: number, ota: string, signal?: AbortSignal): Promise<HttpAnswer> {
  return request('get', url, undefined, headers, timeoutMs, ota, signal);
}

async function request(
  method: 'get' | 'post',
  url: string,
  body: string | undefined,
  headers: Record<string, string>,
  timeoutMs: number,
  ota: string,
  signal?: AbortSignal,
): Promise<HttpAnswer> {
  // Never a request to a host that is not the OTA's (connectors/outbound/hosts.ts).
  assertOutboundUrl(ota, url);
  let res;
  try {
    res = await axios.request<string>({
      method,
      url,
      data: body,
      headers,
      timeout: timeoutMs,
      ...(signal ? { signal } : {}),
      responseType: 'text',
      transformResponse: (d) => d,
      validateStatus: () => true,
      maxRedirects: 0,
      maxBodyLength: 4 * 1024 * 1024,
      maxContentLength: 4 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw new StayosError(
      'ERR_OTA_UNAVAILABLE',
      `${ota}: ${e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' ? `no answer within ${timeoutMs} ms` : `request failed (${e.code ?? e.message})`}`,
      {
        cause: err,
        details: { ota, code: e.code },
      },
    );
  }
  const answer = {
    status: res.status,
    body: typeof res.data === 'string' ? res.data : String(res.data ?? ''),
    retryAfterMs: retryAfterMs(res.headers['retry-after']),
  };
  if (answer.status === 429 || answer.status >= 500) {
    throw new StayosError('ERR_OTA_UNAVAILABLE', `${ota}: HTTP ${answer.status}${answer.status === 429 ? ' (rate limited)' : ''}`, {
      details: { ota, httpStatus: answer.status, retryAfterMs: answer.retryAfterMs },
    });
  }
  return answer;
}
