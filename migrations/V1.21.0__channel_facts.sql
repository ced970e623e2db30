-- Issue 17: what the database must know of a channel lives in its channel.channels row, so that
-- a new OTA is one row here (its adapter's migration) and no function, generated column or query
-- lists channel codes:
--  - service_user_id: the user its changes are attributed to (shared.channel_user_id);
--  - outbound_ari: StayOS pushes availability and rates to it (closures are queued only for those);
--  - ids_per_connection: its reservation ids are unique per connection (each sender numbers its
--    own, as OpenTravel senders do), not across the channel (channel_reservations.id_scope);
--  - virtual_card_source: what billing calls the virtual cards it issues.
ALTER TABLE channel.channels
  ADD COLUMN service_user_id uuid REFERENCES shared.users (id),
  ADD COLUMN outbound_ari boolean NOT NULL DEFAULT false,
  ADD COLUMN ids_per_connection boolean NOT NULL DEFAULT false,
  ADD COLUMN virtual_card_source text NOT NULL DEFAULT 'other_ota' CHECK (virtual_card_source IN ('expedia', 'booking_com', 'other_ota'));
UPDATE channel.channels SET service_user_id = '00000000-0000-7000-8000-000000000101', outbound_ari = true, virtual_card_source = 'booking_com' WHERE code = 'booking_com';
UPDATE channel.channels SET service_user_id = '00000000-0000-7000-8000-000000000102', outbound_ari = true, virtual_card_source = 'expedia' WHERE code = 'expedia';
UPDATE channel.channels SET service_user_id = '00000000-0000-7000-8000-000000000103', ids_per_connection = true WHERE code = 'opentravel';
ALTER TABLE channel.channels ALTER COLUMN service_user_id SET NOT NULL;
CREATE INDEX channels_service_user_idx ON channel.channels (service_user_id);

-- Read by the inbound engine in every ingestion transaction: STABLE (a table read), not IMMUTABLE.
CREATE OR REPLACE FUNCTION shared.channel_user_id(channel_code text) RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT service_user_id FROM channel.channels WHERE code = channel_code
$$;

-- Where a channel's reservation id is unique: '' (the whole channel) or the connection's id.
-- An unknown channel is an error, never a NULL scope (an advisory lock on NULL takes no lock).
CREATE FUNCTION channel.reservation_id_scope(p_channel text, p_connection uuid) RETURNS text LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE per_connection boolean;
BEGIN
  SELECT c.ids_per_connection INTO per_connection FROM channel.channels c WHERE c.code = p_channel AND c.deleted_at IS NULL;
  IF per_connection IS NULL THEN
    RAISE EXCEPTION 'unknown channel %', p_channel USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN CASE WHEN per_connection THEN p_connection::text ELSE '' END;
END $$;
GRANT EXECUTE ON FUNCTION channel.reservation_id_scope(text, uuid) TO authenticated_user, stayos_service;

-- id_scope was generated from a list of codes; now a trigger sets it from the channel's row, on
-- every write (so no UPDATE can set it by hand, as GENERATED ALWAYS refused before).
-- (A channel's ids_per_connection is fixed once it has reservations: its adapter's nature.)
ALTER TABLE channel.channel_reservations ALTER COLUMN id_scope DROP EXPRESSION;
CREATE FUNCTION channel.set_reservation_id_scope() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.id_scope := channel.reservation_id_scope(NEW.channel_code, NEW.connection_id);
  RETURN NEW;
END $$;
CREATE TRIGGER channel_reservations_id_scope BEFORE INSERT OR UPDATE ON channel.channel_reservations
  FOR EACH ROW EXECUTE FUNCTION channel.set_reservation_id_scope();

-- As in V1.17.0, for every channel with outbound ARI instead of a list of two.
CREATE OR REPLACE FUNCTION channel.queue_closures(p_connection uuid, p_reason text, p_endpoint text, p_hotel text, p_room text, p_rate text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
  INSERT INTO channel.ota_closures (connection_id, property_id, reason, endpoint_url, ota_hotel_code, ota_room_code, ota_rate_code, first_night, last_night)
  SELECT c.id, c.property_id, p_reason, p_endpoint, p_hotel, t.room, t.rate, w.first_night, w.last_night
  FROM channel.channel_connections c
  JOIN channel.channels ch ON ch.code = c.channel_code AND ch.outbound_ari
  CROSS JOIN LATERAL channel.sync_window(c.id) w
  CROSS JOIN LATERAL (
    SELECT p_room AS room, p_rate AS rate WHERE p_room IS NOT NULL
    UNION
    SELECT m.ota_room_code, m.ota_rate_code FROM channel.channel_mappings m
    WHERE p_room IS NULL AND m.connection_id = c.id AND m.active AND m.deleted_at IS NULL) t
  WHERE c.id = p_connection AND c.deleted_at IS NULL AND c.status <> 'disabled';
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- How a message came (channel.inbound_messages.source) was a list naming the channels too: now
-- any channel's webhook or poll, or a replay.
ALTER TABLE channel.inbound_messages DROP CONSTRAINT inbound_messages_source_check,
  ADD CONSTRAINT inbound_messages_source_check CHECK (source ~ '^([a-z][a-z0-9_]{1,31}_(webhook|poll)|replay)$');

-- A request's kind in the sync log (channel.sync_log.message_kind) is its adapter's word for the
-- message (Booking.com avail/rate, Expedia ar, a token exchange …): any short name, not a list.
ALTER TABLE channel.sync_log DROP CONSTRAINT sync_log_message_kind_check,
  ADD CONSTRAINT sync_log_message_kind_check CHECK (message_kind ~ '^[a-z][a-z0-9_]{0,31}$');

-- A reservation's source was a list naming three channels among the PMS's own sources: now a PMS
-- source, or any channel of channel.channels (checked by a trigger: a CHECK cannot read a table).
ALTER TABLE reservation.reservations DROP CONSTRAINT reservations_source_channel_check;
CREATE FUNCTION reservation.check_source_channel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.source_channel NOT IN ('direct', 'walk_in', 'phone', 'email', 'gds', 'corporate')
     AND NOT EXISTS (SELECT 1 FROM channel.channels c WHERE c.code = NEW.source_channel) THEN
    RAISE EXCEPTION 'reservation source % is neither a PMS source nor a channel', NEW.source_channel
      USING ERRCODE = 'check_violation', CONSTRAINT = 'reservations_source_channel_check', TABLE = 'reservations', SCHEMA = 'reservation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER reservations_source_channel BEFORE INSERT OR UPDATE OF source_channel ON reservation.reservations
  FOR EACH ROW EXECUTE FUNCTION reservation.check_source_channel();
