-- Operations context: the people who run the building (departments, staff, shifts) and the work
-- they do in it — housekeeping, inspections, maintenance, preventive maintenance, guest service
-- requests, lost and found, and key cards. Rooms, reservations and guests belong to other
-- contexts, so they are referenced by id only; staff may be linked to a shared.users login.

CREATE TABLE operations.departments (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id    uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  code           text NOT NULL CHECK (code ~ '^[A-Z][A-Z0-9_]{1,15}$'),   -- 'HK', 'ENG', 'FO', 'SEC'
  name           text NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('housekeeping', 'engineering', 'front_office', 'security', 'concierge',
                                               'laundry', 'food_beverage', 'spa', 'administration', 'other')),
  cost_center    text,            -- for labour cost reporting to the owner (USALI departments)
  -- The duty phone / radio channel guests' requests are routed to when nobody is assigned.
  duty_phone     text,
  radio_channel  text,
  is_active      boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX departments_code_active_uq ON operations.departments (property_id, code) WHERE deleted_at IS NULL;
CREATE INDEX departments_property_kind_idx ON operations.departments (property_id, kind) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('operations.departments');

CREATE TABLE operations.staff_members (
  id                     uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id            uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  department_id          uuid NOT NULL REFERENCES operations.departments (id),
  -- Many room attendants and agency staff never log in: the login is optional.
  user_id                uuid REFERENCES shared.users (id),
  employee_number        text NOT NULL,
  first_name             text NOT NULL,
  last_name              text NOT NULL,
  job_title              text NOT NULL,   -- 'Room Attendant', 'Shift Engineer', 'Night Auditor'
  employment_type        text NOT NULL DEFAULT 'full_time'
                         CHECK (employment_type IN ('full_time', 'part_time', 'seasonal', 'agency', 'contractor', 'intern')),
  -- Personal mobile for call-outs; personal data, so encrypted by the app and kept out of the audit log.
  mobile_phone_encrypted shared.pgp_ciphertext,
  radio_call_sign        text,
  languages              text[] NOT NULL DEFAULT '{}',   -- to send a speaker of the guest's language
  -- Housekeeping credits one attendant is expected to clean in a standard shift (board planning).
  daily_credit_capacity  numeric(4, 1) CHECK (daily_credit_capacity IS NULL OR daily_credit_capacity > 0),
  hired_on               date,
  terminated_on          date,
  is_active              boolean NOT NULL DEFAULT true,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  created_by             uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by             uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at             timestamptz,
  version                integer NOT NULL DEFAULT 1,
  -- terminated_on may lie in the future (notice period): is_active is switched off on that day.
  CONSTRAINT staff_members_employment_dates CHECK (terminated_on IS NULL OR hired_on IS NULL OR terminated_on >= hired_on)
);
CREATE UNIQUE INDEX staff_members_employee_number_active_uq ON operations.staff_members (property_id, employee_number) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX staff_members_user_active_uq ON operations.staff_members (property_id, user_id)
  WHERE deleted_at IS NULL AND user_id IS NOT NULL;
CREATE INDEX staff_members_department_idx ON operations.staff_members (department_id);
CREATE INDEX staff_members_user_idx ON operations.staff_members (user_id);
CREATE INDEX staff_members_property_active_idx ON operations.staff_members (property_id, is_active, last_name) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('operations.staff_members', ARRAY['mobile_phone_encrypted']);

-- The department head signs off rosters and escalations; added now that staff_members exists.
ALTER TABLE operations.departments ADD COLUMN manager_id uuid REFERENCES operations.staff_members (id);
CREATE INDEX departments_manager_idx ON operations.departments (manager_id);

CREATE TABLE operations.shifts (
  id              uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id     uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  staff_member_id uuid NOT NULL REFERENCES operations.staff_members (id),
  -- The department worked for: cross-trained staff cover other departments.
  department_id   uuid NOT NULL REFERENCES operations.departments (id),
  position        text,            -- 'AM attendant', 'PM turndown', 'night engineer'
  starts_at       timestamptz NOT NULL,
  ends_at         timestamptz NOT NULL,
  break_minutes   integer NOT NULL DEFAULT 0 CHECK (break_minutes >= 0),
  status          text NOT NULL DEFAULT 'scheduled'
                  CHECK (status IN ('scheduled', 'confirmed', 'in_progress', 'completed', 'no_show', 'cancelled')),
  clocked_in_at   timestamptz,
  clocked_out_at  timestamptz,
  notes           text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  created_by      uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by      uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at      timestamptz,
  version         integer NOT NULL DEFAULT 1,
  CONSTRAINT shifts_period CHECK (ends_at > starts_at),
  -- A shift longer than a day is a data-entry error (and a labour-law problem).
  CONSTRAINT shifts_length CHECK (ends_at - starts_at <= interval '24 hours'),
  CONSTRAINT shifts_break CHECK (break_minutes * interval '1 minute' < ends_at - starts_at),
  CONSTRAINT shifts_clock CHECK (clocked_out_at IS NULL OR (clocked_in_at IS NOT NULL AND clocked_out_at > clocked_in_at)),
  -- Nobody can be rostered on two overlapping shifts.
  CONSTRAINT shifts_no_overlap EXCLUDE USING gist (staff_member_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
    WHERE (deleted_at IS NULL AND status NOT IN ('cancelled', 'no_show'))
);
CREATE INDEX shifts_staff_member_idx ON operations.shifts (staff_member_id, starts_at);
CREATE INDEX shifts_department_idx ON operations.shifts (department_id);
CREATE INDEX shifts_property_starts_idx ON operations.shifts (property_id, starts_at, status) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('operations.shifts');

CREATE TABLE operations.housekeeping_tasks (
  id                uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id       uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  room_id           uuid NOT NULL,   -- property_mgmt.rooms(id): another context, id only
  reservation_id    uuid,            -- reservation.reservations(id) of the stay served: another context, id only
  task_type         text NOT NULL CHECK (task_type IN ('stayover', 'departure', 'deep_clean', 'turndown', 'inspection')),
  -- 'rush': the room is promised to an early arrival or a VIP and jumps the board.
  priority          text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'rush')),
  status            text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'in_progress', 'done', 'inspected', 'skipped')),
  scheduled_for     date NOT NULL,   -- the housekeeping day (hotel local date)
  assigned_to       uuid REFERENCES operations.staff_members (id),
  started_at        timestamptz,
  completed_at      timestamptz,
  inspected_by      uuid REFERENCES operations.staff_members (id),
  inspected_at      timestamptz,
  -- Credits weight rooms on the attendants' boards (a suite departure counts more than a stayover).
  credits           numeric(4, 1) NOT NULL DEFAULT 1 CHECK (credits >= 0),
  estimated_minutes integer CHECK (estimated_minutes IS NULL OR estimated_minutes > 0),
  -- Guests refuse service or hang "do not disturb": the skip is recorded with its reason.
  skip_reason       text CHECK (skip_reason IS NULL OR skip_reason IN ('do_not_disturb', 'service_refused', 'room_occupied',
                                                                       'out_of_order', 'guest_request_later', 'other')),
  linen_change      boolean NOT NULL DEFAULT false,   -- green programme: linen only every few nights on stayovers
  notes             text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  created_by        uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by        uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at        timestamptz,
  version           integer NOT NULL DEFAULT 1,
  CONSTRAINT housekeeping_tasks_times CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at),
  CONSTRAINT housekeeping_tasks_done CHECK (status NOT IN ('done', 'inspected') OR completed_at IS NOT NULL),
  CONSTRAINT housekeeping_tasks_inspected CHECK (status <> 'inspected' OR (inspected_by IS NOT NULL AND inspected_at IS NOT NULL)),
  CONSTRAINT housekeeping_tasks_inspection_time CHECK (inspected_at IS NULL OR completed_at IS NULL OR inspected_at >= completed_at),
  CONSTRAINT housekeeping_tasks_skipped CHECK (status <> 'skipped' OR skip_reason IS NOT NULL)
);
-- The daily board generator may run more than once: one live task of a kind per room and day.
CREATE UNIQUE INDEX housekeeping_tasks_room_day_uq ON operations.housekeeping_tasks (property_id, room_id, scheduled_for, task_type)
  WHERE deleted_at IS NULL AND status <> 'skipped';
CREATE INDEX housekeeping_tasks_board_idx ON operations.housekeeping_tasks (property_id, scheduled_for, status, priority) WHERE deleted_at IS NULL;
CREATE INDEX housekeeping_tasks_room_idx ON operations.housekeeping_tasks (room_id, scheduled_for);
CREATE INDEX housekeeping_tasks_reservation_idx ON operations.housekeeping_tasks (reservation_id);
CREATE INDEX housekeeping_tasks_assigned_idx ON operations.housekeeping_tasks (assigned_to, scheduled_for);
CREATE INDEX housekeeping_tasks_inspected_by_idx ON operations.housekeeping_tasks (inspected_by);
SELECT shared.setup_tenant_table('operations.housekeeping_tasks');

CREATE TABLE operations.room_inspections (
  id                   uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id          uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  room_id              uuid NOT NULL,   -- property_mgmt.rooms(id): another context, id only
  housekeeping_task_id uuid REFERENCES operations.housekeeping_tasks (id),   -- the cleaning inspected, if any
  inspector_id         uuid NOT NULL REFERENCES operations.staff_members (id),
  inspection_type      text NOT NULL DEFAULT 'post_clean'
                       CHECK (inspection_type IN ('post_clean', 'vip_pre_arrival', 'quality_audit', 'brand_standard', 'move_out')),
  inspected_at         timestamptz NOT NULL DEFAULT now(),
  score                smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
  passed               boolean NOT NULL,
  -- [{"area": "bathroom", "item": "hair in shower", "severity": "minor", "photo": "..."}]: searched by area/item.
  defects              jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(defects) = 'array'),
  -- A failed room goes back to the attendant before it may be released to the front desk.
  reclean_required     boolean NOT NULL DEFAULT false,
  maintenance_required boolean NOT NULL DEFAULT false,
  notes                text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  created_by           uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by           uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at           timestamptz,
  version              integer NOT NULL DEFAULT 1,
  CONSTRAINT room_inspections_failed_reclean CHECK (passed OR reclean_required OR maintenance_required)
);
CREATE INDEX room_inspections_property_room_idx ON operations.room_inspections (property_id, room_id, inspected_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX room_inspections_property_failed_idx ON operations.room_inspections (property_id, inspected_at) WHERE deleted_at IS NULL AND NOT passed;
CREATE INDEX room_inspections_task_idx ON operations.room_inspections (housekeeping_task_id);
CREATE INDEX room_inspections_inspector_idx ON operations.room_inspections (inspector_id, inspected_at);
CREATE INDEX room_inspections_defects_gin ON operations.room_inspections USING gin (defects jsonb_path_ops);
SELECT shared.setup_tenant_table('operations.room_inspections');

-- Equipment register: what engineering maintains, where it is, and until when the vendor pays.
CREATE TABLE operations.assets (
  id              uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id     uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  asset_tag       text NOT NULL,   -- the barcode/label stuck on the equipment
  name            text NOT NULL,
  category        text NOT NULL CHECK (category IN ('hvac', 'boiler', 'elevator', 'kitchen', 'laundry', 'plumbing', 'electrical',
                                                    'fire_safety', 'pool_spa', 'furniture', 'it_av', 'vehicle', 'other')),
  manufacturer    text,
  model           text,
  serial_number   text,
  room_id         uuid,            -- property_mgmt.rooms(id) when installed in a guest room: another context, id only
  location        text NOT NULL,   -- 'Plant room B1', 'Kitchen line 2', 'Room 412 bathroom'
  installed_on    date,
  purchase_cost   shared.amount,
  currency        shared.currency_code,
  warranty_until  date,
  status          text NOT NULL DEFAULT 'in_service' CHECK (status IN ('in_service', 'out_of_service', 'retired')),
  retired_on      date,
  supplier_id     uuid,            -- procurement.suppliers(id) that sold/services it: another context, id only
  attributes      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),   -- capacity, refrigerant, kW…
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  created_by      uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by      uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at      timestamptz,
  version         integer NOT NULL DEFAULT 1,
  CONSTRAINT assets_cost_currency CHECK (purchase_cost IS NULL OR currency IS NOT NULL),
  CONSTRAINT assets_warranty CHECK (warranty_until IS NULL OR installed_on IS NULL OR warranty_until >= installed_on),
  CONSTRAINT assets_retired CHECK ((status = 'retired') = (retired_on IS NOT NULL)),
  CONSTRAINT assets_retired_after_install CHECK (retired_on IS NULL OR installed_on IS NULL OR retired_on >= installed_on)
);
CREATE UNIQUE INDEX assets_tag_active_uq ON operations.assets (property_id, asset_tag) WHERE deleted_at IS NULL;
CREATE INDEX assets_property_category_idx ON operations.assets (property_id, category, status) WHERE deleted_at IS NULL;
-- "Which warranties run out this quarter?" before paying a contractor for a covered repair.
CREATE INDEX assets_property_warranty_idx ON operations.assets (property_id, warranty_until) WHERE deleted_at IS NULL AND warranty_until IS NOT NULL;
CREATE INDEX assets_room_idx ON operations.assets (room_id);
CREATE INDEX assets_supplier_idx ON operations.assets (supplier_id);
CREATE INDEX assets_attributes_gin ON operations.assets USING gin (attributes);
SELECT shared.setup_tenant_table('operations.assets');

CREATE TABLE operations.preventive_maintenance_schedules (
  id                      uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id             uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  asset_id                uuid NOT NULL REFERENCES operations.assets (id),
  name                    text NOT NULL,   -- 'Quarterly filter change', 'Annual boiler service'
  department_id           uuid REFERENCES operations.departments (id),   -- who does it (engineering, or laundry for its own machines)
  interval_days           integer NOT NULL CHECK (interval_days > 0),
  -- Work orders are raised this many days before the due date so parts can be ordered in time.
  lead_days               integer NOT NULL DEFAULT 7 CHECK (lead_days >= 0),
  last_done_on            date,
  next_due_on             date NOT NULL,
  estimated_minutes       integer CHECK (estimated_minutes IS NULL OR estimated_minutes > 0),
  -- Statutory inspections (lifts, fire systems, legionella) must be done by a certified contractor.
  is_statutory            boolean NOT NULL DEFAULT false,
  contractor_supplier_id  uuid,            -- procurement.suppliers(id): another context, id only
  checklist               jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(checklist) = 'array'),
  is_active               boolean NOT NULL DEFAULT true,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  created_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at              timestamptz,
  version                 integer NOT NULL DEFAULT 1,
  CONSTRAINT pm_schedules_due_after_done CHECK (last_done_on IS NULL OR next_due_on > last_done_on),
  CONSTRAINT pm_schedules_lead CHECK (lead_days < interval_days)
);
CREATE UNIQUE INDEX pm_schedules_asset_name_active_uq ON operations.preventive_maintenance_schedules (asset_id, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX pm_schedules_property_due_idx ON operations.preventive_maintenance_schedules (property_id, next_due_on)
  WHERE deleted_at IS NULL AND is_active;
CREATE INDEX pm_schedules_asset_idx ON operations.preventive_maintenance_schedules (asset_id);
CREATE INDEX pm_schedules_department_idx ON operations.preventive_maintenance_schedules (department_id);
CREATE INDEX pm_schedules_contractor_idx ON operations.preventive_maintenance_schedules (contractor_supplier_id);
CREATE INDEX pm_schedules_checklist_gin ON operations.preventive_maintenance_schedules USING gin (checklist jsonb_path_ops);
SELECT shared.setup_tenant_table('operations.preventive_maintenance_schedules');

-- Guest requests ("two more towels", "the TV does not work"): high volume, so partitioned by
-- quarter on created_at (retention drops whole partitions). FKs *to* it would need created_at:
-- other tables keep its id only.
CREATE TABLE operations.service_requests (
  id               uuid NOT NULL DEFAULT shared.new_id(),
  property_id      uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  reservation_id   uuid,            -- reservation.reservations(id): another context, id only
  guest_id         uuid,            -- guest.profiles(id): another context, id only
  room_id          uuid,            -- property_mgmt.rooms(id): another context, id only
  location         text,            -- when not in a room: 'Pool bar', 'Lobby'
  category         text NOT NULL CHECK (category IN ('housekeeping', 'amenity', 'maintenance', 'wake_up_call', 'transport',
                                                     'concierge', 'room_service', 'laundry', 'noise', 'complaint', 'other')),
  description      text NOT NULL,
  channel          text NOT NULL CHECK (channel IN ('phone', 'front_desk', 'mobile_app', 'messaging', 'in_person', 'tv', 'email')),
  priority         text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
  status           text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'acknowledged', 'in_progress', 'resolved', 'cancelled')),
  department_id    uuid REFERENCES operations.departments (id),
  assigned_to      uuid REFERENCES operations.staff_members (id),
  -- The promise made to the guest ("towels within 15 minutes"); breaches are escalated to the duty manager.
  sla_due_at       timestamptz,
  acknowledged_at  timestamptz,
  resolved_at      timestamptz,
  resolution_notes text,
  -- Follow-up call after resolution: service-recovery scores feed the guest-satisfaction report.
  guest_rating     smallint CHECK (guest_rating IS NULL OR guest_rating BETWEEN 1 AND 5),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  created_by       uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by       uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at       timestamptz,
  version          integer NOT NULL DEFAULT 1,
  PRIMARY KEY (id, created_at),
  CONSTRAINT service_requests_sla CHECK (sla_due_at IS NULL OR sla_due_at >= created_at),
  CONSTRAINT service_requests_acknowledged CHECK (acknowledged_at IS NULL OR acknowledged_at >= created_at),
  CONSTRAINT service_requests_resolved_at CHECK (resolved_at IS NULL OR resolved_at >= created_at),
  CONSTRAINT service_requests_resolved CHECK (status <> 'resolved' OR resolved_at IS NOT NULL),
  CONSTRAINT service_requests_rating CHECK (guest_rating IS NULL OR status = 'resolved')
) PARTITION BY RANGE (created_at);
SELECT shared.ensure_partitions('operations.service_requests', 'quarter', 1, 2);
-- The duty manager's screen: open requests of the property by SLA.
CREATE INDEX service_requests_property_open_idx ON operations.service_requests (property_id, status, sla_due_at) WHERE deleted_at IS NULL;
CREATE INDEX service_requests_property_created_idx ON operations.service_requests (property_id, created_at);
CREATE INDEX service_requests_reservation_idx ON operations.service_requests (reservation_id);
CREATE INDEX service_requests_guest_idx ON operations.service_requests (guest_id);
CREATE INDEX service_requests_room_idx ON operations.service_requests (room_id);
CREATE INDEX service_requests_department_idx ON operations.service_requests (department_id);
CREATE INDEX service_requests_assigned_idx ON operations.service_requests (assigned_to);
SELECT shared.setup_tenant_table('operations.service_requests');
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON operations.service_requests FOR EACH ROW
  EXECUTE FUNCTION shared.publish_domain_event('service_request');

CREATE TABLE operations.maintenance_requests (
  id                 uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id        uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  request_number     text NOT NULL,   -- quoted on the radio and on the engineer's job sheet
  room_id            uuid,            -- property_mgmt.rooms(id): another context, id only
  area               text,            -- public or back-of-house area when not a guest room
  asset_id           uuid REFERENCES operations.assets (id),
  -- The guest request it came from (partitioned table: id only, no FK).
  service_request_id uuid,
  room_inspection_id uuid REFERENCES operations.room_inspections (id),   -- raised from a failed inspection
  category           text NOT NULL CHECK (category IN ('plumbing', 'electrical', 'hvac', 'furniture', 'appliance', 'structural',
                                                       'elevator', 'it_telecom', 'safety', 'pest_control', 'painting', 'other')),
  priority           text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'emergency')),
  status             text NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'acknowledged', 'in_progress', 'on_hold', 'resolved', 'closed', 'cancelled')),
  title              text NOT NULL,
  description        text,
  reported_by        uuid REFERENCES operations.staff_members (id),
  reported_at        timestamptz NOT NULL DEFAULT now(),
  acknowledged_at    timestamptz,
  resolved_at        timestamptz,
  -- Out of order: the room is taken out of sellable inventory for [from, to) — it returns to sale on `to`.
  out_of_order       boolean NOT NULL DEFAULT false,
  out_of_order_from  date,
  out_of_order_to    date,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  created_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by         uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1,
  CONSTRAINT maintenance_requests_where CHECK (room_id IS NOT NULL OR area IS NOT NULL),
  CONSTRAINT maintenance_requests_ooo_dates CHECK (out_of_order_to IS NULL OR out_of_order_from IS NULL OR out_of_order_to > out_of_order_from),
  CONSTRAINT maintenance_requests_ooo CHECK (NOT out_of_order OR (room_id IS NOT NULL AND out_of_order_from IS NOT NULL AND out_of_order_to IS NOT NULL)),
  CONSTRAINT maintenance_requests_acknowledged CHECK (acknowledged_at IS NULL OR acknowledged_at >= reported_at),
  CONSTRAINT maintenance_requests_resolved_at CHECK (resolved_at IS NULL OR resolved_at >= reported_at),
  CONSTRAINT maintenance_requests_resolved CHECK (status NOT IN ('resolved', 'closed') OR resolved_at IS NOT NULL),
  -- One room cannot be out of order twice for the same night (inventory would be subtracted twice).
  CONSTRAINT maintenance_requests_ooo_no_overlap EXCLUDE USING gist
    (room_id WITH =, daterange(out_of_order_from, out_of_order_to) WITH &&) WHERE (deleted_at IS NULL AND out_of_order)
);
CREATE UNIQUE INDEX maintenance_requests_number_active_uq ON operations.maintenance_requests (property_id, request_number) WHERE deleted_at IS NULL;
CREATE INDEX maintenance_requests_property_status_idx ON operations.maintenance_requests (property_id, status, priority) WHERE deleted_at IS NULL;
CREATE INDEX maintenance_requests_room_idx ON operations.maintenance_requests (room_id);
CREATE INDEX maintenance_requests_asset_idx ON operations.maintenance_requests (asset_id);
CREATE INDEX maintenance_requests_service_request_idx ON operations.maintenance_requests (service_request_id);
CREATE INDEX maintenance_requests_inspection_idx ON operations.maintenance_requests (room_inspection_id);
CREATE INDEX maintenance_requests_reported_by_idx ON operations.maintenance_requests (reported_by);
SELECT shared.setup_tenant_table('operations.maintenance_requests');

CREATE TABLE operations.work_orders (
  id                      uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id             uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  work_order_number       text NOT NULL,
  -- Corrective work comes from a request, planned work from a preventive schedule.
  maintenance_request_id  uuid REFERENCES operations.maintenance_requests (id),
  pm_schedule_id          uuid REFERENCES operations.preventive_maintenance_schedules (id),
  asset_id                uuid REFERENCES operations.assets (id),
  assigned_to             uuid REFERENCES operations.staff_members (id),
  contractor_supplier_id  uuid,            -- procurement.suppliers(id) for outsourced work: another context, id only
  status                  text NOT NULL DEFAULT 'open'
                          CHECK (status IN ('open', 'assigned', 'in_progress', 'waiting_parts', 'completed', 'cancelled')),
  description             text NOT NULL,
  scheduled_for           date,
  started_at              timestamptz,
  completed_at            timestamptz,
  labour_minutes          integer NOT NULL DEFAULT 0 CHECK (labour_minutes >= 0),
  -- Costs are charged to the engineering department (repairs & maintenance) in the P&L.
  parts_cost              shared.amount NOT NULL DEFAULT 0,
  contractor_cost         shared.amount NOT NULL DEFAULT 0,
  currency                shared.currency_code NOT NULL,
  resolution_notes        text,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  created_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by              uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at              timestamptz,
  version                 integer NOT NULL DEFAULT 1,
  CONSTRAINT work_orders_origin CHECK (maintenance_request_id IS NOT NULL OR pm_schedule_id IS NOT NULL),
  CONSTRAINT work_orders_times CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at),
  CONSTRAINT work_orders_completed CHECK (status <> 'completed' OR completed_at IS NOT NULL),
  CONSTRAINT work_orders_contractor_cost CHECK (contractor_cost = 0 OR contractor_supplier_id IS NOT NULL)
);
CREATE UNIQUE INDEX work_orders_number_active_uq ON operations.work_orders (property_id, work_order_number) WHERE deleted_at IS NULL;
CREATE INDEX work_orders_property_status_idx ON operations.work_orders (property_id, status, scheduled_for) WHERE deleted_at IS NULL;
CREATE INDEX work_orders_request_idx ON operations.work_orders (maintenance_request_id);
CREATE INDEX work_orders_pm_schedule_idx ON operations.work_orders (pm_schedule_id);
CREATE INDEX work_orders_asset_idx ON operations.work_orders (asset_id);
CREATE INDEX work_orders_assigned_idx ON operations.work_orders (assigned_to);
CREATE INDEX work_orders_contractor_idx ON operations.work_orders (contractor_supplier_id);
SELECT shared.setup_tenant_table('operations.work_orders');

CREATE TABLE operations.lost_and_found_items (
  id                          uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id                 uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  item_number                 text NOT NULL,   -- written on the bag tag in the L&F store
  found_at                    timestamptz NOT NULL,
  found_by                    uuid REFERENCES operations.staff_members (id),
  room_id                     uuid,            -- property_mgmt.rooms(id): another context, id only
  location                    text NOT NULL,   -- 'Room 305 wardrobe', 'Spa changing room'
  category                    text NOT NULL CHECK (category IN ('electronics', 'clothing', 'jewellery', 'documents', 'keys', 'bags',
                                                                'cash', 'glasses', 'toiletries', 'toys', 'other')),
  description                 text NOT NULL,
  -- Valuables go to the safe and are logged by security, with a second witness.
  is_valuable                 boolean NOT NULL DEFAULT false,
  storage_location            text,
  reservation_id              uuid,            -- reservation.reservations(id) of the probable owner: another context, id only
  guest_id                    uuid,            -- guest.profiles(id) of the probable owner: another context, id only
  status                      text NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'returned', 'disposed')),
  -- House policy: e.g. 90 days, 6 months for valuables; after that the item may be disposed of.
  holding_until               date NOT NULL,
  returned_at                 timestamptz,
  return_method               text CHECK (return_method IS NULL OR return_method IN ('in_person', 'courier', 'post')),
  shipping_tracking           text,
  -- Whoever collected it (may not be a registered guest): personal data, encrypted, kept out of the audit log.
  claimant_name_encrypted     shared.pgp_ciphertext,
  claimant_contact_encrypted  shared.pgp_ciphertext,
  disposed_at                 timestamptz,
  disposal_method             text CHECK (disposal_method IS NULL OR disposal_method IN ('donated', 'destroyed', 'handed_to_police', 'given_to_finder')),
  notes                       text,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  updated_at                  timestamptz NOT NULL DEFAULT now(),
  created_by                  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by                  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at                  timestamptz,
  version                     integer NOT NULL DEFAULT 1,
  CONSTRAINT lost_and_found_returned CHECK ((status = 'returned') = (returned_at IS NOT NULL) AND (returned_at IS NULL OR returned_at >= found_at)),
  CONSTRAINT lost_and_found_return_method CHECK (status <> 'returned' OR return_method IS NOT NULL),
  CONSTRAINT lost_and_found_disposed CHECK ((status = 'disposed') = (disposed_at IS NOT NULL) AND (disposed_at IS NULL OR disposed_at >= found_at)),
  CONSTRAINT lost_and_found_disposal_method CHECK (status <> 'disposed' OR disposal_method IS NOT NULL)
);
CREATE UNIQUE INDEX lost_and_found_number_active_uq ON operations.lost_and_found_items (property_id, item_number) WHERE deleted_at IS NULL;
-- "What can be disposed of this week?" and the daily held-items check.
CREATE INDEX lost_and_found_property_status_idx ON operations.lost_and_found_items (property_id, status, holding_until) WHERE deleted_at IS NULL;
CREATE INDEX lost_and_found_found_by_idx ON operations.lost_and_found_items (found_by);
CREATE INDEX lost_and_found_room_idx ON operations.lost_and_found_items (room_id);
CREATE INDEX lost_and_found_reservation_idx ON operations.lost_and_found_items (reservation_id);
CREATE INDEX lost_and_found_guest_idx ON operations.lost_and_found_items (guest_id);
SELECT shared.setup_tenant_table('operations.lost_and_found_items', ARRAY['claimant_name_encrypted', 'claimant_contact_encrypted']);

-- Key cards as encoded by the door-lock system. Physical cards are reused: encoding a card again
-- first revokes its previous encoding, so a serial is live at most once per property.
CREATE TABLE operations.key_cards (
  id               uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id      uuid NOT NULL,   -- property_mgmt.properties(id): another context, id only
  card_serial      text NOT NULL,   -- the card's RFID UID as read by the encoder
  card_kind        text NOT NULL DEFAULT 'guest' CHECK (card_kind IN ('guest', 'staff')),
  room_id          uuid,            -- property_mgmt.rooms(id): another context, id only
  reservation_id   uuid,            -- reservation.reservations(id): another context, id only
  staff_member_id  uuid REFERENCES operations.staff_members (id),   -- holder of a staff card
  issued_by        uuid REFERENCES operations.staff_members (id),   -- front-desk agent who encoded it
  encoder_id       text,            -- which encoder at which desk: traces a wrongly issued card
  access_areas     text[] NOT NULL DEFAULT '{}',   -- 'gym', 'pool', 'club_lounge', 'parking'
  valid_from       timestamptz NOT NULL,
  valid_to         timestamptz NOT NULL,
  revoked_at       timestamptz,
  revoke_reason    text CHECK (revoke_reason IS NULL OR revoke_reason IN ('checked_out', 'lost', 'reissued', 'room_move',
                                                                          'security', 'staff_left')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  created_by       uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by       uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at       timestamptz,
  version          integer NOT NULL DEFAULT 1,
  CONSTRAINT key_cards_validity CHECK (valid_to > valid_from),
  CONSTRAINT key_cards_guest CHECK (card_kind <> 'guest' OR (room_id IS NOT NULL AND reservation_id IS NOT NULL)),
  CONSTRAINT key_cards_staff CHECK (card_kind <> 'staff' OR staff_member_id IS NOT NULL),
  CONSTRAINT key_cards_revoked CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
);
CREATE UNIQUE INDEX key_cards_serial_active_uq ON operations.key_cards (property_id, card_serial)
  WHERE deleted_at IS NULL AND revoked_at IS NULL;
-- At check-out / room move every live card of the room is revoked.
CREATE INDEX key_cards_property_room_idx ON operations.key_cards (property_id, room_id, valid_to) WHERE deleted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX key_cards_reservation_idx ON operations.key_cards (reservation_id);
CREATE INDEX key_cards_staff_member_idx ON operations.key_cards (staff_member_id);
CREATE INDEX key_cards_issued_by_idx ON operations.key_cards (issued_by);
SELECT shared.setup_tenant_table('operations.key_cards');
