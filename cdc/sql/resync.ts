/**
 * Resynchronising a connection when the CDC cannot know what changed (a lost or dropped slot, a
 * failover, a TRUNCATE): every mapped cell of its window is marked dirty and, when what the OTA
 * holds is in doubt too, what it acknowledged is forgotten, so the workers push the whole window.
 * The reason is recorded where the revenue team looks: an action by StayOS itself
 * (connection_actions 'resync') and an open error row (sync_errors kind 'resync', resolved by the
 * sync worker once the connection's queue has drained).
 */

/** The connections of these channels that sync (not deleted, not disabled). */
export function resyncTargets(channels: readonly string[]) {
  return {
    text: `SELECT id FROM channel.channel_connections WHERE channel_code = ANY ($1::text[]) AND deleted_at IS NULL AND status <> 'disabled' ORDER BY id`,
    values: [channels],
  };
}

/** One connection's resync, in one statement (cells in the table's lock order). Returns the cells marked. */
export function resyncConnection(connectionId: string, p: { reason: string; severity: 'warning' | 'alert'; forgetAcknowledged: boolean }) {
  return {
    text: `
WITH c AS (
  SELECT c.id, c.property_id, (now() AT TIME ZONE pr.timezone)::date AS today, COALESCE((c.settings ->> 'sync_days')::int, 500) AS days
  FROM channel.channel_connections c JOIN property_mgmt.properties pr ON pr.id = c.property_id
  WHERE c.id = $1 AND c.deleted_at IS NULL),
forgot AS (DELETE FROM channel.ari_acknowledged a USING c WHERE $4::boolean AND a.connection_id = c.id),
stamp AS (SELECT nextval('channel.ari_dirty_seq') AS seq, shared.current_actor() AS actor),
marked AS (
  INSERT INTO channel.ari_dirty_cells AS d (connection_id, property_id, room_type_id, rate_plan_id, stay_date, dirty_seq, created_by, updated_by)
  SELECT c.id, m.property_id, m.room_type_id, m.rate_plan_id, n::date, s.seq, s.actor, s.actor
  FROM c JOIN channel.channel_mappings m ON m.connection_id = c.id AND m.active AND m.deleted_at IS NULL
  CROSS JOIN generate_series(c.today - 1, c.today + c.days - 1, interval '1 day') n CROSS JOIN stamp s
  ORDER BY c.id, m.room_type_id, m.rate_plan_id, n -- the table's lock order (connectors/sql/sync.ts lockClaim)
  ON CONFLICT (connection_id, room_type_id, rate_plan_id, stay_date) DO UPDATE
    SET dirty_seq = EXCLUDED.dirty_seq, last_dirty_at = now(), deleted_at = NULL, held_by = NULL,
        updated_at = now(), version = d.version + 1
    WHERE d.claimed_at IS NOT NULL OR d.deleted_at IS NOT NULL OR d.held_by IS NOT NULL
  RETURNING 1),
acted AS (
  INSERT INTO channel.connection_actions (connection_id, property_id, action, detail)
  SELECT id, property_id, 'resync', jsonb_build_object('reason', $2::text, 'forgotAcknowledged', $4::boolean) FROM c),
opened AS (
  INSERT INTO channel.sync_errors AS e (connection_id, property_id, severity, kind, error_code, message)
  SELECT id, property_id, $3, 'resync', 'ERR_RESYNC', left('StayOS is resynchronising the whole window: ' || $2::text, 2000) FROM c
  -- A connection that maps nothing has nothing to push: an open row would never drain.
  WHERE EXISTS (SELECT 1 FROM channel.channel_mappings m WHERE m.connection_id = c.id AND m.active AND m.deleted_at IS NULL)
  ON CONFLICT (connection_id, kind, coalesce(ota_code, ''), coalesce(room_type_id::text, ''), coalesce(rate_plan_id::text, ''), coalesce(stay_from, '-infinity'::date))
    WHERE resolved_at IS NULL AND deleted_at IS NULL
  DO UPDATE SET occurrences = e.occurrences + 1, last_seen_at = now(), message = EXCLUDED.message, severity = EXCLUDED.severity)
SELECT count(*)::int AS marked FROM marked`,
    values: [connectionId, p.reason, p.severity, p.forgetAcknowledged],
  };
}
