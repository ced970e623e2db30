-- Undo of V1.8.0: removes every procurement object (tables, the stock_on_hand view, indexes,
-- triggers, policies). The schema itself belongs to V1.0.0, so it is recreated empty with its grant.
DROP SCHEMA procurement CASCADE;
CREATE SCHEMA procurement;
GRANT USAGE ON SCHEMA procurement TO authenticated_user, stayos_service;
