-- Undo of V1.19.0. Ciphertexts lose their key id (the OpenPGP message after it is what the old
-- functions read); the old functions take the key as an argument again. Everything must then be
-- under the one key the old code knows: it refuses while any ciphertext is under another key than
-- the session's current one (run `stayos keys rotate` to completion first; `stayos migrate undo`
-- gives its session the keys).
ALTER TABLE channel.connection_sync_state DROP COLUMN reservations_poll_at;
DELETE FROM channel.sync_errors WHERE kind = 'reservations';
ALTER TABLE channel.sync_errors DROP CONSTRAINT sync_errors_kind_check;
ALTER TABLE channel.sync_errors ADD CONSTRAINT sync_errors_kind_check
  CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking', 'resync', 'closing', 'closing_failed'));
DROP TRIGGER trg_account_fingerprint ON channel.channel_connections;
DROP FUNCTION channel.set_account_fingerprint();
SELECT shared.set_audit_redaction('channel.channel_connections', ARRAY['credentials']);
-- Card fingerprints stay out of the audit log (the undo below rewrites every card; undoing a leak
-- is not undoing a feature).
DROP FUNCTION shared.set_audit_redaction(regclass, text[]);
DROP TRIGGER trg_domain_event ON channel.channel_connections;
CREATE TRIGGER trg_domain_event AFTER INSERT OR UPDATE OR DELETE ON channel.channel_connections
  FOR EACH ROW EXECUTE FUNCTION shared.publish_domain_event('channel_connection', 'credentials');
DROP INDEX channel.channel_connections_account_idx;
ALTER TABLE channel.channel_connections DROP COLUMN account_fingerprint;
DROP FUNCTION shared.pii_column_notes();

ALTER DOMAIN shared.pgp_ciphertext DROP CONSTRAINT pgp_ciphertext_check;
DO $$
DECLARE
  col record;
  other boolean;
BEGIN
  FOR col IN
    SELECT format('%I.%I', c.table_schema, c.table_name) AS tbl, quote_ident(c.column_name) AS name
    FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
    WHERE c.domain_schema = 'shared' AND c.domain_name = 'pgp_ciphertext' AND t.table_type = 'BASE TABLE'
      AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = format('%I.%I', c.table_schema, c.table_name)::regclass)
  LOOP
    -- A ciphertext without key id may be under any older key: only the current key's count.
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE length(%s) > 0 AND shared.ciphertext_key_id(%s) IS DISTINCT FROM shared.pii_current_key_id())', col.tbl, col.name, col.name) INTO other;
    IF other THEN
      RAISE EXCEPTION '%.% holds ciphertexts under another key than the current one: run `stayos keys rotate` to completion first', col.tbl, col.name;
    END IF;
    -- The erasure switch: the one way to rewrite the append-only stored messages.
    PERFORM set_config('stayos.gdpr_erasure', 'on', true);
    EXECUTE format('UPDATE %s SET %s = substring(%s FROM 6) WHERE length(%s) > 5 AND get_byte(%s, 0) = 1', col.tbl, col.name, col.name, col.name, col.name);
    PERFORM set_config('stayos.gdpr_erasure', 'off', true);
  END LOOP;
END $$;
ALTER DOMAIN shared.pgp_ciphertext ADD CONSTRAINT pgp_ciphertext_check CHECK (length(VALUE) = 0 OR get_byte(VALUE, 0) = 195);

CREATE OR REPLACE FUNCTION shared.reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND current_setting('stayos.gdpr_erasure', true) = 'on' THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '%.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'SV002', HINT = 'Append a new event instead.';
END $$;
DROP FUNCTION shared.reencrypt_pii(bytea, boolean);
DROP FUNCTION shared.pii_fingerprints(text);
DROP FUNCTION shared.pii_fingerprint(text);
DROP FUNCTION shared.decrypt_pii(bytea);
DROP FUNCTION shared.decrypt_pii_bytes(bytea);
DROP FUNCTION shared.encrypt_pii(text);
DROP FUNCTION shared.encrypt_pii_bytes(bytea);
DROP FUNCTION shared.pii_key_for(bytea);
ALTER FUNCTION shared.pii_fingerprint_under(text, text) RENAME TO pii_fingerprint;
CREATE FUNCTION shared.encrypt_pii(plaintext text, key text) RETURNS bytea
LANGUAGE sql VOLATILE STRICT AS $$
  SELECT shared.pgp_sym_encrypt(plaintext, key, 'cipher-algo=aes256, compress-algo=0')
$$;
CREATE FUNCTION shared.decrypt_pii(ciphertext bytea, key text) RETURNS text
LANGUAGE sql STABLE STRICT AS $$
  SELECT shared.pgp_sym_decrypt(ciphertext, key)
$$;
DROP FUNCTION shared.ciphertext_key_id(bytea);
DROP FUNCTION shared.pii_current_key_id();
DROP FUNCTION shared.pii_key_id(text);
DROP FUNCTION shared.pii_session_keys();
