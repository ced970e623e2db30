-- Undo of V1.23.0. Derived plans keep their parent and percentage (V1.1.0's columns); their
-- amount and rounding are dropped with the columns.
ALTER PUBLICATION stayos_ari DROP TABLE property_mgmt.rate_plans;
ALTER TABLE property_mgmt.rate_plans REPLICA IDENTITY DEFAULT;
DROP TRIGGER trg_rate_plan_parent ON property_mgmt.rate_plans;
DROP FUNCTION property_mgmt.check_rate_plan_parent();
ALTER TABLE property_mgmt.rate_plans
  DROP CONSTRAINT rate_plans_adjustment_needs_parent,
  DROP COLUMN derived_rounding,
  DROP COLUMN derived_adjustment_amount;
