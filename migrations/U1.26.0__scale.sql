-- Undo of V1.26.0: the portfolio read policy and its function go; tenant tables get the single
-- property policy only, as V1.0.0 made them; the poll's index goes.
DROP INDEX channel.channel_connections_closing_idx;

DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT schemaname, tablename FROM pg_policies WHERE policyname = 'tenant_portfolio_read' ORDER BY schemaname, tablename LOOP
    EXECUTE format('DROP POLICY tenant_portfolio_read ON %I.%I', r.schemaname, r.tablename);
  END LOOP;
END $$;

CREATE OR REPLACE FUNCTION shared.enable_tenant_rls(tbl regclass, key_column text DEFAULT 'property_id', writable boolean DEFAULT true)
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

DROP FUNCTION shared.current_property_ids();
