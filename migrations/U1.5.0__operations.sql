-- Undo of V1.5.0: removes every operations object (tables, service_requests partitions, indexes,
-- triggers, policies). The schema itself belongs to V1.0.0, so it is recreated empty with its grant.
DROP SCHEMA operations CASCADE;
CREATE SCHEMA operations;
GRANT USAGE ON SCHEMA operations TO authenticated_user, stayos_service;
