-- Occupancy-based pricing and the full set of restrictions (issue 18, points 2 and 3). What each
-- value means and how each OTA is told it: docs/revenue-model.md, docs/conformance.md section E.

-- A rate plan is priced per night (one price for the room) or per occupancy (a price per number of
-- guests; one guest is single use). A derived plan is priced as its parent is: its occupancy prices
-- are the parent's, each adjusted and rounded by the plan's rule.
ALTER TABLE property_mgmt.rate_plans
  ADD COLUMN pricing_model text NOT NULL DEFAULT 'per_day' CHECK (pricing_model IN ('per_day', 'per_occupancy'));
COMMENT ON COLUMN property_mgmt.rate_plans.pricing_model IS
  'per_day: daily_rates.amount is the room''s price; per_occupancy: daily_rates.occupancy_amounts holds a price per number of guests';

CREATE FUNCTION property_mgmt.check_rate_plan_model() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  other property_mgmt.rate_plans;
BEGIN
  SELECT * INTO other FROM property_mgmt.rate_plans c
  WHERE c.parent_rate_plan_id = NEW.id AND c.deleted_at IS NULL AND c.id <> NEW.id AND c.pricing_model <> NEW.pricing_model
  LIMIT 1 FOR SHARE;
  IF FOUND THEN
    RAISE EXCEPTION 'rate plan %: % derives from it and is priced %, so it cannot be priced % (a derived plan is priced as its parent)',
      NEW.code, other.code, other.pricing_model, NEW.pricing_model USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.parent_rate_plan_id IS NOT NULL THEN
    SELECT * INTO other FROM property_mgmt.rate_plans WHERE id = NEW.parent_rate_plan_id FOR SHARE;
    IF other.pricing_model <> NEW.pricing_model THEN
      RAISE EXCEPTION 'rate plan %: its parent % is priced %, not % (a derived plan is priced as its parent)',
        NEW.code, other.code, other.pricing_model, NEW.pricing_model USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_rate_plan_model BEFORE INSERT OR UPDATE OF parent_rate_plan_id, pricing_model ON property_mgmt.rate_plans
  FOR EACH ROW EXECUTE FUNCTION property_mgmt.check_rate_plan_model();

-- The prices per number of guests of a per-occupancy plan's night: {"1": 89.00, "2": 109.00}.
-- Keys 1–20 (Expedia's PerOccupancy bound), amounts above 0 with at most two decimals. The nightly
-- amount stays the headline price (reports, guardrails).
CREATE FUNCTION property_mgmt.occupancy_amounts_valid(j jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT j IS NULL OR (
    jsonb_typeof(j) = 'object' AND j <> '{}'::jsonb
    AND NOT EXISTS (
      SELECT 1 FROM jsonb_each(j) e
      WHERE e.key !~ '^([1-9]|1[0-9]|20)$' OR jsonb_typeof(e.value) <> 'number'
         OR (e.value::text)::numeric <= 0 OR (e.value::text)::numeric >= 10000000000
         OR (e.value::text)::numeric <> round((e.value::text)::numeric, 2)))
$$;
ALTER TABLE property_mgmt.daily_rates
  ADD COLUMN occupancy_amounts jsonb CONSTRAINT daily_rates_occupancy_amounts_valid CHECK (property_mgmt.occupancy_amounts_valid(occupancy_amounts));
COMMENT ON COLUMN property_mgmt.daily_rates.occupancy_amounts IS
  'Per-occupancy plans: price per number of guests, {"1": single use, "2": …}; keys 1–20 and at most the room type''s max_occupancy';

-- No price for more guests than the room holds: the OTAs refuse it (Expedia warning 7009; Google
-- treats occupancies above the room's as impossible), so the PMS refuses it first.
CREATE FUNCTION property_mgmt.check_occupancy_amounts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  room property_mgmt.room_types;
  top integer;
BEGIN
  -- Malformed prices are the CHECK's to refuse (it runs after this trigger): no key to read here.
  IF NEW.occupancy_amounts IS NULL OR NOT property_mgmt.occupancy_amounts_valid(NEW.occupancy_amounts) THEN
    RETURN NEW;
  END IF;
  SELECT * INTO room FROM property_mgmt.room_types WHERE id = NEW.room_type_id;
  SELECT max(k::int) INTO top FROM jsonb_object_keys(NEW.occupancy_amounts) k;
  IF top > room.max_occupancy THEN
    RAISE EXCEPTION 'daily rate of room type % on %: a price for % guests, but the room holds at most %',
      room.code, NEW.stay_date, top, room.max_occupancy USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_daily_rates_occupancy BEFORE INSERT OR UPDATE OF occupancy_amounts, room_type_id ON property_mgmt.daily_rates
  FOR EACH ROW EXECUTE FUNCTION property_mgmt.check_occupancy_amounts();

-- The other side: a room type cannot shrink below the prices it has (live nights).
CREATE FUNCTION property_mgmt.check_room_type_occupancy() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  found_night date;
  found_guests integer;
BEGIN
  SELECT dr.stay_date, k::int INTO found_night, found_guests
  FROM property_mgmt.daily_rates dr CROSS JOIN LATERAL jsonb_object_keys(dr.occupancy_amounts) k
  WHERE dr.room_type_id = NEW.id AND dr.deleted_at IS NULL AND dr.occupancy_amounts IS NOT NULL AND k::int > NEW.max_occupancy
  ORDER BY 1 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'room type %: max_occupancy % is below its price for % guests on % (remove those prices first)',
      NEW.code, NEW.max_occupancy, found_guests, found_night USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_room_type_occupancy BEFORE UPDATE OF max_occupancy ON property_mgmt.room_types
  FOR EACH ROW WHEN (NEW.max_occupancy < OLD.max_occupancy) EXECUTE FUNCTION property_mgmt.check_room_type_occupancy();

-- Restrictions beyond arrival-based min/max stay (min_los, max_los keep that meaning):
--   min/max_stay_through: any stay that includes this night must be at least / at most so long;
--   min/max_advance_days: booked at least / at most this many days before arrival on this night.
ALTER TABLE property_mgmt.restrictions
  ADD COLUMN min_stay_through integer CHECK (min_stay_through IS NULL OR min_stay_through BETWEEN 1 AND 99),
  ADD COLUMN max_stay_through integer CHECK (max_stay_through IS NULL OR max_stay_through BETWEEN 1 AND 99),
  ADD COLUMN min_advance_days integer CHECK (min_advance_days IS NULL OR min_advance_days BETWEEN 0 AND 999),
  ADD COLUMN max_advance_days integer CHECK (max_advance_days IS NULL OR max_advance_days BETWEEN 0 AND 999),
  ADD CONSTRAINT restrictions_stay_through_order CHECK (min_stay_through IS NULL OR max_stay_through IS NULL OR min_stay_through <= max_stay_through),
  ADD CONSTRAINT restrictions_advance_order CHECK (min_advance_days IS NULL OR max_advance_days IS NULL OR min_advance_days <= max_advance_days);
COMMENT ON COLUMN property_mgmt.restrictions.min_los IS 'Minimum stay of a stay arriving this night (arrival-based)';
COMMENT ON COLUMN property_mgmt.restrictions.max_los IS 'Maximum stay of a stay arriving this night (arrival-based)';
COMMENT ON COLUMN property_mgmt.restrictions.min_stay_through IS 'Minimum stay of any stay that includes this night (stay-through)';
COMMENT ON COLUMN property_mgmt.restrictions.max_stay_through IS 'Maximum stay of any stay that includes this night (stay-through)';
COMMENT ON COLUMN property_mgmt.restrictions.min_advance_days IS 'Arrival this night must be booked at least this many days ahead';
COMMENT ON COLUMN property_mgmt.restrictions.max_advance_days IS 'Arrival this night can be booked at most this many days ahead';

-- A room type closed for a night, whatever the rate plan (a stop-sell on restrictions closes one
-- rate plan; this closes the room: Expedia's RoomType@closed, elsewhere every rate of the room).
CREATE TABLE property_mgmt.room_type_closures (
  id           uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id  uuid NOT NULL REFERENCES property_mgmt.properties (id),
  room_type_id uuid NOT NULL REFERENCES property_mgmt.room_types (id),
  stay_date    date NOT NULL,
  closed       boolean NOT NULL DEFAULT true,
  reason       text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  created_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at   timestamptz,
  version      integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX room_type_closures_night_uq ON property_mgmt.room_type_closures (room_type_id, stay_date);
CREATE INDEX room_type_closures_property_date_idx ON property_mgmt.room_type_closures (property_id, stay_date) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('property_mgmt.room_type_closures');
-- Tenant integrity (as V1.10.1 does for every tenant reference): the room type is the property's.
ALTER TABLE property_mgmt.room_type_closures
  ADD CONSTRAINT tenant_room_type_closures_room_type_id_fkey FOREIGN KEY (room_type_id, property_id)
  REFERENCES property_mgmt.room_types (id, property_id);
ALTER TABLE property_mgmt.room_type_closures REPLICA IDENTITY FULL;
ALTER PUBLICATION stayos_ari ADD TABLE property_mgmt.room_type_closures;

-- What the OTA acknowledged of the new values (connectors/outbound/connector.ts PART_FIELDS).
ALTER TABLE channel.ari_acknowledged
  ADD COLUMN occupancy_rates jsonb,
  ADD COLUMN min_stay_through integer,
  ADD COLUMN max_stay_through integer,
  ADD COLUMN min_advance_days integer,
  ADD COLUMN max_advance_days integer,
  ADD COLUMN room_closed boolean;

-- A cell whose plan is priced in another model than the connection declares is not pushed at a
-- wrong price: its rate is held back and an open sync error (kind 'pricing_model') names both.
ALTER TABLE channel.sync_errors DROP CONSTRAINT sync_errors_kind_check;
ALTER TABLE channel.sync_errors ADD CONSTRAINT sync_errors_kind_check
  CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking', 'resync', 'closing', 'closing_failed', 'reservations', 'held', 'pricing_model'));

-- Booking.com glosses SetMinLOS/SetMaxLOS as stay-through (its OTA_HotelAvailNotif example: "Set
-- Minimum Stay Through"); before this version StayOS sent the arrival-based min_los/max_los there.
-- What Booking.com acknowledged of restrictions is forgotten and those cells are marked, so the
-- next push sends both pairs as they now are: by default the arrival values as
-- SetForwardMinStay/SetForwardMaxStay and the stay-through pair as the PMS says; the connection
-- setting los_messages = 'arrival' keeps the arrival values in SetMinLOS/SetMaxLOS
-- (docs/conformance.md, I11 and section E).
UPDATE channel.ari_acknowledged a SET restr_acked_at = NULL, updated_at = now(), version = a.version + 1
FROM channel.channel_connections c
WHERE c.id = a.connection_id AND c.channel_code = 'booking_com' AND a.restr_acked_at IS NOT NULL;
INSERT INTO channel.ari_dirty_cells AS d (connection_id, property_id, room_type_id, rate_plan_id, stay_date)
SELECT a.connection_id, a.property_id, a.room_type_id, a.rate_plan_id, a.stay_date
FROM channel.ari_acknowledged a JOIN channel.channel_connections c ON c.id = a.connection_id
WHERE c.channel_code = 'booking_com' AND c.deleted_at IS NULL AND a.stay_date >= current_date - 1
ORDER BY a.connection_id, a.room_type_id, a.rate_plan_id, a.stay_date -- the table's lock order
ON CONFLICT (connection_id, room_type_id, rate_plan_id, stay_date) DO UPDATE
  SET dirty_seq = EXCLUDED.dirty_seq, last_dirty_at = now(), deleted_at = NULL, updated_at = now(), version = d.version + 1;
