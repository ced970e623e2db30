-- Undo of V1.17.0.
DROP FUNCTION channel.sync_lock_held(uuid);
DROP FUNCTION channel.sync_lock_key(uuid);
DROP TABLE channel.cdc_slots;
DROP TABLE channel.cdc_incidents;
DELETE FROM channel.connection_actions WHERE action IN ('resync', 'disable', 'delete');
ALTER TABLE channel.connection_actions DROP CONSTRAINT connection_actions_action_check;
ALTER TABLE channel.connection_actions ADD CONSTRAINT connection_actions_action_check CHECK (action IN ('full_sync', 'pause', 'resume', 'retry_errors'));
DELETE FROM channel.sync_errors WHERE kind IN ('resync', 'closing');
ALTER TABLE channel.sync_errors DROP CONSTRAINT sync_errors_kind_check;
ALTER TABLE channel.sync_errors ADD CONSTRAINT sync_errors_kind_check
  CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking'));
ALTER TABLE channel.connection_sync_state DROP COLUMN window_end;
CREATE OR REPLACE FUNCTION reservation.free_rooms(p_property uuid, p_room_type uuid, p_night date) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT ((SELECT count(*) FROM property_mgmt.rooms r
            WHERE r.property_id = p_property AND r.room_type_id = p_room_type AND r.deleted_at IS NULL AND r.status <> 'out_of_service')
        - (SELECT count(*) FROM reservation.reservation_rooms rr
            WHERE rr.property_id = p_property AND rr.room_type_id = p_room_type AND rr.deleted_at IS NULL
              AND daterange(rr.arrival_date, rr.departure_date) @> p_night AND rr.status IN ('confirmed', 'checked_in'))
        - (SELECT COALESCE(sum(b.rooms), 0) FROM property_mgmt.inventory_blocks b
            WHERE b.property_id = p_property AND b.room_type_id = p_room_type AND b.deleted_at IS NULL
              AND b.start_date <= p_night AND b.end_date > p_night))::int
$$;
CREATE OR REPLACE VIEW reservation.room_nights_consumed WITH (security_invoker = true) AS
  SELECT rr.property_id, rr.room_type_id, d::date AS stay_date, count(*)::int AS rooms
  FROM reservation.reservation_rooms rr
  JOIN reservation.reservations r ON r.id = rr.reservation_id
  CROSS JOIN LATERAL generate_series(rr.arrival_date, rr.departure_date - 1, interval '1 day') d
  WHERE r.status IN ('confirmed', 'checked_in') AND r.deleted_at IS NULL AND rr.deleted_at IS NULL
  GROUP BY rr.property_id, rr.room_type_id, d::date;
DROP FUNCTION property_mgmt.room_is_sellable(text, timestamptz);
DROP FUNCTION reservation.consumes_inventory(text, timestamptz, text, timestamptz);
