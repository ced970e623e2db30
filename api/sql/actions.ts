/** The revenue team's actions on a connection, run as the tenant (api/tenant.ts). */

export function recordAction(connectionId: string, action: 'full_sync' | 'pause' | 'resume' | 'retry_errors', detail: Record<string, unknown>) {
  return {
    text: `INSERT INTO channel.connection_actions (connection_id, property_id, action, detail)
           SELECT id, property_id, $2, $3 FROM channel.channel_connections WHERE id = $1 AND deleted_at IS NULL RETURNING id`,
    values: [connectionId, action, detail],
  };
}

/**
 * Retry errors: the open errors and warnings of the connection are resolved, the cells they name
 * (room type, rate plan, nights) marked dirty again so the workers push them, and the breaker
 * reset. Errors that name no nights (authentication, an outage) only resolve.
 */
export function retryErrors(connectionId: string) {
  return {
    text: `
WITH errs AS (
  UPDATE channel.sync_errors SET resolved_at = now()
  WHERE connection_id = $1 AND resolved_at IS NULL AND deleted_at IS NULL AND severity IN ('error', 'warning')
  RETURNING room_type_id, rate_plan_id, stay_from, stay_to),
cells AS (
  SELECT DISTINCT m.property_id, m.room_type_id, m.rate_plan_id, d::date AS stay_date
  FROM errs e
  JOIN channel.channel_mappings m ON m.connection_id = $1 AND m.active AND m.deleted_at IS NULL
   AND (e.room_type_id IS NULL OR m.room_type_id = e.room_type_id) AND (e.rate_plan_id IS NULL OR m.rate_plan_id = e.rate_plan_id)
  CROSS JOIN generate_series(e.stay_from, COALESCE(e.stay_to, e.stay_from), interval '1 day') d
  WHERE e.stay_from IS NOT NULL),
marked AS (
  INSERT INTO channel.ari_dirty_cells (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
  SELECT $1, property_id, room_type_id, rate_plan_id, stay_date FROM cells
  ON CONFLICT (connection_id, room_type_id, rate_plan_id, stay_date) DO NOTHING RETURNING 1),
reset AS (
  UPDATE channel.connection_sync_state SET consecutive_failures = 0, retry_at = NULL WHERE connection_id = $1)
SELECT (SELECT count(*) FROM errs)::int AS resolved, (SELECT count(*) FROM marked)::int AS "cellsMarked"`,
    values: [connectionId],
  };
}
