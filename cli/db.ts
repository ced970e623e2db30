/**
 * The database for one CLI command: opened (attached to a running `stayos start` in embedded
 * mode), migrated, handed to the command, closed whatever happens.
 */
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { migrate } from '../core/migrator.ts';
import { openDatabase, type Database } from '../core/runtime.ts';

export async function withDb<T>(config: Config, log: Logger, fn: (db: Database) => Promise<T>, options: { poolSize?: number } = {}): Promise<T> {
  const db = await openDatabase(config, log, { poolSize: options.poolSize ?? 2 });
  try {
    await migrate(db.pool);
    return await fn(db);
  } finally {
    await db.close();
  }
}
