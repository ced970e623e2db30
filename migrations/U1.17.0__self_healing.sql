-- Undo of V1.17.0.
DROP TRIGGER trg_close_moved_hotel ON channel.channel_connections;
DROP TRIGGER trg_close_unmapped_target ON channel.channel_mappings;
DROP FUNCTION channel.close_moved_hotel();
DROP FUNCTION channel.close_unmapped_target();
DROP FUNCTION channel.queue_closures(uuid, text, text, text, text, text);
DROP FUNCTION channel.sync_window(uuid);
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
       (SELECT count(*) FROM channel.overbooking_alerts a WHERE a.connection_id = c.id AND a.resolved_at IS NULL AND a.deleted_at IS NULL)::int AS open_overbookings
FROM channel.channel_connections c
LEFT JOIN channel.connection_sync_state s ON s.connection_id = c.id
LEFT JOIN LATERAL (SELECT count(*)::int AS pending_cells, min(d.first_dirty_at) AS oldest_dirty_at
                   FROM channel.ari_dirty_cells d WHERE d.connection_id = c.id AND d.deleted_at IS NULL) p ON true
LEFT JOIN LATERAL (SELECT count(*)::int AS requests_1h, (count(*) FILTER (WHERE g.status = 'failed'))::int AS failed_1h
                   FROM channel.sync_log g WHERE g.connection_id = c.id AND g.created_at > now() - interval '1 hour') l ON true
WHERE c.deleted_at IS NULL;
GRANT SELECT ON channel.channel_status TO authenticated_user, stayos_service;
DROP TABLE channel.ota_closures;
ALTER TABLE channel.channel_connections DROP COLUMN closing_since, DROP COLUMN closing_for;
ALTER TABLE channel.ari_acknowledged DROP COLUMN ota_target;
DROP FUNCTION channel.ota_target(text, text, text, text);
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
