-- Undo of V1.2.0: empties the reservation schema (the schema itself belongs to V1.0.0).
DROP SCHEMA reservation CASCADE;
CREATE SCHEMA reservation;
GRANT USAGE ON SCHEMA reservation TO authenticated_user, stayos_service;
