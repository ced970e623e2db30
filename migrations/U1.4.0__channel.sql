-- Undo of V1.4.0: empties the channel schema (the schema itself belongs to V1.0.0).
DROP SCHEMA channel CASCADE;
CREATE SCHEMA channel;
GRANT USAGE ON SCHEMA channel TO authenticated_user, stayos_service;
