-- Undo of V1.7.0: empties the fb schema (the schema itself belongs to V1.0.0). Events the order
-- trigger already wrote to compliance.domain_events and audit.audit_log stay: they are history
-- owned by the Compliance & Audit context.
DROP SCHEMA fb CASCADE;
CREATE SCHEMA fb;
GRANT USAGE ON SCHEMA fb TO authenticated_user, stayos_service;
