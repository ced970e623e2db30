-- StayOS shared foundation: schemas, roles, id generation, users, the standard triggers every
-- table uses, and the two tables those triggers write to (the audit log and the domain-event
-- outbox), which therefore must exist before any other context.
-- Works on PostgreSQL 15 and 18: version-specific choices are made at run time (see new_id()).

CREATE SCHEMA IF NOT EXISTS shared;
CREATE SCHEMA IF NOT EXISTS property_mgmt;
CREATE SCHEMA IF NOT EXISTS reservation;
CREATE SCHEMA IF NOT EXISTS guest;
CREATE SCHEMA IF NOT EXISTS operations;
CREATE SCHEMA IF NOT EXISTS billing;
CREATE SCHEMA IF NOT EXISTS fb;
CREATE SCHEMA IF NOT EXISTS procurement;
CREATE SCHEMA IF NOT EXISTS compliance;
CREATE SCHEMA IF NOT EXISTS channel;
CREATE SCHEMA IF NOT EXISTS audit;

-- Extensions live in `shared` so that undo removes exactly what we installed.
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA shared;   -- PII encryption, bcrypt
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA shared; -- exclusion/GiST over (uuid, daterange)

-- Roles are cluster-wide: create them only when missing, and never drop them in undo (other
-- databases on the same server may use them).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated_user') THEN
    CREATE ROLE authenticated_user NOLOGIN;   -- API requests run as this, RLS-bound to one property
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stayos_service') THEN
    CREATE ROLE stayos_service NOLOGIN;       -- the pipeline (CDC, connectors, ingestion): all properties
  END IF;
  -- The migrating role runs the SECURITY DEFINER triggers; it must pass the service policy even
  -- when it is not a superuser (managed PostgreSQL), because RLS is FORCEd on every tenant table.
  IF NOT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
                 WHERE r.rolname = 'stayos_service' AND m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user))
     AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT stayos_service TO %I', current_user);
  END IF;
END $$;

GRANT USAGE ON SCHEMA shared, property_mgmt, reservation, guest, operations, billing, fb, procurement,
  compliance, channel, audit TO authenticated_user, stayos_service;

-- ---------------------------------------------------------------------------------------------
-- Domains: business rules shared by every context.
-- ISO 4217 active codes (incl. funds and precious-metal codes): a typo like 'EUE' or 'ZZZ' is refused.
CREATE DOMAIN shared.currency_code AS char(3) CHECK (VALUE IN (
  'AED', 'AFN', 'ALL', 'AMD', 'ANG', 'AOA', 'ARS', 'AUD', 'AWG', 'AZN', 'BAM', 'BBD', 'BDT', 'BGN', 'BHD', 'BIF',
  'BMD', 'BND', 'BOB', 'BOV', 'BRL', 'BSD', 'BTN', 'BWP', 'BYN', 'BZD', 'CAD', 'CDF', 'CHE', 'CHF', 'CHW', 'CLF',
  'CLP', 'CNY', 'COP', 'COU', 'CRC', 'CUC', 'CUP', 'CVE', 'CZK', 'DJF', 'DKK', 'DOP', 'DZD', 'EGP', 'ERN', 'ETB',
  'EUR', 'FJD', 'FKP', 'GBP', 'GEL', 'GHS', 'GIP', 'GMD', 'GNF', 'GTQ', 'GYD', 'HKD', 'HNL', 'HTG', 'HUF', 'IDR',
  'ILS', 'INR', 'IQD', 'IRR', 'ISK', 'JMD', 'JOD', 'JPY', 'KES', 'KGS', 'KHR', 'KMF', 'KPW', 'KRW', 'KWD', 'KYD',
  'KZT', 'LAK', 'LBP', 'LKR', 'LRD', 'LSL', 'LYD', 'MAD', 'MDL', 'MGA', 'MKD', 'MMK', 'MNT', 'MOP', 'MRU', 'MUR',
  'MVR', 'MWK', 'MXN', 'MXV', 'MYR', 'MZN', 'NAD', 'NGN', 'NIO', 'NOK', 'NPR', 'NZD', 'OMR', 'PAB', 'PEN', 'PGK',
  'PHP', 'PKR', 'PLN', 'PYG', 'QAR', 'RON', 'RSD', 'RUB', 'RWF', 'SAR', 'SBD', 'SCR', 'SDG', 'SEK', 'SGD', 'SHP',
  'SLE', 'SLL', 'SOS', 'SRD', 'SSP', 'STN', 'SVC', 'SYP', 'SZL', 'THB', 'TJS', 'TMT', 'TND', 'TOP', 'TRY', 'TTD',
  'TWD', 'TZS', 'UAH', 'UGX', 'USD', 'USN', 'UYI', 'UYU', 'UYW', 'UZS', 'VED', 'VES', 'VND', 'VUV', 'WST', 'XAF',
  'XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XCD', 'XCG', 'XDR', 'XOF', 'XPD', 'XPF', 'XPT', 'XSU', 'XUA', 'YER',
  'ZAR', 'ZMW', 'ZWG', 'ZWL'));
CREATE DOMAIN shared.amount AS numeric(14, 2) CHECK (VALUE >= 0);               -- money, never negative
CREATE DOMAIN shared.country_code AS char(2) CHECK (VALUE ~ '^[A-Z]{2}$');       -- ISO 3166-1 alpha-2
-- Ciphertext of shared.encrypt_pii(): an OpenPGP message whose first packet is a symmetric-key
-- encrypted session key (new-format tag 3, byte 0xC3). A plaintext written by mistake is refused.
-- The empty value marks data erased under GDPR.
CREATE DOMAIN shared.pgp_ciphertext AS bytea CHECK (length(VALUE) = 0 OR get_byte(VALUE, 0) = 195);

-- ---------------------------------------------------------------------------------------------
-- UUID v7 keys (RFC 9562): time-ordered, so B-tree inserts stay at the right edge.
-- SQL implementation for servers before PostgreSQL 18. The 12 bits after the millisecond
-- timestamp carry the sub-millisecond fraction (RFC 9562 §6.2 method 3), so keys made one after
-- another in one session stay ordered even within one millisecond, as PostgreSQL 18's uuidv7() does.
CREATE FUNCTION shared.uuid_generate_v7() RETURNS uuid
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
DECLARE
  us   bigint := floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
  ms   bigint := us / 1000;
  frac int    := ((us % 1000) * 4096 / 1000)::int;
  b    bytea  := uuid_send(gen_random_uuid());   -- random bits; variant already 10xx
BEGIN
  b := overlay(b PLACING substring(int8send(ms) FROM 3) FROM 1 FOR 6);
  b := set_byte(b, 6, 112 | (frac >> 8));          -- version 7 in the high nibble
  b := set_byte(b, 7, frac & 255);
  RETURN encode(b, 'hex')::uuid;
END $$;

-- The one name every table's default uses: uuidv7() where the server has it (PostgreSQL 18+),
-- the SQL implementation otherwise. Decided once, when this migration runs.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'uuidv7' AND pronamespace = 'pg_catalog'::regnamespace) THEN
    EXECUTE 'CREATE FUNCTION shared.new_id() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $f$ SELECT uuidv7() $f$';
  ELSE
    EXECUTE 'CREATE FUNCTION shared.new_id() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $f$ SELECT shared.uuid_generate_v7() $f$';
  END IF;
END $$;

-- The well-known machine users: fixed ids so that code and seeds can name them.
CREATE FUNCTION shared.system_user_id() RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT '00000000-0000-7000-8000-000000000001'::uuid $$;

-- Who is acting: the application sets app.current_user_id per transaction (SET LOCAL); without
-- it the change is the system's. Every created_by/updated_by default goes through here.
CREATE FUNCTION shared.current_actor() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT COALESCE(NULLIF(current_setting('app.current_user_id', true), '')::uuid, shared.system_user_id())
$$;

-- The property the current request may see (RLS); NULL when unset, so nothing matches.
CREATE FUNCTION shared.current_property_id() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT NULLIF(current_setting('app.current_property_id', true), '')::uuid
$$;

-- ---------------------------------------------------------------------------------------------
-- Users. Not a tenant table: one user may work for several properties (user_property_access).
CREATE TABLE shared.users (
  id            uuid PRIMARY KEY DEFAULT shared.new_id(),
  email         text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
  full_name     text NOT NULL,
  kind          text NOT NULL DEFAULT 'human' CHECK (kind IN ('human', 'system', 'service')),
  role          text NOT NULL DEFAULT 'viewer'
                CHECK (role IN ('admin', 'revenue_manager', 'front_desk', 'integration', 'viewer', 'system')),
  password_hash text CHECK (password_hash IS NULL OR password_hash LIKE '$2%'),  -- bcrypt only
  is_active     boolean NOT NULL DEFAULT true,
  last_login_at timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  created_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by    uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_email_active_uq ON shared.users (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX users_created_by_idx ON shared.users (created_by);
CREATE INDEX users_updated_by_idx ON shared.users (updated_by);

CREATE TABLE shared.user_property_access (
  id          uuid PRIMARY KEY DEFAULT shared.new_id(),
  user_id     uuid NOT NULL REFERENCES shared.users (id),
  property_id uuid NOT NULL,   -- property_mgmt.properties(id): another context, so an id only
  role        text NOT NULL CHECK (role IN ('admin', 'revenue_manager', 'front_desk', 'integration', 'viewer')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  created_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at  timestamptz,
  version     integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX user_property_access_uq ON shared.user_property_access (user_id, property_id) WHERE deleted_at IS NULL;
CREATE INDEX user_property_access_property_idx ON shared.user_property_access (property_id);

-- API keys: only a bcrypt hash is stored; the prefix (first characters of the key) finds the row.
CREATE TABLE shared.api_keys (
  id           uuid PRIMARY KEY DEFAULT shared.new_id(),
  user_id      uuid NOT NULL REFERENCES shared.users (id),
  name         text NOT NULL,
  key_prefix   text NOT NULL CHECK (length(key_prefix) BETWEEN 8 AND 32),
  key_hash     text NOT NULL CHECK (key_hash LIKE '$2%'),
  scopes       text[] NOT NULL DEFAULT '{}',
  expires_at   timestamptz,
  last_used_at timestamptz,
  revoked_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  created_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at   timestamptz,
  version      integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX api_keys_prefix_uq ON shared.api_keys (key_prefix);
CREATE INDEX api_keys_user_idx ON shared.api_keys (user_id) WHERE deleted_at IS NULL AND revoked_at IS NULL;

-- ---------------------------------------------------------------------------------------------
-- Secrets and PII (pgcrypto). The key is an argument, never stored in the database: the
-- application holds it (STAYOS_ENCRYPTION_KEY, or the embedded data directory's key file).
CREATE FUNCTION shared.encrypt_pii(plaintext text, key text) RETURNS bytea
LANGUAGE sql VOLATILE STRICT AS $$
  SELECT shared.pgp_sym_encrypt(plaintext, key, 'cipher-algo=aes256, compress-algo=0')
$$;
-- STABLE, not IMMUTABLE: an index on decrypt_pii(col, 'key') would write the key into the catalog.
CREATE FUNCTION shared.decrypt_pii(ciphertext bytea, key text) RETURNS text
LANGUAGE sql STABLE STRICT AS $$
  SELECT shared.pgp_sym_decrypt(ciphertext, key)
$$;
-- Keyed fingerprint: finds "the same passport" without decrypting every row.
CREATE FUNCTION shared.pii_fingerprint(value text, key text) RETURNS text
LANGUAGE sql STABLE STRICT AS $$
  SELECT encode(shared.hmac(upper(regexp_replace(value, '\s', '', 'g')), key, 'sha256'), 'hex')
$$;
CREATE FUNCTION shared.hash_secret(secret text) RETURNS text
LANGUAGE sql VOLATILE STRICT AS $$ SELECT shared.crypt(secret, shared.gen_salt('bf', 10)) $$;
CREATE FUNCTION shared.verify_secret(secret text, hash text) RETURNS boolean
LANGUAGE sql STABLE STRICT AS $$ SELECT hash = shared.crypt(secret, hash) $$;

-- ---------------------------------------------------------------------------------------------
-- The audit log (Compliance & Audit context): one row per changed row, written by audit_trigger().
-- Partitioned by month on created_at; compliance.maintain_partitions() keeps partitions ahead and
-- drops expired ones (7 years, compliance.retention_policies).
CREATE TABLE audit.audit_log (
  id              uuid NOT NULL DEFAULT shared.new_id(),
  schema_name     text NOT NULL,
  table_name      text NOT NULL,
  operation       text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
  row_id          uuid,
  property_id     uuid,
  old_data        jsonb,
  new_data        jsonb,
  changed_columns text[],
  actor_id        uuid NOT NULL,
  txid            bigint NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  created_by      uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by      uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at      timestamptz,
  version         integer NOT NULL DEFAULT 1,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX audit_log_row_idx ON audit.audit_log (table_name, row_id, created_at);
CREATE INDEX audit_log_property_idx ON audit.audit_log (property_id, created_at);
CREATE INDEX audit_log_txid_idx ON audit.audit_log (txid);
CREATE INDEX audit_log_created_by_idx ON audit.audit_log (created_by);
CREATE INDEX audit_log_new_data_gin ON audit.audit_log USING gin (new_data jsonb_path_ops);

-- The domain-event outbox (Compliance & Audit context). Written in the same transaction as the
-- change it describes; the CDC pipeline publishes it from the WAL (publication on inserts).
CREATE TABLE compliance.domain_events (
  id             uuid NOT NULL DEFAULT shared.new_id(),
  aggregate_type text NOT NULL CHECK (aggregate_type ~ '^[a-z_]+$'),
  aggregate_id   uuid NOT NULL,
  event_type     text NOT NULL CHECK (event_type ~ '^[a-z_]+$'),
  event_version  integer NOT NULL DEFAULT 1,
  property_id    uuid,
  payload        jsonb NOT NULL DEFAULT '{}',
  metadata       jsonb NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX domain_events_aggregate_idx ON compliance.domain_events (aggregate_type, aggregate_id, created_at);
CREATE INDEX domain_events_property_idx ON compliance.domain_events (property_id, created_at);
CREATE INDEX domain_events_created_by_idx ON compliance.domain_events (created_by);
CREATE INDEX domain_events_payload_gin ON compliance.domain_events USING gin (payload jsonb_path_ops);

-- ---------------------------------------------------------------------------------------------
-- Range partitions by month or quarter, named <table>_pYYYYmMM / <table>_pYYYYqN. Bounds are
-- computed in UTC whatever the session's TimeZone (interval arithmetic on timestamptz follows the
-- session's zone, which would leave gaps around DST changes in a non-UTC session).
CREATE FUNCTION shared.partition_start(step text, at timestamptz) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT date_trunc(CASE step WHEN 'month' THEN 'month' ELSE 'quarter' END, at AT TIME ZONE 'UTC')
$$;

CREATE FUNCTION shared.partition_step(step text) RETURNS interval
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE step WHEN 'month' THEN interval '1 month' ELSE interval '3 months' END
$$;

-- Creates the partition of `parent` that holds instant `at` (if missing); returns its name.
CREATE FUNCTION shared.create_partition(parent regclass, step text, at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  lo   timestamp := shared.partition_start(step, at);           -- UTC wall time
  hi   timestamp := lo + shared.partition_step(step);
  nsp  text;
  rel  text;
  name text;
BEGIN
  IF step NOT IN ('month', 'quarter') THEN
    RAISE EXCEPTION 'partition step must be month or quarter, not %', step;
  END IF;
  SELECT n.nspname, c.relname INTO nsp, rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
  name := rel || '_p' || to_char(lo, 'YYYY') ||
          CASE step WHEN 'month' THEN 'm' || to_char(lo, 'MM') ELSE 'q' || to_char(lo, 'Q') END;
  IF to_regclass(format('%I.%I', nsp, name)) IS NULL THEN
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)', nsp, name, parent,
                   to_char(lo, 'YYYY-MM-DD"T"HH24:MI:SS"+00"'), to_char(hi, 'YYYY-MM-DD"T"HH24:MI:SS"+00"'));
  END IF;
  RETURN name;
END $$;

-- Creates the partitions from `back` periods before `at` to `ahead` periods after it.
-- Returns how many it created.
CREATE FUNCTION shared.ensure_partitions(parent regclass, step text, back int, ahead int, at timestamptz DEFAULT now())
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  i int;
  before_count bigint := (SELECT count(*) FROM pg_inherits WHERE inhparent = parent);
BEGIN
  FOR i IN -back .. ahead LOOP
    -- step in UTC wall time, then back to an instant: whole months/quarters regardless of TimeZone
    PERFORM shared.create_partition(parent, step,
      ((shared.partition_start(step, at) + shared.partition_step(step) * i) AT TIME ZONE 'UTC'));
  END LOOP;
  RETURN (SELECT count(*) FROM pg_inherits WHERE inhparent = parent) - before_count;
END $$;

SELECT shared.ensure_partitions('audit.audit_log', 'month', 1, 3);
SELECT shared.ensure_partitions('compliance.domain_events', 'month', 1, 3);

-- ---------------------------------------------------------------------------------------------
-- Standard triggers.

-- update_updated_at_column(): stamps updated_at, and updated_by with the acting user unless the
-- statement set it explicitly.
CREATE FUNCTION shared.update_updated_at_column() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  IF NEW.updated_by IS NOT DISTINCT FROM OLD.updated_by THEN
    NEW.updated_by := shared.current_actor();
  END IF;
  RETURN NEW;
END $$;

-- Optimistic locking. Convention: an update based on a row read earlier sets `version` to the
-- version it read; if the row moved on meanwhile, the update fails with SQLSTATE SV001 (mapped to
-- ERR_CONFLICT). An update that does not mention version is applied to the current row.
-- Either way the version increments by one.
CREATE FUNCTION shared.enforce_optimistic_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.version IS DISTINCT FROM OLD.version THEN
    RAISE EXCEPTION 'stale version for % %: the row is at version %, the update was based on version %',
      COALESCE(pg_partition_root(TG_RELID), TG_RELID)::regclass, OLD.id, OLD.version, NEW.version
      USING ERRCODE = 'SV001', HINT = 'Read the row again and apply the change to its current version.';
  END IF;
  NEW.version := OLD.version + 1;
  RETURN NEW;
END $$;

-- audit_trigger(): one audit row per changed row, with old/new row images (minus the columns named
-- in the trigger's arguments: ciphertexts and hashes), the changed columns, actor, transaction and
-- property. Statement-level with transition tables: a 100,000-row UPDATE is one INSERT … SELECT,
-- not 100,000 trigger calls.
CREATE FUNCTION shared.audit_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  redact text[] := COALESCE(TG_ARGV::text[], '{}');
  actor uuid := NULLIF(current_setting('app.current_user_id', true), '')::uuid;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO audit.audit_log (schema_name, table_name, operation, row_id, property_id, new_data, actor_id, txid, created_by, updated_by)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'INSERT', (j ->> 'id')::uuid, (j ->> 'property_id')::uuid, j,
           a, txid_current(), a, a
    FROM (SELECT to_jsonb(n) - redact AS j FROM new_rows n) s,
         LATERAL (SELECT COALESCE(actor, (j ->> 'updated_by')::uuid, shared.system_user_id()) AS a) x;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO audit.audit_log (schema_name, table_name, operation, row_id, property_id, old_data, new_data, changed_columns, actor_id, txid, created_by, updated_by)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'UPDATE', (nj ->> 'id')::uuid, (nj ->> 'property_id')::uuid, oj, nj,
           ARRAY(SELECT k FROM jsonb_object_keys(nj) k WHERE nj -> k IS DISTINCT FROM oj -> k ORDER BY k),
           a, txid_current(), a, a
    FROM (SELECT to_jsonb(o) - redact AS oj, to_jsonb(n) - redact AS nj
          FROM old_rows o JOIN new_rows n ON n.id = o.id) s,
         LATERAL (SELECT COALESCE(actor, (nj ->> 'updated_by')::uuid, shared.system_user_id()) AS a) x;
  ELSE
    INSERT INTO audit.audit_log (schema_name, table_name, operation, row_id, property_id, old_data, actor_id, txid, created_by, updated_by)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, 'DELETE', (j ->> 'id')::uuid, (j ->> 'property_id')::uuid, j,
           a, txid_current(), a, a
    FROM (SELECT to_jsonb(o) - redact AS j FROM old_rows o) s,
         LATERAL (SELECT COALESCE(actor, shared.system_user_id()) AS a) x;
  END IF;
  RETURN NULL;
END $$;

-- publish_domain_event(): the transactional outbox for aggregate roots. Argument 0 names the
-- aggregate ('reservation', 'payment', …); further arguments name columns kept out of payloads.
-- Event types: created, deleted (soft or hard), the new status when status changes (cancelled,
-- checked_in, …), otherwise modified. An update that changed only bookkeeping is not an event.
CREATE FUNCTION shared.publish_domain_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  aggregate text := TG_ARGV[0];
  hidden text[] := COALESCE(TG_ARGV[1:]::text[], '{}') || ARRAY['created_at', 'updated_at', 'created_by', 'updated_by', 'version'];
  oj jsonb;
  nj jsonb;
  changed jsonb;
  event text;
  payload jsonb;
  row_id uuid;
  prop uuid;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN oj := to_jsonb(OLD) - hidden; END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN nj := to_jsonb(NEW) - hidden; END IF;
  row_id := COALESCE(nj ->> 'id', oj ->> 'id')::uuid;
  prop := COALESCE(nj ->> 'property_id', oj ->> 'property_id')::uuid;
  IF TG_OP = 'INSERT' THEN
    event := 'created';
    payload := jsonb_build_object('after', nj);
  ELSIF TG_OP = 'DELETE' THEN
    event := 'deleted';
    payload := jsonb_build_object('before', oj);
  ELSE
    SELECT jsonb_object_agg(k, nj -> k) INTO changed FROM jsonb_object_keys(nj) k WHERE nj -> k IS DISTINCT FROM oj -> k;
    IF changed IS NULL THEN
      RETURN NULL;
    END IF;
    event := CASE
      WHEN changed ? 'deleted_at' AND nj ->> 'deleted_at' IS NOT NULL THEN 'deleted'
      WHEN changed ? 'status' AND nj ->> 'status' IS NOT NULL THEN regexp_replace(lower(nj ->> 'status'), '[^a-z_]', '_', 'g')
      ELSE 'modified' END;
    payload := jsonb_build_object('changes', changed,
      'before', (SELECT jsonb_object_agg(k, oj -> k) FROM jsonb_object_keys(changed) k));
  END IF;
  INSERT INTO compliance.domain_events (aggregate_type, aggregate_id, event_type, property_id, payload, metadata)
  VALUES (aggregate, row_id, event, prop, payload,
          -- the partitioned table, not the partition a row trigger fires on
          jsonb_build_object('table', COALESCE(pg_partition_root(TG_RELID), TG_RELID)::regclass::text, 'txid', txid_current(),
                             'actor', shared.current_actor()));
  RETURN NULL;
END $$;

-- Append-only tables (event stores, the audit log, the outbox): updates and deletes are refused,
-- whoever asks. The one exception is GDPR erasure: compliance.anonymize_guest() sets
-- stayos.gdpr_erasure for its own transaction to scrub personal data out of past row images.
-- Expired data leaves by partition retention or with the aggregate, never by DELETE.
CREATE FUNCTION shared.reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND current_setting('stayos.gdpr_erasure', true) = 'on' THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '%.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'SV002', HINT = 'Append a new event instead.';
END $$;

-- ---------------------------------------------------------------------------------------------
-- Event sourcing (Reservation, Payment). An aggregate's event store is an append-only table
--   (id, aggregate_id, sequence, event_type, payload, property_id, audit columns),
-- unique (aggregate_id, sequence). record_aggregate_event() is a row trigger on the aggregate's
-- tables that appends one event per change, in the same transaction, so the event stream can
-- never miss a change whoever writes (API, ingestion, psql). Arguments:
--   0: the event table ('reservation.reservation_events'),
--   1: the column holding the aggregate id ('id' on the root, 'reservation_id' on a child),
--   2: '' on the root, or the child entity's name ('room') on a child table,
--   3…: columns kept out of payloads (ciphertexts).
-- Root events: created, <new status>, modified, deleted, payload {"set": {changed columns}}.
-- Child events: <entity>_added / _changed / _removed, payload {"<entity>": row}.
CREATE FUNCTION shared.record_aggregate_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  event_table text := TG_ARGV[0];
  id_column text := TG_ARGV[1];
  entity text := NULLIF(TG_ARGV[2], '');
  hidden text[] := COALESCE(TG_ARGV[3:]::text[], '{}') || ARRAY['created_at', 'updated_at', 'created_by', 'updated_by', 'version'];
  oj jsonb;
  nj jsonb;
  changed jsonb;
  agg uuid;
  prop uuid;
  event text;
  payload jsonb;
  seq bigint;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN oj := to_jsonb(OLD) - hidden; END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN nj := to_jsonb(NEW) - hidden; END IF;
  agg := COALESCE(nj ->> id_column, oj ->> id_column)::uuid;
  prop := COALESCE(nj ->> 'property_id', oj ->> 'property_id')::uuid;
  IF TG_OP = 'UPDATE' THEN
    SELECT jsonb_object_agg(k, nj -> k) INTO changed FROM jsonb_object_keys(nj) k WHERE nj -> k IS DISTINCT FROM oj -> k;
    IF changed IS NULL THEN RETURN NULL; END IF;
  END IF;
  IF entity IS NULL THEN
    event := CASE
      WHEN TG_OP = 'INSERT' THEN 'created'
      WHEN TG_OP = 'DELETE' OR (changed ? 'deleted_at' AND nj ->> 'deleted_at' IS NOT NULL) THEN 'deleted'
      WHEN changed ? 'status' AND nj ->> 'status' IS NOT NULL THEN regexp_replace(lower(nj ->> 'status'), '[^a-z_]', '_', 'g')
      ELSE 'modified' END;
    payload := jsonb_build_object('set', CASE TG_OP WHEN 'INSERT' THEN nj WHEN 'UPDATE' THEN changed ELSE '{}'::jsonb END);
  ELSE
    event := entity || CASE
      WHEN TG_OP = 'INSERT' THEN '_added'
      WHEN TG_OP = 'DELETE' OR (changed ? 'deleted_at' AND nj ->> 'deleted_at' IS NOT NULL) THEN '_removed'
      ELSE '_changed' END;
    payload := jsonb_build_object(entity, COALESCE(nj, oj));
  END IF;
  -- Sequence numbers are gapless per aggregate: writers of one aggregate queue on this lock for
  -- the rest of their transaction (the unique key would catch a race; this avoids the failure).
  PERFORM pg_advisory_xact_lock(hashtextextended(event_table || ':' || agg::text, 0));
  EXECUTE format('SELECT COALESCE(max(sequence), 0) + 1 FROM %s WHERE aggregate_id = $1', event_table) INTO seq USING agg;
  EXECUTE format('INSERT INTO %s (aggregate_id, sequence, event_type, payload, property_id) VALUES ($1, $2, $3, $4, $5)', event_table)
    USING agg, seq, event, payload, prop;
  RETURN NULL;
END $$;

-- Folds an aggregate's events up to `at` (inclusive) into its state: root columns merged in
-- sequence order, child entities as arrays under "<entity>s" (removed ones dropped).
-- NULL when the aggregate did not exist yet at `at`.
CREATE FUNCTION shared.aggregate_state_at(event_table regclass, aggregate uuid, at timestamptz)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  state jsonb := NULL;
  children jsonb := '{}';
  ev record;
  entity text;
  child jsonb;
BEGIN
  -- The state at `at` is a prefix of the stream: every event before the first one stamped after
  -- `at`. (Events carry their transaction's start time, and a transaction that waited for the
  -- aggregate's lock can carry an earlier stamp than the event before it; a prefix never shows an
  -- event without the ones it followed.)
  FOR ev IN EXECUTE format(
      'SELECT event_type, payload FROM %1$s WHERE aggregate_id = $1
         AND sequence < COALESCE((SELECT min(sequence) FROM %1$s WHERE aggregate_id = $1 AND created_at > $2), 9223372036854775807)
       ORDER BY sequence', event_table)
    USING aggregate, at
  LOOP
    IF ev.payload ? 'set' THEN
      state := COALESCE(state, '{}'::jsonb) || (ev.payload -> 'set');
      IF ev.event_type = 'deleted' THEN state := state || jsonb_build_object('deleted', true); END IF;
    ELSE
      entity := (SELECT k FROM jsonb_object_keys(ev.payload) k LIMIT 1);
      child := ev.payload -> entity;
      IF ev.event_type LIKE '%\_removed' THEN
        children := jsonb_set(children, ARRAY[entity || 's'], COALESCE(children -> (entity || 's'), '{}') - (child ->> 'id'));
      ELSE
        children := jsonb_set(children, ARRAY[entity || 's'],
          COALESCE(children -> (entity || 's'), '{}') || jsonb_build_object(child ->> 'id', child));
      END IF;
    END IF;
  END LOOP;
  IF state IS NULL THEN RETURN NULL; END IF;
  -- children as arrays ordered by id (UUID v7: creation order)
  RETURN state || COALESCE((SELECT jsonb_object_agg(k, (SELECT COALESCE(jsonb_agg(e.value ORDER BY e.key), '[]') FROM jsonb_each(children -> k) e))
                            FROM jsonb_object_keys(children) k), '{}');
END $$;

-- Attaches the standard triggers to a table. `redact` names columns kept out of the audit log.
CREATE FUNCTION shared.attach_standard_triggers(tbl regclass, redact text[] DEFAULT '{}', with_audit boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  args text := (SELECT string_agg(quote_literal(r), ', ') FROM unnest(redact) r);
BEGIN
  EXECUTE format('CREATE TRIGGER trg_optimistic_lock BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION shared.enforce_optimistic_lock()', tbl);
  EXECUTE format('CREATE TRIGGER trg_updated_at BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION shared.update_updated_at_column()', tbl);
  IF with_audit THEN
    EXECUTE format('CREATE TRIGGER trg_audit_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shared.audit_trigger(%s)', tbl, COALESCE(args, ''));
    EXECUTE format('CREATE TRIGGER trg_audit_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shared.audit_trigger(%s)', tbl, COALESCE(args, ''));
    EXECUTE format('CREATE TRIGGER trg_audit_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION shared.audit_trigger(%s)', tbl, COALESCE(args, ''));
  END IF;
END $$;

-- Marks a table append-only.
CREATE FUNCTION shared.make_append_only(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER trg_append_only BEFORE UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION shared.reject_mutation()', tbl);
  EXECUTE format('CREATE TRIGGER trg_append_only_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION shared.reject_mutation()', tbl);
END $$;

-- Multi-tenancy: RLS enabled AND forced (the table owner is bound too), one policy per role.
-- authenticated_user sees and writes only the property in app.current_property_id (WITH CHECK
-- makes a write into another property fail); stayos_service (the pipeline) works across properties.
CREATE FUNCTION shared.enable_tenant_rls(tbl regclass, key_column text DEFAULT 'property_id', writable boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format($p$CREATE POLICY tenant_isolation ON %s FOR ALL TO authenticated_user
                    USING (%I = NULLIF(current_setting('app.current_property_id', true), '')::uuid)
                    WITH CHECK (%I = NULLIF(current_setting('app.current_property_id', true), '')::uuid)$p$,
                 tbl, key_column, key_column);
  EXECUTE format('CREATE POLICY service_access ON %s FOR ALL TO stayos_service USING (true) WITH CHECK (true)', tbl);
  IF writable THEN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO authenticated_user, stayos_service', tbl);
  ELSE
    -- Append-only stores (events, audit, outbox) are written by SECURITY DEFINER triggers only:
    -- a tenant that could INSERT there could forge history.
    EXECUTE format('GRANT SELECT ON %s TO authenticated_user', tbl);
    EXECUTE format('GRANT SELECT, INSERT ON %s TO stayos_service', tbl);
  END IF;
END $$;

-- The standard set for an ordinary tenant table.
CREATE FUNCTION shared.setup_tenant_table(tbl regclass, redact text[] DEFAULT '{}') RETURNS void
LANGUAGE sql AS $$
  SELECT shared.attach_standard_triggers(tbl, redact);
  SELECT shared.enable_tenant_rls(tbl);
$$;

-- Shared tables: standard triggers; users and keys are not tenant data, so no RLS, and
-- authenticated_user reads only what it must (no hashes).
SELECT shared.attach_standard_triggers('shared.users', ARRAY['password_hash']);
SELECT shared.attach_standard_triggers('shared.api_keys', ARRAY['key_hash']);
SELECT shared.setup_tenant_table('shared.user_property_access');
GRANT SELECT (id, email, full_name, kind, role, is_active) ON shared.users TO authenticated_user;
GRANT SELECT, INSERT, UPDATE ON shared.users, shared.api_keys TO stayos_service;

-- The audit log and the outbox: written by SECURITY DEFINER triggers; readable per property.
SELECT shared.attach_standard_triggers('audit.audit_log', with_audit => false);
SELECT shared.enable_tenant_rls('audit.audit_log', writable => false);
SELECT shared.attach_standard_triggers('compliance.domain_events', with_audit => false);
SELECT shared.make_append_only('compliance.domain_events');
SELECT shared.enable_tenant_rls('compliance.domain_events', writable => false);

SELECT shared.make_append_only('audit.audit_log');

-- ---------------------------------------------------------------------------------------------
-- Machine users: the system itself and one service user per OTA, so every change an OTA causes
-- is attributable in the audit log.
INSERT INTO shared.users (id, email, full_name, kind, role, created_by, updated_by) VALUES
  ('00000000-0000-7000-8000-000000000001', 'system@stayos.local', 'StayOS system', 'system', 'system',
   '00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000001'),
  ('00000000-0000-7000-8000-000000000101', 'booking_com@stayos.local', 'Booking.com connector', 'service', 'integration',
   '00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000001'),
  ('00000000-0000-7000-8000-000000000102', 'expedia@stayos.local', 'Expedia connector', 'service', 'integration',
   '00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000001'),
  ('00000000-0000-7000-8000-000000000103', 'opentravel@stayos.local', 'OpenTravel webhook', 'service', 'integration',
   '00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000001');

-- The service user of an OTA channel code.
CREATE FUNCTION shared.channel_user_id(channel_code text) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE channel_code
    WHEN 'booking_com' THEN '00000000-0000-7000-8000-000000000101'::uuid
    WHEN 'expedia' THEN '00000000-0000-7000-8000-000000000102'::uuid
    WHEN 'opentravel' THEN '00000000-0000-7000-8000-000000000103'::uuid
  END
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA shared TO authenticated_user, stayos_service;
