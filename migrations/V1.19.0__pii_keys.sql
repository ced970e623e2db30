-- Issue 16, point 6: the encryption key leaves the statements, every ciphertext names its key,
-- and keys rotate online.
--
-- Until now the key was an argument (shared.encrypt_pii(text, $key)): a bind parameter of ordinary
-- statements, which slow-query logging (log_min_duration_statement with log_parameter_max_length)
-- and auto_explain write to the server log next to the ciphertexts. Now each application session
-- carries its keys in the placeholder setting stayos.pii_keys, given once in the connection's
-- start-up packet (libpq `options`, core/db.ts) — never a statement, so never logged, and a
-- session reads only its own settings. Value: the current key first, then the keys it replaces,
-- each hex-encoded (no character of a key can break the list), comma-separated.
--
-- Ciphertext format: 0x01, the key id (4 bytes), then the OpenPGP message (AES-256, as before).
-- Ciphertexts written before this migration are bare OpenPGP messages ("legacy"); they stay
-- readable and `stayos keys rotate` gives them a key id.

-- The keys of this session, current first. A session without keys gets a named error, never a
-- NULL ciphertext.
CREATE FUNCTION shared.pii_session_keys() RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
  raw text := current_setting('stayos.pii_keys', true);
BEGIN
  IF raw IS NULL OR raw = '' THEN
    RAISE EXCEPTION 'this database session holds no encryption key'
      USING ERRCODE = 'SK001', HINT = 'Connect through StayOS (STAYOS_ENCRYPTION_KEY), which gives stayos.pii_keys at connection start-up.';
  END IF;
  RETURN ARRAY(SELECT convert_from(decode(k, 'hex'), 'UTF8') FROM unnest(string_to_array(raw, ',')) WITH ORDINALITY AS u(k, n) ORDER BY n);
END $$;

-- A key's id: the first 4 bytes of a SHA-256 of the key under a fixed label. It names the key. It
-- is a faster check for a guesser than the ciphertexts' iterated S2K, which matters only for a
-- guessable key: StayOS requires 32 characters and generates 48 random bytes in embedded mode.
CREATE FUNCTION shared.pii_key_id(key text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT substring(shared.digest('stayos-pii-key-id:' || key, 'sha256') FROM 1 FOR 4)
$$;

-- The id of the key new ciphertexts are written under (hex).
CREATE FUNCTION shared.pii_current_key_id() RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT encode(shared.pii_key_id((shared.pii_session_keys())[1]), 'hex')
$$;

-- The key id a ciphertext names (hex); 'legacy' for one written before key ids; NULL for erased data.
CREATE FUNCTION shared.ciphertext_key_id(ciphertext bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN length(ciphertext) = 0 THEN NULL
              WHEN get_byte(ciphertext, 0) = 1 THEN encode(substring(ciphertext FROM 2 FOR 4), 'hex')
              ELSE 'legacy' END
$$;

-- The keyed variants are internal: only the functions below call them, with a key read from the
-- session, so no statement the application sends carries a key.
ALTER FUNCTION shared.pii_fingerprint(text, text) RENAME TO pii_fingerprint_under;
DROP FUNCTION shared.encrypt_pii(text, text);
DROP FUNCTION shared.decrypt_pii(bytea, text);

-- The session's key that opens a ciphertext, and its OpenPGP message.
CREATE FUNCTION shared.pii_key_for(ciphertext bytea, OUT key text, OUT message bytea)
LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
  keys text[] := shared.pii_session_keys();
  k text;
  kid bytea;
BEGIN
  IF get_byte(ciphertext, 0) = 1 THEN
    kid := substring(ciphertext FROM 2 FOR 4);
    message := substring(ciphertext FROM 6);
    FOREACH k IN ARRAY keys LOOP
      IF shared.pii_key_id(k) = kid THEN
        key := k;
        RETURN;
      END IF;
    END LOOP;
    RAISE EXCEPTION 'this ciphertext is under key %, which this session does not hold', encode(kid, 'hex')
      USING ERRCODE = 'SK002', HINT = 'Give that key in STAYOS_ENCRYPTION_PREVIOUS_KEYS until `stayos keys rotate` has re-encrypted everything under the current key.';
  END IF;
  -- Legacy (no key id): the one key there was, or the first of the session's keys that opens it
  -- (a trial only while several keys are given, i.e. during a rotation).
  message := ciphertext;
  IF cardinality(keys) = 1 THEN
    key := keys[1];
    RETURN;
  END IF;
  FOREACH k IN ARRAY keys LOOP
    BEGIN
      PERFORM shared.pgp_sym_decrypt_bytea(ciphertext, k);
      key := k;
      RETURN;
    EXCEPTION WHEN external_routine_invocation_exception THEN
      NULL; -- "Wrong key or corrupt data": the next key
    END;
  END LOOP;
  RAISE EXCEPTION 'no key of this session opens this ciphertext (written before key ids)'
    USING ERRCODE = 'SK002', HINT = 'Give the key it was written under in STAYOS_ENCRYPTION_PREVIOUS_KEYS.';
END $$;

-- Text and bytes (a stored OTA message, exactly as received), under the session's current key.
CREATE FUNCTION shared.encrypt_pii(plaintext text) RETURNS bytea
LANGUAGE sql VOLATILE STRICT AS $$
  SELECT '\x01'::bytea || shared.pii_key_id(k) || shared.pgp_sym_encrypt(plaintext, k, 'cipher-algo=aes256, compress-algo=0')
  FROM (SELECT (shared.pii_session_keys())[1] AS k) s
$$;
CREATE FUNCTION shared.encrypt_pii_bytes(plaintext bytea) RETURNS bytea
LANGUAGE sql VOLATILE STRICT AS $$
  SELECT '\x01'::bytea || shared.pii_key_id(k) || shared.pgp_sym_encrypt_bytea(plaintext, k, 'cipher-algo=aes256, compress-algo=0')
  FROM (SELECT (shared.pii_session_keys())[1] AS k) s
$$;

-- STABLE, not IMMUTABLE: they depend on the session's keys. Erased data (GDPR) decrypts to NULL.
CREATE FUNCTION shared.decrypt_pii(ciphertext bytea) RETURNS text
LANGUAGE sql STABLE STRICT AS $$
  SELECT CASE WHEN length(ciphertext) > 0 THEN (SELECT shared.pgp_sym_decrypt(o.message, o.key) FROM shared.pii_key_for(ciphertext) o) END
$$;
CREATE FUNCTION shared.decrypt_pii_bytes(ciphertext bytea) RETURNS bytea
LANGUAGE sql STABLE STRICT AS $$
  SELECT CASE WHEN length(ciphertext) > 0 THEN (SELECT shared.pgp_sym_decrypt_bytea(o.message, o.key) FROM shared.pii_key_for(ciphertext) o) END
$$;

-- Keyed fingerprint under the current key (what new rows store) …
CREATE FUNCTION shared.pii_fingerprint(value text) RETURNS text
LANGUAGE sql STABLE STRICT AS $$
  SELECT shared.pii_fingerprint_under(value, (shared.pii_session_keys())[1])
$$;
-- … and under every key of the session: what an equality lookup compares with while a rotation
-- is under way (a row not yet re-encrypted still carries its old key's fingerprint).
CREATE FUNCTION shared.pii_fingerprints(value text) RETURNS text[]
LANGUAGE sql STABLE STRICT AS $$
  SELECT ARRAY(SELECT shared.pii_fingerprint_under(value, k) FROM unnest(shared.pii_session_keys()) WITH ORDINALITY AS u(k, n) ORDER BY n)
$$;

-- The same plaintext under the current key (as text or as bytes: OpenPGP marks which, and a text
-- reader refuses bytes); a ciphertext already under it, or erased, unchanged.
CREATE FUNCTION shared.reencrypt_pii(ciphertext bytea, is_binary boolean) RETURNS bytea
LANGUAGE sql VOLATILE STRICT AS $$
  SELECT CASE WHEN length(ciphertext) = 0 OR shared.ciphertext_key_id(ciphertext) = shared.pii_current_key_id() THEN ciphertext
              WHEN is_binary THEN shared.encrypt_pii_bytes(shared.decrypt_pii_bytes(ciphertext))
              ELSE shared.encrypt_pii(shared.decrypt_pii(ciphertext)) END
$$;

-- The domain takes both formats. NOT VALID: the new check accepts everything the old one did, so
-- the existing rows need no scan.
ALTER DOMAIN shared.pgp_ciphertext DROP CONSTRAINT pgp_ciphertext_check;
ALTER DOMAIN shared.pgp_ciphertext ADD CONSTRAINT pgp_ciphertext_check
  CHECK (length(VALUE) = 0 OR get_byte(VALUE, 0) = 195 OR (length(VALUE) > 5 AND get_byte(VALUE, 0) = 1 AND get_byte(VALUE, 5) = 195)) NOT VALID;

-- What `stayos keys rotate` must know beyond the columns of domain shared.pgp_ciphertext (which it
-- finds itself): a ciphertext of bytes, and the keyed fingerprint written with a ciphertext (the
-- rotation recomputes it from the plaintext).
-- (A function, not a table: it is part of the schema's code, versioned with the migrations.)
CREATE FUNCTION shared.pii_column_notes(OUT table_name regclass, OUT ciphertext_column name, OUT is_binary boolean, OUT fingerprint_column name)
RETURNS SETOF record LANGUAGE sql STABLE AS $$
  VALUES ('guest.identity_documents'::regclass, 'document_number_encrypted'::name, false, 'document_number_fingerprint'::name),
         ('billing.payment_methods'::regclass, 'card_number_encrypted'::name, false, 'card_fingerprint'::name),
         ('channel.inbound_messages'::regclass, 'body_encrypted'::name, true, NULL::name)
$$;

-- Append-only tables hold ciphertexts too (the stored OTA messages): a rotation must re-encrypt
-- them. The one update they now allow besides GDPR erasure: nothing but ciphertexts changed, and
-- each still holds the same plaintext (checked by decrypting both: the rewriting session holds
-- the keys, a forger's does not).
CREATE OR REPLACE FUNCTION shared.reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ciphers text[];
  c text;
  o bytea;
  n bytea;
  rewritten boolean := false;
BEGIN
  IF TG_OP = 'UPDATE' AND current_setting('stayos.gdpr_erasure', true) = 'on' THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    SELECT array_agg(a.attname::text) INTO ciphers
    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped AND t.typname = 'pgp_ciphertext' AND t.typnamespace = 'shared'::regnamespace;
    IF ciphers IS NOT NULL AND to_jsonb(NEW) - ciphers = to_jsonb(OLD) - ciphers THEN
      FOREACH c IN ARRAY ciphers LOOP
        EXECUTE format('SELECT $1.%I::bytea, $2.%I::bytea', c, c) INTO o, n USING OLD, NEW;
        CONTINUE WHEN o IS NOT DISTINCT FROM n;
        -- Only a ciphertext replaced by another of the same plaintext: never one erased, filled
        -- or emptied (a NULL would make the comparison NULL, which IF takes as false).
        IF o IS NULL OR n IS NULL OR length(o) = 0 OR length(n) = 0
           OR shared.decrypt_pii_bytes(o) IS DISTINCT FROM shared.decrypt_pii_bytes(n) THEN
          rewritten := false;
          EXIT;
        END IF;
        rewritten := true;
      END LOOP;
      IF rewritten THEN
        RETURN NEW; -- re-encrypted, nothing else
      END IF;
    END IF;
  END IF;
  RAISE EXCEPTION '%.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'SV002', HINT = 'Append a new event instead.';
END $$;

-- Issue 16, point 7: an Expedia message naming a hotel we do not connect is matched to its account
-- by the username's keyed fingerprint, so only that account's credentials are decrypted (before,
-- every Expedia credential was). Kept by a trigger on whatever path writes credentials.
ALTER TABLE channel.channel_connections ADD COLUMN account_fingerprint text;
CREATE INDEX channel_connections_account_idx ON channel.channel_connections (channel_code, account_fingerprint)
  WHERE deleted_at IS NULL AND account_fingerprint IS NOT NULL;

-- SECURITY DEFINER: it decrypts, which the tenant role may not (below), while credentials are
-- written through the API as that role.
CREATE FUNCTION channel.set_account_fingerprint() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  BEGIN
    NEW.account_fingerprint := CASE WHEN NEW.credentials IS NULL OR length(NEW.credentials) = 0 THEN NULL
      ELSE shared.pii_fingerprint(NULLIF(shared.decrypt_pii(NEW.credentials)::jsonb ->> 'username', '')) END;
  EXCEPTION WHEN invalid_text_representation THEN
    -- Credentials that are not JSON have no username; the cast's error would quote the plaintext.
    NEW.account_fingerprint := NULL;
  END;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_account_fingerprint BEFORE INSERT OR UPDATE OF credentials ON channel.channel_connections
  FOR EACH ROW EXECUTE FUNCTION channel.set_account_fingerprint();

-- What a table's audit rows leave out, set again (the audit triggers take it as arguments).
CREATE FUNCTION shared.set_audit_redaction(tbl regclass, redact text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  args text := (SELECT string_agg(quote_literal(r), ', ') FROM unnest(redact) r);
BEGIN
  EXECUTE format('DROP TRIGGER trg_audit_insert ON %s', tbl);
  EXECUTE format('DROP TRIGGER trg_audit_update ON %s', tbl);
  EXECUTE format('DROP TRIGGER trg_audit_delete ON %s', tbl);
  EXECUTE format('CREATE TRIGGER trg_audit_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shared.audit_trigger(%s)', tbl, args);
  EXECUTE format('CREATE TRIGGER trg_audit_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION shared.audit_trigger(%s)', tbl, args);
  EXECUTE format('CREATE TRIGGER trg_audit_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION shared.audit_trigger(%s)', tbl, args);
END $$;

-- The audit log keeps neither the credentials nor their fingerprint, and neither do the domain
-- events published to subscribers …
SELECT shared.set_audit_redaction('channel.channel_connections', ARRAY['credentials', 'account_fingerprint']);
DROP TRIGGER trg_domain_event ON channel.channel_connections;
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON channel.channel_connections
  FOR EACH ROW EXECUTE FUNCTION shared.publish_domain_event('channel_connection', 'credentials', 'account_fingerprint');
-- … nor a card's fingerprint (an HMAC of the number: with the last four digits and the Luhn digit
-- known, a leaked key would open it by search). The rows already written lose it (the erasure
-- switch is the one way to change the append-only log).
SELECT shared.set_audit_redaction('billing.payment_methods', ARRAY['card_number_encrypted', 'cardholder_name_encrypted', 'card_fingerprint']);
SELECT set_config('stayos.gdpr_erasure', 'on', true);
UPDATE audit.audit_log SET old_data = old_data - 'card_fingerprint', new_data = new_data - 'card_fingerprint',
       changed_columns = array_remove(changed_columns, 'card_fingerprint')
WHERE schema_name = 'billing' AND table_name = 'payment_methods' AND (old_data ? 'card_fingerprint' OR new_data ? 'card_fingerprint');
SELECT set_config('stayos.gdpr_erasure', 'off', true);

-- What decrypts is the service's (the pipeline, the CLI, the connector workers), not the tenant
-- role's: an API request runs as authenticated_user and never reads a plaintext back. (Its session
-- does hold the keys — it encrypts credentials — see docs/security.md.)
REVOKE EXECUTE ON FUNCTION shared.decrypt_pii(bytea), shared.decrypt_pii_bytes(bytea), shared.pii_key_for(bytea),
  shared.reencrypt_pii(bytea, boolean) FROM PUBLIC, authenticated_user;
GRANT EXECUTE ON FUNCTION shared.decrypt_pii(bytea), shared.decrypt_pii_bytes(bytea), shared.pii_key_for(bytea),
  shared.reencrypt_pii(bytea, boolean) TO stayos_service;

-- Existing credentials get their fingerprint now when the migrating session holds the key (as
-- `stayos migrate` and `stayos start` do); otherwise `stayos keys rotate` fills them, as it
-- rewrites every legacy ciphertext.
DO $$
BEGIN
  IF COALESCE(current_setting('stayos.pii_keys', true), '') <> '' THEN
    UPDATE channel.channel_connections SET credentials = credentials WHERE credentials IS NOT NULL AND length(credentials) > 0;
  END IF;
END $$;

-- Review of issue 16: a Booking.com reservation queue that cannot be polled (its URL not allowed,
-- credentials refused, the host down) was only a log line; the revenue team now sees it on the
-- connection as an error of its own kind, resolved by the next poll that works.
ALTER TABLE channel.sync_errors DROP CONSTRAINT sync_errors_kind_check;
ALTER TABLE channel.sync_errors ADD CONSTRAINT sync_errors_kind_check
  CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking', 'resync', 'closing', 'closing_failed', 'reservations'));

-- Review of issue 16, point 7: "one replica polls each" Booking.com hotel. The advisory lock kept
-- two replicas from polling a hotel at the same moment, not from polling it one after the other:
-- with N replicas each hotel was polled N times per interval. The next poll's time is now claimed
-- in the database (the replica that moves it forward polls; the others find it not due).
ALTER TABLE channel.connection_sync_state ADD COLUMN reservations_poll_at timestamptz;
