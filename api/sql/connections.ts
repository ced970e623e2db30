/**
 * Connection management queries, run as the tenant by the API (RLS binds them to the request's
 * property) and as the service by the CLI.
 */
import type { PoolClient } from '../../core/db.ts';
import { StayosError } from '../../core/errors.ts';

type MappingItem = { roomType: string; ratePlan: string; otaRoomCode: string; otaRateCode: string; active: boolean; settings: Record<string, unknown> };

/** A connection as the API shows it: never its credentials, only whether it has some. */
export const CONNECTION_COLUMNS = `id, property_id AS "propertyId", channel_code AS channel, ota_hotel_code AS "hotelCode", endpoint_url AS "endpointUrl",
  reservations_url AS "reservationsUrl", settings, status, status_reason AS "statusReason", closing_for AS "closingFor",
  credentials IS NOT NULL AS "hasCredentials", version, created_at AS "createdAt", updated_at AS "updatedAt"`;

export function listConnections() {
  return { text: `SELECT ${CONNECTION_COLUMNS} FROM channel.channel_connections WHERE deleted_at IS NULL ORDER BY channel_code, ota_hotel_code`, values: [] };
}

/** A new connection; without URLs it calls the OTA's production hosts (`production`: its adapter's). */
export function insertConnection(
  c: {
    propertyId: string;
    channel: string;
    hotelCode: string;
    endpointUrl?: string | undefined;
    reservationsUrl?: string | undefined;
    credentials: Record<string, string> | null;
    settings: Record<string, unknown>;
    status: string;
  },
  production: { endpointUrl: string; reservationsUrl?: string } | undefined,
) {
  return {
    text: `INSERT INTO channel.channel_connections (property_id, channel_code, ota_hotel_code, endpoint_url, reservations_url, credentials, settings, status)
           VALUES ($1, $2, $3, $4, $8, CASE WHEN $5::text IS NULL THEN NULL ELSE shared.encrypt_pii($5) END, $6, $7) RETURNING ${CONNECTION_COLUMNS}`,
    values: [
      c.propertyId,
      c.channel,
      c.hotelCode,
      c.endpointUrl ?? production?.endpointUrl,
      c.credentials ? JSON.stringify(c.credentials) : null,
      c.settings,
      c.status,
      c.reservationsUrl ?? production?.reservationsUrl ?? null,
    ],
  };
}

/** Only the fields given change; credentials are replaced whole (write-only). `version`, when given, must be current (SV001 otherwise). */
export function updateConnection(
  id: string,
  p: {
    hotelCode?: string | undefined;
    endpointUrl?: string | undefined;
    reservationsUrl?: string | undefined;
    settings?: Record<string, unknown> | undefined;
    status?: string | undefined;
    credentials?: Record<string, string> | undefined;
    version?: number | undefined;
  },
) {
  return {
    text: `UPDATE channel.channel_connections SET
             ota_hotel_code = COALESCE($2, ota_hotel_code), endpoint_url = COALESCE($3, endpoint_url), settings = COALESCE($4, settings),
             reservations_url = COALESCE($8, reservations_url),
             status = COALESCE($5, status), status_reason = CASE WHEN $5::text IS NULL THEN status_reason ELSE 'set by a user' END,
             status_changed_at = CASE WHEN $5::text IS NULL OR $5 = status THEN status_changed_at ELSE now() END,
             credentials = CASE WHEN $6::text IS NULL THEN credentials ELSE shared.encrypt_pii($6) END,
             version = COALESCE($7, version)
           WHERE id = $1 AND deleted_at IS NULL RETURNING ${CONNECTION_COLUMNS}`,
    values: [
      id,
      p.hotelCode ?? null,
      p.endpointUrl ?? null,
      p.settings ?? null,
      p.status ?? null,
      p.credentials ? JSON.stringify(p.credentials) : null,
      p.version ?? null,
      p.reservationsUrl ?? null,
    ],
  };
}

/**
 * Replaces a connection's mappings with `items` (local codes → OTA codes): rows not in the list
 * are soft-deleted, rows in it inserted or updated. The CDC sees each change and marks the cells
 * it covers dirty, so the OTA gets the new mapping's values. Returns the unknown local codes
 * instead of writing when there are any.
 */
export function replaceMappings(connectionId: string, items: MappingItem[]) {
  return {
    text: `
WITH c AS (SELECT id, property_id FROM channel.channel_connections WHERE id = $1 AND deleted_at IS NULL),
input AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x("roomType" text, "ratePlan" text, "otaRoomCode" text, "otaRateCode" text, active boolean, settings jsonb)),
resolved AS (
  SELECT i.*, rt.id AS room_type_id, rp.id AS rate_plan_id FROM input i CROSS JOIN c
  LEFT JOIN property_mgmt.room_types rt ON rt.property_id = c.property_id AND rt.code = i."roomType" AND rt.deleted_at IS NULL
  LEFT JOIN property_mgmt.rate_plans rp ON rp.property_id = c.property_id AND rp.code = i."ratePlan" AND rp.deleted_at IS NULL),
unknown AS (
  SELECT array_agg(DISTINCT x) AS codes FROM (
    SELECT 'room type ' || "roomType" AS x FROM resolved WHERE room_type_id IS NULL
    UNION ALL SELECT 'rate plan ' || "ratePlan" FROM resolved WHERE rate_plan_id IS NULL) u),
gone AS (
  UPDATE channel.channel_mappings m SET deleted_at = now() FROM c
  WHERE m.connection_id = c.id AND m.deleted_at IS NULL AND (SELECT codes FROM unknown) IS NULL
    AND NOT EXISTS (SELECT 1 FROM resolved r WHERE r.room_type_id = m.room_type_id AND r.rate_plan_id = m.rate_plan_id
                      AND r."otaRoomCode" = m.ota_room_code AND r."otaRateCode" = m.ota_rate_code)
  RETURNING m.id),
kept AS (
  UPDATE channel.channel_mappings m SET active = r.active, settings = COALESCE(r.settings, '{}') FROM resolved r
  WHERE m.connection_id = $1 AND m.deleted_at IS NULL AND (SELECT codes FROM unknown) IS NULL AND m.room_type_id = r.room_type_id
    AND m.rate_plan_id = r.rate_plan_id AND m.ota_room_code = r."otaRoomCode" AND m.ota_rate_code = r."otaRateCode"
    AND (m.active IS DISTINCT FROM r.active OR m.settings IS DISTINCT FROM COALESCE(r.settings, '{}'))
  RETURNING m.id)
SELECT (SELECT codes FROM unknown) AS unknown, (SELECT count(*) FROM gone)::int AS removed, (SELECT count(*) FROM kept)::int AS changed`,
    values: [connectionId, JSON.stringify(items)],
  };
}

/** The mappings to add after replaceMappings removed the stale ones (a separate statement: the unique indexes must see the removals). */
export function addMappings(connectionId: string, items: MappingItem[]) {
  return {
    text: `
INSERT INTO channel.channel_mappings (connection_id, property_id, room_type_id, rate_plan_id, ota_room_code, ota_rate_code, active, settings)
SELECT c.id, c.property_id, rt.id, rp.id, i."otaRoomCode", i."otaRateCode", i.active, COALESCE(i.settings, '{}')
FROM channel.channel_connections c
CROSS JOIN jsonb_to_recordset($2::jsonb) AS i("roomType" text, "ratePlan" text, "otaRoomCode" text, "otaRateCode" text, active boolean, settings jsonb)
JOIN property_mgmt.room_types rt ON rt.property_id = c.property_id AND rt.code = i."roomType" AND rt.deleted_at IS NULL
JOIN property_mgmt.rate_plans rp ON rp.property_id = c.property_id AND rp.code = i."ratePlan" AND rp.deleted_at IS NULL
WHERE c.id = $1 AND NOT EXISTS (SELECT 1 FROM channel.channel_mappings m WHERE m.connection_id = c.id AND m.deleted_at IS NULL
  AND m.room_type_id = rt.id AND m.rate_plan_id = rp.id AND m.ota_room_code = i."otaRoomCode" AND m.ota_rate_code = i."otaRateCode")
RETURNING id`,
    values: [connectionId, JSON.stringify(items)],
  };
}

export function listMappings(connectionId: string) {
  return {
    text: `SELECT rt.code AS "roomType", rp.code AS "ratePlan", m.ota_room_code AS "otaRoomCode", m.ota_rate_code AS "otaRateCode", m.active, m.settings
           FROM channel.channel_mappings m JOIN property_mgmt.room_types rt ON rt.id = m.room_type_id JOIN property_mgmt.rate_plans rp ON rp.id = m.rate_plan_id
           WHERE m.connection_id = $1 AND m.deleted_at IS NULL ORDER BY 1, 2`,
    values: [connectionId],
  };
}

/**
 * PUT mappings, in the caller's transaction: replaceMappings, then addMappings. Unknown local codes
 * throw ERR_VALIDATION naming them before anything is written.
 */
export async function putMappings(c: PoolClient, connectionId: string, items: MappingItem[]): Promise<{ added: number; removed: number; changed: number }> {
  const before = await pricingModelsBefore(c, connectionId);
  const {
    rows: [r],
  } = await c.query<{ unknown: string[] | null; removed: number; changed: number }>(replaceMappings(connectionId, items));
  if (r!.unknown?.length) throw new StayosError('ERR_VALIDATION', `unknown ${r!.unknown.join(', ')} at this property: nothing was changed`);
  const added = (await c.query(addMappings(connectionId, items))).rowCount ?? 0;
  await assertPricingModels(c, connectionId, before);
  return { added, removed: r!.removed, changed: r!.changed };
}

/** The active mappings of a connection whose plan is priced otherwise than the OTA's rate (the mapping's pricing_model, else the connection's, else per day). */
async function pricingModelMismatches(c: PoolClient, connectionId: string): Promise<Array<{ room: string; plan: string; pms: string; ota: string }>> {
  const { rows } = await c.query<{ room: string; plan: string; pms: string; ota: string }>(
    `SELECT rt.code AS room, rp.code AS plan, rp.pricing_model AS pms,
            COALESCE(m.settings ->> 'pricing_model', conn.settings ->> 'pricing_model', 'per_day') AS ota
     FROM channel.channel_mappings m
     JOIN channel.channel_connections conn ON conn.id = m.connection_id
     JOIN property_mgmt.rate_plans rp ON rp.id = m.rate_plan_id
     JOIN property_mgmt.room_types rt ON rt.id = m.room_type_id
     WHERE m.connection_id = $1 AND m.active AND m.deleted_at IS NULL
       AND rp.pricing_model <> COALESCE(m.settings ->> 'pricing_model', conn.settings ->> 'pricing_model', 'per_day')
     ORDER BY 1, 2`,
    [connectionId],
  );
  return rows;
}

/**
 * Refuses a change (the caller's transaction rolls back whole) that leaves an active mapping's plan
 * priced otherwise than the OTA's rate, unless that pair was so before the change (`before`, from
 * `pricingModelsBefore`): a rate in the wrong model would be refused at the OTA, or taken as another
 * occupancy's price, yet a mismatch that arose later in the PMS must not block an unrelated change
 * (an emergency close_out). The sync worker checks every cell again, for plans changed later.
 */
export async function assertPricingModels(c: PoolClient, connectionId: string, before: Set<string> = new Set()): Promise<void> {
  const rows = (await pricingModelMismatches(c, connectionId)).filter((r) => !before.has(`${r.room}/${r.plan}`));
  if (rows.length)
    throw new StayosError(
      'ERR_PRICING_MODEL_MISMATCH',
      `pricing models differ: ${rows
        .slice(0, 10)
        .map((r) => `${r.room}/${r.plan} is priced ${r.pms} in the PMS but ${r.ota} at the OTA`)
        .join('; ')} (set pricing_model on the connection or the mapping to what the OTA uses): nothing was changed`,
    );
}

/** The mismatched (room type/plan) pairs before a change, for assertPricingModels. */
export async function pricingModelsBefore(c: PoolClient, connectionId: string): Promise<Set<string>> {
  return new Set((await pricingModelMismatches(c, connectionId)).map((r) => `${r.room}/${r.plan}`));
}

/** A connection as the API shows it (after an action on it; deleted ones too, with `deleted`). */
export function connectionById(id: string) {
  return { text: `SELECT ${CONNECTION_COLUMNS}, deleted_at IS NOT NULL AS deleted FROM channel.channel_connections WHERE id = $1`, values: [id] };
}
