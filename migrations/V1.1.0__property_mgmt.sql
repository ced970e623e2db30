-- Property Management context: what a property sells. Rooms, room types, rate plans, the daily
-- rate and restriction grid, and inventory blocks are the inputs of every OTA's availability,
-- rates and restrictions (ARI); the CDC pipeline streams their changes.

CREATE TABLE property_mgmt.properties (
  id          uuid PRIMARY KEY DEFAULT shared.new_id(),
  -- A property is its own tenant: property_id = id keeps RLS and the audit log uniform.
  property_id uuid GENERATED ALWAYS AS (id) STORED,
  code        text NOT NULL CHECK (code ~ '^[A-Z0-9_-]{2,20}$'),
  name        text NOT NULL,
  timezone    text NOT NULL DEFAULT 'UTC',
  currency    shared.currency_code NOT NULL,
  country     shared.country_code,
  address     jsonb NOT NULL DEFAULT '{}',
  settings    jsonb NOT NULL DEFAULT '{}',
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('onboarding', 'active', 'closed')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  created_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at  timestamptz,
  version     integer NOT NULL DEFAULT 1,
  -- A timezone name PostgreSQL does not know would make every "today" wrong.
  CONSTRAINT properties_timezone_known CHECK (now() AT TIME ZONE timezone IS NOT NULL)
);
CREATE UNIQUE INDEX properties_code_active_uq ON property_mgmt.properties (code) WHERE deleted_at IS NULL;
CREATE INDEX properties_settings_gin ON property_mgmt.properties USING gin (settings);
SELECT shared.setup_tenant_table('property_mgmt.properties');

CREATE TABLE property_mgmt.room_types (
  id            uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id   uuid NOT NULL REFERENCES property_mgmt.properties (id),
  code          text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,20}$'),
  name          text NOT NULL,
  description   text,
  max_occupancy integer NOT NULL CHECK (max_occupancy BETWEEN 1 AND 20),
  max_adults    integer CHECK (max_adults IS NULL OR max_adults BETWEEN 1 AND 20),
  max_children  integer CHECK (max_children IS NULL OR max_children BETWEEN 0 AND 20),
  size_sqm      numeric(6, 1) CHECK (size_sqm IS NULL OR size_sqm > 0),
  bed_config    jsonb NOT NULL DEFAULT '[]',
  sort_order    integer NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX room_types_code_active_uq ON property_mgmt.room_types (property_id, code) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('property_mgmt.room_types');

CREATE TABLE property_mgmt.rooms (
  id           uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id  uuid NOT NULL REFERENCES property_mgmt.properties (id),
  room_type_id uuid NOT NULL REFERENCES property_mgmt.room_types (id),
  number       text NOT NULL,
  floor        text,
  -- Sellable inventory of a room type = its rooms not out_of_service and not deleted (the
  -- availability contract); the other statuses only matter to housekeeping and room assignment.
  status       text NOT NULL DEFAULT 'available'
               CHECK (status IN ('available', 'occupied', 'dirty', 'clean', 'inspected', 'out_of_order', 'out_of_service')),
  features     text[] NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  created_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at   timestamptz,
  version      integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX rooms_number_active_uq ON property_mgmt.rooms (property_id, number) WHERE deleted_at IS NULL;
CREATE INDEX rooms_room_type_idx ON property_mgmt.rooms (room_type_id);
-- Counting sellable rooms per type is on the ARI hot path.
CREATE INDEX rooms_sellable_idx ON property_mgmt.rooms (property_id, room_type_id)
  WHERE deleted_at IS NULL AND status <> 'out_of_service';
SELECT shared.setup_tenant_table('property_mgmt.rooms');

CREATE TABLE property_mgmt.rate_plans (
  id                 uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id        uuid NOT NULL REFERENCES property_mgmt.properties (id),
  code               text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,20}$'),
  name               text NOT NULL,
  currency           shared.currency_code NOT NULL,
  meal_plan          text NOT NULL DEFAULT 'room_only' CHECK (meal_plan IN ('room_only', 'breakfast', 'half_board', 'full_board', 'all_inclusive')),
  refundable         boolean NOT NULL DEFAULT true,
  cancellation_hours integer CHECK (cancellation_hours IS NULL OR cancellation_hours >= 0),
  -- A derived plan follows its parent's rates with an adjustment (e.g. non-refundable = BAR − 10 %).
  parent_rate_plan_id uuid REFERENCES property_mgmt.rate_plans (id),
  derived_adjustment_pct numeric(5, 2) CHECK (derived_adjustment_pct IS NULL OR derived_adjustment_pct BETWEEN -100 AND 100),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  created_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1,
  CHECK (parent_rate_plan_id IS NULL OR parent_rate_plan_id <> id)
);
CREATE UNIQUE INDEX rate_plans_code_active_uq ON property_mgmt.rate_plans (property_id, code) WHERE deleted_at IS NULL;
CREATE INDEX rate_plans_parent_idx ON property_mgmt.rate_plans (parent_rate_plan_id);
SELECT shared.setup_tenant_table('property_mgmt.rate_plans');

-- The rate grid: one price per (room type, rate plan, night). Hot: revenue managers change
-- thousands of cells at once and every change flows to the OTAs.
CREATE TABLE property_mgmt.daily_rates (
  id           uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id  uuid NOT NULL REFERENCES property_mgmt.properties (id),
  room_type_id uuid NOT NULL REFERENCES property_mgmt.room_types (id),
  rate_plan_id uuid NOT NULL REFERENCES property_mgmt.rate_plans (id),
  stay_date    date NOT NULL,
  amount       shared.amount NOT NULL,
  currency     shared.currency_code NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  created_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at   timestamptz,
  version      integer NOT NULL DEFAULT 1
);
-- Unique per cell among all rows, deleted ones included: upserts target this key, and a deleted
-- cell is revived by clearing deleted_at rather than by a second row.
CREATE UNIQUE INDEX daily_rates_cell_uq ON property_mgmt.daily_rates (room_type_id, rate_plan_id, stay_date);
CREATE INDEX daily_rates_property_date_idx ON property_mgmt.daily_rates (property_id, stay_date) WHERE deleted_at IS NULL;
CREATE INDEX daily_rates_rate_plan_idx ON property_mgmt.daily_rates (rate_plan_id);
SELECT shared.setup_tenant_table('property_mgmt.daily_rates');

CREATE TABLE property_mgmt.restrictions (
  id                  uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id         uuid NOT NULL REFERENCES property_mgmt.properties (id),
  room_type_id        uuid NOT NULL REFERENCES property_mgmt.room_types (id),
  rate_plan_id        uuid NOT NULL REFERENCES property_mgmt.rate_plans (id),
  stay_date           date NOT NULL,
  min_los             integer CHECK (min_los IS NULL OR min_los BETWEEN 1 AND 99),
  max_los             integer CHECK (max_los IS NULL OR max_los BETWEEN 1 AND 99),
  closed_to_arrival   boolean NOT NULL DEFAULT false,
  closed_to_departure boolean NOT NULL DEFAULT false,
  stop_sell           boolean NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  created_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at          timestamptz,
  version             integer NOT NULL DEFAULT 1,
  CONSTRAINT restrictions_los_order CHECK (min_los IS NULL OR max_los IS NULL OR min_los <= max_los)
);
CREATE UNIQUE INDEX restrictions_cell_uq ON property_mgmt.restrictions (room_type_id, rate_plan_id, stay_date);
CREATE INDEX restrictions_property_date_idx ON property_mgmt.restrictions (property_id, stay_date) WHERE deleted_at IS NULL;
CREATE INDEX restrictions_rate_plan_idx ON property_mgmt.restrictions (rate_plan_id);
SELECT shared.setup_tenant_table('property_mgmt.restrictions');

-- Rooms taken out of sale for a period (renovation, a group allotment held back, a wedding).
CREATE TABLE property_mgmt.inventory_blocks (
  id           uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id  uuid NOT NULL REFERENCES property_mgmt.properties (id),
  room_type_id uuid NOT NULL REFERENCES property_mgmt.room_types (id),
  start_date   date NOT NULL,
  end_date     date NOT NULL,            -- exclusive, like a departure date
  rooms        integer NOT NULL CHECK (rooms > 0),
  reason       text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  created_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at   timestamptz,
  version      integer NOT NULL DEFAULT 1,
  CONSTRAINT inventory_blocks_dates CHECK (end_date > start_date)
);
CREATE INDEX inventory_blocks_room_type_idx ON property_mgmt.inventory_blocks (room_type_id);
-- "Which blocks cover these nights?" is a range-overlap question: GiST over the stay range.
CREATE INDEX inventory_blocks_range_gist ON property_mgmt.inventory_blocks
  USING gist (property_id, room_type_id, daterange(start_date, end_date)) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('property_mgmt.inventory_blocks');

CREATE TABLE property_mgmt.amenities (
  id          uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id uuid NOT NULL REFERENCES property_mgmt.properties (id),
  code        text NOT NULL,                       -- e.g. OTA amenity code (OpenTravel HAC/RMA list)
  name        text NOT NULL,
  scope       text NOT NULL CHECK (scope IN ('property', 'room')),
  chargeable  boolean NOT NULL DEFAULT false,
  attributes  jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  created_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at  timestamptz,
  version     integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX amenities_code_active_uq ON property_mgmt.amenities (property_id, code) WHERE deleted_at IS NULL;
CREATE INDEX amenities_attributes_gin ON property_mgmt.amenities USING gin (attributes);
SELECT shared.setup_tenant_table('property_mgmt.amenities');

CREATE TABLE property_mgmt.room_type_amenities (
  id           uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id  uuid NOT NULL REFERENCES property_mgmt.properties (id),
  room_type_id uuid NOT NULL REFERENCES property_mgmt.room_types (id),
  amenity_id   uuid NOT NULL REFERENCES property_mgmt.amenities (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  created_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at   timestamptz,
  version      integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX room_type_amenities_uq ON property_mgmt.room_type_amenities (room_type_id, amenity_id) WHERE deleted_at IS NULL;
CREATE INDEX room_type_amenities_amenity_idx ON property_mgmt.room_type_amenities (amenity_id);
CREATE INDEX room_type_amenities_property_idx ON property_mgmt.room_type_amenities (property_id);
SELECT shared.setup_tenant_table('property_mgmt.room_type_amenities');

-- Sellable rooms per room type (active rooms, not out of service): the base of availability.
CREATE VIEW property_mgmt.sellable_rooms WITH (security_invoker = true) AS
  SELECT property_id, room_type_id, count(*)::int AS rooms
  FROM property_mgmt.rooms
  WHERE deleted_at IS NULL AND status <> 'out_of_service'
  GROUP BY property_id, room_type_id;
GRANT SELECT ON property_mgmt.sellable_rooms TO authenticated_user, stayos_service;
