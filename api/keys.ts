/**
 * API keys: `sos_<prefix>_<secret>`. Only a bcrypt hash is stored (shared.api_keys); the prefix
 * finds the row. A key belongs to a user (shared.users) with a role and access to some properties
 * (shared.user_property_access). Verifying bcrypt costs ~50 ms, so a verified key is remembered in
 * memory (by its SHA-256) for a minute: a revoked key stops working within that minute.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from '../core/db.ts';
import { withTransaction } from '../core/db.ts';
import { StayosError } from '../core/errors.ts';

export const ROLES = ['admin', 'revenue_manager', 'front_desk', 'integration', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  keyId: string;
  userId: string;
  /** The key's own role (its scope): what the key may do at most, wherever. */
  role: Role;
  /** The properties the key may see, by id, with their codes and the user's role on each. */
  properties: Array<{ id: string; code: string; role: Role }>;
}

/** The roles that may act (full sync, pause/resume, retry errors, change connections and mappings); the others read. */
export const ACTING_ROLES: ReadonlySet<Role> = new Set(['admin', 'revenue_manager', 'integration']);

/**
 * Whether the key may act on a property: both its own role and the user's role on that property
 * must be acting roles. A key made as `admin` for one hotel where the user is only a viewer of
 * another reads the other, nothing more.
 */
export function mayActOn(principal: Principal, property: Principal['properties'][number]): boolean {
  return ACTING_ROLES.has(principal.role) && ACTING_ROLES.has(property.role);
}

const KEY_RE = /^sos_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{32,64})$/;
const CACHE_MS = 60_000;
const cache = new Map<string, { principal: Principal | null; until: number }>();

/** Creates a user if needed, grants the properties, and returns a new key: shown once, stored hashed. */
export async function createApiKey(
  pool: Pool,
  opts: { email: string; role: Role; properties: string[]; name?: string },
): Promise<{ key: string; keyId: string }> {
  if (!/^[^@\s]+@[^@\s]+$/.test(opts.email)) throw new StayosError('ERR_VALIDATION', `--email must be an e-mail address, got "${opts.email.slice(0, 80)}"`);
  if (!ROLES.includes(opts.role)) throw new StayosError('ERR_VALIDATION', `--role must be one of ${ROLES.join(', ')}`);
  if (!opts.properties.length) throw new StayosError('ERR_VALIDATION', 'give at least one --property CODE');
  const prefix = randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  const key = `sos_${prefix}_${secret}`;
  return withTransaction(pool, async (c) => {
    const { rows: props } = await c.query<{ id: string; code: string }>(
      `SELECT id, code FROM property_mgmt.properties WHERE code = ANY ($1::text[]) AND deleted_at IS NULL`,
      [opts.properties],
    );
    const missing = opts.properties.filter((p) => !props.some((x) => x.code === p));
    if (missing.length) throw new StayosError('ERR_NOT_FOUND', `no property with code ${missing.join(', ')}`);
    const {
      rows: [user],
    } = await c.query<{ id: string }>(
      `WITH found AS (SELECT id FROM shared.users WHERE lower(email) = lower($1) AND deleted_at IS NULL),
            made AS (INSERT INTO shared.users (email, full_name, kind, role) SELECT $1, $1, 'human', $2 WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING id)
       SELECT id FROM found UNION ALL SELECT id FROM made`,
      [opts.email, opts.role],
    );
    for (const p of props) {
      // A new grant takes the key's role; an existing one keeps the user's role there (a key is
      // capped by it, api/keys.ts mayActOn): issuing a key never promotes or demotes its user.
      await c.query(
        `INSERT INTO shared.user_property_access (user_id, property_id, role) VALUES ($1, $2, $3)
                     ON CONFLICT (user_id, property_id) WHERE deleted_at IS NULL DO NOTHING`,
        [user!.id, p.id, opts.role],
      );
    }
    const {
      rows: [k],
    } = await c.query<{ id: string }>(
      `INSERT INTO shared.api_keys (user_id, name, key_prefix, key_hash, scopes) VALUES ($1, $2, $3, shared.hash_secret($4), ARRAY[$5]) RETURNING id`,
      [user!.id, opts.name ?? `key for ${opts.email}`, prefix, key, opts.role],
    );
    return { key, keyId: k!.id };
  });
}

/** The principal of an `Authorization: Bearer sos_…` header, or null (unknown, revoked, expired, malformed). */
export async function authenticate(pool: Pool, header: string | undefined): Promise<Principal | null> {
  const key = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
  const m = key ? KEY_RE.exec(key) : null;
  if (!key || !m) return null;
  const digest = createHash('sha256').update(key).digest('hex');
  const hit = cache.get(digest);
  if (hit && hit.until > Date.now()) return hit.principal;
  const {
    rows: [row],
  } = await pool.query<Principal>(
    `SELECT k.id AS "keyId", u.id AS "userId", COALESCE(k.scopes[1], u.role) AS role,
            COALESCE((SELECT json_agg(json_build_object('id', p.id, 'code', p.code, 'role', a.role) ORDER BY p.code)
                      FROM shared.user_property_access a JOIN property_mgmt.properties p ON p.id = a.property_id
                      WHERE a.user_id = u.id AND a.deleted_at IS NULL AND p.deleted_at IS NULL), '[]') AS properties
     FROM shared.api_keys k JOIN shared.users u ON u.id = k.user_id
     WHERE k.key_prefix = $1 AND k.revoked_at IS NULL AND k.deleted_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
       AND u.is_active AND u.deleted_at IS NULL AND shared.verify_secret($2, k.key_hash)`,
    [m[1], key],
  );
  const principal = row && ROLES.includes(row.role) ? row : null;
  if (cache.size > 10_000) cache.clear();
  cache.set(digest, { principal, until: Date.now() + CACHE_MS });
  return principal;
}
