-- Undo of V1.3.0: empties the guest schema (the schema itself belongs to V1.0.0).
DROP SCHEMA guest CASCADE;
CREATE SCHEMA guest;
GRANT USAGE ON SCHEMA guest TO authenticated_user, stayos_service;
