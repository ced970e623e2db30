/**
 * Every API read or action runs in a transaction as `authenticated_user` with
 * `app.current_property_id` set: row-level security, not the handler, decides what a request may
 * see (a connection of another property simply is not there: 404). `app.current_user_id` makes
 * the key's user the author of every audited change.
 */
import type { Pool, PoolClient } from '../core/db.ts';
import { withTransaction } from '../core/db.ts';
import { StayosError } from '../core/errors.ts';
import type { Principal } from './keys.ts';

export function asTenant<T>(pool: Pool, principal: Principal, propertyId: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (c) => {
    await c.query(`SELECT set_config('app.current_property_id', $1, true), set_config('app.current_user_id', $2, true)`, [propertyId, principal.userId]);
    await c.query('SET LOCAL ROLE authenticated_user');
    return fn(c);
  });
}

/**
 * Runs `fn` as the tenant that can see connection `id` (one of the key's properties), or throws
 * ERR_NOT_FOUND: another property's connection does not exist for this key.
 */
export async function onConnection<T>(pool: Pool, principal: Principal, id: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  for (const p of principal.properties) {
    const r = await asTenant(pool, principal, p.id, async (c) => {
      if (!(await c.query(`SELECT 1 FROM channel.channel_connections WHERE id = $1 AND deleted_at IS NULL`, [id])).rowCount) return { found: false as const };
      return { found: true as const, value: await fn(c) };
    });
    if (r.found) return r.value;
  }
  throw new StayosError('ERR_NOT_FOUND', 'no such channel connection');
}
