-- Undo of V1.17.1.
ALTER TABLE channel.connection_sync_state DROP COLUMN orphans_seen_at;
DELETE FROM channel.sync_errors WHERE kind = 'closing_failed';
ALTER TABLE channel.sync_errors DROP CONSTRAINT sync_errors_kind_check;
ALTER TABLE channel.sync_errors ADD CONSTRAINT sync_errors_kind_check
  CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking', 'resync', 'closing'));
DROP INDEX channel.ari_acknowledged_night_idx;
