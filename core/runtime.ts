/**
 * Opens "the database" for a command: the embedded PostgreSQL when DATABASE_URL is unset, the
 * given server otherwise; checks it can feed the CDC pipeline; resolves the PII key.
 */
import type { Config } from './config.ts';
import { assertLogicalWal, createPool, withDatabase, type Pool } from './db.ts';
import type { EmbeddedServer } from './embedded-postgres.ts';
import { StayosError } from './errors.ts';
import type { Logger } from './logger.ts';
import pg from 'pg';

export interface Database {
  url: string;
  /** Its sessions hold the PII keys (createPool encryptionKeys). */
  pool: Pool;
  /** The PII keys, the current one first, then those a rotation replaces. */
  encryptionKeys: string[];
  embedded: EmbeddedServer | undefined;
  close(): Promise<void>;
}

/** The embedded server's database for StayOS (the default `postgres` database stays untouched). */
export const EMBEDDED_DATABASE = 'stayos';

async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount)
      await client.query(`CREATE DATABASE "${name}"`).catch((e: { code?: string }) => {
        if (e.code !== '42P04') throw e; // created meanwhile by a concurrent start
      });
  } finally {
    await client.end();
  }
}

/**
 * The embedded server a running `stayos start` serves from config.dataDir: found through its
 * postmaster.pid (pid alive; the port written there, whatever STAYOS_PG_PORT this shell has).
 * A live server that does not answer is an error, never a reason to start (and so stop) another.
 */
async function runningEmbedded(config: Config): Promise<string | undefined> {
  const { runningServer } = await import('./embedded-postgres.ts');
  const live = runningServer(config.dataDir);
  if (!live) return undefined;
  const url = withDatabase(live.url, EMBEDDED_DATABASE);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    return url;
  } catch (err) {
    throw new StayosError(
      'ERR_DB_UNAVAILABLE',
      `the embedded PostgreSQL of ${config.dataDir} runs (pid ${live.pid}, port ${live.port}) but does not answer: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * `attach` (default true): in embedded mode, use the server a running `stayos start` already
 * serves from the data directory instead of starting one (a second server on the same data
 * directory would be refused), and leave it running on close. `stayos start` itself never attaches.
 */
export async function openDatabase(
  config: Config,
  log: Logger,
  options: { poolSize?: number; applicationName?: string; attach?: boolean } = {},
): Promise<Database> {
  let embedded: EmbeddedServer | undefined;
  let url: string;
  let encryptionKey: string;
  if (config.embedded) {
    // Loaded only in embedded mode: the package installs process-wide exit hooks.
    const { loadOrCreateEncryptionKey, startEmbeddedPostgres } = await import('./embedded-postgres.ts');
    const running = options.attach === false ? undefined : await runningEmbedded(config);
    if (running) {
      log.debug({ dataDir: config.dataDir }, 'using the embedded PostgreSQL of the running stayos start');
      url = running;
    } else {
      log.debug({ dataDir: config.dataDir, port: config.embeddedPgPort }, 'starting embedded PostgreSQL');
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort });
      await ensureDatabase(embedded.url, EMBEDDED_DATABASE);
      url = withDatabase(embedded.url, EMBEDDED_DATABASE);
    }
    encryptionKey = config.encryptionKey ?? loadOrCreateEncryptionKey(config.dataDir);
  } else {
    url = config.databaseUrl!;
    encryptionKey = config.encryptionKey!;
  }
  const encryptionKeys = [encryptionKey, ...config.previousEncryptionKeys.filter((k) => k !== encryptionKey)];
  const pool = createPool(url, { max: options.poolSize ?? 10, applicationName: options.applicationName ?? 'stayos', encryptionKeys });
  try {
    await pool.query('SELECT 1');
    await assertLogicalWal(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    if (err instanceof StayosError) throw err;
    throw new StayosError(
      'ERR_DB_UNAVAILABLE',
      `cannot connect to PostgreSQL: ${(err as Error).message}. Fix: check DATABASE_URL and that the server is running.`,
      { cause: err },
    );
  }
  return {
    url,
    pool,
    encryptionKeys,
    embedded,
    async close() {
      await pool.end().catch(() => undefined);
      await embedded?.stop();
    },
  };
}

/**
 * The database of a `stayos start` that is already running, and only that: embedded mode reads
 * the server's password from the data directory and never starts one; otherwise DATABASE_URL.
 */
export async function connectRunning(
  config: Config,
  options: { poolSize?: number; applicationName?: string } = {},
): Promise<{ pool: Pool; close(): Promise<void> }> {
  const url = config.embedded ? await runningEmbedded(config) : config.databaseUrl;
  if (!url) throw new StayosError('ERR_DB_UNAVAILABLE', `no embedded PostgreSQL in ${config.dataDir}: run \`npm start\` first (or set STAYOS_DATA_DIR)`);
  const pool = createPool(url, { max: options.poolSize ?? 2, applicationName: options.applicationName ?? 'stayos-cli' });
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new StayosError('ERR_DB_UNAVAILABLE', `cannot reach the running StayOS database: ${(err as Error).message}. Fix: start it with \`npm start\`.`, {
      cause: err,
    });
  }
  return { pool, close: () => pool.end() };
}
