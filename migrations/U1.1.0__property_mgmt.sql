-- Undo of V1.1.0: empties the property_mgmt schema (the schema itself belongs to V1.0.0).
DROP SCHEMA property_mgmt CASCADE;
CREATE SCHEMA property_mgmt;
GRANT USAGE ON SCHEMA property_mgmt TO authenticated_user, stayos_service;
