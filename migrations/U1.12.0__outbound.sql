-- Undo of V1.12.0.
DROP TABLE channel.ota_rate_limits;
DROP TABLE channel.ota_tokens;
DROP TABLE channel.connection_sync_state;
DROP TABLE channel.sync_errors;
DELETE FROM compliance.retention_policies WHERE table_name = 'channel.sync_log';
DROP TABLE channel.sync_log;
DROP TABLE channel.ari_acknowledged;
ALTER TABLE channel.ari_dirty_cells RESET (fillfactor);
CREATE INDEX ari_dirty_cells_in_flight_idx ON channel.ari_dirty_cells (connection_id, room_type_id, rate_plan_id, stay_date)
  WHERE claimed_at IS NOT NULL OR deleted_at IS NOT NULL;
ALTER TABLE channel.ari_dirty_cells DROP COLUMN claim_id;
