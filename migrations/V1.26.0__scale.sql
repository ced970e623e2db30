-- Issue 19: a thousand hotels on one machine.
--
-- 1. Portfolio reads. A key that sees many properties (a hotel group, an admin) read the channel
--    list, history and error log one property at a time: one transaction per hotel, 1,000 for a
--    thousand hotels. A second, read-only policy lets one transaction see a set of properties,
--    app.current_property_ids, still decided by row-level security (the tenant_isolation policy,
--    one property, stays the only one that allows writes). The set is read once per statement
--    into a hashed subplan (IN (SELECT unnest …)): a row costs one hash probe, where = ANY (array)
--    would compare it with each of a thousand ids.
CREATE FUNCTION shared.current_property_ids() RETURNS uuid[] LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT NULLIF(current_setting('app.current_property_ids', true), '')::uuid[]
$$;

DO $$
DECLARE
  r record;
  col text;
BEGIN
  FOR r IN SELECT schemaname, tablename, qual FROM pg_policies WHERE policyname = 'tenant_isolation' ORDER BY schemaname, tablename LOOP
    col := substring(r.qual FROM '^\(+(\w+) = ');
    IF col IS NULL THEN
      RAISE EXCEPTION 'tenant_isolation policy of %.% has an unexpected form: %', r.schemaname, r.tablename, r.qual;
    END IF;
    EXECUTE format('CREATE POLICY tenant_portfolio_read ON %I.%I FOR SELECT TO authenticated_user USING (%I IN (SELECT unnest(shared.current_property_ids())))',
                   r.schemaname, r.tablename, col);
  END LOOP;
END $$;

-- Tables made from now on get both policies.
CREATE OR REPLACE FUNCTION shared.enable_tenant_rls(tbl regclass, key_column text DEFAULT 'property_id', writable boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format($p$CREATE POLICY tenant_isolation ON %s FOR ALL TO authenticated_user
                    USING (%I = NULLIF(current_setting('app.current_property_id', true), '')::uuid)
                    WITH CHECK (%I = NULLIF(current_setting('app.current_property_id', true), '')::uuid)$p$,
                 tbl, key_column, key_column);
  EXECUTE format('CREATE POLICY tenant_portfolio_read ON %s FOR SELECT TO authenticated_user USING (%I IN (SELECT unnest(shared.current_property_ids())))',
                 tbl, key_column);
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

-- 2. The sync workers' poll. It probed every connection (three index probes each, ten times a
--    second): 2,000 connections kept PostgreSQL busy with nothing to push. It now starts from
--    the dirty cells (a loose index scan: one probe per connection that has any), the pending OTA
--    closures and the connections being closed, which this index finds without a scan.
CREATE INDEX channel_connections_closing_idx ON channel.channel_connections (id) WHERE closing_for IS NOT NULL AND deleted_at IS NULL;
