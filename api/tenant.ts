/**
 * Every API read or action runs in a transaction as `authenticated_user` with
 * `app.current_property_id` set: row-level security, not the handler, decides what a request may
 * see (a connection of another property simply is not there: 404). `app.current_user_id` makes
 * the key's user the author of every audited change.
 */
import type { Pool, PoolClient } from '../core/db.ts';
import { withTransaction } from '../core/db.ts';
import { StayosError } from '../core/errors.ts';
import { ACTING_ROLES, mayActOn, type Principal } from './keys.ts';

export function asTenant<T>(pool: Pool, principal: Principal, propertyId: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (c) => {
    await c.query(`SELECT set_config('app.current_property_id', $1, true), set_config('app.current_user_id', $2, true)`, [propertyId, principal.userId]);
    await c.query('SET LOCAL ROLE authenticated_user');
    return fn(c);
  });
}

type Property = Principal['properties'][number];

/**
 * Runs `fn` as the tenant that can see connection `id` (one of the key's properties), or throws
 * ERR_NOT_FOUND: another property's connection does not exist for this key. With `act`, the key
 * must also act on that property with the user's role there (mayActOn), else ERR_FORBIDDEN.
 * Which property holds it is read once through the portfolio policy (row-level security decides
 * there too), not by trying each of the key's properties in turn: a key of a thousand hotels made
 * up to a thousand transactions per request (issue 19).
 */
export async function onConnection<T>(
  pool: Pool,
  principal: Principal,
  id: string,
  fn: (c: PoolClient, property: Property) => Promise<T>,
  options: { act?: boolean } = {},
): Promise<T> {
  const notFound = () => new StayosError('ERR_NOT_FOUND', 'no such channel connection');
  const holder = await asPortfolio(
    pool,
    principal,
    undefined,
    async (c) =>
      (await c.query<{ propertyId: string }>(`SELECT property_id AS "propertyId" FROM channel.channel_connections WHERE id = $1 AND deleted_at IS NULL`, [id]))
        .rows[0]?.propertyId,
  );
  const property = principal.properties.find((p) => p.id === holder);
  if (!property) throw notFound();
  return asTenant(pool, principal, property.id, async (c) => {
    // Deleted since, or (never) moved: as if it were not there.
    if (!(await c.query(`SELECT 1 FROM channel.channel_connections WHERE id = $1 AND deleted_at IS NULL`, [id])).rowCount) throw notFound();
    if (options.act) assertMayAct(principal, property);
    return fn(c, property);
  });
}

/**
 * Runs `fn` in one read-only transaction that sees every property in `properties` (default: all
 * the key's), through the read-only portfolio policy of V1.26.0 (`app.current_property_ids`):
 * row-level security still decides, and a key of a thousand hotels reads its list in one
 * statement rather than in a thousand transactions (issue 19). Given `connection`, it reads as
 * the one property that sees it instead (ERR_NOT_FOUND otherwise).
 */
export async function asPortfolio<T>(
  pool: Pool,
  principal: Principal,
  connection: string | undefined,
  fn: (c: PoolClient, codeOf: (propertyId: string) => string) => Promise<T>,
  properties: readonly Property[] = principal.properties,
): Promise<T> {
  const codes = new Map(principal.properties.map((p) => [p.id, p.code]));
  const codeOf = (id: string) => codes.get(id) ?? id;
  if (connection) return onConnection(pool, principal, connection, (c) => fn(c, codeOf));
  return withTransaction(pool, async (c) => {
    await c.query('SET TRANSACTION READ ONLY');
    await c.query(`SELECT set_config('app.current_property_ids', $1, true), set_config('app.current_user_id', $2, true)`, [
      `{${properties.map((p) => p.id).join(',')}}`,
      principal.userId,
    ]);
    await c.query('SET LOCAL ROLE authenticated_user');
    return fn(c, codeOf);
  });
}

/** ERR_FORBIDDEN unless the key may act on this property (its own role and the user's role there). */
export function assertMayAct(principal: Principal, property: Property): void {
  if (mayActOn(principal, property)) return;
  const role = ACTING_ROLES.has(principal.role) ? property.role : principal.role;
  throw new StayosError('ERR_FORBIDDEN', `the role ${role} on property ${property.code} may read, not act`);
}
