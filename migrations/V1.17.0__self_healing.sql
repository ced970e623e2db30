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
