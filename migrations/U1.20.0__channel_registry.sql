-- Undo of V1.20.0: the CHECKs come back (refused, naming the table, if a channel other than the
-- first three has been used).
DROP INDEX channel.sync_log_channel_idx;
ALTER TABLE channel.sync_log DROP CONSTRAINT sync_log_channel_fk,
  ADD CONSTRAINT sync_log_channel_code_check CHECK (channel_code IN ('booking_com', 'expedia', 'opentravel'));
ALTER TABLE channel.ota_tokens DROP CONSTRAINT ota_tokens_channel_fk,
  ADD CONSTRAINT ota_tokens_channel_code_check CHECK (channel_code IN ('booking_com'));
ALTER TABLE channel.inbound_messages DROP CONSTRAINT inbound_messages_channel_fk,
  ADD CONSTRAINT inbound_messages_channel_code_check CHECK (channel_code IN ('booking_com', 'expedia', 'opentravel'));
ALTER TABLE channel.channel_reservations DROP CONSTRAINT channel_reservations_channel_fk,
  ADD CONSTRAINT channel_reservations_channel_code_check CHECK (channel_code IN ('booking_com', 'expedia', 'opentravel'));
ALTER TABLE channel.channel_connections DROP CONSTRAINT channel_connections_channel_fk,
  ADD CONSTRAINT channel_connections_channel_code_check CHECK (channel_code IN ('booking_com', 'expedia', 'opentravel'));
DROP TABLE channel.channels;
