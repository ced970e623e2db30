-- Undo of V1.25.0. Occupancy prices, stay-through and advance-booking restrictions and room type
-- closures are dropped with their columns and table; per-occupancy plans become per-day plans.
DELETE FROM channel.sync_errors WHERE kind = 'pricing_model';
ALTER TABLE channel.sync_errors DROP CONSTRAINT sync_errors_kind_check;
ALTER TABLE channel.sync_errors ADD CONSTRAINT sync_errors_kind_check
  CHECK (kind IN ('auth', 'rejected', 'mapping', 'unavailable', 'invalid_response', 'ota_warning', 'overbooking', 'resync', 'closing', 'closing_failed', 'reservations', 'held'));
ALTER TABLE channel.ari_acknowledged
  DROP COLUMN room_closed,
  DROP COLUMN max_advance_days,
  DROP COLUMN min_advance_days,
  DROP COLUMN max_stay_through,
  DROP COLUMN min_stay_through,
  DROP COLUMN occupancy_rates;
ALTER PUBLICATION stayos_ari DROP TABLE property_mgmt.room_type_closures;
DROP TABLE property_mgmt.room_type_closures;
ALTER TABLE property_mgmt.restrictions
  DROP CONSTRAINT restrictions_advance_order,
  DROP CONSTRAINT restrictions_stay_through_order,
  DROP COLUMN max_advance_days,
  DROP COLUMN min_advance_days,
  DROP COLUMN max_stay_through,
  DROP COLUMN min_stay_through;
COMMENT ON COLUMN property_mgmt.restrictions.min_los IS NULL;
COMMENT ON COLUMN property_mgmt.restrictions.max_los IS NULL;
DROP TRIGGER trg_daily_rates_occupancy ON property_mgmt.daily_rates;
DROP FUNCTION property_mgmt.check_occupancy_amounts();
ALTER TABLE property_mgmt.daily_rates DROP COLUMN occupancy_amounts;
DROP FUNCTION property_mgmt.occupancy_amounts_valid(jsonb);
DROP TRIGGER trg_rate_plan_model ON property_mgmt.rate_plans;
DROP FUNCTION property_mgmt.check_rate_plan_model();
ALTER TABLE property_mgmt.rate_plans DROP COLUMN pricing_model;
