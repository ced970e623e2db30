-- Channel Management context: the OTA connections of a property, how its room types and rate
-- plans map to each OTA's codes, the bookings each OTA sent, and what could not be mapped.

CREATE TABLE channel.channel_connections (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id    uuid NOT NULL,   -- property_mgmt.properties(id), id only
  channel_code   text NOT NULL CHECK (channel_code IN ('booking_com', 'expedia', 'opentravel')),
  ota_hotel_code text NOT NULL CHECK (ota_hotel_code ~ '^[A-Za-z0-9_.-]{1,64}$'),
  -- Base URL the connector calls (the real OTA, a sandbox, anything speaking the protocol); the
  -- connector appends the OTA's own paths.
  endpoint_url   text NOT NULL CHECK (endpoint_url ~ '^https?://[^\s]+$'),
  -- OTA credentials as encrypted JSON (shared.encrypt_pii(json, key)); never returned, never logged.
  credentials    shared.pgp_ciphertext,
  status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'degraded', 'down', 'paused', 'disabled')),
  status_reason  text,
  status_changed_at timestamptz NOT NULL DEFAULT now(),
  settings       jsonb NOT NULL DEFAULT '{}',   -- rate limits, markup, availability cap, auth_url …
  last_success_at timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1,
  -- Expedia's hotel ids are numeric: anything else fails every message with error 3010.
  CONSTRAINT channel_connections_expedia_numeric CHECK (channel_code <> 'expedia' OR ota_hotel_code ~ '^[0-9]+$')
);
-- One live connection per OTA hotel: two would push conflicting ARI to the same hotel.
CREATE UNIQUE INDEX channel_connections_hotel_uq ON channel.channel_connections (channel_code, ota_hotel_code) WHERE deleted_at IS NULL;
CREATE INDEX channel_connections_property_idx ON channel.channel_connections (property_id) WHERE deleted_at IS NULL;
CREATE INDEX channel_connections_settings_gin ON channel.channel_connections USING gin (settings);
SELECT shared.setup_tenant_table('channel.channel_connections', ARRAY['credentials']);
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON channel.channel_connections
  FOR EACH ROW EXECUTE FUNCTION shared.publish_domain_event('channel_connection', 'credentials');

CREATE TABLE channel.channel_mappings (
  id            uuid PRIMARY KEY DEFAULT shared.new_id(),
  connection_id uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id   uuid NOT NULL,
  room_type_id  uuid NOT NULL,   -- property_mgmt.room_types(id), id only
  rate_plan_id  uuid NOT NULL,   -- property_mgmt.rate_plans(id), id only
  ota_room_code text NOT NULL CHECK (ota_room_code ~ '^[A-Za-z0-9_.-]{1,64}$'),
  ota_rate_code text NOT NULL CHECK (ota_rate_code ~ '^[A-Za-z0-9_.-]{1,64}$'),
  active        boolean NOT NULL DEFAULT true,
  settings      jsonb NOT NULL DEFAULT '{}',   -- per-mapping rate rules (markup_pct …)
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1
);
-- Each local (room type, rate plan) maps once per connection, and each OTA (room, rate) once:
-- a second mapping would send two values for one OTA cell, or split one cell's bookings.
CREATE UNIQUE INDEX channel_mappings_local_uq ON channel.channel_mappings (connection_id, room_type_id, rate_plan_id) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX channel_mappings_ota_uq ON channel.channel_mappings (connection_id, ota_room_code, ota_rate_code) WHERE deleted_at IS NULL;
CREATE INDEX channel_mappings_room_type_idx ON channel.channel_mappings (property_id, room_type_id) WHERE deleted_at IS NULL AND active;
SELECT shared.setup_tenant_table('channel.channel_mappings');

-- The bookings each OTA sent: the idempotency key of inbound ingestion.
CREATE TABLE channel.channel_reservations (
  id                      uuid PRIMARY KEY DEFAULT shared.new_id(),
  connection_id           uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id             uuid NOT NULL,
  channel_code            text NOT NULL CHECK (channel_code IN ('booking_com', 'expedia', 'opentravel')),
  external_reservation_id text NOT NULL CHECK (length(external_reservation_id) BETWEEN 1 AND 64),
  reservation_id          uuid,   -- reservation.reservations(id), id only; NULL while only a cancellation is known
  status                  text NOT NULL CHECK (status IN ('new', 'modified', 'cancelled')),
  -- The OTA's own modification time (or sequence): a message older than this is stale.
  last_modified_at        timestamptz NOT NULL,
  last_message_hash       text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  created_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at              timestamptz,
  version                 integer NOT NULL DEFAULT 1
);
-- Not partial: the same OTA booking must never become a second row, deleted or not.
CREATE UNIQUE INDEX channel_reservations_external_uq ON channel.channel_reservations (channel_code, external_reservation_id);
CREATE INDEX channel_reservations_connection_idx ON channel.channel_reservations (connection_id, created_at);
CREATE INDEX channel_reservations_reservation_idx ON channel.channel_reservations (reservation_id);
CREATE INDEX channel_reservations_property_idx ON channel.channel_reservations (property_id, created_at);
SELECT shared.setup_tenant_table('channel.channel_reservations');

-- What could not be mapped: a room type or rate plan with no OTA mapping never receives
-- availability (an overbooking waiting to happen), and an OTA code we do not know cannot book.
CREATE TABLE channel.mapping_problems (
  id            uuid PRIMARY KEY DEFAULT shared.new_id(),
  connection_id uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id   uuid NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('unmapped_room_type', 'unmapped_rate_plan', 'unknown_ota_room', 'unknown_ota_rate', 'unknown_ota_hotel', 'ota_rejected_mapping')),
  room_type_id  uuid,
  rate_plan_id  uuid,
  ota_room_code text,
  ota_rate_code text,
  detail        text,
  occurrences   integer NOT NULL DEFAULT 1 CHECK (occurrences > 0),
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  resolved_at   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1
);
-- One open problem per subject, counted up on repeats (upsert target).
CREATE UNIQUE INDEX mapping_problems_open_uq ON channel.mapping_problems
  (connection_id, kind, coalesce(room_type_id::text, ''), coalesce(rate_plan_id::text, ''), coalesce(ota_room_code, ''), coalesce(ota_rate_code, ''))
  WHERE resolved_at IS NULL AND deleted_at IS NULL;
CREATE INDEX mapping_problems_property_idx ON channel.mapping_problems (property_id) WHERE resolved_at IS NULL;
SELECT shared.setup_tenant_table('channel.mapping_problems');
