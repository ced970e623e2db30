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
DROP INDEX channel.ari_dirty_cells_held_idx;
ALTER TABLE channel.ari_dirty_cells DROP COLUMN guard_approved, DROP COLUMN held_by;
DROP TABLE channel.ari_holds;
