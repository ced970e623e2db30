-- Guest context: who stays. Names, e-mail and phone are kept readable (the front desk needs them,
-- RLS limits who sees them); identity-document numbers are encrypted with pgcrypto and found by a
-- keyed fingerprint. A deleted guest is anonymised by compliance.anonymize_guest() (GDPR).

CREATE TABLE guest.profiles (
  id               uuid PRIMARY KEY DEFAULT shared.new_id(),
  property_id      uuid NOT NULL,   -- property_mgmt.properties(id), id only
  first_name       text,
  last_name        text NOT NULL,
  full_name        text GENERATED ALWAYS AS (btrim(coalesce(first_name, '') || ' ' || last_name)) STORED,
  email            text CHECK (email IS NULL OR email ~ '^[^@\s]+@[^@\s]+$'),
  phone            text CHECK (phone IS NULL OR phone ~ '^[+0-9 ()./-]{5,32}$'),
  date_of_birth    date CHECK (date_of_birth IS NULL OR date_of_birth > '1900-01-01'),
  nationality      shared.country_code,
  language         text CHECK (language IS NULL OR language ~ '^[a-z]{2}(-[A-Z]{2})?$'),
  vip_level        integer NOT NULL DEFAULT 0 CHECK (vip_level BETWEEN 0 AND 5),
  preferences      jsonb NOT NULL DEFAULT '{}',   -- pillow, floor, dietary …
  marketing_opt_in boolean NOT NULL DEFAULT false,
  source           text,                          -- channel that created the profile
  anonymized_at    timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  created_by       uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by       uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at       timestamptz,
  version          integer NOT NULL DEFAULT 1
);
CREATE INDEX idx_guest_preferences_gin ON guest.profiles USING gin (preferences);
-- Name search at the front desk. The 'simple' configuration, not 'english': names must not be
-- stemmed or stop-worded ("May", "Will", "Stern" are surnames).
CREATE INDEX idx_guest_name_fts ON guest.profiles USING gin (to_tsvector('simple', full_name));
CREATE INDEX guest_profiles_email_idx ON guest.profiles (property_id, lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX guest_profiles_last_name_idx ON guest.profiles (property_id, lower(last_name)) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('guest.profiles');
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON guest.profiles
  FOR EACH ROW EXECUTE FUNCTION shared.publish_domain_event('guest', 'email', 'phone', 'date_of_birth', 'first_name', 'last_name', 'full_name');

CREATE TABLE guest.identity_documents (
  id                          uuid PRIMARY KEY DEFAULT shared.new_id(),
  profile_id                  uuid NOT NULL REFERENCES guest.profiles (id),
  property_id                 uuid NOT NULL,
  document_type               text NOT NULL CHECK (document_type IN ('passport', 'id_card', 'driving_licence', 'residence_permit', 'visa')),
  document_number_encrypted   shared.pgp_ciphertext NOT NULL,   -- shared.encrypt_pii(number, key)
  document_number_fingerprint text NOT NULL,    -- shared.pii_fingerprint(number, key): equality lookups
  issuing_country             shared.country_code,
  expiry_date                 date,
  verified_at                 timestamptz,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  updated_at                  timestamptz NOT NULL DEFAULT now(),
  created_by                  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by                  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at                  timestamptz,
  version                     integer NOT NULL DEFAULT 1
);
CREATE INDEX identity_documents_profile_idx ON guest.identity_documents (profile_id);
CREATE UNIQUE INDEX identity_documents_fingerprint_uq ON guest.identity_documents (property_id, document_type, document_number_fingerprint)
  WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('guest.identity_documents', ARRAY['document_number_encrypted', 'document_number_fingerprint']);

CREATE TABLE guest.addresses (
  id          uuid PRIMARY KEY DEFAULT shared.new_id(),
  profile_id  uuid NOT NULL REFERENCES guest.profiles (id),
  property_id uuid NOT NULL,
  kind        text NOT NULL DEFAULT 'home' CHECK (kind IN ('home', 'billing', 'work')),
  line1       text,
  line2       text,
  city        text,
  region      text,
  postal_code text,
  country     shared.country_code,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  created_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at  timestamptz,
  version     integer NOT NULL DEFAULT 1
);
CREATE INDEX addresses_profile_idx ON guest.addresses (profile_id);
CREATE INDEX addresses_property_idx ON guest.addresses (property_id);
SELECT shared.setup_tenant_table('guest.addresses');

CREATE TABLE guest.loyalty_memberships (
  id             uuid PRIMARY KEY DEFAULT shared.new_id(),
  profile_id     uuid NOT NULL REFERENCES guest.profiles (id),
  property_id    uuid NOT NULL,
  program        text NOT NULL,
  member_number  text NOT NULL,
  tier           text NOT NULL DEFAULT 'base',
  points_balance integer NOT NULL DEFAULT 0 CHECK (points_balance >= 0),
  valid_until    date,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1
);
CREATE INDEX loyalty_memberships_profile_idx ON guest.loyalty_memberships (profile_id);
CREATE UNIQUE INDEX loyalty_memberships_number_uq ON guest.loyalty_memberships (property_id, program, member_number) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('guest.loyalty_memberships');

-- Alerts and notes the staff keep about a guest ("allergic to nuts", "prefers high floor").
CREATE TABLE guest.guest_notes (
  id          uuid PRIMARY KEY DEFAULT shared.new_id(),
  profile_id  uuid NOT NULL REFERENCES guest.profiles (id),
  property_id uuid NOT NULL,
  category    text NOT NULL DEFAULT 'general' CHECK (category IN ('general', 'alert', 'preference', 'complaint', 'billing')),
  body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
  show_at_check_in boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  created_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by  uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at  timestamptz,
  version     integer NOT NULL DEFAULT 1
);
CREATE INDEX guest_notes_profile_idx ON guest.guest_notes (profile_id);
CREATE INDEX guest_notes_property_idx ON guest.guest_notes (property_id) WHERE deleted_at IS NULL;
SELECT shared.setup_tenant_table('guest.guest_notes');

-- Reviews and surveys: high volume, partitioned by quarter, kept 5 years.
CREATE TABLE guest.feedback (
  id             uuid NOT NULL DEFAULT shared.new_id(),
  profile_id     uuid REFERENCES guest.profiles (id),
  property_id    uuid NOT NULL,
  reservation_id uuid,            -- reservation.reservations(id), id only
  source         text NOT NULL CHECK (source IN ('survey', 'front_desk', 'booking_com', 'expedia', 'tripadvisor', 'google')),
  rating         numeric(3, 1) NOT NULL CHECK (rating BETWEEN 0 AND 10),
  scores         jsonb NOT NULL DEFAULT '{}',   -- per category: cleanliness, staff, location …
  comment        text,
  responded_at   timestamptz,
  response       text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  created_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  updated_by     uuid NOT NULL DEFAULT shared.current_actor() REFERENCES shared.users (id),
  deleted_at     timestamptz,
  version        integer NOT NULL DEFAULT 1,
  PRIMARY KEY (id, created_at),
  CHECK (response IS NULL OR responded_at IS NOT NULL)
) PARTITION BY RANGE (created_at);
CREATE INDEX feedback_profile_idx ON guest.feedback (profile_id);
CREATE INDEX feedback_property_idx ON guest.feedback (property_id, created_at);
CREATE INDEX feedback_scores_gin ON guest.feedback USING gin (scores);
SELECT shared.ensure_partitions('guest.feedback', 'quarter', 1, 2);
SELECT shared.setup_tenant_table('guest.feedback');
