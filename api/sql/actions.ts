/** The revenue team's actions on a connection, run as the tenant (api/tenant.ts). */
import type { PoolClient } from '../../core/db.ts';

export function recordAction(
  connectionId: string,
  action: 'full_sync' | 'pause' | 'resume' | 'retry_errors' | 'approve_hold',
  detail: Record<string, unknown>,
) {
  return {
    text: `INSERT INTO channel.connection_actions (connection_id, property_id, action, detail)
           SELECT id, property_id, $2, $3 FROM channel.channel_connections WHERE id = $1 AND deleted_at IS NULL RETURNING id`,
    values: [connectionId, action, detail],
  };
}

/** The mapped cells the errors $2 name, of connection $1. */
const ERROR_CELLS = `cells AS (
  SELECT DISTINCT m.property_id, m.room_type_id, m.rate_plan_id, d::date AS stay_date
  FROM channel.sync_errors e
  JOIN channel.channel_mappings m ON m.connection_id = $1 AND m.active AND m.deleted_at IS NULL
   AND (e.room_type_id IS NULL OR m.room_type_id = e.room_type_id) AND (e.rate_plan_id IS NULL OR m.rate_plan_id = e.rate_plan_id)
  CROSS JOIN generate_series(e.stay_from, COALESCE(e.stay_to, e.stay_from), interval '1 day') d
  WHERE e.id = ANY ($2::uuid[]) AND e.stay_from IS NOT NULL)`;

/**
 * Retry errors: the open errors and warnings of the connection are resolved, the cells they name
 * (room type, rate plan, nights) marked dirty again — a cell being pushed right now too, so it is
 * pushed once more — with the values the OTA refused for them forgotten, and the breaker reset.
 * Errors that name no nights (authentication, an outage) only resolve.
 *
 * Separate statements in one transaction, in the order a sync worker's finish locks the same rows
 * (connectors/outbound/finish.ts): the cells (in their key's order), then channel.ari_acknowledged,
 * then channel.sync_errors (by id). A single statement's data-modifying CTEs run in an order
 * PostgreSQL does not promise, and resolving the errors first deadlocked with a finish that
 * recorded or resolved the same errors after locking its cells.
 */
export async function retryErrors(c: PoolClient, connectionId: string): Promise<{ resolved: number; cellsMarked: number }> {
  const { rows: errors } = await c.query<{ id: string }>(
    `
    SELECT id FROM channel.sync_errors
    WHERE connection_id = $1 AND resolved_at IS NULL AND deleted_at IS NULL AND severity IN ('error', 'warning')
      AND kind <> 'held' -- a hold ends by approval or a new change, not by sending the same values again`,
    [connectionId],
  );
  const ids = errors.map((e) => e.id);
  const { rowCount: marked } = await c.query(
    `
WITH ${ERROR_CELLS}
INSERT INTO channel.ari_dirty_cells AS d (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
SELECT $1, property_id, room_type_id, rate_plan_id, stay_date FROM cells
ORDER BY room_type_id, rate_plan_id, stay_date -- the table's lock order (connectors/sql/sync.ts lockClaim)
ON CONFLICT (connection_id, room_type_id, rate_plan_id, stay_date) DO UPDATE
  SET dirty_seq = EXCLUDED.dirty_seq, last_dirty_at = now(), deleted_at = NULL, updated_at = now(), version = d.version + 1
  WHERE d.claimed_at IS NOT NULL OR d.deleted_at IS NOT NULL`,
    [connectionId, ids],
  );
  // Retrying errors means sending again: values the OTA refused are forgotten for these cells.
  await c.query(
    `
WITH ${ERROR_CELLS}
UPDATE channel.ari_acknowledged a SET refused = NULL, updated_at = now(), version = a.version + 1 FROM cells x
WHERE a.connection_id = $1 AND a.room_type_id = x.room_type_id AND a.rate_plan_id = x.rate_plan_id AND a.stay_date = x.stay_date
  AND a.refused IS NOT NULL`,
    [connectionId, ids],
  );
  const { rowCount: resolved } = await c.query(
    `
    UPDATE channel.sync_errors SET resolved_at = now()
    WHERE id IN (SELECT id FROM channel.sync_errors WHERE id = ANY ($1::uuid[]) AND resolved_at IS NULL ORDER BY id FOR UPDATE)`,
    [ids],
  );
  await c.query(`UPDATE channel.connection_sync_state SET consecutive_failures = 0, retry_at = NULL WHERE connection_id = $1`, [connectionId]);
  return { resolved: resolved ?? 0, cellsMarked: marked ?? 0 };
}
