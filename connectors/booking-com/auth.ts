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
import { assertOutboundUrl } from '../outbound/hosts.ts';
import axios from 'axios';
import { StayosError } from '../../core/errors.ts';
import { withTransaction } from '../../core/db.ts';
import { countExchange, dropToken, ensureToken, lockToken } from './sql.ts';
import type { PushContext, SyncSettings } from '../outbound/connector.ts';
import type { ConnectionRow } from '../outbound/sql/connections.ts';
import { parseTokenResponse } from './parser.ts';

export const BOOKING_AUTH_URL = 'https://connectivity-authentication.booking.com';
export const TOKENS_PER_HOUR = 30;
/** The token's life (1 hour), less a margin so it is never used in its last minute. */
const TOKEN_TTL_SECONDS = 3600 - 60;

/** What a token exchange needs: the ARI push context, or the reservation poller's. */
export type TokenContext = Pick<PushContext, 'pool' | 'signal' | 'logRequest'> & {
  connection: Pick<ConnectionRow, 'credentials' | 'settings'>;
  settings: Pick<SyncSettings, 'timeoutMs'>;
};

interface Account {
  hash: string;
  clientId: string;
  clientSecret: string;
  authUrl: string;
}

function accountOf(connection: TokenContext['connection']): Account | StayosError {
  const creds = connection.credentials as { client_id?: unknown; client_secret?: unknown } | null;
  if (typeof creds?.client_id !== 'string' || typeof creds?.client_secret !== 'string') {
    return new StayosError('ERR_OTA_AUTH', 'booking_com: the connection has no client_id/client_secret credentials');
  }
  const authUrl = canonicalUrl(String(connection.settings.auth_url ?? BOOKING_AUTH_URL));
  // The key is the whole account: the auth URL (the same account at a sandbox and at Booking.com
  // are two), the client id and the secret. Without the secret, a tenant that knew another's client
  // id would be handed that account's cached token.
  return { hash: tokenAccountKey(authUrl, creds.client_id, creds.client_secret), clientId: creds.client_id, clientSecret: creds.client_secret, authUrl };
}

/**
 * The key of the connection's machine account (as `channel.ota_tokens` keys its token), or null
 * when its credentials are incomplete. The reservation poller polls once per account and queue
 * host, and routes each reservation to the account's connection of that hotel.
 */
export function accountKeyOf(connection: TokenContext['connection']): string | null {
  const account = accountOf(connection);
  return account instanceof StayosError ? null : account.hash;
}

/**
 * One spelling per URL (host case, default port, trailing slashes), so that two spellings of one
 * token endpoint share the account's token and its hourly exchange budget, and two spellings of
 * one reservations host are one queue (reservations.ts).
 */
export function canonicalUrl(raw: string): string {
  try {
    return new URL(raw).href.replace(/\/+$/, '');
  } catch {
    return raw.replace(/\/+$/, ''); // refused before any request by assertOutboundUrl
  }
}

/** The key of a cached token (channel.ota_tokens.account_hash): the whole account, secret included. */
export function tokenAccountKey(authUrl: string, clientId: string, clientSecret: string): string {
  return createHash('sha256')
    .update(`${authUrl}\n${clientId}\n${createHash('sha256').update(clientSecret).digest('hex')}`)
    .digest('hex');
}

/**
 * A valid token for the connection's account, to be sent to `forUrl`: the shared one, or a new
 * one exchanged now. A token goes only to the hosts it was issued for (hosts.ts tokenMaySendTo):
 * Booking.com's own token to Booking.com, a sandbox's to that sandbox.
 */
export async function bookingToken(ctx: TokenContext, forUrl: string): Promise<string> {
  const account = accountOf(ctx.connection);
  if (account instanceof StayosError) throw account;
  assertOutboundUrl('booking_com', account.authUrl);
  if (!tokenMaySendTo(account.authUrl, forUrl)) {
    throw new StayosError('ERR_OTA_HOST_NOT_ALLOWED', `booking_com: a token from ${new URL(account.authUrl).host} is never sent to ${new URL(forUrl).host}`, {
      details: { ota: 'booking_com' },
    });
  }
  const started = performance.now();
  // A failed exchange still counts against the hourly 30, so the transaction commits the count
  // and the error is thrown after the commit.
  const result = await withTransaction(
    ctx.pool,
    async (client): Promise<{ token: string; exchanged: boolean } | { error: StayosError; exchanged: boolean }> => {
      await client.query(ensureToken(account.hash));
      const {
        rows: [state],
      } = await client.query<{ token: string | null; exchangesThisHour: number; windowStart: Date | null }>(lockToken(account.hash));
      if (state?.token) return { token: state.token, exchanged: false };
      if ((state?.exchangesThisHour ?? 0) >= TOKENS_PER_HOUR) {
        const wait = state!.windowStart ? state!.windowStart.getTime() + 3600_000 - Date.now() : 60_000;
        return {
          exchanged: false,
          error: new StayosError(
            'ERR_OTA_UNAVAILABLE',
            `booking_com: ${TOKENS_PER_HOUR} tokens already exchanged this hour for this account; waiting for the window`,
            {
              details: { ota: 'booking_com', retryAfterMs: Math.max(wait, 1000) },
            },
          ),
        };
      }
      try {
        const res = await axios.post(
          `${account.authUrl}/token-based-authentication/exchange`,
          { client_id: account.clientId, client_secret: account.clientSecret },
          {
            timeout: ctx.settings.timeoutMs,
            validateStatus: () => true,
            responseType: 'text',
            transformResponse: (d) => d,
            maxRedirects: 0,
            signal: ctx.signal,
          },
        );
        if (res.status !== 200) {
          await client.query(countExchange(account.hash, null, TOKEN_TTL_SECONDS));
          const auth = res.status === 401 || res.status === 403;
          return {
            exchanged: true,
            error: new StayosError(auth ? 'ERR_OTA_AUTH' : 'ERR_OTA_UNAVAILABLE', `booking_com: token exchange answered HTTP ${res.status}`, {
              details: { ota: 'booking_com', httpStatus: res.status, retryAfterMs: (Number(res.headers['retry-after']) || 0) * 1000 },
            }),
          };
        }
        let json: unknown;
        try {
          json = JSON.parse(String(res.data));
        } catch (err) {
          json = err; // not JSON: parseTokenResponse names the problem
        }
        const { jwt } = parseTokenResponse(json);
        await client.query(countExchange(account.hash, jwt, TOKEN_TTL_SECONDS));
        return { token: jwt, exchanged: true };
      } catch (err) {
        await client.query(countExchange(account.hash, null, TOKEN_TTL_SECONDS));
        const error =
          err instanceof StayosError
            ? err
            : new StayosError('ERR_OTA_UNAVAILABLE', `booking_com: token exchange failed (${(err as { code?: string }).code ?? (err as Error).message})`, {
                cause: err,
                details: { ota: 'booking_com' },
              });
        return { exchanged: true, error };
      }
    },
  );
  if (result.exchanged) await logExchange(ctx, 'error' in result ? result.error : null, performance.now() - started);
  if ('error' in result) throw result.error;
  return result.token;
}

/** One sync_log row per exchange (successful or not): the dashboard counts them against the 30. */
async function logExchange(ctx: TokenContext, error: StayosError | null, durationMs: number): Promise<void> {
  await ctx.logRequest({
    kind: 'token',
    cells: 0,
    ranges: 0,
    bytes: 0,
    httpStatus: error ? Number(error.details?.httpStatus ?? 0) || null : 200,
    otaCodes: [],
    status: error ? 'failed' : 'success',
    errorCode: error?.code ?? null,
    message: error?.message ?? null,
    attempts: 1,
    durationMs,
  });
}

/** The OTA refused the token (401 on a request): forget it, so the next call exchanges anew. */
export async function forgetToken(ctx: TokenContext): Promise<void> {
  const account = accountOf(ctx.connection);
  if (!(account instanceof StayosError)) await ctx.pool.query(dropToken(account.hash));
}

/**
 * The hosts Booking.com publishes (developers.booking.com/connectivity): ARI (supply-xml),
 * reservations (secure-supply-xml; "supply-xml.booking.com — non-PCI servers …
 * secure-supply-xml.booking.com" for reservations, docs/index-content), token exchange
 * (connectivity-authentication).
 */
export const BOOKING_HOSTS = ['supply-xml.booking.com', 'secure-supply-xml.booking.com', 'connectivity-authentication.booking.com'] as const;

/**
 * Whether a Booking.com token exchanged at `authUrl` may be sent to `requestUrl`: a token from
 * Booking.com's own exchange goes to Booking.com's hosts only; one from any other exchange (a
 * sandbox, an operator-allowed endpoint) only to that same host.
 */
export function tokenMaySendTo(authUrl: string, requestUrl: string): boolean {
  try {
    const a = new URL(authUrl).hostname.toLowerCase();
    const r = new URL(requestUrl).hostname.toLowerCase();
    if (a.endsWith('.booking.com')) return (BOOKING_HOSTS as readonly string[]).includes(r);
    return a === r;
  } catch {
    return false;
  }
}
