-- Reservation context. Reservations are event-sourced (hybrid): the tables hold the current
-- state for fast reads, and every change to a reservation, its rooms, nights and guests appends an
-- event to reservation.reservation_events in the same transaction (shared.record_aggregate_event),
-- so reservation.reservation_state_at() can answer "what did this booking look like at 14:02?".

CREATE SEQUENCE reservation.confirmation_number_seq START 100001;

CREATE TABLE reservation.cancellation_policies (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id    uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  code           text NOT NULL,
  name           text NOT NULL,
  -- Free cancellation until this many hours before arrival (local time); then the penalty applies.
  deadline_hours integer NOT NULL CHECK (deadline_hours >= 0),
  penalty_type   text NOT NULL CHECK (penalty_type IN ('none', 'first_night', 'nights', 'percent', 'fixed')),
  penalty_value  numeric(10, 2) NOT NULL DEFAULT 0 CHECK (penalty_value >= 0),
  no_show_penalty_type text NOT NULL DEFAULT 'first_night' CHECK (no_show_penalty_type IN ('none', 'first_night', 'full_stay')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1,
  CHECK (penalty_type <> 'percent' OR penalty_value <= 100)
);
CREATE UNIQUE INDEX cancellation_policies_code_active_uq ON reservation.cancellation_policies (property_id, code) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('reservation.cancellation_policies');

CREATE TABLE reservation.reservations (
  id                     uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id            uuid NOT NULL,   -- property_mgmt.properties(id), id only
  confirmation_number    text NOT NULL DEFAULT 'SO' || nextval('reservation.confirmation_number_seq')::text,
  status                 text NOT NULL DEFAULT 'confirmed'
                         CHECK (status IN ('pending', 'confirmed', 'checked_in', 'checked_out', 'cancelled', 'no_show')),
  source_channel         text NOT NULL DEFAULT 'direct'
                         CHECK (source_channel IN ('direct', 'walk_in', 'phone', 'email', 'booking_com', 'expedia', 'opentravel', 'gds', 'corporate')),
  check_in_date          date NOT NULL,
  check_out_date         date NOT NULL,
  guest_id               uuid,            -- guest.profiles(id), id only
  total_amount           shared.amount NOT NULL DEFAULT 0,
  currency               shared.currency_code NOT NULL,
  cancellation_policy_id uuid REFERENCES reservation.cancellation_policies (id),
  adults                 integer NOT NULL DEFAULT 1 CHECK (adults >= 0),
  children               integer NOT NULL DEFAULT 0 CHECK (children >= 0),
  special_requests       text,
  payment_collect        text CHECK (payment_collect IS NULL OR payment_collect IN ('hotel', 'ota')),
  cancelled_at           timestamptz,
  cancellation_reason    text,
  attributes             jsonb NOT NULL DEFAULT '{}',
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  created_by             uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by             uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at             timestamptz,
  version                integer NOT NULL DEFAULT 1,
  CONSTRAINT reservations_dates CHECK (check_out_date > check_in_date),
  -- A stay of more than a year is a data error, not a booking.
  CONSTRAINT reservations_length CHECK (check_out_date - check_in_date <= 366),
  CONSTRAINT reservations_cancelled_at CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL)
);
CREATE UNIQUE INDEX reservations_confirmation_uq ON reservation.reservations (property_id, confirmation_number) WHERE deleted_at IS NULL;
CREATE INDEX idx_reservations_property_status_checkin ON reservation.reservations (property_id, status, check_in_date) WHERE deleted_at IS NULL;
CREATE INDEX reservations_guest_idx ON reservation.reservations (guest_id);
CREATE INDEX reservations_policy_idx ON reservation.reservations (cancellation_policy_id);
CREATE INDEX reservations_attributes_gin ON reservation.reservations USING gin (attributes);
SELECT shared.setup_tenant_table('reservation.reservations');

CREATE TABLE reservation.reservation_rooms (
  id              uuid PRIMARY KEY DEFAULT shared.new_id(),
  reservation_id  uuid NOT NULL REFERENCES reservation.reservations (id),
  property_id     uuid NOT NULL,
  room_type_id    uuid NOT NULL,   -- property_mgmt.room_types(id), id only
  rate_plan_id    uuid,            -- property_mgmt.rate_plans(id), id only
  room_id         uuid,            -- property_mgmt.rooms(id) once assigned, id only
  arrival_date    date NOT NULL,
  departure_date  date NOT NULL,   -- exclusive: the room is free again that night
  adults          integer NOT NULL DEFAULT 1 CHECK (adults BETWEEN 1 AND 20),
  children        integer NOT NULL DEFAULT 0 CHECK (children BETWEEN 0 AND 20),
  status          text NOT NULL DEFAULT 'confirmed'
                  CHECK (status IN ('pending', 'confirmed', 'checked_in', 'checked_out', 'cancelled', 'no_show')),
  total_amount    shared.amount NOT NULL DEFAULT 0,
  currency        shared.currency_code NOT NULL,
  guest_name      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  created_by      uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by      uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at      timestamptz,
  version         integer NOT NULL DEFAULT 1,
  CONSTRAINT reservation_rooms_dates CHECK (departure_date > arrival_date)
);
CREATE INDEX reservation_rooms_reservation_idx ON reservation.reservation_rooms (reservation_id);
-- Availability asks "which rooms of this type overlap these nights?": GiST over the stay range.
CREATE INDEX reservation_rooms_stay_gist ON reservation.reservation_rooms
  USING gist (property_id, room_type_id, daterange(arrival_date, departure_date)) WHERE deleted_at IS NULL;
CREATE INDEX reservation_rooms_property_dates_idx ON reservation.reservation_rooms (property_id, arrival_date) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('reservation.reservation_rooms');

-- The price of each night of each room (what the guest was sold; OTAs send per-night amounts).
CREATE TABLE reservation.reservation_nightly_rates (
  id                  uuid PRIMARY KEY DEFAULT shared.new_id(),
  reservation_id      uuid NOT NULL REFERENCES reservation.reservations (id),
  reservation_room_id uuid NOT NULL REFERENCES reservation.reservation_rooms (id),
  property_id         uuid NOT NULL,
  stay_date           date NOT NULL,
  amount              shared.amount NOT NULL,
  currency            shared.currency_code NOT NULL,
  rate_plan_id        uuid,           -- property_mgmt.rate_plans(id), id only
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  created_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at          timestamptz,
  version             integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX reservation_nightly_rates_uq ON reservation.reservation_nightly_rates (reservation_room_id, stay_date) WHERE deleted_at IS NULL;
CREATE INDEX reservation_nightly_rates_reservation_idx ON reservation.reservation_nightly_rates (reservation_id);
CREATE INDEX reservation_nightly_rates_property_date_idx ON reservation.reservation_nightly_rates (property_id, stay_date) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('reservation.reservation_nightly_rates');

-- The people on a booking as the booking names them (the guest context owns the profiles).
CREATE TABLE reservation.reservation_guests (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  reservation_id uuid NOT NULL REFERENCES reservation.reservations (id),
  property_id    uuid NOT NULL,
  guest_id       uuid,            -- guest.profiles(id), id only
  first_name     text,
  last_name      text NOT NULL,
  is_primary     boolean NOT NULL DEFAULT false,
  age_category   text NOT NULL DEFAULT 'adult' CHECK (age_category IN ('adult', 'child', 'infant')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1
);
CREATE INDEX reservation_guests_reservation_idx ON reservation.reservation_guests (reservation_id);
CREATE INDEX reservation_guests_guest_idx ON reservation.reservation_guests (guest_id);
CREATE UNIQUE INDEX reservation_guests_primary_uq ON reservation.reservation_guests (reservation_id) WHERE is_primary AND deleted_at IS NULL;
CREATE INDEX reservation_guests_property_idx ON reservation.reservation_guests (property_id);
SELECT shared.setup_tenant_table('reservation.reservation_guests');

-- The event store: append-only, gapless sequence per reservation.
CREATE TABLE reservation.reservation_events (
  id           uuid PRIMARY KEY DEFAULT shared.new_id(),
  aggregate_id uuid NOT NULL REFERENCES reservation.reservations (id),
  sequence     bigint NOT NULL CHECK (sequence > 0),
  event_type   text NOT NULL,
  payload      jsonb NOT NULL,
  property_id  uuid NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  created_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at   timestamptz,
  version      integer NOT NULL DEFAULT 1,
  CONSTRAINT reservation_events_sequence_uq UNIQUE (aggregate_id, sequence)
);
CREATE INDEX reservation_events_property_idx ON reservation.reservation_events (property_id, created_at);
CREATE INDEX reservation_events_payload_gin ON reservation.reservation_events USING gin (payload jsonb_path_ops);
SELECT shared.attach_standard_triggers('reservation.reservation_events', with_audit => false);
SELECT shared.make_append_only('reservation.reservation_events');
SELECT shared.enable_tenant_rls('reservation.reservation_events', writable => false);

CREATE TRIGGER trg_event_store AFTER INSERT OR UPDATE OR DELETE ON reservation.reservations
  FOR EACH ROW EXECUTE FUNCTION shared.record_aggregate_event('reservation.reservation_events', 'id', '');
CREATE TRIGGER trg_event_store AFTER INSERT OR UPDATE OR DELETE ON reservation.reservation_rooms
  FOR EACH ROW EXECUTE FUNCTION shared.record_aggregate_event('reservation.reservation_events', 'reservation_id', 'room');
CREATE TRIGGER trg_event_store AFTER INSERT OR UPDATE OR DELETE ON reservation.reservation_nightly_rates
  FOR EACH ROW EXECUTE FUNCTION shared.record_aggregate_event('reservation.reservation_events', 'reservation_id', 'night');
CREATE TRIGGER trg_event_store AFTER INSERT OR UPDATE OR DELETE ON reservation.reservation_guests
  FOR EACH ROW EXECUTE FUNCTION shared.record_aggregate_event('reservation.reservation_events', 'reservation_id', 'guest');

-- Domain events (the outbox): reservation created / confirmed / cancelled / checked_in / modified …
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON reservation.reservations
  FOR EACH ROW EXECUTE FUNCTION shared.publish_domain_event('reservation');

-- A reservation as it was at `at`: its columns, plus "rooms", "nights" and "guests" arrays.
-- NULL if it did not exist yet.
CREATE FUNCTION reservation.reservation_state_at(p_reservation_id uuid, p_at timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT shared.aggregate_state_at('reservation.reservation_events', p_reservation_id, p_at)
$$;

-- Nights consumed per (property, room type, date): the rooms (not deleted) of confirmed or
-- checked-in reservations, one unit per night from arrival to departure (exclusive). The contract
-- the ARI sync relies on: a room dropped from a booking is deleted, not given a status.
CREATE VIEW reservation.room_nights_consumed WITH (security_invoker = true) AS
  SELECT rr.property_id, rr.room_type_id, d::date AS stay_date, count(*)::int AS rooms
  FROM reservation.reservation_rooms rr
  JOIN reservation.reservations r ON r.id = rr.reservation_id
  CROSS JOIN LATERAL generate_series(rr.arrival_date, rr.departure_date - 1, interval '1 day') d
  WHERE r.status IN ('confirmed', 'checked_in') AND r.deleted_at IS NULL AND rr.deleted_at IS NULL
  GROUP BY rr.property_id, rr.room_type_id, d::date;

GRANT SELECT ON reservation.room_nights_consumed TO authenticated_user, stayos_service;
GRANT USAGE ON SEQUENCE reservation.confirmation_number_seq TO authenticated_user, stayos_service;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reservation TO authenticated_user, stayos_service;
