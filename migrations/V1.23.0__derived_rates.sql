-- Derived rate plans (issue 18): a plan that follows its parent's nightly rates with a percentage
-- and/or an amount, rounded by its own rule, and its parent's restrictions unless it has its own.
-- Until now the schema carried parent_rate_plan_id and derived_adjustment_pct but nothing read
-- them: a derived plan without rate rows of its own was pushed to the OTAs as closed.
--
-- The rule, one level deep (a parent is never itself derived, so a change reaches every plan it
-- moves in one step and the CDC marks them with one lookup):
--   rate of a derived cell = its own daily_rates row if it has one (a deliberate override for a
--   night), else round(parent's rate × (1 + pct / 100) + amount, rounding); a result of zero or
--   less, or no parent rate, is no rate (the cell is closed: never sell at 0);
--   restrictions of a derived cell = its own restrictions row if it has one, else the parent's.
-- The rule is computed in the one ARI statement (connectors/outbound/sql/ari.ts) and stated in
-- docs/revenue-model.md.
ALTER TABLE property_mgmt.rate_plans
  ADD COLUMN derived_adjustment_amount numeric(12, 2) CHECK (derived_adjustment_amount IS NULL OR derived_adjustment_amount BETWEEN -100000 AND 100000),
  -- cent: half up to 0.01; whole: half up to 1; up / down: to the whole unit above / below.
  ADD COLUMN derived_rounding text NOT NULL DEFAULT 'cent' CHECK (derived_rounding IN ('cent', 'whole', 'up', 'down')),
  ADD CONSTRAINT rate_plans_adjustment_needs_parent
    CHECK (parent_rate_plan_id IS NOT NULL OR (derived_adjustment_pct IS NULL AND derived_adjustment_amount IS NULL));

COMMENT ON COLUMN property_mgmt.rate_plans.derived_adjustment_amount IS
  'Amount added (negative: taken off) after the percentage, in the parent''s currency';
COMMENT ON COLUMN property_mgmt.rate_plans.derived_rounding IS
  'How a derived nightly rate is rounded: cent (half up to 0.01), whole (half up to 1), up / down (to the whole unit)';

-- A parent belongs to the same property, sells in the same currency, is live and is not derived
-- itself; a plan with derived plans cannot become derived, nor move to another currency or
-- property than theirs. Checked on every write of either side (FOR SHARE: two concurrent writes
-- cannot together build a chain the other did not see).
CREATE FUNCTION property_mgmt.check_rate_plan_parent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  parent property_mgmt.rate_plans;
  child property_mgmt.rate_plans;
BEGIN
  SELECT * INTO child FROM property_mgmt.rate_plans c
  WHERE c.parent_rate_plan_id = NEW.id AND c.deleted_at IS NULL AND c.id <> NEW.id
    AND (NEW.parent_rate_plan_id IS NOT NULL OR c.currency <> NEW.currency OR c.property_id <> NEW.property_id)
  LIMIT 1 FOR SHARE;
  IF FOUND THEN
    RAISE EXCEPTION 'rate plan %: % derives from it, so it cannot be derived, nor change its currency or property (one level, one currency)',
      NEW.code, child.code USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.parent_rate_plan_id IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT * INTO parent FROM property_mgmt.rate_plans WHERE id = NEW.parent_rate_plan_id FOR SHARE;
  IF parent.property_id <> NEW.property_id THEN
    RAISE EXCEPTION 'rate plan %: its parent % belongs to another property', NEW.code, parent.code USING ERRCODE = 'check_violation';
  END IF;
  IF parent.deleted_at IS NOT NULL THEN
    RAISE EXCEPTION 'rate plan %: its parent % is deleted', NEW.code, parent.code USING ERRCODE = 'check_violation';
  END IF;
  IF parent.currency <> NEW.currency THEN
    RAISE EXCEPTION 'rate plan %: its parent % sells in %, not %', NEW.code, parent.code, parent.currency, NEW.currency USING ERRCODE = 'check_violation';
  END IF;
  IF parent.parent_rate_plan_id IS NOT NULL THEN
    RAISE EXCEPTION 'rate plan %: its parent % is itself derived (one level only)', NEW.code, parent.code USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_rate_plan_parent BEFORE INSERT OR UPDATE OF parent_rate_plan_id, currency, property_id ON property_mgmt.rate_plans
  FOR EACH ROW EXECUTE FUNCTION property_mgmt.check_rate_plan_parent();

-- The CDC follows rate plans: a changed adjustment, rounding or parent re-prices every cell of
-- the plan. The whole old row is needed to see what changed.
ALTER TABLE property_mgmt.rate_plans REPLICA IDENTITY FULL;
ALTER PUBLICATION stayos_ari ADD TABLE property_mgmt.rate_plans;
