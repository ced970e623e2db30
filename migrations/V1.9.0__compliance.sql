-- Compliance & Audit context (with audit.audit_log and compliance.domain_events from V1.0.0):
-- retention policies that drive partition maintenance, GDPR data-subject requests, consents,
-- and guest anonymisation.

-- One row per partitioned table: how it is cut, how far ahead partitions exist, how long data is
-- kept. compliance.maintain_partitions() reads this at start and daily.
CREATE TABLE compliance.retention_policies (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  table_name     text NOT NULL CHECK (table_name ~ '^[a-z_]+\.[a-z_]+$'),
  partition_step text NOT NULL CHECK (partition_step IN ('month', 'quarter')),
  retention      interval NOT NULL CHECK (retention >= interval '1 month'),
  premake        integer NOT NULL DEFAULT 3 CHECK (premake BETWEEN 1 AND 24),
  active         boolean NOT NULL DEFAULT true,
  legal_basis    text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX retention_policies_table_uq ON compliance.retention_policies (table_name) WHERE deleted_at IS NULL;
SELECT shared.attach_standard_triggers('compliance.retention_policies');
GRANT SELECT ON compliance.retention_policies TO authenticated_user, stayos_service;

INSERT INTO compliance.retention_policies (table_name, partition_step, retention, premake, legal_basis) VALUES
  ('audit.audit_log',              'month',   interval '7 years', 3, 'Compliance: audit trail kept 7 years'),
  ('compliance.domain_events',     'month',   interval '3 years', 3, 'Event history kept 3 years'),
  ('operations.service_requests',  'quarter', interval '2 years', 2, 'Operational records kept 2 years'),
  ('guest.feedback',               'quarter', interval '5 years', 2, 'Guest feedback kept 5 years');

-- Creates partitions `premake` periods ahead and detaches and drops partitions whose whole range
-- ended more than `retention` before `at`. Returns what it did. Idempotent; safe to run often.
CREATE FUNCTION compliance.maintain_partitions(at timestamptz DEFAULT now())
RETURNS TABLE (action text, partition_name text)
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  part record;
  i int;
  name text;
  before_count bigint;
  upper_bound timestamptz;
BEGIN
  FOR p IN SELECT * FROM compliance.retention_policies WHERE active AND deleted_at IS NULL ORDER BY table_name LOOP
    IF to_regclass(p.table_name) IS NULL THEN
      CONTINUE;
    END IF;
    FOR i IN 0 .. p.premake LOOP
      before_count := (SELECT count(*) FROM pg_inherits WHERE inhparent = p.table_name::regclass);
      name := shared.create_partition(p.table_name::regclass, p.partition_step,
        (shared.partition_start(p.partition_step, at) + shared.partition_step(p.partition_step) * i) AT TIME ZONE 'UTC');
      IF (SELECT count(*) FROM pg_inherits WHERE inhparent = p.table_name::regclass) > before_count THEN
        action := 'created';
        partition_name := split_part(p.table_name, '.', 1) || '.' || name;
        RETURN NEXT;
      END IF;
    END LOOP;
    FOR part IN
      SELECT c.oid, n.nspname, c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhparent = p.table_name::regclass
    LOOP
      upper_bound := substring(part.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
      IF upper_bound IS NOT NULL AND upper_bound <= at - p.retention THEN
        EXECUTE format('ALTER TABLE %s DETACH PARTITION %I.%I', p.table_name, part.nspname, part.relname);
        EXECUTE format('DROP TABLE %I.%I', part.nspname, part.relname);
        action := 'dropped';
        partition_name := part.nspname || '.' || part.relname;
        RETURN NEXT;
      END IF;
    END LOOP;
  END LOOP;
END $$;

GRANT EXECUTE ON FUNCTION compliance.maintain_partitions(timestamptz) TO stayos_service;

-- GDPR data-subject requests (access, erasure, …): one month to answer (GDPR art. 12(3)).
CREATE TABLE compliance.gdpr_requests (
  id           uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id  uuid NOT NULL,
  guest_id     uuid NOT NULL,   -- guest.profiles(id): another context, id only
  request_type text NOT NULL CHECK (request_type IN ('access', 'erasure', 'rectification', 'portability', 'restriction', 'objection')),
  status       text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'in_progress', 'completed', 'rejected')),
  received_at  timestamptz NOT NULL DEFAULT now(),
  due_at       timestamptz NOT NULL DEFAULT now() + interval '30 days',
  completed_at timestamptz,
  channel      text NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'front_desk', 'web', 'post', 'phone')),
  notes        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  created_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at   timestamptz,
  version      integer NOT NULL DEFAULT 1,
  CHECK (due_at > received_at),
  CHECK (status NOT IN ('completed', 'rejected') OR completed_at IS NOT NULL)
);
CREATE INDEX gdpr_requests_open_idx ON compliance.gdpr_requests (property_id, due_at) WHERE status IN ('received', 'in_progress') AND deleted_at IS NULL;
CREATE INDEX gdpr_requests_guest_idx ON compliance.gdpr_requests (guest_id);
SELECT shared.setup_tenant_table('compliance.gdpr_requests');

-- Consents per purpose, with evidence of how they were given; withdrawal keeps the row.
CREATE TABLE compliance.consents (
  id           uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id  uuid NOT NULL,
  guest_id     uuid NOT NULL,   -- guest.profiles(id), id only
  purpose      text NOT NULL CHECK (purpose IN ('marketing_email', 'marketing_sms', 'profiling', 'partner_sharing', 'cctv_notice')),
  granted      boolean NOT NULL,
  granted_at   timestamptz,
  withdrawn_at timestamptz,
  source       text NOT NULL,
  evidence     jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  created_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by   uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at   timestamptz,
  version      integer NOT NULL DEFAULT 1,
  CHECK (NOT granted OR granted_at IS NOT NULL),
  CHECK (withdrawn_at IS NULL OR granted_at IS NULL OR withdrawn_at >= granted_at)
);
CREATE UNIQUE INDEX consents_active_uq ON compliance.consents (guest_id, purpose) WHERE deleted_at IS NULL AND withdrawn_at IS NULL;
CREATE INDEX consents_property_idx ON compliance.consents (property_id);
CREATE INDEX consents_evidence_gin ON compliance.consents USING gin (evidence);
SELECT shared.setup_tenant_table('compliance.consents');

-- GDPR erasure of one guest: personal data is overwritten everywhere the guest appears (profile,
-- documents, addresses, notes, names on bookings, and past row images in the audit log and the
-- event stores). Bookings, stays and amounts remain: the hotel must keep its accounts.
CREATE FUNCTION compliance.anonymize_guest(p_guest_id uuid) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  pii_keys text[] := ARRAY['first_name', 'last_name', 'full_name', 'email', 'phone', 'date_of_birth', 'guest_name',
                           'line1', 'line2', 'postal_code', 'body', 'preferences', 'special_requests'];
  reservation_ids uuid[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM guest.profiles WHERE id = p_guest_id) THEN
    RETURN false;
  END IF;
  PERFORM set_config('stayos.gdpr_erasure', 'on', true);
  UPDATE guest.profiles
     SET first_name = NULL, last_name = 'Anonymised', email = NULL, phone = NULL, date_of_birth = NULL,
         nationality = NULL, preferences = '{}', marketing_opt_in = false, anonymized_at = now(),
         deleted_at = COALESCE(deleted_at, now())
   WHERE id = p_guest_id;
  UPDATE guest.identity_documents
     SET document_number_encrypted = '\x', document_number_fingerprint = 'erased:' || id::text, deleted_at = COALESCE(deleted_at, now())
   WHERE profile_id = p_guest_id;
  UPDATE guest.addresses SET line1 = NULL, line2 = NULL, postal_code = NULL, deleted_at = COALESCE(deleted_at, now())
   WHERE profile_id = p_guest_id;
  UPDATE guest.guest_notes SET body = '[erased]', deleted_at = COALESCE(deleted_at, now()) WHERE profile_id = p_guest_id;
  reservation_ids := ARRAY(SELECT id FROM reservation.reservations WHERE guest_id = p_guest_id
                           UNION SELECT reservation_id FROM reservation.reservation_guests WHERE guest_id = p_guest_id);
  UPDATE reservation.reservation_guests SET first_name = NULL, last_name = 'Anonymised' WHERE guest_id = p_guest_id;
  UPDATE reservation.reservation_rooms SET guest_name = NULL WHERE reservation_id = ANY (reservation_ids) AND guest_name IS NOT NULL;
  UPDATE reservation.reservations SET special_requests = NULL WHERE id = ANY (reservation_ids) AND special_requests IS NOT NULL;
  -- Past row images: the audit log, the reservation event store, and the outbox.
  UPDATE audit.audit_log
     SET old_data = CASE WHEN old_data IS NULL THEN NULL ELSE old_data - pii_keys END,
         new_data = CASE WHEN new_data IS NULL THEN NULL ELSE new_data - pii_keys END
   WHERE row_id = p_guest_id
      OR (table_name IN ('reservation_guests', 'identity_documents', 'addresses', 'guest_notes', 'profiles')
          AND (new_data ->> 'guest_id' = p_guest_id::text OR old_data ->> 'guest_id' = p_guest_id::text
               OR new_data ->> 'profile_id' = p_guest_id::text OR old_data ->> 'profile_id' = p_guest_id::text))
      OR (table_name = 'reservation_rooms'
          AND COALESCE(new_data ->> 'reservation_id', old_data ->> 'reservation_id')::uuid = ANY (reservation_ids))
      OR (table_name = 'reservations' AND row_id = ANY (reservation_ids));
  -- Every entity payload of the guest's reservations (guests, rooms with their guest_name).
  UPDATE reservation.reservation_events e
     SET payload = (SELECT jsonb_object_agg(k, CASE WHEN jsonb_typeof(v) = 'object' THEN v - pii_keys ELSE v END)
                    FROM jsonb_each(e.payload) x(k, v))
   WHERE e.aggregate_id = ANY (reservation_ids);
  UPDATE compliance.domain_events d
     SET payload = (SELECT jsonb_object_agg(k, CASE WHEN jsonb_typeof(v) = 'object' THEN v - pii_keys ELSE v END)
                    FROM jsonb_each(d.payload) x(k, v))
   WHERE (d.aggregate_type = 'guest' AND d.aggregate_id = p_guest_id)
      OR (d.aggregate_type = 'reservation' AND d.aggregate_id = ANY (reservation_ids));
  RETURN true;
END $$;

-- Anonymises every guest soft-deleted more than `grace` ago and not yet anonymised.
CREATE FUNCTION compliance.anonymize_deleted_guests(grace interval DEFAULT interval '30 days') RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  g uuid;
  n integer := 0;
BEGIN
  FOR g IN SELECT id FROM guest.profiles WHERE deleted_at < now() - grace AND anonymized_at IS NULL LOOP
    PERFORM compliance.anonymize_guest(g);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;

-- Erasure and maintenance are the service's, never a tenant's: anonymize_guest() runs as its
-- owner (SECURITY DEFINER) and would otherwise let any session erase any property's guest.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA compliance FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA compliance TO stayos_service;
