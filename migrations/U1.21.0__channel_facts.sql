-- Undo of V1.21.0: the lists come back (for the first three channels, the only ones they knew).
DROP TRIGGER reservations_source_channel ON reservation.reservations;
DROP FUNCTION reservation.check_source_channel();
ALTER TABLE reservation.reservations ADD CONSTRAINT reservations_source_channel_check
  CHECK (source_channel IN ('direct', 'walk_in', 'phone', 'email', 'booking_com', 'expedia', 'opentravel', 'gds', 'corporate'));
ALTER TABLE channel.sync_log DROP CONSTRAINT sync_log_message_kind_check,
  ADD CONSTRAINT sync_log_message_kind_check CHECK (message_kind IN ('avail', 'rate', 'ar', 'token'));
ALTER TABLE channel.inbound_messages DROP CONSTRAINT inbound_messages_source_check,
  ADD CONSTRAINT inbound_messages_source_check CHECK (source IN ('expedia_webhook', 'opentravel_webhook', 'booking_com_poll', 'replay'));
CREATE OR REPLACE FUNCTION channel.queue_closures(p_connection uuid, p_reason text, p_endpoint text, p_hotel text, p_room text, p_rate text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
  INSERT INTO channel.ota_closures (connection_id, property_id, reason, endpoint_url, ota_hotel_code, ota_room_code, ota_rate_code, first_night, last_night)
  SELECT c.id, c.property_id, p_reason, p_endpoint, p_hotel, t.room, t.rate, w.first_night, w.last_night
  FROM channel.channel_connections c
  CROSS JOIN LATERAL channel.sync_window(c.id) w
  CROSS JOIN LATERAL (
    SELECT p_room AS room, p_rate AS rate WHERE p_room IS NOT NULL
    UNION
    SELECT m.ota_room_code, m.ota_rate_code FROM channel.channel_mappings m
    WHERE p_room IS NULL AND m.connection_id = c.id AND m.active AND m.deleted_at IS NULL) t
  WHERE c.id = p_connection AND c.deleted_at IS NULL AND c.status <> 'disabled' AND c.channel_code IN ('booking_com', 'expedia');
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
DROP TRIGGER channel_reservations_id_scope ON channel.channel_reservations;
DROP FUNCTION channel.set_reservation_id_scope();
DROP INDEX channel.channel_reservations_scoped_uq;
ALTER TABLE channel.channel_reservations DROP COLUMN id_scope;
ALTER TABLE channel.channel_reservations
  ADD COLUMN id_scope text GENERATED ALWAYS AS (CASE WHEN channel_code = 'opentravel' THEN connection_id::text ELSE '' END) STORED;
CREATE UNIQUE INDEX channel_reservations_scoped_uq ON channel.channel_reservations (channel_code, id_scope, external_reservation_id);
DROP FUNCTION channel.reservation_id_scope(text, uuid);
CREATE OR REPLACE FUNCTION shared.channel_user_id(channel_code text) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE channel_code
    WHEN 'booking_com' THEN '00000000-0000-7000-8000-000000000101'::uuid
    WHEN 'expedia' THEN '00000000-0000-7000-8000-000000000102'::uuid
    WHEN 'opentravel' THEN '00000000-0000-7000-8000-000000000103'::uuid
  END
$$;
DROP INDEX channel.channels_service_user_idx;
ALTER TABLE channel.channels DROP COLUMN virtual_card_source, DROP COLUMN ids_per_connection, DROP COLUMN outbound_ari, DROP COLUMN service_user_id;
