-- Undo of V1.24.0: held cells are released (they go out on the next pass, unguarded), and the
-- records of holds and their approvals are dropped with the table.
DELETE FROM channel.sync_errors WHERE kind = 'held';
ALTER TABLE channel.sync_errors DROP CONSTRAINT sync_errors_kind_check;
ALTER TABLE channel.sync_errors ADD CONSTRAINT sync_errors_kind_check
  CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking', 'resync', 'closing', 'closing_failed', 'reservations'));
DELETE FROM channel.connection_actions WHERE action = 'approve_hold';
ALTER TABLE channel.connection_actions DROP CONSTRAINT connection_actions_action_check;
ALTER TABLE channel.connection_actions ADD CONSTRAINT connection_actions_action_check
  CHECK (action IN ('full_sync', 'pause', 'resume', 'retry_errors', 'resync', 'disable', 'delete'));
DROP VIEW channel.channel_status;
CREATE VIEW channel.channel_status WITH (security_invoker = true) AS
SELECT c.id, c.property_id, c.channel_code, c.ota_hotel_code, c.status, c.status_reason, c.status_changed_at,
       GREATEST(s.last_success_at, c.last_success_at) AS last_success_at,
       COALESCE(s.consecutive_failures, 0) AS consecutive_failures, s.retry_at, s.last_error,
       p.pending_cells, p.oldest_dirty_at,
       l.requests_1h, l.failed_1h,
       (SELECT count(*) FROM channel.sync_errors e WHERE e.connection_id = c.id AND e.resolved_at IS NULL AND e.deleted_at IS NULL)::int AS open_errors,
       (SELECT count(*) FROM channel.mapping_problems m WHERE m.connection_id = c.id AND m.resolved_at IS NULL AND m.deleted_at IS NULL)::int AS open_mapping_problems,
       (SELECT count(*) FROM channel.inbound_messages i WHERE i.connection_id = c.id AND i.created_at > now() - interval '24 hours'
          AND i.outcome IN ('created', 'modified', 'cancelled'))::int AS bookings_24h,
       (SELECT count(*) FROM channel.overbooking_alerts a WHERE a.connection_id = c.id AND a.resolved_at IS NULL AND a.deleted_at IS NULL)::int AS open_overbookings,
       c.closing_for,
       (SELECT count(*) FROM channel.ota_closures o WHERE o.connection_id = c.id AND o.finished_at IS NULL AND o.deleted_at IS NULL)::int AS pending_closures
FROM channel.channel_connections c
LEFT JOIN channel.connection_sync_state s ON s.connection_id = c.id
LEFT JOIN LATERAL (SELECT count(*)::int AS pending_cells, min(d.first_dirty_at) AS oldest_dirty_at
                   FROM channel.ari_dirty_cells d WHERE d.connection_id = c.id AND d.deleted_at IS NULL) p ON true
LEFT JOIN LATERAL (SELECT count(*)::int AS requests_1h, (count(*) FILTER (WHERE g.status = 'failed'))::int AS failed_1h
                   FROM channel.sync_log g WHERE g.connection_id = c.id AND g.created_at > now() - interval '1 hour') l ON true
WHERE c.deleted_at IS NULL;
GRANT SELECT ON channel.channel_status TO authenticated_user, stayos_service;
ALTER TABLE channel.connection_sync_state DROP COLUMN closings_sent, DROP COLUMN closings_since;
DROP INDEX channel.ari_dirty_cells_held_idx;
DROP INDEX channel.ari_dirty_cells_last_hold_idx;
ALTER TABLE channel.ari_dirty_cells DROP COLUMN guard_approved, DROP COLUMN held_values, DROP COLUMN last_hold, DROP COLUMN held_by;
DROP TABLE channel.ari_holds;
