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
  pool: Pool;
  encryptionKey: string;
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
    if (!rowCount) await client.query(`CREATE DATABASE "${name}"`).catch((e: { code?: string }) => {
      if (e.code !== '42P04') throw e; // created meanwhile by a concurrent start
    });
  } finally {
    await client.end();
  }
}

export async function openDatabase(config: Config, log: Logger, options: { poolSize?: number; applicationName?: string } = {}): Promise<Database> {
  let embedded: EmbeddedServer | undefined;
  let url: string;
  let encryptionKey: string;
  if (config.embedded) {
    // Loaded only in embedded mode: the package installs process-wide exit hooks.
    const { loadOrCreateEncryptionKey, startEmbeddedPostgres } = await import('./embedded-postgres.ts');
    log.debug({ dataDir: config.dataDir, port: config.embeddedPgPort }, 'starting embedded PostgreSQL');
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort });
    await ensureDatabase(embedded.url, EMBEDDED_DATABASE);
    url = withDatabase(embedded.url, EMBEDDED_DATABASE);
    encryptionKey = config.encryptionKey ?? loadOrCreateEncryptionKey(config.dataDir);
  } else {
    url = config.databaseUrl!;
    encryptionKey = config.encryptionKey!;
  }
  const pool = createPool(url, { max: options.poolSize ?? 10, applicationName: options.applicationName ?? 'stayos' });
  try {
    await pool.query('SELECT 1');
    await assertLogicalWal(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    if (err instanceof StayosError) throw err;
    throw new StayosError('ERR_DB_UNAVAILABLE', `cannot connect to PostgreSQL: ${(err as Error).message}. Fix: check DATABASE_URL and that the server is running.`, { cause: err });
  }
  return {
    url,
    pool,
    encryptionKey,
    embedded,
    async close() {
      await pool.end().catch(() => undefined);
      await embedded?.stop();
    },
  };
}
