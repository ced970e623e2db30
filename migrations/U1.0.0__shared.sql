-- Undo of V1.0.0: removes every object it created. Roles stay (they are cluster-wide); their
-- privileges in this database go with the objects.
DROP SCHEMA IF EXISTS audit CASCADE;
DROP SCHEMA IF EXISTS channel CASCADE;
DROP SCHEMA IF EXISTS compliance CASCADE;
DROP SCHEMA IF EXISTS procurement CASCADE;
DROP SCHEMA IF EXISTS fb CASCADE;
DROP SCHEMA IF EXISTS billing CASCADE;
DROP SCHEMA IF EXISTS operations CASCADE;
DROP SCHEMA IF EXISTS guest CASCADE;
DROP SCHEMA IF EXISTS reservation CASCADE;
DROP SCHEMA IF EXISTS property_mgmt CASCADE;
DROP SCHEMA IF EXISTS shared CASCADE;
