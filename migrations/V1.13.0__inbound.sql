-- Inbound bookings (OTA → api / Booking.com poller → reservation): every message an OTA delivered
-- and what we answered, the overbookings an accepted booking caused, and the free-room count both
-- the ingestion and the revenue team read. The ingestion core (inbound/) is the only writer.

-- Every inbound message after authentication, one row per delivery (a resend is a second row):
-- when, from where, its hash, the outcome, the answer we gave. The message itself is kept only
-- encrypted (it carries names, cards, documents) so a booking's history can be read and a
-- message replayed; error texts name fields, never their values. Unauthenticated requests are not
-- recorded (they are nobody's, and would let anyone fill the table). Append-only, partitioned by
-- month, kept 2 years (the span of an OTA's booking disputes).
CREATE TABLE channel.inbound_messages (
  id                      uuid NOT NULL DEFAULT shared.new_id(),
  connection_id           uuid REFERENCES channel.channel_connections (id),
  property_id             uuid,
  channel_code            text NOT NULL CHECK (channel_code IN ('booking_com', 'expedia', 'opentravel')),
  source                  text NOT NULL CHECK (source IN ('expedia_webhook', 'opentravel_webhook', 'booking_com_poll', 'replay')),
  message_type            text NOT NULL CHECK (message_type ~ '^[A-Za-z_]{1,64}$'),
  external_reservation_id text CHECK (length(external_reservation_id) BETWEEN 1 AND 64),
  body_sha256             text NOT NULL CHECK (body_sha256 ~ '^[0-9a-f]{64}$'),
  body_bytes              integer NOT NULL CHECK (body_bytes >= 0),
  body_encrypted          shared.pgp_ciphertext,   -- shared.encrypt_pii(body, key)
  outcome                 text NOT NULL CHECK (outcome IN ('created', 'modified', 'cancelled', 'duplicate', 'stale', 'refused', 'failed')),
  error_code              text,   -- core/errors.ts code of a refusal or failure
  ota_error_code          text,   -- the code we answered in the OTA's own list
  error_message           text,
  answer_status           integer NOT NULL CHECK (answer_status BETWEEN 100 AND 599),
  answer                  text,   -- the body we answered (ids and codes only: no personal data)
  channel_reservation_id  uuid,   -- channel.channel_reservations(id)
  reservation_id          uuid,   -- reservation.reservations(id), id only
  duration_ms             integer CHECK (duration_ms >= 0),
  created_at              timestamptz NOT NULL DEFAULT now(),   -- received at
  updated_at              timestamptz NOT NULL DEFAULT now(),
  created_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at              timestamptz,
  version                 integer NOT NULL DEFAULT 1,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX inbound_messages_connection_idx ON channel.inbound_messages (connection_id, created_at);
CREATE INDEX inbound_messages_booking_idx ON channel.inbound_messages (channel_code, external_reservation_id, created_at);
CREATE INDEX inbound_messages_property_idx ON channel.inbound_messages (property_id, created_at);
CREATE INDEX inbound_messages_created_by_idx ON channel.inbound_messages (created_by);
SELECT shared.attach_standard_triggers('channel.inbound_messages', with_audit => false);
SELECT shared.make_append_only('channel.inbound_messages');
SELECT shared.enable_tenant_rls('channel.inbound_messages', writable => false);
SELECT shared.ensure_partitions('channel.inbound_messages', 'month', 1, 3);
INSERT INTO compliance.retention_policies (table_name, partition_step, retention, premake, legal_basis)
VALUES ('channel.inbound_messages', 'month', interval '2 years', 3, 'OTA booking messages, kept for booking disputes');

-- An OTA booking we accepted although the room type had no room left those nights (the guest has
-- paid the OTA: refusing would not undo the sale). One row per booking and room type; the
-- revenue team resolves it (relocation, upgrade). Its creation is published as a domain event.
CREATE TABLE channel.overbooking_alerts (
  id                     uuid PRIMARY KEY DEFAULT shared.new_id(),
  connection_id          uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id            uuid NOT NULL,
  channel_reservation_id uuid NOT NULL REFERENCES channel.channel_reservations (id),
  reservation_id         uuid NOT NULL,   -- reservation.reservations(id), id only
  room_type_id           uuid NOT NULL,   -- property_mgmt.room_types(id), id only
  first_night            date NOT NULL,
  last_night             date NOT NULL CHECK (last_night >= first_night),
  nights                 integer NOT NULL CHECK (nights > 0),   -- nights with fewer than 0 rooms free
  worst_shortfall        integer NOT NULL CHECK (worst_shortfall > 0),
  resolved_at            timestamptz,
  resolution             text,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  created_by             uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by             uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at             timestamptz,
  version                integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX overbooking_alerts_open_uq ON channel.overbooking_alerts (channel_reservation_id, room_type_id)
  WHERE resolved_at IS NULL AND deleted_at IS NULL;
CREATE INDEX overbooking_alerts_property_idx ON channel.overbooking_alerts (property_id, created_at) WHERE resolved_at IS NULL;
CREATE INDEX overbooking_alerts_connection_idx ON channel.overbooking_alerts (connection_id);
SELECT shared.setup_tenant_table('channel.overbooking_alerts');
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON channel.overbooking_alerts
  FOR EACH ROW EXECUTE FUNCTION shared.publish_domain_event('overbooking_alert');

-- Rooms of a type free on a night: sellable rooms − stays of confirmed/checked-in rooms − blocks.
-- Below 0 is an overbooking. The same arithmetic as the ARI values (connectors/sql/ari.ts), which
-- inlines it per cell for its planner.
CREATE FUNCTION reservation.free_rooms(p_property uuid, p_room_type uuid, p_night date) RETURNS integer
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
GRANT EXECUTE ON FUNCTION reservation.free_rooms(uuid, uuid, date) TO authenticated_user, stayos_service;
