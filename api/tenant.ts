/**
 * Every API read or action runs in a transaction as `authenticated_user` with
 * `app.current_property_id` set: row-level security, not the handler, decides what a request may
 * see (a connection of another property simply is not there: 404). `app.current_user_id` makes
 * the key's user the author of every audited change.
 */
import type { Pool, PoolClient } from '../core/db.ts';
import { withTransaction } from '../core/db.ts';
import type { Principal } from './keys.ts';

export function asTenant<T>(pool: Pool, principal: Principal, propertyId: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (c) => {
    await c.query(`SELECT set_config('app.current_property_id', $1, true), set_config('app.current_user_id', $2, true)`, [propertyId, principal.userId]);
    await c.query('SET LOCAL ROLE authenticated_user');
    return fn(c);
  });
}
