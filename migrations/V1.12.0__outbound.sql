-- Outbound ARI sync: what each OTA acknowledged per cell, one log row per request, the errors the
-- revenue team reads, each connection's health (circuit breaker), Booking.com tokens, and the shared rate-limit
-- counters. The sync workers (connectors/) are the only writers.

-- A claim names its worker's pass: a worker clears or releases only the cells it still holds. A
-- claim older than the lease (a worker that stopped mid-push) is taken over by another worker.
ALTER TABLE channel.ari_dirty_cells ADD COLUMN claim_id uuid;
-- Claiming and releasing a cell touch no indexed column, so with room left on each page they are
-- HOT updates (no index writes). The in-flight index of V1.11.0 is dropped for that: the CDC
-- consumer's upsert finds in-flight cells through the unique cell index.
DROP INDEX channel.ari_dirty_cells_in_flight_idx;
ALTER TABLE channel.ari_dirty_cells SET (fillfactor = 70);

-- What the OTA last acknowledged for each cell, per part (availability; rate; restrictions), in
-- the OTA vocabulary of connectors/types.ts. A push sends only the parts whose current value
-- differs from this: the deltas both OTAs ask for. A part is NULL until the OTA acknowledged it
-- (then it is always sent). Derived state rebuilt by a full sync (which forgets it first), so no
-- audit and no row triggers: a full sync writes tens of thousands of these rows.
CREATE TABLE channel.ari_acknowledged (
  id                  uuid PRIMARY KEY DEFAULT shared.new_id(),
  connection_id       uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id         uuid NOT NULL,
  room_type_id        uuid NOT NULL,   -- property_mgmt.room_types(id), id only
  rate_plan_id        uuid NOT NULL,   -- property_mgmt.rate_plans(id), id only
  stay_date           date NOT NULL,
  availability        integer CHECK (availability >= 0),
  avail_acked_at      timestamptz,
  rate                numeric(12, 2),
  currency            char(3),
  rate_acked_at       timestamptz,
  min_los             integer,
  max_los             integer,
  closed_to_arrival   boolean,
  closed_to_departure boolean,
  closed              boolean,
  restr_acked_at      timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  created_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by          uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at          timestamptz,
  version             integer NOT NULL DEFAULT 1
);
-- Forgotten before each push and stored after it: HOT updates, with room left on each page.
ALTER TABLE channel.ari_acknowledged SET (fillfactor = 70);
CREATE UNIQUE INDEX ari_acknowledged_cell_uq ON channel.ari_acknowledged (connection_id, room_type_id, rate_plan_id, stay_date);
CREATE INDEX ari_acknowledged_property_idx ON channel.ari_acknowledged (property_id);
SELECT shared.enable_tenant_rls('channel.ari_acknowledged');

-- One row per OTA request (and per token exchange): what was sent, how it ended, how long it took.
-- Never the body, never credentials. Append-only, partitioned by month, kept 6 months.
CREATE TABLE channel.sync_log (
  id            uuid NOT NULL DEFAULT shared.new_id(),
  connection_id uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id   uuid NOT NULL,
  channel_code  text NOT NULL CHECK (channel_code IN ('booking_com', 'expedia', 'opentravel')),
  message_kind  text NOT NULL CHECK (message_kind IN ('avail', 'rate', 'ar', 'token')),
  cells         integer NOT NULL DEFAULT 0 CHECK (cells >= 0),
  ranges        integer NOT NULL DEFAULT 0 CHECK (ranges >= 0),
  bytes         integer NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  status        text NOT NULL CHECK (status IN ('success', 'partial', 'failed')),
  http_status   integer,
  ota_codes     text[] NOT NULL DEFAULT '{}',   -- the OTA's error/warning codes, in answer order
  error_code    text,                           -- core/errors.ts code when it failed
  message       text,
  attempts      integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
  duration_ms   integer NOT NULL CHECK (duration_ms >= 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX sync_log_connection_idx ON channel.sync_log (connection_id, created_at);
CREATE INDEX sync_log_property_idx ON channel.sync_log (property_id, created_at);
CREATE INDEX sync_log_created_by_idx ON channel.sync_log (created_by);
SELECT shared.attach_standard_triggers('channel.sync_log', with_audit => false);
SELECT shared.make_append_only('channel.sync_log');
SELECT shared.enable_tenant_rls('channel.sync_log', writable => false);
SELECT shared.ensure_partitions('channel.sync_log', 'month', 1, 3);
INSERT INTO compliance.retention_policies (table_name, partition_step, retention, premake, legal_basis)
VALUES ('channel.sync_log', 'month', interval '6 months', 3, 'Operational log of OTA requests, kept 6 months');

-- What went wrong talking to an OTA, for the dashboard: one open row per (connection, kind, OTA
-- code, subject), counted up on repeats, resolved when the cause goes away (a later success, the
-- cell no longer overbooked). severity: 'alert' needs a human now (overbooking, authentication),
-- 'error' an update the OTA refused or could not take, 'warning' applied but worth a look.
CREATE TABLE channel.sync_errors (
  id            uuid PRIMARY KEY DEFAULT shared.new_id(),
  connection_id uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id   uuid NOT NULL,
  severity      text NOT NULL CHECK (severity IN ('warning', 'error', 'alert')),
  kind          text NOT NULL CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking')),
  error_code    text NOT NULL,   -- core/errors.ts code, or OVERBOOKING
  ota_code      text,
  message       text NOT NULL,
  room_type_id  uuid,
  rate_plan_id  uuid,
  stay_from     date,
  stay_to       date,
  last_sync_log_id uuid,         -- channel.sync_log(id) of the latest occurrence (partitioned: no FK)
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
CREATE UNIQUE INDEX sync_errors_open_uq ON channel.sync_errors
  (connection_id, kind, coalesce(ota_code, ''), coalesce(room_type_id::text, ''), coalesce(rate_plan_id::text, ''), coalesce(stay_from, '-infinity'::date))
  WHERE resolved_at IS NULL AND deleted_at IS NULL;
CREATE INDEX sync_errors_connection_idx ON channel.sync_errors (connection_id, last_seen_at);
CREATE INDEX sync_errors_property_idx ON channel.sync_errors (property_id) WHERE resolved_at IS NULL;
SELECT shared.setup_tenant_table('channel.sync_errors');

-- Each connection's sync health, shared by every worker on every machine: the circuit breaker
-- (consecutive failures; no request before retry_at). Written on every failed request, so it
-- lives apart from channel_connections (whose changes are audited and published): the
-- connection's status there changes only on a transition (active → degraded → down and back).
CREATE TABLE channel.connection_sync_state (
  id                   uuid PRIMARY KEY DEFAULT shared.new_id(),
  connection_id        uuid NOT NULL REFERENCES channel.channel_connections (id),
  property_id          uuid NOT NULL,
  consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  retry_at             timestamptz,
  last_attempt_at      timestamptz,
  last_success_at      timestamptz,
  last_error           text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  created_by           uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by           uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at           timestamptz,
  version              integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX connection_sync_state_connection_uq ON channel.connection_sync_state (connection_id);
CREATE INDEX connection_sync_state_property_idx ON channel.connection_sync_state (property_id);
SELECT shared.enable_tenant_rls('channel.connection_sync_state');

-- Booking.com tokens, per machine account (its client_id, stored as a SHA-256 hash): one account
-- often serves many hotels, and Booking.com's limit of 30 tokens an hour is per account. The
-- token is encrypted and shared by every worker and connection of the account; the exchange runs
-- under this row's lock. Not tenant data (an account spans properties).
CREATE TABLE channel.ota_tokens (
  id               uuid PRIMARY KEY DEFAULT shared.new_id(),
  channel_code     text NOT NULL CHECK (channel_code IN ('booking_com')),
  account_hash     text NOT NULL CHECK (account_hash ~ '^[0-9a-f]{64}$'),
  token            shared.pgp_ciphertext,
  expires_at       timestamptz,
  window_start     timestamptz,
  exchanges        integer NOT NULL DEFAULT 0 CHECK (exchanges >= 0),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  created_by       uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by       uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at       timestamptz,
  version          integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX ota_tokens_account_uq ON channel.ota_tokens (channel_code, account_hash);

-- Per-connection request budgets, shared by all workers: the table of the rate-limiter-flexible
-- library (RateLimiterPostgres inserts positionally into its first three columns: key, points,
-- expire). Its keys are connection ids; not tenant data.
CREATE TABLE channel.ota_rate_limits (
  key        varchar(255) NOT NULL,
  points     integer NOT NULL DEFAULT 0,
  expire     bigint,
  id         uuid PRIMARY KEY DEFAULT shared.new_id(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  created_by uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at timestamptz,
  version    integer NOT NULL DEFAULT 1,
  CONSTRAINT ota_rate_limits_key_uq UNIQUE (key)
);

-- The tenant tables got their grants from enable_tenant_rls(); the counters are the pipeline's alone.
GRANT SELECT, INSERT, UPDATE, DELETE ON channel.ota_rate_limits, channel.ota_tokens TO stayos_service;
