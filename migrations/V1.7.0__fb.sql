-- Food & Beverage context: outlets, menus and dishes, tables and bookings, orders (checks), and
-- recipes that cost each dish and deplete procurement's stock. Other contexts' rows: ids only.
-- Children reference parents by (id, outlet_id): one outlet's dish or table never lands on another's check.

-- ---------------------------------------------------------------------------------------------
CREATE TABLE fb.outlets (
  id                 uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id        uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  code               text NOT NULL CHECK (code ~ '^[A-Z0-9_-]{1,20}$'),
  name               text NOT NULL,
  outlet_type        text NOT NULL CHECK (outlet_type IN ('restaurant', 'bar', 'room_service', 'banquet')),
  location           text,            -- "Lobby level", "Rooftop": told to guests by the concierge
  capacity           integer CHECK (capacity IS NULL OR capacity > 0),   -- covers allowed by the fire permit
  currency           shared.currency_code NOT NULL,
  -- Per weekday, a list of service periods in local time, e.g.
  -- {"mon": [["07:00", "10:30"], ["12:00", "14:30"]], "sun": []}; {} = hours not published.
  opening_hours      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(opening_hours) = 'object'),
  -- Whether in-house guests may sign checks to their room (some bars and pop-ups are cash/card only).
  allows_room_charge boolean NOT NULL DEFAULT true,
  service_charge_pct numeric(5, 2) NOT NULL DEFAULT 0 CHECK (service_charge_pct BETWEEN 0 AND 100),
  prices_include_tax boolean NOT NULL DEFAULT true,   -- EU menus show gross prices, US menus net
  is_open            boolean NOT NULL DEFAULT true,   -- false while closed for the season or refurbishment
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  created_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX outlets_code_active_uq ON fb.outlets (property_id, code) WHERE deleted_at IS NULL;
CREATE INDEX outlets_property_type_idx ON fb.outlets (property_id, outlet_type) WHERE deleted_at IS NULL;
CREATE INDEX outlets_opening_hours_gin ON fb.outlets USING gin (opening_hours);
SELECT shared.setup_tenant_table('fb.outlets');

-- Menus: what an outlet serves in a period (summer menu, Christmas set menu) and service time.
CREATE TABLE fb.menus (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id    uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  outlet_id      uuid NOT NULL REFERENCES fb.outlets (id),
  name           text NOT NULL,
  menu_type      text NOT NULL DEFAULT 'a_la_carte'
                 CHECK (menu_type IN ('a_la_carte', 'breakfast', 'lunch', 'dinner', 'bar', 'room_service', 'set_menu', 'banquet', 'kids')),
  valid_from     date NOT NULL,
  valid_to       date,            -- last day served; NULL = until replaced
  available_from time,            -- daily service window, e.g. breakfast 06:30-10:30
  available_to   time,
  is_published   boolean NOT NULL DEFAULT false,   -- drafts are prepared by the chef before going live
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1,
  CONSTRAINT menus_id_outlet_uq UNIQUE (id, outlet_id),
  CONSTRAINT menus_validity CHECK (valid_to IS NULL OR valid_to >= valid_from),
  -- A window may cross midnight (late-night bar menu 22:00-02:00), so only "both or neither".
  CONSTRAINT menus_service_window CHECK ((available_from IS NULL) = (available_to IS NULL))
);
CREATE INDEX menus_outlet_idx ON fb.menus (outlet_id, valid_from) WHERE deleted_at IS NULL;
CREATE INDEX menus_property_idx ON fb.menus (property_id, menu_type) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('fb.menus');

-- Menu items: the outlet's catalogue, placed on menus via fb.menu_entries. code = the POS PLU.
CREATE TABLE fb.menu_items (
  id            uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id   uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  outlet_id     uuid NOT NULL REFERENCES fb.outlets (id),
  code          text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,30}$'),
  name          text NOT NULL,
  description   text,
  category      text NOT NULL CHECK (category IN ('starter', 'soup', 'main', 'side', 'dessert', 'breakfast', 'snack',
                                                  'beverage', 'wine', 'beer', 'spirits', 'cocktail', 'other')),
  price         shared.amount NOT NULL,
  currency      shared.currency_code NOT NULL,
  -- Mapped to billing.tax_rates when posted: alcohol is often taxed differently from food.
  tax_category  text NOT NULL DEFAULT 'food'
                CHECK (tax_category IN ('food', 'non_alcoholic_beverage', 'alcoholic_beverage', 'tobacco', 'service')),
  -- The 14 allergens that EU Regulation 1169/2011 (Annex II) obliges restaurants to declare.
  allergens     text[] NOT NULL DEFAULT '{}'
                CHECK (allergens <@ ARRAY['celery', 'gluten', 'crustaceans', 'eggs', 'fish', 'lupin', 'milk', 'molluscs',
                                          'mustard', 'tree_nuts', 'peanuts', 'sesame', 'soy', 'sulphites']::text[]),
  dietary_tags  text[] NOT NULL DEFAULT '{}',   -- vegan, vegetarian, halal, kosher ...
  prep_station  text NOT NULL DEFAULT 'kitchen' CHECK (prep_station IN ('kitchen', 'pastry', 'bar', 'cold_kitchen', 'none')),
  -- False when the kitchen has run out ("86'd"): servers can no longer order it, the menu stays.
  available     boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1,
  CONSTRAINT menu_items_id_outlet_uq UNIQUE (id, outlet_id)
);
CREATE UNIQUE INDEX menu_items_code_active_uq ON fb.menu_items (outlet_id, code) WHERE deleted_at IS NULL;
CREATE INDEX menu_items_property_idx ON fb.menu_items (property_id, category) WHERE deleted_at IS NULL;
-- "Which dishes contain peanuts?" (a server answering a guest with an allergy).
CREATE INDEX menu_items_allergens_gin ON fb.menu_items USING gin (allergens);
SELECT shared.setup_tenant_table('fb.menu_items');

-- Placement of an item on a menu, in a section, with an optional menu-specific price (the same
-- club sandwich costs more on the room-service menu, which carries a delivery surcharge).
CREATE TABLE fb.menu_entries (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id    uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  outlet_id      uuid NOT NULL REFERENCES fb.outlets (id),
  menu_id        uuid NOT NULL,
  menu_item_id   uuid NOT NULL,
  section        text NOT NULL,   -- as printed: "Starters", "From the grill"
  sort_order     integer NOT NULL DEFAULT 0,
  price_override shared.amount,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1,
  CONSTRAINT menu_entries_menu_fk FOREIGN KEY (menu_id, outlet_id) REFERENCES fb.menus (id, outlet_id),
  CONSTRAINT menu_entries_item_fk FOREIGN KEY (menu_item_id, outlet_id) REFERENCES fb.menu_items (id, outlet_id)
);
CREATE UNIQUE INDEX menu_entries_menu_item_uq ON fb.menu_entries (menu_id, menu_item_id) WHERE deleted_at IS NULL;
CREATE INDEX menu_entries_menu_idx ON fb.menu_entries (menu_id, section, sort_order);
CREATE INDEX menu_entries_item_idx ON fb.menu_entries (menu_item_id);
CREATE INDEX menu_entries_outlet_idx ON fb.menu_entries (outlet_id);
CREATE INDEX menu_entries_property_idx ON fb.menu_entries (property_id) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('fb.menu_entries');

CREATE TABLE fb.dining_tables (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id    uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  outlet_id      uuid NOT NULL REFERENCES fb.outlets (id),
  table_number   text NOT NULL,
  seats          integer NOT NULL CHECK (seats > 0 AND seats <= 50),
  area           text,            -- "terrace", "window", "private room": guests ask for them
  is_combinable  boolean NOT NULL DEFAULT true,   -- can be pushed together for larger parties
  status         text NOT NULL DEFAULT 'in_service' CHECK (status IN ('in_service', 'out_of_service')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1,
  CONSTRAINT dining_tables_id_outlet_uq UNIQUE (id, outlet_id)
);
CREATE UNIQUE INDEX dining_tables_number_active_uq ON fb.dining_tables (outlet_id, table_number) WHERE deleted_at IS NULL;
CREATE INDEX dining_tables_property_idx ON fb.dining_tables (property_id, status) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('fb.dining_tables');

-- The time a booking holds its table. timestamptz + interval is only STABLE (adding days/months
-- depends on the session time zone), so an exclusion constraint cannot use it directly. table_bookings
-- allows only hours/minutes in duration, which add time-zone-independently: IMMUTABLE is then truthful.
CREATE FUNCTION fb.booking_slot(p_starts timestamptz, p_duration interval) RETURNS tstzrange
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT tstzrange(p_starts, p_starts + p_duration, '[)') $$;

CREATE TABLE fb.table_bookings (
  id                      uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id             uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  outlet_id               uuid NOT NULL REFERENCES fb.outlets (id),
  -- Assigned by the host; NULL until then (many restaurants seat by party size on the day).
  dining_table_id         uuid,
  guest_name              text NOT NULL,
  guest_id                uuid,            -- guest.guests(id): another context, id only (in-house or known guest)
  reservation_id          uuid,            -- reservation.reservations(id): another context, id only (hotel guest)
  contact_phone_encrypted shared.pgp_ciphertext,           -- outside guests: shared.encrypt_pii, kept out of the audit log
  party_size              integer NOT NULL CHECK (party_size > 0 AND party_size <= 500),
  booked_for              timestamptz NOT NULL,
  duration                interval NOT NULL DEFAULT interval '90 minutes',
  status                  text NOT NULL DEFAULT 'confirmed'
                          CHECK (status IN ('requested', 'confirmed', 'seated', 'completed', 'cancelled', 'no_show')),
  source                  text NOT NULL DEFAULT 'phone'
                          CHECK (source IN ('phone', 'walk_in', 'front_desk', 'concierge', 'online', 'app')),
  special_requests        text,            -- birthday cake, high chair, allergies announced in advance
  seated_at               timestamptz,
  completed_at            timestamptz,
  cancelled_at            timestamptz,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  created_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at              timestamptz,
  version                 integer NOT NULL DEFAULT 1,
  CONSTRAINT table_bookings_table_fk FOREIGN KEY (dining_table_id, outlet_id) REFERENCES fb.dining_tables (id, outlet_id),
  -- Hours and minutes only (see fb.booking_slot), between a quick drink and a long banquet.
  CONSTRAINT table_bookings_duration CHECK (
    duration >= interval '15 minutes' AND duration <= interval '12 hours'
    AND extract(day FROM duration) = 0 AND extract(month FROM duration) = 0 AND extract(year FROM duration) = 0),
  CONSTRAINT table_bookings_seated_has_table CHECK (status <> 'seated' OR dining_table_id IS NOT NULL),
  CONSTRAINT table_bookings_seated_time CHECK (status NOT IN ('seated', 'completed') OR seated_at IS NOT NULL),
  CONSTRAINT table_bookings_completed_after_seated CHECK (completed_at IS NULL OR completed_at >= seated_at),
  CONSTRAINT table_bookings_cancelled_time CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
  -- No double booking: a table holds one live booking at a time. Confirmed and seated parties block
  -- the table; requests, cancellations, no-shows and finished meals free it. Back-to-back bookings
  -- (19:00-20:30 then 20:30) do not overlap ('[)' bounds).
  CONSTRAINT table_bookings_no_overlap EXCLUDE USING gist (
    dining_table_id WITH =, fb.booking_slot(booked_for, duration) WITH &&)
    WHERE (deleted_at IS NULL AND status IN ('confirmed', 'seated'))
);
CREATE INDEX table_bookings_outlet_time_idx ON fb.table_bookings (outlet_id, booked_for) WHERE deleted_at IS NULL;
CREATE INDEX table_bookings_table_idx ON fb.table_bookings (dining_table_id) WHERE dining_table_id IS NOT NULL;
CREATE INDEX table_bookings_property_status_idx ON fb.table_bookings (property_id, status, booked_for) WHERE deleted_at IS NULL;
CREATE INDEX table_bookings_guest_idx ON fb.table_bookings (guest_id) WHERE guest_id IS NOT NULL;
CREATE INDEX table_bookings_reservation_idx ON fb.table_bookings (reservation_id) WHERE reservation_id IS NOT NULL;
SELECT shared.setup_tenant_table('fb.table_bookings', ARRAY['contact_phone_encrypted']);

-- Orders (checks): settled at the outlet, charged to a guest's room (a billing.folio_charges line with
-- source_type 'fb_order', source_id = this id), or complimentary (manager's comp).
CREATE TABLE fb.orders (
  id                    uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id           uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  outlet_id             uuid NOT NULL REFERENCES fb.outlets (id),
  check_number          text NOT NULL,   -- printed on the check the guest signs
  service_type          text NOT NULL DEFAULT 'dine_in'
                        CHECK (service_type IN ('dine_in', 'bar', 'room_service', 'banquet', 'takeaway')),
  dining_table_id       uuid,
  table_booking_id      uuid REFERENCES fb.table_bookings (id),
  server_id             uuid REFERENCES shared.users (id),   -- the waiter: tips and sales per server
  room_number           text,            -- delivery point for room service, and what the guest writes on a room charge
  settlement            text NOT NULL DEFAULT 'direct' CHECK (settlement IN ('direct', 'room_charge', 'complimentary')),
  reservation_id        uuid,            -- reservation.reservations(id): another context, id only
  folio_id              uuid,            -- billing.folios(id): another context, id only
  folio_charge_id       uuid,            -- billing.folio_charges(id) the check was posted as: another context, id only
  status                text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'sent', 'served', 'paid', 'void')),
  covers                integer NOT NULL DEFAULT 1 CHECK (covers > 0),   -- guests served: F&B reports revenue per cover
  currency              shared.currency_code NOT NULL,
  prices_include_tax    boolean NOT NULL DEFAULT true,
  subtotal              shared.amount NOT NULL DEFAULT 0,
  discount_amount       shared.amount NOT NULL DEFAULT 0,
  service_charge_amount shared.amount NOT NULL DEFAULT 0,
  tax_amount            shared.amount NOT NULL DEFAULT 0,
  tip_amount            shared.amount NOT NULL DEFAULT 0,
  total                 shared.amount NOT NULL DEFAULT 0,
  opened_at             timestamptz NOT NULL DEFAULT now(),
  sent_at               timestamptz,     -- first course fired to the kitchen
  served_at             timestamptz,
  closed_at             timestamptz,
  voided_at             timestamptz,
  void_reason           text,
  notes                 text,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  created_by            uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by            uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at            timestamptz,
  version               integer NOT NULL DEFAULT 1,
  CONSTRAINT orders_id_outlet_uq UNIQUE (id, outlet_id),
  CONSTRAINT orders_table_fk FOREIGN KEY (dining_table_id, outlet_id) REFERENCES fb.dining_tables (id, outlet_id),
  CONSTRAINT orders_discount_le_subtotal CHECK (discount_amount <= subtotal),
  -- Inclusive prices already contain the tax; exclusive ones add it on top.
  CONSTRAINT orders_total CHECK (
    total = subtotal - discount_amount + service_charge_amount + tip_amount
            + CASE WHEN prices_include_tax THEN 0 ELSE tax_amount END),
  CONSTRAINT orders_room_service_room CHECK (service_type <> 'room_service' OR room_number IS NOT NULL),
  -- A room charge needs the stay it goes to; once paid, the folio it was posted on.
  CONSTRAINT orders_room_charge_stay CHECK (settlement <> 'room_charge' OR reservation_id IS NOT NULL),
  CONSTRAINT orders_room_charge_posted CHECK (settlement <> 'room_charge' OR status <> 'paid' OR folio_id IS NOT NULL),
  CONSTRAINT orders_closed CHECK ((status IN ('paid', 'void')) = (closed_at IS NOT NULL)),
  CONSTRAINT orders_closed_after_opened CHECK (closed_at IS NULL OR closed_at >= opened_at),
  CONSTRAINT orders_void CHECK ((status = 'void') = (voided_at IS NOT NULL) AND (status <> 'void' OR void_reason IS NOT NULL))
);
CREATE UNIQUE INDEX orders_check_number_active_uq ON fb.orders (outlet_id, check_number) WHERE deleted_at IS NULL;
CREATE INDEX orders_property_status_idx ON fb.orders (property_id, status) WHERE deleted_at IS NULL;
-- Open checks per outlet: the POS floor plan.
CREATE INDEX orders_outlet_open_idx ON fb.orders (outlet_id, opened_at) WHERE deleted_at IS NULL AND status IN ('open', 'sent', 'served');
CREATE INDEX orders_table_idx ON fb.orders (dining_table_id) WHERE dining_table_id IS NOT NULL;
CREATE INDEX orders_table_booking_idx ON fb.orders (table_booking_id) WHERE table_booking_id IS NOT NULL;
CREATE INDEX orders_server_idx ON fb.orders (server_id) WHERE server_id IS NOT NULL;
CREATE INDEX orders_reservation_idx ON fb.orders (reservation_id) WHERE reservation_id IS NOT NULL;
CREATE INDEX orders_folio_idx ON fb.orders (folio_id) WHERE folio_id IS NOT NULL;
SELECT shared.setup_tenant_table('fb.orders');
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON fb.orders FOR EACH ROW
  EXECUTE FUNCTION shared.publish_domain_event('fb_order');

-- Order lines. name and unit_price are copied from the menu when ordered: a later price change
-- must not alter a check already running.
CREATE TABLE fb.order_items (
  id               uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id      uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  outlet_id        uuid NOT NULL REFERENCES fb.outlets (id),
  order_id         uuid NOT NULL,
  menu_item_id     uuid NOT NULL,
  name             text NOT NULL,
  quantity         numeric(10, 3) NOT NULL DEFAULT 1 CHECK (quantity > 0),   -- fractional: a half bottle, 0.5 kg of lobster
  unit_price       shared.amount NOT NULL,
  -- Free-form choices sent to the kitchen, each possibly priced:
  -- [{"name": "medium rare"}, {"name": "extra bacon", "price": 2.50}].
  modifiers        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(modifiers) = 'array'),
  modifiers_amount shared.amount NOT NULL DEFAULT 0,   -- sum of priced modifiers, per unit
  discount_amount  shared.amount NOT NULL DEFAULT 0,
  line_total       shared.amount NOT NULL,
  course           smallint NOT NULL DEFAULT 1 CHECK (course BETWEEN 1 AND 9),   -- fired to the kitchen course by course
  seat_number      smallint CHECK (seat_number IS NULL OR seat_number > 0),    -- for split checks and serving order
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'sent', 'preparing', 'ready', 'served', 'void')),
  kitchen_note     text,            -- e.g. "nut allergy - seat 3": read by the cook, so kept with the line
  sent_at          timestamptz,
  served_at        timestamptz,
  voided_at        timestamptz,
  void_reason      text,            -- voids after sending are wasted food and are reviewed by the F&B manager
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  created_by       uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by       uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at       timestamptz,
  version          integer NOT NULL DEFAULT 1,
  CONSTRAINT order_items_order_fk FOREIGN KEY (order_id, outlet_id) REFERENCES fb.orders (id, outlet_id),
  CONSTRAINT order_items_menu_item_fk FOREIGN KEY (menu_item_id, outlet_id) REFERENCES fb.menu_items (id, outlet_id),
  CONSTRAINT order_items_line_total CHECK (
    discount_amount <= round(quantity * (unit_price + modifiers_amount), 2)
    AND line_total = round(quantity * (unit_price + modifiers_amount), 2) - discount_amount),
  CONSTRAINT order_items_served_after_sent CHECK (served_at IS NULL OR sent_at IS NULL OR served_at >= sent_at),
  CONSTRAINT order_items_void CHECK ((status = 'void') = (voided_at IS NOT NULL) AND (status <> 'void' OR void_reason IS NOT NULL))
);
CREATE INDEX order_items_order_idx ON fb.order_items (order_id, course);
CREATE INDEX order_items_menu_item_idx ON fb.order_items (menu_item_id);
CREATE INDEX order_items_outlet_idx ON fb.order_items (outlet_id);
-- The kitchen display: lines fired and not yet served, per outlet.
CREATE INDEX order_items_kitchen_idx ON fb.order_items (outlet_id, sent_at)
  WHERE deleted_at IS NULL AND status IN ('sent', 'preparing', 'ready');
CREATE INDEX order_items_property_idx ON fb.order_items (property_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX order_items_modifiers_gin ON fb.order_items USING gin (modifiers jsonb_path_ops);
SELECT shared.setup_tenant_table('fb.order_items');

-- Recipes: how much of each stock item one portion uses. Drives food cost per dish and depletes
-- procurement's stock as dishes are sold, so the purchasing manager reorders in time.
CREATE TABLE fb.recipe_components (
  id            uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id   uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  menu_item_id  uuid NOT NULL REFERENCES fb.menu_items (id),
  stock_item_id uuid NOT NULL,   -- procurement.stock_items(id): another context, id only
  quantity      numeric(12, 4) NOT NULL CHECK (quantity > 0),   -- per portion, in `unit`
  unit          text NOT NULL CHECK (unit IN ('g', 'kg', 'ml', 'cl', 'l', 'piece', 'portion', 'bottle')),
  -- Trim and cooking loss: 1 kg of whole fish yields ~450 g of fillet, so cost is on the bought weight.
  waste_pct     numeric(5, 2) NOT NULL DEFAULT 0 CHECK (waste_pct BETWEEN 0 AND 100),
  is_optional   boolean NOT NULL DEFAULT false,   -- garnish or side the guest may decline
  notes         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX recipe_components_item_stock_uq ON fb.recipe_components (menu_item_id, stock_item_id) WHERE deleted_at IS NULL;
-- "Which dishes are affected if the supplier cannot deliver salmon?"
CREATE INDEX recipe_components_stock_item_idx ON fb.recipe_components (stock_item_id);
CREATE INDEX recipe_components_property_idx ON fb.recipe_components (property_id) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('fb.recipe_components');

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA fb TO authenticated_user, stayos_service;
