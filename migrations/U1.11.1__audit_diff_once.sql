-- Undo of V1.11.1: audit_trigger() as V1.0.0 defined it.
CREATE OR REPLACE FUNCTION shared.audit_trigger() RETURNS trigger
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
