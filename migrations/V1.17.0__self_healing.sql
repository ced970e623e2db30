-- Self-healing sync (issue 15).

-- 1. One rule for what consumes inventory, in one place. A room of a reservation holds its nights
-- only while both the reservation and the room are active (confirmed or checked in) and neither is
-- deleted: a reservation cancelled at the reservation level (the usual PMS action) frees its rooms
-- whatever their own status says, and reinstating it takes them again. Used by the ARI values
-- (connectors/sql/ari.ts), free_rooms (the inbound overbooking check), the contract view
-- room_nights_consumed and the overbooking alert (inbound/sql/ingest.ts). A plain SQL expression,
-- so the planner inlines it where it is called.
CREATE FUNCTION reservation.consumes_inventory(p_reservation_status text, p_reservation_deleted_at timestamptz,
                                               p_room_status text, p_room_deleted_at timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT p_reservation_status IN ('confirmed', 'checked_in') AND p_reservation_deleted_at IS NULL
     AND p_room_status IN ('confirmed', 'checked_in') AND p_room_deleted_at IS NULL
$$;
COMMENT ON FUNCTION reservation.consumes_inventory(text, timestamptz, text, timestamptz) IS
  'A reservation room consumes its nights only while the reservation and the room are both confirmed or checked in and neither is deleted.';

-- The sellable-room rule (the CDC consumer marks a room type's cells when a room crosses it:
-- cdc/consumers/dirty-cells.ts mirrors it, and a test holds the two equal).
CREATE FUNCTION property_mgmt.room_is_sellable(p_status text, p_deleted_at timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT p_deleted_at IS NULL AND p_status <> 'out_of_service'
$$;

CREATE OR REPLACE VIEW reservation.room_nights_consumed WITH (security_invoker = true) AS
  SELECT rr.property_id, rr.room_type_id, d::date AS stay_date, count(*)::int AS rooms
  FROM reservation.reservation_rooms rr
  JOIN reservation.reservations r ON r.id = rr.reservation_id
  CROSS JOIN LATERAL generate_series(rr.arrival_date, rr.departure_date - 1, interval '1 day') d
  WHERE reservation.consumes_inventory(r.status, r.deleted_at, rr.status, rr.deleted_at)
  GROUP BY rr.property_id, rr.room_type_id, d::date;

CREATE OR REPLACE FUNCTION reservation.free_rooms(p_property uuid, p_room_type uuid, p_night date) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT ((SELECT count(*) FROM property_mgmt.rooms r
            WHERE r.property_id = p_property AND r.room_type_id = p_room_type AND property_mgmt.room_is_sellable(r.status, r.deleted_at))
        - (SELECT count(*) FROM reservation.reservation_rooms rr JOIN reservation.reservations res ON res.id = rr.reservation_id
            WHERE rr.property_id = p_property AND rr.room_type_id = p_room_type AND daterange(rr.arrival_date, rr.departure_date) @> p_night
              AND reservation.consumes_inventory(res.status, res.deleted_at, rr.status, rr.deleted_at))
        - (SELECT COALESCE(sum(b.rooms), 0) FROM property_mgmt.inventory_blocks b
            WHERE b.property_id = p_property AND b.room_type_id = p_room_type AND b.deleted_at IS NULL
              AND b.start_date <= p_night AND b.end_date > p_night))::int
$$;

GRANT EXECUTE ON FUNCTION reservation.consumes_inventory(text, timestamptz, text, timestamptz) TO authenticated_user, stayos_service;
GRANT EXECUTE ON FUNCTION property_mgmt.room_is_sellable(text, timestamptz) TO authenticated_user, stayos_service;

-- 8. The window's far end: the last night the hourly roll has marked for each connection. The roll
-- marks every night after it up to the window's end, so a gap of any length (a stopped process, a
-- widened window) is caught up; without it only the last two nights were marked.
ALTER TABLE channel.connection_sync_state ADD COLUMN window_end date;

-- 3, 6, 7. What StayOS does by itself is recorded where the revenue team looks:
--  - sync_errors kind 'resync' (StayOS resynchronised the connection: a lost slot, a TRUNCATE; open
--    until the connection's queue drains) and 'closing' (closing the inventory at the OTA before a
--    connection is disabled or deleted; open until the OTA confirmed it);
--  - connection_actions 'resync', 'disable', 'delete' (who and why, with the closing's outcome).
ALTER TABLE channel.sync_errors DROP CONSTRAINT sync_errors_kind_check;
ALTER TABLE channel.sync_errors ADD CONSTRAINT sync_errors_kind_check
  CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking', 'resync', 'closing'));
ALTER TABLE channel.connection_actions DROP CONSTRAINT connection_actions_action_check;
ALTER TABLE channel.connection_actions ADD CONSTRAINT connection_actions_action_check
  CHECK (action IN ('full_sync', 'pause', 'resume', 'retry_errors', 'resync', 'disable', 'delete'));

-- The CDC's incidents: a slot lost (wal_status 'lost'), dropped, or missing after a failover; a
-- TRUNCATE of an ARI table; a change the consumer could not process. Each is detected, logged,
-- counted (stayos_cdc_incidents_total) and healed (a new slot, every connection resynchronised, the
-- stream moving on); `resync_at` says when every connection's window was marked, `resolved_at`
-- when nothing is left to do. Not tenant data (a slot serves every property).
CREATE TABLE channel.cdc_incidents (
  id            uuid PRIMARY KEY DEFAULT shared.new_id(),
  slot_name     text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('slot_lost', 'slot_dropped', 'failover', 'truncate', 'poison')),
  detail        text NOT NULL CHECK (length(detail) <= 2000),
  data          jsonb NOT NULL DEFAULT '{}',
  resync_at     timestamptz,
  resolved_at   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1
);
CREATE INDEX cdc_incidents_open_idx ON channel.cdc_incidents (slot_name, created_at) WHERE resolved_at IS NULL;
CREATE INDEX cdc_incidents_created_by_idx ON channel.cdc_incidents (created_by);
SELECT shared.attach_standard_triggers('channel.cdc_incidents');
GRANT SELECT, INSERT, UPDATE ON channel.cdc_incidents TO stayos_service;
GRANT SELECT ON channel.cdc_incidents TO authenticated_user;

-- Where each slot was made: the server (system identifier) and timeline. A slot missing on the
-- same server and timeline was dropped; on another timeline or server, the database failed over
-- (or was restored) without it. Either way what happened in between is unknown: resynchronise.
CREATE TABLE channel.cdc_slots (
  id                uuid PRIMARY KEY DEFAULT shared.new_id(),
  slot_name         text NOT NULL UNIQUE,
  system_identifier text NOT NULL,
  timeline          integer NOT NULL,
  failover          boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  created_by        uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by        uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at        timestamptz,
  version           integer NOT NULL DEFAULT 1
);
CREATE INDEX cdc_slots_created_by_idx ON channel.cdc_slots (created_by);
SELECT shared.attach_standard_triggers('channel.cdc_slots');
GRANT SELECT, INSERT, UPDATE, DELETE ON channel.cdc_slots TO stayos_service;

-- 2. A claim lives as long as its worker. A sync worker pushes a connection only while holding that
-- connection's session advisory lock (one push at a time per connection), and claims cells only
-- under it; so when the lock is free, no live worker is pushing the connection, and any cell still
-- claimed belongs to a worker that died (SIGKILL, a lost machine: PostgreSQL ends its session and
-- frees the lock). The next worker takes such cells over at once instead of after a lease; a live
-- worker, however slow, keeps its claim, since nobody else gets the lock.
CREATE FUNCTION channel.sync_lock_key(p_connection uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT hashtextextended('stayos.sync:' || p_connection::text, 0) $$;

-- Whether some session holds the connection's sync lock (pg_locks shows a 64-bit advisory key as
-- its high and low 32 bits in classid and objid, with objsubid 1).
CREATE FUNCTION channel.sync_lock_held(p_connection uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = ((channel.sync_lock_key(p_connection) >> 32) & 4294967295)::text::oid
      AND l.objid = (channel.sync_lock_key(p_connection) & 4294967295)::text::oid)
$$;
GRANT EXECUTE ON FUNCTION channel.sync_lock_key(uuid), channel.sync_lock_held(uuid) TO stayos_service;

-- 4. What the OTA acknowledged belongs to the target it was sent to: the endpoint, the OTA hotel,
-- room and rate codes. After a mapping is re-pointed (or the hotel code or endpoint changes) the
-- acknowledgement no longer matches the cell's target, so the cell is pushed whole to the new one
-- instead of comparing equal to what the old one holds.
CREATE FUNCTION channel.ota_target(p_endpoint text, p_hotel text, p_room text, p_rate text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT rtrim(p_endpoint, '/') || ' ' || p_hotel || ' ' || p_room || ' ' || p_rate $$;
GRANT EXECUTE ON FUNCTION channel.ota_target(text, text, text, text) TO authenticated_user, stayos_service;
ALTER TABLE channel.ari_acknowledged ADD COLUMN ota_target text;
-- What was acknowledged before this column was acknowledged at the current target.
UPDATE channel.ari_acknowledged a SET ota_target = channel.ota_target(c.endpoint_url, c.ota_hotel_code, m.ota_room_code, m.ota_rate_code)
FROM channel.channel_connections c, channel.channel_mappings m
WHERE c.id = a.connection_id AND m.connection_id = a.connection_id AND m.room_type_id = a.room_type_id AND m.rate_plan_id = a.rate_plan_id
  AND m.active AND m.deleted_at IS NULL;

-- 4, 6. Closing an OTA target StayOS no longer feeds. When a mapping is re-pointed, deactivated or
-- deleted, the old OTA room/rate keeps selling at the last values it got unless it is closed: a
-- closure (its whole window: availability 0 where the room is no longer mapped at all, the rate
-- closed) is queued here by trigger, whatever path changed the mapping (API, CLI, SQL), and pushed
-- by the connection's sync worker, who re-checks at that moment what is still mapped. The same
-- for every target of a connection whose OTA hotel or endpoint changed, and of a connection being
-- disabled or deleted (channel_connections.closing_for: the connection is disabled or deleted
-- only once its closures are confirmed by the OTA, unless the operator says to keep the OTA open).
ALTER TABLE channel.channel_connections
  ADD COLUMN closing_for text CHECK (closing_for IN ('disable', 'delete')),
  ADD COLUMN closing_since timestamptz;

CREATE TABLE channel.ota_closures (
  id            uuid PRIMARY KEY DEFAULT shared.new_id(),
  connection_id uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id   uuid NOT NULL,
  reason        text NOT NULL CHECK (reason IN ('remapped', 'unmapped', 'hotel_changed', 'connection_closing')),
  endpoint_url  text NOT NULL,
  ota_hotel_code text NOT NULL,
  ota_room_code text NOT NULL,
  ota_rate_code text NOT NULL,
  first_night   date NOT NULL,
  last_night    date NOT NULL CHECK (last_night >= first_night),
  attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  retry_at      timestamptz,                -- after a failed attempt: not before (backoff)
  last_error    text,
  -- done: the OTA confirmed it (or it was moot: the target is mapped again); given_up: the OTA
  -- refused it for good (not our hotel any more, say), the error says why.
  outcome       text CHECK (outcome IN ('done', 'moot', 'given_up')),
  finished_at   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1
);
CREATE INDEX ota_closures_pending_idx ON channel.ota_closures (connection_id, created_at) WHERE finished_at IS NULL;
CREATE INDEX ota_closures_property_idx ON channel.ota_closures (property_id);
CREATE INDEX ota_closures_created_by_idx ON channel.ota_closures (created_by);
SELECT shared.setup_tenant_table('channel.ota_closures');

-- The window a connection keeps in sync, from yesterday, in its property's time zone (a sync_days
-- the API would refuse counts as the default 500).
CREATE FUNCTION channel.sync_window(p_connection uuid, OUT first_night date, OUT last_night date)
LANGUAGE sql STABLE AS $$
  SELECT (now() AT TIME ZONE p.timezone)::date - 1,
         (now() AT TIME ZONE p.timezone)::date - 1
           + CASE WHEN c.settings ->> 'sync_days' ~ '^[0-9]{1,4}$' THEN (c.settings ->> 'sync_days')::int ELSE 500 END
  FROM channel.channel_connections c JOIN property_mgmt.properties p ON p.id = c.property_id WHERE c.id = p_connection
$$;

-- A closure per OTA target a connection stops feeding (all its active mappings' targets when
-- p_room is NULL), at the given hotel and endpoint. Only for live OTA connections.
CREATE FUNCTION channel.queue_closures(p_connection uuid, p_reason text, p_endpoint text, p_hotel text, p_room text, p_rate text)
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

CREATE FUNCTION channel.close_unmapped_target() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.active AND OLD.deleted_at IS NULL AND (TG_OP = 'DELETE' OR NOT NEW.active OR NEW.deleted_at IS NOT NULL
      OR NEW.ota_room_code <> OLD.ota_room_code OR NEW.ota_rate_code <> OLD.ota_rate_code OR NEW.connection_id <> OLD.connection_id) THEN
    PERFORM channel.queue_closures(OLD.connection_id,
      CASE WHEN TG_OP = 'UPDATE' AND NEW.active AND NEW.deleted_at IS NULL THEN 'remapped' ELSE 'unmapped' END,
      c.endpoint_url, c.ota_hotel_code, OLD.ota_room_code, OLD.ota_rate_code)
    FROM channel.channel_connections c WHERE c.id = OLD.connection_id AND c.closing_for IS NULL;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER trg_close_unmapped_target AFTER UPDATE OR DELETE ON channel.channel_mappings
  FOR EACH ROW EXECUTE FUNCTION channel.close_unmapped_target();

CREATE FUNCTION channel.close_moved_hotel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.ota_hotel_code IS DISTINCT FROM OLD.ota_hotel_code OR rtrim(NEW.endpoint_url, '/') IS DISTINCT FROM rtrim(OLD.endpoint_url, '/'))
     AND NEW.closing_for IS NULL THEN
    PERFORM channel.queue_closures(OLD.id, 'hotel_changed', OLD.endpoint_url, OLD.ota_hotel_code, NULL, NULL);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER trg_close_moved_hotel AFTER UPDATE OF ota_hotel_code, endpoint_url ON channel.channel_connections
  FOR EACH ROW EXECUTE FUNCTION channel.close_moved_hotel();
GRANT EXECUTE ON FUNCTION channel.sync_window(uuid), channel.queue_closures(uuid, text, text, text, text, text) TO authenticated_user, stayos_service;

-- The channel status shows a connection being closed at the OTA (before it is disabled or deleted).
CREATE OR REPLACE VIEW channel.channel_status WITH (security_invoker = true) AS
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
