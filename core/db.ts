/**
 * PostgreSQL access: one pool per process, callback helpers that always release what they take,
 * and the server checks the pipeline depends on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff, halfJitterGenerator, type IBackoff } from 'cockatiel';
import pg from 'pg';
import { StayosError } from './errors.ts';
import type { Logger } from './logger.ts';
import { dbReruns } from './metrics.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// numeric and int8 as JS strings by default would leak into every caller; amounts stay strings
// (exact decimals), but COUNT(*) and other int8 values are safe as numbers in our ranges.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
// DATE as 'YYYY-MM-DD' text: a stay date is a calendar day, never a UTC instant.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /**
   * The PII keys this pool's sessions hold, the current one first (see pii-keys.ts): given in the
   * start-up packet, never in a statement. Only pools that encrypt or decrypt need them.
   */
  encryptionKeys?: readonly string[];
}

/** Pools created and not yet ended (the tests' leak check reads it: test/setup/leaks.ts). */
export const openPools = new Set<Pool>();

export function createPool(connectionString: string, options: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'stayos',
    ...(options.encryptionKeys?.length ? withSessionKeys(connectionString, options.encryptionKeys) : { connectionString }),
  });
  openPools.add(pool);
  const end = pool.end.bind(pool) as () => Promise<void>;
  pool.end = (() => {
    openPools.delete(pool);
    return end();
  }) as Pool['end'];
  // An idle client that loses its server (restart, failover) emits 'error' on the pool; without a
  // listener Node would crash. The next checkout simply gets a fresh connection.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * The connection with the libpq `options` that give a session its PII keys
 * (`-c stayos.pii_keys=…`), after the options the URL (or PGOPTIONS) already gives: pg lets the
 * URL's own `options` replace the config's, so they move out of the URL. Hex keeps every
 * character of a key out of the options' syntax.
 */
export function withSessionKeys(connectionString: string, keys: readonly string[]): { connectionString: string; options: string } {
  let url = connectionString;
  let given = process.env.PGOPTIONS ?? '';
  try {
    const u = new URL(connectionString);
    if (u.searchParams.has('options')) {
      given = u.searchParams.get('options') ?? '';
      u.searchParams.delete('options');
      url = u.toString();
    }
  } catch {
    // not a URL: pg parses it as is, and it cannot carry options of its own here
  }
  const value = keys.map((k) => Buffer.from(k, 'utf8').toString('hex')).join(',');
  return { connectionString: url, options: [given, `-c stayos.pii_keys=${value}`].filter(Boolean).join(' ') };
}

export async function withClient<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // While checked out, the pool no longer listens for the client's errors: a server that goes
  // away between two queries (restart, failover) would emit an unhandled 'error' and crash the
  // process. The next query fails anyway; the broken client is then discarded, not pooled.
  let broken: Error | undefined;
  const onError = (err: Error) => (broken ??= err);
  client.on('error', onError);
  try {
    return await fn(client);
  } catch (err) {
    if (isConnectionError(err)) broken ??= err as Error;
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** The server or the socket went away (as opposed to an error of the statement itself). */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? '';
  // 08: connection exceptions; 57P01–57P03, 57P05: shutdown, crash, idle-session timeout;
  // 25P03: idle-in-transaction timeout.
  return (
    code.startsWith('08') ||
    ['57P01', '57P02', '57P03', '57P05', '25P03', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code) ||
    /Connection terminated/i.test(String((err as Error)?.message))
  );
}

/** Runs fn in one transaction: COMMIT on success, ROLLBACK on any throw. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

/** SQLSTATEs after which the same transaction may simply be run again. */
export const RETRYABLE_PG_CODES: Readonly<Record<string, string>> = {
  '40001': 'serialization_failure: a concurrent transaction won; rerun',
  '40P01': 'deadlock_detected: PostgreSQL aborted one side; rerun',
  '55P03': 'lock_not_available: a NOWAIT lock was busy',
  '57P01': 'admin_shutdown: the server restarted; reconnect and rerun',
  '08006': 'connection_failure',
  '08003': 'connection_does_not_exist',
};

/** The SQLSTATEs of RETRYABLE_PG_CODES after which the transaction is simply run again: two transactions met, PostgreSQL let one through. */
const RERUN_ON = new Set(['40001', '40P01']);

/**
 * Runs `fn` (a whole transaction), again when PostgreSQL aborted it for meeting another (a
 * deadlock or a serialization failure: the other side goes through, the rerun will too), up to
 * `attempts` times (default 3). The rerun waits a few jittered milliseconds (cockatiel's
 * exponential backoff with half jitter: 5–10 ms, then 10–20, at most 100): run at the very instant of the abort, it can take the aborted
 * row again before the winner, which waits on it, wakes up, and the same deadlock repeats (a CI
 * run saw exactly that three times in a row). Each rerun is counted (`stayos_db_reruns_total`, by
 * `what`) and logged, so one that PostgreSQL absorbed still shows. Anything else, and the last
 * failure, is thrown as is.
 */
export async function rerunOnConflict<T>(fn: () => Promise<T>, o: { what: string; log?: Pick<Logger, 'warn'>; attempts?: number }): Promise<T> {
  let pause: IBackoff<unknown> | undefined;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (i >= (o.attempts ?? 3) || !RERUN_ON.has(code)) throw err;
      dbReruns.inc({ what: o.what, code });
      pause = pause ? pause.next(undefined) : new ExponentialBackoff({ generator: halfJitterGenerator, initialDelay: 10, maxDelay: 100 }).next();
      o.log?.warn({ what: o.what, code, attempt: i + 1, pauseMs: Math.round(pause.duration) }, `${o.what}: ${RETRYABLE_PG_CODES[code]} (run again)`);
      await sleep(pause.duration);
    }
  }
}

/**
 * Whether a failure is the statement's input (a data exception such as a cast's refusal, an
 * integrity violation, a trigger's refusal: SQLSTATE classes 22, 23, P0): running it again fails
 * again, so a pipeline isolates that input instead of retrying it. Anything else may pass on a
 * retry (connection lost, server restarting, lock timeouts, no SQLSTATE at all) or concerns every
 * input alike — class 42 (a missing table or function during a deploy, a permission taken away)
 * is the system, not one change, and setting changes aside for it would drop the whole stream.
 */
export function isInputError(err: unknown): boolean {
  return /^(22|23|P0)/.test((err as { code?: string }).code ?? '');
}

/** The pipeline reads the WAL; without wal_level=logical nothing downstream can work. */
export async function assertLogicalWal(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ wal_level: string }>('SHOW wal_level');
  const level = rows[0]?.wal_level;
  if (level !== 'logical') {
    throw new StayosError(
      'ERR_DB_NOT_LOGICAL',
      `The PostgreSQL server at DATABASE_URL has wal_level=${level}; StayOS Channel needs wal_level=logical ` +
        `(set it in postgresql.conf or with ALTER SYSTEM SET wal_level = logical, then restart the server).`,
    );
  }
}

/** The URL of database `name` on the same server as `url`. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Quotes an identifier (for the few statements that cannot take parameters, like CREATE DATABASE). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
