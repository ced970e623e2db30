/**
 * Per-file databases: `useTestDatabase()` clones the migrated template into a database this test
 * file owns, and drops it after the file. Callback helpers release what they take.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { createPool, type Pool, type PoolClient } from '../../core/db.ts';
import { withDatabase } from '../../core/embedded-postgres.ts';

export const TEST_KEY = 'test-encryption-key-0123456789-abcdefghijkl';

export interface TestDatabase {
  name: string;
  url: string;
  pool: Pool;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('pgServerUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a database for this file: a clone of the migrated template, or empty with `{ empty: true }`. */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin(async (c) => {
    // Several files clone the template at once; PostgreSQL refuses while another clone holds it.
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(options.empty ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')}`);
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== '55006' || attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  });
  const url = withDatabase(inject('pgServerUrl'), name);
  return { name, url, pool: createPool(url, { max: 8, applicationName: 'stayos-test', encryptionKeys: [TEST_KEY] }) };
}

export async function dropTestDatabase(db: TestDatabase): Promise<void> {
  await db.pool.end();
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`));
}

/** Registers beforeAll/afterAll for a per-file database; read `.current` inside tests. */
export function useTestDatabase(options: { empty?: boolean } = {}): { readonly current: TestDatabase } {
  const holder: { current?: TestDatabase } = {};
  beforeAll(async () => {
    holder.current = await createTestDatabase(options);
  });
  afterAll(async () => {
    if (holder.current) await dropTestDatabase(holder.current);
  });
  return {
    get current() {
      if (!holder.current) throw new Error('test database not ready (use it inside a test or hook)');
      return holder.current;
    },
  };
}

/** Runs fn in a transaction that is always rolled back: tests that must leave nothing behind. */
export async function inRolledBackTransaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    return await fn(client);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/** Runs fn as the API would: role authenticated_user, bound to one property (RLS). */
export async function asTenant<T>(pool: Pool, propertyId: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.current_property_id', $1, true)`, [propertyId]);
    await client.query('SET LOCAL ROLE authenticated_user');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Makes the next statement that inserts into `table` fail once with SQLSTATE 40P01, as a
 * deadlock victim's would: the code under test must run its transaction again. A sequence counts
 * the firings (its value survives the rollback of the failed transaction).
 */
export async function abortNextInsertAsDeadlock(pool: Pool, table: string, name: string): Promise<{ firings(): Promise<number>; remove(): Promise<void> }> {
  await pool.query(`CREATE SEQUENCE ${name};
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('${name}') = 1 THEN RAISE EXCEPTION 'injected deadlock' USING ERRCODE = 'deadlock_detected'; END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER ${name} AFTER INSERT ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${name}();`);
  return {
    firings: async () => Number((await pool.query(`SELECT last_value FROM ${name}`)).rows[0].last_value),
    remove: async () => void (await pool.query(`DROP TRIGGER ${name} ON ${table}; DROP FUNCTION ${name}()`)),
  };
}
