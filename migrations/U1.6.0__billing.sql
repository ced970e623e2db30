-- Undo of V1.6.0: empties the billing schema (the schema itself belongs to V1.0.0). Events the
-- folio/payment triggers already wrote to compliance.domain_events and audit.audit_log stay: they
-- are history owned by the Compliance & Audit context.
DROP SCHEMA billing CASCADE;
CREATE SCHEMA billing;
GRANT USAGE ON SCHEMA billing TO authenticated_user, stayos_service;
