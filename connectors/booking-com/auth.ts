/**
 * Booking.com token auth: a machine account's credentials (client_id, client_secret) are exchanged
 * at `${settings.auth_url}/token-based-authentication/exchange` for a JWT that lives one hour; at
 * most 30 may be created per hour per account, and one account often serves many hotels. So the
 * token lives in channel.ota_tokens keyed by the account (a hash of auth URL and client_id),
 * encrypted, shared by every connection and worker of the account; the exchange happens under
 * that row's lock (never two at once) and the hourly count is checked before each one (never a
 * 31st; failed exchanges count too).
 */
import { createHash } from 'node:crypto';
import axios from 'axios';
import { StayosError } from '../../core/errors.ts';
import { withTransaction } from '../../core/db.ts';
import { countExchange, dropToken, ensureToken, lockToken } from '../sql/connections.ts';
import type { PushContext, SyncSettings } from '../outbound/connector.ts';
import type { ConnectionRow } from '../sql/connections.ts';
import { parseTokenResponse } from './parser.ts';

export const BOOKING_AUTH_URL = 'https://connectivity-authentication.booking.com';
export const TOKENS_PER_HOUR = 30;
/** The token's life (1 hour), less a margin so it is never used in its last minute. */
const TOKEN_TTL_SECONDS = 3600 - 60;

/** What a token exchange needs: the ARI push context, or the reservation poller's. */
export type TokenContext = Pick<PushContext, 'pool' | 'encryptionKey' | 'signal' | 'logRequest'> & {
  connection: Pick<ConnectionRow, 'credentials' | 'settings'>;
  settings: Pick<SyncSettings, 'timeoutMs'>;
};

interface Account {
  hash: string;
  clientId: string;
  clientSecret: string;
  authUrl: string;
}

function accountOf(ctx: TokenContext): Account | StayosError {
  const creds = ctx.connection.credentials as { client_id?: unknown; client_secret?: unknown } | null;
  if (typeof creds?.client_id !== 'string' || typeof creds?.client_secret !== 'string') {
    return new StayosError('ERR_OTA_AUTH', 'booking_com: the connection has no client_id/client_secret credentials');
  }
  const authUrl = String(ctx.connection.settings.auth_url ?? BOOKING_AUTH_URL).replace(/\/+$/, '');
  // The auth URL is part of the key: the same account at a sandbox and at Booking.com are two.
  const hash = createHash('sha256').update(`${authUrl}\n${creds.client_id}`).digest('hex');
  return { hash, clientId: creds.client_id, clientSecret: creds.client_secret, authUrl };
}

/** A valid token for the connection's account: the shared one, or a new one exchanged now. */
export async function bookingToken(ctx: TokenContext): Promise<string> {
  const account = accountOf(ctx);
  if (account instanceof StayosError) throw account;
  const started = performance.now();
  // A failed exchange still counts against the hourly 30, so the transaction commits the count
  // and the error is thrown after the commit.
  const result = await withTransaction(ctx.pool, async (client): Promise<{ token: string; exchanged: boolean } | { error: StayosError; exchanged: boolean }> => {
    await client.query(ensureToken(account.hash));
    const { rows: [state] } = await client.query<{ token: string | null; exchangesThisHour: number; windowStart: Date | null }>(lockToken(account.hash, ctx.encryptionKey));
    if (state?.token) return { token: state.token, exchanged: false };
    if ((state?.exchangesThisHour ?? 0) >= TOKENS_PER_HOUR) {
      const wait = state!.windowStart ? state!.windowStart.getTime() + 3600_000 - Date.now() : 60_000;
      return { exchanged: false, error: new StayosError('ERR_OTA_UNAVAILABLE', `booking_com: ${TOKENS_PER_HOUR} tokens already exchanged this hour for this account; waiting for the window`, {
        details: { ota: 'booking_com', retryAfterMs: Math.max(wait, 1000) },
      }) };
    }
    try {
      const res = await axios.post(`${account.authUrl}/token-based-authentication/exchange`, { client_id: account.clientId, client_secret: account.clientSecret }, {
        timeout: ctx.settings.timeoutMs, validateStatus: () => true, responseType: 'text', transformResponse: (d) => d, maxRedirects: 0, signal: ctx.signal,
      });
      if (res.status !== 200) {
        await client.query(countExchange(account.hash, ctx.encryptionKey, null, TOKEN_TTL_SECONDS));
        const auth = res.status === 401 || res.status === 403;
        return { exchanged: true, error: new StayosError(auth ? 'ERR_OTA_AUTH' : 'ERR_OTA_UNAVAILABLE', `booking_com: token exchange answered HTTP ${res.status}`, {
          details: { ota: 'booking_com', httpStatus: res.status, retryAfterMs: (Number(res.headers['retry-after']) || 0) * 1000 },
        }) };
      }
      let json: unknown;
      try {
        json = JSON.parse(String(res.data));
      } catch (err) {
        json = err; // not JSON: parseTokenResponse names the problem
      }
      const { jwt } = parseTokenResponse(json);
      await client.query(countExchange(account.hash, ctx.encryptionKey, jwt, TOKEN_TTL_SECONDS));
      return { token: jwt, exchanged: true };
    } catch (err) {
      await client.query(countExchange(account.hash, ctx.encryptionKey, null, TOKEN_TTL_SECONDS));
      const error = err instanceof StayosError ? err
        : new StayosError('ERR_OTA_UNAVAILABLE', `booking_com: token exchange failed (${(err as { code?: string }).code ?? (err as Error).message})`, { cause: err, details: { ota: 'booking_com' } });
      return { exchanged: true, error };
    }
  });
  if (result.exchanged) await logExchange(ctx, 'error' in result ? result.error : null, performance.now() - started);
  if ('error' in result) throw result.error;
  return result.token;
}

/** One sync_log row per exchange (successful or not): the dashboard counts them against the 30. */
async function logExchange(ctx: TokenContext, error: StayosError | null, durationMs: number): Promise<void> {
  await ctx.logRequest({
    kind: 'token', cells: 0, ranges: 0, bytes: 0, httpStatus: error ? Number(error.details?.httpStatus ?? 0) || null : 200, otaCodes: [],
    status: error ? 'failed' : 'success', errorCode: error?.code ?? null, message: error?.message ?? null, attempts: 1, durationMs,
  });
}

/** The OTA refused the token (401 on a request): forget it, so the next call exchanges anew. */
export async function forgetToken(ctx: TokenContext): Promise<void> {
  const account = accountOf(ctx);
  if (!(account instanceof StayosError)) await ctx.pool.query(dropToken(account.hash));
}
