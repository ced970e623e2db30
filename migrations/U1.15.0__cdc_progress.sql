-- Undo of V1.15.0.
DELETE FROM compliance.retention_policies WHERE table_name = 'channel.pending_samples';
DROP TABLE channel.pending_samples;
DROP TABLE channel.cdc_progress;
