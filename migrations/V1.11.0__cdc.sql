-- Change data capture: what the WAL pipeline reads, and where the per-OTA consumers store what
-- it means for each channel (dirty ARI cells).

-- Publication 1: every table whose changes move availability, rates or restrictions.
CREATE PUBLICATION stayos_ari FOR TABLE
  reservation.reservations, reservation.reservation_rooms,
  property_mgmt.rooms, property_mgmt.daily_rates, property_mgmt.restrictions, property_mgmt.inventory_blocks,
  channel.channel_mappings, channel.channel_connections;

-- Publication 2: the transactional outbox of publish_domain_event(). Inserts only (events are
-- append-only), published under the partitioned parent's name so consumers never see partitions.
CREATE PUBLICATION stayos_domain_events FOR TABLE compliance.domain_events
  WITH (publish = 'insert', publish_via_partition_root = true);

-- REPLICA IDENTITY FULL puts the whole old row into the WAL for updates and deletes, where the
-- consumer must know what a row WAS, not only what it became:
--  reservation_rooms: a stay moved from one date range or room type to another frees the old
--    nights and consumes the new ones; both must be dirtied.
ALTER TABLE reservation.reservation_rooms REPLICA IDENTITY FULL;
--  rooms: a room moved to another room type, or taken out of service, changes the sellable count
--    of its old type too.
ALTER TABLE property_mgmt.rooms REPLICA IDENTITY FULL;
--  inventory_blocks: a block whose dates or room type change releases the old range.
ALTER TABLE property_mgmt.inventory_blocks REPLICA IDENTITY FULL;
--  daily_rates / restrictions: a cell re-keyed to another room type, rate plan or date must dirty
--    the cell it left; a hard delete must say which cell it was (the key alone is only an id).
ALTER TABLE property_mgmt.daily_rates REPLICA IDENTITY FULL;
ALTER TABLE property_mgmt.restrictions REPLICA IDENTITY FULL;
--  channel_mappings: a mapping re-pointed to another room type or rate plan dirties both.
ALTER TABLE channel.channel_mappings REPLICA IDENTITY FULL;
--  channel_connections: only some changes alter what the OTA must show (hotel code, endpoint,
--    settings such as a markup or an availability cap); the consumer compares old and new so that
--    the connectors' own bookkeeping (status, last_success_at) does not re-dirty everything.
ALTER TABLE channel.channel_connections REPLICA IDENTITY FULL;
-- Left at DEFAULT (primary key), because the id is all the consumer needs:
--  reservations: a status change (cancelled, checked in …) is resolved through the reservation's
--    rooms, which the consumer reads by reservation id; date changes arrive as room changes.

-- Dirty ARI cells: one row per (connection, room type, rate plan, night) whose availability,
-- rate or restrictions may differ at the OTA from the PMS. An upsert keeps a thousand changes to
-- one cell one row, so an OTA outage's backlog is bounded by distinct cells, not by events, and
-- "pending updates per channel" is a count. A cell already waiting is left as it is (nothing to
-- add: the push will read the current values); a cell whose push is in flight (claimed_at set)
-- gets a new `dirty_seq`, and the sync worker clears a cell only if dirty_seq is still the value it
-- read, so a change made during the push is pushed again. Derived state, rebuilt by a full sync: no audit trigger (auditing it
-- would multiply the audit log by the number of OTAs for every rate change) and no row triggers on
-- this hot path: the upsert itself keeps updated_at and version.
CREATE SEQUENCE channel.ari_dirty_seq;
CREATE TABLE channel.ari_dirty_cells (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  connection_id  uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id    uuid NOT NULL,
  room_type_id   uuid NOT NULL,   -- property_mgmt.room_types(id), id only
  rate_plan_id   uuid NOT NULL,   -- property_mgmt.rate_plans(id), id only
  stay_date      date NOT NULL,
  dirty_seq      bigint NOT NULL DEFAULT nextval('channel.ari_dirty_seq'),
  first_dirty_at timestamptz NOT NULL DEFAULT now(),
  last_dirty_at  timestamptz NOT NULL DEFAULT now(),
  last_lsn       pg_lsn,          -- the change that first dirtied it, or dirtied it while claimed
  -- Set by the sync worker that claimed the cell and is pushing it; NULL while it only waits.
  claimed_at     timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX ari_dirty_cells_cell_uq ON channel.ari_dirty_cells (connection_id, room_type_id, rate_plan_id, stay_date);
-- The few cells whose push is in flight: what a new change must re-mark (the consumer's update).
CREATE INDEX ari_dirty_cells_in_flight_idx ON channel.ari_dirty_cells (connection_id, room_type_id, rate_plan_id, stay_date)
  WHERE claimed_at IS NOT NULL OR deleted_at IS NOT NULL;
-- Sync workers claim the oldest dirty cells of a connection first.
CREATE INDEX ari_dirty_cells_claim_idx ON channel.ari_dirty_cells (connection_id, first_dirty_at);
CREATE INDEX ari_dirty_cells_property_idx ON channel.ari_dirty_cells (property_id);
SELECT shared.enable_tenant_rls('channel.ari_dirty_cells');
GRANT USAGE ON SEQUENCE channel.ari_dirty_seq TO stayos_service, authenticated_user;

-- Pending updates per connection, for monitoring (reads a view, not the pipeline table).
CREATE VIEW channel.pending_updates WITH (security_invoker = true) AS
  SELECT connection_id, property_id, count(*)::int AS pending_cells, min(first_dirty_at) AS oldest_dirty_at
  FROM channel.ari_dirty_cells GROUP BY connection_id, property_id;
GRANT SELECT ON channel.pending_updates TO authenticated_user, stayos_service;
